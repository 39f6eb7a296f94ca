//! The I/O half of the CNI fingerprint: the calling thread's namespace's links and routes (one
//! dump each, or links a caller already dumped) and the host's CNI config files.

use std::path::{Path, PathBuf};

use netdiag_model::inspect::CniFingerprint;

use super::{fingerprint, read_configs};
use crate::kernel::netlink::NetlinkError;
use crate::kernel::rtnl::{Link, Rtnl};

/// The host's `/` as the agent sees it: PID 1's root through the host's procfs (the agent pod
/// has hostPID and CAP_SYS_PTRACE; the lab's nodes share the machine's root).
pub fn host_root(proc: &Path) -> PathBuf {
    proc.join("1/root")
}

/// Fingerprint the node whose network namespace the calling thread is in. `links`: a dump the
/// caller already has, so it is not taken twice. Config files that cannot be read are no
/// evidence; only a failed netlink dump is an error.
pub fn read_node(
    links: Option<Vec<Link>>,
    host_root: &Path,
) -> Result<CniFingerprint, NetlinkError> {
    let mut rtnl = Rtnl::open()?;
    let links = match links {
        Some(l) => l,
        None => rtnl.links()?,
    };
    let routes = rtnl.routes()?;
    Ok(fingerprint(&links, &routes, &read_configs(host_root)))
}
