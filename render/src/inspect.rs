//! Node inspections as tables: per node a header of node facts, one row per pod network
//! namespace (pod, netns, holder, `eth0@ifN`, host veth, bridge), the node's listening sockets
//! (wide) and the findings, each in its sentence.

use comfy_table::Cell;
use serde::Serialize;

use netdiag_model::inspect::{Attachment, InspectReport, NodeFacts, PodNamespace};

use crate::kubectl_table::{Wrap, kubectl_table};
use crate::{EncodeError, FAILURE_MARK, Paint, RenderOptions, json, paint, yaml};

/// How an inspection is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "clap", derive(clap::ValueEnum))]
pub enum InspectFormat {
    /// Node facts, one row per pod network namespace, the findings.
    #[default]
    Table,
    /// The table with MAC, MTU, gateway and nameservers, and the node's listening sockets.
    Wide,
    /// The object (the reports, or the NodeInspection) as JSON.
    Json,
    /// The object as YAML.
    Yaml,
}

/// `reports` as a table in `format` (fitting `width`), or `object` (what holds them) as JSON or
/// YAML.
pub fn render_inspection<T: Serialize>(
    object: &T,
    reports: &[InspectReport],
    format: InspectFormat,
    color: bool,
    width: crate::Width,
) -> Result<String, EncodeError> {
    match format {
        InspectFormat::Table | InspectFormat::Wide => Ok(inspect_table(
            reports,
            &RenderOptions {
                wide: format == InspectFormat::Wide,
                color,
                width,
            },
        )),
        InspectFormat::Json => json(object),
        InspectFormat::Yaml => yaml(object),
    }
}

#[cfg(test)]
mod tests;

/// One node's rules for a Service against its EndpointSlices, as a row of
/// [`service_table`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ServiceNodeRow {
    pub node: String,
    pub mode: String,
    /// `80/TCP: 10.244.1.3:8080,10.244.2.2:8080`, one entry per Service port.
    pub programmed: Vec<String>,
    pub missing: Vec<String>,
    pub stale: Vec<String>,
    pub agrees: bool,
}

/// A service inspection: one row per node, what its rules program and how that differs from
/// the EndpointSlices (`-o wide` adds what is programmed), then the summary. Ends with a
/// newline.
pub fn service_table(
    target: &str,
    rows: &[ServiceNodeRow],
    summary: &str,
    opts: &RenderOptions,
) -> String {
    let mut out = format!("Service {target}\n\n");
    let mut header = vec!["NODE", "PROXY", "AGREES", "MISSING", "STALE"];
    if opts.wide {
        header.push("PROGRAMMED");
    }
    let none = |v: &[String]| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(",")
        }
    };
    let cells = rows.iter().map(|r| {
        let agrees = if r.agrees { "yes" } else { "NO" };
        let mut row = vec![
            Cell::new(&r.node),
            Cell::new(&r.mode),
            Cell::new(paint(
                agrees,
                if r.agrees { Paint::Ok } else { Paint::Fail },
                opts.color,
            )),
            Cell::new(none(&r.missing)),
            Cell::new(none(&r.stale)),
        ];
        if opts.wide {
            row.push(Cell::new(r.programmed.join("; ")));
        }
        row
    });
    out.push_str(&kubectl_table(
        &header,
        cells,
        opts.color,
        opts.width,
        Wrap(&[("MISSING", 1), ("STALE", 1), ("PROGRAMMED", 2)]),
    ));
    out.push('\n');
    out.push_str(summary);
    out.push('\n');
    out
}

/// Every report in turn, separated by a blank line. Ends with a newline.
pub fn inspect_table(reports: &[InspectReport], opts: &RenderOptions) -> String {
    let sections: Vec<String> = reports.iter().map(|r| one_node(r, opts)).collect();
    if sections.is_empty() {
        return "No nodes inspected.\n".into();
    }
    sections.join("\n")
}

fn one_node(report: &InspectReport, opts: &RenderOptions) -> String {
    let mut out = node_header(&report.node, &report.facts);
    out.push('\n');
    if report.namespaces.is_empty() {
        out.push_str("No pod network namespaces on this node.\n");
    } else {
        out.push_str(&namespace_table(&report.namespaces, opts));
    }
    if opts.wide && !report.facts.listeners.is_empty() {
        out.push_str("\nLISTENING ON THE NODE'S NETWORK\n");
        let rows = report.facts.listeners.iter().map(|l| {
            vec![
                Cell::new(&l.protocol),
                Cell::new(&l.address),
                Cell::new(l.port),
                Cell::new(
                    l.pod
                        .as_ref()
                        .map_or("-".to_string(), |p| format!("{}/{}", p.namespace, p.name)),
                ),
            ]
        });
        let header = ["PROTO", "ADDRESS", "PORT", "HOST-NETWORK POD"];
        out.push_str(&kubectl_table(
            &header,
            rows,
            opts.color,
            opts.width,
            Wrap::NONE,
        ));
    }
    if !report.findings.is_empty() {
        out.push_str("\nFINDINGS\n");
        for f in &report.findings {
            let line = format!("{FAILURE_MARK} {}", f.message);
            out.push_str(&paint(&line, Paint::Warn, opts.color));
            out.push('\n');
        }
    }
    for note in &report.notes {
        out.push_str(&format!("note: {note}\n"));
    }
    out
}

