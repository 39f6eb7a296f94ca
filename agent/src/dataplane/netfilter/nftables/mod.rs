//! nf_tables rules as `nft -j` lists them ([`rule`]), knowing nothing of kube-proxy: its
//! nftables walker lives in `dataplane::kube_proxy::nftables`. Sets and maps are read from the
//! kernel directly ([`crate::kernel::nftables`]).

pub mod netlink;
#[cfg(test)]
mod netlink_tests;
pub mod print;
pub mod rule;
