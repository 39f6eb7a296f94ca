//! The path as a Graphviz digraph: pod -> veth -> bridge -> kube-proxy -> node -> endpoint, one
//! cluster per node, the first failing hop and the edge into it in bold red. Render with
//! `kubectl netdiag trace ... -o dot | dot -Tsvg > path.svg`.

use std::fmt::Write as _;

use netdiag_model::{Hop, HopKind, MergedPath, Verdict};

use super::{first_failure_index, on_path};

const RED: &str = "#d62728";
const GREEN: &str = "#2ca02c";
const YELLOW: &str = "#e6a700";
const GREY: &str = "#7f7f7f";

/// A Graphviz digraph of the path. Deterministic: the same path gives the same text.
pub fn dot(path: &MergedPath) -> String {
    let failing = first_failure_index(path);
    let on: Vec<(usize, &Hop)> = path
        .hops
        .iter()
        .enumerate()
        .filter(|(_, h)| on_path(h))
        .collect();
    let mut g = String::new();
    g.push_str("digraph netdiag {\n");
    g.push_str("  rankdir=LR;\n");
    g.push_str("  node [shape=box, style=\"rounded\", fontname=\"Helvetica\"];\n");
    g.push_str("  edge [fontname=\"Helvetica\"];\n");
    if let Some(target) = &path.target {
        let _ = writeln!(g, "  label=\"{}\";", esc(target));
        g.push_str("  labelloc=t;\n");
    }

    // One cluster per node, in order of first appearance, so the graph reads left to right.
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
            let _ = writeln!(
                g,
                "  dns{i} [label=\"DNS {}\\n{}\\n{} {}\", color=\"{color}\", shape=ellipse{bold}];",
                esc(&d.server_role),
                esc(&d.server),
                esc(&d.name),
                esc(&d.rcode)
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
    let color = verdict_color(h.verdict);
    let style = if failing {
        format!(", color=\"{RED}\", fontcolor=\"{RED}\", penwidth=3, style=\"rounded,bold\"")
    } else {
        format!(", color=\"{color}\"")
    };
    format!(
        "hop{i} [label=\"{role}\\n{}\\n{}\"{style}]",
        esc(&h.name),
        esc(&h.detail)
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

/// Escape for a double-quoted DOT string.
fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
