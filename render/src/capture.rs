//! The CAPTURE section: the probe's packets per node and interface (`-o wide`), and the
//! seeds' questions answered from them as plain lines: did the SYN leave the node, and on
//! which interface to which MAC; did an answer come back; which addresses were on the wire
//! before and after DNAT; was ARP answered. Without `-o wide`, one short line, only when the
//! connect failed and the capture says why.

use netdiag_model::report::{CapturedPacket, Evidence, InterfaceCapture, icmp_name};
use netdiag_model::{HopKind, MergedPath, Verdict};

/// Whether a packet goes from the source pod towards the target on this interface: into the
/// node on the pod's veth and bridge, out of it on the uplink, overlay and endpoint veth.
fn outbound(c: &InterfaceCapture, p: &CapturedPacket) -> bool {
    match c.role.as_str() {
        "host veth" | "bridge" => p.direction == "in",
        _ => p.direction == "out",
    }
}

fn leaves_node(c: &InterfaceCapture) -> bool {
    matches!(c.role.as_str(), "uplink" | "overlay")
}

/// The probe's own first packet: a SYN, or (UDP) a datagram going towards the target.
fn is_probe(c: &InterfaceCapture, p: &CapturedPacket) -> bool {
    match p.protocol.as_deref() {
        Some("tcp") => p.tcp_flags.as_deref() == Some("S"),
        Some("udp") => outbound(c, p),
        _ => false,
    }
}

/// What answers the probe: a SYN-ACK, a RST, an ICMP error, a UDP datagram coming back.
fn answer(c: &InterfaceCapture, p: &CapturedPacket) -> Option<String> {
    match p.protocol.as_deref() {
        Some("tcp") => match p.tcp_flags.as_deref() {
            Some("S.") => Some("SYN-ACK".into()),
            Some(f) if f.contains('R') && !outbound(c, p) => Some("RST".into()),
            _ => None,
        },
        Some("icmp") => Some(format!(
            "ICMP {}",
            icmp_name(
                p.icmp_type.unwrap_or_default(),
                p.icmp_code.unwrap_or_default()
            )
        )),
        Some("udp") if !outbound(c, p) => Some("a UDP reply".into()),
        _ => None,
    }
}

/// What one node's capture says about the probe, read from its packets: pure.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Story<'a> {
    /// `SYN`, or `datagram` for UDP.
    word: &'static str,
    /// Where the probe entered the node from the pod (its host veth).
    entered: Option<&'a str>,
    /// The first interface the probe left the node by, its next hop's MAC, and how often.
    left: Option<(&'a str, Option<&'a str>, usize)>,
    /// The endpoint pod's veth the probe was delivered on (a same-node endpoint), and its MAC.
    delivered: Option<(&'a str, Option<&'a str>)>,
    /// Whether an interface that leaves the node was watched without error.
    watched_exit: bool,
    /// The answer, where it was seen, and from whom; `to_pod` when the pod's veth carried it.
    answer: Option<(String, &'a str, Option<&'a str>)>,
    answer_to_pod: bool,
    /// The probe's addresses per interface, in path order.
    wire: Vec<(&'a str, String)>,
    arp: Vec<String>,
}

pub(crate) fn story(e: &Evidence) -> Option<Story<'_>> {
    let mut s = Story::default();
    let mut any = false;
    for c in &e.capture {
        if c.error.is_none() && leaves_node(c) {
            s.watched_exit = true;
        }
        let iface = c.interface.as_str();
        for p in &c.packets {
            if p.protocol.as_deref() == Some("arp") {
                s.arp.push(format!("{} on {iface}", arp_words(&p.summary)));
                continue;
            }
            if is_probe(c, p) {
                any = true;
                s.word = if p.protocol.as_deref() == Some("udp") {
                    "datagram"
                } else {
                    "SYN"
                };
                if let (Some(src), Some(dst)) = (&p.src, &p.dst) {
                    let flow = format!("{src} > {dst}");
                    if !s.wire.iter().any(|(i, f)| *i == iface && *f == flow) {
                        s.wire.push((iface, flow));
                    }
                }
                let mac = p.dst_mac.as_deref();
                match c.role.as_str() {
                    "host veth" if p.direction == "in" => s.entered = s.entered.or(Some(iface)),
                    "host veth" | "endpoint veth" => {
                        s.delivered = s.delivered.or(Some((iface, mac)))
                    }
                    _ if leaves_node(c) => match &mut s.left {
                        Some((i, _, n)) if *i == iface => *n += 1,
                        Some(_) => {}
                        None => s.left = Some((iface, mac, 1)),
                    },
                    _ => {}
                }
            } else if let Some(what) = answer(c, p) {
                any = true;
                let to_pod = c.role == "host veth" && p.direction == "out";
                if s.answer.is_none() || (to_pod && !s.answer_to_pod) {
                    s.answer = Some((what, iface, p.src.as_deref()));
                    s.answer_to_pod = to_pod;
                }
            }
        }
    }
    any.then_some(s)
}

/// `ARP, Request who-has A tell B` as `who-has A tell B`.
fn arp_words(summary: &str) -> String {
    let s = summary.trim_start_matches("ARP, ");
    s.strip_prefix("Request ")
        .or_else(|| s.strip_prefix("Reply "))
        .unwrap_or(s)
        .to_string()
}

