//! Which CNI built this node's pod network, told from its links and routes alone, the way an
//! engineer tells it from `ip -d link` and `ip route`: `cilium_host`, Calico's `cali*` veths
//! with a /32 route each, flannel's `flannel.1`, kube-router's `kube-bridge`, weave's `weave`,
//! kindnet's bridgeless veths with a /32 route each, the plain bridge plugin's `cni0`. Pure.

#[cfg(test)]
mod tests;

use std::collections::HashSet;

use netdiag_model::inspect::CniFingerprint;

use crate::kernel::rtnl::{Link, LinkKind, Route};

/// The CNI the node's `links` and main-table `routes` point to, with the objects that say so.
/// The most specific fingerprint wins: flannel and kube-router also run a bridge, Calico and
/// kindnet also run veths.
pub fn fingerprint(links: &[Link], routes: &[Route]) -> CniFingerprint {
    let named = |n: &str| links.iter().find(|l| l.name == n);
    let described = |l: &Link| match &l.kind {
        Some(kind) => format!("{} ({kind})", l.name),
        None => l.name.clone(),
    };
    let found = |name: &str, evidence: Vec<String>| CniFingerprint {
        name: name.into(),
        evidence,
    };

    let cilium: Vec<String> = ["cilium_host", "cilium_net", "cilium_vxlan", "cilium_geneve"]
        .into_iter()
        .filter_map(named)
        .map(described)
        .collect();
    if !cilium.is_empty() {
        return found("cilium", cilium);
    }
    let routed = per_pod_routes(links, routes);
    let cali_routes = routed.iter().filter(|n| n.starts_with("cali")).count();
    if cali_routes > 0 || named("vxlan.calico").is_some() {
        let mut evidence = vec![format!("{cali_routes} cali* veths with a /32 route each")];
        evidence.extend(named("vxlan.calico").map(described));
        return found("calico", evidence);
    }
    let flannel: Vec<String> = ["flannel.1", "flannel-wg", "flannel0"]
        .into_iter()
        .filter_map(named)
        .map(described)
        .collect();
    if !flannel.is_empty() {
        let mut evidence = flannel;
        evidence.extend(named("cni0").map(described));
        return found("flannel", evidence);
    }
    for (link, cni) in [("kube-bridge", "kube-router"), ("weave", "weave")] {
        if let Some(l) = named(link) {
            return found(cni, vec![described(l)]);
        }
    }
    if !routed.is_empty() {
        return found(
            "kindnet",
            vec![format!(
                "{} bridgeless veths with a /32 route each",
                routed.len()
            )],
        );
    }
    if let Some(l) = named("cni0").filter(|l| l.kind == Some(LinkKind::Bridge)) {
        return found("bridge", vec![described(l)]);
    }
    found("unknown", Vec::new())
}

/// Names of the veths that are no bridge port and carry a /32 route: one per pod, the routed
/// CNIs' shape (`10.244.1.5 dev cali1a2b3c4d5e6 scope link`).
fn per_pod_routes(links: &[Link], routes: &[Route]) -> Vec<String> {
    let host_routes: HashSet<u32> = routes
        .iter()
        .filter(|r| r.prefix_len == 32 && r.gateway.is_none())
        .filter_map(|r| r.oif)
        .collect();
    links
        .iter()
        .filter(|l| l.kind == Some(LinkKind::Veth) && l.master.is_none())
        .filter(|l| host_routes.contains(&l.index))
        .map(|l| l.name.clone())
        .collect()
}
