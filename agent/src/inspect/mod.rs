//! Node inspection (`netdiag-agent inspect`): every pod network namespace on this node mapped
//! to its processes, `eth0@ifN`, host veth and bridge, the node's own facts, and what stands
//! out (a leaked namespace, a veth leading nowhere, one IP held twice, a veth down). The
//! seeds' "Inspection" section in one command.
//!
//! - [`gather`]: the I/O, one dump per kind per namespace, each namespace entered once;
//! - [`join`]: the pure joining and the findings;
//! - [`process`]: holder-first process lists;
//! - [`node_facts`]: proxy, rule counts, conntrack, nodelocaldns, listeners;
//! - [`synthetic`]: a node of N pods as facts, for the join benchmark.

pub mod gather;
pub mod join;
pub mod node_facts;
pub mod process;
pub mod synthetic;

#[cfg(test)]
mod tests;

use std::path::PathBuf;

use netdiag_model::PlanTarget;
use netdiag_model::inspect::{InspectReport, NodeFacts};

pub use gather::GatherError;

use crate::dataplane::cni;

/// Where the node's namespaces and processes are seen from.
#[derive(Clone, Debug)]
pub struct InspectEnv {
    pub node: String,
    /// Named network namespaces (`/var/run/netns`).
    pub netns_dir: PathBuf,
    /// The host's procfs (`/proc`, or `/host/proc` in a pod).
    pub proc: PathBuf,
    /// Service addresses whose rules to read too (a service inspection).
    pub services: Vec<PlanTarget>,
}

/// Inspect the node whose network namespace the calling thread is in.
pub fn inspect(env: &InspectEnv) -> Result<InspectReport, GatherError> {
    let g = gather::gather(&env.netns_dir, &env.proc)?;
    let mut notes = g.notes;
    let listeners = node_facts::listeners(&mut notes);
    let (proxy, services) = node_facts::proxy(&mut notes, &g.node.links, &env.services);
    let facts = NodeFacts {
        proxy,
        services,
        conntrack: node_facts::conntrack_table(),
        nodelocaldns: node_facts::nodelocaldns(&g.node.links, &g.node.addresses, &listeners),
        cni: cni::fingerprint(
            &g.node.links,
            &g.routes,
            &cni::read_configs(&cni::read::host_root(&env.proc)),
        ),
        listeners,
    };
    let (namespaces, findings) = join::join(&g.node, g.namespaces, &g.known_nsids);
    Ok(InspectReport {
        node: env.node.clone(),
        facts,
        namespaces,
        findings,
        notes,
    })
}
