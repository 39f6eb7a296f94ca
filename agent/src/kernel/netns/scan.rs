//! Every network namespace this node can name, like `lsns -t net` plus `ip netns list`: the
//! named ones under the netns directory and those reachable only as `/proc/<pid>/ns/net`,
//! deduplicated by [`NsId`], each with the processes living in it. One `stat` per named
//! namespace and per process; nothing is entered.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::NsId;

/// A namespace, the path that first named it, and every process living in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScannedNetns {
    /// A named path (`/var/run/netns/cni-...`) when there is one, else `/proc/<pid>/ns/net`.
    pub path: PathBuf,
    /// The file name under the netns directory, for named namespaces.
    pub name: Option<String>,
    pub id: NsId,
    /// Ascending. Empty for a named namespace no process lives in.
    pub pids: Vec<u32>,
}

/// The distinct namespaces other than `own`: named ones first, sorted by name (their names are
/// what an engineer recognises), then those only reachable through a process, by lowest pid.
/// Processes and files that vanish while scanning are skipped: pods come and go on a live node.
pub fn scan(netns_dir: &Path, proc: &Path, own: NsId) -> Vec<ScannedNetns> {
    let mut order: Vec<NsId> = Vec::new();
    let mut by_id: HashMap<NsId, ScannedNetns> = HashMap::new();

    let mut named: Vec<PathBuf> = read_dir_paths(netns_dir);
    named.sort();
    for path in named {
        // A file here that is not a live namespace (a stale bind-mount target) cannot be
        // told apart by its id; it is kept, and fails to be entered later.
        let Ok(id) = NsId::of(&path) else { continue };
        if id == own || by_id.contains_key(&id) {
            continue;
        }
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .map(str::to_string);
        order.push(id);
        by_id.insert(
            id,
            ScannedNetns {
                path,
                name,
                id,
                pids: Vec::new(),
            },
        );
    }

    let mut pids: Vec<u32> = read_dir_paths(proc)
        .iter()
        .filter_map(|p| p.file_name()?.to_str()?.parse::<u32>().ok())
        .collect();
    pids.sort_unstable();
    for pid in pids {
        let path = proc.join(pid.to_string()).join("ns/net");
        let Ok(id) = NsId::of(&path) else { continue };
        if id == own {
            continue;
        }
        by_id
            .entry(id)
            .or_insert_with(|| {
                order.push(id);
                ScannedNetns {
                    path,
                    name: None,
                    id,
                    pids: Vec::new(),
                }
            })
            .pids
            .push(pid);
    }
    order
        .into_iter()
        .filter_map(|id| by_id.remove(&id))
        .collect()
}

fn read_dir_paths(dir: &Path) -> Vec<PathBuf> {
    match std::fs::read_dir(dir) {
        Ok(entries) => entries.filter_map(|e| e.ok().map(|e| e.path())).collect(),
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callers_own_namespace_is_never_listed_and_each_namespace_once() {
        let own = NsId::current().expect("own namespace");
        let found = scan(Path::new("/nonexistent"), Path::new("/proc"), own);
        assert!(found.iter().all(|n| n.id != own));
        let mut ids: Vec<NsId> = found.iter().map(|n| n.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), found.len(), "deduplicated by NsId");
        assert!(found.iter().all(|n| n.name.is_none() && !n.pids.is_empty()));
        assert!(found.iter().all(|n| n.pids.windows(2).all(|w| w[0] < w[1])));
    }
}
