//! The watch of an endpoint run on another node (see [`Watch`]): which plans share the probe's
//! source port, and which run watches.

use super::{NodePlan, PlanOptions};
use crate::Check;

/// The probe's source port, shared by the source run and a watching endpoint run, and how
/// long the watcher waits for the source run (its pod's start included, on a cluster).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Watch {
    pub source_port: u16,
    pub window_ms: u64,
}

impl Watch {
    /// The ephemeral range most kernels use (`net.ipv4.ip_local_port_range` 32768-60999): a
    /// port there looks like any client's to every rule on the way.
    pub const PORTS: std::ops::RangeInclusive<u16> = 32768..=60999;

    /// A source port in [`Watch::PORTS`] from any number (a run's nonce).
    pub fn port_from(nonce: u64) -> u16 {
        let span = u64::from(Watch::PORTS.end() - Watch::PORTS.start()) + 1;
        // In range by construction: the remainder is below span <= u16::MAX.
        Watch::PORTS.start() + u16::try_from(nonce % span).unwrap_or(0)
    }
}

/// The source's own node traces the probe's packets with the connect; another node's run
/// can only see them arrive when it is armed before the source connects. With a [`Watch`]
/// both runs share the source port and the other run watches (its agent starts first, see
/// [`NodePlan::watches`]). A run that sends nothing (no connect, no evidence) has nothing to
/// watch for.
pub(super) fn arm_watch(options: &PlanOptions, source: &mut NodePlan, other: &mut NodePlan) {
    let Some(watch) = options.watch else { return };
    let sends = source.plan.target.is_some()
        && source.plan.wants(Check::Connect)
        && source.plan.wants(Check::Evidence);
    if other.node == source.node || !sends {
        return;
    }
    source.plan.source_port = Some(watch.source_port);
    other.plan.source_port = Some(watch.source_port);
    other.plan.watch_ms = Some(watch.window_ms);
}

impl NodePlan {
    /// Whether this run watches for the source's packets: its agent must be armed (its pod
    /// ready) before the source run starts.
    pub fn watches(&self) -> bool {
        self.plan.watch_ms.is_some()
    }
}

#[cfg(test)]
mod tests;
