//! Why a hop is Warn or Fail: one stable CamelCase name per cause, fit for alerts and metrics.
//!
//! Each reason knows the hop it belongs to, the verdict it carries at worst, and one sentence
//! saying what it means and what to check next. `docs/hops-and-reasons.md` is generated from
//! this table (`NETDIAG_WRITE_DOCS=1 cargo test -p netdiag-model --test reasons_doc`).

use std::fmt;

use crate::report::{HopKind, Verdict};

/// Declares the enum and its table in one place, so a reason cannot be added without its hop,
/// its verdict and its next step.
macro_rules! reasons {
    ($($name:ident => $kind:ident, $verdict:ident, $next:literal;)*) => {
        /// Why a hop is Warn or Fail. Serialised as its CamelCase name; a name this version does
        /// not know (from a newer agent or controller) is kept as [`Reason::Other`].
        #[derive(Clone, Debug, PartialEq, Eq, Hash)]
        pub enum Reason {
            $(
                #[doc = $next]
                $name,
            )*
            /// A reason this version does not know, kept by its name.
            Other(String),
        }

        impl Reason {
            /// Every known reason, in the order of the table (the order of the path).
            pub const ALL: &'static [Reason] = &[$(Reason::$name),*];

            /// The stable CamelCase name, as it appears in a status.
            pub fn as_str(&self) -> &str {
                match self {
                    $(Reason::$name => stringify!($name),)*
                    Reason::Other(name) => name,
                }
            }

            /// The kind of hop that carries this reason; None for an unknown reason.
            pub fn hop_kind(&self) -> Option<HopKind> {
                match self {
                    $(Reason::$name => Some(HopKind::$kind),)*
                    Reason::Other(_) => None,
                }
            }

            /// The verdict a hop with this reason carries at worst; None for an unknown one.
            pub fn verdict(&self) -> Option<Verdict> {
                match self {
                    $(Reason::$name => Some(Verdict::$verdict),)*
                    Reason::Other(_) => None,
                }
            }

            /// What the reason means and what to check next, in one sentence.
            pub fn next_step(&self) -> &'static str {
                match self {
                    $(Reason::$name => $next,)*
                    Reason::Other(_) => "this reason comes from a newer netdiag: upgrade the plugin to read what it means",
                }
            }

            /// The reason of that name: a known variant, else [`Reason::Other`].
            pub fn from_name(name: &str) -> Reason {
                match name {
                    $(stringify!($name) => Reason::$name,)*
                    other => Reason::Other(other.to_string()),
                }
            }
        }
    };
}

