//! Root tests: kube-proxy's own nftables expectation (TestOverallNFTablesRules, in
//! `fixtures/nftables/overall.nft`) loaded with `nft -f` into a throwaway node namespace, and
//! walked by the agent's reader from inside it: netlink element lookups, `nft -j list chain`.
//! No packet is sent.

use netdiag_agent::dataplane::kube_proxy::iptables::walk::Entry;
use netdiag_agent::dataplane::kube_proxy::judge;
use netdiag_agent::dataplane::kube_proxy::nftables::{NodeNft, walk};
use netdiag_agent::dataplane::kube_proxy::{BlockAction, BlockCause, Lookup, ServiceProgram};
use netdiag_lab::generate::nft::declarations_first;
use netdiag_model::{Endpoint, PlanTarget, Protocol, Reason, Verdict};
use netdiag_testkit::Fixture;

const OVERALL: &str = include_str!("fixtures/nftables/overall.nft");
const NODE: &str = "node-a";

fn root_or_skip() -> bool {
    netdiag_testkit::root_or_skip("kubeproxy_nftables")
}

fn node_with_overall() -> Fixture {
    let f = Fixture::builder("kpnft").network_only().up();
    f.exec_stdin(NODE, &["nft", "-f", "-"], &declarations_first(OVERALL));
    f
}

fn target(ip: &str, port: u16) -> PlanTarget {
    PlanTarget {
        ip: ip.parse().expect("test address"),
        port,
        protocol: Protocol::TCP,
    }
}

fn read(f: &Fixture, t: PlanTarget, entry: Entry) -> ServiceProgram {
    let path = f.netns_path(NODE);
    let result = netdiag_agent::kernel::netns::run_in(&path, move || {
        let mut src = NodeNft::open(std::time::Duration::from_secs(2))?;
        walk(&mut src, &t, entry)
    });
    match result {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => panic!("reading table ip kube-proxy: {e}"),
        Err(e) => panic!("entering the test namespace: {e}"),
    }
}

fn ep(ip: &str, port: u16) -> Endpoint {
    Endpoint {
        ip: ip.parse().expect("test address"),
        port,
    }
}

#[test]
fn kube_proxys_own_expectations_walk_to_their_endpoints_and_verdicts() {
    if !root_or_skip() {
        return;
    }
    let f = node_with_overall();

    // svc1: one endpoint, off-cluster sources masqueraded.
    let p = read(&f, target("172.30.0.41", 80), Entry::ServiceIp);
    assert_eq!(p.lookup, Lookup::Matched);
    assert_eq!(p.service.as_deref(), Some("ns1/svc1:p80"));
    assert_eq!(
        p.chains,
        [
            "services: @service-ips",
            "service-ULMVA6XW-ns1/svc1/tcp/p80",
            "endpoint-5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"
        ]
    );
    assert!(p.masquerade);
    assert_eq!(p.endpoints.len(), 1);
    assert_eq!(
        (p.endpoints[0].ip.to_string().as_str(), p.endpoints[0].port),
        ("10.180.0.1", 80)
    );
    let hop = judge::judge(NODE, &p, &[ep("10.180.0.1", 80)]);
    assert_eq!(hop.verdict, Verdict::Ok, "{}", hop.detail);
    assert_eq!(
        hop.detail,
        "ns1/svc1:p80 -> 1 endpoint: 10.180.0.1:80 (100%)"
    );

    // svc4: two endpoints at 50% each, from the numgen map; one missing from the API is stale.
    let p = read(&f, target("172.30.0.44", 80), Entry::ServiceIp);
    let shares: Vec<_> = p
        .endpoints
        .iter()
        .map(|e| (e.ip.to_string(), e.probability))
        .collect();
    assert_eq!(
        shares,
        [
            ("10.180.0.4".to_string(), 0.5),
            ("10.180.0.5".to_string(), 0.5)
        ]
    );
    let hop = judge::judge(NODE, &p, &[ep("10.180.0.4", 80)]);
    assert_eq!(hop.reason, Some(Reason::StaleEndpoint), "{}", hop.detail);
    let hop = judge::judge(
        NODE,
        &p,
        &[
            ep("10.180.0.4", 80),
            ep("10.180.0.5", 80),
            ep("10.180.0.6", 80),
        ],
    );
    assert_eq!(hop.reason, Some(Reason::MissingEndpoint), "{}", hop.detail);

    // svc4's external IP goes through external- to the same service chain.
    let p = read(&f, target("192.168.99.33", 80), Entry::ServiceIp);
    assert_eq!(p.chains[1], "external-LAUZTJTB-ns4/svc4/tcp/p80");
    assert_eq!(p.chains[2], "service-LAUZTJTB-ns4/svc4/tcp/p80");
    assert_eq!(p.endpoints.len(), 2);

    // svc5: ClientIP affinity from the affinity set's timeout; its LB IP has a firewall.
    let p = read(&f, target("172.30.0.45", 80), Entry::ServiceIp);
    assert_eq!(p.affinity_seconds, Some(10800));
    assert_eq!(
        p.endpoints.len(),
        1,
        "the affinity goto is not a second endpoint"
    );
    let p = read(&f, target("5.6.7.8", 80), Entry::ServiceIp);
    assert!(
        p.notes
            .iter()
            .any(|n| n.contains("drops sources outside 203.0.113.0/25")),
        "{:?}",
        p.notes
    );

    // svc6: no endpoints, rejected through @no-endpoint-services, named by the element's comment.
    let p = read(&f, target("172.30.0.46", 80), Entry::ServiceIp);
    let Some(b) = &p.blocked else {
        panic!("svc6 is rejected: {p:?}")
    };
    assert_eq!(
        (b.action.clone(), b.cause),
        (BlockAction::Reject, BlockCause::NoEndpoints)
    );
    let hop = judge::judge(NODE, &p, &[]);
    assert_eq!(hop.reason, Some(Reason::NoEndpoints));
    assert_eq!(
        hop.detail,
        "kube-proxy on node-a rejects 172.30.0.46:80/tcp in kube-proxy @no-endpoint-services (\"ns6/svc6:p80\")"
    );

    // svc2's LB IP with a Local policy and no local endpoint: dropped for outside clients, but
    // pod traffic (the probe's) is short-circuited to the cluster-wide chain.
    let p = read(&f, target("1.2.3.4", 80), Entry::ServiceIp);
    assert_eq!(p.lookup, Lookup::Matched);
    assert_eq!(p.endpoints.len(), 1);
}

