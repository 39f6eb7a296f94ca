//! The bench's one error type: each variant names the operation that failed and what it was on.

use std::path::PathBuf;
use std::process::ExitStatus;

#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    #[error("cannot start `{cmd}`: {source}")]
    Spawn {
        cmd: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{cmd}` failed ({status}): {stderr}")]
    Command {
        cmd: String,
        status: ExitStatus,
        stderr: String,
    },
    #[error(transparent)]
    Netns(#[from] netdiag_agent::kernel::netns::NetnsError),
    #[error("cannot {what} {path}: {source}")]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot read {what} as JSON: {source}")]
    Json {
        what: String,
        #[source]
        source: serde_json::Error,
    },
    #[error(transparent)]
    TooLarge(#[from] crate::workload::TooLarge),
    #[error("cannot install the signal handler that cleans up on Ctrl-C: {0}")]
    Signal(#[source] nix::Error),
    #[error("cannot read resource usage: {0}")]
    Rusage(#[source] nix::Error),
    #[error("{what}: {detail}")]
    Unexpected { what: &'static str, detail: String },
}

impl BenchError {
    pub fn io(what: &'static str, path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| BenchError::Io { what, path, source }
    }
}
