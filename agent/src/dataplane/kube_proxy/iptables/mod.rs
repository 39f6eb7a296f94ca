//! kube-proxy's iptables mode: the walker that follows its jumps for one VIP ([`walk`]) and the
//! reader that picks the backend holding its chains and feeds the walker ([`read`]). The walk
//! becomes the mode-neutral [`super::ServiceProgram`] through [`walk::ServiceWalk::program`].

pub mod read;
pub mod walk;

pub use read::{IptablesSources, NftChains, ReadError, walk_backend};
pub use walk::{Entry, ServiceWalk, WalkEndpoint, walk};
