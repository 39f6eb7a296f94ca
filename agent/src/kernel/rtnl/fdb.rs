//! Forwarding database entries of VXLAN devices, like `bridge fdb show dev flannel.1`:
//! `6e:13:e8:42:bb:03 dst 172.18.0.3 self permanent`. RTM_GETNEIGH with family AF_BRIDGE.

use std::net::Ipv4Addr;

use netlink_packet_route::neighbour::{NeighbourAddress, NeighbourAttribute, NeighbourMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use super::Rtnl;
use super::link::format_mac;
use super::neighbour::NeighbourState;
use crate::kernel::netlink::NetlinkError;

/// One forwarding entry: frames for `mac` leave device `ifindex` towards `dst`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FdbEntry {
    pub ifindex: u32,
    pub mac: String,
    /// NDA_DST: the remote VTEP (VXLAN); None for a plain bridge port's entry.
    pub dst: Option<Ipv4Addr>,
    pub state: NeighbourState,
}

impl FdbEntry {
    /// The all-zeros entry a VXLAN device floods unknown destinations to (`bridge fdb append
    /// 00:00:00:00:00:00 dev vxlan0 dst ...`): a learning overlay's way to every VTEP.
    pub fn is_default(&self) -> bool {
        self.mac == "00:00:00:00:00:00"
    }
}

impl Rtnl {
    /// Every FDB entry of the namespace, like `bridge fdb show`.
    pub fn fdb(&mut self) -> Result<Vec<FdbEntry>, NetlinkError> {
        let mut req = NeighbourMessage::default();
        req.header.family = AddressFamily::Bridge;
        let replies = self.request(
            "dump forwarding entries (RTM_GETNEIGH, AF_BRIDGE)",
            RouteNetlinkMessage::GetNeighbour(req),
            true,
        )?;
        Ok(replies
            .iter()
            .filter_map(|m| match m {
                RouteNetlinkMessage::NewNeighbour(n) => fdb_entry(n),
                _ => None,
            })
            .collect())
    }
}

/// Pure: one RTM_NEWNEIGH of the bridge family, None when it carries no MAC.
pub(super) fn fdb_entry(n: &NeighbourMessage) -> Option<FdbEntry> {
    let mut mac = None;
    let mut dst = None;
    for a in &n.attributes {
        match a {
            NeighbourAttribute::LinkLayerAddress(b) => mac = Some(format_mac(b)),
            // In the bridge family the crate cannot know NDA_DST's family: four bytes are IPv4.
            NeighbourAttribute::Destination(NeighbourAddress::Other(b)) => {
                if let Ok(octets) = <[u8; 4]>::try_from(b.as_slice()) {
                    dst = Some(Ipv4Addr::from(octets));
                }
            }
            NeighbourAttribute::Destination(NeighbourAddress::Inet(ip)) => dst = Some(*ip),
            _ => {}
        }
    }
    Some(FdbEntry {
        ifindex: n.header.ifindex,
        mac: mac?,
        dst,
        state: NeighbourState::from_kernel(n.header.state),
    })
}
