//! What the netdiag controller, agent and lab exchange: the agent's plan, node reports, hops and
//! their typed details, and the merge into one path. Depends on serde and thiserror only (schemars
//! behind the `schema` feature, for the CRD): no kube, no tokio, no netlink.

pub mod addr;
pub mod base64;
pub mod doc;
pub mod inspect;
pub mod merge;
pub mod path;
pub mod pcapng;
pub mod plan;
pub mod planner;
pub mod protocol;
pub mod reason;
pub mod report;

pub use path::{MergedPath, Progress};
pub use plan::{DnsServer, PlanNode, PlanRole, PlanTarget, TracePlan};
pub use protocol::{Check, Protocol};
pub use reason::Reason;
pub use report::{DnsResult, Endpoint, FirstFailure, Hop, HopDetail, HopKind, NodeReport, Verdict};