#[test]
fn wrong_ports_unallocated_addresses_and_nodeports_are_named() {
    if !root_or_skip() {
        return;
    }
    let f = node_with_overall();

    let p = read(&f, target("172.30.0.41", 443), Entry::ServiceIp);
    assert_eq!(p.lookup, Lookup::NoRule);
    let hop = judge::judge(NODE, &p, &[]);
    assert_eq!(hop.reason, Some(Reason::NotAServicePort), "{}", hop.detail);
    assert_eq!(
        hop.detail,
        "kube-proxy on node-a rejects 172.30.0.41:443/tcp in kube-proxy cluster-ips-check: the ClusterIP has no Service port 443/tcp: it serves 80/tcp (ns1/svc1:p80)"
    );

    let p = read(&f, target("172.30.0.50", 80), Entry::ServiceIp);
    let hop = judge::judge(NODE, &p, &[]);
    assert_eq!(
        hop.reason,
        Some(Reason::UnallocatedClusterIp),
        "{}",
        hop.detail
    );
    assert_eq!(hop.verdict, Verdict::Fail);
    // The same drop while the API has a Service there with ready endpoints: kube-proxy is not
    // syncing it, and its catch-all for unknown ClusterIPs is only the symptom.
    let hop = judge::judge(NODE, &p, &[ep("10.180.0.7", 8080)]);
    assert_eq!(hop.reason, Some(Reason::NoServiceRule), "{}", hop.detail);
    assert!(
        hop.detail
            .starts_with("kube-proxy on node-a has no rule for 172.30.0.50:80/tcp in")
            && hop
                .detail
                .contains("cluster-ips-check drops it as an address no Service holds"),
        "{}",
        hop.detail
    );

    // Outside the service CIDR and unknown: no rule, which the trace takes for a pod address.
    let p = read(&f, target("10.180.0.9", 80), Entry::ServiceIp);
    assert_eq!((p.lookup, p.blocked.is_none()), (Lookup::NoRule, true));

    // NodePort 3003 through @service-nodeports; 3001 (Local, no local endpoint) is dropped
    // for outside clients but the probe's path is the external chain's.
    let p = read(&f, target("192.168.0.2", 3003), Entry::NodePort);
    assert_eq!(p.lookup, Lookup::Matched);
    assert_eq!(p.chains[1], "external-4AT6LBPK-ns3/svc3/tcp/p80");
    assert_eq!(p.endpoints[0].ip.to_string(), "10.180.0.3");
    let p = read(&f, target("192.168.0.2", 3999), Entry::NodePort);
    assert_eq!(p.lookup, Lookup::NoRule);
}

#[test]
fn a_node_without_the_table_has_no_proxy_state() {
    if !root_or_skip() {
        return;
    }
    let f = Fixture::builder("kpnft0").network_only().up();
    let p = read(&f, target("172.30.0.41", 80), Entry::ServiceIp);
    assert_eq!(p.lookup, Lookup::NoProxyState);
    let hop = judge::judge(NODE, &p, &[ep("10.180.0.1", 80)]);
    assert_eq!(hop.reason, Some(Reason::NoServiceRule));
    assert!(
        hop.detail.contains("no `table ip kube-proxy`"),
        "{}",
        hop.detail
    );
}
