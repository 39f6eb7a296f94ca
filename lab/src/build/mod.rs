//! The build plan: a validated spec turned into the ordered list of actions that build the lab.
//!
//! Pure (no I/O), so the whole shape of the lab is unit-tested without root. `exec.rs` runs the
//! actions and records each thing created in the state file.
//!
//! The shape (what a kind cluster with a bridge CNI leaves on its nodes):
//! - `nd-<lab>-net`: a bridge `br0` standing in for the nodes' shared network, no uplink;
//! - each node `nd-<lab>-<node>`: `eth0` on that network, `cni0` bridge with the pod gateway,
//!   routes to other nodes' pod CIDRs via their node IPs, the Service CIDR on `eth0`,
//!   `ip_forward=1`, `bridge-nf-call-iptables=1`, kube-proxy's rules (iptables chains, or
//!   `table ip kube-proxy` in nftables mode), and nodelocaldns on an
//!   `ifb` link named `nodelocaldns` (this kernel has no `dummy` links);
//! - each pod `nd-<lab>-<pod>`: `eth0` (veth to `veth<hash>` on `cni0`, in hairpin mode as
//!   kubelet's `--hairpin-mode hairpin-veth` sets it, unless the spec says `hairpin: false`),
//!   default route via the gateway, `/etc/netns/<ns>/resolv.conf`, and one long-lived process.

use std::net::Ipv4Addr;
use std::path::PathBuf;

use super::LabTools;
use super::dns;
use super::kube_proxy::{kube_proxy_nft, kube_proxy_rules};
use super::names::LabNames;
use super::spec::{LabSpec, ProxyMode};

/// Absolute paths of the host tools the lab runs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HostTools {
    pub ip: PathBuf,
    /// Needed in iptables mode; in nftables mode only found if installed (else the bare name).
    pub iptables_restore: PathBuf,
    /// Needed in nftables mode; `None` when not installed.
    pub nft: Option<PathBuf>,
    pub sysctl: PathBuf,
    pub dnsmasq: PathBuf,
    /// iproute2's `bridge`, for the VXLAN lab's FDB entries.
    pub bridge: PathBuf,
}

/// Host tools at their usual Debian paths, for plans built in unit tests.
#[cfg(test)]
pub(crate) fn test_host() -> HostTools {
    HostTools {
        ip: "/sbin/ip".into(),
        iptables_restore: "/sbin/iptables-restore".into(),
        nft: Some("/usr/sbin/nft".into()),
        sysctl: "/sbin/sysctl".into(),
        dnsmasq: "/usr/sbin/dnsmasq".into(),
        bridge: "/sbin/bridge".into(),
    }
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
    /// `ip netns exec NETNS bridge ARGS...` (FDB entries).
    Bridge { netns: String, args: Vec<String> },
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
    /// `ip netns exec NETNS nft -f -` with `script` on stdin.
    NftLoad { netns: String, script: String },
    /// A directory; recorded.
    MakeDir(PathBuf),
    /// A file; recorded.
    WriteFile { path: PathBuf, contents: String },
    /// Stop the lab process recorded as `what` (only if it is the lab's own), and forget it.
    Stop { what: String },
    /// A detached long-lived process; recorded before it starts (replacing an earlier record
    /// of the same `what`).
    Spawn {
        what: String,
        netns: String,
        argv: Vec<String>,
        pid_file: PathBuf,
        log_file: PathBuf,
    },
}

pub(crate) fn ip(netns: &str, args: &[&str]) -> Action {
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

/// Which parts of a lab to build on top of its network (namespaces, links, addresses, routes,
/// resolv.conf files): all of them for `lab up`; fewer for a test that brings its own rules,
/// servers or DNS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Parts {
    /// kube-proxy's rules for the Services (in the spec's proxy mode), in every node.
    pub kube_proxy: bool,
    /// kube-dns and nodelocaldns: the dnsmasq processes and the nodelocaldns address.
    pub dns: bool,
    /// One long-lived server process per pod (the `lab pod` subcommand).
    pub pod_processes: bool,
}

impl Parts {
    /// The whole lab.
    pub const ALL: Parts = Parts {
        kube_proxy: true,
        dns: true,
        pod_processes: true,
    };
    /// Only the network: no rules, no processes.
    pub const NETWORK: Parts = Parts {
        kube_proxy: false,
        dns: false,
        pod_processes: false,
    };
}

/// Every action that builds the `parts` of `spec` as lab `names`, in order.
pub fn plan(
    spec: &LabSpec,
    names: &LabNames,
    host: &HostTools,
    tools: &LabTools,
    parts: Parts,
) -> Vec<Action> {
    let mut a = network::network(spec, names);
    if parts.kube_proxy {
        a.extend(kube_proxy_actions(spec, names));
    }
    // Pods' own processes before kube-dns, as kubelet starts a sandbox's pause before its
    // containers: the pod process is then the oldest in its namespace, its holder.
    if parts.pod_processes {
        a.extend(pod_processes(spec, names, host, tools));
    }
    if parts.dns {
        a.extend(cluster_dns(spec, names, host));
    }
    a
}

/// kube-proxy's rules for `spec`'s Services in every node, in its proxy mode.
pub fn kube_proxy_actions(spec: &LabSpec, names: &LabNames) -> Vec<Action> {
    spec.nodes
        .iter()
        .map(|node| {
            let netns = names.netns(&node.name);
            match spec.proxy_mode {
                ProxyMode::Iptables => Action::IptablesRestore {
                    netns,
                    rules: kube_proxy_rules(spec, &node.name),
                },
                ProxyMode::Nftables => Action::NftLoad {
                    netns,
                    script: kube_proxy_nft(spec, &node.name),
                },
            }
        })
        .collect()
}

/// kube-dns, then nodelocaldns on every node (it forwards to kube-dns).
fn cluster_dns(spec: &LabSpec, names: &LabNames, host: &HostTools) -> Vec<Action> {
    let mut a: Vec<Action> = spec
        .nodes
        .iter()
        .map(|node| Action::NodeLocalAddress {
            netns: names.netns(&node.name),
            addr: spec.dns.node_local,
        })
        .collect();
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
    a
}

/// One server process per pod; each writes its pid file once its ports are bound.
fn pod_processes(
    spec: &LabSpec,
    names: &LabNames,
    host: &HostTools,
    tools: &LabTools,
) -> Vec<Action> {
    let mut a = Vec::new();
    for pod in &spec.pods {
        let what = format!("pod-{}", pod.name);
        let pid_file = names.pid_file(&what);
        let mut argv = tools.pods.argv();
        argv.extend(["pod".into(), "--name".into(), pod.name.clone()]);
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

mod network;
pub use network::{FLANNEL_DEVICE, OverlayEntry, calico_pod_route, overlay_entries};
#[cfg(test)]
mod tests;
