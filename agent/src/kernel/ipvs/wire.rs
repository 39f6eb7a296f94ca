//! IPVS messages written byte for byte: the agent's requests (a service key, as
//! `ipvs_nl_fill_service_attr` in ipvsadm's libipvs writes it) and the kernel's answers, in the
//! order and widths of `ip_vs_genl_fill_service` / `ip_vs_genl_fill_dest` (statistics
//! included). The answers are what tests and the bench feed the decoder, because this machine
//! has no `ip_vs` to produce them; nothing in the agent's own path builds an answer.

use std::net::IpAddr;

use netlink_packet_core::{
    NLM_F_MULTIPART, NLMSG_DONE, NetlinkHeader, NetlinkMessage, NetlinkPayload,
};

use super::ServiceKey;
use super::decode::{IpvsDest, IpvsService};
use super::uapi::*;
use crate::kernel::genl::{GenlMessage, nla};

/// A `union nf_inet_addr`: 16 bytes, an IPv4 address in the first 4.
fn inet_addr(addr: IpAddr) -> [u8; NF_INET_ADDR_LEN] {
    let mut out = [0; NF_INET_ADDR_LEN];
    match addr {
        IpAddr::V4(a) => out[..4].copy_from_slice(&a.octets()),
        IpAddr::V6(a) => out.copy_from_slice(&a.octets()),
    }
    out
}

fn af(addr: IpAddr) -> u16 {
    match addr {
        IpAddr::V4(_) => AF_INET,
        IpAddr::V6(_) => AF_INET6,
    }
}

/// IPVS_CMD_ATTR_SERVICE holding only the key (AF, protocol, address, port): what the kernel's
/// `ip_vs_genl_parse_service` needs to find one service.
pub fn service_key_attrs(key: &ServiceKey) -> Vec<u8> {
    let mut out = Vec::new();
    nla::nest(&mut out, IPVS_CMD_ATTR_SERVICE, |s| {
        nla::put(s, IPVS_SVC_ATTR_AF, &af(key.addr).to_ne_bytes());
        nla::put(
            s,
            IPVS_SVC_ATTR_PROTOCOL,
            &key.protocol.number().to_ne_bytes(),
        );
        nla::put(s, IPVS_SVC_ATTR_ADDR, &inet_addr(key.addr));
        nla::put(s, IPVS_SVC_ATTR_PORT, &key.port.to_be_bytes());
    });
    out
}

fn request(family: u16, cmd: u8, attrs: Vec<u8>) -> GenlMessage {
    GenlMessage {
        family,
        cmd,
        version: IPVS_GENL_VERSION,
        attrs,
    }
}

/// IPVS_CMD_GET_SERVICE for one key, sent as a plain request: one answer or ESRCH.
pub fn get_service(family: u16, key: &ServiceKey) -> GenlMessage {
    request(family, IPVS_CMD_GET_SERVICE, service_key_attrs(key))
}

/// IPVS_CMD_GET_SERVICE with no attributes, sent as a dump: every service.
pub fn dump_services(family: u16) -> GenlMessage {
    request(family, IPVS_CMD_GET_SERVICE, Vec::new())
}

/// IPVS_CMD_GET_DEST for one service's key, sent as a dump: its real servers.
pub fn dump_dests(family: u16, key: &ServiceKey) -> GenlMessage {
    request(family, IPVS_CMD_GET_DEST, service_key_attrs(key))
}

/// The statistics nests (`ip_vs_genl_fill_stats` then `_stats64`), with `conns` connections.
/// On x86-64 the kernel adds no IPVS_STATS_ATTR_PAD before its 64-bit values.
fn stats(out: &mut Vec<u8>, kind32: u16, kind64: u16, conns: u32) {
    nla::nest(out, kind32, |s| {
        for k in [
            IPVS_STATS_ATTR_CONNS,
            IPVS_STATS_ATTR_INPKTS,
            IPVS_STATS_ATTR_OUTPKTS,
        ] {
            nla::put(s, k, &conns.to_ne_bytes());
        }
        for k in [IPVS_STATS_ATTR_INBYTES, IPVS_STATS_ATTR_OUTBYTES] {
            nla::put(s, k, &(u64::from(conns) * 60).to_ne_bytes());
        }
        for k in [
            IPVS_STATS_ATTR_CPS,
            IPVS_STATS_ATTR_INPPS,
            IPVS_STATS_ATTR_OUTPPS,
            IPVS_STATS_ATTR_INBPS,
            IPVS_STATS_ATTR_OUTBPS,
        ] {
            nla::put(s, k, &0u32.to_ne_bytes());
        }
    });
    nla::nest(out, kind64, |s| {
        for k in IPVS_STATS_ATTR_CONNS..=IPVS_STATS_ATTR_OUTBPS {
            nla::put(s, k, &u64::from(conns).to_ne_bytes());
        }
    });
}

