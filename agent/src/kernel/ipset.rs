//! ipset membership over netfilter netlink, like `ipset test KUBE-CLUSTER-IP 10.96.0.10,udp:53`:
//! kube-proxy's IPVS mode lists every Service address in ipsets its iptables rules match on
//! (masquerade, filter accept). In the calling thread's network namespace.

use std::net::Ipv4Addr;
use std::time::Duration;

use netlink_packet_core::{NLM_F_ACK, NLM_F_REQUEST};

use super::netlink::{Family, NetlinkError, NetlinkSocket};
use super::nftables::msg::{AttrWriter, NLA_F_NET_BYTEORDER, NftMessage};

/// `NFNL_SUBSYS_IPSET`, `IPSET_CMD_TEST`, `IPSET_PROTOCOL`.
const SUBSYS_IPSET: u8 = 6;
const CMD_TEST: u8 = 11;
const PROTOCOL: u8 = 7;
// enum ipset_attr and ipset_cadt_attrs (uapi linux/netfilter/ipset/ip_set.h)
const ATTR_PROTOCOL: u16 = 1;
const ATTR_SETNAME: u16 = 2;
const ATTR_DATA: u16 = 7;
const ATTR_IP: u16 = 1;
const ATTR_IPADDR_IPV4: u16 = 1;
const ATTR_PORT: u16 = 4;
const ATTR_PROTO: u16 = 7;
/// `IPSET_ERR_EXIST`: a test whose element is not in the set.
const ERR_EXIST: i32 = 4103;

/// The request of `ipset test SET IP,PROTO:PORT` for a `hash:ip,port` set. Pure.
pub fn test_request(set: &str, ip: Ipv4Addr, proto: u8, port: u16) -> NftMessage {
    let ip_attr = AttrWriter::default().bytes(ATTR_IPADDR_IPV4 | NLA_F_NET_BYTEORDER, &ip.octets());
    let data = AttrWriter::default()
        .nested(ATTR_IP, ip_attr)
        .bytes(ATTR_PORT | NLA_F_NET_BYTEORDER, &port.to_be_bytes())
        .bytes(ATTR_PROTO, &[proto]);
    let attrs = AttrWriter::default()
        .bytes(ATTR_PROTOCOL, &[PROTOCOL])
        .string(ATTR_SETNAME, set)
        .nested(ATTR_DATA, data)
        .finish();
    NftMessage::of(SUBSYS_IPSET, CMD_TEST, libc::AF_INET as u8, attrs)
}

/// Whether `ip,proto:port` is in the `hash:ip,port` set `set`; None when there is no such set.
pub fn contains(
    set: &str,
    ip: Ipv4Addr,
    proto: u8,
    port: u16,
) -> Result<Option<bool>, NetlinkError> {
    let mut socket = NetlinkSocket::open(
        Family::Netfilter,
        "open ipset netlink",
        Duration::from_secs(2),
    )?;
    let op = "test an ipset element (IPSET_CMD_TEST)";
    match socket.request(
        op,
        test_request(set, ip, proto, port),
        NLM_F_REQUEST | NLM_F_ACK,
    ) {
        Ok(_) => Ok(Some(true)),
        Err(e) if e.errno() == Some(ERR_EXIST) => Ok(Some(false)),
        Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kernel::nftables::msg::{attr, attrs};
    use netlink_packet_core::NetlinkSerializable;

    #[test]
    fn a_test_request_carries_the_set_and_the_element_in_network_order() {
        let m = test_request("KUBE-CLUSTER-IP", Ipv4Addr::new(10, 96, 0, 10), 17, 53);
        assert_eq!(m.message_type(), (6 << 8) | 11);
        assert_eq!(attr(&m.attrs, ATTR_PROTOCOL), Some(&[7u8][..]));
        let data = attr(&m.attrs, ATTR_DATA).expect("data");
        let ip = attr(data, ATTR_IP).expect("ip");
        assert_eq!(
            attrs(ip).next(),
            Some((ATTR_IPADDR_IPV4, &[10u8, 96, 0, 10][..]))
        );
        assert_eq!(attr(data, ATTR_PORT), Some(&[0u8, 53][..]));
        assert_eq!(attr(data, ATTR_PROTO), Some(&[17u8][..]));
    }
}
