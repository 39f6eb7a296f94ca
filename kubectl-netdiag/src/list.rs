//! `get` and `describe`: pure views of existing NetProbes (periodic ones included), given the
//! current time so output is reproducible.

use std::fmt::Write as _;

use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt as _;
use netdiag_crds::{NetProbe, NetProbeStatus};
use netdiag_render::{self as render, RenderOptions, Width};

/// kubectl's age: `45s`, `3m`, `5h`, `2d`, `3y`.
pub fn age(from: Timestamp, now: Timestamp) -> String {
    let secs = now.as_second().saturating_sub(from.as_second()).max(0);
    match secs {
        s if s < 120 => format!("{s}s"),
        s if s < 3600 * 2 => format!("{}m", s / 60),
        s if s < 86400 * 2 => format!("{}h", s / 3600),
        s if s < 86400 * 365 * 2 => format!("{}d", s / 86400),
        s => format!("{}y", s / (86400 * 365)),
    }
}

fn parse_time(s: Option<&str>) -> Option<Timestamp> {
    s.and_then(|s| s.parse::<Timestamp>().ok())
}

/// `Reachable`, `Unreachable`, or the Reachable condition's reason (`NothingListening`...).
pub fn result(status: &NetProbeStatus) -> String {
    if let Some(c) = status.condition("Reachable")
        && let Some(r) = &c.reason
    {
        return r.clone();
    }
    match status.reachable() {
        Some(true) => "Reachable".into(),
        Some(false) => "Unreachable".into(),
        None => match &status.first_failure {
            Some(f) => f.reason.to_string(),
            None => "-".into(),
        },
    }
}

/// `kubectl get -o name`: `netprobe.netdiag.dev/NAME`, one per line.
pub fn names(probes: &[NetProbe]) -> String {
    probes
        .iter()
        .map(|p| {
            format!(
                "netprobe.netdiag.dev/{}\n",
                p.metadata.name.as_deref().unwrap_or("")
            )
        })
        .collect()
}

/// One column of `get`.
pub struct GetColumn {
    /// As kubectl prints the CRD's printer column of that name: upper case.
    pub header: &'static str,
    /// Only with `-o wide`: the CRD's `priority: 1` columns.
    pub wide: bool,
    cell: fn(&NetProbe, &NetProbeStatus, Timestamp) -> String,
}

/// The columns of `get`, after NAME (and NAMESPACE with -A): the CRD's printer columns, in
/// their order, so `kubectl get nprobe` and `kubectl netdiag get` show the same things; a
/// test holds the two together. Each cell says a little more than kubectl can (`pod/curl`, `node/node-a`,
/// `svc/echo:http`), never something else.
pub const GET_COLUMNS: &[GetColumn] = &[
    GetColumn {
        header: "SOURCE",
        wide: false,
        cell: |p, _, _| p.spec.source.display(),
    },
    GetColumn {
        header: "TARGET",
        wide: false,
        // From the spec: the status is empty until the first run.
        cell: |p, _, _| p.spec.target.display(&p.namespace().unwrap_or_default()),
    },
    GetColumn {
        header: "PHASE",
        wide: false,
        cell: |_, s, _| {
            s.phase
                .map(|ph| ph.to_string())
                .unwrap_or_else(|| "Pending".into())
        },
    },
    GetColumn {
        header: "RESULT",
        wide: false,
        cell: |_, s, _| result(s),
    },
    GetColumn {
        header: "RUNS",
        wide: false,
        cell: |_, s, _| s.runs.unwrap_or(0).to_string(),
    },
    GetColumn {
        header: "LAST RUN",
        wide: false,
        cell: |_, s, now| {
            parse_time(s.completion_time.as_deref())
                .map(|t| age(t, now))
                .unwrap_or_else(|| "-".into())
        },
    },
    GetColumn {
        header: "AGE",
        wide: false,
        cell: |p, _, now| {
            p.metadata
                .creation_timestamp
                .as_ref()
                .map(|t| age(t.0, now))
                .unwrap_or_else(|| "<unknown>".into())
        },
    },
    GetColumn {
        header: "INTERVAL",
        wide: true,
        cell: |p, _, _| {
            p.spec
                .interval_seconds
                .map(|i| format!("{i}s"))
                .unwrap_or_else(|| "once".into())
        },
    },
    GetColumn {
        header: "SUMMARY",
        wide: true,
        cell: |_, s, _| s.summary.clone().unwrap_or_default(),
    },
];

impl GetColumn {
    /// This column's cell for probe `p` at time `now`.
    pub fn cell(&self, p: &NetProbe, now: Timestamp) -> String {
        (self.cell)(p, &p.status.clone().unwrap_or_default(), now)
    }
}

/// The `get` table.
pub fn get_table(probes: &[NetProbe], all_namespaces: bool, wide: bool, now: Timestamp) -> String {
    if probes.is_empty() {
        return String::new();
    }
    let columns: Vec<&GetColumn> = GET_COLUMNS.iter().filter(|c| wide || !c.wide).collect();
    let mut header = Vec::new();
    if all_namespaces {
        header.push("NAMESPACE");
    }
    header.push("NAME");
    header.extend(columns.iter().map(|c| c.header));
    let rows = probes
        .iter()
        .map(|p| {
            let mut row = Vec::new();
            if all_namespaces {
                row.push(p.namespace().unwrap_or_default());
            }
            row.push(p.name_any());
            row.extend(columns.iter().map(|c| c.cell(p, now)));
            row
        })
        .collect();
    render::plain_table(&header, rows)
}