/// The attributes inside IPVS_CMD_ATTR_SERVICE as `ip_vs_genl_fill_service` writes them.
pub fn service_attrs(svc: &IpvsService) -> Vec<u8> {
    let mut s = Vec::new();
    nla::put(&mut s, IPVS_SVC_ATTR_AF, &svc.af.to_ne_bytes());
    match (svc.fwmark, svc.addr) {
        (Some(mark), _) => nla::put(&mut s, IPVS_SVC_ATTR_FWMARK, &mark.to_ne_bytes()),
        (None, addr) => {
            nla::put(
                &mut s,
                IPVS_SVC_ATTR_PROTOCOL,
                &svc.protocol.number().to_ne_bytes(),
            );
            let bytes = addr.map(inet_addr).unwrap_or([0; NF_INET_ADDR_LEN]);
            nla::put(&mut s, IPVS_SVC_ATTR_ADDR, &bytes);
            nla::put(&mut s, IPVS_SVC_ATTR_PORT, &svc.port.to_be_bytes());
        }
    }
    nla::put_string(&mut s, IPVS_SVC_ATTR_SCHED_NAME, &svc.scheduler);
    if let Some(pe) = &svc.pe_name {
        nla::put_string(&mut s, IPVS_SVC_ATTR_PE_NAME, pe);
    }
    // struct ip_vs_flags { flags, mask = ~0 }.
    let mut flags = svc.flags.to_ne_bytes().to_vec();
    flags.extend_from_slice(&u32::MAX.to_ne_bytes());
    nla::put(&mut s, IPVS_SVC_ATTR_FLAGS, &flags);
    nla::put(&mut s, IPVS_SVC_ATTR_TIMEOUT, &svc.timeout.to_ne_bytes());
    nla::put(&mut s, IPVS_SVC_ATTR_NETMASK, &svc.netmask.to_ne_bytes());
    stats(&mut s, IPVS_SVC_ATTR_STATS, IPVS_SVC_ATTR_STATS64, 3);
    s
}

/// The kernel's IPVS_CMD_NEW_SERVICE message for `svc`.
pub fn service_message(family: u16, svc: &IpvsService) -> GenlMessage {
    let mut attrs = Vec::new();
    nla::put(&mut attrs, IPVS_CMD_ATTR_SERVICE, &service_attrs(svc));
    request(family, IPVS_CMD_NEW_SERVICE, attrs)
}

/// The attributes inside IPVS_CMD_ATTR_DEST as `ip_vs_genl_fill_dest` writes them.
pub fn dest_attrs(d: &IpvsDest) -> Vec<u8> {
    let mut s = Vec::new();
    nla::put(&mut s, IPVS_DEST_ATTR_ADDR, &inet_addr(d.addr));
    nla::put(&mut s, IPVS_DEST_ATTR_PORT, &d.port.to_be_bytes());
    nla::put(
        &mut s,
        IPVS_DEST_ATTR_FWD_METHOD,
        &d.forward.to_kernel().to_ne_bytes(),
    );
    nla::put(&mut s, IPVS_DEST_ATTR_WEIGHT, &d.weight.to_ne_bytes());
    nla::put(&mut s, IPVS_DEST_ATTR_TUN_TYPE, &[0]);
    nla::put(&mut s, IPVS_DEST_ATTR_TUN_PORT, &0u16.to_be_bytes());
    nla::put(&mut s, IPVS_DEST_ATTR_TUN_FLAGS, &0u16.to_ne_bytes());
    nla::put(
        &mut s,
        IPVS_DEST_ATTR_U_THRESH,
        &d.upper_threshold.to_ne_bytes(),
    );
    nla::put(
        &mut s,
        IPVS_DEST_ATTR_L_THRESH,
        &d.lower_threshold.to_ne_bytes(),
    );
    nla::put(
        &mut s,
        IPVS_DEST_ATTR_ACTIVE_CONNS,
        &d.active_conns.to_ne_bytes(),
    );
    nla::put(
        &mut s,
        IPVS_DEST_ATTR_INACT_CONNS,
        &d.inactive_conns.to_ne_bytes(),
    );
    nla::put(
        &mut s,
        IPVS_DEST_ATTR_PERSIST_CONNS,
        &d.persist_conns.to_ne_bytes(),
    );
    nla::put(
        &mut s,
        IPVS_DEST_ATTR_ADDR_FAMILY,
        &af(d.addr).to_ne_bytes(),
    );
    stats(
        &mut s,
        IPVS_DEST_ATTR_STATS,
        IPVS_DEST_ATTR_STATS64,
        d.active_conns,
    );
    s
}

/// The kernel's IPVS_CMD_NEW_DEST message for `d`.
pub fn dest_message(family: u16, d: &IpvsDest) -> GenlMessage {
    let mut attrs = Vec::new();
    nla::put(&mut attrs, IPVS_CMD_ATTR_DEST, &dest_attrs(d));
    request(family, IPVS_CMD_NEW_DEST, attrs)
}

/// `msg` framed as the kernel sends a dump entry: nlmsghdr (NLM_F_MULTIPART, `seq`) and padding.
pub fn frame(msg: GenlMessage, seq: u32) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.flags = NLM_F_MULTIPART;
    header.sequence_number = seq;
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
    packet.finalize();
    let mut out = vec![0u8; packet.buffer_len()];
    packet.serialize(&mut out);
    out.resize(nla::align(out.len()), 0);
    out
}

/// The NLMSG_DONE that ends a dump: a header and a 4-byte zero error code.
pub fn done(seq: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(20);
    out.extend_from_slice(&20u32.to_ne_bytes());
    out.extend_from_slice(&NLMSG_DONE.to_ne_bytes());
    out.extend_from_slice(&NLM_F_MULTIPART.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&0i32.to_ne_bytes());
    out
}

/// A whole service dump of `services`, as the bytes the kernel's datagrams carry.
pub fn service_dump(family: u16, services: &[IpvsService], seq: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for s in services {
        out.extend(frame(service_message(family, s), seq));
    }
    out.extend(done(seq));
    out
}
