//! One conntrack entry, decoded from ctnetlink attributes: pure, no sockets.
//!
//! What `conntrack -G` prints for one flow: the original and reply tuples, the TCP state and
//! the status flags.

use std::net::{IpAddr, Ipv4Addr, SocketAddrV4};

use netdiag_model::report::ConntrackTuple;
use netlink_packet_netfilter::conntrack::{
    ConntrackAttribute, IPTuple, ProtoInfo, ProtoInfoTCP, ProtoTuple, Tuple,
};

/// One direction of a flow, as conntrack keys it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CtTuple {
    /// IP protocol number (6 TCP, 17 UDP).
    pub proto: u8,
    pub src: SocketAddrV4,
    pub dst: SocketAddrV4,
}

impl CtTuple {
    /// The tuple as the report shows it.
    pub fn to_report(self) -> ConntrackTuple {
        ConntrackTuple {
            protocol: proto_name(self.proto),
            src: *self.src.ip(),
            dst: *self.dst.ip(),
            sport: self.src.port(),
            dport: self.dst.port(),
        }
    }
}

impl std::fmt::Display for CtTuple {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} -> {}/{}", self.src, self.dst, proto_name(self.proto))
    }
}

/// `tcp`, `udp`, or the number.
pub fn proto_name(proto: u8) -> String {
    match proto {
        6 => "tcp".into(),
        17 => "udp".into(),
        1 => "icmp".into(),
        132 => "sctp".into(),
        other => other.to_string(),
    }
}

/// A flow as conntrack holds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CtEntry {
    pub original: CtTuple,
    pub reply: CtTuple,
    /// Raw `IPS_*` status bits.
    pub status: u32,
    /// `TCP_CONNTRACK_*` state, for TCP.
    pub tcp_state: Option<u8>,
    /// Seconds left before the entry expires.
    pub timeout: Option<u32>,
}

/// Status bits, named as `conntrack -L` and the kernel's `IPS_*` constants name them.
const STATUS_NAMES: [(u32, &str); 15] = [
    (1, "EXPECTED"),
    (1 << 1, "SEEN_REPLY"),
    (1 << 2, "ASSURED"),
    (1 << 3, "CONFIRMED"),
    (1 << 4, "SRC_NAT"),
    (1 << 5, "DST_NAT"),
    (1 << 6, "SEQ_ADJUST"),
    (1 << 7, "SRC_NAT_DONE"),
    (1 << 8, "DST_NAT_DONE"),
    (1 << 9, "DYING"),
    (1 << 10, "FIXED_TIMEOUT"),
    (1 << 11, "TEMPLATE"),
    (1 << 12, "UNTRACKED"),
    (1 << 13, "HELPER"),
    (1 << 14, "OFFLOAD"),
];

pub const IPS_SEEN_REPLY: u32 = 1 << 1;

impl CtEntry {
    /// The status flags by name, lowest bit first.
    pub fn flags(&self) -> Vec<String> {
        STATUS_NAMES
            .iter()
            .filter(|(bit, _)| self.status & bit != 0)
            .map(|(_, name)| (*name).to_string())
            .collect()
    }

    pub fn seen_reply(&self) -> bool {
        self.status & IPS_SEEN_REPLY != 0
    }

    /// The TCP state by name, as `conntrack -L` prints it.
    pub fn state(&self) -> Option<String> {
        self.tcp_state.map(tcp_state_name)
    }

    /// Where DNAT sent the flow: the reply comes back from the endpoint, so the reply tuple's
    /// source differs from the original destination exactly when the destination was rewritten.
    pub fn dnat_target(&self) -> Option<SocketAddrV4> {
        (self.reply.src != self.original.dst).then_some(self.reply.src)
    }

    /// Source NAT (masquerade): the endpoint replies to another address than the client's.
    pub fn snat_source(&self) -> Option<SocketAddrV4> {
        (self.reply.dst != self.original.src).then_some(self.reply.dst)
    }
}

/// `enum tcp_conntrack` from `nf_conntrack_tcp.h`.
pub fn tcp_state_name(state: u8) -> String {
    match state {
        0 => "NONE",
        1 => "SYN_SENT",
        2 => "SYN_RECV",
        3 => "ESTABLISHED",
        4 => "FIN_WAIT",
        5 => "CLOSE_WAIT",
        6 => "LAST_ACK",
        7 => "TIME_WAIT",
        8 => "CLOSE",
        9 => "SYN_SENT2",
        other => return format!("STATE{other}"),
    }
    .to_string()
}