/// `Node node-a: CNI ..., proxy ..., conntrack ..., nodelocaldns ...`, one fact per line.
fn node_header(node: &str, facts: &NodeFacts) -> String {
    let mut out = format!("Node {node}\n");
    let cni = if facts.cni.evidence.is_empty() {
        facts.cni.label()
    } else {
        format!("{} ({})", facts.cni.label(), facts.cni.evidence.join(", "))
    };
    out.push_str(&format!("  CNI:          {cni}\n"));
    let rules = facts.proxy.rules.map_or(String::new(), |r| {
        format!(": {} service ports, {} endpoints", r.services, r.endpoints)
    });
    out.push_str(&format!("  Proxy:        {}{rules}\n", facts.proxy.mode));
    let ct = &facts.conntrack;
    let opt = |v: Option<u64>| v.map_or("?".to_string(), |v| v.to_string());
    out.push_str(&format!(
        "  Conntrack:    {}/{} entries, insert_failed {}, drop {}, early_drop {}\n",
        opt(ct.count),
        opt(ct.max),
        opt(ct.insert_failed),
        opt(ct.drop),
        opt(ct.early_drop)
    ));
    let dns = match &facts.nodelocaldns {
        Some(d) if d.listening => format!("{} (listening)", d.address),
        Some(d) => format!("{} (nothing listens on port 53)", d.address),
        None => "none".into(),
    };
    out.push_str(&format!("  NodeLocalDNS: {dns}\n"));
    out.push_str(&format!(
        "  Listening:    {} sockets on the node's network\n",
        facts.listeners.len()
    ));
    out
}

fn namespace_table(namespaces: &[PodNamespace], opts: &RenderOptions) -> String {
    let mut header = vec![
        "POD",
        "NETNS",
        "HOLDER",
        "PROCS",
        "ETH0",
        "IP",
        "HOST VETH",
        "BRIDGE",
    ];
    if opts.wide {
        header.extend(["MAC", "MTU", "GATEWAY", "NAMESERVERS"]);
    }
    let rows = namespaces.iter().map(|ns| {
        let pod = ns
            .pod
            .as_ref()
            .map_or("-".to_string(), |p| format!("{}/{}", p.namespace, p.name));
        let holder = ns
            .holder()
            .map_or("none".to_string(), |p| format!("{} {}", p.pid, p.comm));
        let eth0 = ns.eth0.as_ref().map_or("-".to_string(), |e| {
            let state = if e.up { "" } else { " (down)" };
            format!("{}@if{}{state}", e.name, e.peer_ifindex)
        });
        let ips = ns
            .eth0
            .as_ref()
            .map_or("-".to_string(), |e| e.addresses.join(","));
        let veth = ns.host_veth.as_ref().map_or("-".to_string(), |v| {
            let state = if v.up {
                String::new()
            } else {
                format!(" ({})", v.oper_state)
            };
            format!("{} ({}){state}", v.name, v.ifindex)
        });
        let bridge = match &ns.attachment {
            Some(Attachment::Bridge { name: b }) => b.clone(),
            Some(Attachment::Routed) => "routed".into(),
            None => "-".into(),
        };
        let mut row = vec![
            Cell::new(pod),
            Cell::new(ns.netns.label()),
            Cell::new(holder),
            Cell::new(ns.processes.len()),
            Cell::new(eth0),
            Cell::new(ips),
            Cell::new(veth),
            Cell::new(bridge),
        ];
        if opts.wide {
            let e = ns.eth0.as_ref();
            row.push(Cell::new(e.map_or("-", |e| e.mac.as_str())));
            row.push(Cell::new(e.map_or("-".into(), |e| e.mtu.to_string())));
            row.push(Cell::new(
                e.and_then(|e| e.gateway.as_deref()).unwrap_or("-"),
            ));
            row.push(Cell::new(
                ns.resolv_conf
                    .as_ref()
                    .map_or("-".into(), |r| r.nameservers.join(",")),
            ));
        }
        row
    });
    let wrap = Wrap(&[("NETNS", 1), ("IP", 1), ("NAMESERVERS", 1)]);
    kubectl_table(&header, rows, opts.color, opts.width, wrap)
}
