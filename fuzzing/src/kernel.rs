//! Kernel answers the agent decodes itself or through netlink-packet-netfilter: IPVS over
//! generic netlink and ctnetlink entries.

use netdiag_agent::kernel::conntrack::{CtMessage, entry_attrs};
use netdiag_agent::kernel::ipvs::decode::{decode_dest_dump, decode_service_dump};
use netdiag_agent::kernel::ipvs::uapi::{AF_INET, AF_INET6};
use netdiag_agent::kernel::netlink::messages;
use netdiag_agent::path::conntrack::entry;
use netlink_packet_core::{NetlinkMessage, NetlinkPayload};

/// An IPVS dump as it comes off the socket: decoded as the service dump and as the
/// destination dump of an IPv4 and of an IPv6 service.
pub fn ipvs(data: &[u8]) {
    let _ = decode_service_dump(data);
    let _ = decode_dest_dump(data, AF_INET);
    let _ = decode_dest_dump(data, AF_INET6);
}

/// One datagram a ctnetlink socket receives (an entry, a dump, an event, or anything a local
/// process sends to its port): split, decoded as the agent's conntrack socket decodes it, and
/// each entry decoded as the Conntrack hop reads it.
pub fn conntrack(data: &[u8]) {
    for (_, bytes) in messages(data).map_while(Result::ok) {
        let Ok(parsed) = NetlinkMessage::<CtMessage>::deserialize(bytes) else {
            continue;
        };
        if let NetlinkPayload::InnerMessage(m) = parsed.payload
            && let Some(attrs) = entry_attrs(m)
        {
            let _ = entry::decode(&attrs);
        }
    }
}
