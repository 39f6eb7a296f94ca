use super::*;
use crate::{RenderOptions, Width, table};
use netdiag_model::{Hop, Progress};

const POD: &str = "92:03:5b:75:96:54";
const GW: &str = "3a:c3:de:8a:8b:44";
const NEXT: &str = "5e:78:9d:e1:c2:8d";

fn tcp(
    ms: f64,
    dir: &str,
    src: &str,
    dst: &str,
    flags: &str,
    macs: (&str, &str),
) -> CapturedPacket {
    let dotted = |a: &str| a.replacen(':', ".", 1);
    CapturedPacket {
        at_ms: ms,
        direction: dir.into(),
        summary: format!("IP {} > {}: Flags [{flags}]", dotted(src), dotted(dst)),
        src_mac: Some(macs.0.into()),
        dst_mac: Some(macs.1.into()),
        ttl: Some(64),
        protocol: Some("tcp".into()),
        src: Some(src.into()),
        dst: Some(dst.into()),
        tcp_flags: Some(flags.into()),
        ..Default::default()
    }
}

fn iface(name: &str, role: &str, packets: Vec<CapturedPacket>) -> InterfaceCapture {
    InterfaceCapture {
        interface: name.into(),
        role: role.into(),
        packets,
        error: None,
    }
}

const PODA: &str = "10.244.1.2:41234";
const SVC: &str = "10.96.45.10:80";
const EP: &str = "10.244.2.3:8080";

/// A cross-node trace: DNAT on the bridge, out of eth0, answered, or (answered false) not.
fn cross_node(answered: bool) -> Evidence {
    let mut veth = vec![tcp(0.3, "in", PODA, SVC, "S", (POD, GW))];
    let mut eth0 = vec![tcp(0.5, "out", PODA, EP, "S", ("16:8a:f5:bd:26:1b", NEXT))];
    if answered {
        veth.push(tcp(0.6, "out", SVC, PODA, "S.", (GW, POD)));
        eth0.push(tcp(0.55, "in", EP, PODA, "S.", (NEXT, "16:8a:f5:bd:26:1b")));
    } else {
        eth0.push(tcp(
            1000.5,
            "out",
            PODA,
            EP,
            "S",
            ("16:8a:f5:bd:26:1b", NEXT),
        ));
    }
    let arp = CapturedPacket {
        at_ms: 0.1,
        direction: "in".into(),
        summary: "ARP, Request who-has 10.244.1.1 tell 10.244.1.2".into(),
        protocol: Some("arp".into()),
        ..Default::default()
    };
    veth.insert(0, arp);
    Evidence {
        node: "node-a".into(),
        capture: vec![
            iface("veth1234", "host veth", veth),
            iface(
                "cni0",
                "bridge",
                vec![tcp(0.4, "in", PODA, EP, "S", (POD, GW))],
            ),
            iface("eth0", "uplink", eth0),
        ],
        ..Default::default()
    }
}

fn lines(e: &Evidence) -> Vec<String> {
    story(e).map(|s| s.lines(&e.node)).unwrap_or_default()
}

#[test]
fn a_healthy_cross_node_probe_left_and_was_answered() {
    assert_eq!(
        lines(&cross_node(true)),
        [
            format!("the SYN left the node on eth0 (to {NEXT})"),
            "an answer came back (SYN-ACK from 10.96.45.10:80 on veth1234)".to_string(),
            "on the wire: 10.244.1.2:41234 > 10.96.45.10:80 on veth1234; 10.244.1.2:41234 > 10.244.2.3:8080 on cni0 (after DNAT); 10.244.1.2:41234 > 10.244.2.3:8080 on eth0 (after DNAT)".to_string(),
            "ARP: who-has 10.244.1.1 tell 10.244.1.2 on veth1234".to_string(),
        ]
    );
}

#[test]
fn a_timeout_says_the_syn_left_twice_and_nothing_came_back() {
    let l = lines(&cross_node(false));
    assert_eq!(
        l[0],
        format!("the SYN left the node on eth0 (to {NEXT}), sent 2 times")
    );
    assert_eq!(l[1], "no answer came back");
    let s = story(&cross_node(false)).map(|s| s.short("node-a"));
    assert_eq!(s.as_deref(), Some("SYN left via eth0, no answer"));
}

