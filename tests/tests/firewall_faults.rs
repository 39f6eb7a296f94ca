//! The firewall half of the fault matrix: a rule that drops the probe's packet must be named
//! as the first failure, with its text and owner, from nf_tables tracing or (on the legacy
//! backend) counters; and the trace leaves nothing behind, SIGKILL included.

use netdiag_e2e::*;
use netdiag_lab::ProxyMode;
use netdiag_model::Reason;
use netdiag_model::{HopKind, Verdict};

in_both_modes!(
    f9_an_iptables_forward_drop_is_named_with_its_rule,
    f10_a_drop_in_a_separate_nftables_firewall_table_is_named,
    f11_a_drop_in_a_network_policy_chain_names_kube_router,
    f13_the_same_drop_on_the_legacy_backend_is_named_from_counters,
    f14_a_rule_dropping_the_dns_queries_is_named_not_the_silence,
);

/// node-b's pod CIDR: the rules of these faults block it on node-a.
fn node_b_cidr(lab: &Fixture) -> String {
    lab.spec()
        .node("node-b")
        .expect("node-b")
        .pod_cidr
        .to_string()
}

/// `TOOL -I FORWARD 1 -d CIDR -j DROP` on node-a.
fn forward_drop(lab: &Fixture, tool: &str, cidr: &str) {
    lab.exec(
        "node-a",
        &[tool, "-w", "-I", "FORWARD", "1", "-d", cidr, "-j", "DROP"],
    );
}

/// A trace whose first failure is a rule dropping the probe (DNS and the connect may fail
/// with it), and that failure's message.
fn dropped(lab: &Fixture) -> (netdiag_lab::LabTrace, String) {
    let t = trace_to_node_b(lab);
    assert_failure(
        &t,
        HopKind::Firewall,
        Reason::DroppedByRule,
        &[HopKind::Connect, HopKind::Dns],
    );
    let msg = first_message(&t).to_string();
    (t, msg)
}

/// Trace until DNAT picks an endpoint on node-b, whose pod CIDR `drop_rule` blocks on node-a.
fn trace_to_node_b(lab: &Fixture) -> netdiag_lab::LabTrace {
    let cidr = lab.spec().node("node-b").expect("node-b").pod_cidr;
    trace_until(lab, 40, |t| {
        t.path
            .hops
            .iter()
            .any(|h| h.kind == HopKind::Firewall && h.verdict == Verdict::Fail)
            || t.path
                .chosen_endpoint
                .as_ref()
                .map(|e| e.ip)
                .is_some_and(|ip| cidr.contains(ip))
    })
}

fn f9_an_iptables_forward_drop_is_named_with_its_rule(mode: ProxyMode) {
    let lab = lab_in("fi", mode);
    let cidr = node_b_cidr(&lab);
    forward_drop(&lab, "iptables-nft", &cidr);
    let (_, msg) = dropped(&lab);
    assert!(
        msg.starts_with(&format!("rule `-A FORWARD -d {cidr} -j DROP`"))
            && msg.contains("in ip filter FORWARD on node-a")
            && msg.contains("a node firewall rule"),
        "{msg}"
    );
}

fn f10_a_drop_in_a_separate_nftables_firewall_table_is_named(mode: ProxyMode) {
    let lab = lab_in("fj", mode);
    let cidr = node_b_cidr(&lab);
    let fw = format!(
        "table inet hostfw {{\n chain forward {{\n type filter hook forward priority 10; policy accept;\n ip daddr {cidr} drop\n }}\n}}\n"
    );
    lab.exec_stdin("node-a", &["nft", "-f", "-"], &fw);
    let (_, msg) = dropped(&lab);
    assert!(
        msg.starts_with(&format!("rule `ip daddr {cidr} drop`"))
            && msg.contains("in inet hostfw forward"),
        "{msg}"
    );
}

fn f11_a_drop_in_a_network_policy_chain_names_kube_router(mode: ProxyMode) {
    let lab = lab_in("fk", mode);
    let echo: Vec<String> = ["echo-2", "echo-3"]
        .iter()
        .map(|p| lab.spec().pod(p).expect("echo pod").ip.to_string())
        .collect();
    // kube-router's shape: FORWARD -> KUBE-ROUTER-FORWARD -> KUBE-POD-FW-* -> KUBE-NWPLCY-*,
    // whose default for a selected pod is to drop what no policy allows.
    let mut rules = String::from(
        "*filter\n:KUBE-ROUTER-FORWARD - [0:0]\n:KUBE-POD-FW-ECHO - [0:0]\n:KUBE-NWPLCY-DEFAULT - [0:0]\n-I FORWARD 1 -j KUBE-ROUTER-FORWARD\n",
    );
    for ip in &echo {
        rules.push_str(&format!(
            "-A KUBE-ROUTER-FORWARD -d {ip}/32 -j KUBE-POD-FW-ECHO\n"
        ));
    }
    rules.push_str("-A KUBE-POD-FW-ECHO -j KUBE-NWPLCY-DEFAULT\n");
    rules.push_str("-A KUBE-NWPLCY-DEFAULT -m comment --comment \"default deny: no policy allows this\" -j DROP\nCOMMIT\n");
    lab.exec_stdin(
        "node-a",
        &["iptables-nft-restore", "-w", "--noflush"],
        &rules,
    );
    let (_, msg) = dropped(&lab);
    assert!(
        msg.contains("in ip filter KUBE-NWPLCY-DEFAULT")
            && msg.contains("kube-router NetworkPolicy"),
        "{msg}"
    );
}

