//! The fault matrix: each injected fault must make the right hop Fail with a cause a human
//! understands, and no other hop may fail falsely. Each test builds its own lab (unique name),
//! breaks one thing inside it, traces curl -> echo-service, and tears the lab down. Every fault
//! runs twice, with kube-proxy's rules in iptables mode and in nftables mode: the same hop must
//! be named either way.

use netdiag_e2e::*;
use netdiag_lab::ProxyMode;
use netdiag_model::Reason;
use netdiag_model::{HopKind, Verdict};

const VIP: &str = "10.96.45.10";

/// Both modes' tests for each fault: `fN::iptables` and `fN::nftables`.
macro_rules! in_both_modes {
    ($($fault:ident),* $(,)?) => {$(
        mod $fault {
            #[test]
            fn iptables() {
                super::$fault(super::ProxyMode::Iptables)
            }
            #[test]
            fn nftables() {
                super::$fault(super::ProxyMode::Nftables)
            }
        }
    )*};
}

in_both_modes!(
    f1_stopped_endpoint_servers_fail_the_listener_naming_the_endpoint,
    f2_a_missing_kube_services_rule_fails_service_rules_while_endpoints_are_expected,
    f3_a_dnat_to_an_address_no_pod_has_is_a_stale_endpoint,
    f4_a_silent_nodelocaldns_is_named_while_kube_dns_answers,
    f5_a_missing_route_to_the_other_nodes_pod_cidr_fails_the_route,
    f6_a_host_veth_set_down_fails_the_host_veth,
    f7_ip_forward_off_on_the_source_node_fails_node_settings,
    f8_bridge_netfilter_off_fails_node_settings_and_breaks_same_bridge_endpoints,
    f9_an_iptables_forward_drop_is_named_with_its_rule,
    f10_a_drop_in_a_separate_nftables_firewall_table_is_named,
    f11_a_drop_in_a_network_policy_chain_names_kube_router,
    f12_hairpin_off_on_a_pods_port_fails_the_bridge_when_dnat_picks_the_pod_itself,
    f13_the_same_drop_on_the_legacy_backend_is_named_from_counters,
);

/// The hops that failed must be `cause` first, then only hops in `consequences`.
fn assert_failure(
    t: &netdiag_lab::LabTrace,
    cause: HopKind,
    reason: Reason,
    consequences: &[HopKind],
) {
    let hops = &t.path.hops;
    let first = t
        .path
        .first_failure
        .as_ref()
        .unwrap_or_else(|| panic!("no failure found:\n{}", describe(hops)));
    assert_eq!(first.hop, cause, "first failure:\n{}", describe(hops));
    assert_eq!(first.reason, reason, "{first:?}");
    for kind in failed_kinds(hops) {
        assert!(
            kind == cause || consequences.contains(&kind),
            "{kind} failed falsely (cause {cause}, allowed consequences {consequences:?}):\n{}",
            describe(hops)
        );
    }
}

fn f1_stopped_endpoint_servers_fail_the_listener_naming_the_endpoint(mode: ProxyMode) {
    let lab = lab_in("fa", mode);
    for pod in ["echo-1", "echo-2", "echo-3"] {
        lab.stop_process(&format!("pod-{pod}"));
    }
    let t = trace_echo(&lab);
    assert_failure(
        &t,
        HopKind::Listener,
        Reason::NothingListening,
        &[HopKind::Connect],
    );
    let chosen = t
        .path
        .chosen_endpoint
        .as_ref()
        .expect("DNAT still chose an endpoint");
    let first = t.path.first_failure.as_ref().expect("failure");
    assert!(
        first
            .message
            .starts_with(&format!("nothing listens on {chosen}")),
        "{}",
        first.message
    );
    let connect = t.path.hops.last().expect("hops");
    assert_eq!(
        (&connect.kind, connect.verdict),
        (&HopKind::Connect, Verdict::Fail)
    );
    assert!(connect.detail.contains("refused"), "{}", connect.detail);
}