/// Why attributes are not a usable IPv4 entry.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("the conntrack entry has no {0} tuple")]
    MissingTuple(&'static str),
    #[error("the {direction} tuple lacks its {field}")]
    Incomplete {
        direction: &'static str,
        field: &'static str,
    },
    #[error("the {0} tuple is not IPv4")]
    NotIpv4(&'static str),
}

/// Decode a ctnetlink entry (the attributes of an `IPCTNL_MSG_CT_NEW`/`GET` message).
pub fn decode(attrs: &[ConntrackAttribute]) -> Result<CtEntry, DecodeError> {
    let mut original = None;
    let mut reply = None;
    let mut status = 0;
    let mut tcp_state = None;
    let mut timeout = None;
    for attr in attrs {
        match attr {
            ConntrackAttribute::CtaTupleOrig(t) => original = Some(tuple(t, "original")?),
            ConntrackAttribute::CtaTupleReply(t) => reply = Some(tuple(t, "reply")?),
            ConntrackAttribute::CtaStatus(s) => status = s.bits(),
            ConntrackAttribute::CtaTimeout(t) => timeout = Some(*t),
            ConntrackAttribute::CtaProtoInfo(infos) => {
                for info in infos {
                    if let ProtoInfo::TCP(tcp) = info {
                        for t in tcp {
                            if let ProtoInfoTCP::State(s) = t {
                                tcp_state = Some(*s);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(CtEntry {
        original: original.ok_or(DecodeError::MissingTuple("original"))?,
        reply: reply.ok_or(DecodeError::MissingTuple("reply"))?,
        status,
        tcp_state,
        timeout,
    })
}

fn tuple(parts: &[Tuple], direction: &'static str) -> Result<CtTuple, DecodeError> {
    let (mut src, mut dst, mut proto, mut sport, mut dport) = (None, None, None, None, None);
    for part in parts {
        match part {
            Tuple::Ip(ips) => {
                for ip in ips {
                    match ip {
                        IPTuple::SourceAddress(a) => src = Some(v4(*a, direction)?),
                        IPTuple::DestinationAddress(a) => dst = Some(v4(*a, direction)?),
                        _ => {}
                    }
                }
            }
            Tuple::Proto(ps) => {
                for p in ps {
                    match p {
                        ProtoTuple::Protocol(n) => proto = Some(u8::from(*n)),
                        ProtoTuple::SourcePort(p) => sport = Some(*p),
                        ProtoTuple::DestinationPort(p) => dport = Some(*p),
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    let missing = |field| DecodeError::Incomplete { direction, field };
    Ok(CtTuple {
        proto: proto.ok_or(missing("protocol"))?,
        // Port-less protocols (ICMP) have no ports: 0 keeps them comparable.
        src: SocketAddrV4::new(src.ok_or(missing("source address"))?, sport.unwrap_or(0)),
        dst: SocketAddrV4::new(
            dst.ok_or(missing("destination address"))?,
            dport.unwrap_or(0),
        ),
    })
}

fn v4(a: IpAddr, direction: &'static str) -> Result<Ipv4Addr, DecodeError> {
    match a {
        IpAddr::V4(v) => Ok(v),
        IpAddr::V6(_) => Err(DecodeError::NotIpv4(direction)),
    }
}

/// The attributes of a tuple, for a `IPCTNL_MSG_CT_GET` request keyed by it.
pub fn tuple_attrs(t: &CtTuple) -> Vec<Tuple> {
    vec![
        Tuple::Ip(vec![
            IPTuple::SourceAddress(IpAddr::V4(*t.src.ip())),
            IPTuple::DestinationAddress(IpAddr::V4(*t.dst.ip())),
        ]),
        Tuple::Proto(vec![
            ProtoTuple::Protocol(t.proto.into()),
            ProtoTuple::SourcePort(t.src.port()),
            ProtoTuple::DestinationPort(t.dst.port()),
        ]),
    ]
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use netlink_packet_netfilter::conntrack::Status;

    pub fn sa(a: [u8; 4], port: u16) -> SocketAddrV4 {
        SocketAddrV4::new(Ipv4Addr::from(a), port)
    }

    /// The first line of dataplane.md section 6, as ctnetlink delivers it:
    /// `tcp 6 431999 ESTABLISHED src=10.244.1.5 dst=10.96.45.10 sport=55886 dport=80
    ///  src=10.244.2.7 dst=10.244.1.5 sport=8080 dport=55886 [ASSURED]`
    pub fn established_attrs() -> Vec<ConntrackAttribute> {
        let orig = CtTuple {
            proto: 6,
            src: sa([10, 244, 1, 5], 55886),
            dst: sa([10, 96, 45, 10], 80),
        };
        let reply = CtTuple {
            proto: 6,
            src: sa([10, 244, 2, 7], 8080),
            dst: sa([10, 244, 1, 5], 55886),
        };
        vec![
            ConntrackAttribute::CtaTupleOrig(tuple_attrs(&orig)),
            ConntrackAttribute::CtaTupleReply(tuple_attrs(&reply)),
            ConntrackAttribute::CtaStatus(Status::from_bits_retain(0x1ae)),
            ConntrackAttribute::CtaTimeout(431999),
            ConntrackAttribute::CtaProtoInfo(vec![ProtoInfo::TCP(vec![ProtoInfoTCP::State(3)])]),
        ]
    }

    #[test]
    fn an_established_dnatted_flow_decodes_like_conntrack_prints_it() {
        let e = decode(&established_attrs()).unwrap();
        assert_eq!(
            e.original.to_string(),
            "10.244.1.5:55886 -> 10.96.45.10:80/tcp"
        );
        assert_eq!(e.reply.src, sa([10, 244, 2, 7], 8080));
        assert_eq!(e.state().as_deref(), Some("ESTABLISHED"));
        assert_eq!(e.timeout, Some(431999));
        // 0x1ae: SEEN_REPLY ASSURED CONFIRMED DST_NAT SRC_NAT_DONE DST_NAT_DONE
        assert_eq!(
            e.flags(),
            [
                "SEEN_REPLY",
                "ASSURED",
                "CONFIRMED",
                "DST_NAT",
                "SRC_NAT_DONE",
                "DST_NAT_DONE"
            ]
        );
        assert!(e.seen_reply());
        assert_eq!(e.dnat_target(), Some(sa([10, 244, 2, 7], 8080)));
        assert_eq!(e.snat_source(), None);
    }

    #[test]
    fn a_flow_without_nat_has_no_dnat_target() {
        let t = CtTuple {
            proto: 17,
            src: sa([10, 244, 1, 5], 5000),
            dst: sa([10, 244, 2, 7], 53),
        };
        let r = CtTuple {
            proto: 17,
            src: t.dst,
            dst: t.src,
        };
        let e = decode(&[
            ConntrackAttribute::CtaTupleOrig(tuple_attrs(&t)),
            ConntrackAttribute::CtaTupleReply(tuple_attrs(&r)),
        ])
        .unwrap();
        assert_eq!(e.dnat_target(), None);
        assert_eq!(e.state(), None);
        assert!(e.flags().is_empty());
        assert_eq!(e.original.to_report().protocol, "udp");
    }

    #[test]
    fn a_missing_reply_tuple_is_an_error() {
        let attrs = established_attrs()
            .into_iter()
            .filter(|a| !matches!(a, ConntrackAttribute::CtaTupleReply(_)))
            .collect::<Vec<_>>();
        assert_eq!(decode(&attrs), Err(DecodeError::MissingTuple("reply")));
    }

    #[test]
    fn a_tuple_without_protocol_is_incomplete() {
        let attrs = vec![ConntrackAttribute::CtaTupleOrig(vec![Tuple::Ip(vec![
            IPTuple::SourceAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            IPTuple::DestinationAddress(IpAddr::V4(Ipv4Addr::LOCALHOST)),
        ])])];
        assert_eq!(
            decode(&attrs),
            Err(DecodeError::Incomplete {
                direction: "original",
                field: "protocol"
            })
        );
    }

    #[test]
    fn unknown_states_keep_their_number() {
        assert_eq!(tcp_state_name(7), "TIME_WAIT");
        assert_eq!(tcp_state_name(42), "STATE42");
    }
}
