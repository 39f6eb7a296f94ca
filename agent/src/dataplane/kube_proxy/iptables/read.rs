//! Read kube-proxy's iptables rules for one VIP in the current network namespace (the caller has
//! entered the node's; child processes inherit it). Replaces `iptables-save | grep VIP` and the
//! `iptables -t nat -S KUBE-SVC-...` chase by hand.
//!
//! Backend choice follows kube-proxy's iptables-wrapper: the backend whose tables hold KUBE-
//! chains. On nf_tables only the chains the VIP reaches are listed (`iptables-nft -S CHAIN` is a
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

/// Walk the rules for `target` on whichever backend holds kube-proxy's chains.
///
/// Like `iptables-nft -t nat -S KUBE-SERVICES | grep 10.96.45.10`, then following each jump.
pub fn service_rules_walk(target: &PlanTarget, entry: Entry) -> Result<ServiceWalk, ReadError> {
    let mut nft = NftChains::default();
    let nft_found = match nft.chain("nat", "KUBE-SERVICES") {
        Ok(services) => Some(services.is_some()),
        Err(ReadError::Command(CommandError::NotFound { .. })) => None,
        Err(e) => return Err(e),
    };
    if nft_found == Some(true) {
        let mut w = walk(&mut nft, target, entry)?;
        w.backend = Some(IptablesBackend::NfTables);
        return Ok(w);
    }
    let mut legacy = LegacyTables::open()?;
    let legacy_found = legacy
        .table("nat")?
        .is_some_and(|nat| nat.has_chain("KUBE-SERVICES"));
    if !legacy_found {
        return match nft_found {
            // Neither backend holds kube-proxy's chains: report from nft (the default backend).
            Some(_) => walk(&mut nft, target, entry),
            None => Err(ReadError::Command(CommandError::NotFound {
                program: NFT,
                package: IPTABLES_NFT.package,
            })),
        };
    }
    let mut w = walk(&mut legacy, target, entry)?;
    w.backend = Some(IptablesBackend::Legacy);
    Ok(w)
}
