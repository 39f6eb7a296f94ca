//! The build plan: a validated spec turned into the ordered list of actions that build the lab.
//!
//! Pure (no I/O), so the whole shape of the lab is unit-tested without root. `exec.rs` runs the
//! actions and records each thing created in the state file.
//!
//! The shape (what a kind cluster with a bridge CNI leaves on its nodes):
//! - `nd-<lab>-net`: a bridge `br0` standing in for the nodes' shared network, no uplink;
//! - each node `nd-<lab>-<node>`: `eth0` on that network, `cni0` bridge with the pod gateway,
//!   routes to other nodes' pod CIDRs via their node IPs, the Service CIDR on `eth0`,
//!   `ip_forward=1`, `bridge-nf-call-iptables=1`, kube-proxy's rules, and nodelocaldns on an
//!   `ifb` link named `nodelocaldns` (this kernel has no `dummy` links);
//! - each pod `nd-<lab>-<pod>`: `eth0` (veth to `veth<hash>` on `cni0`), default route via
//!   the gateway, `/etc/netns/<ns>/resolv.conf`, and one long-lived process.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use super::LabTools;
use super::dns;
use super::kube_proxy::kube_proxy_rules;
use super::names::{LabNames, cluster_port, host_veth};
use super::spec::LabSpec;

/// Absolute paths of the host tools the lab runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostTools {
    pub ip: PathBuf,
    pub iptables_restore: PathBuf,
    pub sysctl: PathBuf,
    pub dnsmasq: PathBuf,
}

/// One step of a build.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Action {
    /// `ip netns add NAME`; recorded.
    AddNetns(String),
    /// `ip [-n NETNS] ARGS...`.
    Ip {
        netns: Option<String>,
        args: Vec<String>,
    },
    /// `ip netns exec NETNS sysctl -w KEY=VALUE...`.
    Sysctl {
        netns: String,
        settings: Vec<String>,
    },
    /// The nodelocaldns address on an `ifb` link named `nodelocaldns`, or on `lo` when the
    /// kernel cannot make one.
    NodeLocalAddress { netns: String, addr: Ipv4Addr },
    /// `ip netns exec NETNS iptables-restore` with `rules` on stdin.
    IptablesRestore { netns: String, rules: String },
    /// A directory; recorded.
    MakeDir(PathBuf),
    /// A file; recorded.
    WriteFile { path: PathBuf, contents: String },
    /// A detached long-lived process; recorded before it starts.
    Spawn {
        what: String,
        netns: String,
        argv: Vec<String>,
        pid_file: PathBuf,
        log_file: PathBuf,
    },
}

fn ip(netns: &str, args: &[&str]) -> Action {
    Action::Ip {
        netns: Some(netns.into()),
        args: args.iter().map(|s| s.to_string()).collect(),
    }
}

/// `ip netns exec NETNS` + argv: how every lab process enters its namespace (and, for pods,
/// gets `/etc/netns/<ns>/resolv.conf` bound over /etc/resolv.conf).
fn in_netns(host: &HostTools, netns: &str, argv: Vec<String>) -> Vec<String> {
    let mut v = vec![
        host.ip.display().to_string(),
        "netns".into(),
        "exec".into(),
        netns.into(),
    ];
    v.extend(argv);
    v
}

/// The marker every lab process carries in its command line: the lab's state dir.
pub fn process_marker(names: &LabNames) -> String {
    format!("{}/", names.state_dir().display())
}

