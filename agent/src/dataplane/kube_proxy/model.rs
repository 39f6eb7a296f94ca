//! What kube-proxy programs for one Service address, whatever its mode: the mode-neutral model
//! every mode's reader fills in and [`super::judge`] judges. The iptables walker, the nftables
//! walker and the IPVS reader all produce it, so the verdicts (missing rule, stale endpoint, no
//! endpoints, reject) and everything after this hop stay the same.

use crate::dataplane::netfilter::iptables::IptablesBackend;

/// How Services are implemented on this node.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyMode {
    /// kube-proxy's iptables mode, on the backend that held its rules (None: neither held any).
    Iptables(Option<IptablesBackend>),
    /// kube-proxy's nftables mode: `table ip kube-proxy`.
    Nftables,
    /// kube-proxy's IPVS mode (or kube-router's proxy, which also programs IPVS).
    Ipvs,
    /// No kube-proxy: something else balances Services, mostly in eBPF.
    Replaced(Replacement),
}

/// What balances Services on a node without kube-proxy.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replacement {
    /// Cilium's kube-proxy replacement (`cilium_host`/`cilium_net`, no kube-proxy state).
    Cilium,
    /// Calico's eBPF data plane (`bpfEnabled`).
    CalicoEbpf,
    /// Nothing netdiag recognises: no kube-proxy state of any mode.
    Unknown,
}

impl Replacement {
    /// The component's name for a human.
    pub fn name(self) -> &'static str {
        match self {
            Replacement::Cilium => "Cilium's kube-proxy replacement",
            Replacement::CalicoEbpf => "Calico's eBPF data plane",
            Replacement::Unknown => "no kube-proxy",
        }
    }

    /// What to run on the node instead, to see its Service table.
    pub fn instead(self) -> &'static str {
        match self {
            Replacement::Cilium => {
                "run `cilium-dbg service list` (or `cilium-dbg bpf lb list`) in the node's cilium agent pod"
            }
            Replacement::CalicoEbpf => {
                "run `calico-node -bpf nat dump` in the node's calico-node pod (or `calicoctl`)"
            }
            Replacement::Unknown => {
                "check which component balances Services on this node (kube-proxy is not running, and no iptables, nftables or IPVS Service state was found)"
            }
        }
    }
}

impl ProxyMode {
    /// The mode's name in the report (`ServiceRulesDetail.mode`).
    pub fn name(self) -> &'static str {
        match self {
            ProxyMode::Iptables(_) => "iptables",
            ProxyMode::Nftables => "nftables",
            ProxyMode::Ipvs => "ipvs",
            ProxyMode::Replaced(Replacement::Cilium) => "cilium",
            ProxyMode::Replaced(Replacement::CalicoEbpf) => "calico-ebpf",
            ProxyMode::Replaced(Replacement::Unknown) => "none",
        }
    }

    /// Which backend held the rules, in the report's words (`nf_tables`, `legacy`).
    pub fn backend(self) -> Option<&'static str> {
        match self {
            ProxyMode::Iptables(b) => b.map(IptablesBackend::as_str),
            _ => None,
        }
    }

    /// Where the mode looks a Service address up, for a human.
    pub fn entry(self) -> &'static str {
        match self {
            ProxyMode::Iptables(_) => "KUBE-SERVICES",
            ProxyMode::Nftables => "@service-ips",
            ProxyMode::Ipvs => "the IPVS virtual services",
            ProxyMode::Replaced(_) => "kube-proxy's rules",
        }
    }

    /// What is missing when this mode's state is absent altogether, for a human.
    pub fn missing_state(self) -> &'static str {
        match self {
            ProxyMode::Iptables(_) => {
                "the nat table has no KUBE-SERVICES chain (is kube-proxy running in iptables mode?)"
            }
            ProxyMode::Nftables => {
                "there is no `table ip kube-proxy` (is kube-proxy running in nftables mode?)"
            }
            ProxyMode::Ipvs => "IPVS has no virtual services (is kube-proxy running in IPVS mode?)",
            ProxyMode::Replaced(_) => "kube-proxy does not run on this node",
        }
    }
}

/// Whether the mode's rules know the address at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lookup {
    /// A rule (chain jump, map element, virtual service) matches the address.
    Matched,
    /// The mode's state exists but nothing matches the address.
    NoRule,
    /// The mode's state is absent (no KUBE-SERVICES chain, no kube-proxy table).
    NoProxyState,
}