impl Story<'_> {
    /// The plain lines `-o wide` prints under the packets.
    pub(crate) fn lines(&self, node: &str) -> Vec<String> {
        let w = self.word;
        let mut out = Vec::new();
        match (self.left, self.delivered) {
            (Some((iface, mac, n)), _) => out.push(format!(
                "the {w} left the node on {iface}{}{}",
                mac.map(|m| format!(" (to {m})")).unwrap_or_default(),
                if n > 1 {
                    format!(", sent {n} times")
                } else {
                    String::new()
                }
            )),
            (None, Some((iface, mac))) => out.push(format!(
                "the {w} stayed on {node}: it reached the endpoint pod on {iface}{}",
                mac.map(|m| format!(" (to {m})")).unwrap_or_default()
            )),
            (None, None) if self.watched_exit => out.push(format!("no {w} left the node")),
            (None, None) => out.push(format!(
                "no {w} was seen leaving {node} (no interface out of the node was captured)"
            )),
        }
        out.push(match &self.answer {
            Some((what, iface, from)) => format!(
                "an answer came back ({what}{} on {iface}){}",
                from.map(|f| format!(" from {f}")).unwrap_or_default(),
                if self.answer_to_pod || self.entered.is_none() {
                    ""
                } else {
                    ", but the pod's veth never carried it"
                }
            ),
            None => String::from("no answer came back"),
        });
        if let Some(first) = self.wire.first() {
            let mut parts = Vec::new();
            for (iface, flow) in &self.wire {
                let (src0, dst0) = first.1.split_once(" > ").unwrap_or_default();
                let (src, dst) = flow.split_once(" > ").unwrap_or_default();
                let nat = match (src != src0, dst != dst0) {
                    (false, false) => "",
                    (false, true) => " (after DNAT)",
                    (true, false) => " (after SNAT)",
                    (true, true) => " (after DNAT and SNAT)",
                };
                parts.push(format!("{flow} on {iface}{nat}"));
            }
            out.push(format!("on the wire: {}", parts.join("; ")));
        }
        if !self.arp.is_empty() {
            out.push(format!("ARP: {}", self.arp.join("; ")));
        }
        out
    }

    /// The one line of the plain table: what the capture says about a failed connect.
    pub(crate) fn short(&self, node: &str) -> String {
        let w = self.word;
        let went = match (self.left, self.delivered, self.entered) {
            (Some((iface, _, _)), _, _) => format!("{w} left via {iface}"),
            (None, Some((iface, _)), _) => format!("{w} reached the endpoint on {iface}"),
            (None, None, Some(iface)) if self.watched_exit => {
                format!("{w} entered {node} on {iface} and never left it")
            }
            (None, None, Some(iface)) => format!("{w} entered {node} on {iface}"),
            (None, None, None) => format!("no {w} seen on {node}"),
        };
        match &self.answer {
            Some((what, _, _)) => format!("{went}, {what} came back"),
            None => format!("{went}, no answer"),
        }
    }
}

/// The wide CAPTURE section: header, rows, and the lines under them.
pub(crate) type Section = (Vec<&'static str>, Vec<Vec<String>>, Vec<String>);

/// The rows of the wide CAPTURE table (node and interface written once per block) and the
/// lines under it, or None without any capture.
pub(crate) fn capture_section(path: &MergedPath) -> Option<Section> {
    let mut rows = Vec::new();
    let mut lines = Vec::new();
    for e in &path.evidence {
        let mut first_of_node = true;
        for c in &e.capture {
            // Node and interface once per block: the rows under them are theirs.
            let mut label = |first_of_iface: bool| {
                let node = if first_of_node {
                    e.node.clone()
                } else {
                    String::new()
                };
                first_of_node = false;
                let iface = if first_of_iface {
                    format!("{} ({})", c.interface, c.role)
                } else {
                    String::new()
                };
                (node, iface)
            };
            if let Some(err) = &c.error {
                let (node, iface) = label(true);
                let dash = || String::from("-");
                rows.push(vec![
                    node,
                    iface,
                    dash(),
                    dash(),
                    dash(),
                    dash(),
                    err.clone(),
                ]);
                continue;
            }
            for (i, p) in c.packets.iter().enumerate() {
                let (node, iface) = label(i == 0);
                let macs = match (&p.src_mac, &p.dst_mac) {
                    // One MAC a line: a MAC broken in the middle reads as two.
                    (Some(s), Some(d)) => format!("{s} >\n{d}"),
                    _ => "-".into(),
                };
                let ttl = p.ttl.map(|t| t.to_string()).unwrap_or_else(|| "-".into());
                let ms = format!("{:.1}", p.at_ms);
                rows.push(vec![
                    node,
                    iface,
                    ms,
                    p.direction.clone(),
                    macs,
                    ttl,
                    p.summary.clone(),
                ]);
            }
        }
        if let Some(s) = story(e) {
            lines.extend(
                s.lines(&e.node)
                    .into_iter()
                    .map(|l| format!("{}: {l}", e.node)),
            );
        }
    }
    (!rows.is_empty()).then(|| {
        (
            vec!["NODE", "INTERFACE", "MS", "DIR", "MACS", "TTL", "PACKET"],
            rows,
            lines,
        )
    })
}

/// The plain table's line: only when the connect failed and some node captured the probe.
pub(crate) fn short_line(path: &MergedPath) -> Option<String> {
    let failed = path
        .hops
        .iter()
        .any(|h| h.kind == HopKind::Connect && h.verdict == Verdict::Fail);
    if !failed {
        return None;
    }
    let said: Vec<String> = path
        .evidence
        .iter()
        .filter_map(|e| story(e).map(|s| format!("{}: {}", e.node, s.short(&e.node))))
        .collect();
    (!said.is_empty()).then(|| format!("CAPTURE {}", said.join("; ")))
}

#[cfg(test)]
#[path = "capture_tests.rs"]
mod tests;
