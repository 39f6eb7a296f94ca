//! Root tests: generated rules loaded with iptables-restore (nft and legacy) into a lab node's
//! namespace (a network-only testkit fixture), dumped back, and read by the agent's reader from
//! inside that namespace. Nothing touches the host's own rules, and no packet is sent.

use std::net::Ipv4Addr;

use netdiag_agent::dataplane::kube_proxy::iptables::NftChains;
use netdiag_agent::dataplane::kube_proxy::iptables::walk::{Entry, walk};
use netdiag_agent::dataplane::kube_proxy::service_rules as service_rules_hop;
use netdiag_agent::dataplane::netfilter::iptables::rule::{Rule, Target};
use netdiag_agent::dataplane::netfilter::iptables::save::parse_save;
use netdiag_agent::dataplane::netfilter::iptables::xtables::LegacyTables;
use netdiag_lab::generate::{GenConfig, GenPort, GenService, render_restore};
use netdiag_model::Reason;
use netdiag_model::report::HopDetail;
use netdiag_model::{Endpoint, Hop, PlanTarget, Protocol, Verdict};
use netdiag_testkit::Fixture;

fn root_or_skip() -> bool {
    netdiag_testkit::root_or_skip("kubeproxy_netns")
}

/// The node whose namespace the rules are loaded into.
const NODE: &str = "node-a";

/// A lab with only its network: node-a's namespace holds no rules until a test loads some.
/// Removed on drop (on every exit path, panics included).
fn bare_node() -> Fixture {
    Fixture::builder("kp").network_only().up()
}

/// The agent's ServiceRules hop, read from inside node-a.
fn service_rules(f: &Fixture, target: PlanTarget, expected: Vec<Endpoint>) -> Hop {
    netdiag_agent::kernel::netns::run_in(&f.netns_path(NODE), move || {
        service_rules_hop("node-a", &target, &expected)
    })
    .expect("enter the test namespace")
}

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

/// `count` ClusterIP Services with 3 endpoints each, plus a NodePort, affinity and an empty one.
fn services(count: usize) -> Vec<GenService> {
    let mut out: Vec<GenService> = (0..count)
        .map(|i| {
            let eps = (0..3)
                .map(|j| Ipv4Addr::new(10, 244, (i / 80) as u8, (i % 80 * 3 + j + 2) as u8))
                .collect();
            let mut port =
                GenPort::new((i % 2 == 0).then_some("http"), 80, Protocol::TCP, 8080, eps);
            if i % 10 == 3 {
                port.node_port = Some(30000 + i as u16);
            }
            let mut s = GenService::new(
                format!("ns{}", i % 4),
                format!("svc{i}"),
                Ipv4Addr::from(u32::from(ip("10.96.1.0")) + i as u32),
            )
            .port(port);
            if i % 7 == 1 {
                s.affinity_seconds = Some(10800);
            }
            s
        })
        .collect();
    out.push(
        GenService::new("default", "empty", ip("10.96.200.1")).port(GenPort::new(
            Some("http"),
            80,
            Protocol::TCP,
            8080,
            vec![],
        )),
    );
    out
}

fn target_of(s: &GenService) -> (PlanTarget, Vec<Endpoint>) {
    let p = &s.ports[0];
    let t = PlanTarget {
        ip: s.cluster_ip,
        port: p.port,
        protocol: p.protocol,
    };
    let e = p
        .endpoints
        .iter()
        .map(|i| Endpoint {
            ip: *i,
            port: p.target_port,
        })
        .collect();
    (t, e)
}

/// Every chain the generator wrote reads back from `save` with the very same rule lines.
fn assert_saved_equals_generated(generated: &str, saved: &str) {
    let g = parse_save(generated);
    let s = parse_save(saved);
    let compared: usize = g
        .tables
        .iter()
        .flat_map(|t| t.lines.values())
        .map(Vec::len)
        .sum();
    assert!(compared > 100, "only {compared} generated rules compared");
    for table in &g.tables {
        let st = s
            .table(&table.name)
            .unwrap_or_else(|| panic!("table {} not saved", table.name));
        for c in &table.chains {
            assert!(
                st.chains.iter().any(|d| d.name == c.name),
                "chain {} not saved",
                c.name
            );
        }
        for (chain, lines) in &table.lines {
            let back = st.lines.get(chain).cloned().unwrap_or_default();
            assert_eq!(
                &back, lines,
                "{} {chain} differs after restore + save",
                table.name
            );
        }
    }
}

