//! A probe sees listeners only in pods the API named (the target pod, or a ready endpoint of the
//! target Service), never in the node's namespace and never for a bare address: otherwise a
//! NetProbe author could map what listens in other tenants' pods and on nodes.

use netdiag_e2e::*;
use netdiag_model::HopKind;

fn listeners(t: &netdiag_lab::LabTrace) -> Vec<String> {
    t.path
        .hops
        .iter()
        .filter(|h| h.kind == HopKind::Listener)
        .map(|h| format!("{} {}", h.node, h.detail))
        .collect()
}

#[test]
fn only_pods_the_api_names_have_their_listeners_checked() {
    let lab = default_lab("lsc");
    // A ClusterIP typed as an address: DNAT still picks a pod, but the author named no
    // Service, so that pod's sockets stay unlisted.
    // Until DNAT picks echo-1, on the source's own node, where the agent could list it.
    let t = (0..40)
        .map(|_| trace_to(&lab, "curl", "10.96.45.10:80"))
        .find(|t| {
            t.path
                .chosen_endpoint
                .as_ref()
                .is_some_and(|e| e.ip.to_string() == "10.244.1.3")
        })
        .expect("DNAT picked echo-1 in 40 tries");
    assert_eq!(t.path.reachable, Some(true), "{}", t.path.summary);
    assert_eq!(
        listeners(&t),
        Vec::<String>::new(),
        "{}",
        describe(&t.path.hops)
    );
    // A pod IP typed as an address: the same.
    let t = trace_to(&lab, "curl", "10.244.1.3:8080");
    assert_eq!(listeners(&t), Vec::<String>::new());
    // The other node's own address: no listing of the node's sockets, whatever listens there.
    let t = trace_to(&lab, "curl", "172.18.0.3:53");
    assert_eq!(
        listeners(&t),
        Vec::<String>::new(),
        "{}",
        describe(&t.path.hops)
    );

    // Named through the API: the Service's ready endpoint, the target pod.
    let t = trace_to(&lab, "curl", "svc/echo-service:http");
    assert_eq!(listeners(&t).len(), 1, "{}", describe(&t.path.hops));
    let t = trace_to(&lab, "curl", "pod/echo-2:8080");
    let l = listeners(&t);
    assert!(
        l.len() == 1 && l[0].starts_with("node-b ") && l[0].contains("nd-"),
        "{l:?}"
    );
}
