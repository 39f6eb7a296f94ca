//! Kernel settings the path depends on, like `sysctl net.ipv4.ip_forward
//! net.bridge.bridge-nf-call-iptables net.ipv4.conf.all.rp_filter` on the node.
//!
//! The values come straight from /proc/sys, which answers for the network namespace of the
//! reading thread, so this runs on a thread inside the node's namespace. The judgement is the
//! pure [`judge`] over the values read.
//!
//! Reverse-path filtering: strict mode (1) drops a packet when the route back to its source
//! does not leave by the interface it came in on. The test used here is exactly that, for the
//! traffic this node receives on the path: for each [`Ingress`] (source address, interface it
//! arrives on) the node's route to the source is looked up; a different interface, or no
//! route, is an asymmetric path. The kernel applies max(conf.all, conf.IFACE).

use std::net::Ipv4Addr;
use std::path::Path;

use netdiag_model::Reason;
use netdiag_model::report::{HopDetail, NodeSetting, NodeSettingsDetail};
use netdiag_model::{Hop, HopKind, Verdict};

/// What the path looks like on this node, as the other probes found it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsInput {
    /// The bridge the source pod's veth is a port of, if any.
    pub source_bridge: Option<String>,
    /// The devices the path leaves the node by (from `route_to` of the endpoints).
    pub egress_devices: Vec<String>,
    /// Some endpoint of the target sits on the source's bridge.
    pub endpoint_on_source_bridge: bool,
    /// The target is a Service VIP (kube-proxy DNATs it).
    pub is_service: bool,
}

/// Traffic entering this node: from `source`, arriving on interface `ingress` (the source
/// pod's bridge or host veth; the uplink for replies).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ingress {
    pub source: Ipv4Addr,
    pub ingress: String,
}

/// The values read; `None` means the file is absent or unreadable.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SettingsValues {
    pub ip_forward: Option<String>,
    pub bridge_nf_call_iptables: Option<String>,
    pub rp_filter_all: Option<u8>,
    /// Per interface: (name, conf.IFACE.rp_filter).
    pub rp_filter: Vec<(String, Option<u8>)>,
    /// Per ingress: the interface the route back to the source leaves by (None: no route).
    pub reverse: Vec<(Ingress, Option<String>)>,
}

/// Read and judge the settings for `input` (no reverse-path facts: rp_filter is reported
/// but cannot be judged). Run on a thread inside the node's namespace.
pub fn node_settings(node: &str, input: &SettingsInput) -> Hop {
    node_settings_with_ingress(node, input, &[])
}

/// Like [`node_settings`], and judge strict rp_filter for the traffic entering by `ingress`.
pub fn node_settings_with_ingress(node: &str, input: &SettingsInput, ingress: &[Ingress]) -> Hop {
    judge(node, input, &read(Path::new("/proc/sys"), input, ingress))
}

/// Read the values under `sys` (normally `/proc/sys`) and the reverse routes.
pub fn read(sys: &Path, input: &SettingsInput, ingress: &[Ingress]) -> SettingsValues {
    let text = |rel: &str| {
        std::fs::read_to_string(sys.join(rel))
            .ok()
            .map(|s| s.trim().to_string())
    };
    let rp = |iface: &str| {
        text(&format!("net/ipv4/conf/{iface}/rp_filter")).and_then(|v| v.parse().ok())
    };
    let mut ifaces: Vec<String> = Vec::new();
    let named = input.source_bridge.iter().chain(&input.egress_devices);
    for name in named.chain(ingress.iter().map(|i| &i.ingress)) {
        if !ifaces.contains(name) && valid_ifname(name) {
            ifaces.push(name.clone());
        }
    }
    let reverse = ingress
        .iter()
        .map(|i| {
            let back = crate::kernel::rtnl::route_get(i.source)
                .ok()
                .filter(|r| r.kind.delivers())
                .and_then(|r| r.device);
            (i.clone(), back)
        })
        .collect();
    SettingsValues {
        ip_forward: text("net/ipv4/ip_forward"),
        bridge_nf_call_iptables: text("net/bridge/bridge-nf-call-iptables"),
        rp_filter_all: text("net/ipv4/conf/all/rp_filter").and_then(|v| v.parse().ok()),
        rp_filter: ifaces.iter().map(|i| (i.clone(), rp(i))).collect(),
        reverse,
    }
}

/// An interface name that is safe to put in a /proc/sys path.
fn valid_ifname(name: &str) -> bool {
    !name.is_empty() && name.len() < 16 && name != "." && name != ".." && !name.contains('/')
}

