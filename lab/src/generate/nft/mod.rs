//! kube-proxy-shaped rules for its nftables mode: the `nft -f` script that kube-proxy's nftables
//! proxier (`pkg/proxy/nftables/proxier.go`) would leave in `table ip kube-proxy` for a set of
//! Services, from the same [`GenService`]/[`GenConfig`] input as the iptables generator.
//!
//! Every line has kube-proxy's exact shape (`add chain|set|map|rule|element ip kube-proxy ...`,
//! as knftables writes its transactions and its Fake dumps them), so the script compares line
//! for line with kube-proxy's own test expectations. Declarations (table, sets, maps, chains)
//! come first: the kernel refuses a `goto` to a chain added later in the same batch.

mod base;
pub mod names;
mod service;

use std::collections::HashSet;
use std::fmt::Write as _;

use super::{GenConfig, GenService};

/// The table every line is about.
pub(super) const TABLE: &str = "ip kube-proxy";
/// kube-proxy's default `--masquerade-bit` 14.
pub(super) const MASQ_MARK: &str = "0x4000";

/// The script being built: declarations, then rules and elements, each line once.
#[derive(Default)]
pub(super) struct Script {
    decls: String,
    body: String,
    chains: HashSet<String>,
    elements: HashSet<String>,
}

impl Script {
    /// `add table|set|map|chain ...` with its `{ ... }` properties: `what` is e.g. `set NAME`.
    pub(super) fn declare(&mut self, what: &str, props: Option<&str>) {
        // Writing to a String cannot fail.
        let _ = match props {
            Some(p) => writeln!(self.decls, "add {what} {{ {p} ; }}"),
            None => writeln!(self.decls, "add {what}"),
        };
    }

    /// A regular chain, declared once however many service ports name it.
    pub(super) fn chain(&mut self, name: &str) {
        if self.chains.insert(name.to_string()) {
            let _ = writeln!(self.decls, "add chain {TABLE} {name}");
        }
    }

    pub(super) fn rule(&mut self, chain: &str, rule: std::fmt::Arguments<'_>) {
        let _ = writeln!(self.body, "add rule {TABLE} {chain} {rule}");
    }

    /// `add element ip kube-proxy SET { ELEMENT }`, once: kube-proxy adds a key only once per
    /// transaction (a Service's ClusterIP is in `cluster-ips` once for all its ports).
    pub(super) fn element(&mut self, set: &str, element: &str) {
        let line = format!("add element {TABLE} {set} {{ {element} }}\n");
        if self.elements.insert(line.clone()) {
            self.body.push_str(&line);
        }
    }

    fn finish(self) -> String {
        let mut out = self.decls;
        out.push_str(&self.body);
        out
    }
}

/// The `nft -f` script for `services` on the node `cfg` describes: kube-proxy's base table
/// (`baseRules` in `proxier_test.go`) and every service port's chains, sets and map elements.
/// Load it into a namespace with `nft -f -`; it creates `table ip kube-proxy`, so load it into
/// a namespace that has none yet.
pub fn render_nft(services: &[GenService], cfg: &GenConfig) -> String {
    let mut s = Script::default();
    base::base_rules(&mut s, cfg);
    for svc in services {
        for port in &svc.ports {
            service::service_port(&mut s, svc, port, cfg);
        }
    }
    s.finish()
}

/// Whether a script line declares an object (`add table|set|map|chain`).
fn is_declaration(line: &str) -> bool {
    ["add table ", "add set ", "add map ", "add chain "]
        .iter()
        .any(|p| line.starts_with(p))
}

/// `script` with its declarations moved before everything else, each part in its own order.
/// kube-proxy's test expectations list a chain after the rules that jump to it (knftables'
/// Fake sorts its dump), which `nft -f` refuses; this makes them loadable without changing any
/// line. Comments and blank lines are dropped.
pub fn declarations_first(script: &str) -> String {
    let lines = || {
        script
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
    };
    let mut out = String::with_capacity(script.len());
    for l in lines().filter(|l| is_declaration(l)) {
        out.push_str(l);
        out.push('\n');
    }
    for l in lines().filter(|l| !is_declaration(l)) {
        out.push_str(l);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests;
