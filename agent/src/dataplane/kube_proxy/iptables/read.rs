//! Read kube-proxy's iptables rules for one VIP in the current network namespace (the caller has
//! entered the node's; child processes inherit it). Replaces `iptables-save | grep VIP` and the
//! `iptables -t nat -S KUBE-SVC-...` chase by hand.
//!
//! The backend is chosen by detection (`super::super::detect`), the way kubelet and
//! iptables-wrappers choose. On nf_tables only the chains the VIP reaches are listed (`iptables-nft -S CHAIN` is a
//! few ms, the whole dump seconds at 10,000 Services). Legacy x_tables hands out whole tables
//! only, so there each table is fetched from the kernel once and only the chains the walker
//! reaches are decoded ([`super::xtables`]); no `iptables-legacy` binary is needed.

use std::collections::HashMap;

use netdiag_model::PlanTarget;

use super::walk::{Entry, ServiceWalk, walk};
use crate::dataplane::netfilter::command::{CommandError, Tool, run};
use crate::dataplane::netfilter::iptables::rule::Rule;
use crate::dataplane::netfilter::iptables::save::parse_listing;
use crate::dataplane::netfilter::iptables::xtables::{FetchError, LegacyTables};
use crate::dataplane::netfilter::iptables::{ChainSource, IptablesBackend};

const NFT: &str = "iptables-nft";

/// Why the rules could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error(transparent)]
    Command(#[from] CommandError),
    #[error(transparent)]
    Legacy(#[from] FetchError),
}

/// iptables-nft 1.8.9 calls a missing chain (or table) "incompatible"; older and legacy builds
/// say "No chain/target/match by that name".
pub const IPTABLES_NFT: Tool = Tool {
    program: NFT,
    package: "iptables",
    missing: &["No chain/target/match", "is incompatible", "does not exist"],
};

fn listing(stdout: Vec<u8>) -> String {
    // Valid UTF-8 (the normal case) is taken as is: no copy of a dump of tens of MB.
    String::from_utf8(stdout).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Chains listed one at a time with `iptables-nft -w -t TABLE -S CHAIN`, each at most once.
#[derive(Default)]
pub struct NftChains {
    cache: HashMap<(String, String), Option<Vec<Rule>>>,
    /// How many `iptables-nft` runs this reader made (for tests and benchmarks).
    pub reads: usize,
}

impl ChainSource for NftChains {
    type Error = ReadError;
    fn chain(&mut self, table: &str, name: &str) -> Result<Option<Vec<Rule>>, ReadError> {
        let key = (table.to_string(), name.to_string());
        if let Some(hit) = self.cache.get(&key) {
            return Ok(hit.clone());
        }
        self.reads += 1;
        let rules = run(&IPTABLES_NFT, &["-w", "-t", table, "-S", name])?
            .map(|out| parse_listing(&listing(out)).rules);
        self.cache.insert(key, rules.clone());
        Ok(rules)
    }
}

/// Both iptables backends of the node, each chain or table read at most once: detection and
/// the walk after it share what was read.
pub struct IptablesSources {
    pub nft: NftChains,
    /// None when the kernel's legacy tables cannot be opened.
    pub legacy: Option<LegacyTables>,
}

impl IptablesSources {
    pub fn open() -> IptablesSources {
        IptablesSources {
            nft: NftChains::default(),
            legacy: LegacyTables::open().ok(),
        }
    }

    /// nat KUBE-SERVICES from nf_tables, else from legacy; empty when neither holds it.
    pub fn kube_services(&mut self) -> Vec<Rule> {
        if let Ok(Some(rules)) = self.nft.chain("nat", "KUBE-SERVICES") {
            return rules;
        }
        self.legacy
            .as_mut()
            .and_then(|t| t.chain("nat", "KUBE-SERVICES").ok().flatten())
            .unwrap_or_default()
    }
}

/// Walk the rules for `target` on `backend`, the one detection found holding kube-proxy's
/// chains (None: neither does; then nf_tables, the default, is read and reports no state).
///
/// Like `iptables-nft -t nat -S KUBE-SERVICES | grep 10.96.45.10`, then following each jump.
pub fn walk_backend(
    sources: &mut IptablesSources,
    target: &PlanTarget,
    entry: Entry,
    backend: Option<IptablesBackend>,
) -> Result<ServiceWalk, ReadError> {
    let mut w = match (backend, sources.legacy.as_mut()) {
        (Some(IptablesBackend::Legacy), Some(legacy)) => walk(legacy, target, entry)?,
        (Some(IptablesBackend::Legacy), None) => walk(&mut LegacyTables::open()?, target, entry)?,
        _ => walk(&mut sources.nft, target, entry)?,
    };
    w.backend = backend;
    Ok(w)
}
