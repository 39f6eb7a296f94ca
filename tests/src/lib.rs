//! Shared helpers for the end-to-end tests: build labs (netdiag-testkit fixtures, which also
//! find the real binaries), trace through them, and read the paths.
//!
//! These tests need root and the packages in scripts/packages.txt. They fail loudly when either
//! is missing: a skipped data-plane test would hide exactly what netdiag is for.

use netdiag_lab::{Lab, LabTrace};
use netdiag_model::{Hop, HopKind, Reason, Verdict};
use netdiag_testkit::netns::workspace_tools;

pub use netdiag_testkit::{Fixture, binary, require_lab_prerequisites, unique_name};

/// Build the default two-node lab under a unique name; torn down when dropped.
pub fn default_lab(tag: &str) -> Fixture {
    require_lab_prerequisites();
    Fixture::builder(tag).up()
}

/// [`default_lab`] with kube-proxy's rules in `mode`.
pub fn lab_in(tag: &str, mode: netdiag_lab::ProxyMode) -> Fixture {
    lab_with(tag, mode, netdiag_lab::spec::Cni::Bridge)
}

/// [`default_lab`] with kube-proxy's rules in `mode` and the pod network in `cni`'s shape.
pub fn lab_with(tag: &str, mode: netdiag_lab::ProxyMode, cni: netdiag_lab::spec::Cni) -> Fixture {
    require_lab_prerequisites();
    Fixture::builder(tag)
        .edit(|s| {
            s.proxy_mode = mode;
            s.cni = cni;
        })
        .up()
}

/// Trace curl -> echo-service in a lab, as `lab trace` does.
pub fn trace_echo(lab: &Lab) -> LabTrace {
    trace_echo_from(lab, "curl")
}

/// Trace pod `from` -> echo-service in a lab, as `lab trace --from FROM` does.
pub fn trace_echo_from(lab: &Lab, from: &str) -> LabTrace {
    trace_to(lab, from, "svc/echo-service")
}

/// Trace pod `from` -> `to` in a lab, as `lab trace --from FROM --to TO` does.
pub fn trace_to(lab: &Lab, from: &str, to: &str) -> LabTrace {
    netdiag_lab::trace(lab, from, to, &workspace_tools())
        .unwrap_or_else(|e| panic!("lab {}: trace {from} -> {to} failed: {e}", lab.name()))
}

/// Trace until `accept` holds, at most `tries` times: DNAT picks endpoints at random.
pub fn trace_until(lab: &Lab, tries: usize, accept: impl Fn(&LabTrace) -> bool) -> LabTrace {
    trace_until_from(lab, "curl", tries, accept)
}

/// [`trace_until`] from pod `from`.
pub fn trace_until_from(
    lab: &Lab,
    from: &str,
    tries: usize,
    accept: impl Fn(&LabTrace) -> bool,
) -> LabTrace {
    let mut last = None;
    for _ in 0..tries {
        let t = trace_echo_from(lab, from);
        if accept(&t) {
            return t;
        }
        last = Some(t);
    }
    panic!(
        "no trace out of {tries} matched; the last one: {}\n{}",
        last.as_ref().map(|t| t.path.summary.as_str()).unwrap_or(""),
        describe(last.as_ref().map(|t| &t.path.hops[..]).unwrap_or(&[]))
    )
}

/// Hops of a path, one per line, for assertion messages.
pub fn describe(hops: &[Hop]) -> String {
    hops.iter()
        .map(|h| {
            format!(
                "{:<8} {:<13} {:<5} {:<24} {}",
                h.node,
                h.kind.as_str(),
                h.verdict.to_string(),
                h.name,
                h.detail
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Kinds of the hops that failed.
pub fn failed_kinds(hops: &[Hop]) -> Vec<HopKind> {
    hops.iter()
        .filter(|h| h.verdict == Verdict::Fail)
        .map(|h| h.kind.clone())
        .collect()
}

/// The one hop of `kind` on `node`.
pub fn hop<'a>(hops: &'a [Hop], node: &str, kind: HopKind) -> &'a Hop {
    hops.iter()
        .find(|h| h.node == node && h.kind == kind)
        .unwrap_or_else(|| panic!("no {kind} hop on {node} in:\n{}", describe(hops)))
}

/// Both modes' tests for each fault: `fN::iptables` and `fN::nftables`.
#[macro_export]
macro_rules! in_both_modes {
    ($($fault:ident),* $(,)?) => {$(
        mod $fault {
            #[test]
            fn iptables() {
                super::$fault(netdiag_lab::ProxyMode::Iptables)
            }
            #[test]
            fn nftables() {
                super::$fault(netdiag_lab::ProxyMode::Nftables)
            }
        }
    )*};
}

/// The hops that failed must be `cause` first, then only hops in `consequences`.
pub fn assert_failure(
    t: &netdiag_lab::LabTrace,
    cause: HopKind,
    reason: Reason,
    consequences: &[HopKind],
) {
    let hops = &t.path.hops;
    let first = t
        .path
        .first_failure
        .as_ref()
        .unwrap_or_else(|| panic!("no failure found:\n{}", describe(hops)));
    assert_eq!(first.hop, cause, "first failure:\n{}", describe(hops));
    assert_eq!(first.reason, reason, "{first:?}");
    for kind in failed_kinds(hops) {
        assert!(
            kind == cause || consequences.contains(&kind),
            "{kind} failed falsely (cause {cause}, allowed consequences {consequences:?}):\n{}",
            describe(hops)
        );
    }
}

/// The first failure's message (the test fails when there is none).
pub fn first_message(t: &netdiag_lab::LabTrace) -> &str {
    &t.path
        .first_failure
        .as_ref()
        .expect("a failure was found")
        .message
}

/// A lab node's pod CIDR, as `ip route` and `iptables -d` take it.
pub fn pod_cidr(lab: &Lab, node: &str) -> String {
    lab.spec()
        .node(node)
        .unwrap_or_else(|| panic!("the lab has no node {node}"))
        .pod_cidr
        .to_string()
}
