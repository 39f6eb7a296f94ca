//! A lab whose `up` fails or is interrupted half-way leaves nothing behind (root).

mod lab_common;

use lab_common::*;
use netdiag_lab::{Lab, LabError, LabSpec, LabTools};

#[test]
fn a_lab_up_that_fails_after_starting_dns_removes_namespaces_processes_and_files() {
    if !root_or_skip(
        "a_lab_up_that_fails_after_starting_dns_removes_namespaces_processes_and_files",
    ) {
        return;
    }
    let name = unique_name("fail");
    // The pods' process cannot start: the build gets as far as the pods' processes, after every
    // namespace, /etc/netns entry, iptables rule and both kinds of dnsmasq exist.
    let tools = LabTools::mounted("/nonexistent/netdiag-lab", &[]);
    let err = Lab::up(&LabSpec::default(), &name, &tools).unwrap_err();
    assert!(
        matches!(err, LabError::NotReady { ref what, .. } if what.starts_with("pod-")),
        "{err}"
    );
    assert_nothing_left(&name);
}

#[test]
fn an_invalid_lab_spec_is_refused_before_anything_is_built() {
    if !root_or_skip("an_invalid_lab_spec_is_refused_before_anything_is_built") {
        return;
    }
    let name = unique_name("bad");
    let mut spec = LabSpec::default();
    spec.nodes[1].pod_cidr = "10.244.1.0/24".parse().unwrap();
    let err = Lab::up(&spec, &name, &lab_tools()).unwrap_err();
    assert!(err.to_string().contains("overlaps"), "{err}");
    assert_nothing_left(&name);
}
