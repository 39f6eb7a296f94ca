//! iptables as this node holds it, parsed: the tokenizer and rule parser shared by every text
//! form ([`tokenize`], [`rule`]), `iptables-save` and `iptables -S` listings ([`save`]), and the
//! legacy x_tables decoder that reads tables straight from the kernel ([`xtables`]). Nothing
//! here knows kube-proxy: its walker lives in `dataplane::kube_proxy::iptables`.

pub mod rule;
pub mod save;
pub mod tokenize;
pub mod xtables;

pub use save::IptablesBackend;

use self::rule::Rule;

/// Where a walker gets chains from: a parsed dump, the kernel's legacy tables, or `iptables -S
/// CHAIN` one chain at a time.
pub trait ChainSource {
    type Error;
    /// The rules of `table`/`name`; `Ok(None)` when no such chain exists.
    fn chain(&mut self, table: &str, name: &str) -> Result<Option<Vec<Rule>>, Self::Error>;
}
