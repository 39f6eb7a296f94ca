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

in_both_modes!(
    f1_stopped_endpoint_servers_fail_the_listener_naming_the_endpoint,
    f2_a_missing_kube_services_rule_fails_service_rules_while_endpoints_are_expected,
    f3_a_dnat_to_an_address_no_pod_has_is_a_stale_endpoint,
    f4_a_silent_nodelocaldns_is_named_while_kube_dns_answers,
    f5_a_missing_route_to_the_other_nodes_pod_cidr_fails_the_route,
    f6_a_host_veth_set_down_fails_the_host_veth,
    f7_ip_forward_off_on_the_source_node_fails_node_settings,
    f8_bridge_netfilter_off_fails_node_settings_and_breaks_same_bridge_endpoints,
    f12_hairpin_off_on_a_pods_port_fails_the_bridge_when_dnat_picks_the_pod_itself,
);

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
    let veth = netdiag_lab::names::host_veth(netdiag_lab::spec::Cni::Bridge, "curl");
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
            .is_some_and(|e| e.ip.to_string() == echo1)
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

fn f12_hairpin_off_on_a_pods_port_fails_the_bridge_when_dnat_picks_the_pod_itself(mode: ProxyMode) {
    let lab = lab_in("fl", mode);
    let veth = netdiag_lab::names::host_veth(netdiag_lab::spec::Cni::Bridge, "echo-2");
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
                .is_some_and(|e| e.ip.to_string() == echo2)
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
