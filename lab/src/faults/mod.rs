//! `lab break` and `lab fix`: the faults a learner can put into a lab, each the way it happens on
//! a real node, and the way back. The names are stable: docs and tests refer to them.
//!
//! A fault is pure data here ([`Fault`]): what it breaks, the hop a trace names for it, the
//! manual command that shows it. [`actions`] turns a fault into the build actions that break it
//! and fix it; the lab records which faults are in force in its state file, so `lab status`
//! shows them, `lab fix --all` knows them, and regenerated kube-proxy rules keep the others.

use std::fmt;

use netdiag_model::{HopKind, Reason};

pub mod actions;
mod apply;

pub use apply::FaultChange;

/// One fault `lab break` can make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Fault {
    NoListener,
    NoVipRule,
    StaleDnat,
    NoEndpoints,
    WrongTargetPort,
    NodelocaldnsDown,
    KubeDnsDown,
    NoRoute,
    VethDown,
    IpForwardOff,
    BridgeNfOff,
    FirewallDrop,
    HairpinOff,
    NoFdb,
    NoNeighbour,
    OverlayDown,
    PodMtu,
    MtuBlackhole,
}

/// What `lab break --list` says about a fault, and what a trace names for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FaultInfo {
    pub name: &'static str,
    /// What it breaks, in one line.
    pub breaks: &'static str,
    /// The manual command that shows it on the lab.
    pub shows: &'static str,
    /// The hop a trace fails at, and why.
    pub hop: HopKind,
    pub reason: Reason,
    /// Whether a trace sees it every time, or only when DNAT picks a particular endpoint (a
    /// pod on another node, or the source pod itself).
    pub depends_on_endpoint: bool,
}

impl Fault {
    /// Every fault, in the order `--list` shows them.
    pub const ALL: [Fault; 18] = [
        Fault::NoListener,
        Fault::NoVipRule,
        Fault::StaleDnat,
        Fault::NoEndpoints,
        Fault::WrongTargetPort,
        Fault::NodelocaldnsDown,
        Fault::KubeDnsDown,
        Fault::NoRoute,
        Fault::VethDown,
        Fault::IpForwardOff,
        Fault::BridgeNfOff,
        Fault::FirewallDrop,
        Fault::HairpinOff,
        Fault::NoFdb,
        Fault::NoNeighbour,
        Fault::OverlayDown,
        Fault::PodMtu,
        Fault::MtuBlackhole,
    ];