#[test]
fn a_drop_on_the_node_keeps_the_syn_in() {
    let mut e = cross_node(false);
    e.capture[2].packets.clear();
    let l = lines(&e);
    assert_eq!(l[0], "no SYN left the node");
    let s = story(&e).map(|s| s.short("node-a"));
    assert_eq!(
        s.as_deref(),
        Some("SYN entered node-a on veth1234 and never left it, no answer")
    );
    // Without a capture on the uplink, absence is not claimed as a fact.
    e.capture[2].error = Some("no CAP_NET_RAW".into());
    assert!(lines(&e)[0].contains("no interface out of the node was captured"));
}

#[test]
fn a_same_node_endpoint_shows_on_its_veth_and_an_icmp_error_is_an_answer() {
    let mut e = cross_node(false);
    e.capture.truncate(2);
    e.capture.push(iface(
        "veth5678",
        "endpoint veth",
        vec![tcp(0.5, "out", PODA, "10.244.1.3:8080", "S", (GW, NEXT))],
    ));
    let icmp = CapturedPacket {
        direction: "out".into(),
        summary: "IP 10.244.1.1 > 10.244.1.2: ICMP port unreachable for 10.244.1.3:8080".into(),
        protocol: Some("icmp".into()),
        src: Some("10.244.1.1".into()),
        icmp_type: Some(3),
        icmp_code: Some(3),
        ..Default::default()
    };
    e.capture[0].packets.push(icmp);
    let l = lines(&e);
    assert_eq!(
        l[0],
        format!("the SYN stayed on node-a: it reached the endpoint pod on veth5678 (to {NEXT})")
    );
    assert_eq!(
        l[1],
        "an answer came back (ICMP port unreachable from 10.244.1.1 on veth1234)"
    );
}

fn failed_path(e: Evidence, connect_failed: bool) -> MergedPath {
    let verdict = if connect_failed {
        Verdict::Fail
    } else {
        Verdict::Ok
    };
    MergedPath {
        progress: Progress::Done,
        reachable: Some(!connect_failed),
        hops: vec![Hop::new(
            "node-a",
            HopKind::Connect,
            SVC,
            verdict,
            "timed out",
        )],
        evidence: vec![e],
        ..Default::default()
    }
}

#[test]
fn the_plain_table_has_one_line_only_when_the_connect_failed() {
    let opts = RenderOptions {
        wide: false,
        color: false,
        width: Width::Columns(100),
    };
    let out = table(&failed_path(cross_node(false), true), &opts);
    assert!(
        out.lines()
            .any(|l| l == "CAPTURE node-a: SYN left via eth0, no answer"),
        "{out}"
    );
    assert!(
        !out.contains("MACS"),
        "no packet table without -o wide:\n{out}"
    );
    let healthy = table(&failed_path(cross_node(true), false), &opts);
    assert!(!healthy.contains("CAPTURE"), "{healthy}");
}

#[test]
fn the_wide_block_lists_packets_per_interface_and_fits_the_width() {
    for columns in [100u16, 200] {
        let opts = RenderOptions {
            wide: true,
            color: false,
            width: Width::Columns(columns),
        };
        let out = table(&failed_path(cross_node(true), false), &opts);
        for line in out.lines() {
            assert!(
                line.chars().count() <= usize::from(columns),
                "{columns}: {line}\n{out}"
            );
        }
        let block: Vec<&str> = out.lines().skip_while(|l| *l != "CAPTURE").collect();
        assert!(block.get(1).is_some_and(|h| h.starts_with("NODE")), "{out}");
        let words: String = out.split_whitespace().collect();
        assert!(
            words.contains("node-a:theSYNleftthenodeoneth0(to5e:78:9d:e1:c2:8d)"),
            "{out}"
        );
        assert!(out.contains("(uplink)"), "{out}");
        assert!(
            out.contains(&format!("{POD} >")) && out.contains(GW),
            "{out}"
        );
    }
    // The node is written once per node, the interface once per interface.
    let out = table(
        &failed_path(cross_node(true), false),
        &RenderOptions {
            wide: true,
            color: false,
            width: Width::Unlimited,
        },
    );
    let rows: Vec<&str> = out
        .lines()
        .skip_while(|l| *l != "CAPTURE")
        .skip(2)
        .take_while(|l| !l.is_empty() && !l.starts_with("node-a:"))
        .filter(|l| l.contains("Flags [") || l.contains("ARP,"))
        .collect();
    assert_eq!(rows.len(), 6, "{out}");
    assert!(
        rows[0].starts_with("node-a   veth1234 (host veth)"),
        "{out}"
    );
    assert!(rows[1].trim_start().starts_with("0.3"), "{out}");
    assert!(rows[3].trim_start().starts_with("cni0 (bridge)"), "{out}");
}
