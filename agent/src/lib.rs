//! The node agent: carries out one task on this node (trace a pod's path, check an endpoint) and
//! returns one report; it must not depend on a kube client.
//!
//! - [`run`]: a task becomes an ordered list of steps, with observers armed around the connect;
//! - [`path`]: one module per hop, in path order, each a `read` (I/O) and a pure `judge`;
//! - [`dataplane`]: what this node runs (kube-proxy's modes, netfilter), parsed and modelled;
//! - [`kernel`]: I/O only (namespaces, the one netlink transport);
//! - [`cli`]: the `netdiag-agent` command line.
//!
//! The netns lab ([`lab`]) and the kube-proxy rule generator ([`kubeproxy`]) still live here
//! and move to their own crate.

pub mod cli;
pub mod dataplane;
pub mod kernel;
pub mod kubeproxy;
pub mod lab;
pub mod path;
pub mod run;

/// The namespace API at its old path, for the lab's code.
pub use kernel::netns;
