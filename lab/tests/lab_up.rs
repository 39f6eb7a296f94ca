//! The default lab, built for real (root): Services balance over all endpoints, DNS answers
//! through nodelocaldns and kube-dns, NodePorts work, and `down` leaves nothing behind.

mod lab_common;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;

use lab_common::*;
use netdiag_agent::kernel::netns::run_in;
use netdiag_lab::{Lab, LabSpec};

#[test]
fn the_default_lab_serves_its_service_and_dns_and_down_removes_everything() {
    if !root_or_skip("the_default_lab_serves_its_service_and_dns_and_down_removes_everything") {
        return;
    }
    let name = unique_name("up");
    let tools = lab_tools();
    let lab = Lab::up(&LabSpec::default(), &name, &tools).expect("lab up");
    // From here on a panic must not leave the lab behind.
    let result = std::panic::catch_unwind(|| check_lab(&lab));
    let report = Lab::down(&name).expect("lab down");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert!(report.namespaces.len() >= 8, "{report:?}");
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    assert_nothing_left(&name);
    // a second down finds nothing
    assert!(Lab::down(&name).is_err());
}

fn check_lab(lab: &Lab) {
    let curl = lab.netns_path("curl");

    // ClusterIP: many connections, and over time every endpoint answers
    let seen: BTreeSet<String> = run_in(&curl, || {
        (0..60)
            .map(|_| tcp_line(SocketAddrV4::new(Ipv4Addr::new(10, 96, 45, 10), 80)))
            .collect::<Result<BTreeSet<_>, _>>()
            .map_err(|e| e.to_string())
    })
    .expect("enter curl")
    .expect("connect to echo-service");
    assert_eq!(
        seen,
        ["echo-1", "echo-2", "echo-3"].map(String::from).into(),
        "endpoints reached"
    );

    // NodePort on the other node's IP reaches an echo pod too
    let via_node_port = run_in(&curl, || {
        tcp_line(SocketAddrV4::new(Ipv4Addr::new(172, 18, 0, 3), 30080)).map_err(|e| e.to_string())
    })
    .expect("enter curl")
    .expect("connect to the NodePort");
    assert!(via_node_port.starts_with("echo-"), "{via_node_port}");

    // DNS: nodelocaldns forwards cluster.local to kube-dns behind its ClusterIP
    let fqdn = "echo-service.default.svc.cluster.local.";
    for server in [
        Ipv4Addr::new(169, 254, 25, 10),
        Ipv4Addr::new(10, 96, 0, 10),
    ] {
        let (rcode, ips) = run_in(&curl, move || {
            dns_a(SocketAddrV4::new(server, 53), fqdn).map_err(|e| e.to_string())
        })
        .expect("enter curl")
        .unwrap_or_else(|e| panic!("DNS query to {server}: {e}"));
        assert_eq!(rcode, "No Error", "{server}");
        assert_eq!(ips, vec![Ipv4Addr::new(10, 96, 45, 10)], "{server}");
    }
    // an unknown cluster name is NXDOMAIN; a name outside the cluster is never forwarded
    let (rcode, ips) = run_in(&curl, || {
        dns_a(
            SocketAddrV4::new(Ipv4Addr::new(169, 254, 25, 10), 53),
            "nope.default.svc.cluster.local.",
        )
        .map_err(|e| e.to_string())
    })
    .expect("enter curl")
    .expect("DNS query for an unknown name");
    assert_eq!((rcode.as_str(), ips.len()), ("Non-Existent Domain", 0));
    let (rcode, ips) = run_in(&curl, || {
        dns_a(
            SocketAddrV4::new(Ipv4Addr::new(169, 254, 25, 10), 53),
            "example.com.",
        )
        .map_err(|e| e.to_string())
    })
    .expect("enter curl")
    .expect("DNS query for an outside name");
    assert!(ips.is_empty() && rcode != "No Error", "{rcode} {ips:?}");

    // the curl pod's process sees the pod's resolv.conf, as on a real node
    let proc_ = lab
        .state
        .processes
        .iter()
        .find(|p| p.what == "pod-curl")
        .expect("curl's process");
    let pid = proc_.pid.expect("curl's pid");
    let resolv =
        std::fs::read_to_string(PathBuf::from(format!("/proc/{pid}/root/etc/resolv.conf")))
            .expect("read the pod's resolv.conf");
    assert!(resolv.contains("nameserver 169.254.25.10"), "{resolv}");
    assert!(
        resolv.contains("search default.svc.cluster.local"),
        "{resolv}"
    );

    // every process the lab started is alive and recorded with its start time
    assert_eq!(lab.state.processes.len(), 5 + 1 + 2);
    for p in &lab.state.processes {
        let pid = p.pid.expect("pid recorded");
        assert_eq!(
            netdiag_lab::process::start_time(pid),
            p.start_time,
            "{}",
            p.what
        );
    }
    // a second lab of the same name is refused
    let err = Lab::up(&LabSpec::default(), lab.name(), &lab_tools()).unwrap_err();
    assert!(err.to_string().contains("already exists"), "{err}");
}
