//! What an address target may show of other namespaces (pure). A NetProbe's author names a
//! Service or pod only after the admission policy checked they may read it; a bare address is
//! admitted without any object rights, yet kube-proxy's rules walk it back to the Service that
//! owns it. For a Service of another namespace, its name, chains and endpoints become "a Service
//! in another namespace" in every hop and in the evidence, and the chosen endpoint is dropped;
//! verdicts and reasons stay, so the trace still says where it broke.

use std::collections::BTreeSet;

use netdiag_model::report::HopDetail;
use netdiag_model::{HopKind, NodeReport};
use serde_json::Value;

/// What stands in for a hidden Service's name.
pub const HIDDEN_SERVICE: &str = "a Service in another namespace";
/// What stands in for one of its endpoints.
pub const HIDDEN_ENDPOINT: &str = "(endpoint hidden)";

/// `reports` with every other-namespace Service hidden from a NetProbe in `own_namespace`.
pub fn foreign_services(reports: &[NodeReport], own_namespace: &str) -> Vec<NodeReport> {
    let mut services = BTreeSet::new();
    let mut endpoints = BTreeSet::new();
    for r in reports {
        for h in r.hops.iter().filter(|h| h.kind == HopKind::ServiceRules) {
            let Some(HopDetail::ServiceRules(d)) = &h.details else {
                continue;
            };
            let Some(service) = d.service.as_deref() else {
                continue;
            };
            if namespace_of(service) == Some(own_namespace) {
                continue;
            }
            services.insert(service.to_string());
            endpoints.extend(d.endpoints.iter().map(|e| e.ip.to_string()));
        }
    }
    if services.is_empty() {
        return reports.to_vec();
    }
    reports
        .iter()
        .map(|r| hide(r, &services, &endpoints))
        .collect()
}

/// `ns/name:port` (kube-proxy's comment form) -> `ns`.
fn namespace_of(service: &str) -> Option<&str> {
    service.split_once('/').map(|(ns, _)| ns)
}

fn hide(report: &NodeReport, services: &BTreeSet<String>, ips: &BTreeSet<String>) -> NodeReport {
    let mut r = report.clone();
    for h in &mut r.hops {
        if let Some(HopDetail::ServiceRules(d)) = h.details.as_mut()
            && d.service.as_ref().is_some_and(|s| services.contains(s))
        {
            d.service = Some(HIDDEN_SERVICE.into());
            d.chains.clear();
            d.endpoints.clear();
            d.notes.clear();
            d.rejected_by = d.rejected_by.as_ref().map(|_| HIDDEN_SERVICE.into());
        }
    }
    if (r.chosen_endpoint.as_ref()).is_some_and(|e| ips.contains(&e.ip.to_string())) {
        r.chosen_endpoint = None;
    }
    // Typed facts that hold a hidden address (a conntrack tuple, a listener's endpoint) have no
    // room for a stand-in text: they go whole; the hop's verdict, reason and text stay.
    for h in &mut r.hops {
        if h.details.as_ref().is_some_and(|d| mentions(d, ips)) {
            h.details = None;
        }
    }
    // Every string of the report, texts and details and evidence alike: a name or an address
    // must not survive in a rule comment or a capture summary.
    let scrubbed = serde_json::to_value(&r).ok().and_then(|mut value| {
        scrub(&mut value, services, ips);
        serde_json::from_value(value).ok()
    });
    // Fail closed: a report that cannot be scrubbed keeps only what holds no names.
    scrubbed.unwrap_or_else(|| NodeReport {
        hops: (r.hops.iter())
            .map(|h| netdiag_model::Hop {
                name: HIDDEN_SERVICE.into(),
                detail: HIDDEN_SERVICE.into(),
                details: None,
                ..h.clone()
            })
            .collect(),
        dns: Vec::new(),
        evidence: None,
        summary: String::new(),
        first_failure: None,
        ..r
    })
}

/// Whether any string of `details` holds one of `ips` as a whole address.
fn mentions(details: &HopDetail, ips: &BTreeSet<String>) -> bool {
    let Ok(value) = serde_json::to_value(details) else {
        return true;
    };
    let mut copy = value.clone();
    scrub(&mut copy, &BTreeSet::new(), ips);
    copy != value
}

fn scrub(v: &mut Value, services: &BTreeSet<String>, ips: &BTreeSet<String>) {
    match v {
        Value::String(s) => {
            let mut out = s.clone();
            for svc in services {
                out = out.replace(svc.as_str(), HIDDEN_SERVICE);
                // The bare `ns/name`, as comments and chain notes also write it.
                if let Some((name, _port)) = svc.rsplit_once(':') {
                    out = out.replace(name, HIDDEN_SERVICE);
                }
            }
            for ip in ips {
                out = replace_address(&out, ip);
            }
            *s = out;
        }
        Value::Array(items) => items.iter_mut().for_each(|i| scrub(i, services, ips)),
        Value::Object(map) => map.values_mut().for_each(|i| scrub(i, services, ips)),
        _ => {}
    }
}

/// `text` with `ip` (and `ip:port`) replaced where it stands as a whole address: 10.244.2.4
/// is not the start of 10.244.2.45.
fn replace_address(text: &str, ip: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(ip) {
        let before = rest[..i].chars().next_back();
        let after_start = i + ip.len();
        let after = rest[after_start..].chars().next();
        let digit_or_dot = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '.');
        let whole = !digit_or_dot(before) && !after.is_some_and(|c| c.is_ascii_digit());
        out.push_str(&rest[..i]);
        if whole {
            out.push_str(HIDDEN_ENDPOINT);
            // `ip:port` goes as one
            let tail = &rest[after_start..];
            let port_len = tail.strip_prefix(':').map_or(0, |p| {
                1 + p.chars().take_while(char::is_ascii_digit).count()
            });
            rest = &tail[port_len..];
        } else {
            out.push_str(ip);
            rest = &rest[after_start..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests;
