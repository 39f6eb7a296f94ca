//! A NetProbe status as a model path and back: the renderers and the plugin read the path, the
//! controller writes a merged path into the status.

use netdiag_model::merge::connect_outcome;
use netdiag_model::{HopDetail, MergedPath, Progress};

use crate::probe::{NetProbeStatus, Phase, StatusCondition};

impl NetProbeStatus {
    /// The condition of this type, if any.
    pub fn condition(&self, type_: &str) -> Option<&StatusCondition> {
        self.conditions.iter().find(|c| c.type_ == type_)
    }

    /// Whether the target was reached: the `Reachable` condition when the controller set it,
    /// else the last Connect hop.
    pub fn reachable(&self) -> Option<bool> {
        if let Some(c) = self.condition("Reachable") {
            match c.status.as_str() {
                "True" => return Some(true),
                "False" => return Some(false),
                _ => {}
            }
        }
        connect_outcome(&self.hops)
    }

    /// The path this status holds, for the renderers.
    pub fn path(&self) -> MergedPath {
        let progress = match self.phase {
            None | Some(Phase::Pending) => Progress::Pending,
            Some(Phase::Running) => Progress::Running,
            Some(Phase::Succeeded) => Progress::Done,
            Some(Phase::Failed) => {
                Progress::Failed(self.condition("Completed").and_then(|c| c.message.clone()))
            }
        };
        let chosen_endpoint = self.hops.iter().find_map(|h| match &h.details {
            Some(HopDetail::Conntrack(c)) => c.chosen_endpoint,
            _ => None,
        });
        MergedPath {
            target: self.target.clone(),
            progress,
            hops: self.hops.clone(),
            dns: self.dns.clone(),
            first_failure: self.first_failure.clone(),
            reachable: self.reachable(),
            chosen_endpoint,
            summary: self.summary.clone().unwrap_or_default(),
            evidence: self.evidence.clone(),
            node_facts: self.node_facts.clone(),
        }
    }

    /// Copy a merged path into the status: hops, dns, evidence, node facts, firstFailure,
    /// summary.
    pub fn apply_path(&mut self, path: &MergedPath) {
        self.hops = path.hops.clone();
        self.node_facts = path.node_facts.clone();
        self.dns = path.dns.clone();
        self.evidence = path.evidence.clone();
        self.first_failure = path.first_failure.clone();
        self.summary = Some(path.summary.clone());
    }
}
