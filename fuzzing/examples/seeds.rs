//! Writes the binary seeds of `fuzz/corpus/` (`seed-*` files), built with the same wire
//! builders the agent's own tests use: `cargo run -p netdiag-fuzzing --example seeds`.
//! The text seeds there are copied from the tests' fixtures and samples.

use std::fs;
use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};
use std::path::Path;

use netdiag_agent::kernel::conntrack::{CtMessage, entry_attrs};
use netdiag_agent::kernel::ipvs::decode::{decode_dest_dump, decode_service_dump};
use netdiag_agent::kernel::ipvs::uapi::AF_INET;
use netdiag_agent::kernel::ipvs::{Forward, IpvsDest, IpvsService, Proto, wire};
use netdiag_agent::kernel::netlink::messages;
use netdiag_agent::kernel::nftables::msg::{self, AttrWriter, NFPROTO_IPV4, NftMessage};
use netdiag_agent::path::conntrack::entry::{CtTuple, decode, tuple_attrs};
use netdiag_agent::path::dns::wire::parse_answer;
use netdiag_model::pcapng::{self, Capture, Packet};
use netlink_packet_core::{
    NLM_F_MULTIPART, NetlinkHeader, NetlinkMessage, NetlinkPayload, NetlinkSerializable,
};
use netlink_packet_netfilter::conntrack::{ConntrackAttribute, ConntrackMessage};
use netlink_packet_netfilter::{NetfilterHeader, NetfilterMessage, NetfilterProtoFamily};

fn write(target: &str, name: &str, bytes: &[u8]) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/corpus")
        .join(target);
    fs::create_dir_all(&dir).expect("create the corpus directory");
    fs::write(dir.join(format!("seed-{name}")), bytes).expect("write a seed");
}

/// Netlink messages framed as one datagram, each padded to 4 bytes.
fn datagram<T: NetlinkSerializable + std::fmt::Debug>(msgs: Vec<T>) -> Vec<u8> {
    let mut out = Vec::new();
    for m in msgs {
        let mut header = NetlinkHeader::default();
        header.flags = NLM_F_MULTIPART;
        let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(m));
        packet.finalize();
        let mut bytes = vec![0u8; packet.buffer_len()];
        packet.serialize(&mut bytes);
        out.extend_from_slice(&bytes);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    out
}

