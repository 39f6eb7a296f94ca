//! The printer on rules built byte for byte as nft writes them (`nft --debug=netlink`); the
//! same rules read back from a real kernel are compared with `nft -a list chain` in
//! `agent/tests/rule_text.rs`.

use super::{RuleText, rule_text};
use crate::kernel::nftables::msg::{self, AttrWriter};
use crate::kernel::nftables::{RawRule, SetElement};

fn be32(v: u32) -> [u8; 4] {
    v.to_be_bytes()
}

fn expr(name: &str, data: AttrWriter) -> (String, Vec<u8>) {
    (name.to_string(), data.finish())
}

fn value(bytes: &[u8]) -> AttrWriter {
    AttrWriter::default().bytes(msg::DATA_VALUE, bytes)
}

fn payload(dreg: u32, base: u32, offset: u32, len: u32) -> (String, Vec<u8>) {
    let w = AttrWriter::default()
        .bytes(1, &be32(dreg))
        .bytes(2, &be32(base))
        .bytes(3, &be32(offset))
        .bytes(4, &be32(len));
    expr("payload", w)
}

fn meta(dreg: u32, key: u32) -> (String, Vec<u8>) {
    expr(
        "meta",
        AttrWriter::default()
            .bytes(1, &be32(dreg))
            .bytes(2, &be32(key)),
    )
}

fn cmp(sreg: u32, op: u32, data: &[u8]) -> (String, Vec<u8>) {
    let w = AttrWriter::default()
        .bytes(1, &be32(sreg))
        .bytes(2, &be32(op))
        .nested(3, value(data));
    expr("cmp", w)
}

fn verdict(code: i32) -> (String, Vec<u8>) {
    let v = AttrWriter::default().bytes(msg::VERDICT_CODE, &code.to_be_bytes());
    let w = AttrWriter::default()
        .bytes(1, &be32(0))
        .nested(2, AttrWriter::default().nested(msg::DATA_VERDICT, v));
    expr("immediate", w)
}

fn text(family: u8, table: &str, exprs: Vec<(String, Vec<u8>)>) -> RuleText {
    let raw = RawRule {
        handle: 4,
        comment: None,
        exprs,
    };
    rule_text(
        family,
        table,
        "FORWARD",
        &raw,
        |_| Vec::<SetElement>::new(),
        &|_| None,
    )
}

#[test]
fn an_iptables_nft_drop_reads_in_both_spellings() {
    // -A FORWARD -d 10.244.2.0/24 -j DROP: three bytes of the address, a counter, drop.
    let t = text(
        2,
        "filter",
        vec![
            payload(1, 1, 16, 3),
            cmp(1, 0, &[10, 244, 2]),
            expr(
                "counter",
                AttrWriter::default()
                    .bytes(1, &180u64.to_be_bytes())
                    .bytes(2, &3u64.to_be_bytes()),
            ),
            verdict(0),
        ],
    );
    assert_eq!(
        t.nft,
        "ip daddr 10.244.2.0/24 counter packets 3 bytes 180 drop"
    );
    assert_eq!(
        t.iptables.as_deref(),
        Some("-A FORWARD -d 10.244.2.0/24 -j DROP")
    );
}

#[test]
fn a_dependency_names_the_port_and_unknown_expressions_are_marked_not_guessed() {
    // meta l4proto tcp tcp dport 8080, then an expression this version does not know.
    let t = text(
        1,
        "hostfw",
        vec![
            meta(1, 16),
            cmp(1, 0, &[6]),
            payload(1, 2, 2, 2),
            cmp(1, 0, &8080u16.to_be_bytes()),
            expr("limit", AttrWriter::default().bytes(1, &be32(10))),
            verdict(0),
        ],
    );
    assert_eq!(t.nft, "tcp dport 8080 [expr 5: limit] drop");
    assert_eq!(t.iptables, None, "not one of iptables-nft's tables");

    // A load of a field the printer does not name: one marker for load and compare.
    let t = text(
        2,
        "filter",
        vec![payload(1, 2, 13, 1), cmp(1, 0, &[2]), verdict(1)],
    );
    assert_eq!(t.nft, "[expr 1: payload] accept");
    assert_eq!(t.iptables, None, "no iptables spelling for a marker");
}