/// Judge the values: pure. The hop's verdict is the worst setting's; its detail and reason
/// are those of the first worst setting.
pub fn judge(node: &str, input: &SettingsInput, v: &SettingsValues) -> Hop {
    let mut settings: Vec<(NodeSetting, Option<Reason>)> = Vec::new();
    let mut push = |name: String, value: String, verdict, consequence: String, reason| {
        settings.push((
            NodeSetting {
                name,
                value,
                verdict,
                consequence,
            },
            reason,
        ));
    };

    // Forwarding: needed as soon as the path leaves by anything but the source's own bridge
    // (local delivery by `lo` is no forwarding), and always for a Service: its VIP is never on
    // the pod's subnet, so the pod hands the packet to its gateway and the node routes it after
    // DNAT, even to an endpoint on the same bridge.
    let forwards = input.is_service
        || input
            .egress_devices
            .iter()
            .any(|d| d != "lo" && Some(d) != input.source_bridge.as_ref());
    let name = "net.ipv4.ip_forward".to_string();
    match v.ip_forward.as_deref() {
        Some("0") if forwards => push(
            name,
            "0".into(),
            Verdict::Fail,
            format!(
                "net.ipv4.ip_forward=0 on {node}: the node drops pod traffic it must route (to Services and to other nodes)"
            ),
            Some(Reason::IpForwardDisabled),
        ),
        Some("0") => push(
            name,
            "0".into(),
            Verdict::Warn,
            format!(
                "net.ipv4.ip_forward=0 on {node}: this path stays on one bridge, but pod traffic to other nodes and to Services is dropped"
            ),
            Some(Reason::IpForwardDisabled),
        ),
        Some(val) => push(
            name,
            val.into(),
            Verdict::Ok,
            "the node forwards pod traffic".into(),
            None,
        ),
        None => push(
            name,
            "absent".into(),
            Verdict::Info,
            "could not be read".into(),
            None,
        ),
    }

    let name = "net.bridge.bridge-nf-call-iptables".to_string();
    let value = v
        .bridge_nf_call_iptables
        .clone()
        .unwrap_or_else(|| "absent".into());
    let hairpin =
        input.source_bridge.is_some() && input.is_service && input.endpoint_on_source_bridge;
    let off = value != "1";
    let why = if v.bridge_nf_call_iptables.is_none() {
        format!("net.bridge.bridge-nf-call-iptables is absent on {node} (br_netfilter not loaded)")
    } else {
        format!("net.bridge.bridge-nf-call-iptables={value} on {node}")
    };
    match (off, hairpin) {
        (true, true) => push(
            name,
            value,
            Verdict::Fail,
            format!(
                "{why}: replies from endpoints on the same bridge skip kube-proxy's un-DNAT, so connections to the Service fail whenever DNAT picks such an endpoint"
            ),
            Some(Reason::BridgeNetfilterDisabled),
        ),
        (true, false) => push(
            name,
            value,
            Verdict::Info,
            format!(
                "{why}: harmless on this path; it breaks a Service only when a client and the chosen endpoint share a bridge"
            ),
            None,
        ),
        (false, _) => push(
            name,
            value,
            Verdict::Ok,
            "bridged traffic passes kube-proxy's rules".into(),
            None,
        ),
    }

    let all = v.rp_filter_all.unwrap_or(0);
    for (iface, own) in &v.rp_filter {
        let effective = all.max(own.unwrap_or(0));
        let asym: Vec<&(Ingress, Option<String>)> = v
            .reverse
            .iter()
            .filter(|(i, back)| &i.ingress == iface && back.as_deref() != Some(iface.as_str()))
            .collect();
        let value = format!(
            "{effective} (all={}, {iface}={})",
            v.rp_filter_all.map_or("absent".into(), |x| x.to_string()),
            own.map_or("absent".into(), |x| x.to_string())
        );
        let name = format!("net.ipv4.conf.{iface}.rp_filter");
        match (effective, asym.first()) {
            (1, Some((i, back))) => push(
                name,
                value,
                Verdict::Warn,
                format!(
                    "strict rp_filter on {iface} of {node}: traffic from {} arrives on {iface} but the route back {}, so the kernel drops it",
                    i.source,
                    back.as_deref()
                        .map_or("is missing".to_string(), |b| format!("leaves by {b}"))
                ),
                Some(Reason::StrictRpFilter),
            ),
            (1, None) if v.reverse.iter().any(|(i, _)| &i.ingress == iface) => push(
                name,
                value,
                Verdict::Ok,
                format!(
                    "strict, and the route back to the traffic arriving on {iface} leaves by {iface}"
                ),
                None,
            ),
            (1, None) => push(
                name,
                value,
                Verdict::Info,
                format!(
                    "strict: a packet arriving on {iface} is dropped when the route back to its source leaves by another interface (not checked for this path)"
                ),
                None,
            ),
            (2, _) => push(
                name,
                value,
                Verdict::Ok,
                "loose: any route back to the source will do".into(),
                None,
            ),
            _ => push(
                name,
                value,
                Verdict::Ok,
                "no reverse-path filtering".into(),
                None,
            ),
        }
    }

    let worst = settings
        .iter()
        .map(|(s, _)| s.verdict)
        .max()
        .unwrap_or(Verdict::Info);
    let first_worst = settings.iter().find(|(s, _)| s.verdict == worst);
    let (detail, reason) = match (worst, first_worst) {
        (Verdict::Warn | Verdict::Fail, Some((s, r))) => (s.consequence.clone(), r.clone()),
        _ => {
            let parts: Vec<String> = settings
                .iter()
                .map(|(s, _)| format!("{}={}", s.name, s.value))
                .collect();
            (parts.join(", "), None)
        }
    };
    let mut hop = Hop::new(node, HopKind::NodeSettings, "sysctl", worst, detail).with_details(
        HopDetail::NodeSettings(NodeSettingsDetail {
            settings: settings.into_iter().map(|(s, _)| s).collect(),
        }),
    );
    if let Some(r) = reason {
        hop = hop.with_reason(r);
    }
    hop
}

#[cfg(test)]
mod tests;
