//! The Bridge hop: what the pod's host veth is attached to, like `ip link show master` and
//! `ip -d link show cni0` on the node. A bridge (kind `bridge`: cni0, docker0, kindnet's) is
//! judged; a routed CNI (no master: Calico's `cali*`, Cilium's `lxc*`) is no failure, the node
//! routes the pod's traffic. CNI variants (routed with proxy ARP, an overlay behind the bridge)
//! are further [`Attachment`]s. [`attachment`] classifies and [`judge`] judges, both pure, over
//! the node facts the HostVeth hop read.

use netdiag_model::Reason;
use netdiag_model::report::{BridgeDetail, HopDetail};
use netdiag_model::{Hop, HopKind, Verdict};

use super::host_veth::NodeFacts;
use crate::kernel::rtnl::{Link, LinkKind};

/// What a pod's host veth is attached to on the node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Attachment<'a> {
    /// A port of this bridge.
    Bridge(&'a Link),
    /// No master at all: the node routes the pod's traffic.
    Routed,
    /// A port of something that is no bridge (a bond, a vrf, an OVS device...).
    OtherMaster(&'a Link),
}

/// Classify how `veth` is attached: pure.
pub fn attachment<'a>(veth: &Link, facts: &'a NodeFacts) -> Attachment<'a> {
    match veth
        .master
        .and_then(|m| facts.links.iter().find(|l| l.index == m))
    {
        None => Attachment::Routed,
        Some(master) if master.kind == Some(LinkKind::Bridge) => Attachment::Bridge(master),
        Some(master) => Attachment::OtherMaster(master),
    }
}

/// The Bridge hop for `veth`, and the bridge's name when it is one: pure.
pub fn judge(node: &str, veth: &Link, facts: &NodeFacts) -> (Hop, Option<String>) {
    let master = match attachment(veth, facts) {
        Attachment::Routed => {
            let hop = Hop::new(
                node,
                HopKind::Bridge,
                "none",
                Verdict::Info,
                format!(
                    "none (routed): {} is no bridge port, the node routes the pod's traffic",
                    veth.name
                ),
            )
            .with_details(HopDetail::Bridge(BridgeDetail::default()));
            return (hop, None);
        }
        Attachment::Bridge(master) => (master, true),
        Attachment::OtherMaster(master) => (master, false),
    };
    let (master, is_bridge) = master;
    let addresses: Vec<String> = facts
        .addresses
        .iter()
        .filter(|a| a.ifindex == master.index)
        .map(ToString::to_string)
        .collect();
    let details = HopDetail::Bridge(BridgeDetail {
        name: Some(master.name.clone()),
        ifindex: Some(master.index),
        addresses: addresses.clone(),
        oper_state: Some(master.oper_state.to_string()),
        port: Some(veth.name.clone()),
        hairpin: veth.hairpin,
        promiscuity: Some(master.promiscuity),
    });
    if !is_bridge {
        let kind = master
            .kind
            .as_ref()
            .map_or_else(|| "device".to_string(), ToString::to_string);
        let hop = Hop::new(
            node,
            HopKind::Bridge,
            master.name.clone(),
            Verdict::Info,
            format!(
                "{} is a port of {} ({kind}), not of a bridge",
                veth.name, master.name
            ),
        )
        .with_details(details);
        return (hop, None);
    }
    let hop = if !master.is_usable() {
        Hop::new(
            node,
            HopKind::Bridge,
            master.name.clone(),
            Verdict::Fail,
            format!(
                "bridge {} is {}: pods on it reach nothing off the bridge",
                master.name,
                if master.admin_up {
                    master.oper_state.to_string()
                } else {
                    "down".to_string()
                }
            ),
        )
        .with_reason(Reason::BridgeDown)
    } else {
        let addr_text = if addresses.is_empty() {
            String::new()
        } else {
            format!(" {}", addresses.join(","))
        };
        Hop::new(
            node,
            HopKind::Bridge,
            master.name.clone(),
            Verdict::Ok,
            format!(
                "bridge {}{addr_text} (state {}), {} is a port",
                master.name, master.oper_state, veth.name
            ),
        )
    };
    (hop.with_details(details), Some(master.name.clone()))
}
