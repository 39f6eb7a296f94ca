//! Views of a netdiag path: the kubectl-style table (wide or not), JSON, YAML and a Graphviz
//! graph, from a model path. Must not depend on kube or netlink: the agent links it.
//!
//! Pure: a path in, a `String` out. The plugin, the agent (`netdiag-agent trace`) and the lab
//! all print through here, so a path reads the same wherever it was traced.

mod capture;
mod dot;
mod encode;
mod evidence;
mod facts;
mod inspect;
mod kubectl_table;
mod node_facts;
mod trace_output;
mod width;

pub use dot::dot;
pub use encode::{EncodeError, json, yaml};
pub use facts::facts;
pub use inspect::{InspectFormat, ServiceNodeRow, inspect_table, render_inspection, service_table};
pub use kubectl_table::plain_table;
pub use node_facts::{cni_phrase, node_fact_line};
pub use trace_output::{
    OutputError, TraceFormat, TraceOutput, refuse_pcap_to_terminal, render_trace, stdout_color,
    use_color,
};
pub use width::{MIN_COLUMNS, Width, stdout_width, wrap_words};

use comfy_table::{Attribute, Cell, Color};

use kubectl_table::{Wrap, kubectl_table};

use netdiag_model::merge::rules_summary;
use netdiag_model::{FirstFailure, Hop, HopDetail, HopKind, MergedPath, Progress, Verdict};

/// How to render.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Add the REASON and FACTS columns (typed details: endpoint shares, conntrack tuples...).
    pub wide: bool,
    /// Colour verdicts with ANSI escapes. The caller decides (TTY, `NO_COLOR`); rendering never
    /// looks at the terminal, so output is reproducible.
    pub color: bool,
    /// The width every line must fit in; the caller decides ([`stdout_width`]).
    pub width: Width,
}

/// The marker put on the first failing hop, and in front of the sentence that explains it.
pub const FAILURE_MARK: &str = "✗";

