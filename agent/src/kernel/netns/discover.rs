//! Finding a pod's network namespace by its IP, like the manual `ip netns list`, then
//! `ip netns exec cni-... ip a` in each, then matching `eth0@if4` to the node's interface 4.
//!
//! Candidates are the named namespaces (`/var/run/netns/*`) and every process's
//! `/proc/<pid>/ns/net`, deduplicated by [`NsId`], so the hundreds of processes of a busy node
//! cost one `stat` each. A namespace is entered (one short thread) only when the caller knows
//! it under an id that one of the caller's own veths points to (RTM_GETNSID from the
//! caller's side, no thread), so other nodes' and other labs' namespaces are never entered.
//! Inside a candidate only a netlink socket is created; the queries run from the caller.
//!
//! Parallel labs on one machine (and a node's own nested containers) reuse pod IPs, so an
//! address match is not enough: the namespace must hold the address on a veth whose peer
//! lives in the *caller's* namespace. That is checked by asking, in the candidate, for the id
//! of the caller's namespace (RTM_GETNSID with the caller's fd) and comparing it with the
//! interface's IFLA_LINK_NETNSID; then the caller must have a link with the peer's ifindex.

use std::collections::HashSet;
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use super::scan::scan;
use super::{NetnsError, NsId, run_in};
use crate::kernel::netlink::NetlinkError;
use crate::kernel::rtnl::Rtnl;

/// A pod's network namespace on this node, and its end of the veth pair.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PodNetns {
    /// A path that opens the namespace.
    pub path: PathBuf,
    /// How it was found, for humans: `/var/run/netns/cni-...` or `/proc/1234/ns/net`.
    pub label: String,
    pub id: NsId,
    /// A process living in the namespace (the lowest pid, normally the pause container),
    /// whose root holds the pod's resolv.conf.
    pub pid: Option<u32>,
    /// The interface holding the IP, normally `eth0`.
    pub ifname: String,
    pub ifindex: u32,
    /// The ifindex of the veth peer in the caller's namespace (the N of `eth0@ifN`).
    pub peer_ifindex: u32,
}

/// Why no pod namespace could be named.
#[derive(Debug, thiserror::Error)]
pub enum DiscoverError {
    #[error(
        "no network namespace on this node holds {ip}: is the pod on this node, and does the agent see the host's /proc and /var/run/netns?"
    )]
    NotFound { ip: Ipv4Addr },
    #[error(
        "two network namespaces on this node claim {ip}: {first} and {second}; one pod holds another's IP (a leaked sandbox, or a misbehaving CNI): delete the stale one before trusting any probe from {ip}"
    )]
    Claimed {
        ip: Ipv4Addr,
        first: String,
        second: String,
    },
    #[error("cannot identify the agent's own network namespace: {0}")]
    OwnNamespace(#[source] NetnsError),
    #[error("cannot read the node's links to confirm the veth peer of {ip}: {source}")]
    NodeLinks {
        ip: Ipv4Addr,
        #[source]
        source: NetlinkError,
    },
}

/// A namespace to look into, with its first name and a process living in it.
#[derive(Clone, Debug)]
struct Candidate {
    path: PathBuf,
    id: NsId,
    pid: Option<u32>,
}

/// What a candidate namespace holds for `ip`.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Holder {
    ifname: String,
    ifindex: u32,
    peer_ifindex: u32,
}

/// Find the namespace on this node whose veth-backed interface holds `ip`.
///
/// Searches `netns_dir` (normally `/var/run/netns`) and `<proc>/*/ns/net`, skipping the
/// caller's own namespace. Candidates that vanish or cannot be entered while searching are
/// skipped: pods come and go on a live node.
pub fn find_pod_netns(
    ip: Ipv4Addr,
    netns_dir: &Path,
    proc: &Path,
) -> Result<PodNetns, DiscoverError> {
    find_pod_netns_each(&[ip], netns_dir, proc)?
        .pop()
        .unwrap_or(Err(DiscoverError::NotFound { ip }))
}

