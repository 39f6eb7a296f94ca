//! The Dns hop's verdicts: what each server answered in, one [`DnsResult`] per server and one
//! hop out. Pure: no sockets.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use netdiag_model::Reason;
use netdiag_model::{DnsResult, Hop, HopKind, Verdict};

use super::DnsTarget;
use crate::path::connect::{human, millis};

/// What one server did with the query.
#[derive(Clone, Debug, PartialEq)]
pub enum Reply {
    /// A DNS answer came back.
    Answer {
        /// NOERROR, NXDOMAIN, SERVFAIL...
        rcode: String,
        /// The A records.
        ips: Vec<Ipv4Addr>,
        /// Every answer as text (CNAMEs, then IPs).
        texts: Vec<String>,
        latency: Duration,
    },
    /// Nothing came back within the timeout.
    Timeout,
    /// The kernel reported the server unreachable (ICMP port/host unreachable, no route), in words.
    Unreachable(String),
}

/// One server asked, and its reply.
#[derive(Clone, Debug, PartialEq)]
pub struct Asked {
    pub target: DnsTarget,
    pub reply: Reply,
}

/// `kube-dns at 10.96.0.10` (the port only when it is not 53).
pub fn who(t: &DnsTarget) -> String {
    let addr = match t.addr {
        SocketAddr::V4(a) if a.port() == 53 => a.ip().to_string(),
        SocketAddr::V6(a) if a.port() == 53 => a.ip().to_string(),
        other => other.to_string(),
    };
    format!("{} at {addr}", t.role)
}

/// One server's result: its verdict, the stable reason of a failure, and the words for it.
fn judge_one(
    a: &Asked,
    name: &str,
    expect: Option<Ipv4Addr>,
    timeout: Duration,
) -> (DnsResult, Option<Reason>) {
    let server = who(&a.target);
    let (rcode, answers, latency, verdict, reason, message): (
        String,
        Vec<String>,
        Option<f64>,
        Verdict,
        Option<Reason>,
        String,
    ) = match &a.reply {
        Reply::Answer {
            rcode,
            ips,
            texts,
            latency,
        } => {
            let (verdict, reason, message) = match rcode.as_str() {
                "NOERROR" => match (expect, ips.first()) {
                    (_, None) => (
                        Verdict::Fail,
                        Some(Reason::DnsNoAddress),
                        format!("{server} knows {name} but returns no IPv4 address for it"),
                    ),
                    (Some(want), Some(first)) if !ips.contains(&want) => (
                        Verdict::Fail,
                        Some(Reason::DnsWrongAnswer),
                        format!(
                            "{name} resolves to {first}, not the Service's ClusterIP {want} (answer from {server})"
                        ),
                    ),
                    (_, Some(first)) => (
                        Verdict::Ok,
                        None,
                        format!("{server} resolves {name} to {first}"),
                    ),
                },
                "NXDOMAIN" => (
                    Verdict::Fail,
                    Some(Reason::DnsNxdomain),
                    format!("{server} says {name} does not exist (NXDOMAIN)"),
                ),
                "SERVFAIL" => (
                    Verdict::Fail,
                    Some(Reason::DnsServfail),
                    format!(
                        "{server} fails to resolve {name} (SERVFAIL): its upstream or its own lookup failed"
                    ),
                ),
                "REFUSED" => (
                    Verdict::Fail,
                    Some(Reason::DnsRefused),
                    format!("{server} refuses to answer for {name} (REFUSED)"),
                ),
                other => (
                    Verdict::Fail,
                    Some(Reason::DnsError),
                    format!("{server} answers {other} for {name}"),
                ),
            };
            (
                rcode.clone(),
                texts.clone(),
                Some(millis(*latency)),
                verdict,
                reason,
                message,
            )
        }
        Reply::Timeout => (
            "TIMEOUT".into(),
            vec![],
            None,
            Verdict::Fail,
            None,
            format!("{server} does not answer within {}", human(timeout)),
        ),
        Reply::Unreachable(why) => (
            "UNREACHABLE".into(),
            vec![],
            None,
            Verdict::Fail,
            None,
            format!("{server} is unreachable: {why}"),
        ),
    };
    let result = DnsResult {
        server: a.target.addr.to_string(),
        server_role: a.target.role.clone(),
        name: name.to_string(),
        rcode,
        answers,
        latency_ms: latency,
        verdict,
        message: Some(message),
    };
    (result, reason)
}

/// Judge every server's reply to the A query for `name`.
///
/// A silent server is named next to one that answers ("nodelocaldns at 169.254.25.10 does not
/// answer; kube-dns at 10.96.0.10 does"), since that pair is the classic nodelocaldns outage.
pub fn judge(
    node: &str,
    name: &str,
    expect: Option<Ipv4Addr>,
    asked: &[Asked],
    timeout: Duration,
) -> (Hop, Vec<DnsResult>) {
    let judged: Vec<(DnsResult, Option<Reason>)> = asked
        .iter()
        .map(|a| judge_one(a, name, expect, timeout))
        .collect();
    let is_silent = |a: &&Asked| !matches!(a.reply, Reply::Answer { .. });
    let silent: Vec<String> = asked
        .iter()
        .filter(is_silent)
        .map(|a| who(&a.target))
        .collect();
    let answering: Vec<String> = asked
        .iter()
        .filter(|a| !is_silent(a))
        .map(|a| who(&a.target))
        .collect();

    let mut parts: Vec<String> = Vec::new();
    let mut reason: Option<Reason> = None;
    if asked.is_empty() {
        parts.push(format!(
            "no DNS server to ask for {name}: the pod's resolv.conf lists no nameserver"
        ));
        reason = Some(Reason::DnsNoServer);
    } else if answering.is_empty() {
        parts.push(format!(
            "no DNS server answers for {name} within {}: {}",
            human(timeout),
            judged
                .iter()
                .filter_map(|(r, _)| r.message.clone())
                .collect::<Vec<_>>()
                .join(", ")
        ));
        reason = Some(Reason::DnsTimeout);
    } else if !silent.is_empty() {
        let verb = if silent.len() == 1 { "does" } else { "do" };
        let helper = if answering.len() == 1 { "does" } else { "do" };
        parts.push(format!(
            "{} {verb} not answer; {} {helper}",
            silent.join(" and "),
            answering.join(" and ")
        ));
        reason = Some(Reason::DnsServerSilent);
    }
    // What the answering servers said wrong, in server order.
    for (result, why) in &judged {
        if let (Some(why), Some(msg)) = (why, &result.message) {
            parts.push(msg.clone());
            reason.get_or_insert_with(|| why.clone());
        }
    }
    let (verdict, detail) = match reason {
        Some(_) => (Verdict::Fail, parts.join("; ")),
        None => {
            let first = asked
                .iter()
                .find_map(|a| match &a.reply {
                    Reply::Answer { ips, .. } => ips.first().copied(),
                    _ => None,
                })
                .map(|ip| ip.to_string())
                .unwrap_or_default();
            let each = asked
                .iter()
                .zip(&judged)
                .map(|(a, (r, _))| {
                    format!(
                        "{} in {:.2} ms",
                        who(&a.target),
                        r.latency_ms.unwrap_or_default()
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            (
                Verdict::Ok,
                format!("{name} resolves to {first} at every server ({each})"),
            )
        }
    };
    let mut hop = Hop::new(node, HopKind::Dns, name, verdict, detail);
    if let Some(r) = reason {
        hop = hop.with_reason(r);
    }
    (hop, judged.into_iter().map(|(r, _)| r).collect())
}

#[cfg(test)]
mod tests;
