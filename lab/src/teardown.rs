//! Removing a lab: its processes (only those proven ours), its namespaces (from the state file
//! and by the lab's name prefix, for a lab whose `up` crashed before recording them), its
//! /etc/netns directories, its files, and its state directory last.
//!
//! Like `ip netns pids` + `kill` + `ip netns del` + `rm -r /etc/netns/<ns>`, done for every
//! namespace of the lab, carrying on past failures so one stuck item never hides the rest.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::LabError;
use super::build::process_marker;
use super::exec::{find_tool, run};
use super::names::{ETC_NETNS_DIR, LabNames, NETNS_DIR};
use super::process::{Stop, stop_if_ours};
use super::state::LabState;
use netdiag_agent::kernel::netns::NsId;

/// What `down` removed, and what it could not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TeardownReport {
    /// Processes stopped, as `what (pid N)`.
    pub stopped: Vec<String>,
    pub namespaces: Vec<String>,
    pub paths: Vec<PathBuf>,
    /// Things left behind, with why; empty when the lab is completely gone.
    pub problems: Vec<String>,
}

impl TeardownReport {
    pub fn is_empty(&self) -> bool {
        self.stopped.is_empty() && self.namespaces.is_empty() && self.paths.is_empty()
    }
}

/// Names in `dir` that start with `prefix` (a missing dir has none).
fn entries_with_prefix(dir: &Path, prefix: &str) -> Vec<String> {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return vec![];
    };
    let mut v: Vec<String> = rd
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(prefix))
        .collect();
    v.sort();
    v
}

fn push_unique(v: &mut Vec<String>, s: String) {
    if !v.contains(&s) {
        v.push(s);
    }
}

/// Remove lab `name`. `Err(NoSuchLab)` only when nothing of it exists at all.
pub fn down(name: &str) -> Result<TeardownReport, LabError> {
    let names = LabNames::new(name);
    let mut report = TeardownReport::default();
    let state = match LabState::load(&names.state_file()) {
        Ok(s) => s,
        Err(e) => {
            report.problems.push(e.to_string());
            None
        }
    };
    let marker = process_marker(&names);
    let prefix = names.prefix();
    let ns_id = |ns: &str| NsId::of(&Path::new(NETNS_DIR).join(ns)).ok();

    // 1. processes the state file knows, before their namespaces go
    if let Some(state) = &state {
        for p in state.processes.iter().rev() {
            let pid = p.pid.or_else(|| {
                std::fs::read_to_string(&p.pid_file)
                    .ok()
                    .and_then(|t| t.trim().parse().ok())
            });
            let Some(pid) = pid else { continue };
            note_stop(
                &mut report,
                &p.what,
                pid,
                stop_if_ours(pid, &p.marker, p.start_time, ns_id(&p.netns)),
            );
        }
    }

    // 2. every namespace of the lab: recorded ones, and any other with the lab's prefix
    let mut namespaces: Vec<String> = state
        .as_ref()
        .map(|s| {
            s.netns
                .iter()
                .filter(|n| n.starts_with(&prefix))
                .cloned()
                .collect()
        })
        .unwrap_or_default();
    for n in entries_with_prefix(Path::new(NETNS_DIR), &prefix) {
        push_unique(&mut namespaces, n);
    }
    let ip = find_tool("ip");
    for ns in namespaces.iter().rev() {
        let Some(ip) = &ip else {
            report.problems.push(format!(
                "cannot remove namespace {ns}: `ip` not found (install iproute2)"
            ));
            continue;
        };
        if ns_id(ns).is_none() {
            continue; // recorded, but never created or already gone
        }
        // processes left in it that the state file missed (a crash before recording)
        if let Ok(pids) = run(Command::new(ip).args(["netns", "pids", ns]), None) {
            for pid in pids
                .split_whitespace()
                .filter_map(|p| p.parse::<u32>().ok())
            {
                let stop = stop_if_ours(pid, &marker, None, ns_id(ns));
                note_stop(&mut report, &format!("process in {ns}"), pid, stop);
            }
        }
        match run(Command::new(ip).args(["netns", "del", ns]), None) {
            Ok(_) => report.namespaces.push(ns.clone()),
            // Gone anyway: an earlier, interrupted `down` left its `ip netns del` running,
            // and it won the race. Not a leftover.
            Err(_) if !Path::new(NETNS_DIR).join(ns).exists() => {}
            Err(e) => report.problems.push(e.to_string()),
        }
    }

    // 3. /etc/netns dirs, recorded files and dirs, the state dir last
    let mut paths: Vec<PathBuf> = entries_with_prefix(Path::new(ETC_NETNS_DIR), &prefix)
        .into_iter()
        .map(|n| Path::new(ETC_NETNS_DIR).join(n))
        .collect();
    if let Some(state) = &state {
        for p in state.files.iter().chain(&state.dirs).rev() {
            // only paths the lab owns: its state dir and its /etc/netns entries
            let in_etc_netns = p
                .strip_prefix(ETC_NETNS_DIR)
                .ok()
                .and_then(|rest| rest.components().next())
                .is_some_and(|c| c.as_os_str().to_string_lossy().starts_with(&prefix));
            // (paths inside the state dir go with it, last)
            let owned = in_etc_netns;
            if owned && !paths.iter().any(|q| p.starts_with(q)) {
                paths.push(p.clone());
            }
        }
    }
    paths.push(names.state_dir());
    for p in paths {
        let result = match std::fs::symlink_metadata(&p) {
            Err(_) => continue,
            Ok(m) if m.is_dir() => std::fs::remove_dir_all(&p),
            Ok(_) => std::fs::remove_file(&p),
        };
        match result {
            Ok(()) => report.paths.push(p),
            // removed meanwhile by a concurrent `down`
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => report
                .problems
                .push(format!("cannot remove {}: {e}", p.display())),
        }
    }
    if report.is_empty() && report.problems.is_empty() {
        return Err(LabError::NoSuchLab { name: name.into() });
    }
    Ok(report)
}

fn note_stop(report: &mut TeardownReport, what: &str, pid: u32, stop: Stop) {
    match stop {
        Stop::Stopped => report.stopped.push(format!("{what} (pid {pid})")),
        Stop::NotRunning => {}
        Stop::NotOurs(why) => {
            // expected for `ip netns pids` hits that are someone else's; only note recorded ones
            if !what.starts_with("process in ") {
                report
                    .problems
                    .push(format!("left pid {pid} ({what}) alone: {why}"));
            }
        }
        Stop::Stuck => report
            .problems
            .push(format!("{what} (pid {pid}) survived SIGKILL")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_listing_only_returns_matching_names_and_tolerates_missing_dirs() {
        let dir = std::env::temp_dir().join(format!("nd-td-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        for n in ["nd-a-x", "nd-ab-x", "nd-a-y", "other"] {
            std::fs::write(dir.join(n), "").unwrap();
        }
        assert_eq!(entries_with_prefix(&dir, "nd-a-"), vec!["nd-a-x", "nd-a-y"]);
        assert!(entries_with_prefix(&dir.join("missing"), "nd-").is_empty());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_lab_that_never_existed_is_no_such_lab() {
        let err = down("nonesuch42").unwrap_err();
        assert!(matches!(err, LabError::NoSuchLab { .. }), "{err}");
    }
}