fn f2_a_missing_kube_services_rule_fails_service_rules_while_endpoints_are_expected(
    mode: ProxyMode,
) {
    let lab = lab_in("fb", mode);
    match mode {
        ProxyMode::Iptables => {
            let rules = lab.exec(
                "node-a",
                &["iptables", "-w", "-t", "nat", "-S", "KUBE-SERVICES"],
            );
            let rule = rules
                .lines()
                .find(|l| l.contains(&format!("-d {VIP}/32")))
                .unwrap_or_else(|| panic!("no KUBE-SERVICES rule for {VIP} in:\n{rules}"));
            let mut delete = vec!["iptables", "-w", "-t", "nat", "-D"];
            let words = shell_words(rule.trim_start_matches("-A "));
            delete.extend(words.iter().map(String::as_str));
            lab.exec("node-a", &delete);
        }
        ProxyMode::Nftables => {
            let element = format!("{{ {VIP} . tcp . 80 }}");
            lab.exec(
                "node-a",
                &[
                    "nft",
                    "delete",
                    "element",
                    "ip",
                    "kube-proxy",
                    "service-ips",
                    &element,
                ],
            );
        }
    }

    let t = trace_echo(&lab);
    assert_failure(
        &t,
        HopKind::ServiceRules,
        Reason::NoServiceRule,
        // nftables mode rejects the VIP in cluster-ips-check, which the rule trace shows.
        &[HopKind::Firewall, HopKind::Connect],
    );
    let msg = first_message(&t);
    assert!(
        msg.contains(VIP) && msg.contains("3 ready endpoints"),
        "{msg}"
    );
}

fn f3_a_dnat_to_an_address_no_pod_has_is_a_stale_endpoint(mode: ProxyMode) {
    let lab = lab_in("fc", mode);
    let echo3 = lab.spec().pod("echo-3").expect("echo-3").ip.to_string();
    let stale = "10.244.2.99";
    match mode {
        ProxyMode::Iptables => {
            let nat = lab.exec("node-a", &["iptables-save", "-t", "nat"]);
            let rewritten = nat.replace(
                &format!("--to-destination {echo3}:8080"),
                &format!("--to-destination {stale}:8080"),
            );
            assert_ne!(nat, rewritten, "no DNAT to {echo3}:8080 in the nat table");
            lab.exec_stdin("node-a", &["iptables-restore", "-w"], &rewritten);
        }
        ProxyMode::Nftables => {
            let table = lab.exec("node-a", &["nft", "list", "table", "ip", "kube-proxy"]);
            let rewritten = table.replace(
                &format!("dnat to {echo3}:8080"),
                &format!("dnat to {stale}:8080"),
            );
            assert_ne!(
                table, rewritten,
                "no dnat to {echo3}:8080 in table ip kube-proxy"
            );
            let script = format!("delete table ip kube-proxy\n{rewritten}");
            lab.exec_stdin("node-a", &["nft", "-f", "-"], &script);
        }
    }

    let t = trace_echo(&lab);
    // Connect fails only when DNAT picks the stale address; conntrack may then see no reply.
    assert_failure(
        &t,
        HopKind::ServiceRules,
        Reason::StaleEndpoint,
        &[HopKind::Connect, HopKind::Route],
    );
    let msg = first_message(&t);
    assert!(
        msg.contains(&format!("{stale}:8080")),
        "the stale endpoint is named: {msg}"
    );
}

fn f4_a_silent_nodelocaldns_is_named_while_kube_dns_answers(mode: ProxyMode) {
    let lab = lab_in("fd", mode);
    lab.stop_process("nodelocaldns-node-a");
    let t = trace_echo(&lab);
    assert_failure(&t, HopKind::Dns, Reason::DnsServerSilent, &[]);
    let msg = first_message(&t);
    assert!(
        msg.contains("nodelocaldns at 169.254.25.10 does not answer")
            && msg.contains("kube-dns at 10.96.0.10 does"),
        "{msg}"
    );
    assert_eq!(
        t.path.reachable,
        Some(true),
        "the Service itself is still reachable"
    );
}

