//! Packet evidence (issue 11, item 5): the probe's own packets captured on the interfaces it
//! crosses, in the trace's evidence and as the pcapng file `lab trace -o pcap` writes. The file
//! is read back by a parser written here, independent of the one netdiag ships.

use std::collections::BTreeSet;
use std::process::Command;

use netdiag_e2e::{binary, default_lab, pod_cidr, trace_until};

/// A TCP SYN (without ACK) in an Ethernet frame carrying IPv4.
fn is_syn(frame: &[u8]) -> bool {
    if frame.get(12..14) != Some(&[0x08, 0x00]) || frame.get(23) != Some(&6) {
        return false;
    }
    let ihl = usize::from(frame.get(14).copied().unwrap_or(0) & 0x0f) * 4;
    frame
        .get(14 + ihl + 13)
        .is_some_and(|flags| flags & 0x12 == 0x02)
}

/// The interface names of a little-endian pcapng file, and (interface id, frame) per packet.
fn parse_pcapng(b: &[u8]) -> (Vec<String>, Vec<(u32, Vec<u8>)>) {
    let u32_at = |at: usize| u32::from_le_bytes(b[at..at + 4].try_into().expect("4 bytes"));
    let u16_at = |at: usize| u16::from_le_bytes(b[at..at + 2].try_into().expect("2 bytes"));
    assert_eq!(u32_at(0), 0x0A0D_0D0A, "no section header block first");
    assert_eq!(u32_at(8), 0x1A2B_3C4D, "not little-endian pcapng");
    let (mut names, mut packets, mut at) = (Vec::new(), Vec::new(), 0);
    while at < b.len() {
        let (kind, len) = (u32_at(at), u32_at(at + 4) as usize);
        assert!(
            len >= 12 && at + len <= b.len(),
            "block at {at} runs past the end"
        );
        assert_eq!(
            u32_at(at + len - 4) as usize,
            len,
            "trailing length at {at}"
        );
        match kind {
            1 => {
                assert_eq!(u16_at(at + 8), 1, "interface is not LINKTYPE_ETHERNET");
                assert!(u32_at(at + 12) <= 128, "snaplen above 128");
                let mut o = at + 16;
                let mut name = String::new();
                while o + 4 <= at + len - 4 && u16_at(o) != 0 {
                    let l = usize::from(u16_at(o + 2));
                    if u16_at(o) == 2 {
                        name = String::from_utf8_lossy(&b[o + 4..o + 4 + l]).into_owned();
                    }
                    o += 4 + l.div_ceil(4) * 4;
                }
                names.push(name);
            }
            6 => {
                let iface = u32_at(at + 8);
                let caplen = u32_at(at + 20) as usize;
                assert!(caplen <= 128, "a packet longer than the snaplen");
                assert!(
                    (iface as usize) < names.len(),
                    "packet before its interface"
                );
                packets.push((iface, b[at + 28..at + 28 + caplen].to_vec()));
            }
            _ => {}
        }
        at += len;
    }
    (names, packets)
}

/// Whether DNAT picked an endpoint whose address starts with `prefix` (a node's pod CIDR).
fn endpoint_in(prefix: &str) -> impl Fn(&netdiag_lab::LabTrace) -> bool + '_ {
    move |t| {
        t.path
            .chosen_endpoint
            .as_ref()
            .is_some_and(|e| e.ip.to_string().starts_with(prefix))
    }
}

fn syn_interfaces(names: &[String], packets: &[(u32, Vec<u8>)]) -> BTreeSet<String> {
    packets
        .iter()
        .filter(|(_, f)| is_syn(f))
        .map(|(i, _)| names[*i as usize].clone())
        .collect()
}

