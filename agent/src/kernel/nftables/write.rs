//! nf_tables objects written over netlink, as `nft -f` writes them: tables, base chains and
//! rules of a few expressions, sent as one transaction (an nfnetlink batch, applied all or
//! nothing), and tables deleted and listed. Building the messages is pure (uapi
//! `linux/netfilter/nf_tables.h` and `nfnetlink.h`); [`NftSocket::commit`] sends them in the
//! calling thread's namespace.

use netlink_packet_core::{
    NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
};

use super::NftSocket;
use super::msg::{self, AttrWriter, NftMessage, SUBSYS_NFTABLES};
use crate::kernel::netlink::NetlinkError;

/// `NFNL_MSG_BATCH_BEGIN`, `NFNL_MSG_BATCH_END` (`NLMSG_MIN_TYPE` and the next).
const BATCH_BEGIN: u8 = 0x10;
const BATCH_END: u8 = 0x11;
/// `NFT_MSG_NEWTABLE`, `NFT_MSG_DELTABLE`.
pub const MSG_NEWTABLE: u8 = 0;
pub const MSG_DELTABLE: u8 = 2;
/// `NFPROTO_INET`: `table inet`.
pub const NFPROTO_INET: u8 = 1;

// enum nft_chain_attributes, nft_hook_attributes.
const CHAIN_HOOK: u16 = 4;
const CHAIN_POLICY: u16 = 5;
const CHAIN_TYPE: u16 = 7;
const HOOK_HOOKNUM: u16 = 1;
const HOOK_PRIORITY: u16 = 2;
/// `NF_ACCEPT`: a base chain's `policy accept`.
const NF_ACCEPT: u32 = 1;

/// `NFT_REG_1`: the first data register (what `nft` shows as `reg 1`).
pub const REG_1: u32 = 1;
/// `enum nft_meta_keys`.
pub const META_NFTRACE: u32 = 12;
pub const META_NFPROTO: u32 = 15;
pub const META_L4PROTO: u32 = 16;
/// `enum nft_payload_bases`.
pub const PAYLOAD_NETWORK: u32 = 1;
pub const PAYLOAD_TRANSPORT: u32 = 2;
/// `NFT_CMP_EQ`.
const CMP_EQ: u32 = 0;

/// The netfilter hooks a base chain can sit at (`enum nf_inet_hooks`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    Prerouting = 0,
    Output = 3,
}

/// One expression of a rule: its name and its `NFTA_EXPR_DATA` attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expr {
    pub name: &'static str,
    pub data: Vec<u8>,
}

fn be32(value: u32) -> [u8; 4] {
    value.to_be_bytes()
}

/// `meta load KEY => reg`.
pub fn meta_load(key: u32, dreg: u32) -> Expr {
    let data = AttrWriter::default()
        .bytes(1, &be32(dreg))
        .bytes(2, &be32(key));
    Expr {
        name: "meta",
        data: data.finish(),
    }
}

/// `meta set KEY with reg` (`NFTA_META_KEY`, `NFTA_META_SREG`).
pub fn meta_set(key: u32, sreg: u32) -> Expr {
    let data = AttrWriter::default()
        .bytes(2, &be32(key))
        .bytes(3, &be32(sreg));
    Expr {
        name: "meta",
        data: data.finish(),
    }
}

/// `payload load LEN b @ BASE header + OFFSET => reg`.
pub fn payload_load(base: u32, offset: u32, len: u32, dreg: u32) -> Expr {
    let data = AttrWriter::default()
        .bytes(1, &be32(dreg))
        .bytes(2, &be32(base))
        .bytes(3, &be32(offset))
        .bytes(4, &be32(len));
    Expr {
        name: "payload",
        data: data.finish(),
    }
}

/// `cmp eq reg VALUE`.
pub fn cmp_eq(sreg: u32, value: &[u8]) -> Expr {
    let data = AttrWriter::default()
        .bytes(1, &be32(sreg))
        .bytes(2, &be32(CMP_EQ))
        .nested(3, AttrWriter::default().bytes(msg::DATA_VALUE, value));
    Expr {
        name: "cmp",
        data: data.finish(),
    }
}

/// `immediate reg VALUE`.
pub fn immediate(dreg: u32, value: &[u8]) -> Expr {
    let data = AttrWriter::default()
        .bytes(1, &be32(dreg))
        .nested(2, AttrWriter::default().bytes(msg::DATA_VALUE, value));
    Expr {
        name: "immediate",
        data: data.finish(),
    }
}

