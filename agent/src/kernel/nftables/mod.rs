//! nf_tables over netlink: does a table exist, what one map element says, and every element
//! of a set, like `nft list table`, `nft get element` and `nft list map` but for one object
//! and without rendering a ruleset (`nft list ruleset` on a node with 10,000 Services in
//! iptables-nft takes tens of seconds). In the calling thread's network namespace.

pub mod msg;
pub mod trace;
pub mod write;

use std::time::Duration;

use netlink_packet_core::{NLM_F_DUMP, NLM_F_REQUEST};

use self::msg::{AttrWriter, NftMessage, NftVerdict};
use super::netlink::{Family, NetlinkError, NetlinkSocket};

/// One element of a set or map, as the kernel holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SetElement {
    /// The key's bytes: each field of a concatenation padded to 4 bytes.
    pub key: Vec<u8>,
    /// A verdict map's verdict for this key.
    pub verdict: Option<NftVerdict>,
    /// `nft`'s element comment (kube-proxy writes `ns/svc:port` on no-endpoint elements).
    pub comment: Option<String>,
    /// In an interval set, this element's key is where the previous interval ends
    /// (`NFT_SET_ELEM_INTERVAL_END`), not a member.
    pub interval_end: bool,
}

/// A netfilter netlink socket for nf_tables objects.
pub struct NftSocket {
    socket: NetlinkSocket,
}

impl NftSocket {
    pub fn open(timeout: Duration) -> Result<NftSocket, NetlinkError> {
        let socket = NetlinkSocket::open(Family::Netfilter, "open nf_tables netlink", timeout)?;
        Ok(NftSocket { socket })
    }

