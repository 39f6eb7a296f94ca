//! nf_tables messages as bytes: an nfnetlink message of any type with its attributes kept raw,
//! and the few attribute layouts the agent asks and reads (uapi `linux/netfilter/nf_tables.h`).
//! `netlink-packet-netfilter` knows conntrack but not nf_tables, so these are built and read
//! here, and tested byte for byte without a kernel.

use netlink_packet_core::{NetlinkDeserializable, NetlinkHeader, NetlinkSerializable};

/// `NFNL_SUBSYS_NFTABLES`.
pub const SUBSYS_NFTABLES: u16 = 10;
/// `NFT_MSG_GETTABLE`.
pub const MSG_GETTABLE: u8 = 1;
/// `NFT_MSG_NEWSETELEM`: the kernel's answer to a set element get.
pub const MSG_NEWSETELEM: u8 = 12;
/// `NFT_MSG_GETSETELEM`.
pub const MSG_GETSETELEM: u8 = 13;

/// `NFT_MSG_NEWSET`, `NFT_MSG_GETSET`: a set and the kernel's answer.
pub const MSG_NEWSET: u8 = 9;
pub const MSG_GETSET: u8 = 10;
/// `NFT_MSG_NEWCHAIN`, `NFT_MSG_GETCHAIN`.
pub const MSG_NEWCHAIN: u8 = 3;
pub const MSG_GETCHAIN: u8 = 4;
/// `NFTA_CHAIN_TABLE`, `NFTA_CHAIN_NAME`.
pub const CHAIN_TABLE: u16 = 1;
pub const CHAIN_NAME: u16 = 3;
/// `NFT_MSG_NEWRULE`, `NFT_MSG_GETRULE`.
pub const MSG_NEWRULE: u8 = 6;
pub const MSG_GETRULE: u8 = 7;
/// `NFTA_SET_TABLE`, `NFTA_SET_NAME`, `NFTA_SET_TIMEOUT` (be64 ms).
pub const SET_TABLE: u16 = 1;
pub const SET_NAME: u16 = 2;
pub const SET_TIMEOUT: u16 = 11;
/// `NFTA_RULE_TABLE`, `_CHAIN`, `_HANDLE`, `_EXPRESSIONS`, `_USERDATA`.
pub const RULE_TABLE: u16 = 1;
pub const RULE_CHAIN: u16 = 2;
pub const RULE_HANDLE: u16 = 3;
pub const RULE_EXPRESSIONS: u16 = 4;
pub const RULE_USERDATA: u16 = 7;
/// `NFTA_EXPR_NAME`, `NFTA_EXPR_DATA`.
pub const EXPR_NAME: u16 = 1;
pub const EXPR_DATA: u16 = 2;

/// `NFTA_TABLE_NAME`.
pub const TABLE_NAME: u16 = 1;
/// `NFTA_SET_ELEM_LIST_TABLE`, `_SET`, `_ELEMENTS`.
pub const ELEM_LIST_TABLE: u16 = 1;
pub const ELEM_LIST_SET: u16 = 2;
pub const ELEM_LIST_ELEMENTS: u16 = 3;
/// `NFTA_LIST_ELEM`.
pub const LIST_ELEM: u16 = 1;
/// `NFTA_SET_ELEM_KEY`, `_DATA`, `_USERDATA`.
pub const ELEM_KEY: u16 = 1;
pub const ELEM_DATA: u16 = 2;
/// `NFTA_SET_ELEM_FLAGS` (be32; `NFT_SET_ELEM_INTERVAL_END` is 1).
pub const ELEM_FLAGS: u16 = 3;
pub const ELEM_USERDATA: u16 = 6;
/// `NFTA_DATA_VALUE`, `NFTA_DATA_VERDICT`.
pub const DATA_VALUE: u16 = 1;
pub const DATA_VERDICT: u16 = 2;
/// `NFTA_VERDICT_CODE`, `NFTA_VERDICT_CHAIN`.
pub const VERDICT_CODE: u16 = 1;
pub const VERDICT_CHAIN: u16 = 2;
/// libnftnl's `NFTNL_UDATA_SET_ELEM_COMMENT`: where `nft` keeps an element's comment.
const UDATA_SET_ELEM_COMMENT: u8 = 0;

/// `NLA_F_NESTED` and `NLA_F_NET_BYTEORDER`: flags in an attribute's type, not part of it.
const NLA_TYPE_MASK: u16 = 0x3fff;
const NLA_F_NESTED: u16 = 0x8000;
pub const NLA_F_NET_BYTEORDER: u16 = 0x4000;