/// One message of a transaction and its netlink flags. Every one asks for an ACK, so the
/// kernel's answer tells which message it refused.
pub type Op = (NftMessage, u16);

const CREATE: u16 = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE;

/// `add table FAMILY NAME`, failing if it exists (the caller's name is its own).
pub fn new_table(family: u8, name: &str) -> Op {
    let attrs = AttrWriter::default().string(msg::TABLE_NAME, name).finish();
    let m = NftMessage::new(MSG_NEWTABLE, family, attrs);
    (m, CREATE | NLM_F_EXCL)
}

/// `add chain FAMILY TABLE NAME { type filter hook HOOK priority PRIORITY; policy accept; }`.
pub fn new_base_chain(family: u8, table: &str, name: &str, hook: Hook, priority: i32) -> Op {
    let hook = AttrWriter::default()
        .bytes(HOOK_HOOKNUM, &be32(hook as u32))
        .bytes(HOOK_PRIORITY, &priority.to_be_bytes());
    let attrs = AttrWriter::default()
        .string(msg::CHAIN_TABLE, table)
        .string(msg::CHAIN_NAME, name)
        .nested(CHAIN_HOOK, hook)
        .bytes(CHAIN_POLICY, &be32(NF_ACCEPT))
        .string(CHAIN_TYPE, "filter")
        .finish();
    (NftMessage::new(msg::MSG_NEWCHAIN, family, attrs), CREATE)
}

/// `add rule FAMILY TABLE CHAIN EXPRS`, appended at the chain's end.
pub fn new_rule(family: u8, table: &str, chain: &str, exprs: &[Expr]) -> Op {
    let list = exprs.iter().fold(AttrWriter::default(), |list, e| {
        let elem = AttrWriter::default()
            .string(msg::EXPR_NAME, e.name)
            .nested(msg::EXPR_DATA, AttrWriter::raw(&e.data));
        list.nested(msg::LIST_ELEM, elem)
    });
    let attrs = AttrWriter::default()
        .string(msg::RULE_TABLE, table)
        .string(msg::RULE_CHAIN, chain)
        .nested(msg::RULE_EXPRESSIONS, list)
        .finish();
    (
        NftMessage::new(msg::MSG_NEWRULE, family, attrs),
        CREATE | NLM_F_APPEND,
    )
}

/// `delete table FAMILY NAME`, with every chain and rule in it.
pub fn del_table(family: u8, name: &str) -> Op {
    let attrs = AttrWriter::default().string(msg::TABLE_NAME, name).finish();
    let m = NftMessage::new(MSG_DELTABLE, family, attrs);
    (m, NLM_F_REQUEST | NLM_F_ACK)
}

/// `ops` as one nf_tables transaction: between the batch's begin and end messages, whose
/// `res_id` names the nf_tables subsystem.
pub fn transaction(ops: Vec<Op>) -> Vec<Op> {
    let edge = |msg| {
        let mut m = NftMessage::of(0, msg, 0, Vec::new());
        m.res_id = SUBSYS_NFTABLES;
        (m, NLM_F_REQUEST)
    };
    let mut out = Vec::with_capacity(ops.len() + 2);
    out.push(edge(BATCH_BEGIN));
    out.extend(ops);
    out.push(edge(BATCH_END));
    out
}

/// The table names in a `NFT_MSG_GETTABLE` dump's answer. Pure.
pub fn table_name(m: &NftMessage) -> Option<String> {
    if m.msg != MSG_NEWTABLE {
        return None;
    }
    msg::attr(&m.attrs, msg::TABLE_NAME).map(msg::string)
}

impl NftSocket {
    /// Apply `ops` as one transaction: all of them, or (on the first error) none.
    pub fn commit(&mut self, op: &'static str, ops: Vec<Op>) -> Result<(), NetlinkError> {
        self.socket.batch(op, transaction(ops))
    }

    /// The names of `family`'s tables, like `nft list tables inet` (the kernel filters).
    pub fn table_names(&mut self, family: u8) -> Result<Vec<String>, NetlinkError> {
        let request = NftMessage::new(msg::MSG_GETTABLE, family, Vec::new());
        let op = "dump the nf_tables tables (NFT_MSG_GETTABLE)";
        let mut out = Vec::new();
        self.socket
            .exchange(op, request, NLM_F_REQUEST | NLM_F_DUMP, |m| {
                out.extend(table_name(&m));
                true
            })?;
        Ok(out)
    }
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
