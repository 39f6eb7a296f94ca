//! The ServiceRules step: kube-proxy's view of the target on this node, and on the node whose
//! NodePort a pod on another node calls, what externalTrafficPolicy Local does to it there.

use netdiag_model::{Hop, PlanRole};

use super::Trace;
use crate::path::local_policy;
use crate::path::service_rules as rules;

impl Trace<'_> {
    /// kube-proxy's view of the Service: which endpoints DNAT may pick, and with what share.
    pub(super) fn service_rules(&mut self, hops: &mut Vec<Hop>) {
        let Some(t) = &self.plan.target else { return };
        let read = rules::read(t, !self.plan.source_is_node);
        let outcome = rules::judge(
            self.node(),
            t,
            &read,
            &self.plan.expected_endpoints,
            &self.plan.nodes,
        );
        self.is_service = outcome.is_service;
        self.rule_endpoints = outcome.endpoints;
        self.replaced = outcome.replaced;
        // The endpoint role with a target is the run on the node whose NodePort a pod on another
        // node calls (the source's own node is the source run's).
        let hop = match (&read.program, self.plan.role, self.plan.source_ip) {
            (Some(Ok(program)), PlanRole::Endpoint, Some(source)) if !self.plan.source_is_node => {
                local_policy::pod_from_another_node(
                    self.node(),
                    outcome.hop,
                    program,
                    source,
                    &self.plan.nodes,
                )
            }
            _ => outcome.hop,
        };
        hops.push(hop);
    }
}
