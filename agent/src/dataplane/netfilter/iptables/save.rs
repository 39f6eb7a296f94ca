//! The two text forms iptables prints: `iptables-save` (whole tables) and `iptables -S CHAIN`
//! (one chain). Both are indexed by chain so a walker only parses the rules it reaches.

use std::collections::HashMap;

use super::ChainSource;
use super::rule::{Rule, parse_line};

/// Which iptables backend holds the rules. Not to be confused with kube-proxy's nftables
/// *mode*: this is iptables itself, storing its rules in nf_tables or in x_tables.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IptablesBackend {
    /// iptables-nft: xtables rules stored in nf_tables.
    NfTables,
    /// iptables-legacy: the old x_tables interface.
    Legacy,
}

impl IptablesBackend {
    /// The name the iptables-save header uses (`nf_tables`, `legacy`).
    pub fn as_str(self) -> &'static str {
        match self {
            IptablesBackend::NfTables => "nf_tables",
            IptablesBackend::Legacy => "legacy",
        }
    }
}

/// A chain declaration (`:KUBE-SERVICES - [0:0]` or `-N KUBE-SERVICES` / `-P INPUT ACCEPT`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainDecl {
    pub name: String,
    /// `ACCEPT`/`DROP` for built-in chains, `None` for user chains (`-`).
    pub policy: Option<String>,
}

/// One table of an `iptables-save` dump, rules kept as text lines grouped by chain.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SaveTable<'a> {
    pub name: String,
    pub chains: Vec<ChainDecl>,
    /// Rule lines per chain, in order. Parsed on demand ([`SaveDump::rules`]).
    pub lines: HashMap<&'a str, Vec<&'a str>>,
}

/// An `iptables-save` dump, like reading `iptables-save -t nat` by eye.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SaveDump<'a> {
    /// From the header comment: `(nf_tables)` or `(legacy)`; `None` when it says neither
    /// (iptables-legacy-save 1.8.9 prints no backend at all).
    pub backend: Option<IptablesBackend>,
    pub tables: Vec<SaveTable<'a>>,
}

impl<'a> SaveDump<'a> {
    pub fn table(&self, name: &str) -> Option<&SaveTable<'a>> {
        self.tables.iter().find(|t| t.name == name)
    }

    /// Whether `table` declares `chain`.
    pub fn has_chain(&self, table: &str, chain: &str) -> bool {
        self.table(table)
            .is_some_and(|t| t.chains.iter().any(|c| c.name == chain))
    }

    /// The parsed rules of `table`/`chain`, or `None` when the chain is not declared.
    pub fn rules(&self, table: &str, chain: &str) -> Option<Vec<Rule>> {
        let t = self.table(table)?;
        if !t.chains.iter().any(|c| c.name == chain) && !t.lines.contains_key(chain) {
            return None;
        }
        let lines = t.lines.get(chain).map(Vec::as_slice).unwrap_or_default();
        Some(lines.iter().filter_map(|l| parse_line(l)).collect())
    }
}

impl ChainSource for SaveDump<'_> {
    type Error = std::convert::Infallible;
    fn chain(&mut self, table: &str, name: &str) -> Result<Option<Vec<Rule>>, Self::Error> {
        Ok(self.rules(table, name))
    }
}

/// The backend named by an iptables-save header line, if any.
fn header_backend(line: &str) -> Option<IptablesBackend> {
    if line.contains("(nf_tables)") {
        Some(IptablesBackend::NfTables)
    } else if line.contains("(legacy)") {
        Some(IptablesBackend::Legacy)
    } else {
        None
    }
}

/// The chain name of a `-A CHAIN ...` line without tokenizing the whole line (the chain name
/// has no quotes or spaces), so indexing 230k lines stays cheap.
fn append_chain(line: &str) -> Option<&str> {
    let rest = line
        .strip_prefix("-A ")
        .or_else(|| line.strip_prefix("--append "))?;
    rest.split_whitespace().next()
}

/// Index an `iptables-save` dump. Never fails: unknown lines are skipped, rules outside a
/// table go to an unnamed table, a missing COMMIT is tolerated.
pub fn parse_save(text: &str) -> SaveDump<'_> {
    let mut dump = SaveDump::default();
    let mut current: Option<SaveTable<'_>> = None;
    for raw in text.lines() {
        let line = raw.trim();
        if let Some(comment) = line.strip_prefix('#') {
            if dump.backend.is_none() {
                dump.backend = header_backend(comment);
            }
        } else if let Some(name) = line.strip_prefix('*') {
            dump.tables.extend(current.take());
            current = Some(SaveTable {
                name: name.trim().to_string(),
                ..Default::default()
            });
        } else if line == "COMMIT" {
            dump.tables.extend(current.take());
        } else if let Some(decl) = line.strip_prefix(':') {
            let mut parts = decl.split_whitespace();
            if let Some(name) = parts.next() {
                let policy = parts.next().filter(|p| *p != "-").map(str::to_string);
                current
                    .get_or_insert_with(Default::default)
                    .chains
                    .push(ChainDecl {
                        name: name.to_string(),
                        policy,
                    });
            }
        } else if let Some(chain) = append_chain(line) {
            current
                .get_or_insert_with(Default::default)
                .lines
                .entry(chain)
                .or_default()
                .push(line);
        }
    }
    dump.tables.extend(current.take());
    dump
}

