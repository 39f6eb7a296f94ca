//! The agent's kernel I/O, and nothing else: no verdicts here.
//!
//! - [`netns`]: entering a network namespace (on a throwaway thread) and finding a pod's;
//! - [`netlink`]: the one netlink socket and request/dump transport, every read with a deadline;
//! - [`rtnl`]: links, addresses, neighbours, routes and namespace ids over it (`ip`);
//! - [`conntrack`]: conntrack entries, statistics and events over it (`conntrack`);
//! - [`nftables`]: nf_tables tables and set elements over it (`nft get element`);
//! - [`packet`]: AF_PACKET capture of the probe's frames with a kernel filter (`tcpdump`);
//! - [`sock_diag`]: listening sockets over it (`ss`);
//! - [`genl`]: generic netlink families resolved by name over it (`genl ctrl`);
//! - [`ipvs`]: IPVS virtual services and real servers over generic netlink (`ipvsadm -Ln`).
//!
//! Kernel states are enums ([`rtnl::OperState`], [`rtnl::NeighbourState`], [`rtnl::RouteKind`]),
//! so the judges in [`crate::path`] match on them instead of comparing strings.

pub mod conntrack;
pub mod file;
pub mod genl;
pub mod ipset;
pub mod ipvs;
pub mod netlink;
pub mod netns;
pub mod nftables;
pub mod packet;
pub mod rtnl;
pub mod sock_diag;
