//! The Connect hop's verdict: an [`Attempt`] in, a hop out, no I/O.

use std::io;
use std::net::SocketAddrV4;
use std::time::Duration;

use netdiag_model::Reason;
use netdiag_model::report::ConnectDetail;
use netdiag_model::{Hop, HopDetail, HopKind, Protocol, Verdict};

/// What one connection attempt did, before judging it.
#[derive(Clone, Debug, PartialEq)]
pub enum Attempt {
    /// TCP: the handshake completed. UDP: a datagram came back (`rcode` when it was DNS).
    Answered {
        latency: Duration,
        rcode: Option<String>,
    },
    /// RST to the SYN, or ICMP port unreachable to the datagram (ECONNREFUSED).
    Refused,
    /// No answer within the timeout.
    TimedOut,
    /// EHOSTUNREACH: ICMP host unreachable, or an `unreachable` route.
    HostUnreachable,
    /// ENETUNREACH: no route to the target's network.
    NetworkUnreachable,
    /// Any other failure, in the operating system's words, with what was being done.
    Error(String),
}

/// Map a socket error to what it means for the path.
pub fn classify(e: &io::Error, doing: &str) -> Attempt {
    match e.kind() {
        io::ErrorKind::ConnectionRefused => Attempt::Refused,
        io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => Attempt::TimedOut,
        io::ErrorKind::HostUnreachable => Attempt::HostUnreachable,
        io::ErrorKind::NetworkUnreachable => Attempt::NetworkUnreachable,
        _ => Attempt::Error(format!("{doing} failed: {e}")),
    }
}

/// `2s`, `1500ms`: how a timeout reads in a detail line.
pub(crate) fn human(d: Duration) -> String {
    if d.subsec_millis() == 0 && d.as_secs() > 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}

