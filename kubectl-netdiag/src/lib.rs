//! `kubectl netdiag`: the kubectl plugin that finds out why one thing in a Kubernetes cluster
//! cannot reach another. A library so the integration tests can drive its modules; the binary
//! is `src/main.rs`.

#[cfg(target_os = "linux")]
pub mod agent;
pub mod app;
pub mod cli;
pub mod client;
pub mod complete;
pub mod complete_api;
pub mod duration;
pub mod error;
pub mod explain;
pub mod inspect;
pub mod install;
pub mod interrupt;
pub mod list;
pub mod output;
pub mod pick;
pub mod probe;
pub mod progress;
pub mod resolve;
pub mod trace;
pub mod version;
pub mod wait;
