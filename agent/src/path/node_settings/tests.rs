//! The NodeSettings verdicts, from values built by hand.

use super::*;
use netdiag_model::Reason;

fn input(bridge: Option<&str>, egress: &[&str], same_bridge: bool, service: bool) -> SettingsInput {
    SettingsInput {
        source_bridge: bridge.map(str::to_string),
        egress_devices: egress.iter().map(|s| s.to_string()).collect(),
        endpoint_on_source_bridge: same_bridge,
        is_service: service,
    }
}

fn values(fwd: &str, brnf: Option<&str>) -> SettingsValues {
    SettingsValues {
        ip_forward: Some(fwd.into()),
        bridge_nf_call_iptables: brnf.map(str::to_string),
        rp_filter_all: Some(0),
        rp_filter: vec![("cni0".into(), Some(0)), ("eth0".into(), Some(0))],
        reverse: vec![],
    }
}

#[test]
fn a_healthy_node_is_ok_and_lists_every_setting() {
    let hop = judge(
        "node-a",
        &input(Some("cni0"), &["eth0"], false, true),
        &values("1", Some("1")),
    );
    assert_eq!((hop.verdict, hop.reason.clone()), (Verdict::Ok, None));
    let Some(HopDetail::NodeSettings(d)) = &hop.details else {
        panic!("no detail")
    };
    let names: Vec<&str> = d.settings.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "net.ipv4.ip_forward",
            "net.bridge.bridge-nf-call-iptables",
            "net.ipv4.conf.cni0.rp_filter",
            "net.ipv4.conf.eth0.rp_filter"
        ]
    );
}

#[test]
fn ip_forward_off_fails_when_the_path_leaves_the_bridge() {
    let hop = judge(
        "node-a",
        &input(Some("cni0"), &["eth0"], false, false),
        &values("0", Some("1")),
    );
    assert_eq!(
        (hop.verdict, hop.reason.clone()),
        (Verdict::Fail, Some(Reason::IpForwardDisabled))
    );
    assert_eq!(
        hop.detail,
        "net.ipv4.ip_forward=0 on node-a: the node drops pod traffic it must route (to Services and to other nodes)"
    );
    // Routed CNIs forward even between pods of one node.
    let hop = judge(
        "node-a",
        &input(None, &["cali1"], false, false),
        &values("0", None),
    );
    assert_eq!(hop.verdict, Verdict::Fail);
}

#[test]
fn ip_forward_off_fails_for_a_service_even_when_every_endpoint_shares_the_bridge() {
    let hop = judge(
        "node-a",
        &input(Some("cni0"), &["cni0"], true, true),
        &values("0", Some("1")),
    );
    assert_eq!(
        (hop.verdict, hop.reason.clone()),
        (Verdict::Fail, Some(Reason::IpForwardDisabled))
    );
}

#[test]
fn ip_forward_off_only_warns_when_the_path_stays_on_the_bridge() {
    let hop = judge(
        "node-a",
        &input(Some("cni0"), &["cni0"], true, false),
        &values("0", Some("1")),
    );
    assert_eq!(
        (hop.verdict, hop.reason.clone()),
        (Verdict::Warn, Some(Reason::IpForwardDisabled))
    );
}

#[test]
fn bridge_netfilter_off_fails_a_service_with_an_endpoint_on_the_same_bridge() {
    for brnf in [Some("0"), None] {
        let hop = judge(
            "node-a",
            &input(Some("cni0"), &["cni0"], true, true),
            &values("1", brnf),
        );
        assert_eq!(
            (hop.verdict, hop.reason.clone()),
            (Verdict::Fail, Some(Reason::BridgeNetfilterDisabled)),
            "{brnf:?}"
        );
        assert!(
            hop.detail.contains("skip kube-proxy's un-DNAT"),
            "{}",
            hop.detail
        );
    }
    // Not a Service, or no endpoint on the bridge: nothing to un-DNAT on the bridge.
    let hop = judge(
        "node-a",
        &input(Some("cni0"), &["cni0"], true, false),
        &values("1", Some("0")),
    );
    assert_eq!(hop.verdict, Verdict::Ok);
    let hop = judge(
        "node-a",
        &input(Some("cni0"), &["eth0"], false, true),
        &values("1", None),
    );
    assert_eq!(hop.verdict, Verdict::Ok);
}

#[test]
fn strict_rp_filter_warns_only_on_an_asymmetric_path() {
    let src = Ipv4Addr::new(10, 244, 1, 2);
    let mut v = values("1", Some("1"));
    v.rp_filter_all = Some(1);
    v.reverse = vec![(
        Ingress {
            source: src,
            ingress: "cni0".into(),
        },
        Some("cni0".into()),
    )];
    let inp = input(Some("cni0"), &["eth0"], false, true);
    assert_eq!(judge("node-a", &inp, &v).verdict, Verdict::Ok, "symmetric");
    v.reverse[0].1 = Some("eth0".into());
    let hop = judge("node-a", &inp, &v);
    assert_eq!(
        (hop.verdict, hop.reason.clone()),
        (Verdict::Warn, Some(Reason::StrictRpFilter))
    );
    assert!(
        hop.detail.contains("the route back leaves by eth0"),
        "{}",
        hop.detail
    );
    // Loose mode (max(all, iface) = 2) accepts the asymmetric path.
    v.rp_filter_all = Some(0);
    v.rp_filter[0].1 = Some(2);
    assert_eq!(judge("node-a", &inp, &v).verdict, Verdict::Ok);
}
