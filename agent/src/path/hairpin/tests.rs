use netdiag_model::HopKind;

use super::*;
use crate::kernel::rtnl::{LinkKind, OperState};

const SELF: &str = "10.244.2.2";

fn ep(ip: &str) -> Endpoint {
    Endpoint {
        ip: ip.parse().expect("test address"),
        port: 8080,
    }
}

fn endpoints() -> Vec<Endpoint> {
    vec![ep("10.244.1.3"), ep(SELF), ep("10.244.2.3")]
}

fn bridge_hop() -> Hop {
    Hop::new(
        "node-b",
        HopKind::Bridge,
        "cni0",
        Verdict::Ok,
        "bridge cni0 10.244.2.1/24 (state up), veth1234 is a port",
    )
}

fn port(hairpin: Option<bool>, promiscuity: u32) -> BridgePort {
    BridgePort {
        port: "veth1234".into(),
        bridge: "cni0".into(),
        hairpin,
        bridge_promiscuity: promiscuity,
    }
}

fn input<'a>(
    chosen: Option<&'a Endpoint>,
    programmed: &'a [Endpoint],
    connect_failed: bool,
) -> HairpinInput<'a> {
    HairpinInput {
        source: SELF.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
        chosen,
        programmed,
        connect_failed,
    }
}

#[test]
fn dnat_to_the_pod_itself_through_a_port_without_hairpin_fails_the_bridge_naming_port_and_kubelet()
{
    let eps = endpoints();
    let own = ep(SELF);
    let hop = judge(
        &bridge_hop(),
        &port(Some(false), 0),
        &input(Some(&own), &eps, true),
    )
    .expect("a changed hop");
    assert_eq!(
        (hop.kind.clone(), hop.verdict, hop.reason.clone()),
        (HopKind::Bridge, Verdict::Fail, Some(Reason::HairpinOff))
    );
    assert_eq!(hop.name, "cni0");
    assert_eq!(
        hop.detail,
        "hairpin mode is off on veth1234, the pod's port of bridge cni0 on node-b, and cni0 is not promiscuous: \
         DNAT picked the pod itself (10.244.2.2:8080), and the bridge will not send the packet back out the port it came in on, so the connect fails; \
         kubelet's --hairpin-mode hairpin-veth sets hairpin on every pod veth (`ip link set dev veth1234 type bridge_slave hairpin on`), promiscuous-bridge makes cni0 promiscuous"
    );
}

#[test]
fn a_failed_connect_without_a_conntrack_answer_fails_when_the_pod_is_an_endpoint() {
    let eps = endpoints();
    let hop = judge(
        &bridge_hop(),
        &port(Some(false), 0),
        &input(None, &eps, true),
    )
    .expect("a changed hop");
    assert_eq!(hop.verdict, Verdict::Fail);
    assert!(
        hop.detail.contains(
            "the pod is an endpoint of the Service (10.244.2.2:8080) and the connect failed"
        ),
        "{}",
        hop.detail
    );
}

#[test]
fn hairpin_on_or_a_promiscuous_bridge_or_an_unknown_flag_changes_nothing() {
    let eps = endpoints();
    let own = ep(SELF);
    let i = input(Some(&own), &eps, true);
    assert_eq!(judge(&bridge_hop(), &port(Some(true), 0), &i), None);
    assert_eq!(judge(&bridge_hop(), &port(Some(false), 1), &i), None);
    assert_eq!(judge(&bridge_hop(), &port(None, 0), &i), None);
}

#[test]
fn a_source_that_is_no_endpoint_changes_nothing() {
    let eps = vec![ep("10.244.1.3"), ep("10.244.2.3")];
    let chosen = ep("10.244.2.3");
    let p = port(Some(false), 0);
    assert_eq!(
        judge(&bridge_hop(), &p, &input(Some(&chosen), &eps, true)),
        None
    );
    assert_eq!(judge(&bridge_hop(), &p, &input(None, &eps, true)), None);
    assert_eq!(judge(&bridge_hop(), &p, &input(None, &[], false)), None);
}

#[test]
fn a_connect_that_went_to_another_endpoint_leaves_a_warning_for_the_next_one() {
    let eps = endpoints();
    let other = ep("10.244.1.3");
    for failed in [false, true] {
        let hop = judge(
            &bridge_hop(),
            &port(Some(false), 0),
            &input(Some(&other), &eps, failed),
        )
        .expect("a changed hop");
        assert_eq!(
            (hop.verdict, hop.reason.clone()),
            (Verdict::Warn, Some(Reason::HairpinOff)),
            "the connect went to another endpoint (failed: {failed})"
        );
        assert!(
            hop.detail
                .contains("fail whenever DNAT picks the pod itself"),
            "{}",
            hop.detail
        );
    }
}

#[test]
fn a_connect_to_itself_that_got_through_is_only_a_warning() {
    let eps = endpoints();
    let own = ep(SELF);
    let hop = judge(
        &bridge_hop(),
        &port(Some(false), 0),
        &input(Some(&own), &eps, false),
    )
    .expect("a changed hop");
    assert_eq!(hop.verdict, Verdict::Warn);
}

#[test]
fn a_bridge_hop_that_already_failed_keeps_its_own_cause() {
    let eps = endpoints();
    let own = ep(SELF);
    let mut down = bridge_hop();
    down.verdict = Verdict::Fail;
    down.reason = Some(Reason::BridgeDown);
    assert_eq!(
        judge(&down, &port(Some(false), 0), &input(Some(&own), &eps, true)),
        None
    );
}

fn link(index: u32, name: &str, kind: LinkKind, master: Option<u32>) -> Link {
    Link {
        index,
        name: name.into(),
        kind: Some(kind),
        mac: None,
        mtu: 1500,
        oper_state: OperState::Up,
        admin_up: true,
        link: None,
        link_netnsid: None,
        master,
        hairpin: None,
        promiscuity: 0,
        tunnel: None,
    }
}

#[test]
fn the_port_is_read_off_the_veth_and_its_bridge() {
    let mut bridge = link(3, "cni0", LinkKind::Bridge, None);
    bridge.promiscuity = 1;
    let mut veth = link(7, "veth1234", LinkKind::Veth, Some(3));
    veth.hairpin = Some(false);
    let facts = NodeFacts {
        links: vec![bridge, veth.clone()],
        addresses: vec![],
    };
    assert_eq!(
        BridgePort::of(&veth, &facts),
        Some(BridgePort {
            port: "veth1234".into(),
            bridge: "cni0".into(),
            hairpin: Some(false),
            bridge_promiscuity: 1,
        })
    );
    let routed = link(8, "cali1", LinkKind::Veth, None);
    assert_eq!(BridgePort::of(&routed, &facts), None);
}
