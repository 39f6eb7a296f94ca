//! Kubernetes facts shared by the netdiag plugin and controller (pod readiness, Service ports,
//! ready EndpointSlice endpoints); must not depend on netlink, a kube client or tokio.
//!
//! One implementation, so the plugin's pre-check and the controller never disagree about a
//! Service: a Service the plugin lets through is one the controller can trace. The semantics:
//! - a pod is **ready** when it is Running, not terminating (no deletion timestamp) and its
//!   `Ready` condition is True ([`pod::is_ready`]);
//! - an endpoint is **ready** when its `ready` condition is not false (absent means ready, as
//!   the API documents and kube-proxy treats it) and it is not terminating;
//! - only **IPv4** EndpointSlices count: netdiag traces IPv4, and a dual-stack Service's IPv6
//!   slice names endpoints no IPv4 probe can reach ([`endpoints::for_port`]);
//! - a Service port is chosen by number or name, or is the Service's only port
//!   ([`service::choose_port`]).

pub mod endpoints;
pub mod node;
pub mod pod;
pub mod service;
