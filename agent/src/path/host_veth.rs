//! The HostVeth hop: the node side of the pod's veth pair, like `ip a` on the node to find
//! interface N of the pod's `eth0@ifN` (`veth81ebcd7c@if5 ... link-netns cni-...`). [`read`]
//! reads the node's links once (the Bridge hop judges the same facts); [`judge`] is pure.

use netdiag_model::Reason;
use netdiag_model::report::{HopDetail, HostVethDetail};
use netdiag_model::{Hop, HopKind, Verdict};

use crate::kernel::netns::discover::PodNetns;
use crate::kernel::rtnl::{Address, Link, OperState, Rtnl};

/// What was read in the node's namespace (the caller's).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct NodeFacts {
    pub links: Vec<Link>,
    pub addresses: Vec<Address>,
}

/// Read the node namespace's links and addresses, like `ip -d link` and `ip -4 addr`.
pub fn read() -> Result<NodeFacts, String> {
    let mut rtnl = Rtnl::open().map_err(|e| format!("in the node namespace: {e}"))?;
    let links = rtnl
        .links()
        .map_err(|e| format!("in the node namespace: {e}"))?;
    let addresses = rtnl
        .addresses()
        .map_err(|e| format!("in the node namespace: {e}"))?;
    Ok(NodeFacts { links, addresses })
}

/// The HostVeth hop, and the veth when the node has it: pure.
pub fn judge<'a>(
    node: &str,
    pod: &PodNetns,
    node_facts: &'a Result<NodeFacts, String>,
    pod_mtu: u32,
) -> (Hop, Option<&'a Link>) {
    let node_facts = match node_facts {
        Ok(f) => f,
        Err(e) => {
            let hop = Hop::new(
                node,
                HopKind::HostVeth,
                format!("if{}", pod.peer_ifindex),
                Verdict::Warn,
                format!(
                    "cannot read the node's links to find interface {}: {e}",
                    pod.peer_ifindex
                ),
            )
            .with_reason(Reason::NodeLinksUnreadable);
            return (hop, None);
        }
    };
    let Some(veth) = node_facts
        .links
        .iter()
        .find(|l| l.index == pod.peer_ifindex)
    else {
        let hop = Hop::new(
            node,
            HopKind::HostVeth,
            format!("if{}", pod.peer_ifindex),
            Verdict::Fail,
            format!(
                "{node} has no interface {} for the pod's {}@if{}: the veth pair is broken",
                pod.peer_ifindex, pod.ifname, pod.peer_ifindex
            ),
        )
        .with_reason(Reason::HostVethMissing);
        return (hop, None);
    };
    (veth_hop(node, pod, veth, pod_mtu), Some(veth))
}

fn veth_hop(node: &str, pod: &PodNetns, veth: &Link, pod_mtu: u32) -> Hop {
    let details = HopDetail::HostVeth(HostVethDetail {
        name: veth.name.clone(),
        ifindex: veth.index,
        oper_state: veth.oper_state.to_string(),
        mtu: veth.mtu,
        pod_mtu,
    });
    let hop = |verdict, text: String| {
        Hop::new(node, HopKind::HostVeth, veth.name.clone(), verdict, text)
            .with_details(details.clone())
    };
    if !veth.admin_up || veth.oper_state == OperState::Down {
        return hop(
            Verdict::Fail,
            format!(
                "{}, the node side of the pod's {}, is down",
                veth.name, pod.ifname
            ),
        )
        .with_reason(Reason::HostVethDown);
    }
    if !veth.is_usable() {
        return hop(
            Verdict::Fail,
            format!(
                "{}, the node side of the pod's {}, has no carrier ({}): the pod's {} is down",
                veth.name, pod.ifname, veth.oper_state, pod.ifname
            ),
        )
        .with_reason(Reason::HostVethDown);
    }
    if pod_mtu != 0 && veth.mtu != pod_mtu {
        return hop(Verdict::Warn, format!("{} mtu {} differs from the pod's {} mtu {}: packets larger than the smaller one are dropped", veth.name, veth.mtu, pod.ifname, pod_mtu))
            .with_reason(Reason::MtuMismatch);
    }
    hop(
        Verdict::Ok,
        format!(
            "{}@if{} {} mtu {}, the node side of the pod's {}",
            veth.name, pod.ifindex, veth.oper_state, veth.mtu, pod.ifname
        ),
    )
}
