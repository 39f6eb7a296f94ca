//! Cluster DNS in the lab: what the two dnsmasq instances are told, and the pods' resolv.conf.
//!
//! - kube-dns: a dnsmasq in the kube-dns pod answering `<svc>.<ns>.svc.<domain>` from a hosts
//!   file. `--local=/<domain>/` makes unknown cluster names NXDOMAIN (as CoreDNS would), and with
//!   `--no-resolv` and no `--server` nothing is ever forwarded off the lab.
//! - nodelocaldns: a dnsmasq in each node on the link-local address, forwarding only the cluster
//!   domain to the kube-dns ClusterIP (through the node's own kube-proxy rules, as on a real node).
//!
//! Both run with `--keep-in-foreground` under the lab's own supervision (pid file, log file),
//! with `--conf-file=/dev/null` so a host's /etc/dnsmasq.conf cannot add upstreams.

use std::net::Ipv4Addr;
use std::path::Path;

use super::spec::{LabSpec, PodSpec};

/// The kube-dns hosts file: one line per Service, `ClusterIP FQDN`.
pub fn hosts_file(spec: &LabSpec) -> String {
    spec.services
        .iter()
        .map(|s| format!("{} {}\n", s.cluster_ip, spec.service_fqdn(s)))
        .collect()
}

fn common_args(listen: Ipv4Addr, pid_file: &Path, log_file: &Path) -> Vec<String> {
    vec![
        "--keep-in-foreground".into(),
        "--conf-file=/dev/null".into(),
        "--no-resolv".into(),
        "--no-hosts".into(),
        "--bind-interfaces".into(),
        format!("--listen-address={listen}"),
        // root keeps the pid and log files in the lab's state dir writable
        "--user=root".into(),
        format!("--pid-file={}", pid_file.display()),
        format!("--log-facility={}", log_file.display()),
        "--log-queries".into(),
        // no caching: every query shows up in the logs and in conntrack, like a fresh lookup
        "--cache-size=0".into(),
    ]
}

/// dnsmasq arguments (after the program) for kube-dns in `pod`.
pub fn kube_dns_args(
    spec: &LabSpec,
    pod: &PodSpec,
    hosts: &Path,
    pid_file: &Path,
    log_file: &Path,
) -> Vec<String> {
    let mut args = common_args(pod.ip, pid_file, log_file);
    args.push(format!("--addn-hosts={}", hosts.display()));
    args.push(format!("--local=/{}/", spec.dns.domain));
    args
}

/// dnsmasq arguments (after the program) for nodelocaldns on a node.
pub fn node_local_dns_args(spec: &LabSpec, pid_file: &Path, log_file: &Path) -> Vec<String> {
    let mut args = common_args(spec.dns.node_local, pid_file, log_file);
    args.push(format!(
        "--server=/{}/{}",
        spec.dns.domain, spec.dns.cluster_ip
    ));
    args
}

/// A pod's resolv.conf (ClusterFirst with nodelocaldns), as kubelet writes it.
pub fn resolv_conf(spec: &LabSpec, pod: &PodSpec) -> String {
    let d = &spec.dns.domain;
    format!(
        "search {ns}.svc.{d} svc.{d} {d}\nnameserver {}\noptions ndots:5\n",
        spec.dns.node_local,
        ns = pod.namespace
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kube_dns_knows_every_service_and_never_forwards() {
        let spec = LabSpec::default();
        let hosts = hosts_file(&spec);
        assert!(hosts.contains("10.96.45.10 echo-service.default.svc.cluster.local\n"));
        assert!(hosts.contains("10.96.0.10 kube-dns.kube-system.svc.cluster.local\n"));
        let pod = spec.pod("coredns").unwrap();
        let args = kube_dns_args(
            &spec,
            pod,
            Path::new("/h"),
            Path::new("/p"),
            Path::new("/l"),
        );
        assert!(args.contains(&"--no-resolv".to_string()));
        assert!(args.contains(&"--listen-address=10.244.2.4".to_string()));
        assert!(args.contains(&"--addn-hosts=/h".to_string()));
        assert!(!args.iter().any(|a| a.starts_with("--server")), "{args:?}");
    }

    #[test]
    fn nodelocaldns_forwards_only_the_cluster_domain_to_kube_dns() {
        let spec = LabSpec::default();
        let args = node_local_dns_args(&spec, Path::new("/p"), Path::new("/l"));
        let servers: Vec<_> = args.iter().filter(|a| a.starts_with("--server")).collect();
        assert_eq!(servers, vec!["--server=/cluster.local/10.96.0.10"]);
        assert!(args.contains(&"--no-resolv".to_string()));
        assert!(args.contains(&"--listen-address=169.254.25.10".to_string()));
    }

    #[test]
    fn resolv_conf_searches_the_pods_namespace_first() {
        let spec = LabSpec::default();
        let text = resolv_conf(&spec, spec.pod("coredns").unwrap());
        assert_eq!(
            text,
            "search kube-system.svc.cluster.local svc.cluster.local cluster.local\n\
             nameserver 169.254.25.10\noptions ndots:5\n"
        );
    }
}