fn check_backend(restore: &str, save: &str, backend: &str) {
    let ns = bare_node();
    let svcs = services(40);
    let text = render_restore(&svcs, &GenConfig::new("10.244.0.0/16"));
    ns.exec_stdin(NODE, &[restore], &text);
    let saved = ns.exec(NODE, &[save]);
    assert_saved_equals_generated(&text, &saved);

    for s in [&svcs[1], &svcs[13], &svcs[38]] {
        let (t, expected) = target_of(s);
        let hop = service_rules(&ns, t.clone(), expected.clone());
        assert_eq!(hop.verdict, Verdict::Ok, "{backend} {t}: {}", hop.detail);
        let Some(HopDetail::ServiceRules(d)) = &hop.details else {
            panic!("no detail")
        };
        assert_eq!(d.backend.as_deref(), Some(backend));
        assert_eq!(d.endpoints.len(), 3);
        assert_eq!(d.affinity_seconds.is_some(), s.affinity_seconds.is_some());

        // The API lists one endpoint fewer: the rule for it is stale.
        let hop = service_rules(&ns, t, expected[..2].to_vec());
        assert_eq!(
            hop.reason.clone(),
            Some(Reason::StaleEndpoint),
            "{}",
            hop.detail
        );
        assert!(
            hop.detail.contains(&expected[2].to_string()),
            "{}",
            hop.detail
        );
    }
    let (t, _) = target_of(&svcs[40]);
    let hop = service_rules(&ns, t, vec![]);
    assert_eq!(
        hop.reason.clone(),
        Some(Reason::NoEndpoints),
        "{}",
        hop.detail
    );
    let hop = service_rules(
        &ns,
        PlanTarget {
            ip: [10, 96, 250, 250].into(),
            port: 80,
            protocol: Protocol::TCP,
        },
        vec![],
    );
    assert_eq!(
        hop.reason.clone(),
        Some(Reason::NoServiceRule),
        "{}",
        hop.detail
    );
}

#[test]
fn nft_backend_restores_generated_rules_verbatim_and_the_reader_walks_them() {
    if root_or_skip() {
        check_backend("iptables-nft-restore", "iptables-nft-save", "nf_tables");
    }
}

#[test]
fn legacy_backend_restores_generated_rules_verbatim_and_the_reader_walks_them() {
    if root_or_skip() {
        check_backend("iptables-legacy-restore", "iptables-legacy-save", "legacy");
    }
}

#[test]
fn the_nft_reader_lists_only_the_chains_the_vip_reaches() {
    if !root_or_skip() {
        return;
    }
    let ns = bare_node();
    let svcs = services(60);
    ns.exec_stdin(
        NODE,
        &["iptables-nft-restore"],
        &render_restore(&svcs, &GenConfig::new("10.244.0.0/16")),
    );
    let (t, _) = target_of(&svcs[20]);
    let (w, reads) = netdiag_agent::kernel::netns::run_in(&ns.netns_path(NODE), move || {
        let mut src = NftChains::default();
        let w = walk(&mut src, &t, Entry::ServiceIp);
        (w, src.reads)
    })
    .expect("enter the test namespace");
    let w = w.expect("read the rules");
    assert_eq!(w.endpoints.len(), 3);
    // nat KUBE-SERVICES, KUBE-SVC, 3 x KUBE-SEP, filter KUBE-SERVICES: nothing else.
    assert_eq!(reads, 6, "chains walked: {:?}", w.chains);
}

#[test]
fn a_namespace_without_any_proxy_state_is_an_info_that_says_so() {
    if !root_or_skip() {
        return;
    }
    let ns = bare_node();
    let hop = service_rules(
        &ns,
        PlanTarget {
            ip: [10, 96, 0, 1].into(),
            port: 443,
            protocol: Protocol::TCP,
        },
        vec![],
    );
    // No kube-proxy of any mode, nothing on :10249: something else balances Services, or
    // nothing does; netdiag cannot tell which from rules, and says so instead of failing.
    assert_eq!(hop.verdict, Verdict::Info, "{}", hop.detail);
    assert_eq!(hop.reason, None);
    assert!(
        hop.detail
            .contains("not by kube-proxy rules netdiag can read"),
        "{}",
        hop.detail
    );
    let Some(HopDetail::ServiceRules(d)) = &hop.details else {
        panic!("a ServiceRules detail");
    };
    assert_eq!(d.mode, "none");
    assert!(
        d.detected_by
            .as_deref()
            .is_some_and(|h| h.contains("nothing answers on 127.0.0.1:10249")),
        "{d:?}"
    );
}