/// One nfnetlink message: its nf_tables message type, the `nfgenmsg` header and the attribute
/// bytes that follow it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NftMessage {
    /// The nfnetlink subsystem: nf_tables (10) unless made otherwise (ipset is 6).
    pub subsys: u8,
    pub msg: u8,
    /// `nfgen_family`: `NFPROTO_IPV4` for `table ip`.
    pub family: u8,
    /// `nfgenmsg.res_id` (host order here, big endian on the wire): the subsystem a batch's
    /// begin and end messages are for; 0 on every other message.
    pub res_id: u16,
    pub attrs: Vec<u8>,
}

/// `NFPROTO_IPV4`: the family of `table ip kube-proxy`.
pub const NFPROTO_IPV4: u8 = 2;

impl NftMessage {
    pub fn new(msg: u8, family: u8, attrs: Vec<u8>) -> NftMessage {
        NftMessage {
            subsys: SUBSYS_NFTABLES as u8,
            msg,
            family,
            res_id: 0,
            attrs,
        }
    }

    /// A message of another nfnetlink subsystem (`NFNL_SUBSYS_IPSET`, say).
    pub fn of(subsys: u8, msg: u8, family: u8, attrs: Vec<u8>) -> NftMessage {
        NftMessage {
            subsys,
            msg,
            family,
            res_id: 0,
            attrs,
        }
    }
}

const NFGENMSG_LEN: usize = 4;

impl NetlinkSerializable for NftMessage {
    fn message_type(&self) -> u16 {
        (u16::from(self.subsys) << 8) | u16::from(self.msg)
    }
    fn buffer_len(&self) -> usize {
        NFGENMSG_LEN + self.attrs.len()
    }
    fn serialize(&self, buffer: &mut [u8]) {
        // nfgen_family, version NFNETLINK_V0, res_id (big endian).
        let [hi, lo] = self.res_id.to_be_bytes();
        buffer[..NFGENMSG_LEN].copy_from_slice(&[self.family, 0, hi, lo]);
        buffer[NFGENMSG_LEN..].copy_from_slice(&self.attrs);
    }
}

/// An nfnetlink answer that is too short for its header.
#[derive(Debug, thiserror::Error)]
#[error("an nf_tables message of {0} bytes is shorter than its header")]
pub struct ShortMessage(usize);

impl NetlinkDeserializable for NftMessage {
    type Error = ShortMessage;
    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<Self, ShortMessage> {
        if payload.len() < NFGENMSG_LEN {
            return Err(ShortMessage(payload.len()));
        }
        let [msg, subsys] = header.message_type.to_le_bytes();
        Ok(NftMessage {
            // The high byte is the subsystem, the low byte the message type within it.
            subsys,
            msg,
            family: payload[0],
            res_id: u16::from_be_bytes([payload[2], payload[3]]),
            attrs: payload[NFGENMSG_LEN..].to_vec(),
        })
    }
}

/// Appends attributes in netlink's layout: a 4-byte header, the value, padding to 4.
#[derive(Default)]
pub struct AttrWriter {
    buf: Vec<u8>,
}

impl AttrWriter {
    pub fn bytes(mut self, kind: u16, value: &[u8]) -> Self {
        self.put(kind, value);
        self
    }

    /// A NUL-terminated string, as the kernel expects names.
    pub fn string(self, kind: u16, value: &str) -> Self {
        let mut v = value.as_bytes().to_vec();
        v.push(0);
        self.bytes(kind, &v)
    }

    /// A writer that starts with attributes already encoded (an expression's data).
    pub fn raw(encoded: &[u8]) -> Self {
        AttrWriter {
            buf: encoded.to_vec(),
        }
    }

    pub fn nested(mut self, kind: u16, inner: AttrWriter) -> Self {
        self.put(kind | NLA_F_NESTED, &inner.buf);
        self
    }

    fn put(&mut self, kind: u16, value: &[u8]) {
        // Values here are names and keys of a few bytes; a u16 length cannot overflow.
        let len = u16::try_from(4 + value.len()).unwrap_or(u16::MAX);
        self.buf.extend_from_slice(&len.to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(value);
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    pub fn finish(self) -> Vec<u8> {
        self.buf
    }
}

/// The attributes of `data` as (type without flags, value). A truncated attribute ends the
/// walk: what came before it is still read.
pub fn attrs(data: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut rest = data;
    std::iter::from_fn(move || {
        if rest.len() < 4 {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > rest.len() {
            rest = &[];
            return None;
        }
        let value = &rest[4..len];
        rest = &rest[((len + 3) & !3).min(rest.len())..];
        Some((kind, value))
    })
}

/// The first attribute of type `kind`.
pub fn attr(data: &[u8], kind: u16) -> Option<&[u8]> {
    attrs(data).find(|(k, _)| *k == kind).map(|(_, v)| v)
}

/// A NUL-terminated string attribute.
pub fn string(value: &[u8]) -> String {
    let end = value.iter().position(|b| *b == 0).unwrap_or(value.len());
    String::from_utf8_lossy(&value[..end]).into_owned()
}

/// What an nf_tables verdict says (`NFTA_DATA_VERDICT`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NftVerdict {
    Accept,
    Drop,
    Continue,
    Return,
    Jump(String),
    Goto(String),
    /// A code this version does not name.
    Other(i32),
}

impl std::fmt::Display for NftVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            NftVerdict::Accept => f.write_str("accept"),
            NftVerdict::Drop => f.write_str("drop"),
            NftVerdict::Continue => f.write_str("continue"),
            NftVerdict::Return => f.write_str("return"),
            NftVerdict::Jump(c) => write!(f, "jump {c}"),
            NftVerdict::Goto(c) => write!(f, "goto {c}"),
            NftVerdict::Other(code) => write!(f, "verdict {code}"),
        }
    }
}

