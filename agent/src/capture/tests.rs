use super::*;

fn link(index: u32, name: &str, kind: Option<LinkKind>) -> Link {
    Link::new(index, name, kind)
}

fn links() -> Vec<Link> {
    vec![
        link(1, "lo", None),
        link(2, "eth0", Some(LinkKind::Veth)),
        link(3, "cni0", Some(LinkKind::Bridge)),
        link(4, "veth1234", Some(LinkKind::Veth)),
        link(5, "flannel.1", Some(LinkKind::Vxlan)),
        link(6, "veth5678", Some(LinkKind::Veth)),
    ]
}

#[test]
fn taps_follow_the_path_each_once() {
    let t = taps(
        &links(),
        Some("veth1234"),
        Some("cni0"),
        &[6, 4],
        &[3, 5, 2, 2, 99],
    );
    let got: Vec<(&str, u32, &str)> = t
        .iter()
        .map(|t| (t.interface.as_str(), t.ifindex, t.role))
        .collect();
    assert_eq!(
        got,
        [
            ("veth1234", 4, "host veth"),
            ("cni0", 3, "bridge"),
            ("veth5678", 6, "endpoint veth"),
            ("flannel.1", 5, "overlay"),
            ("eth0", 2, "uplink"),
        ]
    );
    // A routed CNI: no bridge, and a host veth that is gone is no tap.
    let t = taps(&links(), Some("vethgone"), None, &[], &[2]);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].role, "uplink");
}

fn syn() -> Vec<u8> {
    let mut f = vec![
        0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x01, 0x0a, 0x58, 0x0a, 0xf4, 0x01, 0x02,
    ];
    f.extend([0x08, 0x00, 0x45, 0, 0, 60, 0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend([10, 244, 1, 2, 10, 96, 45, 10]);
    f.extend(41234u16.to_be_bytes());
    f.extend(80u16.to_be_bytes());
    f.extend([0u8; 8]);
    f.extend([0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    f
}

#[test]
fn summaries_and_the_pcap_agree() {
    let started = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    let frame = |ms, outgoing| Frame {
        at: started + Duration::from_millis(ms),
        outgoing,
        wire_len: 74,
        data: syn(),
    };
    let tap = |name: &str, ifindex, role| Tap {
        interface: name.into(),
        ifindex,
        role,
    };
    let seen = vec![
        (tap("veth1234", 4, "host veth"), Ok(vec![frame(2, false)])),
        (tap("cni0", 3, "bridge"), Ok(vec![frame(1, false)])),
        (tap("veth5678", 6, ENDPOINT_VETH), Ok(vec![])),
        (tap("eth0", 2, "uplink"), Err("no CAP_NET_RAW".to_string())),
    ];
    let (caps, bytes) = summarise(started, &seen);
    assert_eq!(caps.len(), 3);
    assert_eq!(caps[0].packets[0].at_ms, 2.0);
    assert_eq!(caps[0].packets[0].direction, "in");
    assert_eq!(
        caps[1].packets[0].summary,
        "IP 10.244.1.2.41234 > 10.96.45.10.80: Flags [S]"
    );
    assert_eq!(caps[2].error.as_deref(), Some("no CAP_NET_RAW"));
    let file = pcapng::read(&bytes).unwrap();
    assert_eq!(file.interfaces, ["veth1234", "cni0", "eth0"]);
    // In time order: the bridge's copy first.
    let ifaces: Vec<u32> = file.packets.iter().map(|p| p.interface).collect();
    assert_eq!(ifaces, [1, 0]);
    assert_eq!(file.packets[0].data, syn());
}
