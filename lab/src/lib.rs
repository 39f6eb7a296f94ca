//! The netns lab, its topologies and the kube-proxy rule generator: a small cluster's data plane
//! built on one Linux machine out of real kernel parts. Linux only; uses the agent as a library
//! (for tracing and netns ids) and must never be a dependency of the agent, nor of the plugin
//! outside `cfg(target_os = "linux")`.
//!
//! It is there to learn on (`kubectl netdiag lab up|status|trace|down`) and to test the agent
//! against. It builds, for the default spec: two node namespaces joined by a bridge in a third
//! (no uplink to the machine's network), a `cni0` bridge per node with veth-attached pod
//! namespaces, routes between the nodes' pod CIDRs, kube-proxy-shaped iptables rules for every
//! Service, a dnsmasq as kube-dns behind its ClusterIP, a dnsmasq as nodelocaldns on
//! 169.254.25.10 in each node (on an `ifb` link, since this kernel has no `dummy` links; on `lo`
//! if ifb is missing too), and one small server process per pod. Needs root, iproute2, iptables
//! and dnsmasq.
//!
//! Layout: [`spec`] (what to build, pure), [`build`] (the plan, pure), [`exec`] (running it),
//! [`state`] (what was built), [`teardown`], [`process`] (detached processes), [`pod_process`]
//! (the pods' process body, the hidden `lab pod` subcommand), [`trace`] (the agent driven like
//! the controller would), [`cli`], [`generate`] (kube-proxy's rules for a set of Services, also
//! used by the benchmarks).

#[cfg(not(target_os = "linux"))]
compile_error!("netdiag-lab builds Linux network namespaces and runs only on Linux");

pub mod build;
pub mod cidr;
pub mod cli;
pub mod dns;
pub mod exec;
pub mod faults;
pub mod generate;
pub mod inspect;
pub mod kube_proxy;
pub mod names;
pub mod pod_process;
pub mod process;
pub mod resolve;
pub mod spec;
pub mod state;
pub mod teardown;
pub mod trace;
pub mod watch;

use std::path::PathBuf;

pub use build::Parts;
pub use names::{DEFAULT_LAB, LabNames};
pub use spec::{LabSpec, ProxyMode, SpecError};
pub use state::{LabState, StateError};
pub use teardown::TeardownReport;
pub use trace::{LabTrace, TraceRequest, trace, trace_with};

/// How the lab starts a program: `exe`, then `args`, then the subcommand it runs (`pod ...` for
/// the lab's pod processes, `trace ...` for the agent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invocation {
    pub exe: PathBuf,
    /// Arguments before the subcommand: `["lab"]` for `kubectl-netdiag lab pod`, `["agent"]` for
    /// `kubectl-netdiag agent trace`, none for `netdiag-agent trace`.
    pub args: Vec<String>,
}

impl Invocation {
    pub fn new(exe: impl Into<PathBuf>, args: &[&str]) -> Invocation {
        Invocation {
            exe: exe.into(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }
    }

    /// `exe args...`, ready for the subcommand's own arguments.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![self.exe.display().to_string()];
        argv.extend(self.args.iter().cloned());
        argv
    }
}

/// The programs the lab starts: its pods' processes (the lab's hidden `pod` subcommand, which
/// the privileged node agent does not carry) and the node agent it traces with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LabTools {
    /// Runs `pod --name ... --tcp ...`.
    pub pods: Invocation,
    /// Runs `trace --plan - ...`.
    pub agent: Invocation,
}

impl LabTools {
    /// One binary that mounts the lab's commands under `lab_args` and the agent's under
    /// `agent`: `kubectl-netdiag` (`lab_args = ["lab"]`) or `netdiag-lab` (none).
    pub fn mounted(exe: impl Into<PathBuf>, lab_args: &[&str]) -> LabTools {
        let exe = exe.into();
        LabTools {
            pods: Invocation::new(exe.clone(), lab_args),
            agent: Invocation::new(exe, &["agent"]),
        }
    }
}