#[test]
fn the_probes_syn_is_captured_on_its_host_veth_and_further_on_and_written_as_pcap() {
    let lab = default_lab("cap");
    // An endpoint on the other node: its SYN crosses the veth, the bridge and eth0 (the
    // same-node case is the next test).
    let other_node = endpoint_in("10.244.2.");
    let t = trace_until(&lab, 12, other_node);
    assert_eq!(t.path.reachable, Some(true), "the healthy lab must connect");
    let ev = t
        .path
        .evidence
        .iter()
        .find(|e| e.node == "node-a")
        .expect("evidence from the source node node-a");
    let with_syn: Vec<&str> = ev
        .capture
        .iter()
        .filter(|c| {
            c.packets
                .iter()
                .any(|p| p.summary.starts_with("IP 10.244.1.") && p.summary.ends_with("Flags [S]"))
        })
        .map(|c| c.role.as_str())
        .collect();
    assert!(
        with_syn.contains(&"host veth") && with_syn.len() >= 2,
        "SYN seen on {with_syn:?}; capture: {:#?}",
        ev.capture
    );
    for c in &ev.capture {
        assert_eq!(c.error, None, "capture on {} failed", c.interface);
    }
    let syn = ev.capture[0]
        .packets
        .iter()
        .find(|p| p.summary.ends_with("Flags [S]"))
        .expect("a SYN on the host veth");
    assert_eq!(
        syn.direction, "in",
        "the pod's SYN enters the node on its host veth"
    );
    assert_eq!(syn.ttl, Some(64));
    assert!(syn.src_mac.is_some() && syn.dst_mac.is_some());

    // The same packets in the report's pcap.
    let bytes = ev
        .pcap_bytes()
        .expect("the evidence's pcap is base64")
        .expect("node-a's evidence has a pcap");
    assert!(bytes.len() <= 64 * 1024);
    let (names, packets) = parse_pcapng(&bytes);
    assert!(syn_interfaces(&names, &packets).len() >= 2, "{names:?}");

    // And through the real binary, the way a user writes probe.pcap; every file must parse,
    // and one whose endpoint is on the other node must show the SYN on two interfaces or more.
    let mut seen = BTreeSet::new();
    let mut names = Vec::new();
    for _ in 0..12 {
        let out = Command::new(binary("kubectl-netdiag"))
            .args(["lab", "trace", "--name", lab.name(), "-o", "pcap"])
            .output()
            .expect("kubectl-netdiag runs");
        assert!(
            out.status.success(),
            "lab trace -o pcap: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let packets;
        (names, packets) = parse_pcapng(&out.stdout);
        seen = syn_interfaces(&names, &packets);
        assert!(!seen.is_empty(), "no SYN at all in the pcap of {names:?}");
        if seen.len() >= 2 {
            break;
        }
    }
    assert!(
        seen.len() >= 2 && seen.iter().all(|n| n.starts_with("node-a/")),
        "SYN on {seen:?} of {names:?}"
    );
}

/// `lab trace ARGS` through the real binary, as a user reads it: (exit code, stdout).
fn lab_trace(lab: &str, args: &[&str]) -> (i32, String) {
    let out = Command::new(binary("kubectl-netdiag"))
        .args(["lab", "trace", "--name", lab])
        .args(args)
        .output()
        .expect("kubectl-netdiag runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `-o wide` until `accept` holds for its output (DNAT picks an endpoint at random).
fn wide_until(lab: &str, accept: impl Fn(&str) -> bool) -> String {
    let mut last = String::new();
    for _ in 0..30 {
        last = lab_trace(lab, &["-o", "wide"]).1;
        if accept(&last) {
            return last;
        }
    }
    panic!("no -o wide output matched in 30 traces; the last:\n{last}");
}

#[test]
fn a_same_node_endpoint_shows_the_syn_on_both_veths_and_the_wide_lines_say_so() {
    let lab = default_lab("capsame");
    let same_node = endpoint_in("10.244.1.");
    let t = trace_until(&lab, 30, &same_node);
    assert!(same_node(&t), "DNAT never picked echo-1 on node-a");
    let ev = t
        .path
        .evidence
        .iter()
        .find(|e| e.node == "node-a")
        .expect("node-a evidence");
    let syn_on = |role: &str| {
        ev.capture.iter().any(|c| {
            c.role == role
                && c.packets
                    .iter()
                    .any(|p| p.tcp_flags.as_deref() == Some("S"))
        })
    };
    assert!(
        syn_on("host veth") && syn_on("endpoint veth"),
        "{:#?}",
        ev.capture
    );
    let bytes = ev.pcap_bytes().expect("base64").expect("a pcap");
    let (names, packets) = parse_pcapng(&bytes);
    assert!(syn_interfaces(&names, &packets).len() >= 2, "{names:?}");

    let out = wide_until(lab.name(), |o| {
        o.contains("node-a: the SYN stayed on node-a")
    });
    assert!(out.contains("it reached the endpoint pod on veth"), "{out}");
    assert!(
        out.contains("node-a: an answer came back (SYN-ACK"),
        "{out}"
    );
    assert!(out.contains("(endpoint veth)"), "{out}");
    // A healthy path: no CAPTURE line in the plain table.
    let (code, plain) = lab_trace(lab.name(), &[]);
    assert_eq!(code, 0, "{plain}");
    assert!(!plain.contains("CAPTURE"), "{plain}");
}

#[test]
fn a_cross_node_syn_left_by_eth0_and_a_forward_drop_kept_it_in() {
    let lab = default_lab("capdrop");
    let out = wide_until(lab.name(), |o| {
        o.contains("node-a: the SYN left the node on eth0 (to ")
    });
    assert!(
        out.contains("node-a: an answer came back (SYN-ACK"),
        "{out}"
    );
    assert!(out.contains("(after DNAT)"), "{out}");

    // node-b's pods dropped in node-a's FORWARD chain: the SYN enters and never leaves.
    let cidr = pod_cidr(&lab, "node-b");
    lab.exec(
        "node-a",
        &[
            "iptables", "-w", "-I", "FORWARD", "1", "-d", &cidr, "-j", "DROP",
        ],
    );
    let mut last = String::new();
    for _ in 0..30 {
        let (code, plain) = lab_trace(lab.name(), &[]);
        if plain.contains("CAPTURE node-a: SYN entered node-a on veth") {
            assert_eq!(code, 1, "{plain}");
            assert!(plain.contains("and never left it, no answer"), "{plain}");
            let wide = wide_until(lab.name(), |o| o.contains("node-a: no SYN left the node"));
            assert!(wide.contains("node-a: no answer came back"), "{wide}");
            return;
        }
        last = plain;
    }
    panic!("no trace reached node-b's endpoints through the drop; the last:\n{last}");
}