/// Every action that builds `spec` as lab `names`, in order.
pub fn plan(spec: &LabSpec, names: &LabNames, host: &HostTools, tools: &LabTools) -> Vec<Action> {
    let mut a = Vec::new();
    let net = names.cluster_netns();
    a.push(Action::AddNetns(net.clone()));
    a.push(ip(&net, &["link", "set", "lo", "up"]));
    a.push(ip(&net, &["link", "add", "br0", "type", "bridge"]));
    a.push(ip(&net, &["link", "set", "br0", "up"]));

    let node_prefix = spec.node_network.prefix;
    for (i, node) in spec.nodes.iter().enumerate() {
        let ns = names.netns(&node.name);
        let port = cluster_port(i);
        let gw = node.pod_cidr.nth(1);
        a.push(Action::AddNetns(ns.clone()));
        a.push(ip(&ns, &["link", "set", "lo", "up"]));
        a.push(ip(
            &net,
            &[
                "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ],
        ));
        a.push(ip(&net, &["link", "set", &port, "master", "br0", "up"]));
        a.push(ip(
            &ns,
            &[
                "addr",
                "add",
                &format!("{}/{node_prefix}", node.ip),
                "dev",
                "eth0",
            ],
        ));
        a.push(ip(&ns, &["link", "set", "eth0", "up"]));
        a.push(Action::Sysctl {
            netns: ns.clone(),
            settings: vec![
                "net.ipv4.ip_forward=1".into(),
                "net.bridge.bridge-nf-call-iptables=1".into(),
            ],
        });
        a.push(ip(&ns, &["link", "add", "cni0", "type", "bridge"]));
        a.push(ip(
            &ns,
            &[
                "addr",
                "add",
                &format!("{gw}/{}", node.pod_cidr.prefix),
                "dev",
                "cni0",
            ],
        ));
        a.push(ip(&ns, &["link", "set", "cni0", "up"]));
        a.push(Action::NodeLocalAddress {
            netns: ns.clone(),
            addr: spec.dns.node_local,
        });
        for other in spec.nodes.iter().filter(|o| o.name != node.name) {
            a.push(ip(
                &ns,
                &[
                    "route",
                    "add",
                    &other.pod_cidr.to_string(),
                    "via",
                    &other.ip.to_string(),
                    "dev",
                    "eth0",
                ],
            ));
        }
        // Service VIPs must be routable for the node's own sockets (nodelocaldns forwarding to
        // the kube-dns ClusterIP) before kube-proxy's OUTPUT DNAT rewrites them.
        a.push(ip(
            &ns,
            &[
                "route",
                "add",
                &spec.service_cidr.to_string(),
                "dev",
                "eth0",
            ],
        ));
    }

    for pod in &spec.pods {
        let Some(node) = spec.node(&pod.node) else {
            continue; // validate() guarantees the node exists
        };
        let node_ns = names.netns(&node.name);
        let ns = names.netns(&pod.name);
        let veth = host_veth(&pod.name);
        a.push(Action::AddNetns(ns.clone()));
        a.push(ip(&ns, &["link", "set", "lo", "up"]));
        a.push(ip(
            &node_ns,
            &[
                "link", "add", &veth, "type", "veth", "peer", "name", "eth0", "netns", &ns,
            ],
        ));
        a.push(ip(
            &node_ns,
            &["link", "set", &veth, "master", "cni0", "up"],
        ));
        a.push(ip(
            &ns,
            &[
                "addr",
                "add",
                &format!("{}/{}", pod.ip, node.pod_cidr.prefix),
                "dev",
                "eth0",
            ],
        ));
        a.push(ip(&ns, &["link", "set", "eth0", "up"]));
        a.push(ip(
            &ns,
            &[
                "route",
                "add",
                "default",
                "via",
                &node.pod_cidr.nth(1).to_string(),
            ],
        ));
        let etc = names.etc_netns_dir(&pod.name);
        a.push(Action::MakeDir(etc.clone()));
        a.push(Action::WriteFile {
            path: etc.join("resolv.conf"),
            contents: dns::resolv_conf(spec, pod),
        });
    }

    for node in &spec.nodes {
        a.push(Action::IptablesRestore {
            netns: names.netns(&node.name),
            rules: kube_proxy_rules(spec, &node.name),
        });
    }

    // kube-dns first: nodelocaldns forwards to it.
    let hosts = names.state_dir().join("kube-dns.hosts");
    a.push(Action::WriteFile {
        path: hosts.clone(),
        contents: dns::hosts_file(spec),
    });
    if let Some(pod) = spec.pod(&spec.dns.pod) {
        let (pid_file, log_file) = (names.pid_file("kube-dns"), names.log_file("kube-dns"));
        let mut argv = vec![host.dnsmasq.display().to_string()];
        argv.extend(dns::kube_dns_args(spec, pod, &hosts, &pid_file, &log_file));
        a.push(Action::Spawn {
            what: "kube-dns".into(),
            netns: names.netns(&pod.name),
            argv: in_netns(host, &names.netns(&pod.name), argv),
            pid_file,
            log_file: names.log_file("kube-dns.out"),
        });
    }
    for node in &spec.nodes {
        let what = format!("nodelocaldns-{}", node.name);
        let (pid_file, log_file) = (names.pid_file(&what), names.log_file(&what));
        let mut argv = vec![host.dnsmasq.display().to_string()];
        argv.extend(dns::node_local_dns_args(spec, &pid_file, &log_file));
        a.push(Action::Spawn {
            what,
            netns: names.netns(&node.name),
            argv: in_netns(host, &names.netns(&node.name), argv),
            pid_file,
            log_file: names.log_file(&format!("nodelocaldns-{}.out", node.name)),
        });
    }
    for pod in &spec.pods {
        let what = format!("pod-{}", pod.name);
        let pid_file = names.pid_file(&what);
        let mut argv = vec![tools.exe.display().to_string()];
        argv.extend(tools.prefix.iter().cloned());
        argv.extend(["lab-pod".into(), "--name".into(), pod.name.clone()]);
        argv.extend(["--pid-file".into(), pid_file.display().to_string()]);
        for p in &pod.tcp {
            argv.extend(["--tcp".into(), p.to_string()]);
        }
        for p in &pod.udp {
            argv.extend(["--udp".into(), p.to_string()]);
        }
        a.push(Action::Spawn {
            what,
            netns: names.netns(&pod.name),
            argv: in_netns(host, &names.netns(&pod.name), argv),
            pid_file,
            log_file: names.log_file(&format!("pod-{}", pod.name)),
        });
    }

    a
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> HostTools {
        HostTools {
            ip: "/sbin/ip".into(),
            iptables_restore: "/sbin/iptables-restore".into(),
            sysctl: "/sbin/sysctl".into(),
            dnsmasq: "/usr/sbin/dnsmasq".into(),
        }
    }

    fn tools() -> LabTools {
        LabTools {
            exe: "/bin/kubectl-netdiag".into(),
            prefix: vec!["agent".into()],
        }
    }

    fn default_plan() -> Vec<Action> {
        plan(&LabSpec::default(), &LabNames::new("t1"), &host(), &tools())
    }

    fn ip_lines(plan: &[Action], netns: &str) -> Vec<String> {
        plan.iter()
            .filter_map(|a| match a {
                Action::Ip {
                    netns: Some(n),
                    args,
                } if n == netns => Some(args.join(" ")),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn every_namespace_is_created_once_and_named_for_the_lab() {
        let plan = default_plan();
        let ns: Vec<&str> = plan
            .iter()
            .filter_map(|a| match a {
                Action::AddNetns(n) => Some(n.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(
            ns,
            [
                "nd-t1-net",
                "nd-t1-node-a",
                "nd-t1-node-b",
                "nd-t1-curl",
                "nd-t1-echo-1",
                "nd-t1-echo-2",
                "nd-t1-echo-3",
                "nd-t1-coredns"
            ]
        );
    }

    #[test]
    fn nodes_route_to_each_other_and_have_no_default_route() {
        let plan = default_plan();
        let a = ip_lines(&plan, "nd-t1-node-a");
        assert!(
            a.contains(&"route add 10.244.2.0/24 via 172.18.0.3 dev eth0".to_string()),
            "{a:#?}"
        );
        assert!(a.contains(&"addr add 10.244.1.1/24 dev cni0".to_string()));
        assert!(a.contains(&"addr add 172.18.0.2/16 dev eth0".to_string()));
        for n in ["nd-t1-node-a", "nd-t1-node-b", "nd-t1-net"] {
            assert!(
                !ip_lines(&plan, n).iter().any(|l| l.contains("default")),
                "{n}"
            );
        }
    }

    #[test]
    fn pods_hang_off_their_nodes_bridge_with_a_default_route_via_the_gateway() {
        let plan = default_plan();
        let veth = host_veth("echo-2");
        let b = ip_lines(&plan, "nd-t1-node-b");
        assert!(b.contains(&format!(
            "link add {veth} type veth peer name eth0 netns nd-t1-echo-2"
        )));
        assert!(b.contains(&format!("link set {veth} master cni0 up")));
        let p = ip_lines(&plan, "nd-t1-echo-2");
        assert!(p.contains(&"addr add 10.244.2.2/24 dev eth0".to_string()));
        assert!(p.contains(&"route add default via 10.244.2.1".to_string()));
        assert!(
            plan.contains(&Action::WriteFile {
                path: "/etc/netns/nd-t1-echo-2/resolv.conf".into(),
                contents: "search default.svc.cluster.local svc.cluster.local cluster.local\n\
                       nameserver 169.254.25.10\noptions ndots:5\n"
                    .into(),
            })
        );
    }

    #[test]
    fn pod_processes_run_through_ip_netns_exec_with_the_tools_prefix_and_the_marker() {
        let plan = default_plan();
        let argv = plan
            .iter()
            .find_map(|a| match a {
                Action::Spawn { what, argv, .. } if what == "pod-echo-1" => Some(argv.join(" ")),
                _ => None,
            })
            .unwrap();
        assert_eq!(
            argv,
            "/sbin/ip netns exec nd-t1-echo-1 /bin/kubectl-netdiag agent lab-pod --name echo-1 \
             --pid-file /run/netdiag/labs/t1/pod-echo-1.pid --tcp 8080"
        );
        let marker = process_marker(&LabNames::new("t1"));
        for a in &plan {
            if let Action::Spawn { argv, .. } = a {
                assert!(argv.join(" ").contains(&marker), "{argv:?}");
            }
        }
    }

    #[test]
    fn kube_dns_starts_before_nodelocaldns_and_rules_are_loaded_before_both() {
        let plan = default_plan();
        let pos = |f: &dyn Fn(&Action) -> bool| plan.iter().position(f).unwrap();
        let rules = pos(&|a| matches!(a, Action::IptablesRestore { .. }));
        let kube_dns = pos(&|a| matches!(a, Action::Spawn { what, .. } if what == "kube-dns"));
        let local =
            pos(&|a| matches!(a, Action::Spawn { what, .. } if what.starts_with("nodelocaldns")));
        assert!(rules < kube_dns && kube_dns < local);
        let spawn_ns = plan.iter().find_map(|a| match a {
            Action::Spawn { what, netns, .. } if what == "kube-dns" => Some(netns.clone()),
            _ => None,
        });
        assert_eq!(spawn_ns.as_deref(), Some("nd-t1-coredns"));
    }
}
