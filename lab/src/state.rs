//! The lab's state file: every namespace, process, file and directory a lab created, written as
//! each is created, so `lab down` can remove a lab whose `up` crashed half-way.
//!
//! Like `ip netns list` plus a pid list, but scoped to one lab and kept on tmpfs (`/run`), so a
//! reboot, which also removes the namespaces, removes the state too.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::faults::Fault;
use super::spec::LabSpec;

/// A long-lived process the lab started (a pod's process or a dnsmasq).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessRecord {
    /// What it is, for humans: `pod curl`, `kube-dns`, `nodelocaldns node-a`.
    pub what: String,
    /// The network namespace it runs in.
    pub netns: String,
    /// The process writes its pid here once it serves; recorded before the start, so a crash
    /// between start and record still leaves a way to find it.
    pub pid_file: PathBuf,
    /// Set once the pid file appeared.
    #[serde(default)]
    pub pid: Option<u32>,
    /// The process's start time (field 22 of /proc/<pid>/stat), against pid reuse.
    #[serde(default)]
    pub start_time: Option<u64>,
    /// A string its command line must contain before the lab will signal it.
    pub marker: String,
}

/// Everything one lab created, in creation order.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LabState {
    pub name: String,
    pub spec: LabSpec,
    /// `lab up` finished: everything in the spec is built and serving.
    #[serde(default)]
    pub complete: bool,
    #[serde(default)]
    pub netns: Vec<String>,
    #[serde(default)]
    pub dirs: Vec<PathBuf>,
    #[serde(default)]
    pub files: Vec<PathBuf>,
    #[serde(default)]
    pub processes: Vec<ProcessRecord>,
    /// Faults `lab break` made and `lab fix` has not undone.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub faults: Vec<Fault>,
}

/// A state file that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("cannot write the lab state file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read the lab state file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "the lab state file {path} is damaged ({source}); `lab down` still removes the lab's namespaces by name"
    )]
    Parse {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

impl LabState {
    pub fn new(name: &str, spec: &LabSpec) -> Self {
        LabState {
            name: name.into(),
            spec: spec.clone(),
            complete: false,
            netns: vec![],
            dirs: vec![],
            files: vec![],
            processes: vec![],
            faults: vec![],
        }
    }

    /// Read a lab's state; `Ok(None)` when the lab has no state file.
    pub fn load(path: &Path) -> Result<Option<LabState>, StateError> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => {
                return Err(StateError::Read {
                    path: path.into(),
                    source,
                });
            }
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| StateError::Parse {
                path: path.into(),
                source,
            })
    }

    /// Write atomically (temp file + rename): a crash mid-write leaves the previous state.
    pub fn save(&self, path: &Path) -> Result<(), StateError> {
        let err = |source| StateError::Write {
            path: path.into(),
            source,
        };
        let tmp = path.with_extension("json.tmp");
        let text = serde_json::to_string_pretty(self).map_err(|e| err(std::io::Error::other(e)))?;
        std::fs::write(&tmp, text).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }
}

/// The state of a lab being built: every change is saved at once.
pub struct StateWriter {
    pub path: PathBuf,
    pub state: LabState,
}

impl StateWriter {
    /// Apply `change` and save.
    pub fn record(&mut self, change: impl FnOnce(&mut LabState)) -> Result<(), StateError> {
        change(&mut self.state);
        self.state.save(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_through_its_file_and_a_missing_file_is_none() {
        let dir = std::env::temp_dir().join(format!("nd-state-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("state.json");
        assert_eq!(LabState::load(&path).unwrap(), None);
        let mut w = StateWriter {
            path: path.clone(),
            state: LabState::new("t1", &LabSpec::default()),
        };
        w.record(|s| s.netns.push("nd-t1-node-a".into())).unwrap();
        w.record(|s| {
            s.processes.push(ProcessRecord {
                what: "pod curl".into(),
                netns: "nd-t1-curl".into(),
                pid_file: dir.join("curl.pid"),
                pid: Some(42),
                start_time: Some(7),
                marker: "/run/netdiag/labs/t1/".into(),
            })
        })
        .unwrap();
        let back = LabState::load(&path).unwrap().unwrap();
        assert_eq!(back, w.state);
        std::fs::write(&path, "{not json").unwrap();
        let err = LabState::load(&path).unwrap_err().to_string();
        assert!(err.contains("damaged"), "{err}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