fn f5_a_missing_route_to_the_other_nodes_pod_cidr_fails_the_route(mode: ProxyMode) {
    let lab = lab_in("fe", mode);
    let cidr = lab
        .spec()
        .node("node-b")
        .expect("node-b")
        .pod_cidr
        .to_string();
    lab.exec("node-a", &["ip", "route", "del", &cidr]);
    // Whichever endpoint DNAT picks, the routes to node-b's endpoints are missing; kube-dns sits
    // behind the same route, so DNS fails as a consequence.
    let t = trace_echo(&lab);
    assert_failure(
        &t,
        HopKind::Route,
        Reason::NoRoute,
        &[HopKind::Connect, HopKind::Dns],
    );
    let first = t.path.first_failure.as_ref().expect("failure");
    assert_eq!(first.node, "node-a");
    assert!(
        first.message.contains("node-a has no route to 10.244.2."),
        "{}",
        first.message
    );
}

fn f6_a_host_veth_set_down_fails_the_host_veth(mode: ProxyMode) {
    let lab = lab_in("ff", mode);
    let veth = netdiag_lab::names::host_veth("curl");
    lab.exec("node-a", &["ip", "link", "set", &veth, "down"]);
    let t = trace_echo(&lab);
    // Nothing leaves the pod: connect and DNS fail as consequences.
    assert_failure(
        &t,
        HopKind::HostVeth,
        Reason::HostVethDown,
        &[HopKind::Connect, HopKind::Dns],
    );
    assert!(first_message(&t).contains(&veth));
}

fn f7_ip_forward_off_on_the_source_node_fails_node_settings(mode: ProxyMode) {
    let lab = lab_in("fg", mode);
    lab.exec("node-a", &["sysctl", "-qw", "net.ipv4.ip_forward=0"]);
    let t = trace_echo(&lab);
    assert_failure(
        &t,
        HopKind::NodeSettings,
        Reason::IpForwardDisabled,
        &[HopKind::Connect, HopKind::Dns],
    );
    assert!(first_message(&t).contains("net.ipv4.ip_forward"));
}

fn f8_bridge_netfilter_off_fails_node_settings_and_breaks_same_bridge_endpoints(mode: ProxyMode) {
    let lab = lab_in("fh", mode);
    lab.exec(
        "node-a",
        &["sysctl", "-qw", "net.bridge.bridge-nf-call-iptables=0"],
    );
    let echo1 = lab.spec().pod("echo-1").expect("echo-1").ip.to_string();
    let t = trace_until(&lab, 40, |t| {
        t.path
            .chosen_endpoint
            .as_ref()
            .is_some_and(|e| e.ip == echo1)
    });
    assert_failure(
        &t,
        HopKind::NodeSettings,
        Reason::BridgeNetfilterDisabled,
        &[HopKind::Connect, HopKind::Conntrack],
    );
    assert!(first_message(&t).contains("bridge-nf-call-iptables"));
    assert_eq!(
        t.path.reachable,
        Some(false),
        "the reply skips the un-DNAT, so the connect fails"
    );
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
                .and_then(|e| e.ip.parse().ok())
                .is_some_and(|ip| cidr.contains(ip))
    })
}

fn f9_an_iptables_forward_drop_is_named_with_its_rule(mode: ProxyMode) {
    let lab = lab_in("fi", mode);
    let cidr = lab
        .spec()
        .node("node-b")
        .expect("node-b")
        .pod_cidr
        .to_string();
    lab.exec(
        "node-a",
        &[
            "iptables-nft",
            "-w",
            "-I",
            "FORWARD",
            "1",
            "-d",
            &cidr,
            "-j",
            "DROP",
        ],
    );
    let t = trace_to_node_b(&lab);
    assert_failure(
        &t,
        HopKind::Firewall,
        Reason::DroppedByRule,
        &[HopKind::Connect, HopKind::Dns],
    );
    let msg = first_message(&t);
    assert!(
        msg.starts_with(&format!("rule `-A FORWARD -d {cidr} -j DROP`"))
            && msg.contains("in ip filter FORWARD on node-a")
            && msg.contains("a node firewall rule"),
        "{msg}"
    );
}