/// A duration in milliseconds, rounded to 0.01 ms for the report.
pub(crate) fn millis(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

/// Judge one attempt: pure.
pub fn judge(
    node: &str,
    target: SocketAddrV4,
    protocol: Protocol,
    timeout: Duration,
    attempt: &Attempt,
    local: Option<SocketAddrV4>,
) -> Hop {
    let name = format!("{target}/{protocol}");
    let from = local.map(|l| format!(" from {l}")).unwrap_or_default();
    let is_dns = protocol == Protocol::UDP && target.port() == 53;
    let (verdict, reason, detail, error, latency): (Verdict, Option<Reason>, String, _, _) =
        match attempt {
            Attempt::Answered { latency, rcode } => {
                let what = match (protocol, rcode) {
                    (Protocol::TCP | Protocol::Unknown, _) => "connected to".to_string(),
                    (Protocol::UDP, Some(rc)) => format!("DNS answer ({rc}) from"),
                    (Protocol::UDP, None) => "reply from".to_string(),
                };
                let detail = format!("{what} {name} in {:.2} ms{from}", millis(*latency));
                (Verdict::Ok, None, detail, None, Some(millis(*latency)))
            }
            Attempt::Refused => (
                Verdict::Fail,
                Some(Reason::ConnectionRefused),
                format!(
                    "connection to {name} refused: nothing listens there, or a rule rejects it"
                ),
                Some("refused".to_string()),
                None,
            ),
            Attempt::TimedOut if protocol == Protocol::UDP && !is_dns => (
                Verdict::Warn,
                Some(Reason::NoUdpReply),
                format!(
                    "no reply from {name} within {}; UDP cannot tell a silent server from a lost datagram",
                    human(timeout)
                ),
                Some("no reply".to_string()),
                None,
            ),
            Attempt::TimedOut => (
                Verdict::Fail,
                Some(Reason::ConnectTimeout),
                format!(
                    "no answer from {name} within {}: packets are dropped on the way or the endpoint does not answer",
                    human(timeout)
                ),
                Some("timed out".to_string()),
                None,
            ),
            Attempt::HostUnreachable => (
                Verdict::Fail,
                Some(Reason::HostUnreachable),
                format!(
                    "{name} is unreachable: no host answers for that address (ICMP host unreachable or an unreachable route)"
                ),
                Some("no route to host".to_string()),
                None,
            ),
            Attempt::NetworkUnreachable => (
                Verdict::Fail,
                Some(Reason::NetworkUnreachable),
                format!("the pod has no route to {name}'s network"),
                Some("network unreachable".to_string()),
                None,
            ),
            Attempt::Error(msg) => (
                Verdict::Fail,
                Some(Reason::ConnectError),
                format!("could not probe {name}: {msg}"),
                Some(msg.clone()),
                None,
            ),
        };
    let mut hop = Hop::new(node, HopKind::Connect, name, verdict, detail).with_details(
        HopDetail::Connect(ConnectDetail {
            protocol: protocol.as_lower().to_string(),
            target,
            ok: verdict == Verdict::Ok,
            latency_ms: latency,
            error,
            local,
        }),
    );
    if let Some(r) = reason {
        hop = hop.with_reason(r);
    }
    hop
}

#[cfg(test)]
mod tests {
    use super::*;

    const VIP: SocketAddrV4 = SocketAddrV4::new(std::net::Ipv4Addr::new(10, 96, 45, 10), 80);
    const LOCAL: SocketAddrV4 = SocketAddrV4::new(std::net::Ipv4Addr::new(10, 244, 1, 5), 55886);
    const TWO_S: Duration = Duration::from_secs(2);

    fn detail(hop: &Hop) -> &ConnectDetail {
        match &hop.details {
            Some(HopDetail::Connect(d)) => d,
            other => panic!("not a connect detail: {other:?}"),
        }
    }

    #[test]
    fn a_completed_handshake_is_ok_with_latency_and_local_address() {
        let a = Attempt::Answered {
            latency: Duration::from_micros(420),
            rcode: None,
        };
        let hop = judge("node-a", VIP, Protocol::TCP, TWO_S, &a, Some(LOCAL));
        assert_eq!(hop.verdict, Verdict::Ok);
        assert_eq!(hop.kind, HopKind::Connect);
        assert_eq!(hop.name, "10.96.45.10:80/tcp");
        assert_eq!(hop.reason, None);
        let d = detail(&hop);
        assert!(d.ok);
        assert_eq!(d.latency_ms, Some(0.42));
        assert_eq!(
            d.local.map(|v| v.to_string()).as_deref(),
            Some("10.244.1.5:55886")
        );
        assert!(
            hop.detail.contains("from 10.244.1.5:55886"),
            "{}",
            hop.detail
        );
    }

    #[test]
    fn refused_fails_in_plain_words() {
        let hop = judge(
            "n",
            VIP,
            Protocol::TCP,
            TWO_S,
            &Attempt::Refused,
            Some(LOCAL),
        );
        assert_eq!(hop.verdict, Verdict::Fail);
        assert_eq!(hop.reason.clone(), Some(Reason::ConnectionRefused));
        assert!(
            hop.detail
                .starts_with("connection to 10.96.45.10:80/tcp refused"),
            "{}",
            hop.detail
        );
        assert!(!detail(&hop).ok);
    }

    #[test]
    fn a_tcp_timeout_fails_naming_the_budget() {
        let hop = judge("n", VIP, Protocol::TCP, TWO_S, &Attempt::TimedOut, None);
        assert_eq!(hop.verdict, Verdict::Fail);
        assert_eq!(hop.reason.clone(), Some(Reason::ConnectTimeout));
        assert!(
            hop.detail
                .starts_with("no answer from 10.96.45.10:80/tcp within 2s"),
            "{}",
            hop.detail
        );
    }

    #[test]
    fn a_silent_udp_server_is_only_a_warning() {
        let t = SocketAddrV4::new(*VIP.ip(), 9999);
        let hop = judge(
            "n",
            t,
            Protocol::UDP,
            Duration::from_millis(1500),
            &Attempt::TimedOut,
            None,
        );
        assert_eq!(hop.verdict, Verdict::Warn);
        assert_eq!(hop.reason.clone(), Some(Reason::NoUdpReply));
        assert!(hop.detail.contains("within 1500ms"), "{}", hop.detail);
    }

    #[test]
    fn a_silent_dns_server_is_a_failure() {
        let t = SocketAddrV4::new(std::net::Ipv4Addr::new(10, 96, 0, 10), 53);
        let hop = judge("n", t, Protocol::UDP, TWO_S, &Attempt::TimedOut, None);
        assert_eq!(hop.verdict, Verdict::Fail);
        assert_eq!(hop.reason.clone(), Some(Reason::ConnectTimeout));
    }

    #[test]
    fn a_dns_answer_of_any_rcode_proves_the_path() {
        let t = SocketAddrV4::new(std::net::Ipv4Addr::new(10, 96, 0, 10), 53);
        let a = Attempt::Answered {
            latency: Duration::from_millis(3),
            rcode: Some("NXDOMAIN".into()),
        };
        let hop = judge("n", t, Protocol::UDP, TWO_S, &a, None);
        assert_eq!(hop.verdict, Verdict::Ok);
        assert!(
            hop.detail.contains("DNS answer (NXDOMAIN)"),
            "{}",
            hop.detail
        );
    }

    #[test]
    fn unreachable_errors_have_their_own_reasons() {
        let host = judge(
            "n",
            VIP,
            Protocol::TCP,
            TWO_S,
            &Attempt::HostUnreachable,
            None,
        );
        assert_eq!(host.reason.clone(), Some(Reason::HostUnreachable));
        let net = judge(
            "n",
            VIP,
            Protocol::TCP,
            TWO_S,
            &Attempt::NetworkUnreachable,
            None,
        );
        assert_eq!(net.reason.clone(), Some(Reason::NetworkUnreachable));
        assert_eq!(net.verdict, Verdict::Fail);
    }

    #[test]
    fn socket_errors_map_to_attempts() {
        let refused = io::Error::from(io::ErrorKind::ConnectionRefused);
        assert_eq!(classify(&refused, "connect"), Attempt::Refused);
        let host = io::Error::from_raw_os_error(nix::libc::EHOSTUNREACH);
        assert_eq!(classify(&host, "connect"), Attempt::HostUnreachable);
        let net = io::Error::from_raw_os_error(nix::libc::ENETUNREACH);
        assert_eq!(classify(&net, "connect"), Attempt::NetworkUnreachable);
        let again = io::Error::from_raw_os_error(nix::libc::EAGAIN);
        assert_eq!(classify(&again, "receive"), Attempt::TimedOut);
        let perm = io::Error::from_raw_os_error(nix::libc::EACCES);
        assert!(
            matches!(classify(&perm, "connect"), Attempt::Error(m) if m.starts_with("connect failed"))
        );
    }
}
