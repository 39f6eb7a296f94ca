//! The one reader of `IP:PORT[/tcp|udp]`, the address form the plugin's targets, the agent's
//! flags and the lab's plans all take (pure). Callers word the errors for their users: the
//! plugin says which argument and what to type instead, the agent names the flag.

use std::net::{Ipv4Addr, SocketAddrV4};

use crate::protocol::Protocol;

/// What is wrong with an `IP:PORT[/proto]`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddrError {
    #[error("IPv6 addresses are not supported yet")]
    Ipv6,
    #[error("{protocol:?} is not a protocol: use tcp or udp")]
    BadProtocol { protocol: String },
    #[error("no port: write IP:PORT")]
    NoPort,
    /// `host` is not a dotted quad; `numeric` when it looks like one gone wrong (`10.0.0.300`)
    /// rather than a name (`echo`).
    #[error("{host:?} is not an IPv4 address")]
    BadIp { host: String, numeric: bool },
    #[error("port {port:?} is not a number from 1 to 65535")]
    BadPort { port: String },
}

/// An IPv4 socket address and its protocol (TCP when none is written).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AddrPort {
    pub addr: SocketAddrV4,
    pub protocol: Protocol,
}

/// Split a trailing `/tcp` or `/udp` off `s` (TCP when there is none).
pub fn split_protocol(s: &str) -> Result<(&str, Protocol), AddrError> {
    match s.split_once('/') {
        Some((rest, proto)) => {
            proto
                .parse::<Protocol>()
                .map(|p| (rest, p))
                .map_err(|_| AddrError::BadProtocol {
                    protocol: proto.into(),
                })
        }
        None => Ok((s, Protocol::TCP)),
    }
}

/// A port from 1 to 65535.
pub fn parse_port(port: &str) -> Result<u16, AddrError> {
    port.parse::<u16>()
        .ok()
        .filter(|p| *p != 0)
        .ok_or_else(|| AddrError::BadPort { port: port.into() })
}

/// `IP:PORT[/tcp|udp]`.
pub fn parse_addr_port(s: &str) -> Result<AddrPort, AddrError> {
    let (hostport, protocol) = split_protocol(s)?;
    Ok(AddrPort {
        addr: parse_socket(hostport)?,
        protocol,
    })
}

/// `IP:PORT`, no protocol.
pub fn parse_socket(hostport: &str) -> Result<SocketAddrV4, AddrError> {
    if hostport.starts_with('[') || hostport.matches(':').count() > 1 {
        return Err(AddrError::Ipv6);
    }
    let Some((host, port)) = hostport.split_once(':') else {
        return Err(match hostport.parse::<Ipv4Addr>() {
            Ok(_) => AddrError::NoPort,
            Err(_) => bad_ip(hostport),
        });
    };
    let ip = host.parse::<Ipv4Addr>().map_err(|_| bad_ip(host))?;
    Ok(SocketAddrV4::new(ip, parse_port(port)?))
}

/// A DNS server: `IP:PORT`, or a bare `IP` meaning port 53.
pub fn parse_dns_server(s: &str) -> Option<SocketAddrV4> {
    let s = s.trim();
    s.parse::<SocketAddrV4>().ok().or_else(|| {
        s.parse::<Ipv4Addr>()
            .ok()
            .map(|ip| SocketAddrV4::new(ip, 53))
    })
}

fn bad_ip(host: &str) -> AddrError {
    AddrError::BadIp {
        host: host.into(),
        numeric: host.bytes().all(|b| b.is_ascii_digit() || b == b'.'),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_read_with_and_without_a_protocol() {
        let a = parse_addr_port("10.96.0.10:53/udp").expect("valid");
        assert_eq!(a.addr, SocketAddrV4::new(Ipv4Addr::new(10, 96, 0, 10), 53));
        assert_eq!(a.protocol, Protocol::UDP);
        let b = parse_addr_port("10.96.45.10:80").expect("valid");
        assert_eq!(b.protocol, Protocol::TCP);
        assert_eq!(
            parse_addr_port("10.0.0.1:80/TCP").map(|a| a.protocol),
            Ok(Protocol::TCP)
        );
    }

    #[test]
    fn each_mistake_has_its_own_error() {
        let cases = [
            ("[fd00::1]:80", AddrError::Ipv6),
            ("fd00::1", AddrError::Ipv6),
            ("10.0.0.1", AddrError::NoPort),
            (
                "10.0.0.1:80/sctp",
                AddrError::BadProtocol {
                    protocol: "sctp".into(),
                },
            ),
            ("10.0.0.1:0", AddrError::BadPort { port: "0".into() }),
            (
                "10.0.0.1:65536",
                AddrError::BadPort {
                    port: "65536".into(),
                },
            ),
            ("10.0.0.1:", AddrError::BadPort { port: "".into() }),
            (
                "10.0.0.300:80",
                AddrError::BadIp {
                    host: "10.0.0.300".into(),
                    numeric: true,
                },
            ),
            (
                "echo:80",
                AddrError::BadIp {
                    host: "echo".into(),
                    numeric: false,
                },
            ),
            (
                "echo",
                AddrError::BadIp {
                    host: "echo".into(),
                    numeric: false,
                },
            ),
        ];
        for (input, want) in cases {
            assert_eq!(parse_addr_port(input), Err(want), "{input}");
        }
    }
}
