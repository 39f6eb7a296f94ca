//! Which Service data plane runs on this node, and how that was determined: kube-proxy's own
//! answer (`/proxyMode`) first, then the fingerprints each mode leaves (`table ip kube-proxy`,
//! `kube-ipvs0` with ipset-matching KUBE-SERVICES rules, KUBE-SVC chains, Cilium's and Calico's
//! devices). Also what another mode left behind, which misleads anyone reading rules by hand,
//! and, when both iptables backends hold kube-proxy's chains, which one is live: the way
//! kubelet and kubernetes-sigs/iptables-wrappers decide. Gathering is [`gather`]; deciding is
//! [`decide`], pure.

pub mod gather;
pub mod proxy_mode;

#[cfg(test)]
mod tests;

use super::model::{ProxyMode, Replacement};
use crate::dataplane::netfilter::iptables::IptablesBackend;

/// What one iptables backend holds of kube-proxy's and kubelet's chains.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IptablesFacts {
    /// The rules of nat KUBE-SERVICES; None when the chain does not exist.
    pub services_rules: Option<usize>,
    /// A KUBE-SERVICES rule matches ipset KUBE-CLUSTER-IP (IPVS mode's shape).
    pub ipset_match: bool,
    /// kubelet's KUBE-IPTABLES-HINT or KUBE-KUBELET-CANARY chain is in the mangle table.
    pub kubelet_hint: bool,
}

impl IptablesFacts {
    fn has_services(&self) -> bool {
        self.services_rules.is_some()
    }
}

/// Everything detection looks at on a node.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Facts {
    /// kube-proxy's `/proxyMode` answer, when it answered.
    pub proxy_mode: Option<String>,
    /// `table ip kube-proxy` exists.
    pub nft_table: bool,
    /// How many `service-ips` elements it holds; read only when iptables state exists too.
    pub nft_services: Option<usize>,
    /// `iptables-nft`'s view; None when the tool is missing.
    pub iptables_nft: Option<IptablesFacts>,
    /// The legacy x_tables view; None when the kernel has no legacy tables.
    pub iptables_legacy: Option<IptablesFacts>,
    /// The node's links that tell a data plane apart (`kube-ipvs0`, `cilium_host`, ...).
    pub links: Vec<String>,
    /// Calico's eBPF programs are attached (`bpfin.cali`/`bpfout.cali`, pinned `cali_` maps).
    pub calico_bpf: bool,
}

/// The answer: the mode, how it was determined, and what other modes left behind.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Detection {
    pub mode: ProxyMode,
    /// For the report: "kube-proxy's /proxyMode answered nftables", "table ip kube-proxy".
    pub how: String,
    /// Objects of another mode, each named.
    pub leftovers: Vec<String>,
}

const KUBE_IPVS0: &str = "kube-ipvs0";
const KUBE_DUMMY_IF: &str = "kube-dummy-if";
const CILIUM_LINKS: [&str; 2] = ["cilium_host", "cilium_net"];

/// The links detection asks for.
pub const LINKS: [&str; 6] = [
    KUBE_IPVS0,
    KUBE_DUMMY_IF,
    "cilium_host",
    "cilium_net",
    "bpfin.cali",
    "bpfout.cali",
];

impl Facts {
    fn has_link(&self, name: &str) -> bool {
        self.links.iter().any(|l| l == name)
    }

    fn backends(&self) -> impl Iterator<Item = (IptablesBackend, &IptablesFacts)> {
        [
            (IptablesBackend::NfTables, self.iptables_nft.as_ref()),
            (IptablesBackend::Legacy, self.iptables_legacy.as_ref()),
        ]
        .into_iter()
        .filter_map(|(b, f)| f.map(|f| (b, f)))
    }

    fn any_services_chain(&self) -> bool {
        self.backends().any(|(_, f)| f.has_services())
    }
}

/// Decide the node's mode from `facts`. Pure.
pub fn decide(facts: &Facts) -> Detection {
    let (backend, backend_note) = choose_backend(facts);
    let iptables = ProxyMode::Iptables(backend);
    let answered = facts.proxy_mode.as_deref().and_then(|m| match m {
        "iptables" | "" => Some(iptables),
        "nftables" => Some(ProxyMode::Nftables),
        "ipvs" => Some(ProxyMode::Ipvs),
        _ => None,
    });
    let (mode, mut how) = match answered {
        Some(mode) => (
            mode,
            format!(
                "kube-proxy's /proxyMode on 127.0.0.1:10249 answered {}",
                mode.name()
            ),
        ),
        None => fingerprint(facts, iptables),
    };
    if let (Some(other), None) = (facts.proxy_mode.as_deref(), answered) {
        how.push_str(&format!(
            " (kube-proxy's /proxyMode answered \"{other}\", which netdiag does not read)"
        ));
    }
    if matches!(mode, ProxyMode::Iptables(_) | ProxyMode::Ipvs)
        && let Some(note) = backend_note
    {
        how.push_str("; ");
        how.push_str(&note);
    }
    Detection {
        mode,
        how,
        leftovers: leftovers(facts, mode),
    }
}

