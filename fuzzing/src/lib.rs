//! One entry point per parser netdiag feeds with bytes it does not control: the kernel's
//! netlink answers and x_tables blob, iptables and nft output, DNS answers, a pod's
//! resolv.conf, the plugin's arguments and NetProbe specs. Each `pub fn` hands `data` to the
//! real parser and to what consumes the parsed value next; a panic anywhere is a bug.
//!
//! `fuzz/` (cargo-fuzz, nightly) runs these as fuzz targets; `tests/replay.rs` (stable) runs
//! every seed in `fuzz/corpus/<target>/` and every crash kept in `fuzz/artifacts/<target>/`
//! through them in the ordinary test suite.

mod args;
mod kernel;
mod netfilter;
mod text;

pub use args::{duration, netprobe, shorthand};
pub use kernel::{conntrack, ipvs};
pub use netfilter::{iptables_save, nft_netlink, xtables};
pub use text::{dns_wire, ethernet_frame, pcapng, resolv_conf};

/// A fuzz target: bytes in, nothing out; a panic is the only failure.
pub type Target = fn(&[u8]);

/// Every target by the name of its `fuzz/fuzz_targets/<name>.rs` and corpus directory.
pub const TARGETS: &[(&str, Target)] = &[
    ("iptables_save", iptables_save),
    ("xtables", xtables),
    ("nft_netlink", nft_netlink),
    ("ipvs", ipvs),
    ("conntrack", conntrack),
    ("dns_wire", dns_wire),
    ("resolv_conf", resolv_conf),
    ("shorthand", shorthand),
    ("duration", duration),
    ("netprobe", netprobe),
    ("pcapng", pcapng),
    ("ethernet_frame", ethernet_frame),
];

/// `data` as text, for the parsers that take text; None (the input is skipped) when it is not
/// UTF-8, as their callers never hand them anything else.
fn utf8(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}