/// The path hop by hop, the first failure explained in one sentence, a DNS section and a result
/// line. Ends with a newline. VERDICT comes before the long DETAIL, and with a width every line
/// fits: DETAIL, NAME and FACTS wrap inside their cells, the sentences at spaces.
pub fn table(path: &MergedPath, opts: &RenderOptions) -> String {
    let mut out = String::new();
    let failing = first_failure_index(path);
    if path.hops.is_empty() {
        // A run that failed (or a probe the controller refused) will not record any: "yet"
        // would have the user wait for hops that never come.
        out.push_str(match path.progress {
            Progress::Failed(_) => "No hops: the run ended before any hop was checked.\n",
            _ => "No hops recorded yet.\n",
        });
    } else {
        let mut header = vec!["NODE", "HOP", "NAME", "VERDICT"];
        if opts.wide {
            header.push("REASON");
        }
        header.push("DETAIL");
        if opts.wide {
            header.push("FACTS");
        }
        let rows = path.hops.iter().enumerate().map(|(i, hop)| {
            let mut row = vec![
                Cell::new(&hop.node),
                Cell::new(hop.kind.as_str()),
                Cell::new(&hop.name),
                verdict_cell(hop.verdict, Some(i) == failing, opts.color),
            ];
            if opts.wide {
                row.push(Cell::new(
                    hop.reason.as_ref().map(|r| r.as_str()).unwrap_or(""),
                ));
            }
            row.push(Cell::new(&hop.detail));
            if opts.wide {
                row.push(Cell::new(
                    hop.details.as_ref().map(facts).unwrap_or_default(),
                ));
            }
            row
        });
        let wrap = Wrap(&[("NAME", 1), ("DETAIL", 3), ("FACTS", 2)]);
        out.push_str(&kubectl_table(&header, rows, opts.color, opts.width, wrap));
    }
    if let Some(f) = &path.first_failure {
        out.push('\n');
        let sentence = format!("{FAILURE_MARK} {}", failure_sentence(f));
        push_wrapped(&mut out, &sentence, Paint::Fail, opts);
    }
    if !opts.wide
        && let Some(line) = capture::short_line(path)
    {
        push_wrapped(&mut out, &line, Paint::Info, opts);
    }
    let nodes = node_facts::lines(path, opts.wide);
    if !nodes.is_empty() {
        out.push('\n');
        for line in nodes {
            push_wrapped(&mut out, &line, Paint::Info, opts);
        }
    }
    if !path.dns.is_empty() {
        out.push('\n');
        out.push_str("DNS\n");
        let mut header = vec![
            "SERVER", "ROLE", "NAME", "RCODE", "ANSWERS", "LATENCY", "VERDICT",
        ];
        if opts.wide {
            header.push("MESSAGE");
        }
        let rows = path.dns.iter().map(|d| {
            let mut row = vec![
                Cell::new(&d.server),
                Cell::new(&d.server_role),
                Cell::new(&d.name),
                Cell::new(&d.rcode),
                Cell::new(if d.answers.is_empty() {
                    "-".to_string()
                } else {
                    d.answers.join(", ")
                }),
                Cell::new(d.latency_ms.map(ms).unwrap_or_else(|| "-".into())),
                verdict_cell(d.verdict, false, opts.color),
            ];
            if opts.wide {
                row.push(Cell::new(d.message.as_deref().unwrap_or("")));
            }
            row
        });
        let wrap = Wrap(&[("NAME", 1), ("ANSWERS", 1), ("MESSAGE", 2)]);
        out.push_str(&kubectl_table(&header, rows, opts.color, opts.width, wrap));
    }
    if let Some((header, rows)) = evidence::trace_rows(path, opts.wide) {
        out.push('\n');
        out.push_str("TRACE\n");
        let rows = rows
            .into_iter()
            .map(|r| r.into_iter().map(Cell::new).collect());
        let wrap = Wrap(&[("CHAIN", 1), ("RULE", 3)]);
        out.push_str(&kubectl_table(&header, rows, opts.color, opts.width, wrap));
    }
    if opts.wide
        && let Some((header, rows, lines)) = capture::capture_section(path)
    {
        out.push('\n');
        out.push_str("CAPTURE\n");
        let rows = rows
            .into_iter()
            .map(|r| r.into_iter().map(Cell::new).collect());
        let wrap = Wrap(&[("INTERFACE", 1), ("PACKET", 3)]);
        out.push_str(&kubectl_table(&header, rows, opts.color, opts.width, wrap));
        for line in lines {
            push_wrapped(&mut out, &line, Paint::Info, opts);
        }
    }
    out.push('\n');
    let (line, paint_as) = result_line(path);
    push_wrapped(&mut out, &line, paint_as, opts);
    out
}

/// A sentence, broken at spaces to the width, each line painted on its own (an escape sequence
/// must not span a line break: `less -R` and some terminals reset at the newline).
fn push_wrapped(out: &mut String, text: &str, p: Paint, opts: &RenderOptions) {
    for line in wrap_words(text, opts.width) {
        out.push_str(&paint(&line, p, opts.color));
        out.push('\n');
    }
}

/// One sentence for the first failure: where, what, and its stable reason.
pub fn failure_sentence(f: &FirstFailure) -> String {
    let message = f.message.trim_end_matches('.');
    format!(
        "First failure at {} on {}: {message} ({}).",
        f.hop, f.node, f.reason
    )
}

