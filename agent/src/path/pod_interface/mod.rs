//! The PodInterface hop: the pod's eth0 as the pod sees it, its addresses, its default gateway
//! and that gateway's neighbour entry, like `ip a`, `ip route` and `ip neigh` inside the pod,
//! and its resolv.conf ([`resolv`]), like `cat /etc/resolv.conf`. [`read`] is the I/O, [`judge`]
//! the pure verdict.

pub mod resolv;

use netdiag_model::Reason;
use netdiag_model::report::{HopDetail, PodInterfaceDetail};
use netdiag_model::{Hop, HopKind, Verdict};

use crate::kernel::netlink::NetlinkError;
use crate::kernel::netns::discover::PodNetns;
use crate::kernel::netns::run_in;
use crate::kernel::rtnl::{Address, DefaultGateway, Link, Neighbour, Rtnl};

/// What was read inside the pod's namespace.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PodFacts {
    pub eth0: Option<Link>,
    pub addresses: Vec<Address>,
    pub gateway: Option<DefaultGateway>,
    pub gateway_neighbour: Option<Neighbour>,
}

/// Read eth0, its addresses, the default gateway and its neighbour entry, like `ip a`,
/// `ip route` and `ip neigh` inside the pod. The error text says which step failed.
pub fn read(pod: &PodNetns) -> Result<PodFacts, String> {
    let mut rtnl = run_in(&pod.path, Rtnl::open)
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("in {}: {e}", pod.label))?;
    let in_pod = |e: NetlinkError| format!("in {}: {e}", pod.label);
    let eth0 = rtnl
        .links()
        .map_err(in_pod)?
        .into_iter()
        .find(|l| l.index == pod.ifindex);
    let addresses = rtnl
        .addresses()
        .map_err(in_pod)?
        .into_iter()
        .filter(|a| a.ifindex == pod.ifindex)
        .collect();
    let gateway = rtnl.default_gateway().map_err(in_pod)?;
    let gateway_neighbour = match gateway {
        Some(gw) => rtnl
            .neighbours()
            .map_err(in_pod)?
            .into_iter()
            .find(|n| n.ip == gw.gateway),
        None => None,
    };
    Ok(PodFacts {
        eth0,
        addresses,
        gateway,
        gateway_neighbour,
    })
}

/// Judge the pod's interface: pure. The hop's detail carries no resolv.conf yet (see
/// [`with_resolv_conf`]).
pub fn judge(node: &str, pod: &PodNetns, facts: &Result<PodFacts, String>) -> Hop {
    let facts = match facts {
        Ok(f) => f,
        Err(e) => {
            return Hop::new(
                node,
                HopKind::PodInterface,
                pod.ifname.clone(),
                Verdict::Fail,
                format!("cannot read the pod's interfaces: {e}"),
            )
            .with_reason(Reason::PodNetnsUnreadable);
        }
    };
    let Some(eth0) = &facts.eth0 else {
        return Hop::new(
            node,
            HopKind::PodInterface,
            pod.ifname.clone(),
            Verdict::Fail,
            format!(
                "{} (ifindex {}) vanished from {}: is the pod being deleted?",
                pod.ifname, pod.ifindex, pod.label
            ),
        )
        .with_reason(Reason::PodInterfaceMissing);
    };
    let addrs: Vec<String> = facts.addresses.iter().map(ToString::to_string).collect();
    let neighbour = facts
        .gateway_neighbour
        .as_ref()
        .map(|n| format!("{} {}", n.mac.as_deref().unwrap_or("no-mac"), n.state));
    let gw_text = match (&facts.gateway, &neighbour) {
        (Some(gw), Some(n)) => format!(" gw {} ({n})", gw.gateway),
        (Some(gw), None) => format!(" gw {} (no neighbour entry yet)", gw.gateway),
        (None, _) => " no default route".to_string(),
    };
    let detail = format!(
        "{}@if{} {} mtu {}{} in {}",
        eth0.name,
        pod.peer_ifindex,
        addrs.join(","),
        eth0.mtu,
        gw_text,
        pod.label
    );
    let details = HopDetail::PodInterface(PodInterfaceDetail {
        netns: pod.label.clone(),
        ifname: eth0.name.clone(),
        ifindex: eth0.index,
        mac: eth0.mac.clone().unwrap_or_default(),
        addresses: addrs,
        mtu: eth0.mtu,
        peer_ifindex: Some(pod.peer_ifindex),
        gateway: facts.gateway.map(|g| g.gateway),
        gateway_neighbor: neighbour,
        resolv_conf: None,
    });
    let hop = |verdict, text: String| {
        Hop::new(
            node,
            HopKind::PodInterface,
            eth0.name.clone(),
            verdict,
            text,
        )
        .with_details(details.clone())
    };
    if !eth0.admin_up {
        return hop(
            Verdict::Fail,
            format!(
                "{} in {} is down (ip link set {} up)",
                eth0.name, pod.label, eth0.name
            ),
        )
        .with_reason(Reason::PodInterfaceDown);
    }
    if !eth0.is_usable() {
        // The peer being down shows here as no carrier; the HostVeth hop names the cause.
        return hop(
            Verdict::Warn,
            format!(
                "{detail}: no carrier ({}), its node-side peer is down",
                eth0.oper_state
            ),
        )
        .with_reason(Reason::PodInterfaceNoCarrier);
    }
    if facts.gateway.is_none() {
        return hop(Verdict::Fail, format!("{detail}: without a default route the pod reaches only its own subnet, not Services or other nodes"))
            .with_reason(Reason::NoDefaultRoute);
    }
    if let Some(n) = &facts.gateway_neighbour
        && n.state.is_unresolved()
    {
        return hop(
            Verdict::Warn,
            format!("{detail}: the gateway does not answer ARP"),
        )
        .with_reason(Reason::GatewayUnresolved);
    }
    hop(Verdict::Ok, detail)
}

/// The MTU of the pod's eth0, 0 when it could not be read.
pub fn pod_mtu(facts: &Result<PodFacts, String>) -> u32 {
    facts
        .as_ref()
        .ok()
        .and_then(|f| f.eth0.as_ref())
        .map_or(0, |l| l.mtu)
}

/// Put the pod's resolv.conf into a PodInterface hop's detail.
pub fn with_resolv_conf(mut hop: Hop, rc: &netdiag_model::report::ResolvConf) -> Hop {
    if let Some(HopDetail::PodInterface(d)) = &mut hop.details {
        d.resolv_conf = Some(rc.clone());
    }
    hop
}
