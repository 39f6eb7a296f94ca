//! The node facts a trace report carries beside its hops: the CNI fingerprint (one link and one
//! route dump, and the host's CNI config files) and the proxy mode the ServiceRules step read.

use std::path::Path;

use netdiag_model::report::{HopDetail, TraceNodeFacts};
use netdiag_model::{Hop, HopKind};

use crate::dataplane::cni;

/// What `hops` (this node's) already say about the proxy, and the CNI read now. A node whose
/// links cannot be read has no fingerprint; the trace goes on.
pub fn node_facts(node: &str, hops: &[Hop], proc: &Path) -> TraceNodeFacts {
    let proxy_mode = hops.iter().find_map(|h| match &h.details {
        Some(HopDetail::ServiceRules(d))
            if h.kind == HopKind::ServiceRules && !d.mode.is_empty() =>
        {
            Some(d.mode.clone())
        }
        _ => None,
    });
    TraceNodeFacts {
        node: node.to_string(),
        cni: cni::read_node(None, &cni::read::host_root(proc)).ok(),
        proxy_mode,
    }
}
