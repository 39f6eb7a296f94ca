//! The kernel's rule expressions, built byte for byte the way nft writes them (what
//! `nft --debug=netlink` prints for kube-proxy's rules), decoded back into nft's words.

use super::netlink::decode;
use super::rule::{Expr, NftVerdict, Operand};
use crate::kernel::nftables::msg::{self, AttrWriter};
use crate::kernel::nftables::{RawRule, SetElement};

fn be32(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

fn value(bytes: &[u8]) -> AttrWriter {
    AttrWriter::default().bytes(msg::DATA_VALUE, bytes)
}

fn expr(name: &str, data: AttrWriter) -> (String, Vec<u8>) {
    (name.to_string(), data.finish())
}

fn payload(dreg: u32, base: u32, offset: u32, len: u32) -> (String, Vec<u8>) {
    expr(
        "payload",
        AttrWriter::default()
            .bytes(1, &be32(dreg))
            .bytes(2, &be32(base))
            .bytes(3, &be32(offset))
            .bytes(4, &be32(len)),
    )
}

fn cmp(sreg: u32, op: u32, data: &[u8]) -> (String, Vec<u8>) {
    expr(
        "cmp",
        AttrWriter::default()
            .bytes(1, &be32(sreg))
            .bytes(2, &be32(op))
            .nested(3, value(data)),
    )
}

fn verdict(code: i32, chain: &str) -> (String, Vec<u8>) {
    let mut v = AttrWriter::default().bytes(msg::VERDICT_CODE, &code.to_be_bytes());
    if !chain.is_empty() {
        v = v.string(msg::VERDICT_CHAIN, chain);
    }
    expr(
        "immediate",
        AttrWriter::default()
            .bytes(1, &be32(0))
            .nested(2, AttrWriter::default().nested(msg::DATA_VERDICT, v)),
    )
}

fn rule(exprs: Vec<(String, Vec<u8>)>) -> RawRule {
    RawRule {
        handle: 7,
        comment: None,
        exprs,
    }
}

#[test]
fn a_masquerade_mark_rule_reads_as_nft_prints_it() {
    // ip daddr 172.30.0.41 ip saddr != 10.0.0.0/8 jump mark-for-masquerade
    let raw = rule(vec![
        payload(1, 1, 16, 4),
        cmp(1, 0, &[172, 30, 0, 41]),
        payload(1, 1, 12, 1),
        cmp(1, 1, &[10]),
        verdict(-3, "mark-for-masquerade"),
    ]);
    let r = decode("service-X", &raw, |_| Vec::new());
    let m: Vec<_> = r.matches().collect();
    assert_eq!(m[0].2, &Operand::Value("172.30.0.41".into()));
    assert_eq!(
        (m[1].0, m[1].1, m[1].2),
        (
            &Operand::Payload {
                protocol: "ip".into(),
                field: "saddr".into()
            },
            "!=",
            &Operand::Prefix {
                addr: "10.0.0.0".into(),
                len: 8
            }
        )
    );
    assert_eq!(
        r.verdict(),
        Some(&NftVerdict::Jump("mark-for-masquerade".into()))
    );
}

#[test]
fn a_numgen_vmap_reads_its_anonymous_map_in_key_order() {
    let raw = rule(vec![
        expr(
            "numgen",
            AttrWriter::default()
                .bytes(1, &be32(1))
                .bytes(2, &be32(2))
                .bytes(3, &be32(1)),
        ),
        expr(
            "lookup",
            AttrWriter::default()
                .string(1, "__map0")
                .bytes(2, &be32(1))
                .bytes(3, &be32(0)),
        ),
    ]);
    let element = |k: u32, chain: &str| SetElement {
        key: k.to_ne_bytes().to_vec(),
        verdict: Some(NftVerdict::Goto(chain.into())),
        comment: None,
        interval_end: false,
    };
    let mut asked = Vec::new();
    let r = decode("service-X", &raw, |set| {
        asked.push(set.to_string());
        vec![element(1, "endpoint-B"), element(0, "endpoint-A")]
    });
    assert_eq!(asked, ["__map0"]);
    let Expr::Vmap { key, data } = &r.exprs[0] else {
        panic!("a vmap: {:?}", r.exprs);
    };
    assert_eq!(key, &Operand::Numgen { modulus: 2 });
    let Operand::Set(entries) = data else {
        panic!("entries: {data:?}");
    };
    assert_eq!(
        entries[0],
        Operand::Mapping(
            Box::new(Operand::Value("0".into())),
            NftVerdict::Goto("endpoint-A".into())
        )
    );
}

#[test]
fn dnat_takes_its_address_and_port_from_the_registers_immediate_filled() {
    // meta l4proto tcp dnat to 10.180.0.1:80
    let raw = rule(vec![
        expr(
            "meta",
            AttrWriter::default().bytes(1, &be32(1)).bytes(2, &be32(16)),
        ),
        cmp(1, 0, &[6]),
        expr(
            "immediate",
            AttrWriter::default()
                .bytes(1, &be32(1))
                .nested(2, value(&[10, 180, 0, 1])),
        ),
        expr(
            "immediate",
            AttrWriter::default()
                .bytes(1, &be32(2))
                .nested(2, value(&[0, 80])),
        ),
        expr(
            "nat",
            AttrWriter::default()
                .bytes(1, &be32(1))
                .bytes(2, &be32(2))
                .bytes(3, &be32(1))
                .bytes(5, &be32(2)),
        ),
    ]);
    let r = decode("endpoint-A", &raw, |_| Vec::new());
    assert_eq!(
        r.matches().next().map(|m| m.2),
        Some(&Operand::Value("tcp".into()))
    );
    assert_eq!(r.dnat(), Some(("10.180.0.1".into(), Some(80))));
}

#[test]
fn an_anonymous_interval_set_reads_as_prefixes_and_unknown_expressions_are_kept() {
    let el = |k: [u8; 4], end: bool| SetElement {
        key: k.to_vec(),
        verdict: None,
        comment: None,
        interval_end: end,
    };
    let raw = rule(vec![
        payload(1, 1, 16, 4),
        expr(
            "lookup",
            AttrWriter::default().string(1, "__set0").bytes(2, &be32(1)),
        ),
        expr("counter", AttrWriter::default()),
        verdict(0, ""),
    ]);
    // Dumped in tree order, the end first.
    let r = decode("cluster-ips-check", &raw, |_| {
        vec![el([172, 31, 0, 0], true), el([172, 30, 0, 0], false)]
    });
    assert_eq!(
        r.matches().next().map(|m| m.2),
        Some(&Operand::Prefix {
            addr: "172.30.0.0".into(),
            len: 16
        })
    );
    assert_eq!(r.exprs[1], Expr::Other("counter".into()));
    assert_eq!(r.verdict(), Some(&NftVerdict::Drop));
}
