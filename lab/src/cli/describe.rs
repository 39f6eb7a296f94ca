//! What `lab up` and `lab status` print: the lab's nodes, pods and Services, and what to try.

use std::fmt::Write as _;
use std::process::ExitCode;

use netdiag_model::inspect::CniFingerprint;
use netdiag_model::report::TraceNodeFacts;

use crate::spec::Cni;
use crate::{Lab, LabError, ProxyMode, process};

/// What `up` prints: what was built, and what to try next.
pub fn up_summary(lab: &Lab, seconds: f64) -> String {
    let mut out = format!("lab {} is up ({seconds:.1} s)\n", lab.name());
    out.push_str(&describe(lab, None));
    let n = lab.name();
    let spec = lab.spec();
    let first_pod = spec.pods.first().map(|p| p.name.as_str()).unwrap_or("curl");
    let first_node = spec
        .nodes
        .first()
        .map(|n| n.name.as_str())
        .unwrap_or("node-a");
    // the first Service that is not cluster DNS: what a learner wants to reach
    let svc = spec
        .services
        .iter()
        .find(|s| s.cluster_ip != spec.dns.cluster_ip)
        .or(spec.services.first());
    let _ = write!(out, "\nnext:\n");
    if let Some(s) = svc {
        let port = s.ports.first().map(|p| p.port).unwrap_or(80);
        let _ = write!(
            out,
            "  kubectl netdiag lab trace --name {n} --from {first_pod} --to svc/{name}\n  \
             sudo ip netns exec {pod_ns} bash -c 'exec 3<>/dev/tcp/{ip}/{port}; cat <&3'   # which pod answers?\n",
            name = s.name,
            ip = s.cluster_ip,
            pod_ns = lab.names.netns(first_pod),
        );
    }
    let rules = match spec.proxy_mode {
        ProxyMode::Iptables => "iptables -t nat -L KUBE-SERVICES -n",
        ProxyMode::Nftables => "nft list map ip kube-proxy service-ips",
    };
    let _ = write!(
        out,
        "  sudo ip netns exec {node_ns} {rules}\n  \
         kubectl netdiag lab down --name {n}\n",
        node_ns = lab.names.netns(first_node),
    );
    out
}

/// Nodes, pods and Services of a lab; with `alive`, each pod's process state.
/// Whether the lab process recorded as `what` is alive (None: not recorded).
type AliveFn<'a> = &'a dyn Fn(&str) -> Option<bool>;

fn describe(lab: &Lab, alive: Option<AliveFn>) -> String {
    let spec = lab.spec();
    let mut out = String::from("nodes:\n");
    for n in &spec.nodes {
        let _ = writeln!(
            out,
            "  {:<10} {:<15} pods {:<16} netns {}",
            n.name,
            n.ip,
            n.pod_cidr.to_string(),
            lab.names.netns(&n.name)
        );
    }
    out.push_str("pods:\n");
    for p in &spec.pods {
        let (tcp, udp) = crate::resolve::served_ports(spec, p);
        let ports: Vec<String> = tcp
            .iter()
            .map(|t| format!("{t}/TCP"))
            .chain(udp.iter().map(|u| format!("{u}/UDP")))
            .collect();
        let state = match alive.and_then(|f| f(&format!("pod-{}", p.name))) {
            Some(true) => "  running",
            Some(false) => "  NOT RUNNING",
            None => "",
        };
        let line = format!(
            "  {:<24} {:<15} {:<8} {:<10}{state}",
            format!("{}/{}", p.namespace, p.name),
            p.ip,
            p.node,
            ports.join(",")
        );
        let _ = writeln!(out, "{}", line.trim_end());
    }
    out.push_str("services:\n");
    for s in &spec.services {
        let ports: Vec<String> = s
            .ports
            .iter()
            .map(|p| {
                let np = p
                    .node_port
                    .map(|n| format!(" nodePort {n}"))
                    .unwrap_or_default();
                format!(
                    "{}{}/{} -> {}{np}",
                    p.name
                        .as_deref()
                        .map(|n| format!("{n} "))
                        .unwrap_or_default(),
                    p.port,
                    p.protocol.as_upper(),
                    p.target_port
                )
            })
            .collect();
        let _ = writeln!(
            out,
            "  {:<24} {:<15} {}  endpoints {}",
            format!("{}/{}", s.namespace, s.name),
            s.cluster_ip,
            ports.join(", "),
            s.endpoints.join(", ")
        );
    }
    let _ = writeln!(
        out,
        "dns: kube-dns {} (dnsmasq in pod {}), nodelocaldns {} on every node",
        spec.dns.cluster_ip, spec.dns.pod, spec.dns.node_local
    );
    if let Some(f) = alive {
        for what in ["kube-dns".to_string()].into_iter().chain(
            spec.nodes
                .iter()
                .map(|n| format!("nodelocaldns-{}", n.name)),
        ) {
            let s = match f(&what) {
                Some(true) => "running",
                Some(false) => "NOT RUNNING",
                None => "not started",
            };
            let _ = writeln!(out, "  {what:<24} {s}");
        }
    }
    let _ = writeln!(out, "{}", proxy_line(spec.proxy_mode));
    let _ = writeln!(out, "{}", cni_line(spec.cni));
    if alive.is_some() {
        let faults: Vec<&str> = lab.faults().iter().map(|f| f.name()).collect();
        let _ = writeln!(
            out,
            "faults: {}",
            if faults.is_empty() {
                "none (`lab break --list` shows what can break)".to_string()
            } else {
                format!("{} (`lab fix --all` restores)", faults.join(", "))
            }
        );
    }
    out
}

