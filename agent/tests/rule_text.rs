//! Root tests: rule texts printed from the kernel's expressions (fetched by handle over
//! nf_tables netlink) read exactly as `nft -a list chain` prints the same rules, and as
//! `iptables-nft -S` prints iptables-nft's, for rules loaded into a throwaway node namespace.

use std::time::Instant;

use netdiag_agent::kernel::nftables::trace::{TraceEvent, TraceType};
use netdiag_agent::path::firewall::rules::RuleTexts;
use netdiag_testkit::Fixture;

const NODE: &str = "node-a";

fn root_or_skip() -> bool {
    netdiag_testkit::root_or_skip("rule_text")
}

/// A host firewall as people write them: every rule here has an exact printed form.
const HOSTFW: &str = r#"table inet hostfw {
 set blocked { type ipv4_addr; elements = { 10.9.9.9 }; }
 map svc { type ipv4_addr . inet_proto . inet_service : verdict; }
 chain nout { type nat hook output priority -100;
  jump a
 }
 chain npost { type nat hook postrouting priority 100;
  jump b
 }
 chain a {
  meta l4proto tcp dnat ip to 10.0.0.1:80
  dnat ip to 10.0.0.2
 }
 chain b {
  masquerade
  masquerade fully-random
  snat ip to 1.2.3.4
 }
 chain c {
  jump d
  goto d
  return
  continue
 }
 chain d {
 }
 chain input { type filter hook input priority 0; policy accept;
  ct state established,related accept
  ct state new,invalid,untracked drop
  ct status dnat accept
  meta l4proto tcp tcp dport 8080 counter reject
  ip daddr 10.244.2.0/24 drop
  ip saddr != 10.0.0.0/8 tcp dport { 80, 443, 1000-2000 } accept
  ip daddr { 10.1.0.0/16, 10.3.3.3 } drop
  udp dport 53 drop comment "no dns"
  ip saddr @blocked drop
  ip saddr != @blocked accept
  meta mark 0x10 accept
  meta mark & 0x4000 == 0x4000 return
  iifname "eth0" oifname != "lo" accept
  tcp dport > 1024 accept
  tcp sport 1-1023 accept
  tcp dport != 1-1023 accept
  meta l4proto { tcp, udp } th dport 53 accept
  meta l4proto udp accept
  ip protocol icmp accept
  reject with tcp reset
  reject with icmpx host-unreachable
  meta nftrace set 1
  meta mark set 0x20
  meta mark set mark or 0x4000
  log prefix "x " drop
  log
  iif "lo" accept
  numgen random mod 2 vmap { 0 : jump c, 1 : goto c }
  ip daddr . meta l4proto . th dport vmap @svc
 }
}
table ip ipfw {
 chain f { type filter hook forward priority 0;
  tcp dport 80 reject
  reject
  reject with icmp host-unreachable
  ip protocol tcp accept
  ip protocol tcp tcp dport 22 accept
  ct state established accept
  ip daddr 10.1.0.0/20 drop
 }
 chain p { type nat hook prerouting priority -100;
  ip daddr 10.1.2.3 meta l4proto tcp dnat to 10.0.0.1:8080
  dnat to 10.0.0.1
 }
}
"#;

fn normalised(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// `(handle, text)` of each rule in an `nft -a list chain` listing.
fn listed(listing: &str) -> Vec<(u64, String)> {
    listing
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("table ") && !l.starts_with("chain "))
        .filter_map(|l| {
            let (text, handle) = l.rsplit_once("# handle ")?;
            Some((handle.trim().parse().ok()?, normalised(text)))
        })
        .collect()
}

fn event(family: u8, table: &str, chain: &str, handle: u64) -> TraceEvent {
    TraceEvent {
        id: 1,
        family,
        table: table.into(),
        chain: chain.into(),
        handle: Some(handle),
        kind: TraceType::Rule,
        verdict: None,
        policy: None,
        iif: None,
        oif: None,
    }
}

/// The printed texts of every rule of a chain, by the handles `nft` lists.
fn printed(
    f: &Fixture,
    family: u8,
    table: &str,
    chain: &str,
    handles: Vec<u64>,
) -> Vec<(String, Option<String>)> {
    let (table, chain) = (table.to_string(), chain.to_string());
    netdiag_agent::kernel::netns::run_in(&f.netns_path(NODE), move || {
        let mut texts = RuleTexts::default();
        handles
            .iter()
            .map(|h| match texts.of(&event(family, &table, &chain, *h)) {
                Some(t) => (t.nft, t.iptables),
                None => ("(no rule with this handle)".into(), None),
            })
            .collect()
    })
    .expect("enter the test namespace")
}

fn compare_chain(f: &Fixture, family: (u8, &str), table: &str, chain: &str) -> usize {
    let listing = f.exec(
        NODE,
        &["nft", "-a", "list", "chain", family.1, table, chain],
    );
    let rules = listed(&listing);
    let texts = printed(
        f,
        family.0,
        table,
        chain,
        rules.iter().map(|r| r.0).collect(),
    );
    for ((handle, want), (got, _)) in rules.iter().zip(&texts) {
        assert_eq!(
            &normalised(got),
            want,
            "{family:?} {table} {chain} handle {handle}"
        );
    }
    rules.len()
}