fn f10_a_drop_in_a_separate_nftables_firewall_table_is_named(mode: ProxyMode) {
    let lab = lab_in("fj", mode);
    let cidr = lab
        .spec()
        .node("node-b")
        .expect("node-b")
        .pod_cidr
        .to_string();
    let fw = format!(
        "table inet hostfw {{\n chain forward {{\n type filter hook forward priority 10; policy accept;\n ip daddr {cidr} drop\n }}\n}}\n"
    );
    lab.exec_stdin("node-a", &["nft", "-f", "-"], &fw);
    let t = trace_to_node_b(&lab);
    assert_failure(
        &t,
        HopKind::Firewall,
        Reason::DroppedByRule,
        &[HopKind::Connect, HopKind::Dns],
    );
    let msg = first_message(&t);
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
    let t = trace_to_node_b(&lab);
    assert_failure(
        &t,
        HopKind::Firewall,
        Reason::DroppedByRule,
        &[HopKind::Connect, HopKind::Dns],
    );
    let msg = first_message(&t);
    assert!(
        msg.contains("in ip filter KUBE-NWPLCY-DEFAULT")
            && msg.contains("kube-router NetworkPolicy"),
        "{msg}"
    );
}

fn f12_hairpin_off_on_a_pods_port_fails_the_bridge_when_dnat_picks_the_pod_itself(mode: ProxyMode) {
    let lab = lab_in("fl", mode);
    let veth = netdiag_lab::names::host_veth("echo-2");
    lab.exec(
        "node-b",
        &[
            "ip",
            "link",
            "set",
            "dev",
            &veth,
            "type",
            "bridge_slave",
            "hairpin",
            "off",
        ],
    );
    let echo2 = lab.spec().pod("echo-2").expect("echo-2").ip.to_string();
    // When DNAT picks echo-2 itself the bridge drops the SYN before conntrack confirms the
    // entry, so conntrack cannot name the endpoint: the failed connect is what marks that trace.
    let t = trace_until_from(&lab, "echo-2", 40, |t| {
        t.path.reachable == Some(false)
            || t.path
                .chosen_endpoint
                .as_ref()
                .is_some_and(|e| e.ip == echo2)
    });
    assert_failure(
        &t,
        HopKind::Bridge,
        Reason::HairpinOff,
        &[HopKind::Connect, HopKind::Conntrack],
    );
    let first = t.path.first_failure.as_ref().expect("failure");
    assert_eq!(first.node, "node-b");
    assert!(
        first
            .message
            .contains(&format!("hairpin mode is off on {veth}"))
            && first.message.contains("cni0")
            && first.message.contains("--hairpin-mode hairpin-veth"),
        "{}",
        first.message
    );
    assert_eq!(t.path.reachable, Some(false), "the bridge drops the packet");
}

fn f13_the_same_drop_on_the_legacy_backend_is_named_from_counters(mode: ProxyMode) {
    let lab = lab_in("fm", mode);
    let cidr = lab
        .spec()
        .node("node-b")
        .expect("node-b")
        .pod_cidr
        .to_string();
    lab.exec(
        "node-a",
        &[
            "iptables-legacy",
            "-w",
            "-I",
            "FORWARD",
            "1",
            "-d",
            &cidr,
            "-j",
            "DROP",
        ],
    );
    let t = trace_to_node_b(&lab);
    assert_failure(
        &t,
        HopKind::Firewall,
        Reason::DroppedByRule,
        &[HopKind::Connect, HopKind::Dns],
    );
    let msg = first_message(&t);
    assert!(
        msg.starts_with(&format!("rule `-A FORWARD -d {cidr} -j DROP` in legacy iptables filter FORWARD on node-a counted"))
            && msg.contains("from counters")
            && msg.contains("most likely its packets"),
        "{msg}"
    );
    let counted = t.path.evidence.iter().flat_map(|e| &e.counters).count();
    assert!(counted >= 1, "the counter delta is in the evidence");
}

/// The first failure's message (the test fails when there is none).
fn first_message(t: &netdiag_lab::LabTrace) -> &str {
    &t.path
        .first_failure
        .as_ref()
        .expect("a failure was found")
        .message
}

/// Split an `iptables -S` rule into words, keeping quoted comments whole.
fn shell_words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => quoted = !quoted,
            ' ' if !quoted => {
                if !cur.is_empty() {
                    words.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        words.push(cur);
    }
    words
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
