//! Read the facts detection decides from, in the calling thread's network namespace (the
//! node's). Each read is cheap whatever the node's size: one chain listing per backend, one
//! netlink table lookup, one link dump. A read that fails only leaves its fact out: detection
//! must answer on a node where some tool is missing.

use std::path::Path;
use std::time::Duration;

use super::{Facts, IptablesFacts, LINKS, proxy_mode};
use crate::dataplane::kube_proxy::iptables::IptablesSources;
use crate::dataplane::kube_proxy::nftables::TABLE;
use crate::dataplane::netfilter::iptables::ChainSource;
use crate::dataplane::netfilter::iptables::rule::Rule;
use crate::kernel::nftables::NftSocket;
use crate::kernel::nftables::msg::NFPROTO_IPV4;
use crate::kernel::rtnl;

/// kubelet's chains in the mangle table: which backend kubelet (and so kube-proxy) uses.
const HINT_CHAINS: [&str; 2] = ["KUBE-IPTABLES-HINT", "KUBE-KUBELET-CANARY"];
/// Calico's eBPF data plane pins its maps here.
const CALICO_BPF_DIR: &str = "/sys/fs/bpf/tc/globals";

/// Everything detection needs, read from the node; the iptables chains read stay in `sources`
/// for the walk.
pub fn gather(sources: &mut IptablesSources) -> Facts {
    gather_with_links(sources, &rtnl::links().unwrap_or_default())
}

/// [`gather`] for a caller that has dumped the node's links already (node inspection).
pub fn gather_with_links(sources: &mut IptablesSources, links: &[rtnl::Link]) -> Facts {
    let mut facts = Facts {
        proxy_mode: proxy_mode::ask(),
        iptables_nft: iptables_facts(&mut sources.nft),
        iptables_legacy: sources.legacy.as_mut().and_then(iptables_facts),
        links: (links.iter())
            .map(|l| l.name.clone())
            .filter(|n| LINKS.contains(&n.as_str()))
            .collect(),
        ..Facts::default()
    };
    facts.calico_bpf = facts.links.iter().any(|l| l.ends_with(".cali")) || calico_maps_pinned();
    if let Ok(mut nft) = NftSocket::open(Duration::from_secs(2)) {
        facts.nft_table = nft.table_exists(NFPROTO_IPV4, TABLE).unwrap_or(false);
        if facts.nft_table && facts.any_services_chain() {
            facts.nft_services = nft
                .elements(NFPROTO_IPV4, TABLE, "service-ips")
                .ok()
                .flatten()
                .map(|e| e.len());
        }
    }
    facts
}

/// One backend's kube-proxy and kubelet chains; None when the backend cannot be read.
fn iptables_facts<S: ChainSource>(src: &mut S) -> Option<IptablesFacts> {
    let services = src.chain("nat", "KUBE-SERVICES").ok()?;
    let mut hint = false;
    for chain in HINT_CHAINS {
        hint |= matches!(src.chain("mangle", chain), Ok(Some(_)));
    }
    Some(IptablesFacts {
        ipset_match: services
            .as_deref()
            .is_some_and(|rules| rules.iter().any(matches_cluster_ip_set)),
        services_rules: services.map(|r| r.len()),
        kubelet_hint: hint,
    })
}

/// IPVS mode's `-m set --match-set KUBE-CLUSTER-IP dst,dst`.
fn matches_cluster_ip_set(rule: &Rule) -> bool {
    rule.other.iter().any(|o| o == "KUBE-CLUSTER-IP")
}

fn calico_maps_pinned() -> bool {
    std::fs::read_dir(Path::new(CALICO_BPF_DIR))
        .map(|entries| {
            entries
                .flatten()
                .any(|e| e.file_name().to_string_lossy().starts_with("cali_"))
        })
        .unwrap_or(false)
}
