//! This kernel cannot create `ipip` (or geneve) links, so these decode RTM_NEWLINK messages built
//! byte by byte from the kernel's uapi headers (linux/rtnetlink.h, linux/if_link.h,
//! linux/if_tunnel.h), through the same decoder a real dump goes through. VXLAN is also tested
//! against the real kernel (`agent/tests/overlay.rs`).

use std::net::Ipv4Addr;

use netlink_packet_core::{NetlinkMessage, NetlinkPayload};
use netlink_packet_route::RouteNetlinkMessage;

use super::TunnelConfig;
use crate::kernel::rtnl::link::link_from;

// linux/if_link.h
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const IFLA_VXLAN_ID: u16 = 1;
const IFLA_VXLAN_LINK: u16 = 3;
const IFLA_VXLAN_LOCAL: u16 = 4;
const IFLA_VXLAN_LEARNING: u16 = 7;
const IFLA_VXLAN_PORT: u16 = 15;
const IFLA_GENEVE_ID: u16 = 1;
const IFLA_GENEVE_REMOTE: u16 = 2;
const IFLA_GENEVE_PORT: u16 = 5;
// linux/if_tunnel.h
const IFLA_IPTUN_LINK: u16 = 1;
const IFLA_IPTUN_LOCAL: u16 = 2;
const IFLA_IPTUN_REMOTE: u16 = 3;
// linux/rtnetlink.h
const RTM_NEWLINK: u16 = 16;
const NLA_F_NESTED: u16 = 0x8000;

fn nla(kind: u16, payload: &[u8]) -> Vec<u8> {
    let len = 4 + payload.len();
    let mut out = Vec::with_capacity(len + 3);
    out.extend_from_slice(&(len as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(payload);
    out.resize(len.next_multiple_of(4), 0);
    out
}

/// An RTM_NEWLINK for ifindex 9 named `name`, of kind `kind` with IFLA_INFO_DATA `data`.
fn newlink(name: &str, kind: &str, data: &[Vec<u8>]) -> Vec<u8> {
    let mut body = Vec::new();
    // struct ifinfomsg: family, pad, type, index, flags, change
    body.extend_from_slice(&[0, 0, 0, 0]);
    body.extend_from_slice(&9i32.to_ne_bytes());
    body.extend_from_slice(&1u32.to_ne_bytes()); // IFF_UP
    body.extend_from_slice(&0u32.to_ne_bytes());
    body.extend(nla(IFLA_IFNAME, format!("{name}\0").as_bytes()));
    body.extend(nla(IFLA_MTU, &1480u32.to_ne_bytes()));
    let mut info = nla(IFLA_INFO_KIND, format!("{kind}\0").as_bytes());
    info.extend(nla(IFLA_INFO_DATA | NLA_F_NESTED, &data.concat()));
    body.extend(nla(IFLA_LINKINFO | NLA_F_NESTED, &info));
    let mut msg = Vec::new();
    msg.extend_from_slice(&((16 + body.len()) as u32).to_ne_bytes());
    msg.extend_from_slice(&RTM_NEWLINK.to_ne_bytes());
    msg.extend_from_slice(&0u16.to_ne_bytes()); // flags
    msg.extend_from_slice(&1u32.to_ne_bytes()); // seq
    msg.extend_from_slice(&0u32.to_ne_bytes()); // pid
    msg.extend(body);
    msg
}

fn decode(bytes: &[u8]) -> crate::kernel::rtnl::Link {
    let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(bytes);
    let Ok(NetlinkMessage {
        payload: NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)),
        ..
    }) = msg
    else {
        panic!("not a link message: {msg:?}");
    };
    link_from(&l)
}

#[test]
fn calicos_tunl0_reads_as_ipip_with_any_remote() {
    let link = decode(&newlink(
        "tunl0",
        "ipip",
        &[
            nla(IFLA_IPTUN_LINK, &0u32.to_ne_bytes()),
            nla(IFLA_IPTUN_LOCAL, &[0, 0, 0, 0]),
            nla(IFLA_IPTUN_REMOTE, &[0, 0, 0, 0]),
        ],
    ));
    assert_eq!(link.name, "tunl0");
    assert_eq!(link.mtu, 1480);
    let tunnel = link.tunnel.expect("ipip settings");
    assert_eq!(
        tunnel,
        TunnelConfig::IpIp {
            local: None,
            remote: None,
            underlay: None
        }
    );
    assert_eq!((tunnel.kind(), tunnel.overhead()), ("ipip", 20));
}

#[test]
fn a_point_to_point_ipip_tunnel_names_both_ends_and_its_underlay() {
    // kube-router's tun-<ip>: one tunnel per remote node
    let link = decode(&newlink(
        "tun-172180003",
        "ipip",
        &[
            nla(IFLA_IPTUN_LINK, &2u32.to_ne_bytes()),
            nla(IFLA_IPTUN_LOCAL, &[172, 18, 0, 2]),
            nla(IFLA_IPTUN_REMOTE, &[172, 18, 0, 3]),
        ],
    ));
    assert_eq!(
        link.tunnel,
        Some(TunnelConfig::IpIp {
            local: Some(Ipv4Addr::new(172, 18, 0, 2)),
            remote: Some(Ipv4Addr::new(172, 18, 0, 3)),
            underlay: Some(2),
        })
    );
}

#[test]
fn sit_data_is_not_taken_for_ipip() {
    let link = decode(&newlink(
        "sit1",
        "sit",
        &[nla(IFLA_IPTUN_REMOTE, &[172, 18, 0, 3])],
    ));
    assert_eq!(link.tunnel, None);
}

#[test]
fn flannels_vxlan_device_reads_with_vni_port_local_and_underlay() {
    let link = decode(&newlink(
        "flannel.1",
        "vxlan",
        &[
            nla(IFLA_VXLAN_ID, &1u32.to_ne_bytes()),
            nla(IFLA_VXLAN_LINK, &2u32.to_ne_bytes()),
            nla(IFLA_VXLAN_LOCAL, &[172, 18, 0, 2]),
            nla(IFLA_VXLAN_LEARNING, &[0]),
            // __be16, as the kernel sends it
            nla(IFLA_VXLAN_PORT, &8472u16.to_be_bytes()),
        ],
    ));
    let tunnel = link.tunnel.expect("vxlan settings");
    assert_eq!(
        tunnel,
        TunnelConfig::Vxlan {
            vni: Some(1),
            port: Some(8472),
            local: Some(Ipv4Addr::new(172, 18, 0, 2)),
            underlay: Some(2),
            learning: Some(false),
        }
    );
    assert_eq!((tunnel.overhead(), tunnel.underlay()), (50, Some(2)));
}

#[test]
fn ciliums_collect_metadata_geneve_device_has_no_fixed_remote() {
    let link = decode(&newlink(
        "cilium_geneve",
        "geneve",
        &[
            nla(IFLA_GENEVE_ID, &0u32.to_ne_bytes()),
            nla(IFLA_GENEVE_REMOTE, &[0, 0, 0, 0]),
            nla(IFLA_GENEVE_PORT, &6081u16.to_be_bytes()),
        ],
    ));
    assert_eq!(
        link.tunnel,
        Some(TunnelConfig::Geneve {
            vni: Some(0),
            port: Some(6081),
            remote: None,
        })
    );
}