    pub fn info(self) -> FaultInfo {
        let i = |name, breaks, shows, hop, reason, depends_on_endpoint| FaultInfo {
            name,
            breaks,
            shows,
            hop,
            reason,
            depends_on_endpoint,
        };
        use HopKind as H;
        match self {
            Fault::NoListener => i(
                "no-listener",
                "echo-service's endpoint servers stop: the pods stay, nothing listens on 8080",
                "ip netns exec nd-N-echo-1 ss -ltn",
                H::Listener,
                Reason::NothingListening,
                false,
            ),
            Fault::NoVipRule => i(
                "no-vip-rule",
                "kube-proxy on every node loses echo-service: no rule for its ClusterIP",
                "ip netns exec nd-N-node-a iptables -t nat -S KUBE-SERVICES (nftables: nft list map ip kube-proxy service-ips)",
                H::ServiceRules,
                Reason::NoServiceRule,
                false,
            ),
            Fault::StaleDnat => i(
                "stale-dnat",
                "kube-proxy keeps a DNAT to a deleted pod's address beside echo-service's endpoints",
                "ip netns exec nd-N-node-a iptables -t nat -S | grep DNAT (nftables: nft list table ip kube-proxy)",
                H::ServiceRules,
                Reason::StaleEndpoint,
                false,
            ),
            Fault::NoEndpoints => i(
                "no-endpoints",
                "echo-service selects no ready pod: no endpoints, and kube-proxy rejects its ClusterIP",
                "ip netns exec nd-N-node-a iptables -S KUBE-SERVICES (the REJECT; nftables: nft list map ip kube-proxy no-endpoint-services)",
                H::ServiceRules,
                Reason::NoEndpoints,
                false,
            ),
            Fault::WrongTargetPort => i(
                "wrong-target-port",
                "echo-service's targetPort becomes 8081 while its pods listen on 8080",
                "ip netns exec nd-N-node-a iptables -t nat -S | grep 8081; ip netns exec nd-N-echo-1 ss -ltn",
                H::Listener,
                Reason::NothingListening,
                false,
            ),
            Fault::NodelocaldnsDown => i(
                "nodelocaldns-down",
                "nodelocaldns stops on every node; kube-dns still answers",
                "ip netns exec nd-N-curl dig @169.254.25.10 echo-service.default.svc.cluster.local",
                H::Dns,
                Reason::DnsServerSilent,
                false,
            ),
            Fault::KubeDnsDown => i(
                "kube-dns-down",
                "kube-dns stops: no server can resolve a cluster name",
                "ip netns exec nd-N-curl dig @10.96.0.10 echo-service.default.svc.cluster.local",
                H::Dns,
                Reason::DnsTimeout,
                false,
            ),
            Fault::NoRoute => i(
                "no-route",
                "every node loses its routes to the other nodes' pod CIDRs",
                "ip netns exec nd-N-node-a ip route",
                H::Route,
                Reason::NoRoute,
                true,
            ),
            Fault::VethDown => i(
                "veth-down",
                "the node side of curl's veth is set down",
                "ip netns exec nd-N-node-a ip -br link",
                H::HostVeth,
                Reason::HostVethDown,
                false,
            ),
            Fault::IpForwardOff => i(
                "ip-forward-off",
                "net.ipv4.ip_forward=0 on every node: nodes stop routing pod traffic",
                "ip netns exec nd-N-node-a sysctl net.ipv4.ip_forward",
                H::NodeSettings,
                Reason::IpForwardDisabled,
                false,
            ),
            Fault::BridgeNfOff => i(
                "bridge-nf-off",
                "net.bridge.bridge-nf-call-iptables=0 on every node: bridged replies skip the un-DNAT",
                "ip netns exec nd-N-node-a sysctl net.bridge.bridge-nf-call-iptables",
                H::NodeSettings,
                Reason::BridgeNetfilterDisabled,
                false,
            ),
            Fault::FirewallDrop => i(
                "firewall-drop",
                "a host firewall on every node drops forwarded traffic to the other nodes' pod CIDRs",
                "ip netns exec nd-N-node-a nft list table inet firewall",
                H::Firewall,
                Reason::DroppedByRule,
                true,
            ),
            Fault::HairpinOff => i(
                "hairpin-off",
                "every pod's bridge port loses hairpin mode: a pod cannot reach itself through its Service",
                "ip netns exec nd-N-node-b bridge -d link show | grep hairpin",
                H::Bridge,
                Reason::HairpinOff,
                true,
            ),
            Fault::NoFdb => i(
                "no-fdb",
                "flannel.1 on every node loses its forwarding entries to the other nodes' VTEPs (vxlan lab)",
                "ip netns exec nd-N-node-a bridge fdb show dev flannel.1",
                H::Tunnel,
                Reason::OverlayFdbMissing,
                true,
            ),
            Fault::NoNeighbour => i(
                "no-neighbour",
                "flannel.1 on every node loses its neighbour entries for the other nodes' 10.244.N.0 (vxlan lab)",
                "ip netns exec nd-N-node-a ip neigh show dev flannel.1",
                H::Tunnel,
                Reason::OverlayNeighbourMissing,
                true,
            ),
            Fault::OverlayDown => i(
                "overlay-down",
                "flannel.1 is set down on every node, and its routes go with it (vxlan lab)",
                "ip netns exec nd-N-node-a ip -d link show flannel.1",
                H::Tunnel,
                Reason::TunnelDown,
                true,
            ),
            Fault::PodMtu => i(
                "pod-mtu",
                "curl's eth0 and host veth get MTU 1500 over flannel.1's 1450 (vxlan lab)",
                "ip netns exec nd-N-curl ip link show eth0; ip netns exec nd-N-node-a ip link show flannel.1",
                H::Tunnel,
                Reason::OverlayMtuMismatch,
                true,
            ),
            Fault::MtuBlackhole => i(
                "mtu-blackhole",
                "the network between the nodes silently drops packets over 1414 bytes (a netdev ingress rule on each node's eth0)",
                "ip netns exec nd-N-curl ping -M do -s 1400 -c1 10.244.2.2 (lost; -s 1300 is answered); ip netns exec nd-N-node-a nft list table netdev underlay",
                H::NodeInterface,
                Reason::PathMtuBlackhole,
                true,
            ),
        }
    }

    pub fn name(self) -> &'static str {
        self.info().name
    }

    /// The fault named `name` (as `--list` prints it).
    pub fn parse(name: &str) -> Result<Fault, UnknownFault> {
        Fault::ALL
            .into_iter()
            .find(|f| f.name() == name)
            .ok_or_else(|| UnknownFault(name.into()))
    }
}

impl fmt::Display for Fault {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Fault {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Fault {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = String::deserialize(d)?;
        Fault::parse(&name).map_err(serde::de::Error::custom)
    }
}

/// A fault name `lab break` does not know.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("no fault named {0:?}: `kubectl netdiag lab break --list` lists them")]
pub struct UnknownFault(pub String);

/// `lab break --list`: each fault's name, what it breaks and the command that shows it, with
/// the lab's name in the commands.
pub fn list(lab: &str) -> String {
    let mut out = String::new();
    for f in Fault::ALL {
        let i = f.info();
        out.push_str(&format!(
            "{:<18} {}\n{:<18} trace: {} ({}){}\n{:<18} by hand: {}\n",
            i.name,
            i.breaks,
            "",
            i.hop,
            i.reason,
            if i.depends_on_endpoint {
                ", when DNAT picks an endpoint it affects"
            } else {
                ""
            },
            "",
            i.shows.replace("nd-N-", &format!("nd-{lab}-")),
        ));
    }
    out
}

#[cfg(test)]
mod overlay_tests;
#[cfg(test)]
mod tests;
