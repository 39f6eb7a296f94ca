//! kube-proxy's programmed state: iptables (legacy and nft backends), the walker, the generator.
//!
//! Pure parts ([`tokenize`], [`rule`], [`iptables`], [`walk`], [`verdict`], [`generate`]) take
//! text or structs; [`read`] runs the iptables binaries in the current network namespace.

pub mod generate;
pub mod iptables;
pub mod names;
pub mod read;
pub mod rule;
pub mod tokenize;
pub mod verdict;
pub mod walk;

pub use read::{ReadError, service_rules, service_rules_walk};
pub use walk::{ChainSource, Entry, ServiceWalk, WalkEndpoint, walk};
