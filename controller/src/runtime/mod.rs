//! What runs the reconcile: the controller wiring and bounded shutdown ([`runner`]), leader
//! election ([`leader`]), `/metrics`, `/healthz` and `/readyz` ([`http`], [`metrics`],
//! [`health`]) and Kubernetes Events ([`events`]).

pub mod events;
pub mod health;
pub mod http;
pub mod leader;
pub mod metrics;
pub mod runner;
