//! The default lab in kube-proxy's nftables mode, built for real (root): `lab up --proxy-mode
//! nftables` loads `table ip kube-proxy` (no iptables rules) into every node, the kernel DNATs
//! the Services with it, `lab status` names the mode, and `lab down` leaves nothing behind.

mod lab_common;

use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::Command;

use lab_common::*;
use netdiag_agent::kernel::netns::run_in;
use netdiag_lab::cli::{LabCommand, run};
use netdiag_lab::{Lab, ProxyMode};

#[test]
fn lab_up_in_nftables_mode_serves_its_services_through_table_ip_kube_proxy() {
    let test = "lab_up_in_nftables_mode_serves_its_services_through_table_ip_kube_proxy";
    if !root_or_skip(test) {
        return;
    }
    assert!(
        netdiag_lab::exec::find_tool("nft").is_some(),
        "{test} needs nft: apt-get install nftables"
    );
    let name = unique_name("nft");
    let tools = lab_tools();
    let up = run(
        LabCommand::Up {
            name: name.clone(),
            spec: None,
            proxy_mode: Some(ProxyMode::Nftables),
            cni: None,
        },
        &tools,
    );
    // From here on a panic must not leave the lab behind.
    let result = std::panic::catch_unwind(|| {
        assert_eq!(up, std::process::ExitCode::SUCCESS, "lab up");
        let lab = Lab::open(&name).expect("open the lab");
        check_lab(&lab);
    });
    let report = Lab::down(&name).expect("lab down");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    assert_nothing_left(&name);
}

fn in_node(lab: &Lab, node: &str, argv: &[&str]) -> (bool, String) {
    let out = Command::new("ip")
        .args(["netns", "exec", &lab.names.netns(node)])
        .args(argv)
        .output()
        .expect("run ip netns exec");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

fn check_lab(lab: &Lab) {
    // the mode is in the state, and `lab status` says it
    assert_eq!(lab.spec().proxy_mode, ProxyMode::Nftables);
    let status = Command::new(lab_exe())
        .args(["status", "--name", lab.name()])
        .output()
        .expect("run lab status");
    let text = String::from_utf8_lossy(&status.stdout);
    assert!(status.status.success(), "{text}");
    assert!(
        text.contains("kube-proxy: nftables mode (table ip kube-proxy in every node)"),
        "{text}"
    );

    for node in ["node-a", "node-b"] {
        let (ok, map) = in_node(
            lab,
            node,
            &["nft", "list", "map", "ip", "kube-proxy", "service-ips"],
        );
        assert!(ok, "{node}: {map}");
        for key in [
            "10.96.45.10 . tcp . 80 : goto service-",
            "10.96.0.10 . udp . 53 : goto service-",
            "10.96.0.10 . tcp . 53 : goto service-",
        ] {
            assert!(map.contains(key), "{node}: no {key:?} in\n{map}");
        }
        // nftables mode only: kube-proxy's iptables chains were never loaded
        if let Some(save) = netdiag_lab::exec::find_tool("iptables-save") {
            let (_, rules) = in_node(lab, node, &[&save.display().to_string()]);
            assert!(!rules.contains("KUBE-SERVICES"), "{node}: {rules}");
        }
    }

    let curl = lab.netns_path("curl");
    // ClusterIP: over 60 connections numgen sends some to every endpoint
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

    // NodePort on the other node's IP, matched by its nodeport-ips set
    let via_node_port = run_in(&curl, || {
        tcp_line(SocketAddrV4::new(Ipv4Addr::new(172, 18, 0, 3), 30080)).map_err(|e| e.to_string())
    })
    .expect("enter curl")
    .expect("connect to the NodePort");
    assert!(via_node_port.starts_with("echo-"), "{via_node_port}");

    // a port the ClusterIP does not serve is rejected by cluster-ips-check, not left to time out
    let refused = run_in(&curl, || {
        tcp_line(SocketAddrV4::new(Ipv4Addr::new(10, 96, 45, 10), 81)).map_err(|e| e.kind())
    })
    .expect("enter curl");
    assert_eq!(
        refused,
        Err(std::io::ErrorKind::ConnectionRefused),
        "10.96.45.10:81"
    );

    // DNS: nodelocaldns (on the node) reaches kube-dns through the nat-output DNAT
    let (rcode, ips) = run_in(&curl, || {
        dns_a(
            SocketAddrV4::new(Ipv4Addr::new(169, 254, 25, 10), 53),
            "echo-service.default.svc.cluster.local.",
        )
        .map_err(|e| e.to_string())
    })
    .expect("enter curl")
    .expect("DNS through nodelocaldns");
    assert_eq!(
        (rcode.as_str(), ips),
        ("No Error", vec![Ipv4Addr::new(10, 96, 45, 10)])
    );
}
