//! Judge what kube-proxy programs for a Service against its ready endpoints from the API: the
//! `ServiceRules` hop, the same for every mode. What an engineer concludes after comparing
//! `iptables -t nat -S KUBE-SVC-...` (or `nft list chain`, `ipvsadm -Ln`) with `kubectl get
//! endpointslices`.

use std::collections::HashSet;

use netdiag_model::Reason;
use netdiag_model::report::ServiceRulesDetail;
use netdiag_model::{Endpoint, Hop, HopDetail, HopKind, Verdict};

use super::Reading;
use super::detect::Detection;
use super::model::{BlockAction, BlockCause, Blocked, Lookup, ProxyMode, ServiceProgram};

/// The typed detail of a program.
pub fn detail(walk: &ServiceProgram) -> ServiceRulesDetail {
    ServiceRulesDetail {
        mode: walk.mode.name().into(),
        detected_by: None,
        leftovers: Vec::new(),
        backend: walk.mode.backend().map(str::to_string),
        service_address: walk.address.clone(),
        service: walk.service.clone(),
        chains: walk.chains.clone(),
        endpoints: walk.endpoints.clone(),
        affinity_seconds: walk.affinity_seconds,
        masquerade: walk.masquerade,
        rejected_by: walk.blocked.as_ref().map(|b| {
            let comment = b
                .comment
                .as_deref()
                .map(|c| format!(" \"{c}\""))
                .unwrap_or_default();
            format!("{} {} {}{comment}", b.table, b.chain, b.action)
        }),
        notes: walk.notes.clone(),
    }
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// How many endpoints a message names before it counts the rest.
const LISTED: usize = 10;

/// Endpoints for a message: the first [`LISTED`], then how many more, so a Service of
/// 50,000 endpoints kube-proxy has not programmed yet gives one line, not a megabyte.
fn list(eps: &[&Endpoint]) -> String {
    let shown = eps
        .iter()
        .take(LISTED)
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(", ");
    match eps.len().saturating_sub(LISTED) {
        0 => shown,
        more => format!("{shown} and {more} more"),
    }
}

/// The ServiceRules hop for `walk` on `node`, judged against `expected` (the Service's ready
/// endpoints; empty when unknown, then only the rules' own state is judged).
pub fn judge(node: &str, walk: &ServiceProgram, expected: &[Endpoint]) -> Hop {
    let addr = walk.address.as_str();
    let svc = walk.service.as_deref().unwrap_or(addr);
    let hop = |verdict, text: String| {
        Hop::new(node, HopKind::ServiceRules, addr, verdict, text)
            .with_details(HopDetail::ServiceRules(detail(walk)))
    };
    let ready = if expected.is_empty() {
        String::new()
    } else {
        format!(
            "; the Service has {}",
            plural(expected.len(), "ready endpoint")
        )
    };

    if let Some(b) = &walk.blocked {
        return blocked_hop(node, walk, b, &ready, hop);
    }
    if let Some(why) = &walk.not_local {
        let text = format!("kube-proxy on {node} balances {addr} in IPVS, but {why}{ready}");
        return hop(Verdict::Fail, text).with_reason(Reason::VipNotLocal);
    }

    if walk.lookup != Lookup::Matched {
        let text = if walk.lookup == Lookup::NoProxyState {
            format!(
                "kube-proxy on {node} has no rule for {addr}: {}{ready}",
                walk.mode.missing_state()
            )
        } else if expected.is_empty() {
            format!(
                "kube-proxy on {node} has no rule for {addr}: nothing matches it in {}",
                walk.mode.entry()
            )
        } else {
            format!("kube-proxy on {node} has no rule for {addr}{ready}")
        };
        return hop(Verdict::Fail, text).with_reason(Reason::NoServiceRule);
    }

    if walk.endpoints.is_empty() {
        let chain = walk
            .chains
            .last()
            .map(String::as_str)
            .unwrap_or(walk.mode.entry());
        let text = format!(
            "kube-proxy on {node} matches {addr} ({svc}) but {chain} leads to no endpoint{ready}"
        );
        return hop(Verdict::Fail, text).with_reason(Reason::NoEndpoints);
    }

    // In rule order, without duplicates (affinity or a repeated jump may name one twice).
    let mut programmed: Vec<Endpoint> = Vec::new();
    for e in &walk.endpoints {
        let ep = Endpoint {
            ip: e.ip,
            port: e.port,
        };
        if !programmed.contains(&ep) {
            programmed.push(ep);
        }
    }
    let have: HashSet<&Endpoint> = programmed.iter().collect();
    let wanted: HashSet<&Endpoint> = expected.iter().collect();
    let stale: Vec<&Endpoint> = if expected.is_empty() {
        Vec::new()
    } else {
        programmed.iter().filter(|e| !wanted.contains(e)).collect()
    };
    // A Local policy chain holds this node's endpoints only: the others are not missing.
    let missing: Vec<&Endpoint> = if walk.local_only {
        Vec::new()
    } else {
        expected.iter().filter(|e| !have.contains(e)).collect()
    };

    if !stale.is_empty() {
        let also = if missing.is_empty() {
            String::new()
        } else {
            format!(" (and has no rule for ready endpoint {})", list(&missing))
        };
        let text = format!(
            "kube-proxy on {node} still DNATs {addr} to {}, which {} not a ready endpoint of the Service{also}",
            list(&stale),
            if stale.len() == 1 { "is" } else { "are" },
        );
        return hop(Verdict::Fail, text).with_reason(Reason::StaleEndpoint);
    }
    if !missing.is_empty() {
        let text = format!(
            "kube-proxy on {node} has no rule for ready endpoint {} of {svc} ({addr}): it balances over {} of {}",
            list(&missing),
            walk.endpoints.len(),
            plural(expected.len(), "endpoint"),
        );
        return hop(Verdict::Fail, text).with_reason(Reason::MissingEndpoint);
    }

    let shares = walk
        .endpoints
        .iter()
        .map(|e| format!("{}:{} ({:.0}%)", e.ip, e.port, e.probability * 100.0))
        .collect::<Vec<_>>()
        .join(", ");
    let mut text = format!(
        "{svc} -> {}: {shares}",
        plural(walk.endpoints.len(), "endpoint")
    );
    if walk.local_only {
        text.push_str(" (node-local endpoints only)");
    }
    if let Some(s) = walk.affinity_seconds {
        text.push_str(&format!("; ClientIP affinity {s}s"));
    }
    if expected.is_empty() {
        text.push_str("; not compared with the API (no endpoints given)");
    }
    hop(Verdict::Ok, text)
}

/// The hop for a rule that rejects or drops the address.
fn blocked_hop(
    node: &str,
    walk: &ServiceProgram,
    b: &Blocked,
    ready: &str,
    hop: impl Fn(Verdict, String) -> Hop,
) -> Hop {
    let addr = walk.address.as_str();
    let verb = if b.action == BlockAction::Reject {
        "rejects"
    } else {
        "drops"
    };
    let place = format!("{} {}", b.table, b.chain);
    match b.cause {
        // The API says the Service serves this port: the element is what is missing.
        BlockCause::NotAServicePort if !ready.is_empty() => {
            let text = format!(
                "kube-proxy on {node} has no rule for {addr} in {} ({place} rejects it instead){ready}",
                walk.mode.entry()
            );
            hop(Verdict::Fail, text).with_reason(Reason::NoServiceRule)
        }
        BlockCause::NotAServicePort => {
            let serves = if walk.service_ports.is_empty() {
                String::new()
            } else {
                format!(": it serves {}", walk.service_ports.join(", "))
            };
            let text = format!(
                "kube-proxy on {node} {verb} {addr} in {place}: the ClusterIP has no Service port {}{serves}",
                addr.rsplit_once(':').map_or(addr, |(_, p)| p)
            );
            hop(Verdict::Fail, text).with_reason(Reason::NotAServicePort)
        }
        // The API has a Service with this ClusterIP and ready endpoints: kube-proxy does not know
        // it (not syncing), and its catch-all for unknown ClusterIPs is only the symptom.
        BlockCause::UnallocatedClusterIp if !ready.is_empty() => {
            let text = format!(
                "kube-proxy on {node} has no rule for {addr} in {} ({place} {verb} it as an address no Service holds){ready}",
                walk.mode.entry()
            );
            hop(Verdict::Fail, text).with_reason(Reason::NoServiceRule)
        }
        BlockCause::UnallocatedClusterIp => {
            let text = format!(
                "kube-proxy on {node} {verb} {addr} in {place}: no Service holds this address of the service CIDR"
            );
            hop(Verdict::Fail, text).with_reason(Reason::UnallocatedClusterIp)
        }
        BlockCause::NoLocalEndpoints => {
            let why = b.comment.as_deref().unwrap_or("no local endpoints");
            let chain = b.chain.to_ascii_lowercase();
            let who = if chain.contains("external") || chain.contains("nodeport") {
                "keeps external traffic on local endpoints and {node} runs none, so clients outside the cluster and nodes are dropped here"
            } else {
                "keeps its traffic on local endpoints (internalTrafficPolicy Local) and {node} runs none, so every client on {node} is dropped"
            }
            .replace("{node}", node);
            let text = format!(
                "kube-proxy on {node} {verb} {addr} in {place} (\"{why}\"): the Service {who}{ready}"
            );
            hop(Verdict::Fail, text).with_reason(Reason::NoLocalEndpoints)
        }
        cause => {
            let why = match (cause, b.comment.as_deref()) {
                (_, Some(c)) => format!("\"{c}\""),
                (BlockCause::Other, None) => "no comment".into(),
                _ => "no endpoints".into(),
            };
            let text = format!("kube-proxy on {node} {verb} {addr} in {place} ({why}){ready}");
            hop(Verdict::Fail, text).with_reason(Reason::NoEndpoints)
        }
    }
}

/// The hop when the rules of `mode` could not be read at all.
pub fn unreadable(
    node: &str,
    mode: ProxyMode,
    address: &str,
    error: &dyn std::error::Error,
) -> Hop {
    Hop::new(
        node,
        HopKind::ServiceRules,
        address,
        Verdict::Warn,
        format!(
            "could not read kube-proxy's {} rules on {node} for {address}: {error}",
            mode.name()
        ),
    )
    .with_reason(Reason::RulesUnreadable)
    .with_details(HopDetail::ServiceRules(ServiceRulesDetail {
        mode: mode.name().into(),
        service_address: address.to_string(),
        ..Default::default()
    }))
}

/// The hop for everything read on a node: the program judged, or why there is none, with how
/// the mode was determined and what other modes left behind.
pub fn reading(node: &str, address: &str, reading: &Reading, expected: &[Endpoint]) -> Hop {
    let d = &reading.detection;
    let hop = match &reading.program {
        Some(Ok(program)) => judge(node, program, expected),
        Some(Err(e)) => unreadable(node, d.mode, address, e),
        None => not_read(node, address, d),
    };
    with_detection(hop, d)
}

/// The Info hop when kube-proxy's own state is not read: an eBPF load balancer (or nothing
/// netdiag knows) replaces it.
fn not_read(node: &str, address: &str, d: &Detection) -> Hop {
    let text = match d.mode {
        ProxyMode::Replaced(r) => format!(
            "Services on {node} are balanced by {}, not by kube-proxy rules netdiag can read: {}; the trace goes on with the connection itself",
            r.name(),
            r.instead()
        ),
        mode => format!(
            "kube-proxy on {node} runs in {} mode, whose Service table this version does not read; the trace goes on with the connection itself",
            mode.name()
        ),
    };
    Hop::new(node, HopKind::ServiceRules, address, Verdict::Info, text).with_details(
        HopDetail::ServiceRules(ServiceRulesDetail {
            mode: d.mode.name().into(),
            service_address: address.to_string(),
            ..Default::default()
        }),
    )
}

/// Record how the mode was found; leftovers of another mode make a healthy hop a Warn.
fn with_detection(mut hop: Hop, d: &Detection) -> Hop {
    if let Some(HopDetail::ServiceRules(detail)) = hop.details.as_mut() {
        detail.detected_by = Some(d.how.clone());
        detail.leftovers = d.leftovers.clone();
    }
    if d.leftovers.is_empty() {
        return hop;
    }
    hop.detail.push_str(&format!(
        "; left on the node by another mode: {}",
        d.leftovers.join(", ")
    ));
    if hop.verdict == Verdict::Ok {
        hop.verdict = Verdict::Warn;
        hop = hop.with_reason(Reason::ProxyLeftovers);
    }
    hop
}
