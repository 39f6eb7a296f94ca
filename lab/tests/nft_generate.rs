//! The nftables generator against kube-proxy's own expectation (TestOverallNFTablesRules, in
//! agent/tests/fixtures/nftables/overall.nft): the same six Services give the same lines; and,
//! as root, both scripts load with `nft -f` and list back identically.

use std::collections::BTreeSet;
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};

use netdiag_lab::cidr::Ipv4Net;
use netdiag_lab::generate::nft::declarations_first;
use netdiag_lab::generate::{GenConfig, GenPort, GenService, render_nft};
use netdiag_model::Protocol;

const OVERALL: &str = include_str!("../../agent/tests/fixtures/nftables/overall.nft");

fn ip(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}

fn p80(node_port: Option<u16>, endpoints: &[&str]) -> GenPort {
    let mut p = GenPort::new(
        Some("p80"),
        80,
        Protocol::TCP,
        80,
        endpoints.iter().map(|e| ip(e)).collect(),
    );
    p.node_port = node_port;
    p
}

/// TestOverallNFTablesRules' Services and EndpointSlices, in the generator's input shape.
fn overall_services() -> Vec<GenService> {
    let svc = |n: u8, port: GenPort| {
        GenService::new(
            format!("ns{n}"),
            format!("svc{n}"),
            Ipv4Addr::new(172, 30, 0, 40 + n),
        )
        .port(port)
    };
    let svc1 = svc(1, p80(None, &["10.180.0.1"]));
    // LoadBalancer, externalTrafficPolicy=Local; its endpoint is on another node.
    let mut svc2 = svc(2, p80(Some(3001), &["10.180.0.2"]));
    svc2.external_traffic_local = true;
    svc2.load_balancer_ips = vec![ip("1.2.3.4")];
    svc2.external_ips = vec![ip("192.168.99.22")];
    let svc3 = svc(3, p80(Some(3003), &["10.180.0.3"]));
    // Type NodePort but no NodePort allocated (the fake proxier allocates none).
    let mut svc4 = svc(4, p80(None, &["10.180.0.4", "10.180.0.5"]));
    svc4.external_ips = vec![ip("192.168.99.33")];
    let mut svc5 = svc(5, p80(Some(3002), &["10.180.0.3"]));
    svc5.load_balancer_ips = vec![ip("5.6.7.8")];
    svc5.load_balancer_source_ranges = vec!["203.0.113.0/25".parse::<Ipv4Net>().unwrap()];
    svc5.affinity_seconds = Some(10800);
    let svc6 = svc(6, p80(None, &[]));
    vec![svc1, svc2, svc3, svc4, svc5, svc6]
}

fn overall_config() -> GenConfig {
    GenConfig {
        node_ips: vec![ip("192.168.0.2")],
        // 10.180.0.5 has NodeName test-node; none of the Local-policy Services uses it.
        local_endpoint_ips: vec![ip("10.180.0.5")],
        service_cidr: "172.30.0.0/16".into(),
        ..GenConfig::new("10.0.0.0/8")
    }
}

fn line_set(script: &str) -> BTreeSet<&str> {
    script
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn the_six_services_of_test_overall_nftables_rules_give_kube_proxys_own_lines() {
    let generated = render_nft(&overall_services(), &overall_config());
    let (want, got) = (line_set(OVERALL), line_set(&generated));
    let missing: Vec<_> = want.difference(&got).collect();
    let extra: Vec<_> = got.difference(&want).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing (in kube-proxy's expectation, not generated):\n{}\nextra (generated only):\n{}",
        missing
            .iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
        extra
            .iter()
            .map(|l| format!("  {l}"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    // and no line twice: kube-proxy writes each object once
    let lines = generated.lines().count();
    assert_eq!(lines, got.len(), "duplicate lines in\n{generated}");
}

#[test]
fn the_generated_script_declares_every_object_before_using_it() {
    let generated = render_nft(&overall_services(), &overall_config());
    assert_eq!(declarations_first(&generated), generated);
    // the fixture itself lists chains after rules that go to them (knftables' sorted dump)
    assert_ne!(declarations_first(OVERALL), OVERALL);
}

/// A network namespace for one test, removed when dropped (also on panic).
struct Netns(String);

impl Netns {
    fn new(tag: &str) -> Netns {
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("ndnft-{tag}-{}-{n}", std::process::id());
        let st = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("run ip");
        assert!(st.success(), "ip netns add {name}");
        Netns(name)
    }

    fn nft(&self, args: &[&str], stdin: Option<&str>) -> String {
        use std::io::Write as _;
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.0, "nft"])
            .args(args)
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run nft");
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            pipe.write_all(text.as_bytes()).expect("write nft's input");
        }
        let out = child.wait_with_output().expect("wait for nft");
        assert!(
            out.status.success(),
            "nft {args:?} in {}: {}",
            self.0,
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
    }
}

fn nft_or_skip(test: &str) -> bool {
    if !netdiag_testkit::root_or_skip(test) {
        return false;
    }
    assert!(
        netdiag_lab::exec::find_tool("nft").is_some(),
        "{test} needs nft: apt-get install nftables"
    );
    true
}

#[test]
fn kube_proxys_expectation_and_the_generated_script_load_and_list_back_identically() {
    if !nft_or_skip(
        "kube_proxys_expectation_and_the_generated_script_load_and_list_back_identically",
    ) {
        return;
    }
    let theirs = Netns::new("ref");
    theirs.nft(&["-f", "-"], Some(&declarations_first(OVERALL)));
    let ours = Netns::new("gen");
    ours.nft(
        &["-f", "-"],
        Some(&render_nft(&overall_services(), &overall_config())),
    );
    let list = ["list", "table", "ip", "kube-proxy"];
    let (a, b) = (theirs.nft(&list, None), ours.nft(&list, None));
    assert!(a.contains("comment \"rules for kube-proxy\""), "{a}");
    assert!(
        a.contains("172.30.0.41 . tcp . 80 : goto service-ULMVA6XW-ns1/svc1/tcp/p80"),
        "{a}"
    );
    // nft lists chains in creation order, which differs (the fixture is a sorted dump); every
    // object must list identically: the same rules in the same order, the same elements.
    assert_eq!(
        objects(&a),
        objects(&b),
        "nft lists the two tables differently"
    );
    // 3 sets, 5 maps, 16 base and helper chains, 16 chains of the Services
    assert_eq!(objects(&a).len(), 3 + 5 + 16 + 16, "{a}");
}

/// The top-level objects of `nft list table` output (sets, maps, chains), sorted.
fn objects(listing: &str) -> Vec<String> {
    let body = listing
        .split_once('\n')
        .map(|(_, rest)| rest)
        .unwrap_or_default();
    let mut v: Vec<String> = body
        .split("\n\n")
        .map(|b| b.trim_end_matches("\n}\n").trim().to_string())
        .collect();
    v.sort();
    v
}