/// What the agent's fingerprint read in one node's namespace, or why it could not.
pub type DetectedCni = (String, Result<CniFingerprint, String>);

/// The agent's CNI fingerprint of every node, read in each node's namespace (its links, routes
/// and CNI config files) as a trace's node facts read it: the I/O half of `lab status`.
fn read_detected_cni(lab: &Lab) -> Vec<DetectedCni> {
    (lab.spec().nodes.iter())
        .map(|n| {
            let read = netdiag_agent::kernel::netns::run_in(&lab.netns_path(&n.name), || {
                use netdiag_agent::dataplane::cni;
                cni::read_node(None, &cni::read::host_root(std::path::Path::new("/proc")))
                    .map_err(|e| e.to_string())
            });
            let read = match read {
                Ok(r) => r,
                Err(e) => Err(format!("{e} (lab status reads the nodes as root)")),
            };
            (n.name.clone(), read)
        })
        .collect()
}

/// `detected CNI` and one line per node, the line a trace's `-o wide` shows for the node.
pub fn detected_cni(detected: &[DetectedCni]) -> String {
    let mut out = String::from("detected CNI (the agent's fingerprint):\n");
    for (node, read) in detected {
        let line = match read {
            Ok(f) => netdiag_render::node_fact_line(&TraceNodeFacts {
                node: node.clone(),
                cni: Some(f.clone()),
                proxy_mode: None,
            }),
            Err(e) => format!("NODE {node}  CNI not read: {e}"),
        };
        let _ = writeln!(out, "  {line}");
    }
    out
}

/// The kube-proxy line of `up` and `status`: the mode, and where its rules are.
pub fn proxy_line(mode: ProxyMode) -> String {
    let rules = match mode {
        ProxyMode::Iptables => "KUBE-SERVICES in the nat table",
        ProxyMode::Nftables => "table ip kube-proxy",
    };
    format!("kube-proxy: {mode} mode ({rules} in every node)")
}

/// The pod network line of `up` and `status`.
pub fn cni_line(cni: Cni) -> String {
    let shape = match cni {
        Cni::Bridge => "cni0 bridges, routes via the node IPs",
        Cni::Vxlan => "cni0 bridges, flannel.1 VXLAN (VNI 1, port 8472) between the nodes",
        Cni::Routed => "cali* veths with proxy ARP, /32 routes, no bridge",
    };
    format!("pod network: {cni} ({shape})")
}

/// The whole `lab status` text, pure: the lab from its state file, whether each recorded
/// process is alive, and what the fingerprint read on each node.
pub fn status_text(lab: &Lab, alive: AliveFn, detected: &[DetectedCni]) -> String {
    let mut out = format!(
        "lab {}{}\n",
        lab.name(),
        if lab.state.complete {
            ""
        } else {
            " (INCOMPLETE: its `up` failed or is running; `lab down` removes it)"
        }
    );
    out.push_str(&describe(lab, Some(alive)));
    out.push_str(&detected_cni(detected));
    out
}

pub fn status(name: &str) -> Result<ExitCode, LabError> {
    let names = crate::LabNames::new(name);
    if !crate::names::valid_lab_name(name) {
        return Err(LabError::BadName(name.into()));
    }
    let state = crate::LabState::load(&names.state_file())?
        .ok_or_else(|| LabError::NoSuchLab { name: name.into() })?;
    let lab = Lab { names, state };
    let processes = lab.state.processes.clone();
    let alive = move |what: &str| -> Option<bool> {
        let p = processes.iter().find(|p| p.what == what)?;
        Some(match (p.pid, p.start_time) {
            (Some(pid), Some(start)) => process::start_time(pid) == Some(start),
            _ => false,
        })
    };
    print!("{}", status_text(&lab, &alive, &read_detected_cni(&lab)));
    let all_alive = lab
        .state
        .processes
        .iter()
        .all(|p| alive(&p.what) == Some(true));
    Ok(if lab.state.complete && all_alive {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
