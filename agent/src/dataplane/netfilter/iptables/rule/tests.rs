//! Rule lines as iptables-save prints them, parsed.

use super::*;

#[test]
fn parses_a_cluster_ip_rule_with_its_comment_and_match() {
    let r = parse_line(r#"-A KUBE-SERVICES -d 10.96.45.10/32 -p tcp -m comment --comment "default/echo-service:http cluster IP" -m tcp --dport 80 -j KUBE-SVC-UA67LJTCCZTJVDOY"#).unwrap();
    assert_eq!(r.chain, "KUBE-SERVICES");
    assert!(r.dst_is("10.96.45.10"));
    assert!(r.proto_is("TCP"));
    assert!(r.dport_is(80));
    assert_eq!(r.service_name(), Some("default/echo-service:http"));
    assert_eq!(r.jump(), Some("KUBE-SVC-UA67LJTCCZTJVDOY"));
    assert!(r.other.is_empty(), "{:?}", r.other);
}

#[test]
fn keeps_source_negation() {
    let r = parse_line("-A KUBE-SVC-X ! -s 10.244.0.0/16 -d 10.96.45.10/32 -p tcp -m tcp --dport 80 -j KUBE-MARK-MASQ").unwrap();
    assert_eq!(
        r.src,
        Some(Neg {
            negated: true,
            value: "10.244.0.0/16".into()
        })
    );
    assert!(!r.dst.as_ref().unwrap().negated);
}

#[test]
fn parses_statistic_recent_and_dnat() {
    let r = parse_line(
        "-A KUBE-SVC-X -m statistic --mode random --probability 0.33333333349 -j KUBE-SEP-A",
    )
    .unwrap();
    assert_eq!(r.probability, Some(0.33333333349));
    let r = parse_line("-A KUBE-SVC-X -m recent --rcheck --seconds 10800 --reap --name KUBE-SEP-A --mask 255.255.255.255 --rsource -j KUBE-SEP-A").unwrap();
    let rec = r.recent.unwrap();
    assert_eq!(rec.action.as_deref(), Some("rcheck"));
    assert_eq!(rec.seconds, Some(10800));
    assert_eq!(rec.name.as_deref(), Some("KUBE-SEP-A"));
    assert!(rec.reap);
    let r = parse_line("-A KUBE-SEP-A -p tcp -m recent --set --name KUBE-SEP-A --mask 255.255.255.255 --rsource -m tcp -j DNAT --to-destination 10.244.1.5:8080").unwrap();
    assert_eq!(r.recent.clone().unwrap().action.as_deref(), Some("set"));
    assert_eq!(r.dnat_endpoint(), Some(([10, 244, 1, 5].into(), 8080)));
}

#[test]
fn parses_reject_drop_mark_masquerade_and_addrtype() {
    let r = parse_line(r#"-A KUBE-SERVICES -d 10.96.0.5/32 -p tcp -m comment --comment "ns/a:http has no endpoints" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable"#).unwrap();
    assert_eq!(
        r.target,
        Some(Target::Reject {
            with: Some("icmp-port-unreachable".into())
        })
    );
    assert_eq!(r.service_name(), Some("ns/a:http"));
    let r = parse_line("-A KUBE-EXTERNAL-SERVICES -m addrtype --dst-type LOCAL -p tcp -m tcp --dport 30080 -j DROP").unwrap();
    assert_eq!(r.target, Some(Target::Drop));
    assert_eq!(r.addrtype.unwrap().dst_type.unwrap().value, "LOCAL");
    let r = parse_line("-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN").unwrap();
    assert!(r.mark.unwrap().negated);
    assert_eq!(r.target, Some(Target::Return));
    let r = parse_line("-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000").unwrap();
    assert!(matches!(r.target, Some(Target::Mark { .. })));
    let r = parse_line("-A KUBE-POSTROUTING -j MASQUERADE --random-fully").unwrap();
    assert_eq!(
        r.target,
        Some(Target::Masquerade {
            args: vec!["--random-fully".into()]
        })
    );
}

#[test]
fn keeps_unknown_options_raw_and_never_fails() {
    let r = parse_line("-A FORWARD -m conntrack --ctstate NEW -i eth0 --frob a b -j KUBE-SERVICES")
        .unwrap();
    assert_eq!(
        r.other,
        [
            "-m",
            "conntrack",
            "--ctstate",
            "NEW",
            "-i",
            "eth0",
            "--frob",
            "a",
            "b"
        ]
    );
    assert_eq!(r.jump(), Some("KUBE-SERVICES"));
    let r = parse_line("-A X -j LOG --log-prefix p").unwrap();
    assert!(matches!(r.target, Some(Target::Other { .. })));
    // Truncated lines: the option loses its value, nothing panics.
    let r = parse_line("-A X -d").unwrap();
    assert_eq!(r.dst, None);
    assert_eq!(parse_line("-N X"), None);
    assert_eq!(parse_line("-A").map(|r| r.chain), Some(String::new()));
}
