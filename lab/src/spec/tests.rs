use super::*;

#[test]
fn the_default_lab_is_valid_and_has_the_seed_shape() {
    let spec = LabSpec::default();
    spec.validate().unwrap();
    assert_eq!(spec.nodes.len(), 2);
    assert_eq!(spec.pods_on("node-b").count(), 3);
    assert_eq!(spec.pod("curl").unwrap().ip, Ipv4Addr::new(10, 244, 1, 2));
    let echo = &spec.services[0];
    assert_eq!(
        spec.service_fqdn(echo),
        "echo-service.default.svc.cluster.local"
    );
}

#[test]
fn a_spec_round_trips_through_yaml_and_json() {
    let spec = LabSpec::default();
    let json = serde_json::to_string(&spec).unwrap();
    let back: LabSpec = serde_saphyr::from_str(&json).unwrap();
    assert_eq!(back, spec);
    let yaml = "clusterCidr: 10.244.0.0/16\nserviceCidr: 10.96.0.0/12\nnodeNetwork: 172.18.0.0/16\n\
nodes: [{name: n1, podCidr: 10.244.1.0/24, ip: 172.18.0.2}]\n\
pods: [{name: dns, node: n1, ip: 10.244.1.9}]\n\
services: [{name: kube-dns, clusterIp: 10.96.0.10, endpoints: [dns], ports: [{port: 53, protocol: UDP, targetPort: 53}]}]\n\
dns: {pod: dns, clusterIp: 10.96.0.10, nodeLocal: 169.254.25.10, domain: cluster.local}\n";
    let spec: LabSpec = serde_saphyr::from_str(yaml).unwrap();
    spec.validate().unwrap();
    assert_eq!(spec.pods[0].namespace, "default");
    assert_eq!(spec.services[0].ports[0].protocol, Protocol::UDP);
}

#[test]
fn a_pod_outside_its_node_cidr_is_rejected_with_the_reason() {
    let mut spec = LabSpec::default();
    spec.pods[0].ip = Ipv4Addr::new(10, 244, 2, 50);
    let err = spec.validate().unwrap_err().to_string();
    assert!(
        err.contains("pod curl") && err.contains("10.244.1.0/24"),
        "{err}"
    );
}

#[test]
fn overlapping_pod_cidrs_are_rejected() {
    let mut spec = LabSpec::default();
    spec.nodes[1].pod_cidr = "10.244.1.0/25".parse().unwrap();
    let err = spec.validate().unwrap_err().to_string();
    assert!(err.contains("overlaps"), "{err}");
}

#[test]
fn a_pod_on_the_gateway_address_is_rejected() {
    let mut spec = LabSpec::default();
    spec.pods[0].ip = Ipv4Addr::new(10, 244, 1, 1);
    assert!(spec.validate().is_err());
}

#[test]
fn duplicate_and_reserved_and_odd_names_are_rejected() {
    let mut spec = LabSpec::default();
    spec.pods[1].name = "curl".into();
    assert!(spec.validate().unwrap_err().to_string().contains("twice"));
    let mut spec = LabSpec::default();
    spec.pods[1].name = "net".into();
    assert!(
        spec.validate()
            .unwrap_err()
            .to_string()
            .contains("reserved")
    );
    let mut spec = LabSpec::default();
    spec.nodes[0].name = "Node_A".into();
    assert!(spec.validate().is_err());
}

#[test]
fn unknown_nodes_endpoints_and_dns_pods_are_rejected() {
    let mut spec = LabSpec::default();
    spec.pods[0].node = "node-z".into();
    assert!(spec.validate().unwrap_err().to_string().contains("node-z"));
    let mut spec = LabSpec::default();
    spec.services[0].endpoints.push("ghost".into());
    assert!(spec.validate().unwrap_err().to_string().contains("ghost"));
    let mut spec = LabSpec::default();
    spec.services[1].endpoints.clear();
    assert!(spec.validate().unwrap_err().to_string().contains("dns"));
}

#[test]
fn the_proxy_mode_defaults_to_iptables_and_reads_nftables() {
    let mut spec = LabSpec::default();
    assert_eq!(spec.proxy_mode, ProxyMode::Iptables);
    spec.proxy_mode = ProxyMode::Nftables;
    let json = serde_json::to_string(&spec).unwrap();
    assert!(json.contains("\"proxyMode\":\"nftables\""), "{json}");
    let back: LabSpec = serde_saphyr::from_str(&json).unwrap();
    assert_eq!(back.proxy_mode, ProxyMode::Nftables);
    // a spec (or a state file) written before the field existed is iptables
    let old = json.replace(",\"proxyMode\":\"nftables\"", "");
    let back: LabSpec = serde_saphyr::from_str(&old).unwrap();
    assert_eq!(back.proxy_mode, ProxyMode::Iptables);
    let bad = json.replace("\"nftables\"", "\"ipvs\"");
    assert!(serde_saphyr::from_str::<LabSpec>(&bad).is_err());
}
