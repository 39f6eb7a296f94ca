//! One line of typed facts per hop, for the wide table's FACTS column.

use netdiag_model::report::{ConntrackTuple, HopDetail};

use super::ms;

/// The typed details of a hop as one line: what `ip -d link`, `iptables -t nat -L` or
/// `conntrack -L` would have shown for it.
pub fn facts(d: &HopDetail) -> String {
    let mut parts: Vec<String> = Vec::new();
    match d {
        HopDetail::PodInterface(p) => {
            let peer = p
                .peer_ifindex
                .map(|i| format!("@if{i}"))
                .unwrap_or_default();
            parts.push(format!("{}{peer}", p.ifname));
            if !p.addresses.is_empty() {
                parts.push(p.addresses.join(","));
            }
            parts.push(format!("mtu {}", p.mtu));
            if let Some(gw) = &p.gateway {
                match &p.gateway_neighbor {
                    Some(n) => parts.push(format!("gw {gw} at {n}")),
                    None => parts.push(format!("gw {gw}")),
                }
            }
            parts.push(format!("netns {}", p.netns));
            if let Some(r) = &p.resolv_conf {
                parts.push(format!("nameservers {}", r.nameservers.join(",")));
            }
        }
        HopDetail::HostVeth(v) => {
            parts.push(format!("{} if{}", v.name, v.ifindex));
            parts.push(v.oper_state.clone());
            parts.push(format!("mtu {} (pod {})", v.mtu, v.pod_mtu));
        }
        HopDetail::Bridge(b) => {
            parts.push(
                b.name
                    .clone()
                    .unwrap_or_else(|| "no bridge (routed)".into()),
            );
            if !b.addresses.is_empty() {
                parts.push(b.addresses.join(","));
            }
            if let Some(s) = &b.oper_state {
                parts.push(s.clone());
            }
            if let Some(port) = &b.port {
                match b.hairpin {
                    Some(on) => parts.push(format!(
                        "port {port} hairpin {}",
                        if on { "on" } else { "off" }
                    )),
                    None => parts.push(format!("port {port}")),
                }
            }
            if let Some(n) = b.promiscuity.filter(|n| *n > 0) {
                parts.push(format!("promiscuity {n}"));
            }
        }
        HopDetail::NodeSettings(n) => {
            parts.extend(n.settings.iter().map(|s| format!("{}={}", s.name, s.value)));
        }
        HopDetail::ServiceRules(r) => {
            let mode = match &r.backend {
                Some(b) => format!("{}/{b}", r.mode),
                None => r.mode.clone(),
            };
            parts.push(mode);
            match &r.service {
                Some(s) => parts.push(format!("{} ({s})", r.service_address)),
                None => parts.push(r.service_address.clone()),
            }
            if r.endpoints.is_empty() {
                parts.push("no endpoints".into());
            } else {
                let shares: Vec<String> = r
                    .endpoints
                    .iter()
                    .map(|e| format!("{}:{} {}", e.ip, e.port, percent(e.probability)))
                    .collect();
                parts.push(format!("endpoints {}", shares.join(", ")));
            }
            if let Some(a) = r.affinity_seconds {
                parts.push(format!("ClientIP affinity {a}s"));
            }
            if let Some(by) = &r.rejected_by {
                parts.push(format!("rejected by {by}"));
            }
        }
        HopDetail::Conntrack(c) => {
            if let Some(o) = &c.original {
                parts.push(tuple(o));
            }
            if let Some(e) = &c.chosen_endpoint {
                parts.push(format!("=> {e}"));
            }
            if let Some(s) = &c.state {
                parts.push(s.clone());
            }
            if !c.flags.is_empty() {
                parts.push(format!("[{}]", c.flags.join(",")));
            }
            if let (Some(n), Some(max)) = (c.count, c.max) {
                parts.push(format!("table {n}/{max}"));
            }
            for (name, v) in [
                ("insert_failed", c.insert_failed),
                ("drop", c.drop),
                ("early_drop", c.early_drop),
            ] {
                if let Some(v) = v.filter(|v| *v > 0) {
                    parts.push(format!("{name}={v}"));
                }
            }
        }
        HopDetail::Route(r) => {
            parts.push(r.destination.clone());
            if let Some(g) = &r.gateway {
                parts.push(format!("via {g}"));
            }
            if let Some(d) = &r.device {
                parts.push(format!("dev {d}"));
            }
            if let Some(s) = &r.prefsrc {
                parts.push(format!("src {s}"));
            }
            parts.push(format!("({})", r.route_type));
        }
        HopDetail::Tunnel(t) => {
            parts.push(format!("{} {}", t.encapsulation, t.device));
            if let Some(v) = t.vni {
                parts.push(format!("vni {v}"));
            }
            if let Some(p) = t.port {
                parts.push(format!("port {p}"));
            }
            let mac = t.next_hop_mac.as_deref().map(|m| format!(" ({m})"));
            parts.push(format!(
                "next hop {}{}",
                t.next_hop,
                mac.unwrap_or_default()
            ));
            match (&t.remote, &t.remote_node) {
                (Some(r), Some(n)) => parts.push(format!("remote {r} ({n})")),
                (Some(r), None) => parts.push(format!("remote {r}")),
                _ => {}
            }
            if let Some(u) = &t.underlay {
                parts.push(format!("over {u}"));
            }
            parts.push(format!("mtu {}", t.mtu));
        }
        HopDetail::Listener(l) => {
            parts.push(format!("{}/{}", l.endpoint, l.protocol));
            match (&l.bound, l.listening) {
                (Some(b), _) => parts.push(format!("bound {b}")),
                (None, true) => parts.push("listening".into()),
                (None, false) => parts.push("no listening socket".into()),
            }
            parts.push(format!("netns {}", l.netns));
        }
        HopDetail::Other(kind) => parts.push(format!("{kind} facts (from a newer netdiag)")),
        HopDetail::Connect(c) => {
            parts.push(format!("{} {}", c.protocol, c.target));
            match (&c.error, c.latency_ms) {
                (Some(e), _) => parts.push(e.clone()),
                (None, Some(l)) => parts.push(format!("ok in {}", ms(l))),
                (None, None) if c.ok => parts.push("ok".into()),
                (None, None) => parts.push("failed".into()),
            }
            if let Some(l) = &c.local {
                parts.push(format!("from {l}"));
            }
        }
    }
    parts.join("  ")
}

fn tuple(t: &ConntrackTuple) -> String {
    format!(
        "{} {}:{} -> {}:{}",
        t.protocol, t.src, t.sport, t.dst, t.dport
    )
}

/// `0.3333` -> `33.3%`, `0.5` -> `50%`.
pub(crate) fn percent(p: f64) -> String {
    let v = (p * 1000.0).round() / 10.0;
    if v.fract() == 0.0 {
        format!("{v:.0}%")
    } else {
        format!("{v:.1}%")
    }
}
