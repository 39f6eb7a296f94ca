//! The node agent: carries out one task on this node (trace a pod's path, check an endpoint) and
//! returns one report; it must not depend on a kube client, nor on the lab (`netdiag-lab` uses
//! the agent, never the other way round).
//!
//! - [`run`]: a task becomes an ordered list of steps, with observers armed around the connect;
//! - [`capture`]: the probe's packets per interface and as pcapng (evidence);
//! - [`path`]: one module per hop, in path order, each a `read` (I/O) and a pure `judge`;
//! - [`inspect`]: node inspection, every pod namespace mapped to its veth, bridge and holder;
//! - [`dataplane`]: what this node runs (kube-proxy's modes, netfilter), parsed and modelled;
//! - [`kernel`]: I/O only (namespaces, the one netlink transport);
//! - [`cli`]: the `netdiag-agent` command line.
//!
//! The netns lab and the kube-proxy rule generator live in the `netdiag-lab` crate.

pub mod capture;
pub mod cli;
pub mod dataplane;
pub mod inspect;
pub mod kernel;
pub mod path;
pub mod run;
