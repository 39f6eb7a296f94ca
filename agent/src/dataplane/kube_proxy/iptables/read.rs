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
use std::process::{Command, Stdio};

use netdiag_model::PlanTarget;

use super::walk::{Entry, ServiceWalk, walk};
use crate::dataplane::netfilter::iptables::rule::Rule;
use crate::dataplane::netfilter::iptables::save::parse_listing;
use crate::dataplane::netfilter::iptables::xtables::{FetchError, LegacyTables};
use crate::dataplane::netfilter::iptables::{ChainSource, IptablesBackend};

const NFT: &str = "iptables-nft";

/// Why the rules could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("{program} not found: install the iptables package")]
    NotFound { program: &'static str },
    #[error("could not run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
    #[error(transparent)]
    Legacy(#[from] FetchError),
}

/// What one iptables command printed, or that the chain it named does not exist.
enum Listing {
    Text(String),
    NoChain,
}

/// A legacy dump of a large node is tens of MB: a 1 MiB pipe lets the tool write in big
/// chunks instead of stalling every 64 KiB until the agent has read.
const PIPE_SIZE: i32 = 1 << 20;

fn run(program: &'static str, args: &[&str]) -> Result<Listing, ReadError> {
    let command = format!("{program} {}", args.join(" "));
    let spawn_error = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::NotFound => ReadError::NotFound { program },
        _ => ReadError::Spawn {
            command: command.clone(),
            source,
        },
    };
    let child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    if let Some(stdout) = &child.stdout {
        // Best effort: a smaller pipe is only slower.
        let _ = nix::fcntl::fcntl(stdout, nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
    }
    let out = child.wait_with_output().map_err(spawn_error)?;
    if out.status.success() {
        // Valid UTF-8 (the normal case) is taken as is: no copy of a dump of tens of MB.
        let text = String::from_utf8(out.stdout)
            .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
        return Ok(Listing::Text(text));
    }
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    // iptables-nft 1.8.9 calls a missing chain (or table) "incompatible"; older and legacy
    // builds say "No chain/target/match by that name".
    if stderr.contains("No chain/target/match")
        || stderr.contains("is incompatible")
        || stderr.contains("does not exist")
    {
        return Ok(Listing::NoChain);
    }
    Err(ReadError::Failed {
        command,
        status: out.status.to_string(),
        stderr,
    })
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
        let rules = match run(NFT, &["-w", "-t", table, "-S", name])? {
            Listing::Text(t) => Some(parse_listing(&t).rules),
            Listing::NoChain => None,
        };
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
        Err(ReadError::NotFound { .. }) => None,
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
            None => Err(ReadError::NotFound { program: NFT }),
        };
    }
    let mut w = walk(&mut legacy, target, entry)?;
    w.backend = Some(IptablesBackend::Legacy);
    Ok(w)
}

#[cfg(test)]
mod tests {
    use super::*;
    use netdiag_model::Reason;
    use netdiag_model::{Protocol, Verdict};

    #[test]
    fn a_missing_binary_says_which_package_to_install() {
        let err = run("netdiag-no-such-iptables", &["-S"]).err();
        let Some(e @ ReadError::NotFound { .. }) = err else {
            panic!("expected NotFound");
        };
        assert_eq!(
            e.to_string(),
            "netdiag-no-such-iptables not found: install the iptables package"
        );
        let hop = crate::dataplane::kube_proxy::judge::unreadable(
            "node-a",
            crate::dataplane::kube_proxy::ProxyMode::Iptables(None),
            &PlanTarget {
                ip: "10.96.0.1".into(),
                port: 443,
                protocol: Protocol::TCP,
            }
            .to_string(),
            &e,
        );
        assert_eq!(hop.verdict, Verdict::Warn);
        assert_eq!(hop.reason.clone(), Some(Reason::RulesUnreadable));
        assert!(
            hop.detail.contains("install the iptables package"),
            "{}",
            hop.detail
        );
    }

    #[test]
    fn no_such_chain_is_an_answer_and_other_failures_carry_command_and_stderr() {
        let no_chain = "echo \"iptables v1.8.9 (nf_tables): chain \\`KUBE-SERVICES' in table \\`nat' is incompatible, use 'nft' tool.\" >&2; exit 1";
        assert!(matches!(run("sh", &["-c", no_chain]), Ok(Listing::NoChain)));
        let legacy = "echo 'iptables: No chain/target/match by that name.' >&2; exit 1";
        assert!(matches!(run("sh", &["-c", legacy]), Ok(Listing::NoChain)));
        let Err(e) = run(
            "sh",
            &[
                "-c",
                "echo 'Permission denied (you must be root)' >&2; exit 4",
            ],
        ) else {
            panic!("expected a failure");
        };
        let text = e.to_string();
        assert!(text.starts_with("`sh -c "), "{text}");
        assert!(
            text.ends_with("Permission denied (you must be root)"),
            "{text}"
        );
        assert!(matches!(run("sh", &["-c", "echo -N X"]), Ok(Listing::Text(t)) if t == "-N X\n"));
    }
}
