//! B5 (issue 14): node inspection of 250 pod namespaces in under 1 s. A throwaway node namespace
//! gets a `cni0` bridge and 250 pod namespaces, each joined to it by a veth (`eth0` inside, an
//! address, a default route), built with `ip -batch`; then `inspect` runs from a thread inside
//! the node namespace, as the agent runs in a node's, and must find all 250. The pure join alone
//! is criterion's `inspect/join_250` (agent/benches/inspect_join.rs).

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use serde::{Deserialize, Serialize};

use netdiag_agent::inspect::{InspectEnv, inspect};
use netdiag_agent::kernel::netns::run_in;

use crate::cleanup::Netns;
use crate::cmd;
use crate::error::BenchError;
use crate::stats::median;

/// The target of the issue: one node's inspection, whole.
pub const TARGET_MS: f64 = 1000.0;

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct B5 {
    pub pods: usize,
    /// Pod namespaces the last inspection found (must be `pods`).
    pub found: usize,
    pub median_ms: f64,
    pub samples_ms: Vec<f64>,
    /// Seconds to build the namespaces (not measured against the target).
    pub build_s: f64,
    pub ok: bool,
    pub note: String,
}

/// `ip -n NETNS -batch FILE`, the lines written to `dir` first.
fn ip_batch(netns: Option<&str>, lines: &str, dir: &Path, tag: &str) -> Result<(), BenchError> {
    let file = dir.join(format!("b5-{tag}.batch"));
    std::fs::write(&file, lines).map_err(BenchError::io("write", &file))?;
    let mut c = Command::new("ip");
    if let Some(ns) = netns {
        c.args(["-n", ns]);
    }
    c.arg("-batch").arg(&file);
    cmd::run(&mut c)?;
    let _ = std::fs::remove_file(&file);
    Ok(())
}

pub fn run(pods: usize, runs: usize, dir: &Path) -> Result<B5, BenchError> {
    if pods > 60_000 {
        return Err(BenchError::Unexpected {
            what: "--pods",
            detail: format!("{pods} pods do not fit one /16 of pod addresses"),
        });
    }
    let built = Instant::now();
    eprintln!("B5: building a node with {pods} pod namespaces");
    let node = Netns::create("inode")?;
    let pod_ns = (0..pods)
        .map(|_| Netns::create("ipod"))
        .collect::<Result<Vec<_>, _>>()?;
    let mut links = String::from("link set lo up\nlink add cni0 type bridge\nlink set cni0 up\n");
    links.push_str("addr add 10.244.0.1/16 dev cni0\n");
    for (i, p) in pod_ns.iter().enumerate() {
        let _ = writeln!(
            links,
            "link add vb{i} type veth peer name eth0 netns {}\nlink set vb{i} master cni0 up",
            p.name()
        );
    }
    ip_batch(Some(node.name()), &links, dir, "node")?;
    for (i, p) in pod_ns.iter().enumerate() {
        let ip =
            std::net::Ipv4Addr::from(u32::from(std::net::Ipv4Addr::new(10, 244, 0, 2)) + i as u32);
        let lines = format!(
            "link set lo up\naddr add {ip}/16 dev eth0\nlink set eth0 up\nroute add default via 10.244.0.1\n"
        );
        ip_batch(Some(p.name()), &lines, dir, "pod")?;
    }
    let build_s = built.elapsed().as_secs_f64();

    let env = InspectEnv {
        node: "bench-node".into(),
        netns_dir: "/var/run/netns".into(),
        proc: "/proc".into(),
        services: Vec::new(),
    };
    let (mut samples_ms, mut found) = (Vec::new(), 0);
    for _ in 0..runs.max(1) {
        let env = env.clone();
        let t = Instant::now();
        let report = run_in(&node.path(), move || {
            inspect(&env).map_err(|e| e.to_string())
        })?
        .map_err(|detail| BenchError::Unexpected {
            what: "inspect",
            detail,
        })?;
        samples_ms.push(t.elapsed().as_secs_f64() * 1e3);
        found = report.namespaces.len();
    }
    drop(pod_ns);
    drop(node);
    let ok = found == pods;
    Ok(B5 {
        pods,
        found,
        median_ms: median(&samples_ms).unwrap_or(f64::NAN),
        samples_ms,
        build_s,
        ok,
        note: if ok {
            "no pod processes: every namespace is also reported leaked".into()
        } else {
            format!("found {found} of {pods} pod namespaces")
        },
    })
}
