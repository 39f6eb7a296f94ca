//! Netfilter as this node holds it, parsed and modelled: [`iptables`] (both backends) and
//! [`nftables`] rules; rule tracing goes beside them.

pub mod command;
pub mod iptables;
pub mod nftables;
