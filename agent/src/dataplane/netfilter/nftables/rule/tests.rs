use super::*;

/// `nft -j list chain ip kube-proxy service-HVFWP5L3-ns5/svc5/tcp/p80` from nft 1.0.6, for
/// kube-proxy's own svc5 (ClientIP affinity) of TestOverallNFTablesRules.
const SERVICE_CHAIN: &str = r#"{"nftables": [{"metainfo": {"version": "1.0.6", "release_name": "Lester Gooch #5", "json_schema_version": 1}}, {"chain": {"family": "ip", "table": "kube-proxy", "name": "service-HVFWP5L3-ns5/svc5/tcp/p80", "handle": 13}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "service-HVFWP5L3-ns5/svc5/tcp/p80", "handle": 21, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "172.30.0.45"}}, {"match": {"op": "!=", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": {"prefix": {"addr": "10.0.0.0", "len": 8}}}}, {"jump": {"target": "mark-for-masquerade"}}]}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "service-HVFWP5L3-ns5/svc5/tcp/p80", "handle": 22, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "saddr"}}, "right": "@affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80"}}, {"goto": {"target": "endpoint-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80"}}]}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "service-HVFWP5L3-ns5/svc5/tcp/p80", "handle": 23, "expr": [{"vmap": {"key": {"numgen": {"mode": "random", "mod": 2, "offset": 0}}, "data": {"set": [[0, {"goto": {"target": "endpoint-A"}}], [1, {"goto": {"target": "endpoint-B"}}]]}}}]}},
{"rule": {"family": "ip", "table": "kube-proxy", "chain": "service-HVFWP5L3-ns5/svc5/tcp/p80", "handle": 24, "comment": "masquerade local traffic", "expr": [{"match": {"op": "==", "left": {"fib": {"result": "type", "flags": ["saddr"]}}, "right": "local"}}, {"counter": {"packets": 0, "bytes": 0}}, {"xt": {"type": "match", "name": "comment"}}, {"jump": {"target": "mark-for-masquerade"}}]}}]}"#;

const ENDPOINT_CHAIN: &str = r#"{"nftables": [{"rule": {"chain": "endpoint-A", "handle": 30, "expr": [{"set": {"op": "update", "elem": {"payload": {"protocol": "ip", "field": "saddr"}}, "set": "@affinity-A"}}]}},
{"rule": {"chain": "endpoint-A", "handle": 31, "expr": [{"match": {"op": "==", "left": {"meta": {"key": "l4proto"}}, "right": "tcp"}}, {"dnat": {"addr": "10.180.0.3", "port": 80}}]}},
{"rule": {"chain": "cluster-ips-check", "handle": 32, "expr": [{"match": {"op": "==", "left": {"payload": {"protocol": "ip", "field": "daddr"}}, "right": "@cluster-ips"}}, {"reject": {"type": "icmp", "expr": "port-unreachable"}}]}}]}"#;

#[test]
fn a_service_chain_parses_into_matches_verdicts_and_a_numgen_vmap() {
    let Ok(rules) = parse_listing(SERVICE_CHAIN.as_bytes()) else {
        panic!("the listing parses");
    };
    assert_eq!(rules.len(), 4);
    assert_eq!(rules[0].handle, 21);
    assert_eq!(rules[0].chain, "service-HVFWP5L3-ns5/svc5/tcp/p80");
    let m: Vec<_> = rules[0].matches().collect();
    assert_eq!(
        m[1],
        (
            &Operand::Payload {
                protocol: "ip".into(),
                field: "saddr".into()
            },
            "!=",
            &Operand::Prefix {
                addr: "10.0.0.0".into(),
                len: 8
            }
        )
    );
    assert_eq!(
        rules[0].verdict(),
        Some(&NftVerdict::Jump("mark-for-masquerade".into()))
    );
    assert_eq!(
        rules[1].matches().next().map(|m| m.2),
        Some(&Operand::SetRef(
            "affinity-GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80".into()
        ))
    );
    let Expr::Vmap { key, data } = &rules[2].exprs[0] else {
        panic!("a vmap: {:?}", rules[2].exprs);
    };
    assert_eq!(key, &Operand::Numgen { modulus: 2 });
    assert_eq!(
        data,
        &Operand::Set(vec![
            Operand::Mapping(
                Box::new(Operand::Value("0".into())),
                NftVerdict::Goto("endpoint-A".into())
            ),
            Operand::Mapping(
                Box::new(Operand::Value("1".into())),
                NftVerdict::Goto("endpoint-B".into())
            ),
        ])
    );
    assert!(rules[2].is_unconditional());
    // Unknown statements (an xtables-compat match) are kept by name, not errors.
    assert_eq!(rules[3].exprs[2], Expr::Other("xt".into()));
    assert_eq!(
        rules[3].comment.as_deref(),
        Some("masquerade local traffic")
    );
    assert_eq!(
        rules[3].matches().next().map(|m| m.0),
        Some(&Operand::Fib {
            flags: vec!["saddr".into()],
            result: "type".into()
        })
    );
}

#[test]
fn dnat_reject_and_set_updates_are_read() {
    let Ok(rules) = parse_listing(ENDPOINT_CHAIN.as_bytes()) else {
        panic!("the listing parses");
    };
    assert_eq!(
        rules[0].exprs,
        vec![Expr::SetUpdate {
            set: "affinity-A".into()
        }]
    );
    assert_eq!(rules[1].dnat(), Some(("10.180.0.3".into(), Some(80))));
    assert_eq!(rules[2].exprs[1], Expr::Reject);
}

#[test]
fn garbage_is_an_error_and_odd_shapes_are_tolerated() {
    assert!(parse_listing(b"not json").is_err());
    assert!(parse_listing(b"{\"x\": 1}").is_err());
    let odd = br#"{"nftables": [{"rule": {"expr": [7, {"match": {}}, {"dnat": {"addr": "10.0.0.1", "port": 99999}}]}}]}"#;
    let Ok(rules) = parse_listing(odd) else {
        panic!("odd shapes parse");
    };
    assert_eq!(rules[0].exprs.len(), 3);
    assert_eq!(rules[0].dnat(), Some(("10.0.0.1".into(), None)));
}

#[test]
fn a_set_listing_gives_its_timeout() {
    let json = br#"{"nftables": [{"metainfo": {}}, {"set": {"name": "affinity-X", "type": "ipv4_addr", "flags": ["timeout"], "timeout": 10800}}]}"#;
    assert_eq!(set_timeout(json), Some(10800));
    assert_eq!(set_timeout(b"{}"), None);
}
