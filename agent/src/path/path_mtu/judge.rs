//! Judging the path MTU probe (pure): a Fail only when small packets arrive, full-size ones do
//! not, and nothing said why. Everything else is no finding: a path that answers no ping at all
//! (a NetworkPolicy, a host firewall) says nothing about its MTU, and a "fragmentation needed"
//! is path MTU discovery working (the Tunnel hop's MTU check names configured mismatches).

use std::net::Ipv4Addr;

use netdiag_model::{Hop, HopKind, Reason, Verdict};

use super::{MtuProbe, wire};

pub struct MtuJudgeInput<'a> {
    pub node: &'a str,
    pub dst: Ipv4Addr,
    /// The node that holds `dst`, when the plan's nodes say.
    pub endpoint_node: Option<&'a str>,
    pub probe: &'a MtuProbe,
}

/// The NodeInterface hop, only for a black hole.
pub fn judge(input: &MtuJudgeInput<'_>) -> Option<Hop> {
    let MtuJudgeInput {
        node,
        dst,
        endpoint_node,
        probe,
    } = *input;
    if !probe.small_answered || probe.full_answered || probe.too_big.is_some() {
        return None;
    }
    let largest = probe.largest_answered.unwrap_or(super::SMALL);
    // A lost full-size ping with a size just below it answered was chance, not a limit.
    if largest + 1 >= probe.full {
        return None;
    }
    let between = match endpoint_node {
        Some(other) if other != node => format!("between {node} and {other}"),
        _ => format!("between {node} and {dst}"),
    };
    Some(
        Hop::new(
            node,
            HopKind::NodeInterface,
            format!("path MTU to {dst}"),
            Verdict::Fail,
            format!(
                "packets over {largest} bytes do not arrive {between}: the path MTU is below the pod MTU {} (pings of {largest} bytes to {dst} are answered, {} bytes with DF are not, and no ICMP says why; `ping -M do -s {} {dst}` from the pod)",
                probe.full,
                probe.full,
                probe.full.saturating_sub(wire::HEADERS)
            ),
        )
        .with_reason(Reason::PathMtuBlackhole),
    )
}
