//! kube-proxy's programmed state: iptables (legacy and nft backends), the walker, the generator.
//!
//! Pure parts ([`tokenize`], [`rule`], [`iptables`], [`walk`], [`verdict`], [`generate`]) take
//! text or structs; [`read`] runs the iptables-nft binary in the current network namespace, and
//! [`xtables`] reads legacy tables from the kernel there.

pub mod generate;
pub mod iptables;
pub mod names;
pub mod read;
pub mod rule;
pub mod tokenize;
pub mod verdict;
pub mod walk;
pub mod xtables;

pub use read::{ReadError, service_rules, service_rules_walk};
pub use walk::{ChainSource, Entry, ServiceWalk, WalkEndpoint, walk};