/// One endpoint traffic to the address is translated to: the report's own type, so what a mode
/// reads is what the ServiceRules hop shows (`probability` is the effective share of new
/// connections, `chain` where the mode keeps it: `KUBE-SEP-...`, an `endpoint-...` chain, a
/// real server).
pub use netdiag_model::report::RuleEndpoint as ProgrammedEndpoint;

/// Why a rule rejects or drops the service.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BlockCause {
    /// `"<svc> has no endpoints"`.
    NoEndpoints,
    /// `"<svc> has no local endpoints"` (a Local traffic policy with no endpoint on this node).
    NoLocalEndpoints,
    /// A ClusterIP on a port and protocol none of its Services serves (nftables mode's
    /// `cluster-ips-check` rejects it).
    NotAServicePort,
    /// An address of the service CIDR that no Service holds (`cluster-ips-check` drops it).
    UnallocatedClusterIp,
    /// A REJECT/DROP whose comment says neither (large-cluster mode, or something else).
    Other,
}

/// What a blocking rule does with the service's traffic.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum BlockAction {
    /// Answered with an ICMP error or a RST: the client fails at once.
    Reject,
    /// Dropped: the client times out.
    Drop,
    /// Marked to be dropped later by the named chain (`KUBE-MARK-DROP`).
    MarkDrop(String),
}

impl std::fmt::Display for BlockAction {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BlockAction::Reject => f.write_str("REJECT"),
            BlockAction::Drop => f.write_str("DROP"),
            BlockAction::MarkDrop(chain) => f.write_str(chain),
        }
    }
}

/// A rule that throws the service's traffic away.
#[derive(Clone, Debug, PartialEq)]
pub struct Blocked {
    pub table: String,
    pub chain: String,
    pub action: BlockAction,
    pub comment: Option<String>,
    pub cause: BlockCause,
}

impl Blocked {
    /// Classify a blocking rule by kube-proxy's comment on it.
    pub fn new(table: &str, chain: &str, action: BlockAction, comment: Option<&str>) -> Blocked {
        let cause = match comment {
            Some(c) if c.ends_with("has no local endpoints") => BlockCause::NoLocalEndpoints,
            Some(c) if c.ends_with("has no endpoints") => BlockCause::NoEndpoints,
            _ => BlockCause::Other,
        };
        Blocked {
            table: table.to_string(),
            chain: chain.to_string(),
            action,
            comment: comment.map(str::to_string),
            cause,
        }
    }
}

/// Everything kube-proxy programs for one `VIP:port/proto`, in any mode.
#[derive(Clone, Debug, PartialEq)]
pub struct ServiceProgram {
    pub mode: ProxyMode,
    /// `VIP:port/proto`.
    pub address: String,
    pub lookup: Lookup,
    /// kube-proxy's service port name, from comments (`default/echo:http`).
    pub service: Option<String>,
    /// The chains (or objects) followed, in order.
    pub chains: Vec<String>,
    pub endpoints: Vec<ProgrammedEndpoint>,
    pub affinity_seconds: Option<u32>,
    /// Some traffic to the service is masqueraded.
    pub masquerade: bool,
    /// Only node-local endpoints are picked (a Local traffic policy).
    pub local_only: bool,
    pub blocked: Option<Blocked>,
    /// The ports the address does serve (`80/tcp (ns/svc:http)`), when it was asked on another.
    pub service_ports: Vec<String>,
    /// Why the node would not even take packets to the address as its own, when it would not
    /// (IPVS balances only what is delivered locally: the VIP must be on kube-ipvs0).
    pub not_local: Option<String>,
    /// The external-traffic drop a pod's traffic to this node's NodePort is short-circuited
    /// past (externalTrafficPolicy Local, no endpoint on this node): what a client outside the
    /// cluster meets here instead of the endpoints.
    pub short_circuited: Option<Blocked>,
    /// Oddities met on the way (a jump to a missing chain, an endpoint without DNAT...).
    pub notes: Vec<String>,
}

impl ServiceProgram {
    /// A program of `mode` for `address` that found nothing yet: readers fill it in.
    pub fn empty(mode: ProxyMode, address: String, lookup: Lookup) -> ServiceProgram {
        ServiceProgram {
            mode,
            address,
            lookup,
            service: None,
            chains: Vec::new(),
            endpoints: Vec::new(),
            affinity_seconds: None,
            masquerade: false,
            local_only: false,
            blocked: None,
            service_ports: Vec::new(),
            not_local: None,
            short_circuited: None,
            notes: Vec::new(),
        }
    }
}
