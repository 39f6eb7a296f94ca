//! The path as a Graphviz digraph, top to bottom so a long path stays narrow: pod -> veth ->
//! bridge -> kube-proxy -> node -> endpoint, one cluster per node, titled with the source, the
//! target and the result. The first failing hop is an octagon labelled FAIL with its reason,
//! red and bold with the edge into it: shape and text say it as well as colour. Render with
//! `kubectl netdiag trace ... -o dot | dot -Tsvg > path.svg`.

use std::fmt::Write as _;

use netdiag_model::{Hop, HopKind, MergedPath, Verdict};

use super::{FAILURE_MARK, Width, first_failure_index, on_path, result_line, wrap_words};

const RED: &str = "#d62728";
const GREEN: &str = "#2ca02c";
const YELLOW: &str = "#e6a700";
const GREY: &str = "#7f7f7f";

/// Hop labels wrap at this many characters, so a box is never wider than a phone screen.
const LABEL_COLUMNS: u16 = 36;
/// The title wraps wider: it spans the whole graph.
const TITLE_COLUMNS: u16 = 60;

/// A Graphviz digraph of the path from `source` to `target`. Deterministic: the same path
/// gives the same text.
pub fn dot(path: &MergedPath, source: &str, target: &str) -> String {
    let failing = first_failure_index(path);
    let on: Vec<(usize, &Hop)> = path
        .hops
        .iter()
        .enumerate()
        .filter(|(_, h)| on_path(h))
        .collect();
    let mut g = String::new();
    g.push_str("digraph netdiag {\n");
    g.push_str("  rankdir=TB;\n");
    g.push_str("  node [shape=box, style=\"rounded\", fontname=\"Helvetica\"];\n");
    g.push_str("  edge [fontname=\"Helvetica\"];\n");
    let (result, _) = result_line(path);
    let title = format!("{source} -> {target}\n{result}");
    let _ = writeln!(
        g,
        "  label=\"{}\";\n  labelloc=t;\n  fontname=\"Helvetica\";",
        wrapped(&title, TITLE_COLUMNS)
    );

    // One cluster per node, in order of first appearance, so the graph reads top to bottom.
    let mut nodes: Vec<&str> = Vec::new();
    for (_, h) in &on {
        if !nodes.contains(&h.node.as_str()) {
            nodes.push(&h.node);
        }
    }
    for (ci, node) in nodes.iter().enumerate() {
        let _ = writeln!(g, "  subgraph cluster_{ci} {{");
        let _ = writeln!(g, "    label=\"node {}\";", esc(node));
        g.push_str("    style=dashed;\n");
        for (i, h) in on.iter().filter(|(_, h)| h.node == *node) {
            let _ = writeln!(g, "    {};", node_stmt(*i, h, Some(*i) == failing));
        }
        g.push_str("  }\n");
    }

    for pair in on.windows(2) {
        let (from_i, _) = pair[0];
        let (to_i, _) = pair[1];
        let into_failure = Some(to_i) == failing;
        let attrs = if into_failure {
            format!(" [color=\"{RED}\", penwidth=3, style=bold]")
        } else {
            String::new()
        };
        let _ = writeln!(g, "  hop{from_i} -> hop{to_i}{attrs};");
    }

    // The connect is the end-to-end symptom: a dashed edge from the first hop to the last.
    if let (Some((first, _)), Some((last, _))) = (on.first(), on.last())
        && let Some(c) = path.hops.iter().rev().find(|h| h.kind == HopKind::Connect)
    {
        let ok = path.reachable.unwrap_or(c.verdict != Verdict::Fail);
        let color = if ok { GREEN } else { RED };
        let label = if ok { "connect ok" } else { "connect failed" };
        let _ = writeln!(
            g,
            "  hop{first} -> hop{last} [style=dashed, constraint=false, color=\"{color}\", fontcolor=\"{color}\", label=\"{label}\"];"
        );
    }

    // DNS servers hang off the source pod.
    if let Some((first, _)) = on.first() {
        for (i, d) in path.dns.iter().enumerate() {
            let color = verdict_color(d.verdict);
            let bold = if d.verdict == Verdict::Fail {
                ", penwidth=2, style=\"rounded,bold\""
            } else {
                ""
            };
            let label = format!(
                "DNS {} ({})\n{}\n{} {}",
                d.server_role, d.verdict, d.server, d.name, d.rcode
            );
            let _ = writeln!(
                g,
                "  dns{i} [label=\"{}\", color=\"{color}\", shape=ellipse{bold}];",
                wrapped(&label, LABEL_COLUMNS)
            );
            let _ = writeln!(
                g,
                "  hop{first} -> dns{i} [style=dotted, color=\"{color}\"];"
            );
        }
    }
    g.push_str("}\n");
    g
}

fn node_stmt(i: usize, h: &Hop, failing: bool) -> String {
    let role = match &h.kind {
        HopKind::PodInterface => "pod",
        HopKind::HostVeth => "veth",
        HopKind::Bridge => "bridge",
        HopKind::NodeSettings => "node settings",
        HopKind::ServiceRules => "kube-proxy",
        HopKind::Firewall => "firewall",
        HopKind::Conntrack => "conntrack",
        HopKind::Route => "route",
        HopKind::Tunnel => "tunnel",
        HopKind::NodeInterface => "node",
        HopKind::Listener => "endpoint",
        HopKind::Dns => "dns",
        HopKind::Connect => "connect",
        HopKind::Other(kind) => kind.as_str(),
    };
    // The verdict is in the text of every box, not only in its colour.
    let mut label = if failing {
        format!("{FAILURE_MARK} FAIL: {role}\n{}\n{}", h.name, h.detail)
    } else {
        format!("{role} ({})\n{}\n{}", h.verdict, h.name, h.detail)
    };
    if let Some(reason) = h.reason.as_ref().filter(|_| failing) {
        let _ = write!(label, "\nreason: {reason}");
    }
    let style = if failing {
        format!(", shape=octagon, color=\"{RED}\", fontcolor=\"{RED}\", penwidth=3, style=\"bold\"")
    } else {
        format!(", color=\"{}\"", verdict_color(h.verdict))
    };
    format!(
        "hop{i} [label=\"{}\"{style}]",
        wrapped(&label, LABEL_COLUMNS)
    )
}

fn verdict_color(v: Verdict) -> &'static str {
    match v {
        Verdict::Ok => GREEN,
        Verdict::Warn => YELLOW,
        Verdict::Fail => RED,
        Verdict::Info | Verdict::Unknown => GREY,
    }
}

/// Each line of `text` wrapped at spaces to `columns`, escaped for a double-quoted DOT string.
fn wrapped(text: &str, columns: u16) -> String {
    let lines: Vec<String> = text
        .lines()
        .flat_map(|l| wrap_words(l, Width::Columns(columns)))
        .collect();
    esc(&lines.join("\n"))
}

/// Escape for a double-quoted DOT string.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
