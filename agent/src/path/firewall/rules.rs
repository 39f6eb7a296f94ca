//! The traced rules' texts, fetched one by one over nf_tables netlink (a rule by its handle,
//! the anonymous sets it names) and printed from their expressions: never a listing of the
//! whole chain or table, which on a node with 10,000 Services takes seconds in `nft`. I/O in
//! the calling thread's network namespace (the node's).

use std::collections::HashMap;
use std::time::Duration;

use crate::dataplane::netfilter::nftables::print::{RuleText, rule_text};
use crate::kernel::nftables::NftSocket;
use crate::kernel::nftables::trace::TraceEvent;

/// Each request is one rule or one small set: this bounds a kernel that does not answer.
const TIMEOUT: Duration = Duration::from_millis(500);

type Place = (u8, String, String, u64);

/// Rule texts by (family, table, chain, handle), each fetched at most once.
#[derive(Default)]
pub struct RuleTexts {
    socket: Option<NftSocket>,
    seen: HashMap<Place, Option<RuleText>>,
}

/// An interface's name by index in the calling thread's namespace (`iif "eth0"`).
fn interface_name(index: u32) -> Option<String> {
    let mut buf = [0 as libc::c_char; libc::IF_NAMESIZE];
    // SAFETY: buf holds IF_NAMESIZE bytes, as if_indextoname requires; it NUL-terminates.
    let p = unsafe { libc::if_indextoname(index, buf.as_mut_ptr()) };
    if p.is_null() {
        return None;
    }
    // SAFETY: on success buf holds a NUL-terminated name.
    let name = unsafe { std::ffi::CStr::from_ptr(buf.as_ptr()) };
    Some(name.to_string_lossy().into_owned())
}

impl RuleTexts {
    /// The text of the rule `e` met; None for a policy or return event, or a rule gone since.
    pub fn of(&mut self, e: &TraceEvent) -> Option<RuleText> {
        let handle = e.handle?;
        let place = (e.family, e.table.clone(), e.chain.clone(), handle);
        if let Some(hit) = self.seen.get(&place) {
            return hit.clone();
        }
        let text = self.fetch(&place);
        self.seen.insert(place, text.clone());
        text
    }

    fn fetch(&mut self, (family, table, chain, handle): &Place) -> Option<RuleText> {
        if self.socket.is_none() {
            self.socket = NftSocket::open(TIMEOUT).ok();
        }
        let socket = self.socket.as_mut()?;
        let raw = socket.rule(*family, table, chain, *handle).ok()??;
        let anonymous = |set: &str| {
            socket
                .elements(*family, table, set)
                .ok()
                .flatten()
                .unwrap_or_default()
        };
        Some(rule_text(
            *family,
            table,
            chain,
            &raw,
            anonymous,
            &interface_name,
        ))
    }
}