/// The verdict of the whole probe, as one line starting with `RESULT:`.
///
/// Reachability is the path's (the `Reachable` condition, for a NetProbe); the cause its first
/// failure.
pub fn result_line(path: &MergedPath) -> (String, Paint) {
    match &path.progress {
        Progress::Pending => return ("RESULT: Pending, no verdict yet".into(), Paint::Info),
        Progress::Running => return ("RESULT: Running, no verdict yet".into(), Paint::Info),
        Progress::Done | Progress::Failed(_) => {}
    }
    let failure = path.first_failure.as_ref();
    match (path.reachable, failure) {
        (Some(true), None) => (format!("RESULT: reachable{}", via(path)), Paint::Ok),
        (Some(true), Some(f)) => (
            format!(
                "RESULT: reachable{}, but {} on {} failed: {}",
                via(path),
                f.hop,
                f.node,
                f.message
            ),
            Paint::Warn,
        ),
        (_, Some(f)) => (
            format!(
                "RESULT: unreachable — {} ({} on {})",
                f.message, f.hop, f.node
            ),
            Paint::Fail,
        ),
        (Some(false), None) => (
            "RESULT: unreachable, and no hop explains why".to_string(),
            Paint::Fail,
        ),
        (None, None) => match &path.progress {
            Progress::Failed(message) => {
                let why = message
                    .clone()
                    .or_else(|| Some(path.summary.clone()).filter(|s| !s.is_empty()))
                    .unwrap_or_else(|| "the probe failed before any hop was checked".into());
                (format!("RESULT: probe failed — {why}"), Paint::Fail)
            }
            _ => ("RESULT: no failure found".to_string(), Paint::Ok),
        },
    }
}

/// ` via 10.244.2.7:8080 (iptables, 3 endpoints)`, from the hops' typed details.
fn via(path: &MergedPath) -> String {
    let chosen = path.hops.iter().find_map(|h| match &h.details {
        Some(HopDetail::Conntrack(c)) => c.chosen_endpoint.as_ref().map(ToString::to_string),
        _ => None,
    });
    let connected = path.hops.iter().rev().find_map(|h| match &h.details {
        Some(HopDetail::Connect(c)) if c.ok => Some(c.target.to_string()),
        _ => None,
    });
    let rules = rules_summary(&path.hops);
    match chosen.or(connected) {
        Some(e) => format!(" via {e}{}", rules.unwrap_or_default()),
        None => rules.unwrap_or_default(),
    }
}

/// Index of the hop `firstFailure` names (same kind and node, Fail), else the first Fail.
fn first_failure_index(path: &MergedPath) -> Option<usize> {
    let named = path.first_failure.as_ref().and_then(|f| {
        path.hops
            .iter()
            .position(|h| h.verdict == Verdict::Fail && h.kind == f.hop && h.node == f.node)
    });
    named.or_else(|| path.hops.iter().position(|h| h.verdict == Verdict::Fail))
}

/// What a piece of text means, hence its colour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Paint {
    Ok,
    Warn,
    Fail,
    Info,
}

impl From<Verdict> for Paint {
    fn from(v: Verdict) -> Self {
        match v {
            Verdict::Ok => Paint::Ok,
            Verdict::Warn => Paint::Warn,
            Verdict::Fail => Paint::Fail,
            Verdict::Info | Verdict::Unknown => Paint::Info,
        }
    }
}

/// Wrap text in ANSI colour when asked: green Ok, yellow Warn, bold red Fail, dim Info.
pub fn paint(text: &str, p: Paint, color: bool) -> String {
    if !color {
        return text.to_string();
    }
    let code = match p {
        Paint::Ok => "32",
        Paint::Warn => "33",
        Paint::Fail => "1;31",
        Paint::Info => "2",
    };
    format!("\x1b[{code}m{text}\x1b[0m")
}

fn verdict_cell(v: Verdict, first_failure: bool, color: bool) -> Cell {
    let text = if first_failure {
        format!("{v} {FAILURE_MARK}")
    } else {
        v.to_string()
    };
    let cell = Cell::new(text);
    if !color {
        return cell;
    }
    match v {
        Verdict::Ok => cell.fg(Color::Green),
        Verdict::Warn => cell.fg(Color::Yellow),
        Verdict::Fail => cell.fg(Color::Red).add_attribute(Attribute::Bold),
        Verdict::Info | Verdict::Unknown => cell.add_attribute(Attribute::Dim),
    }
}

/// `1.2 ms`
pub(crate) fn ms(v: f64) -> String {
    format!("{v:.1} ms")
}

#[cfg(test)]
mod fit_tests;
#[cfg(test)]
mod tests;

/// Hops drawn on the main path of the graph: Dns is a side trip and Connect the end-to-end
/// symptom, drawn as their own edges.
pub(crate) fn on_path(h: &Hop) -> bool {
    !matches!(h.kind, HopKind::Dns | HopKind::Connect)
}
