//! Links, like `ip -d link show`: name, kind, MAC, MTU, states, veth peer, bridge master.

use std::fmt;

use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::link::{
    InfoBridgePort, InfoPortData, LinkAttribute, LinkFlags, LinkInfo, LinkMessage, State,
};

use super::Rtnl;
use super::tunnel::{TunnelConfig, tunnel_config};
use crate::kernel::netlink::NetlinkError;

/// One network interface, like a line of `ip -d link show`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Link {
    pub index: u32,
    pub name: String,
    /// IFLA_LINKINFO kind; None for physical devices and loopback.
    pub kind: Option<LinkKind>,
    pub mac: Option<String>,
    pub mtu: u32,
    pub oper_state: OperState,
    /// Administratively up (IFF_UP, `ip link set X up`).
    pub admin_up: bool,
    /// IFLA_LINK: for a veth, the peer's ifindex (the N of `eth0@ifN`).
    pub link: Option<u32>,
    /// IFLA_LINK_NETNSID: the id, in this namespace, of the namespace holding the peer.
    /// Absent when the peer lives in the same namespace.
    pub link_netnsid: Option<i32>,
    /// IFLA_MASTER: the bridge (or bond, vrf) this link is a port of.
    pub master: Option<u32>,
    /// For a bridge port: whether hairpin mode is on (IFLA_LINKINFO -> IFLA_INFO_SLAVE_DATA ->
    /// IFLA_BRPORT_MODE, `hairpin on|off` in `ip -d link`). None when the link is no bridge
    /// port, or the kernel did not say.
    pub hairpin: Option<bool>,
    /// IFLA_PROMISCUITY: how many users put the link in promiscuous mode (`ip link set X
    /// promisc on`, a running tcpdump). A bridge above 0 passes every frame up to the node,
    /// which is how kubelet's `--hairpin-mode promiscuous-bridge` works.
    pub promiscuity: u32,
    /// For an overlay device (vxlan, geneve, ipip): its encapsulation settings.
    pub tunnel: Option<TunnelConfig>,
}

impl Link {
    /// A link that is up with MTU 1500 and nothing else set (no MAC, peer, master or tunnel):
    /// the start of a link built by hand, for synthetic nodes and tests.
    pub fn new(index: u32, name: &str, kind: Option<LinkKind>) -> Link {
        Link {
            index,
            name: name.into(),
            kind,
            mac: None,
            mtu: 1500,
            oper_state: OperState::Up,
            admin_up: true,
            link: None,
            link_netnsid: None,
            master: None,
            hairpin: None,
            promiscuity: 0,
            tunnel: None,
        }
    }

    /// Whether traffic can pass: admin up and not reported down by the kernel.
    /// `unknown` counts as up: loopback, dummy and tun devices never report a carrier state.
    pub fn is_usable(&self) -> bool {
        self.admin_up
            && !matches!(
                self.oper_state,
                OperState::Down | OperState::LowerLayerDown | OperState::NotPresent
            )
    }
}

/// A link's kind (IFLA_INFO_KIND), the word `ip -d link` prints after the flags. Kinds the agent
/// does not judge by are kept by name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkKind {
    Veth,
    Bridge,
    Vxlan,
    Dummy,
    Ifb,
    IpIp,
    Geneve,
    Other(String),
}

impl LinkKind {
    /// From the kernel's kind string (`veth`, `bridge`, `vxlan`...).
    pub fn from_kernel(kind: &str) -> LinkKind {
        match kind {
            "veth" => LinkKind::Veth,
            "bridge" => LinkKind::Bridge,
            "vxlan" => LinkKind::Vxlan,
            "dummy" => LinkKind::Dummy,
            "ifb" => LinkKind::Ifb,
            "ipip" => LinkKind::IpIp,
            "geneve" => LinkKind::Geneve,
            other => LinkKind::Other(other.to_string()),
        }
    }

    /// The kernel's kind string.
    pub fn as_str(&self) -> &str {
        match self {
            LinkKind::Veth => "veth",
            LinkKind::Bridge => "bridge",
            LinkKind::Vxlan => "vxlan",
            LinkKind::Dummy => "dummy",
            LinkKind::Ifb => "ifb",
            LinkKind::IpIp => "ipip",
            LinkKind::Geneve => "geneve",
            LinkKind::Other(k) => k,
        }
    }
}

impl fmt::Display for LinkKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A link's operational state (IFLA_OPERSTATE, RFC 2863), printed as `ip` prints it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OperState {
    Unknown,
    NotPresent,
    Down,
    LowerLayerDown,
    Testing,
    Dormant,
    Up,
    /// A value this agent does not know, kept as the kernel sent it.
    Other(u8),
}

impl OperState {
    fn from_kernel(s: State) -> OperState {
        match s {
            State::Unknown => OperState::Unknown,
            State::NotPresent => OperState::NotPresent,
            State::Down => OperState::Down,
            State::LowerLayerDown => OperState::LowerLayerDown,
            State::Testing => OperState::Testing,
            State::Dormant => OperState::Dormant,
            State::Up => OperState::Up,
            other => OperState::Other(u8::from(other)),
        }
    }
}

impl fmt::Display for OperState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OperState::Unknown => f.write_str("unknown"),
            OperState::NotPresent => f.write_str("notpresent"),
            OperState::Down => f.write_str("down"),
            OperState::LowerLayerDown => f.write_str("lowerlayerdown"),
            OperState::Testing => f.write_str("testing"),
            OperState::Dormant => f.write_str("dormant"),
            OperState::Up => f.write_str("up"),
            OperState::Other(n) => write!(f, "state{n}"),
        }
    }
}