/// Decode `NFTA_DATA_VERDICT`'s nested attributes. Codes are big-endian (`NF_DROP` 0,
/// `NF_ACCEPT` 1, `NFT_CONTINUE` -1, `NFT_RETURN` -5, `NFT_JUMP` -3, `NFT_GOTO` -4).
pub fn verdict(nested: &[u8]) -> Option<NftVerdict> {
    let code = attr(nested, VERDICT_CODE)?;
    let code = i32::from_be_bytes(code.get(..4)?.try_into().ok()?);
    let chain = || attr(nested, VERDICT_CHAIN).map(string).unwrap_or_default();
    Some(match code {
        0 => NftVerdict::Drop,
        1 => NftVerdict::Accept,
        -1 => NftVerdict::Continue,
        -3 => NftVerdict::Jump(chain()),
        -4 => NftVerdict::Goto(chain()),
        -5 => NftVerdict::Return,
        other => NftVerdict::Other(other),
    })
}

/// A big-endian integer attribute of up to 8 bytes.
pub fn be_uint(value: &[u8]) -> Option<u64> {
    if value.is_empty() || value.len() > 8 {
        return None;
    }
    Some(value.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// The comment in an element's or a rule's user data (libnftnl's TLVs: type, length, value;
/// type 0 is the comment for both).
pub fn element_comment(udata: &[u8]) -> Option<String> {
    let mut rest = udata;
    while rest.len() >= 2 {
        let (kind, len) = (rest[0], usize::from(rest[1]));
        let value = rest.get(2..2 + len)?;
        if kind == UDATA_SET_ELEM_COMMENT {
            return Some(string(value));
        }
        rest = &rest[2 + len..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_nested_and_read_back() {
        let bytes = AttrWriter::default()
            .string(1, "kube-proxy")
            .nested(3, AttrWriter::default().bytes(1, &[10, 96, 0, 10]))
            .finish();
        // "kube-proxy\0" is 11 bytes: 4 + 11 = 15, padded to 16.
        assert_eq!(&bytes[..4], &[15, 0, 1, 0]);
        assert_eq!(bytes.len(), 16 + 4 + 8);
        let read: Vec<_> = attrs(&bytes).collect();
        assert_eq!(read.len(), 2);
        assert_eq!(string(read[0].1), "kube-proxy");
        assert_eq!(read[1].0, 3, "the nested flag is not part of the type");
        assert_eq!(attr(read[1].1, 1), Some(&[10, 96, 0, 10][..]));
    }

    #[test]
    fn a_truncated_attribute_ends_the_walk_without_panicking() {
        let mut bytes = AttrWriter::default().bytes(1, &[1, 2, 3, 4]).finish();
        bytes.extend_from_slice(&[40, 0, 2, 0, 9]);
        assert_eq!(attrs(&bytes).count(), 1);
        assert_eq!(attrs(&[3, 0, 1]).count(), 0);
    }

    #[test]
    fn verdicts_decode_with_their_chain() {
        let goto = AttrWriter::default()
            .bytes(VERDICT_CODE, &(-4i32).to_be_bytes())
            .string(VERDICT_CHAIN, "service-X")
            .finish();
        assert_eq!(verdict(&goto), Some(NftVerdict::Goto("service-X".into())));
        let drop = AttrWriter::default()
            .bytes(VERDICT_CODE, &0i32.to_be_bytes())
            .finish();
        assert_eq!(verdict(&drop), Some(NftVerdict::Drop));
        assert_eq!(verdict(&[]), None);
    }

    #[test]
    fn an_element_comment_is_found_among_other_user_data() {
        let udata = [1, 2, 0xaa, 0xbb, 0, 4, b'n', b's', b'6', 0];
        assert_eq!(element_comment(&udata).as_deref(), Some("ns6"));
        assert_eq!(element_comment(&[0, 9, b'x']), None);
    }
}