    /// Whether `table <family> <name>` exists (`NFT_MSG_GETTABLE`).
    pub fn table_exists(&mut self, family: u8, name: &str) -> Result<bool, NetlinkError> {
        let attrs = AttrWriter::default().string(msg::TABLE_NAME, name).finish();
        let request = NftMessage::new(msg::MSG_GETTABLE, family, attrs);
        let op = "look up an nf_tables table (NFT_MSG_GETTABLE)";
        match self.socket.request(op, request, NLM_F_REQUEST) {
            Ok(answers) => Ok(!answers.is_empty()),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The element of `table`/`set` whose key is exactly `key`; `Ok(None)` when there is none
    /// (or no such set: callers check the table first).
    pub fn element(
        &mut self,
        family: u8,
        table: &str,
        set: &str,
        key: &[u8],
    ) -> Result<Option<SetElement>, NetlinkError> {
        let element = AttrWriter::default().nested(
            msg::ELEM_KEY,
            AttrWriter::default().bytes(msg::DATA_VALUE, key),
        );
        let attrs = list_header(table, set)
            .nested(
                msg::ELEM_LIST_ELEMENTS,
                AttrWriter::default().nested(msg::LIST_ELEM, element),
            )
            .finish();
        let request = NftMessage::new(msg::MSG_GETSETELEM, family, attrs);
        let op = "look up a set element (NFT_MSG_GETSETELEM)";
        match self.socket.request(op, request, NLM_F_REQUEST) {
            Ok(answers) => Ok(answers.iter().flat_map(elements).next()),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every element of `table`/`set`; `Ok(None)` when the set does not exist.
    pub fn elements(
        &mut self,
        family: u8,
        table: &str,
        set: &str,
    ) -> Result<Option<Vec<SetElement>>, NetlinkError> {
        let attrs = list_header(table, set).finish();
        let request = NftMessage::new(msg::MSG_GETSETELEM, family, attrs);
        let op = "dump a set's elements (NFT_MSG_GETSETELEM)";
        let mut out = Vec::new();
        match self
            .socket
            .exchange(op, request, NLM_F_REQUEST | NLM_F_DUMP, |m| {
                out.extend(elements(&m));
                true
            }) {
            Ok(()) => Ok(Some(out)),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// One rule as the kernel holds it: its handle, comment and expressions, undecoded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RawRule {
    pub handle: u64,
    pub comment: Option<String>,
    /// (expression name, its `NFTA_EXPR_DATA` attributes).
    pub exprs: Vec<(String, Vec<u8>)>,
}

impl NftSocket {
    /// The rules of one chain (`NFT_MSG_GETRULE` dumped for that table and chain only, the
    /// kernel filtering); `Ok(None)` when the chain does not exist.
    pub fn rules(
        &mut self,
        family: u8,
        table: &str,
        chain: &str,
    ) -> Result<Option<Vec<RawRule>>, NetlinkError> {
        let attrs = AttrWriter::default()
            .string(msg::RULE_TABLE, table)
            .string(msg::RULE_CHAIN, chain)
            .finish();
        let request = NftMessage::new(msg::MSG_GETRULE, family, attrs);
        let op = "dump a chain's rules (NFT_MSG_GETRULE)";
        let mut out = Vec::new();
        let result = self
            .socket
            .exchange(op, request, NLM_F_REQUEST | NLM_F_DUMP, |m| {
                // Kernels that ignore the chain filter dump the table: keep this chain's.
                if let Some((c, rule)) = raw_rule(&m)
                    && c == chain
                {
                    out.push(rule);
                }
                true
            });
        match result {
            Ok(()) => Ok(Some(out)),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// One rule of `table`/`chain` by its handle (`NFT_MSG_GETRULE` without a dump: the kernel
    /// answers with that rule alone, however long the chain); `Ok(None)` when it is gone.
    pub fn rule(
        &mut self,
        family: u8,
        table: &str,
        chain: &str,
        handle: u64,
    ) -> Result<Option<RawRule>, NetlinkError> {
        let attrs = AttrWriter::default()
            .string(msg::RULE_TABLE, table)
            .string(msg::RULE_CHAIN, chain)
            .bytes(msg::RULE_HANDLE, &handle.to_be_bytes())
            .finish();
        let request = NftMessage::new(msg::MSG_GETRULE, family, attrs);
        let op = "look up a rule by its handle (NFT_MSG_GETRULE)";
        match self.socket.request(op, request, NLM_F_REQUEST) {
            Ok(answers) => Ok(answers.iter().find_map(raw_rule).map(|(_, r)| r)),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A set's `timeout` in milliseconds (`NFT_MSG_GETSET`); None when it has none or does
    /// not exist.
    pub fn set_timeout_ms(
        &mut self,
        family: u8,
        table: &str,
        set: &str,
    ) -> Result<Option<u64>, NetlinkError> {
        let attrs = AttrWriter::default()
            .string(msg::SET_TABLE, table)
            .string(msg::SET_NAME, set)
            .finish();
        let request = NftMessage::new(msg::MSG_GETSET, family, attrs);
        let op = "look up a set (NFT_MSG_GETSET)";
        match self.socket.request(op, request, NLM_F_REQUEST) {
            Ok(answers) => Ok(answers
                .iter()
                .filter(|m| m.msg == msg::MSG_NEWSET)
                .find_map(|m| msg::attr(&m.attrs, msg::SET_TIMEOUT).and_then(msg::be_uint))),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

impl NftSocket {
    /// The names of every chain of `family`'s table `table`, like `nft list chains`, from one
    /// NFT_MSG_GETCHAIN dump (names only: no rule is fetched). Empty when the table is absent.
    pub fn chain_names(&mut self, family: u8, table: &str) -> Result<Vec<String>, NetlinkError> {
        let request = NftMessage::new(msg::MSG_GETCHAIN, family, Vec::new());
        let op = "dump the chains (NFT_MSG_GETCHAIN)";
        let mut out = Vec::new();
        let result = self
            .socket
            .exchange(op, request, NLM_F_REQUEST | NLM_F_DUMP, |m| {
                if let Some((t, name)) = chain_of(&m)
                    && t == table
                {
                    out.push(name);
                }
                true
            });
        match result {
            Ok(()) => Ok(out),
            Err(e) if e.errno() == Some(libc::ENOENT) => Ok(out),
            Err(e) => Err(e),
        }
    }
}

/// A `NFT_MSG_NEWCHAIN` answer as (table, chain). Pure.
pub fn chain_of(m: &NftMessage) -> Option<(String, String)> {
    if m.msg != msg::MSG_NEWCHAIN {
        return None;
    }
    let table = msg::string(msg::attr(&m.attrs, msg::CHAIN_TABLE)?);
    let name = msg::string(msg::attr(&m.attrs, msg::CHAIN_NAME)?);
    Some((table, name))
}

/// A `NFT_MSG_NEWRULE` answer as (chain, rule). Pure.
pub fn raw_rule(m: &NftMessage) -> Option<(String, RawRule)> {
    if m.msg != msg::MSG_NEWRULE {
        return None;
    }
    let chain = msg::string(msg::attr(&m.attrs, msg::RULE_CHAIN)?);
    let handle = msg::attr(&m.attrs, msg::RULE_HANDLE).and_then(msg::be_uint)?;
    let comment = msg::attr(&m.attrs, msg::RULE_USERDATA).and_then(msg::element_comment);
    let exprs = msg::attr(&m.attrs, msg::RULE_EXPRESSIONS)
        .map(|list| {
            msg::attrs(list)
                .filter(|(k, _)| *k == msg::LIST_ELEM)
                .filter_map(|(_, e)| {
                    let name = msg::string(msg::attr(e, msg::EXPR_NAME)?);
                    let data = msg::attr(e, msg::EXPR_DATA).unwrap_or_default().to_vec();
                    Some((name, data))
                })
                .collect()
        })
        .unwrap_or_default();
    Some((
        chain,
        RawRule {
            handle,
            comment,
            exprs,
        },
    ))
}

fn list_header(table: &str, set: &str) -> AttrWriter {
    AttrWriter::default()
        .string(msg::ELEM_LIST_TABLE, table)
        .string(msg::ELEM_LIST_SET, set)
}

/// The elements of one `NFT_MSG_NEWSETELEM` answer. Pure.
pub fn elements(answer: &NftMessage) -> Vec<SetElement> {
    if answer.msg != msg::MSG_NEWSETELEM {
        return Vec::new();
    }
    let Some(list) = msg::attr(&answer.attrs, msg::ELEM_LIST_ELEMENTS) else {
        return Vec::new();
    };
    msg::attrs(list)
        .filter(|(kind, _)| *kind == msg::LIST_ELEM)
        .filter_map(|(_, elem)| {
            let key = msg::attr(msg::attr(elem, msg::ELEM_KEY)?, msg::DATA_VALUE)?.to_vec();
            let verdict = msg::attr(elem, msg::ELEM_DATA)
                .and_then(|d| msg::attr(d, msg::DATA_VERDICT))
                .and_then(msg::verdict);
            let comment = msg::attr(elem, msg::ELEM_USERDATA).and_then(msg::element_comment);
            let flags = msg::attr(elem, msg::ELEM_FLAGS)
                .and_then(msg::be_uint)
                .unwrap_or(0);
            Some(SetElement {
                key,
                verdict,
                comment,
                interval_end: flags & 1 != 0,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_yields_its_key_verdict_and_comment() {
        let verdict = AttrWriter::default()
            .bytes(msg::VERDICT_CODE, &(-4i32).to_be_bytes())
            .string(msg::VERDICT_CHAIN, "reject-chain");
        let elem = AttrWriter::default()
            .nested(
                msg::ELEM_KEY,
                AttrWriter::default().bytes(msg::DATA_VALUE, &[172, 30, 0, 46, 6, 0, 0, 0]),
            )
            .nested(
                msg::ELEM_DATA,
                AttrWriter::default().nested(msg::DATA_VERDICT, verdict),
            )
            .bytes(
                msg::ELEM_USERDATA,
                &[
                    0, 13, b'n', b's', b'6', b'/', b's', b'v', b'c', b'6', b':', b'p', b'8', b'0',
                    0,
                ],
            );
        let attrs = list_header("kube-proxy", "no-endpoint-services")
            .nested(
                msg::ELEM_LIST_ELEMENTS,
                AttrWriter::default().nested(msg::LIST_ELEM, elem),
            )
            .finish();
        let answer = NftMessage::new(msg::MSG_NEWSETELEM, msg::NFPROTO_IPV4, attrs);
        assert_eq!(
            elements(&answer),
            vec![SetElement {
                key: vec![172, 30, 0, 46, 6, 0, 0, 0],
                verdict: Some(NftVerdict::Goto("reject-chain".into())),
                comment: Some("ns6/svc6:p80".into()),
                interval_end: false,
            }]
        );
        let other = NftMessage::new(msg::MSG_GETTABLE, msg::NFPROTO_IPV4, vec![]);
        assert!(elements(&other).is_empty());
    }
}