#[test]
fn printed_rules_read_as_nft_lists_them() {
    if !root_or_skip() {
        return;
    }
    let f = Fixture::builder("rtxt").network_only().up();
    f.exec_stdin(NODE, &["nft", "-f", "-"], HOSTFW);
    let mut n = 0;
    for chain in ["nout", "npost", "a", "b", "c", "input"] {
        n += compare_chain(&f, (1, "inet"), "hostfw", chain);
    }
    for chain in ["f", "p"] {
        n += compare_chain(&f, (2, "ip"), "ipfw", chain);
    }
    assert_eq!(n, 49, "every rule of HOSTFW is compared");
}

#[test]
fn what_cannot_be_printed_is_marked_not_guessed() {
    if !root_or_skip() {
        return;
    }
    let f = Fixture::builder("rtxm").network_only().up();
    f.exec_stdin(
        NODE,
        &["nft", "-f", "-"],
        "table inet odd {\n chain c {\n tcp flags syn accept\n limit rate 10/second drop\n }\n}\n",
    );
    let rules = listed(&f.exec(NODE, &["nft", "-a", "list", "chain", "inet", "odd", "c"]));
    let texts = printed(&f, 1, "odd", "c", rules.iter().map(|r| r.0).collect());
    let nft: Vec<&str> = texts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        nft,
        [
            "meta l4proto tcp [expr 3: payload] accept",
            "[expr 1: limit] drop"
        ]
    );
}

#[test]
fn iptables_nft_rules_read_as_iptables_prints_them() {
    if !root_or_skip() {
        return;
    }
    let f = Fixture::builder("rtxi").network_only().up();
    let rules: &[&[&str]] = &[
        &["-A", "INPUT", "-p", "tcp", "--dport", "18082", "-j", "DROP"],
        &["-A", "FORWARD", "-d", "10.244.2.0/24", "-j", "DROP"],
        &[
            "-A",
            "FORWARD",
            "-s",
            "10.1.2.3",
            "-i",
            "eth0",
            "-o",
            "veth+",
            "-p",
            "udp",
            "--sport",
            "53",
            "--dport",
            "1000:2000",
            "-m",
            "comment",
            "--comment",
            "hello world",
            "-j",
            "ACCEPT",
        ],
        &[
            "-A",
            "FORWARD",
            "-p",
            "tcp",
            "-m",
            "tcp",
            "--dport",
            "80",
            "-j",
            "REJECT",
            "--reject-with",
            "tcp-reset",
        ],
        &["-A", "FORWARD", "-p", "tcp", "-j", "REJECT"],
        &["-N", "KUBE-NWPLCY-X"],
        &[
            "-A",
            "FORWARD",
            "-m",
            "comment",
            "--comment",
            "ns/pod",
            "-j",
            "KUBE-NWPLCY-X",
        ],
        &[
            "-A",
            "KUBE-NWPLCY-X",
            "-m",
            "mark",
            "--mark",
            "0x10000/0x10000",
            "-j",
            "RETURN",
        ],
        &[
            "-A",
            "KUBE-NWPLCY-X",
            "!",
            "-d",
            "10.0.0.0/8",
            "-g",
            "KUBE-NWPLCY-Y",
        ],
    ];
    f.exec(NODE, &["iptables-nft", "-w", "-N", "KUBE-NWPLCY-Y"]);
    for r in rules {
        let mut argv = vec!["iptables-nft", "-w"];
        argv.extend_from_slice(r);
        f.exec(NODE, &argv);
    }
    for chain in ["INPUT", "FORWARD", "KUBE-NWPLCY-X"] {
        let saved = f.exec(NODE, &["iptables-nft", "-w", "-S", chain]);
        let want: Vec<&str> = saved.lines().filter(|l| l.starts_with("-A ")).collect();
        let listing = f.exec(NODE, &["nft", "-a", "list", "chain", "ip", "filter", chain]);
        let handles = listed(&listing).into_iter().map(|r| r.0).collect();
        let texts = printed(&f, 2, "filter", chain, handles);
        let got: Vec<&str> = texts
            .iter()
            .map(|(_, i)| i.as_deref().unwrap_or("(none)"))
            .collect();
        assert_eq!(got, want, "{chain}");
    }
}

#[test]
fn a_rule_of_a_large_table_is_fetched_alone() {
    if !root_or_skip() {
        return;
    }
    let f = Fixture::builder("rtxl").network_only().up();
    // 5,000 rules and 2,000 sets: what `nft list chain` would first fetch whole.
    let mut script = String::from("table ip big {\n");
    for i in 0..2000 {
        script.push_str(&format!(
            " set s{i} {{ type ipv4_addr; elements = {{ 10.{}.{}.1 }}; }}\n",
            i / 250,
            i % 250
        ));
    }
    script.push_str(" chain c {\n");
    for i in 0..5000 {
        script.push_str(&format!(
            "  ip daddr 172.{}.{}.{} tcp dport {} drop\n",
            16 + i / 65536,
            (i / 256) % 256,
            i % 256,
            1000 + i % 5000
        ));
    }
    script.push_str(" }\n}\n");
    f.exec_stdin(NODE, &["nft", "-f", "-"], &script);
    let listing = f.exec(NODE, &["nft", "-a", "list", "chain", "ip", "big", "c"]);
    let rules = listed(&listing);
    let (handle, want) = rules.last().cloned().expect("rules listed");
    let started = Instant::now();
    let texts = printed(&f, 2, "big", "c", vec![handle]);
    let took = started.elapsed();
    assert_eq!(normalised(&texts[0].0), want);
    assert!(
        took.as_millis() < 50,
        "one rule of a large table took {took:?}"
    );
}
