//! Root tests: generated rules loaded with iptables-restore (nft and legacy) into a throwaway
//! network namespace, dumped back, and read by the agent's reader from inside that namespace.
//! Nothing touches the host's own rules, and no packet is sent.

use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use netdiag_agent::kubeproxy::generate::{GenConfig, GenPort, GenService, render_restore};
use netdiag_agent::kubeproxy::iptables::parse_save;
use netdiag_agent::kubeproxy::read::NftChains;
use netdiag_agent::kubeproxy::service_rules;
use netdiag_agent::kubeproxy::walk::{Entry, walk};
use netdiag_crds::report::HopDetail;
use netdiag_crds::{Endpoint, Hop, PlanTarget, Protocol, Verdict};

fn root_or_skip() -> bool {
    netdiag_agent::lab::exec::root_or_skip("kubeproxy_netns")
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A named network namespace, deleted on drop (on every exit path, panics included).
struct Netns {
    name: String,
}

impl Netns {
    fn new() -> Self {
        let name = format!(
            "ndkp-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("run ip netns add");
        assert!(st.success(), "ip netns add {name} failed");
        Netns { name }
    }

    fn path(&self) -> PathBuf {
        PathBuf::from(format!("/var/run/netns/{}", self.name))
    }

    /// `ip netns exec NAME args...` with `stdin`, returning stdout; panics on failure.
    fn exec(&self, args: &[&str], stdin: &str) -> String {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn ip netns exec");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("wait");
        assert!(
            out.status.success(),
            "{args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf-8")
    }

    fn service_rules(&self, target: PlanTarget, expected: Vec<Endpoint>) -> Hop {
        netdiag_agent::netns::run_in(&self.path(), move || {
            service_rules("node-a", &target, &expected)
        })
        .expect("enter the test namespace")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
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
        ip: s.cluster_ip.to_string(),
        port: p.port,
        protocol: p.protocol,
    };
    let e = p
        .endpoints
        .iter()
        .map(|i| Endpoint {
            ip: i.to_string(),
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
    let ns = Netns::new();
    let svcs = services(40);
    let text = render_restore(&svcs, &GenConfig::new("10.244.0.0/16"));
    ns.exec(&[restore], &text);
    let saved = ns.exec(&[save], "");
    assert_saved_equals_generated(&text, &saved);

    for s in [&svcs[1], &svcs[13], &svcs[38]] {
        let (t, expected) = target_of(s);
        let hop = ns.service_rules(t.clone(), expected.clone());
        assert_eq!(hop.verdict, Verdict::Ok, "{backend} {t}: {}", hop.detail);
        let Some(HopDetail::ServiceRules(d)) = &hop.details else {
            panic!("no detail")
        };
        assert_eq!(d.backend.as_deref(), Some(backend));
        assert_eq!(d.endpoints.len(), 3);
        assert_eq!(d.affinity_seconds.is_some(), s.affinity_seconds.is_some());

        // The API lists one endpoint fewer: the rule for it is stale.
        let hop = ns.service_rules(t, expected[..2].to_vec());
        assert_eq!(
            hop.reason.as_deref(),
            Some("StaleEndpoint"),
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
    let hop = ns.service_rules(t, vec![]);
    assert_eq!(hop.reason.as_deref(), Some("NoEndpoints"), "{}", hop.detail);
    let hop = ns.service_rules(
        PlanTarget {
            ip: "10.96.250.250".into(),
            port: 80,
            protocol: Protocol::TCP,
        },
        vec![],
    );
    assert_eq!(
        hop.reason.as_deref(),
        Some("NoServiceRule"),
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
    let ns = Netns::new();
    let svcs = services(60);
    ns.exec(
        &["iptables-nft-restore"],
        &render_restore(&svcs, &GenConfig::new("10.244.0.0/16")),
    );
    let (t, _) = target_of(&svcs[20]);
    let (w, reads) = netdiag_agent::netns::run_in(&ns.path(), move || {
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
fn a_namespace_without_kube_proxy_rules_has_no_service_rule() {
    if !root_or_skip() {
        return;
    }
    let ns = Netns::new();
    let hop = ns.service_rules(
        PlanTarget {
            ip: "10.96.0.1".into(),
            port: 443,
            protocol: Protocol::TCP,
        },
        vec![],
    );
    assert_eq!(hop.verdict, Verdict::Fail);
    assert_eq!(hop.reason.as_deref(), Some("NoServiceRule"));
    assert!(
        hop.detail.contains("no KUBE-SERVICES chain"),
        "{}",
        hop.detail
    );
}
