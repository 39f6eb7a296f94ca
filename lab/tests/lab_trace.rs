//! `lab trace` against a real lab with the real agent (root): a healthy path, merged across the
//! source and endpoint nodes.

mod lab_common;

use lab_common::*;
use netdiag_lab::{LabGuard, LabSpec, trace};
use netdiag_model::PlanRole;

#[test]
fn a_lab_trace_from_curl_to_echo_service_is_reachable_and_crosses_to_the_endpoint_node() {
    if !root_or_skip("a_lab_trace_from_curl_to_echo_service_is_reachable") {
        return;
    }
    let name = unique_name("tr");
    let tools = lab_tools();
    let lab = LabGuard::up(&LabSpec::default(), &name, &tools).expect("lab up");
    // DNAT picks endpoints at random: 2 of 3 are on node-b, so a few traces cross nodes.
    let mut crossed = None;
    for _ in 0..20 {
        let t = trace(&lab, "curl", "svc/echo-service", &tools).expect("trace");
        assert_eq!(t.path.reachable, Some(true), "{}", t.path.summary);
        assert_eq!(t.path.first_failure, None, "{}", t.path.summary);
        assert_eq!(t.reports[0].node, "node-a");
        // as the controller plans it: an endpoint run follows on the endpoint's node, same
        // node or not
        assert_eq!(t.reports.len(), 2, "{}", t.path.summary);
        if t.reports[1].node == "node-b" {
            crossed = Some(t);
            break;
        }
    }
    let t = crossed.expect("no trace chose an endpoint on node-b in 20 tries");
    assert_eq!(t.plans[1].role, PlanRole::Endpoint);
    let table = netdiag_lab::cli::render_table(&t, false);
    eprintln!("{table}");
    assert!(table.contains("RESULT: reachable"), "{table}");
    assert!(
        t.path
            .summary
            .contains("default/curl -> svc/echo-service reachable"),
        "{}",
        t.path.summary
    );
}