/// The `describe` text: spec, schedule, last run, conditions, agents, and the path, whose table
/// fits in `width` (less the indent).
pub fn describe(p: &NetProbe, now: Timestamp, wide: bool, width: Width) -> String {
    let ns = p.namespace().unwrap_or_default();
    let status = p.status.clone().unwrap_or_default();
    let mut out = String::new();
    let mut field = |k: &str, v: String| {
        let _ = writeln!(out, "{:<14}{v}", format!("{k}:"));
    };
    field("Name", p.name_any());
    field("Namespace", ns.clone());
    field("Source", p.spec.source.display());
    field("Target", p.spec.target.display(&ns));
    field(
        "Checks",
        match &p.spec.checks {
            Some(c) if !c.is_empty() => c
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
            _ => "all that apply".into(),
        },
    );
    if let Some(d) = &p.spec.dns_name {
        field("DNS name", d.clone());
    }
    field(
        "Timeout",
        format!("{}s", netdiag_crds::validate::timeout_seconds(&p.spec)),
    );
    field(
        "Schedule",
        match p.spec.interval_seconds {
            Some(i) => format!("every {i}s (periodic)"),
            None => "once".into(),
        },
    );
    if let Some(t) = p.metadata.creation_timestamp.as_ref() {
        field("Age", age(t.0, now));
    }
    field(
        "Phase",
        status
            .phase
            .map(|ph| ph.to_string())
            .unwrap_or_else(|| "Pending".into()),
    );
    field("Runs", status.runs.unwrap_or(0).to_string());
    let started = parse_time(status.start_time.as_deref());
    let completed = parse_time(status.completion_time.as_deref());
    let last_run = match (started, completed) {
        (Some(s), Some(c)) if c >= s => format!(
            "finished {} ago, took {:.1}s",
            age(c, now),
            (c.as_millisecond() - s.as_millisecond()) as f64 / 1000.0
        ),
        (Some(s), _) => format!("started {} ago, not finished", age(s, now)),
        (None, Some(c)) => format!("finished {} ago", age(c, now)),
        (None, None) => "none yet".into(),
    };
    field("Last run", last_run);
    if let (Some(i), Some(c)) = (p.spec.interval_seconds, completed) {
        let next = c.as_second() + i64::from(i) - now.as_second();
        field(
            "Next run",
            if next > 0 {
                format!("in {next}s")
            } else {
                "due".into()
            },
        );
    }
    field("Result", result(&status));
    if let Some(s) = &status.summary {
        field("Summary", s.clone());
    }
    if !status.conditions.is_empty() {
        out.push_str("Conditions:\n");
        let rows = status
            .conditions
            .iter()
            .map(|c| {
                vec![
                    c.type_.clone(),
                    c.status.clone(),
                    c.reason.clone().unwrap_or_default(),
                    c.message.clone().unwrap_or_default(),
                ]
            })
            .collect();
        out.push_str(&indent(&render::plain_table(
            &["TYPE", "STATUS", "REASON", "MESSAGE"],
            rows,
        )));
    }
    if !status.nodes.is_empty() {
        out.push_str("Agents:\n");
        let rows = status
            .nodes
            .iter()
            .map(|n| {
                vec![
                    n.name.clone(),
                    n.agent_pod.clone().unwrap_or_else(|| "-".into()),
                    n.phase.clone().unwrap_or_else(|| "-".into()),
                    n.message.clone().unwrap_or_default(),
                ]
            })
            .collect();
        out.push_str(&indent(&render::plain_table(
            &["NODE", "AGENT POD", "PHASE", "MESSAGE"],
            rows,
        )));
    }
    let width = width.indented(INDENT);
    let mut path = status.path();
    // Shown here for every node, wide or not, so not again inside the path.
    let node_facts = std::mem::take(&mut path.node_facts);
    if !node_facts.is_empty() {
        out.push_str("Node facts:\n");
        for f in &node_facts {
            let lines = render::wrap_words(&render::node_fact_line(f), width);
            out.push_str(&indent(&lines.join("\n")));
        }
    }
    if !status.hops.is_empty() || !status.dns.is_empty() {
        out.push_str("Path:\n");
        let opts = RenderOptions {
            wide,
            width,
            ..RenderOptions::default()
        };
        out.push_str(&indent(&render::table(&path, &opts)));
    }
    out
}

/// How far `describe` indents its sections.
const INDENT: u16 = 2;

fn indent(s: &str) -> String {
    let pad = " ".repeat(usize::from(INDENT));
    s.lines()
        .map(|l| {
            if l.is_empty() {
                "\n".to_string()
            } else {
                format!("{pad}{l}\n")
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ages_read_like_kubectl() {
        let t = |s: i64| Timestamp::from_second(s).unwrap_or(Timestamp::UNIX_EPOCH);
        assert_eq!(age(t(0), t(45)), "45s");
        assert_eq!(age(t(0), t(600)), "10m");
        assert_eq!(age(t(0), t(5 * 3600)), "5h");
        assert_eq!(age(t(0), t(3 * 86400)), "3d");
        assert_eq!(age(t(100), t(0)), "0s");
    }
}