fn f13_the_same_drop_on_the_legacy_backend_is_named_from_counters(mode: ProxyMode) {
    let lab = lab_in("fm", mode);
    let cidr = node_b_cidr(&lab);
    forward_drop(&lab, "iptables-legacy", &cidr);
    let (t, msg) = dropped(&lab);
    assert!(
        msg.starts_with(&format!("rule `-A FORWARD -d {cidr} -j DROP` in legacy iptables filter FORWARD on node-a counted"))
            && msg.contains("from counters")
            && msg.contains("most likely its packets"),
        "{msg}"
    );
    let counted = t.path.evidence.iter().flat_map(|e| &e.counters).count();
    assert!(counted >= 1, "the counter delta is in the evidence");
}

/// A rule dropping udp/53 in node-a's FORWARD keeps kube-dns (on node-b) silent: the first
/// failure is the rule, found by tracing the DNS queries, not an anonymous DNS timeout.
fn f14_a_rule_dropping_the_dns_queries_is_named_not_the_silence(mode: ProxyMode) {
    let lab = lab_in("fd", mode);
    let rule = ["-p", "udp", "--dport", "53", "-j", "DROP"];
    let mut argv = vec!["iptables-nft", "-w", "-I", "FORWARD", "1"];
    argv.extend(rule);
    lab.exec("node-a", &argv);
    let t = trace_echo(&lab);
    assert_failure(
        &t,
        HopKind::Firewall,
        Reason::DroppedByRule,
        &[HopKind::Dns],
    );
    let msg = first_message(&t);
    assert!(
        msg.starts_with("rule `-A FORWARD -p udp -m udp --dport 53 -j DROP`")
            && msg.contains("in ip filter FORWARD on node-a")
            && msg.contains("dropped the probe's DNS query (to ")
            && msg.contains("kube-dns 10.96.0.10:53"),
        "{msg}"
    );
    let dropped = (t.path.hops.iter())
        .find(|h| h.kind == HopKind::Firewall && h.verdict == Verdict::Fail)
        .expect("the failing Firewall hop");
    assert!(
        dropped.name.starts_with("DNS 10.244.1.2:"),
        "{}",
        dropped.name
    );
    // The connect itself met no drop: its own trace passed.
    assert_eq!(t.path.reachable, Some(true), "{}", describe(&t.path.hops));
    let traced = t.path.evidence.iter().flat_map(|e| &e.rule_trace);
    assert!(
        traced
            .clone()
            .any(|r| r.verdict == "drop" && r.chain == "FORWARD"),
        "the drop is in the rule trace"
    );
}

/// An agent killed by SIGKILL mid-trace leaves its trace table; the next agent on the node
/// removes it before it traces.
#[test]
fn a_trace_table_left_by_a_killed_agent_is_removed_by_the_next_run() {
    let lab = default_lab("kill");
    let curl = lab.spec().pod("curl").expect("curl").ip.to_string();
    // Nothing answers on this address of node-b's pod CIDR: the connect waits its timeout.
    let silent = "10.244.2.250:80";
    let tables = || lab.exec("node-a", &["nft", "list", "tables"]);
    let agent = binary("netdiag-agent").display().to_string();
    let mut child = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.names.netns("node-a"), &agent, "trace"])
        .args(["--from", &curl, "--to", silent, "--node-name", "node-a"])
        .args(["--step-timeout-ms", "20000"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("the agent starts");
    // `ip netns exec` execs the agent: this pid is the agent's own.
    let waited = std::time::Instant::now();
    while !tables().contains("netdiag-trace-") {
        assert!(
            waited.elapsed() < std::time::Duration::from_secs(15),
            "the agent never installed its trace table: {}",
            tables()
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    child.kill().expect("SIGKILL the agent we started");
    let _ = child.wait();
    let left = tables();
    assert!(
        left.contains("netdiag-trace-"),
        "SIGKILL leaves the table: {left}"
    );

    let t = trace_echo(&lab);
    assert_eq!(t.path.reachable, Some(true), "{}", describe(&t.path.hops));
    let after = tables();
    assert!(
        !after.contains("netdiag-trace-"),
        "the next run removed it: {after}"
    );
}