/// Shapes kube-proxy's generator does not write but a node may hold: negations, interfaces,
/// gotos, port ranges, fragments, NAT ranges and flags, other REJECT types, a chain with no
/// rules, and a match no reader models.
const ODD_RULES: &str = "*nat
:ND-ODD - [0:0]
:ND-EMPTY - [0:0]
-A ND-ODD ! -s 10.244.0.0/16 -d 10.96.0.0/12 -p tcp -m tcp ! --dport 1000:2000 -j ND-EMPTY
-A ND-ODD -s 10.1.2.3/255.0.255.0 -i cni+ ! -o eth0 -p udp -m udp --dport 53 -g ND-EMPTY
-A ND-ODD -f -p sctp -m sctp --dport 9000 -j DNAT --to-destination 10.244.9.1-10.244.9.3:9000-9010 --random --persistent
-A ND-ODD ! -f -p tcp -j DNAT --to-destination 10.244.9.4
-A ND-ODD -p udp -j MASQUERADE --to-ports 40000-40100 --random
-A ND-ODD -p 200 -j RETURN
-A ND-ODD -m mark ! --mark 0x10 -m addrtype ! --src-type LOCAL,MULTICAST --dst-type UNICAST --limit-iface-in -j RETURN
-A ND-ODD -m statistic --mode nth --every 3 --packet 0 -m recent --update --seconds 60 --hitcount 2 --rttl --name odd --mask 255.255.0.0 --rdest -j ACCEPT
-A ND-ODD -d 10.96.7.7/32
COMMIT
*filter
:ND-ODD - [0:0]
-A ND-ODD -p tcp -j REJECT --reject-with tcp-reset
-A ND-ODD -p icmp -j REJECT --reject-with icmp-host-prohibited
-A ND-ODD -j LOG --log-prefix odd
-A ND-ODD -m conntrack --ctstate NEW -m comment --comment \"a \\\"quoted\\\" comment\" -j DROP
COMMIT
";

/// The `-m NAME` modules an `other` list mentions: what both readers keep of unmodelled matches.
fn modules(other: &[String]) -> Vec<&str> {
    other
        .windows(2)
        .filter(|w| w[0] == "-m")
        .map(|w| w[1].as_str())
        .collect()
}

#[test]
fn the_legacy_kernel_reader_decodes_every_chain_as_iptables_legacy_save_prints_it() {
    if !root_or_skip() {
        return;
    }
    let ns = bare_node();
    let svcs = services(40);
    ns.exec_stdin(
        NODE,
        &["iptables-legacy-restore"],
        &render_restore(&svcs, &GenConfig::new("10.244.0.0/16")),
    );
    ns.exec_stdin(NODE, &["iptables-legacy-restore", "--noflush"], ODD_RULES);
    let saved = ns.exec(NODE, &["iptables-legacy-save"]);
    let text = parse_save(&saved);
    let decoded = netdiag_agent::kernel::netns::run_in(&ns.netns_path(NODE), move || {
        let mut tables = LegacyTables::open().expect("open a raw socket");
        let mut out = Vec::new();
        for name in ["nat", "filter"] {
            let table = tables
                .table(name)
                .expect("fetch the table")
                .unwrap_or_else(|| panic!("no legacy {name} table"));
            let mut chains: Vec<(String, Vec<Rule>)> = table
                .chain_names()
                .map(|c| (c.to_string(), table.rules(c).unwrap().expect("decode")))
                .collect();
            chains.sort_by(|a, b| a.0.cmp(&b.0));
            out.push((name, chains));
        }
        out
    })
    .expect("enter the test namespace");

    let mut compared = 0;
    for (table, chains) in decoded {
        let declared = &text.table(table).expect("saved table").chains;
        assert_eq!(
            chains.len(),
            declared.len(),
            "{table}: decoded {:?}",
            chains.iter().map(|c| &c.0).collect::<Vec<_>>()
        );
        for (chain, rules) in chains {
            let expected = text.rules(table, &chain).expect("chain in the save");
            assert_eq!(rules.len(), expected.len(), "{table} {chain}");
            for (got, want) in rules.iter().zip(&expected) {
                assert_eq!(modules(&got.other), modules(&want.other), "{table} {chain}");
                // Unmodelled matches and targets are kept by name only.
                let strip = |r: &Rule| Rule {
                    other: vec![],
                    target: r.target.clone().map(|t| match t {
                        Target::Other { name, .. } => Target::Other { name, args: vec![] },
                        t => t,
                    }),
                    ..r.clone()
                };
                assert_eq!(strip(got), strip(want), "{table} {chain}");
                compared += 1;
            }
            if chain == "ND-ODD" && table == "nat" {
                // Here every option is one iptables-save prints and the kernel keeps: interfaces,
                // fragments, nth mode, recent's extras. Both readers keep them word for word.
                for (got, want) in rules.iter().zip(&expected) {
                    assert_eq!(got.other, want.other, "{table} {chain}");
                }
                assert_eq!(rules[1].other, ["-i", "cni+", "!", "-o", "eth0"]);
            }
        }
    }
    assert!(compared > 400, "only {compared} rules compared");
}