/// [`find_pod_netns`] for several addresses at once, one result per address in order: the
/// candidates are listed once and each is entered at most once, however many addresses are
/// looked for (a Service's endpoints cost one scan, not one each). The error is for what
/// stops every lookup: the agent's own namespace or links cannot be read.
pub fn find_pod_netns_each(
    ips: &[Ipv4Addr],
    netns_dir: &Path,
    proc: &Path,
) -> Result<Vec<Result<PodNetns, DiscoverError>>, DiscoverError> {
    let own_path = Path::new("/proc/thread-self/ns/net");
    let own_file = File::open(own_path).map_err(|source| {
        DiscoverError::OwnNamespace(NetnsError::Open {
            path: own_path.to_path_buf(),
            source,
        })
    })?;
    let own_id = NsId::current().map_err(DiscoverError::OwnNamespace)?;
    let candidates = candidates(netns_dir, proc, own_id);

    // The caller's links, read once. Dumping them also makes the kernel assign an id to
    // every namespace a local veth leads to, which the cheap pre-filter below relies on.
    let ip = ips.first().copied().unwrap_or(Ipv4Addr::UNSPECIFIED);
    let node_error = |source| DiscoverError::NodeLinks { ip, source };
    let mut own_rtnl = Rtnl::open().map_err(node_error)?;
    let node_links = own_rtnl.links().map_err(node_error)?;
    let peer_nsids: HashSet<i32> = node_links.iter().filter_map(|l| l.link_netnsid).collect();

    let mut found: Vec<Option<Result<PodNetns, DiscoverError>>> =
        ips.iter().map(|_| None).collect();
    for cand in candidates {
        // Pre-filter without entering: a namespace none of our veths leads to cannot hold
        // one of our pods. This skips other nodes' (and other labs') pods for one syscall.
        let Ok(cand_file) = File::open(&cand.path) else {
            continue;
        };
        match own_rtnl.nsid_of(cand_file.as_fd()) {
            Ok(Some(id)) if peer_nsids.contains(&id) => {}
            _ => continue,
        }
        for (n, holder) in holders_in(&cand.path, ips, &own_file) {
            if !node_links.iter().any(|l| l.index == holder.peer_ifindex) {
                continue;
            }
            let this = PodNetns {
                label: cand.path.display().to_string(),
                path: cand.path.clone(),
                id: cand.id,
                pid: cand.pid,
                ifname: holder.ifname,
                ifindex: holder.ifindex,
                peer_ifindex: holder.peer_ifindex,
            };
            // Every candidate is looked at: a second namespace claiming the IP would otherwise
            // receive (and answer) probes meant for the first, silently.
            found[n] = Some(match found[n].take() {
                None => Ok(this),
                Some(Ok(first)) => Err(DiscoverError::Claimed {
                    ip: ips[n],
                    first: first.label,
                    second: this.label,
                }),
                Some(Err(e)) => Err(e),
            });
        }
    }
    Ok(found
        .into_iter()
        .zip(ips)
        .map(|(f, ip)| f.unwrap_or(Err(DiscoverError::NotFound { ip: *ip })))
        .collect())
}

/// The distinct namespaces other than `own` ([`scan`]), each with the process whose root holds
/// the sandbox's files: a pause process when one lives there, else the lowest pid.
fn candidates(netns_dir: &Path, proc: &Path, own: NsId) -> Vec<Candidate> {
    scan(netns_dir, proc, own)
        .into_iter()
        .map(|ns| {
            // comm is read only where there is a choice: most namespaces hold one process.
            let pid = match ns.pids.as_slice() {
                [] => None,
                [only] => Some(*only),
                many => (many.iter().copied())
                    .find(|&p| is_pause(proc, p))
                    .or(many.first().copied()),
            };
            Candidate {
                path: ns.path,
                id: ns.id,
                pid,
            }
        })
        .collect()
}