reasons! {
    PodNetnsNotFound => PodInterface, Fail, "No namespace on this node holds the source IP: check the pod runs on this node, and that the agent sees the host's /proc and /var/run/netns.";
    DuplicatePodIp => PodInterface, Fail, "Two network namespaces on the node hold the source IP: a leaked sandbox or a misbehaving CNI; delete the stale one (the hop names both) before trusting probes from that IP.";
    PodNetnsUnreadable => PodInterface, Fail, "The pod's namespace was found but its interfaces could not be read: check the agent runs as root with CAP_SYS_ADMIN and hostPID.";
    PodInterfaceMissing => PodInterface, Fail, "The pod's namespace holds no interface with the pod's IP: check the CNI plugin's logs for the pod's sandbox.";
    PodInterfaceDown => PodInterface, Fail, "The pod's eth0 is down: nothing leaves the pod; check the CNI plugin and `ip -n NS link`.";
    PodInterfaceNoCarrier => PodInterface, Warn, "The pod's eth0 has no carrier, so its veth peer on the node is down: check `ip link` on the node.";
    NoDefaultRoute => PodInterface, Fail, "The pod has no default route: check the CNI plugin's IPAM configuration and `ip -n NS route`.";
    GatewayUnresolved => PodInterface, Warn, "The pod has no neighbour entry for its gateway yet: check the bridge or gateway answers ARP (`ip -n NS neigh`).";
    NodeLinksUnreadable => HostVeth, Warn, "The node's links could not be listed to find the pod's veth: check the agent runs in the host network namespace.";
    HostVethMissing => HostVeth, Fail, "The node side of the pod's veth is gone: the veth pair is broken; recreate the pod.";
    NoRouteToPod => HostVeth, Fail, "The node has no route back to its own pod's IP, so replies to the pod (and a routed CNI's proxy ARP answer for the pod's gateway) have nowhere to go: the CNI writes this route (Calico's Felix a /32 on the cali* veth); check its node agent and `ip route get POD_IP` on the node.";
    HostVethDown => HostVeth, Fail, "The node side of the pod's veth is down: nothing leaves the pod; check `ip link` on the node.";
    MtuMismatch => HostVeth, Warn, "The pod and the node side of its veth disagree on MTU: large packets are dropped; check the CNI plugin's MTU setting.";
    BridgeDown => Bridge, Fail, "The pod's bridge is down: check `ip link show` for the bridge (cni0, kube-bridge) on the node.";
    HairpinOff => Bridge, Fail, "The pod is an endpoint of the Service it calls, and its bridge port has hairpin mode off (and the bridge is not promiscuous): the bridge never sends a frame back out the port it came in on, so the pod cannot reach itself through the Service; run kubelet with `--hairpin-mode hairpin-veth` (or `promiscuous-bridge`), or `ip link set dev VETH type bridge_slave hairpin on`.";
    IpForwardDisabled => NodeSettings, Fail, "net.ipv4.ip_forward=0: the node drops pod traffic it must route, which is all traffic to a Service VIP; set it to 1.";
    BridgeNetfilterDisabled => NodeSettings, Fail, "bridge-nf-call-iptables is 0 or br_netfilter is missing while the source and an endpoint share a bridge: replies skip the un-DNAT; load br_netfilter and set it to 1.";
    StrictRpFilter => NodeSettings, Warn, "Strict reverse-path filtering where the route back leaves by another interface: the kernel drops such traffic; set rp_filter to 2 (loose) or fix the routes.";
    NoServiceRule => ServiceRules, Fail, "kube-proxy has no rule for the VIP (a KUBE-SERVICES rule, a service-ips element, an IPVS virtual service) while the Service has ready endpoints: kube-proxy is not syncing on this node; check its logs.";
    MissingEndpoint => ServiceRules, Fail, "A ready endpoint has no rule on this node (no KUBE-SEP chain, endpoint- chain or IPVS real server): kube-proxy is behind; check its logs and sync errors.";
    StaleEndpoint => ServiceRules, Fail, "A rule DNATs to an address that is not a ready endpoint: kube-proxy's rules are stale; check its logs.";
    NoEndpoints => ServiceRules, Fail, "kube-proxy REJECTs or DROPs the Service because it has no endpoints: check the Service's selector and its pods' readiness.";
    NoLocalEndpoints => ServiceRules, Fail, "The Service's traffic policy is Local and this node runs none of its ready endpoints, so kube-proxy drops traffic from outside the cluster (and from nodes) here: send it to a node that runs an endpoint (a load balancer's health check on healthCheckNodePort does), or set externalTrafficPolicy Cluster.";
    AsymmetricNodePort => ServiceRules, Fail, "A pod calls another node's NodePort whose Service's externalTrafficPolicy is Local, and that node runs none of its endpoints: kube-proxy passes the pod's traffic on to an endpoint elsewhere without masquerading it, so the reply goes from the endpoint straight back to the pod, not through that node's NAT, and the pod drops it; from a pod use the ClusterIP, or a NodePort on a node that runs an endpoint, or set externalTrafficPolicy Cluster.";
    NotAServicePort => ServiceRules, Fail, "The address is a ClusterIP, but no Service serves this port and protocol on it, so kube-proxy rejects it: use one of the ports the hop names.";
    UnallocatedClusterIp => ServiceRules, Fail, "The address is in the service CIDR but no Service holds it, so kube-proxy drops it: check the address (a deleted or recreated Service?).";
    VipNotLocal => ServiceRules, Fail, "IPVS has the virtual service but the VIP is not on kube-ipvs0, so the node never delivers its packets to IPVS: check kube-proxy's sync errors and `ip addr show kube-ipvs0`.";
    ProxyLeftovers => ServiceRules, Warn, "Rules of another proxy mode are left on the node: they do nothing but mislead anyone reading rules by hand; remove them (`kube-proxy --cleanup`) once the mode is settled.";
    RulesUnreadable => ServiceRules, Warn, "kube-proxy's state could not be read (the iptables or nft tools, nf_tables or IPVS netlink): check the agent image has iptables and nftables and runs with CAP_NET_ADMIN.";
    DroppedByRule => Firewall, Fail, "A rule dropped or rejected the probe's own packet (seen by nf_tables tracing): the hop names its table, chain, rule and owner; fix or remove that rule, or the NetworkPolicy that made it.";
    TraceUnavailable => Firewall, Warn, "The probe's packets could not be traced (no nf_tables, or the trace table could not be installed): which rule drops them is unknown; check the agent has CAP_NET_ADMIN and the node's kernel has nf_tables (the agent writes its trace table over netlink, no `nft` needed).";
    NoConntrackEntry => Conntrack, Warn, "The connection never passed the node's netfilter (dropped in the pod, on its veth, or by routing), or is not tracked: check the hops before it.";
    ConntrackUnreplied => Conntrack, Warn, "The connection's entry never saw a reply: the endpoint DNAT chose did not answer; check that endpoint's Listener and Route hops.";
    ConntrackUnreadable => Conntrack, Warn, "The conntrack table could not be read: check the agent has CAP_NET_ADMIN and nf_conntrack is loaded.";
    ConntrackTableFull => Conntrack, Warn, "The conntrack table is at least 90% full: new connections will be dropped; raise nf_conntrack_max or find the flood.";
    ConntrackDrops => Conntrack, Warn, "Conntrack dropped packets (insert_failed, drop, early_drop): check `conntrack -S` for the counters that grow.";
    NoRoute => Route, Fail, "The node has no route (or a blackhole, unreachable or prohibit route) to an endpoint: check the routes to the other nodes' pod CIDRs.";
    RouteLookupFailed => Route, Warn, "The node's route to the endpoint could not be looked up: check the agent runs in the host network namespace.";
    TunnelDown => Tunnel, Fail, "The overlay device (flannel.1, vxlan.calico, tunl0, cilium_vxlan) or its underlay device is down: the CNI's node agent (flanneld, calico-node, cilium-agent) creates it; check that agent's logs, or `ip link set DEV up`.";
    OverlayNeighbourMissing => Tunnel, Fail, "The node has no neighbour entry (or an unresolved one) for the overlay's next hop on the device: the CNI's node agent writes one per remote node; check it runs and sees the other node (`ip neigh show dev DEV`).";
    OverlayFdbMissing => Tunnel, Fail, "No forwarding entry says which node's VTEP holds the next hop's MAC, so the encapsulated packet has nowhere to go: the CNI's node agent writes one per remote node; check it (`bridge fdb show dev DEV`).";
    OverlayWrongVtep => Tunnel, Fail, "The forwarding entry sends the next hop's MAC to the VTEP of another node than the endpoint's: a stale entry (a node replaced under the same pod CIDR); delete it and restart the CNI's node agent.";
    TunnelUnreadable => Tunnel, Warn, "The overlay device's settings, neighbour or forwarding entries could not be read: check the agent runs in the host network namespace with CAP_NET_ADMIN.";
    OverlayMtuMismatch => Tunnel, Warn, "The MTUs along the path do not fit: the pod's MTU is larger than the overlay's, or the overlay's plus its encapsulation is larger than the underlay's, so full-size packets are dropped or fragmented; set the CNI's MTU to the underlay's minus the overhead.";
    PathMtuBlackhole => NodeInterface, Fail, "Small packets reach the endpoint and full-size ones do not: the network between the nodes drops frames above its MTU without telling (no ICMP); lower the CNI's MTU below the path's, or fix the underlay's MTU.";
    NothingListening => Listener, Fail, "Nothing listens on the endpoint's port in its namespace: the server is down or bound elsewhere; check the container's port and logs.";
    ListenerCheckFailed => Listener, Warn, "The sockets in the endpoint's namespace could not be listed: check the agent runs as root with hostPID.";
    EndpointNotOnNode => Listener, Warn, "The endpoint check ran on a node that does not hold the endpoint: the pod moved; run the probe again.";
    DnsServerSilent => Dns, Fail, "One DNS server answers and another does not: check the silent one (often nodelocaldns) is running.";
    DnsTimeout => Dns, Fail, "No DNS server answers: check kube-dns's pods and the path to its ClusterIP.";
    DnsNxdomain => Dns, Fail, "A DNS server says the name does not exist: check the name, the namespace and the pod's search domains.";
    DnsServfail => Dns, Fail, "A DNS server answers SERVFAIL: check kube-dns's logs and its upstreams.";
    DnsRefused => Dns, Fail, "A DNS server refuses the query: check its configuration allows the pod's network.";
    DnsError => Dns, Fail, "A DNS server answers with an error code: check kube-dns's logs.";
    DnsNoAddress => Dns, Fail, "A DNS server answers, but with no address for the name: check the Service exists and has a ClusterIP.";
    DnsWrongAnswer => Dns, Fail, "The name resolves to something other than the Service's ClusterIP: check for stale records or a second zone.";
    DnsBadName => Dns, Fail, "The name to resolve is not a valid DNS name: fix spec.dnsName.";
    DnsNoServer => Dns, Fail, "The pod has no DNS server to ask: check its resolv.conf and the kubelet's --cluster-dns.";
    DnsProbeFailed => Dns, Fail, "The agent could not ask DNS from inside the pod: check the agent's logs.";
    ConnectionRefused => Connect, Fail, "A RST came back: nothing listens on the target, or a rule rejects it; check the Listener and ServiceRules hops.";
    ConnectTimeout => Connect, Fail, "No answer within the step timeout: packets are dropped on the way; check the hops before it and NetworkPolicies.";
    HostUnreachable => Connect, Fail, "An ICMP host unreachable or an unreachable route on the way: check the Route hops.";
    NetworkUnreachable => Connect, Fail, "The pod has no route to the target's network: check the pod's routes.";
    NoUdpReply => Connect, Warn, "A UDP target stayed silent: UDP cannot tell silence from loss; check the server answers that kind of datagram.";
    ConnectError => Connect, Fail, "The connect could not be tried from inside the pod: check the agent's logs.";
    PodInterfaceFailed => PodInterface, Fail, "The pod interface hop failed without a more precise reason: read its detail.";
    HostVethFailed => HostVeth, Fail, "The host veth hop failed without a more precise reason: read its detail.";
    BridgeFailed => Bridge, Fail, "The bridge hop failed without a more precise reason: read its detail.";
    NodeSettingsFailed => NodeSettings, Fail, "The node settings hop failed without a more precise reason: read its detail.";
    ServiceRulesFailed => ServiceRules, Fail, "The Service rules hop failed without a more precise reason: read its detail.";
    FirewallFailed => Firewall, Fail, "The firewall hop failed without a more precise reason: read its detail.";
    ConntrackFailed => Conntrack, Fail, "The conntrack hop failed without a more precise reason: read its detail.";
    RouteFailed => Route, Fail, "The route hop failed without a more precise reason: read its detail.";
    TunnelFailed => Tunnel, Fail, "The tunnel hop failed without a more precise reason: read its detail.";
    NodeInterfaceFailed => NodeInterface, Fail, "The node interface hop failed without a more precise reason: read its detail.";
    ListenerFailed => Listener, Fail, "The listener hop failed without a more precise reason: read its detail.";
    DnsFailed => Dns, Fail, "The DNS hop failed without a more precise reason: read its detail.";
    ConnectFailed => Connect, Fail, "The connect hop failed without a more precise reason: read its detail.";
}

