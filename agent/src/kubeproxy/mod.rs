//! The kube-proxy rule generator and its chain names: lab and test tooling, not agent code (it
//! moves to the lab crate). The agent's own kube-proxy code is `crate::dataplane::kube_proxy`;
//! the re-export below keeps the generator's import path.

pub mod generate;
pub mod names;

pub use crate::dataplane::netfilter::iptables::tokenize;