fn be32(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

fn verdict(code: i32, chain: &str) -> AttrWriter {
    let v = AttrWriter::default()
        .bytes(msg::VERDICT_CODE, &code.to_be_bytes())
        .string(msg::VERDICT_CHAIN, chain);
    AttrWriter::default().nested(msg::DATA_VERDICT, v)
}

fn expr(name: &str, data: AttrWriter) -> AttrWriter {
    AttrWriter::default()
        .string(msg::EXPR_NAME, name)
        .nested(msg::EXPR_DATA, data)
}

/// `NFTA_LIST_ELEM`s, as elements and expressions are listed.
fn list(items: Vec<AttrWriter>) -> AttrWriter {
    items
        .into_iter()
        .fold(AttrWriter::default(), |l, e| l.nested(msg::LIST_ELEM, e))
}

/// kube-proxy's table for 10.96.45.10:80/tcp: its `service-ips` element, the service chain's
/// numgen vmap over an anonymous map, the endpoint chain's `dnat to`, and a set's timeout.
fn nft_seed() -> Vec<u8> {
    const GOTO: i32 = -4;
    let element = |key: &[u8], data: Option<AttrWriter>| {
        let mut e = AttrWriter::default().nested(
            msg::ELEM_KEY,
            AttrWriter::default().bytes(msg::DATA_VALUE, key),
        );
        if let Some(d) = data {
            e = e.nested(msg::ELEM_DATA, d);
        }
        e
    };
    let elements = |set: &str, items: Vec<AttrWriter>| {
        let l = list(items);
        let attrs = AttrWriter::default()
            .string(msg::ELEM_LIST_TABLE, "kube-proxy")
            .string(msg::ELEM_LIST_SET, set)
            .nested(msg::ELEM_LIST_ELEMENTS, l)
            .finish();
        NftMessage::new(msg::MSG_NEWSETELEM, NFPROTO_IPV4, attrs)
    };
    let rule = |chain: &str, handle: u64, exprs: Vec<AttrWriter>| {
        let l = list(exprs);
        let attrs = AttrWriter::default()
            .string(msg::RULE_TABLE, "kube-proxy")
            .string(msg::RULE_CHAIN, chain)
            .bytes(msg::RULE_HANDLE, &handle.to_be_bytes())
            .nested(msg::RULE_EXPRESSIONS, l)
            .finish();
        NftMessage::new(msg::MSG_NEWRULE, NFPROTO_IPV4, attrs)
    };
    let service_key = [10, 96, 45, 10, 6, 0, 0, 0, 0, 80, 0, 0];
    let svc = "service-ULMVA6XW-default/echo/tcp/http";
    let ep = "endpoint-5OJB2KTY-default/echo/tcp/http__10.244.1.5/8080";
    let numgen = AttrWriter::default()
        .bytes(1, &be32(1))
        .bytes(2, &be32(1))
        .bytes(3, &be32(1));
    let lookup = AttrWriter::default()
        .string(1, "__map0")
        .bytes(2, &be32(1))
        .bytes(3, &be32(0));
    let immediate = |reg: u32, value: &[u8]| {
        AttrWriter::default()
            .bytes(1, &be32(reg))
            .nested(2, AttrWriter::default().bytes(msg::DATA_VALUE, value))
    };
    let nat = AttrWriter::default()
        .bytes(1, &be32(1))
        .bytes(2, &be32(2))
        .bytes(3, &be32(1))
        .bytes(5, &be32(2));
    let timeout = AttrWriter::default()
        .string(msg::SET_TABLE, "kube-proxy")
        .string(msg::SET_NAME, "affinity-X")
        .bytes(msg::SET_TIMEOUT, &10_800_000u64.to_be_bytes())
        .finish();
    datagram(vec![
        elements(
            "service-ips",
            vec![element(&service_key, Some(verdict(GOTO, svc)))],
        ),
        elements(
            "__map0",
            vec![element(&0u32.to_ne_bytes(), Some(verdict(GOTO, ep)))],
        ),
        rule(svc, 4, vec![expr("numgen", numgen), expr("lookup", lookup)]),
        rule(
            ep,
            9,
            vec![
                expr("immediate", immediate(1, &[10, 244, 1, 5])),
                expr("immediate", immediate(2, &8080u16.to_be_bytes())),
                expr("nat", nat),
            ],
        ),
        NftMessage::new(msg::MSG_NEWSET, NFPROTO_IPV4, timeout),
    ])
}

fn ipvs_seeds() -> (Vec<u8>, Vec<u8>) {
    const FAMILY: u16 = 0x24;
    let svc = IpvsService {
        af: AF_INET,
        protocol: Proto::Tcp,
        addr: Some(IpAddr::V4(Ipv4Addr::new(10, 96, 45, 10))),
        port: 80,
        fwmark: None,
        scheduler: "rr".into(),
        persistent: None,
        flags: 0x0002,
        timeout: 0,
        netmask: u32::MAX,
        pe_name: None,
    };
    let dest = |last, active| IpvsDest {
        addr: IpAddr::V4(Ipv4Addr::new(10, 244, 1, last)),
        port: 8080,
        forward: Forward::Masq,
        weight: 1,
        upper_threshold: 0,
        lower_threshold: 0,
        active_conns: active,
        inactive_conns: 0,
        persist_conns: 0,
    };
    let mut services = wire::frame(wire::service_message(FAMILY, &svc), 1);
    services.extend(wire::done(1));
    let mut dests = wire::frame(wire::dest_message(FAMILY, &dest(5, 2)), 2);
    dests.extend(wire::frame(wire::dest_message(FAMILY, &dest(6, 0)), 2));
    dests.extend(wire::done(2));
    (services, dests)
}

/// An ESTABLISHED flow DNATed from 10.96.45.10:80 to 10.244.2.7:8080, as a GET's answer.
fn conntrack_seed() -> Vec<u8> {
    let sa = |a: [u8; 4], port| SocketAddrV4::new(Ipv4Addr::from(a), port);
    let orig = CtTuple {
        proto: 6,
        src: sa([10, 244, 1, 5], 55886),
        dst: sa([10, 96, 45, 10], 80),
    };
    let reply = CtTuple {
        proto: 6,
        src: sa([10, 244, 2, 7], 8080),
        dst: sa([10, 244, 1, 5], 55886),
    };
    let attrs = vec![
        ConntrackAttribute::CtaTupleOrig(tuple_attrs(&orig)),
        ConntrackAttribute::CtaTupleReply(tuple_attrs(&reply)),
        ConntrackAttribute::CtaTimeout(431999),
    ];
    let header = NetfilterHeader::new(NetfilterProtoFamily::IPv4, 0, 0);
    datagram(vec![NetfilterMessage::new(
        header,
        ConntrackMessage::New(attrs),
    )])
}

/// A TCP SYN from 10.244.1.5:55886 to 10.96.45.10:80 in an Ethernet frame.
fn syn_frame() -> Vec<u8> {
    let mut f = vec![0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00];
    f.extend([0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0]);
    f.extend([10, 244, 1, 5, 10, 96, 45, 10]);
    f.extend(55886u16.to_be_bytes());
    f.extend(80u16.to_be_bytes());
    f.extend([0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0]);
    f
}

/// An answer for kubernetes.default.svc.cluster.local: A 10.96.0.1 (id 0x1234, RD RA).
fn dns_answer() -> Vec<u8> {
    let mut m = vec![0x12, 0x34, 0x81, 0x80, 0, 1, 0, 1, 0, 0, 0, 0];
    for label in ["kubernetes", "default", "svc", "cluster", "local"] {
        m.push(label.len() as u8);
        m.extend(label.as_bytes());
    }
    m.extend([0, 0, 1, 0, 1]);
    m.extend([0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 96, 0, 1]);
    m
}

fn main() {
    write("nft_netlink", "service-chain-endpoint", &nft_seed());
    let (services, dests) = ipvs_seeds();
    // Each seed decodes to what it was built from: a seed the parser refuses fuzzes little.
    assert_eq!(decode_service_dump(&services).expect("services").len(), 1);
    assert_eq!(decode_dest_dump(&dests, AF_INET).expect("dests").len(), 2);
    assert_eq!(
        parse_answer(&dns_answer()).expect("dns").ips,
        [Ipv4Addr::new(10, 96, 0, 1)]
    );
    let ct = conntrack_seed();
    let (_, bytes) = messages(&ct).next().expect("a message").expect("framed");
    let NetlinkPayload::InnerMessage(m) = NetlinkMessage::<CtMessage>::deserialize(bytes)
        .expect("ctnetlink")
        .payload
    else {
        panic!("not an entry");
    };
    let entry = decode(&entry_attrs(m).expect("attrs")).expect("entry");
    assert_eq!(
        entry.original.dst,
        SocketAddrV4::new(Ipv4Addr::new(10, 96, 45, 10), 80)
    );
    write("ipvs", "service-dump", &services);
    write("ipvs", "dest-dump", &dests);
    write("conntrack", "established-dnat", &conntrack_seed());
    write("ethernet_frame", "tcp-syn", &syn_frame());
    write("dns_wire", "a-record", &dns_answer());
    let capture = Capture {
        interfaces: vec!["eth0".into()],
        packets: vec![Packet {
            interface: 0,
            ts_us: 1_700_000_000_000_000,
            wire_len: 54,
            data: syn_frame(),
        }],
    };
    write("pcapng", "one-syn", &pcapng::write(&capture, 1 << 16).0);
}
