//! Overlay devices' own settings, like `ip -d link show flannel.1` (`vxlan id 1 local 172.18.0.2
//! dev eth0 srcport 0 0 dstport 8472 nolearning`) or `ip -d link show tunl0` (`ipip any remote
//! any local any`): IFLA_LINKINFO -> IFLA_INFO_DATA of a vxlan, geneve or ipip link.

use std::net::{IpAddr, Ipv4Addr};

use netlink_packet_route::link::{
    InfoData, InfoGeneve, InfoIpTunnel, InfoKind, InfoVxlan, LinkInfo,
};

/// What an overlay device encapsulates with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TunnelConfig {
    /// VXLAN (flannel's `flannel.1`, Calico's `vxlan.calico`, Cilium's `cilium_vxlan`).
    Vxlan {
        /// IFLA_VXLAN_ID: the VNI (flannel 1, Calico 4096).
        vni: Option<u32>,
        /// IFLA_VXLAN_PORT: the UDP destination port (flannel 8472, IANA 4789).
        port: Option<u16>,
        /// IFLA_VXLAN_LOCAL: the local VTEP address packets leave from.
        local: Option<Ipv4Addr>,
        /// IFLA_VXLAN_LINK: the underlay device's ifindex.
        underlay: Option<u32>,
        /// IFLA_VXLAN_LEARNING: false for `nolearning` (flannel writes every FDB entry itself).
        learning: Option<bool>,
    },
    /// Geneve (Cilium's `cilium_geneve`).
    Geneve {
        vni: Option<u32>,
        port: Option<u16>,
        /// A fixed remote; None for a collect-metadata device (Cilium's), which takes the
        /// remote from each packet's metadata.
        remote: Option<Ipv4Addr>,
    },
    /// IP-in-IP (Calico's `tunl0`, kube-router's `tun-<ip>`).
    IpIp {
        /// None: `local any` (tunl0).
        local: Option<Ipv4Addr>,
        /// None: `remote any` (tunl0, whose routes name the remote as their gateway).
        remote: Option<Ipv4Addr>,
        /// IFLA_IPTUN_LINK: the underlay device's ifindex, None when unbound.
        underlay: Option<u32>,
    },
}

impl TunnelConfig {
    /// The bytes each packet grows by: the outer IPv4 header and what follows it (VXLAN and
    /// Geneve: 20 IP + 8 UDP + 8 header + 14 inner Ethernet; Geneve options add more).
    pub fn overhead(&self) -> u32 {
        match self {
            TunnelConfig::Vxlan { .. } | TunnelConfig::Geneve { .. } => 50,
            TunnelConfig::IpIp { .. } => 20,
        }
    }

    /// The underlay device's ifindex, when the device names one.
    pub fn underlay(&self) -> Option<u32> {
        match self {
            TunnelConfig::Vxlan { underlay, .. } | TunnelConfig::IpIp { underlay, .. } => *underlay,
            TunnelConfig::Geneve { .. } => None,
        }
    }

    /// The VNI (VXLAN, Geneve); IP-in-IP has none.
    pub fn vni(&self) -> Option<u32> {
        match self {
            TunnelConfig::Vxlan { vni, .. } | TunnelConfig::Geneve { vni, .. } => *vni,
            TunnelConfig::IpIp { .. } => None,
        }
    }

    /// The encapsulation's name, as `ip -d link` prints the kind.
    pub fn kind(&self) -> &'static str {
        match self {
            TunnelConfig::Vxlan { .. } => "vxlan",
            TunnelConfig::Geneve { .. } => "geneve",
            TunnelConfig::IpIp { .. } => "ipip",
        }
    }
}

/// The tunnel settings in a link's IFLA_LINKINFO, None for a link that is no overlay device.
pub fn tunnel_config(infos: &[LinkInfo]) -> Option<TunnelConfig> {
    // The crate decodes ipip, ip6tnl and sit data into the same attributes: the kind tells.
    let is_ipip = infos
        .iter()
        .any(|i| matches!(i, LinkInfo::Kind(InfoKind::IpIp)));
    infos.iter().find_map(|i| match i {
        LinkInfo::Data(InfoData::Vxlan(attrs)) => Some(vxlan(attrs)),
        LinkInfo::Data(InfoData::Geneve(attrs)) => Some(geneve(attrs)),
        LinkInfo::Data(InfoData::IpTunnel(attrs)) if is_ipip => Some(ipip(attrs)),
        _ => None,
    })
}

fn vxlan(attrs: &[InfoVxlan]) -> TunnelConfig {
    let (mut vni, mut port, mut local, mut underlay, mut learning) = (None, None, None, None, None);
    for a in attrs {
        match a {
            InfoVxlan::Id(v) => vni = Some(*v),
            InfoVxlan::Port(p) => port = Some(*p),
            InfoVxlan::Local(ip) => local = Some(*ip),
            // 0 is "no underlay bound"
            InfoVxlan::Link(i) if *i != 0 => underlay = Some(*i),
            InfoVxlan::Learning(l) => learning = Some(*l),
            _ => {}
        }
    }
    TunnelConfig::Vxlan {
        vni,
        port,
        local,
        underlay,
        learning,
    }
}

fn geneve(attrs: &[InfoGeneve]) -> TunnelConfig {
    let (mut vni, mut port, mut remote) = (None, None, None);
    for a in attrs {
        match a {
            InfoGeneve::Id(v) => vni = Some(*v),
            InfoGeneve::Port(p) => port = Some(*p),
            InfoGeneve::Remote(ip) if !ip.is_unspecified() => remote = Some(*ip),
            _ => {}
        }
    }
    TunnelConfig::Geneve { vni, port, remote }
}

fn ipip(attrs: &[InfoIpTunnel]) -> TunnelConfig {
    let v4 = |ip: &IpAddr| match ip {
        IpAddr::V4(v4) if !v4.is_unspecified() => Some(*v4),
        _ => None,
    };
    let (mut local, mut remote, mut underlay) = (None, None, None);
    for a in attrs {
        match a {
            InfoIpTunnel::Local(ip) => local = v4(ip),
            InfoIpTunnel::Remote(ip) => remote = v4(ip),
            InfoIpTunnel::Link(i) if *i != 0 => underlay = Some(*i),
            _ => {}
        }
    }
    TunnelConfig::IpIp {
        local,
        remote,
        underlay,
    }
}

#[cfg(test)]
mod tests;