impl Reason {
    /// The reason of a failed hop that named none: `BridgeFailed` for a Bridge hop.
    pub fn failed(kind: &HopKind) -> Reason {
        Reason::from_name(&format!("{kind}Failed"))
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for Reason {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for Reason {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let name = std::borrow::Cow::<'de, str>::deserialize(d)?;
        Ok(Reason::from_name(&name))
    }
}

#[cfg(feature = "schema")]
impl schemars::JsonSchema for Reason {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Reason".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        // A plain string, not an enum: a newer agent's reason must not fail an older CRD.
        schemars::json_schema!({
            "type": "string",
            "description": "A stable CamelCase reason (NothingListening, NoServiceRule...); see docs/hops-and-reasons.md."
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_known_reason_reads_back_as_itself() {
        for r in Reason::ALL {
            assert_eq!(&Reason::from_name(r.as_str()), r);
            let json = serde_json::to_string(r).unwrap_or_default();
            assert_eq!(json, format!("\"{r}\""));
        }
    }

    #[test]
    fn an_unknown_reason_keeps_its_name() {
        let r: Reason = serde_json::from_str("\"SomethingNew\"").unwrap_or(Reason::BridgeDown);
        assert_eq!(r, Reason::Other("SomethingNew".into()));
        assert_eq!(r.to_string(), "SomethingNew");
        assert_eq!(
            serde_json::to_string(&r).unwrap_or_default(),
            "\"SomethingNew\""
        );
        assert_eq!(r.hop_kind(), None);
    }

    #[test]
    fn a_failed_hop_without_a_reason_is_named_after_its_kind() {
        assert_eq!(Reason::failed(&HopKind::Bridge), Reason::BridgeFailed);
        for r in Reason::ALL {
            if let Some(kind) = r.hop_kind()
                && r.as_str() == format!("{kind}Failed")
            {
                assert_eq!(&Reason::failed(&kind), r);
            }
        }
    }
}