/// The output of `iptables -t TABLE -S CHAIN`: its declaration and its rules.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ChainListing {
    /// `-N NAME` (user chain) or `-P NAME POLICY` (built-in) lines.
    pub chains: Vec<ChainDecl>,
    pub rules: Vec<Rule>,
}

/// Parse `iptables -S` output (`-P`, `-N`, `-A` lines). Never fails; other lines are skipped.
pub fn parse_listing(text: &str) -> ChainListing {
    let mut out = ChainListing::default();
    for raw in text.lines() {
        let line = raw.trim();
        let mut words = line.split_whitespace();
        match words.next() {
            Some("-N" | "--new-chain") => {
                if let Some(name) = words.next() {
                    out.chains.push(ChainDecl {
                        name: name.to_string(),
                        policy: None,
                    });
                }
            }
            Some("-P" | "--policy") => {
                if let Some(name) = words.next() {
                    out.chains.push(ChainDecl {
                        name: name.to_string(),
                        policy: words.next().map(str::to_string),
                    });
                }
            }
            Some("-A" | "--append") => out.rules.extend(parse_line(line)),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NFT: &str = "# Generated by iptables-nft-save v1.8.9 (nf_tables) on Mon Nov 23 10:15:22 2026
*filter
:INPUT ACCEPT [0:0]
:KUBE-SERVICES - [0:0]
-A KUBE-SERVICES -d 10.96.0.5/32 -p tcp -m comment --comment \"ns/a:http has no endpoints\" -m tcp --dport 80 -j REJECT --reject-with icmp-port-unreachable
COMMIT
*nat
:PREROUTING ACCEPT [12:720]
:KUBE-SERVICES - [0:0]
:KUBE-EMPTY - [0:0]
-A PREROUTING -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES
-A KUBE-SERVICES -m comment --comment \"kubernetes service nodeports; NOTE: this must be the last rule in this chain\" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS
COMMIT
";

    #[test]
    fn reads_tables_chains_policies_and_the_nft_header() {
        let d = parse_save(NFT);
        assert_eq!(d.backend, Some(IptablesBackend::NfTables));
        assert_eq!(
            d.tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["filter", "nat"]
        );
        let nat = d.table("nat").unwrap();
        assert_eq!(nat.chains[0].policy.as_deref(), Some("ACCEPT"));
        assert_eq!(nat.chains[1].policy, None);
        let f = d.rules("filter", "KUBE-SERVICES").unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].service_name(), Some("ns/a:http"));
        assert_eq!(d.rules("nat", "KUBE-EMPTY"), Some(vec![]));
        assert_eq!(d.rules("nat", "KUBE-NOPE"), None);
        assert_eq!(d.rules("mangle", "KUBE-SERVICES"), None);
    }

    #[test]
    fn reads_the_legacy_header_and_one_without_a_backend() {
        let legacy = "# Generated by iptables-save v1.8.7 (legacy) on x\n*nat\nCOMMIT\n";
        assert_eq!(parse_save(legacy).backend, Some(IptablesBackend::Legacy));
        let bare = "# Generated by iptables-save v1.8.9 on x\n*nat\nCOMMIT\n";
        assert_eq!(parse_save(bare).backend, None);
    }

    #[test]
    fn tolerates_a_missing_commit_and_rules_outside_a_table() {
        let d = parse_save("-A X -j DROP\n*nat\n:Y - [0:0]\n-A Y -j RETURN\n");
        assert_eq!(d.tables.len(), 2);
        assert_eq!(d.rules("nat", "Y").map(|r| r.len()), Some(1));
    }

    #[test]
    fn reads_an_iptables_s_listing() {
        let l = parse_listing(
            "-N KUBE-SVC-X\n-A KUBE-SVC-X -m statistic --mode random --probability 0.50000000000 -j KUBE-SEP-A\n-A KUBE-SVC-X -j KUBE-SEP-B\n",
        );
        assert_eq!(l.chains[0].name, "KUBE-SVC-X");
        assert_eq!(l.rules.len(), 2);
        assert_eq!(l.rules[1].jump(), Some("KUBE-SEP-B"));
        let p = parse_listing("-P PREROUTING ACCEPT\n");
        assert_eq!(p.chains[0].policy.as_deref(), Some("ACCEPT"));
    }
}