impl Rtnl {
    /// All links, like `ip -d link show`.
    pub fn links(&mut self) -> Result<Vec<Link>, NetlinkError> {
        let replies = self.request(
            "dump links (RTM_GETLINK)",
            RouteNetlinkMessage::GetLink(LinkMessage::default()),
            true,
        )?;
        Ok(replies
            .into_iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewLink(l) => Some(link_from(&l)),
                _ => None,
            })
            .collect())
    }
}

pub(super) fn link_from(l: &LinkMessage) -> Link {
    let mut link = Link {
        index: l.header.index,
        name: String::new(),
        kind: None,
        mac: None,
        mtu: 0,
        oper_state: OperState::Unknown,
        admin_up: l.header.flags.contains(LinkFlags::Up),
        link: None,
        link_netnsid: None,
        master: None,
        hairpin: None,
        promiscuity: 0,
        tunnel: None,
    };
    for a in &l.attributes {
        match a {
            LinkAttribute::IfName(n) => link.name = n.clone(),
            LinkAttribute::Address(b) => link.mac = Some(format_mac(b)),
            LinkAttribute::Mtu(m) => link.mtu = *m,
            LinkAttribute::OperState(s) => link.oper_state = OperState::from_kernel(*s),
            LinkAttribute::Link(i) => link.link = Some(*i),
            LinkAttribute::LinkNetNsId(i) => link.link_netnsid = Some(*i),
            LinkAttribute::Controller(i) => link.master = Some(*i),
            LinkAttribute::Promiscuity(p) => link.promiscuity = *p,
            LinkAttribute::LinkInfo(infos) => {
                link.kind = infos.iter().find_map(|i| match i {
                    // The crate's Display prints the kernel's own kind strings.
                    LinkInfo::Kind(k) => Some(LinkKind::from_kernel(&k.to_string())),
                    _ => None,
                });
                link.hairpin = bridge_port_hairpin(infos);
                link.tunnel = tunnel_config(infos);
            }
            _ => {}
        }
    }
    link
}

/// The hairpin flag of a bridge port, from the slave data the kernel adds to every dump of a
/// link that has a bridge master (the AF_UNSPEC dump; no AF_BRIDGE dump needed).
fn bridge_port_hairpin(infos: &[LinkInfo]) -> Option<bool> {
    infos.iter().find_map(|i| match i {
        LinkInfo::PortData(InfoPortData::BridgePort(attrs)) => attrs.iter().find_map(|a| match a {
            InfoBridgePort::HairpinMode(on) => Some(*on),
            _ => None,
        }),
        _ => None,
    })
}

/// `aa:bb:cc:dd:ee:ff`, the way `ip link` prints a hardware address.
pub fn format_mac(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(":")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_print_like_ip_link() {
        assert_eq!(
            format_mac(&[0x6e, 0x13, 0xe8, 0x42, 0xbb, 0x3]),
            "6e:13:e8:42:bb:03"
        );
        assert_eq!(format_mac(&[]), "");
    }

    #[test]
    fn kinds_and_states_print_as_ip_prints_them() {
        for k in [
            "veth",
            "bridge",
            "vxlan",
            "dummy",
            "ifb",
            "ipip",
            "geneve",
            "wireguard",
        ] {
            assert_eq!(LinkKind::from_kernel(k).to_string(), k);
        }
        assert_eq!(OperState::LowerLayerDown.to_string(), "lowerlayerdown");
        assert_eq!(
            OperState::from_kernel(State::Other(9)).to_string(),
            "state9"
        );
    }

    #[test]
    fn a_link_reported_lowerlayerdown_is_not_usable() {
        let mut l = Link {
            index: 7,
            name: "veth1".into(),
            kind: Some(LinkKind::Veth),
            mac: None,
            mtu: 1500,
            oper_state: OperState::Up,
            admin_up: true,
            link: Some(2),
            link_netnsid: Some(0),
            master: None,
            hairpin: None,
            promiscuity: 0,
            tunnel: None,
        };
        assert!(l.is_usable());
        l.oper_state = OperState::Unknown;
        assert!(l.is_usable(), "loopback-like devices report unknown");
        l.oper_state = OperState::LowerLayerDown;
        assert!(!l.is_usable());
        l.oper_state = OperState::Up;
        l.admin_up = false;
        assert!(!l.is_usable());
    }

    #[test]
    fn a_bridge_ports_hairpin_flag_and_promiscuity_are_read_from_its_slave_data() {
        use netlink_packet_route::link::{InfoKind, InfoPortKind};
        // The shape `ip -d link show vethX` decodes: kind veth, slave kind bridge, slave data.
        let mut msg = LinkMessage::default();
        msg.header.index = 5;
        msg.attributes = vec![
            LinkAttribute::IfName("vethX".into()),
            LinkAttribute::Promiscuity(1),
            LinkAttribute::Controller(3),
            LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::Veth),
                LinkInfo::PortKind(InfoPortKind::Bridge),
                LinkInfo::PortData(InfoPortData::BridgePort(vec![
                    InfoBridgePort::Priority(32),
                    InfoBridgePort::HairpinMode(true),
                ])),
            ]),
        ];
        let l = link_from(&msg);
        assert_eq!(
            (l.kind, l.master, l.hairpin, l.promiscuity),
            (Some(LinkKind::Veth), Some(3), Some(true), 1)
        );
        let no_port = LinkMessage::default();
        assert_eq!(link_from(&no_port).hairpin, None, "no bridge port, no flag");
    }
}