/// Why a lab operation failed, and what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("lab needs root: run it with sudo")]
    NotRoot,
    #[error("-o: {0}")]
    Output(String),
    #[error("{tool} not found: apt-get install {package}")]
    MissingTool {
        tool: &'static str,
        package: &'static str,
    },
    #[error("lab name {0:?}: use 1-12 lower-case letters or digits (e.g. netdiag, lab2)")]
    BadName(String),
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    State(#[from] StateError),
    #[error("lab {name} already exists: use it, or remove it with `lab down --name {name}`")]
    AlreadyExists { name: String },
    #[error("no lab named {name}: `lab up --name {name}` builds one")]
    NoSuchLab { name: String },
    #[error(
        "lab {name} is not complete (its `up` failed or is still running): `lab down --name {name}` removes it"
    )]
    Incomplete { name: String },
    #[error("`{command}` failed: {detail}")]
    Command { command: String, detail: String },
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot start {what} (`{command}`): {source}")]
    Spawn {
        what: String,
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{what} did not come up within 5 s: see {log}")]
    NotReady { what: String, log: PathBuf },
    #[error("cannot install the Ctrl-C handler: {0}")]
    Signal(String),
    /// Ctrl-C, SIGTERM or SIGHUP stopped `up`; what it built is gone (exit 130).
    #[error("interrupted; lab torn down")]
    Interrupted,
    #[error("{cause}; tearing down what was built also left: {}", leftovers.join("; "))]
    UpFailed {
        cause: Box<LabError>,
        leftovers: Vec<String>,
    },
    #[error(transparent)]
    Trace(#[from] trace::TraceError),
    #[error(transparent)]
    Inspect(#[from] inspect::InspectError),
    #[error("cannot stop {what} (pid {pid}): {why}")]
    Stop { what: String, pid: u32, why: String },
    #[error(transparent)]
    UnknownFault(#[from] faults::UnknownFault),
    #[error("{0}")]
    NotApplicable(#[from] faults::actions::NotApplicable),
}

/// A built lab, as its state file describes it.
#[derive(Clone, Debug)]
pub struct Lab {
    pub names: LabNames,
    pub state: LabState,
}

impl Lab {
    /// Build lab `name` from `spec`; on any failure (or Ctrl-C with the handler installed),
    /// remove everything built so far and return the cause.
    pub fn up(spec: &LabSpec, name: &str, tools: &LabTools) -> Result<Lab, LabError> {
        Lab::up_parts(spec, name, tools, Parts::ALL)
    }

    /// [`Lab::up`], building only `parts` on top of the network (for test fixtures that bring
    /// their own rules, servers or DNS).
    pub fn up_parts(
        spec: &LabSpec,
        name: &str,
        tools: &LabTools,
        parts: Parts,
    ) -> Result<Lab, LabError> {
        if !names::valid_lab_name(name) {
            return Err(LabError::BadName(name.into()));
        }
        spec.validate()?;
        let host = exec::preflight(spec.proxy_mode)?;
        let names = LabNames::new(name);
        let leftovers = std::fs::read_dir(names::NETNS_DIR)
            .map(|rd| {
                rd.filter_map(|e| e.ok())
                    .any(|e| e.file_name().to_string_lossy().starts_with(&names.prefix()))
            })
            .unwrap_or(false);
        if leftovers || names.state_dir().exists() {
            return Err(LabError::AlreadyExists { name: name.into() });
        }
        let dir = names.state_dir();
        let io = |what: &str| {
            let (what, path) = (what.to_string(), dir.clone());
            move |source| LabError::Io { what, path, source }
        };
        std::fs::create_dir_all(names::LABS_DIR).map_err(io("create"))?;
        // create_dir (not _all) fails if a parallel `up` of the same name won the race
        std::fs::create_dir(&dir).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => LabError::AlreadyExists { name: name.into() },
            _ => io("create")(e),
        })?;
        let mut writer = state::StateWriter {
            path: names.state_file(),
            state: LabState::new(name, spec),
        };
        let built = (|| {
            writer.state.save(&writer.path)?;
            for action in build::plan(spec, &names, &host, tools, parts) {
                if exec::interrupted() {
                    return Err(LabError::Interrupted);
                }
                exec::execute(&action, &host, &mut writer)?;
            }
            writer.record(|s| s.complete = true)?;
            Ok(())
        })();
        match built {
            Ok(()) => Ok(Lab {
                names,
                state: writer.state,
            }),
            Err(cause) => {
                let leftovers = match teardown::down(name) {
                    Ok(r) => r.problems,
                    Err(e) => vec![e.to_string()],
                };
                if leftovers.is_empty() {
                    Err(cause)
                } else {
                    Err(LabError::UpFailed {
                        cause: Box::new(cause),
                        leftovers,
                    })
                }
            }
        }
    }

    /// An existing, completely built lab, from its state file.
    pub fn open(name: &str) -> Result<Lab, LabError> {
        if !names::valid_lab_name(name) {
            return Err(LabError::BadName(name.into()));
        }
        let names = LabNames::new(name);
        let state = LabState::load(&names.state_file())?
            .ok_or_else(|| LabError::NoSuchLab { name: name.into() })?;
        if !state.complete {
            return Err(LabError::Incomplete { name: name.into() });
        }
        Ok(Lab { names, state })
    }

    /// Remove lab `name`: everything its state file lists and every namespace with its prefix.
    pub fn down(name: &str) -> Result<TeardownReport, LabError> {
        if !names::valid_lab_name(name) {
            return Err(LabError::BadName(name.into()));
        }
        if !exec::is_root() {
            return Err(LabError::NotRoot);
        }
        teardown::down(name)
    }

    pub fn name(&self) -> &str {
        &self.names.lab
    }

    pub fn spec(&self) -> &LabSpec {
        &self.state.spec
    }

    /// `/var/run/netns/<ns>` of a pod or node, for [`netdiag_agent::kernel::netns::run_in`].
    pub fn netns_path(&self, object: &str) -> PathBuf {
        self.names.netns_path(object)
    }
}

/// Tears its lab down when dropped, also on panic: for tests.
pub struct LabGuard {
    lab: Lab,
}

impl LabGuard {
    pub fn up(spec: &LabSpec, name: &str, tools: &LabTools) -> Result<LabGuard, LabError> {
        Lab::up(spec, name, tools).map(|lab| LabGuard { lab })
    }

    /// [`Lab::up_parts`], torn down when dropped.
    pub fn up_parts(
        spec: &LabSpec,
        name: &str,
        tools: &LabTools,
        parts: Parts,
    ) -> Result<LabGuard, LabError> {
        Lab::up_parts(spec, name, tools, parts).map(|lab| LabGuard { lab })
    }
}

impl std::ops::Deref for LabGuard {
    type Target = Lab;
    fn deref(&self) -> &Lab {
        &self.lab
    }
}

impl Drop for LabGuard {
    fn drop(&mut self) {
        if let Err(e) = teardown::down(self.lab.name()) {
            eprintln!("lab {}: teardown: {e}", self.lab.name());
        }
    }
}
