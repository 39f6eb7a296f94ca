//! The node facts of a trace (`nodeFacts`: which CNI built each node's pod network, in which
//! mode and told by which links, routes and files, and the node's Service proxy mode), one
//! `NODE` line per node. `-o wide` and `describe` show every node's; the plain table shows only
//! the failing node's, and only when the failure is at a hop the CNI builds (the host veth, the
//! bridge, the route, the tunnel): there the CNI tells the reader what the hop should look like.
//! A status without node facts (an older controller's) shows no line at all.

use netdiag_model::inspect::{CniFingerprint, CniVariant};
use netdiag_model::report::TraceNodeFacts;
use netdiag_model::{HopKind, MergedPath};

/// `NODE kind-worker  CNI flannel (vxlan)  proxy iptables  evidence: flannel.1 (vxlan VNI 1,
/// port 8472), cni0 (bridge)`.
pub fn node_fact_line(f: &TraceNodeFacts) -> String {
    let mut parts = vec![format!("NODE {}", f.node)];
    match &f.cni {
        Some(c) => parts.push(format!("CNI {}", cni_phrase(c))),
        // The agent could not read the node's links: say so rather than leave a gap.
        None => parts.push("CNI not read".into()),
    }
    if let Some(m) = &f.proxy_mode {
        parts.push(format!("proxy {m}"));
    }
    if let Some(e) = evidence(f.cni.as_ref()) {
        parts.push(e);
    }
    parts.join("  ")
}

/// `flannel (vxlan)`, `calico (routed)`, `bridge`: the CNI's name and, when the node shows it,
/// how it carries traffic between the nodes.
pub fn cni_phrase(c: &CniFingerprint) -> String {
    match c.variant {
        Some(CniVariant::Unknown) => format!("{} (a mode this version does not know)", c.name),
        Some(v) => format!("{} ({v})", c.name),
        None => c.name.clone(),
    }
}

/// `evidence: a, b`, or None when the fingerprint names nothing.
pub fn evidence(c: Option<&CniFingerprint>) -> Option<String> {
    c.filter(|c| !c.evidence.is_empty())
        .map(|c| format!("evidence: {}", c.evidence.join(", ")))
}

/// The hops a CNI builds: a failure there is read against the node's CNI.
fn built_by_the_cni(kind: &HopKind) -> bool {
    matches!(
        kind,
        HopKind::HostVeth | HopKind::Bridge | HopKind::Route | HopKind::Tunnel
    )
}

/// The `NODE` lines of a table: every node's when `all`, else the failing node's when the
/// failure is at a hop its CNI built.
pub(crate) fn lines(path: &MergedPath, all: bool) -> Vec<String> {
    let shown = |f: &&TraceNodeFacts| {
        all || path
            .first_failure
            .as_ref()
            .is_some_and(|ff| built_by_the_cni(&ff.hop) && ff.node == f.node && f.cni.is_some())
    };
    path.node_facts
        .iter()
        .filter(shown)
        .map(node_fact_line)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use netdiag_model::Reason;
    use netdiag_model::report::FirstFailure;

    fn vxlan(node: &str) -> TraceNodeFacts {
        TraceNodeFacts {
            node: node.into(),
            cni: Some(CniFingerprint {
                name: "flannel".into(),
                variant: Some(CniVariant::Vxlan),
                evidence: vec![
                    "flannel.1 (vxlan VNI 1, port 8472)".into(),
                    "/etc/cni/net.d/10-flannel.conflist (flannel, portmap)".into(),
                ],
            }),
            proxy_mode: Some("iptables".into()),
        }
    }

    fn failing_at(hop: HopKind, node: &str) -> MergedPath {
        MergedPath {
            first_failure: Some(FirstFailure {
                hop,
                node: node.into(),
                reason: Reason::ConnectTimeout,
                message: "m".into(),
            }),
            node_facts: vec![vxlan("kind-worker"), vxlan("kind-worker2")],
            ..Default::default()
        }
    }

    #[test]
    fn a_node_line_names_the_cni_its_mode_the_proxy_and_the_evidence() {
        assert_eq!(
            node_fact_line(&vxlan("kind-worker")),
            "NODE kind-worker  CNI flannel (vxlan)  proxy iptables  evidence: flannel.1 (vxlan \
             VNI 1, port 8472), /etc/cni/net.d/10-flannel.conflist (flannel, portmap)"
        );
        let unread = TraceNodeFacts {
            node: "node-b".into(),
            ..Default::default()
        };
        assert_eq!(node_fact_line(&unread), "NODE node-b  CNI not read");
        let bridge = CniFingerprint {
            name: "bridge".into(),
            variant: None,
            evidence: vec![],
        };
        assert_eq!(cni_phrase(&bridge), "bridge");
        let newer = CniFingerprint {
            variant: Some(CniVariant::Unknown),
            ..bridge
        };
        assert_eq!(
            cni_phrase(&newer),
            "bridge (a mode this version does not know)"
        );
    }

    #[test]
    fn the_plain_table_shows_only_the_failing_nodes_facts_at_a_cni_hop() {
        let at_tunnel = failing_at(HopKind::Tunnel, "kind-worker2");
        let shown = lines(&at_tunnel, false);
        assert_eq!(shown.len(), 1, "{shown:?}");
        assert!(shown[0].starts_with("NODE kind-worker2  CNI flannel (vxlan)"));
        assert_eq!(lines(&at_tunnel, true).len(), 2);
        assert!(lines(&failing_at(HopKind::Listener, "kind-worker2"), false).is_empty());
        assert!(lines(&failing_at(HopKind::Route, "node-x"), false).is_empty());
        let healthy = MergedPath {
            first_failure: None,
            ..at_tunnel
        };
        assert!(lines(&healthy, false).is_empty());
        assert!(lines(&MergedPath::default(), true).is_empty());
    }
}
