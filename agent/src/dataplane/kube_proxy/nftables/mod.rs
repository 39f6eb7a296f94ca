//! kube-proxy's nftables mode: `table ip kube-proxy`. The walker ([`walk`]) starts where the
//! kernel does, at the `service-ips` element for `VIP . proto . port`, follows its verdict into
//! the `service-`, `external-` and `local-` chains and their `numgen` verdict maps to the
//! `endpoint-` chains' `dnat to`, and, when there is no element, looks where kube-proxy sends
//! such traffic instead (`no-endpoint-services`, `cluster-ips-check`). The reader ([`read`])
//! answers with single elements over netlink and single chains from `nft -j list chain`: never
//! the whole table, which is seconds and hundreds of MB on a large node.

pub mod read;
mod shapes;
pub mod walk;

use std::net::Ipv4Addr;

use netdiag_model::Protocol;

use super::iptables::walk::Entry;
use crate::dataplane::netfilter::nftables::rule::NftRule;
use crate::kernel::nftables::SetElement;

pub use read::{NftReadError, NodeNft};
pub use walk::walk;

/// kube-proxy's table name (in families `ip` and `ip6`).
pub const TABLE: &str = "kube-proxy";

/// Where the walker gets kube-proxy's objects from: the node's kernel, or a test's.
pub trait NftSource {
    type Error;
    /// Whether `table ip kube-proxy` exists.
    fn has_table(&mut self) -> Result<bool, Self::Error>;
    /// The element of map or set `set` for exactly `key`.
    fn element(&mut self, set: &str, key: &[u8]) -> Result<Option<SetElement>, Self::Error>;
    /// Every element of `set` (empty when it does not exist).
    fn elements(&mut self, set: &str) -> Result<Vec<SetElement>, Self::Error>;
    /// The rules of chain `name`; `Ok(None)` when it does not exist.
    fn chain(&mut self, name: &str) -> Result<Option<Vec<NftRule>>, Self::Error>;
    /// The `timeout` of set `name` in seconds (kube-proxy's affinity sets).
    fn set_timeout(&mut self, name: &str) -> Result<Option<u32>, Self::Error>;
}

/// The protocol as `meta l4proto` holds it (0 for one this version does not know, which no
/// element matches).
pub fn proto_number(p: Protocol) -> u8 {
    match p {
        Protocol::TCP => 6,
        Protocol::UDP => 17,
        Protocol::Unknown => 0,
    }
}

/// A key as the kernel stores it: each field of a concatenation in its own 4-byte register,
/// addresses and ports in network order.
pub fn ip_key(ip: Ipv4Addr) -> Vec<u8> {
    ip.octets().to_vec()
}

/// `ipv4_addr . inet_proto . inet_service` (`service-ips`, `no-endpoint-services`,
/// `firewall-ips`) or, for a NodePort, `inet_proto . inet_service` (`service-nodeports`).
pub fn service_key(entry: Entry, ip: Ipv4Addr, protocol: Protocol, port: u16) -> Vec<u8> {
    let mut key = match entry {
        Entry::ServiceIp => ip_key(ip),
        Entry::NodePort => Vec::new(),
    };
    key.extend_from_slice(&[proto_number(protocol), 0, 0, 0]);
    key.extend_from_slice(&port.to_be_bytes());
    key.extend_from_slice(&[0, 0]);
    key
}

/// A `service-ips` key read back: address, protocol name and port.
pub fn decode_service_key(key: &[u8]) -> Option<(Ipv4Addr, &'static str, u16)> {
    let [a, b, c, d, proto, _, _, _, p0, p1, ..] = *key else {
        return None;
    };
    let proto = match proto {
        6 => "tcp",
        17 => "udp",
        132 => "sctp",
        _ => "?",
    };
    Some((
        Ipv4Addr::new(a, b, c, d),
        proto,
        u16::from_be_bytes([p0, p1]),
    ))
}
