//! The I/O half of node inspection: the node's links and addresses (one dump each), every
//! namespace the node can name ([`scan`]), and inside each one a veth of the node leads to:
//! links, addresses and routes, one dump each, over a socket created by entering it once
//! ([`run_in_each`]); then the processes and resolv.conf through procfs.

use std::collections::HashSet;
use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use netdiag_model::inspect::NetnsIdentity;

use super::join::{NodeSide, NsFacts, leads_here};
use super::process;
use crate::kernel::netlink::NetlinkError;
use crate::kernel::netns::scan::{ScannedNetns, scan};
use crate::kernel::netns::{NetnsError, NsId, run_in_each};
use crate::kernel::rtnl::{Route, Rtnl};
use crate::path::pod_interface::resolv::read_pod_resolv;

/// Why the node itself could not be read (a namespace that cannot only becomes a note).
#[derive(Debug, thiserror::Error)]
pub enum GatherError {
    #[error("cannot identify the agent's own network namespace: {0}")]
    OwnNamespace(#[source] NetnsError),
    #[error("cannot read the node's links and addresses: {0}")]
    Node(#[source] NetlinkError),
    #[error("cannot start the thread that enters the pod namespaces: {0}")]
    Enter(#[source] NetnsError),
}

/// What was gathered: the node, its routes (for the CNI fingerprint), the namespaces its veths
/// lead to, the node's ids of every namespace it could name, and what could not be read.
pub struct Gathered {
    pub node: NodeSide,
    pub routes: Vec<Route>,
    pub namespaces: Vec<NsFacts>,
    pub known_nsids: HashSet<i32>,
    pub notes: Vec<String>,
}

/// Read the node (the calling thread's namespace) and its pod namespaces.
pub fn gather(netns_dir: &Path, proc: &Path) -> Result<Gathered, GatherError> {
    let own_path = Path::new("/proc/thread-self/ns/net");
    let own_file = File::open(own_path).map_err(|source| {
        GatherError::OwnNamespace(NetnsError::Open {
            path: own_path.to_path_buf(),
            source,
        })
    })?;
    let own_id = NsId::current().map_err(GatherError::OwnNamespace)?;
    let mut rtnl = Rtnl::open().map_err(GatherError::Node)?;
    // Dumping the links first also makes the kernel assign an id to every namespace a local
    // veth leads to, which the RTM_GETNSID below relies on.
    let node = NodeSide {
        links: rtnl.links().map_err(GatherError::Node)?,
        addresses: rtnl.addresses().map_err(GatherError::Node)?,
    };
    let mut notes = Vec::new();
    let routes = rtnl.routes().unwrap_or_else(|e| {
        notes.push(format!("cannot read the node's routes: {e}"));
        Vec::new()
    });

    let mut known_nsids = HashSet::new();
    let mut ours: Vec<(ScannedNetns, i32)> = Vec::new();
    for ns in scan(netns_dir, proc, own_id) {
        let Ok(file) = File::open(&ns.path) else {
            continue; // gone meanwhile
        };
        let nsid = rtnl.nsid_of(file.as_fd()).ok().flatten();
        known_nsids.extend(nsid);
        if leads_here(&node, nsid)
            && let Some(id) = nsid
        {
            ours.push((ns, id));
        }
    }

    let paths: Vec<PathBuf> = ours.iter().map(|(ns, _)| ns.path.clone()).collect();
    let sockets = run_in_each(&paths, Rtnl::open).map_err(GatherError::Enter)?;
    let mut namespaces = Vec::with_capacity(ours.len());
    for ((ns, node_nsid), socket) in ours.into_iter().zip(sockets) {
        let label = ns.path.display().to_string();
        let inside = socket
            .map_err(|e| e.to_string())
            .and_then(|s| s.map_err(|e| e.to_string()))
            .and_then(|mut s| read_inside(&mut s, &own_file).map_err(|e| e.to_string()));
        let mut facts = match inside {
            Ok(f) => f,
            Err(e) => {
                notes.push(format!("cannot read inside {label}: {e}"));
                continue;
            }
        };
        facts.node_nsid = Some(node_nsid);
        facts.processes = process::read(proc, &ns.pids);
        facts.resolv_conf = (facts.processes.first()).and_then(|p| read_pod_resolv(proc, p.pid));
        facts.identity = NetnsIdentity {
            path: label,
            name: ns.name,
            dev: ns.id.dev,
            inode: ns.id.ino,
        };
        namespaces.push(facts);
    }
    Ok(Gathered {
        node,
        routes,
        namespaces,
        known_nsids,
        notes,
    })
}

/// Links, addresses and the default route of the namespace `rtnl` was created in, and the id
/// under which it knows the node's namespace (open at `node`).
fn read_inside(rtnl: &mut Rtnl, node: &File) -> Result<NsFacts, NetlinkError> {
    Ok(NsFacts {
        links: rtnl.links()?,
        addresses: rtnl.addresses()?,
        gateway: rtnl.default_gateway()?,
        nsid_of_node: rtnl.nsid_of(node.as_fd())?,
        ..NsFacts::default()
    })
}