/// Whether process `pid` is a pod sandbox's pause process (`/proc/<pid>/comm`).
fn is_pause(proc: &Path, pid: u32) -> bool {
    crate::kernel::file::read_bounded(&proc.join(pid.to_string()).join("comm"), 64)
        .is_ok_and(|c| c.strip_suffix(b"\n").unwrap_or(&c) == b"pause")
}

/// Which interfaces of the namespace at `path` hold which of `ips` (by position) on a veth
/// whose peer is in the namespace open at `own` (the caller's). Nothing for every other
/// outcome, errors included: a candidate that cannot be read cannot be claimed as the pod's.
fn holders_in(path: &Path, ips: &[Ipv4Addr], own: &File) -> Vec<(usize, Holder)> {
    // Only the socket is made inside; it keeps answering for that namespace afterwards.
    let Some(mut rtnl) = run_in(path, Rtnl::open).ok().and_then(Result::ok) else {
        return Vec::new();
    };
    let Ok(addresses) = rtnl.addresses() else {
        return Vec::new();
    };
    let held: Vec<(usize, u32)> = (ips.iter().enumerate())
        .filter_map(|(n, ip)| Some((n, addresses.iter().find(|a| a.ip == *ip)?.ifindex)))
        .collect();
    if held.is_empty() {
        return Vec::new();
    }
    let (Ok(links), Ok(Some(own_nsid))) = (rtnl.links(), rtnl.nsid_of(own.as_fd())) else {
        return Vec::new();
    };
    held.into_iter()
        .filter_map(|(n, ifindex)| {
            let link = links.iter().find(|l| l.index == ifindex)?;
            Some((n, accept_holder(link, own_nsid)?))
        })
        .collect()
}

/// The pure part of the ownership test: `link` holds the address, and `own_nsid` is the id
/// under which its namespace knows the caller's.
fn accept_holder(link: &crate::kernel::rtnl::Link, own_nsid: i32) -> Option<Holder> {
    let peer_ifindex = link.link?;
    if link.link_netnsid? != own_nsid {
        return None;
    }
    Some(Holder {
        ifname: link.name.clone(),
        ifindex: link.index,
        peer_ifindex,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::rtnl::{Link, LinkKind, OperState};

    fn eth0(link_netnsid: Option<i32>) -> Link {
        Link {
            index: 2,
            name: "eth0".into(),
            kind: Some(LinkKind::Veth),
            mac: None,
            mtu: 1500,
            oper_state: OperState::Up,
            admin_up: true,
            link: Some(7),
            link_netnsid,
            master: None,
            hairpin: None,
            promiscuity: 0,
            tunnel: None,
        }
    }

    #[test]
    fn an_interface_whose_peer_is_in_the_callers_namespace_is_accepted() {
        let h = accept_holder(&eth0(Some(0)), 0).expect("accepted");
        assert_eq!(
            h,
            Holder {
                ifname: "eth0".into(),
                ifindex: 2,
                peer_ifindex: 7
            }
        );
    }

    #[test]
    fn an_interface_whose_peer_is_in_another_namespace_is_refused() {
        assert_eq!(accept_holder(&eth0(Some(1)), 0), None);
        // No link-netnsid: the peer is in the candidate itself (or it is no veth at all).
        assert_eq!(accept_holder(&eth0(None), 0), None);
    }

    #[test]
    fn a_missing_address_is_not_found_with_a_helpful_message() {
        let dir = std::env::temp_dir().join(format!("ndnl-empty-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        // An empty proc and netns dir: nothing to search.
        let err = find_pod_netns(Ipv4Addr::new(10, 244, 1, 2), &dir, &dir).unwrap_err();
        let _ = std::fs::remove_dir(&dir);
        assert!(matches!(err, DiscoverError::NotFound { .. }));
        assert!(
            err.to_string()
                .contains("no network namespace on this node holds 10.244.1.2"),
            "{err}"
        );
    }
}
