//! The node's links and routes as an engineer reads them for a CNI: links by name, described as
//! `ip -d link` would, per-pod `/32` routes, routes to other pod CIDRs and through which device.
//! Pure.

use std::collections::HashSet;

use crate::kernel::rtnl::tunnel::TunnelConfig;
use crate::kernel::rtnl::{Link, LinkKind, Route, RouteKind};

/// `ip route`'s names for the protocols a CNI route may carry (`/etc/iproute2/rt_protos`).
fn protocol_name(p: u8) -> Option<String> {
    match p {
        0..=4 => None, // unspec, redirect, kernel, boot, static: anyone's
        12 => Some("bird".into()),
        186 => Some("bgp".into()),
        n => Some(n.to_string()),
    }
}

pub(super) struct NodeView<'a> {
    pub links: &'a [Link],
    pub routes: &'a [Route],
}

impl<'a> NodeView<'a> {
    pub fn named(&self, name: &str) -> Option<&'a Link> {
        self.links.iter().find(|l| l.name == name)
    }

    fn by_index(&self, index: u32) -> Option<&'a Link> {
        self.links.iter().find(|l| l.index == index)
    }

    /// `flannel.1 (vxlan VNI 1, port 8472)`, `cni0 (bridge)`, `tunl0 (ipip)`.
    pub fn described(l: &Link) -> String {
        match (&l.tunnel, &l.kind) {
            (Some(TunnelConfig::Vxlan { vni, port, .. }), _)
            | (Some(TunnelConfig::Geneve { vni, port, .. }), _) => {
                let mut s = format!("{} ({}", l.name, l.tunnel.as_ref().map_or("", |t| t.kind()));
                if let Some(v) = vni {
                    s.push_str(&format!(" VNI {v}"));
                }
                if let Some(p) = port {
                    s.push_str(&format!(", port {p}"));
                }
                s + ")"
            }
            (_, Some(kind)) => format!("{} ({kind})", l.name),
            (_, None) => l.name.clone(),
        }
    }

    /// The named links that exist, described.
    pub fn present(&self, names: &[&str]) -> Vec<String> {
        (names.iter())
            .filter_map(|n| self.named(n))
            .map(Self::described)
            .collect()
    }

    /// Names of the veths that are no bridge port and carry a /32 route: one per pod, the
    /// routed CNIs' shape (`10.244.1.5 dev cali1a2b3c4d5e6 scope link`).
    pub fn per_pod_routes(&self) -> Vec<&'a str> {
        let host_routes: HashSet<u32> = (self.routes.iter())
            .filter(|r| r.prefix_len == 32 && r.gateway.is_none())
            .filter_map(|r| r.oif)
            .collect();
        (self.links.iter())
            .filter(|l| l.kind == Some(LinkKind::Veth) && l.master.is_none())
            .filter(|l| host_routes.contains(&l.index))
            .map(|l| l.name.as_str())
            .collect()
    }

    /// Routes to other pod CIDRs through a gateway on a device that is no overlay: another
    /// node's pod CIDR via that node's IP (`10.244.2.0/24 via 172.18.0.3 dev eth0`). The
    /// default route and host routes are no such route.
    pub fn routes_via_nodes(&self) -> Vec<&'a Route> {
        (self.routes.iter())
            .filter(|r| r.kind == RouteKind::Unicast && (1..32).contains(&r.prefix_len))
            .filter(|r| r.gateway.is_some())
            .filter(|r| {
                let dev = r.oif.and_then(|i| self.by_index(i));
                !dev.is_some_and(|d| d.tunnel.is_some() || d.name.starts_with("cilium_"))
            })
            .collect()
    }

    /// Routes with a gateway whose device is `link`: an overlay's routes to the other nodes.
    pub fn routes_via_device(&self, link: &Link) -> Vec<&'a Route> {
        (self.routes.iter())
            .filter(|r| r.oif == Some(link.index) && r.gateway.is_some())
            .collect()
    }

    /// `10.244.2.0/24 via 172.18.0.3 dev eth0 proto bird onlink`, as `ip route` prints it.
    pub fn route_line(&self, r: &Route) -> String {
        let mut s = format!("{}/{}", r.destination, r.prefix_len);
        if r.kind == RouteKind::Blackhole {
            s = format!("blackhole {s}");
        }
        if let Some(g) = r.gateway {
            s.push_str(&format!(" via {g}"));
        }
        if let Some(dev) = r.oif.and_then(|i| self.by_index(i)) {
            s.push_str(&format!(" dev {}", dev.name));
        }
        if let Some(p) = protocol_name(r.protocol) {
            s.push_str(&format!(" proto {p}"));
        }
        if r.onlink {
            s.push_str(" onlink");
        }
        s
    }

    /// `2 routes to other pod CIDRs via node IPs (10.244.2.0/24 via 172.18.0.3 dev eth0, ...)`,
    /// None without any.
    pub fn routes_via_nodes_evidence(&self) -> Option<String> {
        summarize(
            "to other pod CIDRs via node IPs",
            &self.routes_via_nodes(),
            self,
        )
    }

    /// `2 routes via flannel.1 (10.244.2.0/24 via 10.244.2.0 dev flannel.1 onlink, ...)`.
    pub fn routes_via_device_evidence(&self, link: &Link) -> Option<String> {
        let what = format!("via {}", link.name);
        summarize(&what, &self.routes_via_device(link), self)
    }

    /// Calico's IPAM blocks: `blackhole 10.244.208.0/26 proto bird`.
    pub fn blackhole_blocks(&self) -> Vec<String> {
        (self.routes.iter())
            .filter(|r| r.kind == RouteKind::Blackhole && r.prefix_len < 32)
            .map(|r| self.route_line(r))
            .collect()
    }

    /// Links whose name starts with `prefix`, described (kube-router's `tun-*`).
    pub fn prefixed(&self, prefix: &str, kind: LinkKind) -> Vec<String> {
        (self.links.iter())
            .filter(|l| l.name.starts_with(prefix) && l.kind.as_ref() == Some(&kind))
            .map(Self::described)
            .collect()
    }
}

/// At most two example routes are spelled out; the count says the rest.
fn summarize(what: &str, routes: &[&Route], view: &NodeView) -> Option<String> {
    let n = routes.len();
    if n == 0 {
        return None;
    }
    let shown: Vec<String> = routes.iter().take(2).map(|r| view.route_line(r)).collect();
    let more = if n > 2 { ", ..." } else { "" };
    let plural = if n == 1 { "" } else { "s" };
    Some(format!(
        "{n} route{plural} {what} ({}{more})",
        shown.join(", ")
    ))
}