fn fingerprint(facts: &Facts, iptables: ProxyMode) -> (ProxyMode, String) {
    let ipset = facts.backends().any(|(_, f)| f.ipset_match);
    // An empty table beside iptables rules is what an earlier nftables run left.
    if facts.nft_table && (facts.nft_services != Some(0) || !facts.any_services_chain()) {
        return (ProxyMode::Nftables, "table ip kube-proxy exists".into());
    }
    if facts.has_link(KUBE_IPVS0) && ipset {
        return (
            ProxyMode::Ipvs,
            "kube-ipvs0 exists and KUBE-SERVICES matches ipset KUBE-CLUSTER-IP".into(),
        );
    }
    if facts.has_link(KUBE_DUMMY_IF) {
        return (
            ProxyMode::Ipvs,
            "kube-dummy-if exists: kube-router's proxy, which programs IPVS".into(),
        );
    }
    if facts.any_services_chain() {
        return (
            iptables,
            "the nat table has kube-proxy's KUBE-SERVICES chain".into(),
        );
    }
    if CILIUM_LINKS.iter().any(|l| facts.has_link(l)) {
        return (
            ProxyMode::Replaced(Replacement::Cilium),
            "cilium_host/cilium_net exist and there is no kube-proxy state".into(),
        );
    }
    if facts.calico_bpf {
        return (
            ProxyMode::Replaced(Replacement::CalicoEbpf),
            "Calico's eBPF programs are attached and there is no kube-proxy state".into(),
        );
    }
    (
        ProxyMode::Replaced(Replacement::Unknown),
        "nothing answers on 127.0.0.1:10249 and there is no iptables, nftables or IPVS kube-proxy state".into(),
    )
}

/// Which iptables backend holds the live rules, and a note when there was a choice to make:
/// kubelet's hint chains first, then the larger KUBE-SERVICES (iptables-wrappers counts rules).
fn choose_backend(facts: &Facts) -> (Option<IptablesBackend>, Option<String>) {
    let (nft, legacy) = (
        facts.iptables_nft.clone().unwrap_or_default(),
        facts.iptables_legacy.clone().unwrap_or_default(),
    );
    match (nft.has_services(), legacy.has_services()) {
        (false, false) => (None, None),
        (true, false) => (Some(IptablesBackend::NfTables), None),
        (false, true) => (Some(IptablesBackend::Legacy), None),
        (true, true) => {
            let both = "iptables-nft and iptables-legacy both hold KUBE-SERVICES";
            let (chosen, why) = if nft.kubelet_hint != legacy.kubelet_hint {
                let b = if nft.kubelet_hint {
                    IptablesBackend::NfTables
                } else {
                    IptablesBackend::Legacy
                };
                (
                    b,
                    "kubelet's KUBE-IPTABLES-HINT/KUBE-KUBELET-CANARY chains are there".to_string(),
                )
            } else {
                let (n, l) = (
                    nft.services_rules.unwrap_or(0),
                    legacy.services_rules.unwrap_or(0),
                );
                let b = if l > n {
                    IptablesBackend::Legacy
                } else {
                    IptablesBackend::NfTables
                };
                (
                    b,
                    format!("it holds more KUBE-SERVICES rules ({n} in nf_tables, {l} in legacy)"),
                )
            };
            (
                Some(chosen),
                Some(format!("{both}; read {}, because {why}", chosen.as_str())),
            )
        }
    }
}

fn leftovers(facts: &Facts, mode: ProxyMode) -> Vec<String> {
    let mut out = Vec::new();
    let stale_iptables = |out: &mut Vec<String>| {
        for (b, f) in facts.backends() {
            if let Some(n) = f.services_rules.filter(|n| *n > 0) {
                out.push(format!(
                    "KUBE-SERVICES in the {} nat table ({n} rules) from iptables mode",
                    b.as_str()
                ));
            }
        }
    };
    match mode {
        ProxyMode::Nftables => {
            stale_iptables(&mut out);
            if facts.has_link(KUBE_IPVS0) {
                out.push("the kube-ipvs0 link from IPVS mode".into());
            }
        }
        ProxyMode::Iptables(_) => {
            if facts.nft_table {
                let empty = if facts.nft_services == Some(0) {
                    "an empty "
                } else {
                    ""
                };
                out.push(format!("{empty}table ip kube-proxy from nftables mode"));
            }
            if facts.has_link(KUBE_IPVS0) {
                out.push("the kube-ipvs0 link from IPVS mode".into());
            }
        }
        ProxyMode::Ipvs => {
            if facts.nft_table {
                out.push("table ip kube-proxy from nftables mode".into());
            }
        }
        ProxyMode::Replaced(_) => {}
    }
    out
}
