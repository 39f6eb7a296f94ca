//! Netfilter as this node holds it, parsed and modelled: [`iptables`] today (both backends);
//! nf_tables objects (kube-proxy's nftables mode, rule tracing) go beside it.

pub mod iptables;
