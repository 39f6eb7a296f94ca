//! The node-side engine of netdiag: finds a pod's network namespace, follows its veth to the
//! node, walks kube-proxy's rules, connects, reads conntrack, asks DNS, checks the endpoint, and
//! returns one [`netdiag_model::NodeReport`]. Also the netns lab that rebuilds a small cluster
//! data plane out of real kernel parts.
//!
//! Pure logic (parsers, walkers, verdicts) lives apart from I/O (netlink, setns, processes).

pub mod cli;
pub mod kubeproxy;
pub mod lab;
pub mod links;
pub mod netns;
pub mod probe;
pub mod resolv;
pub mod trace;
