//! DNS messages on the wire, built and read with hickory-proto: pure, no sockets.
//!
//! What `dig +norecurse... @server name A` puts in a packet, and what it prints from the answer.

use std::net::Ipv4Addr;

use hickory_proto::op::{Message, MessageType, OpCode, Query};
use hickory_proto::rr::{Name, RData, RecordType};

/// A failure to build a query or to read an answer.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("{name:?} is not a valid DNS name: {source}")]
    BadName {
        name: String,
        #[source]
        source: hickory_proto::ProtoError,
    },
    #[error("cannot encode the DNS query for {name}: {source}")]
    Encode {
        name: String,
        #[source]
        source: hickory_proto::ProtoError,
    },
    #[error("the answer is not a DNS message: {source}")]
    Decode {
        #[source]
        source: hickory_proto::serialize::binary::DecodeError,
    },
}

/// Build a recursive A query for `name` with message id `id`.
///
/// The name is always made absolute: the probe asks for exactly the name it was given, the way
/// `dig name.` does, and never walks the pod's search list (a name with fewer dots than
/// `ndots` would otherwise be tried with each search suffix first).
pub fn a_query(name: &str, id: u16) -> Result<Vec<u8>, WireError> {
    let mut qname = Name::from_ascii(name).map_err(|source| WireError::BadName {
        name: name.to_string(),
        source,
    })?;
    qname.set_fqdn(true);
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = true;
    msg.add_query(Query::query(qname, RecordType::A));
    msg.to_vec().map_err(|source| WireError::Encode {
        name: name.to_string(),
        source,
    })
}

/// What a server answered, reduced to what the report shows.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    pub id: u16,
    /// NOERROR, NXDOMAIN, SERVFAIL... as `dig` prints it in its header line.
    pub rcode: String,
    /// A records as IPs.
    pub ips: Vec<Ipv4Addr>,
    /// CNAME targets, as text (`echo.example.com.`).
    pub cnames: Vec<String>,
    /// The TC bit: the server cut the answer to fit UDP; ask again over TCP.
    pub truncated: bool,
}

impl Answer {
    /// The answers as the report lists them: CNAMEs first (the chain), then the addresses.
    pub fn texts(&self) -> Vec<String> {
        self.cnames
            .iter()
            .map(|c| format!("CNAME {c}"))
            .chain(self.ips.iter().map(|ip| ip.to_string()))
            .collect()
    }
}

/// Read a DNS response.
pub fn parse_answer(bytes: &[u8]) -> Result<Answer, WireError> {
    let msg = Message::from_vec(bytes).map_err(|source| WireError::Decode { source })?;
    let mut ips = Vec::new();
    let mut cnames = Vec::new();
    for record in &msg.answers {
        match &record.data {
            RData::A(a) => ips.push(a.0),
            RData::CNAME(c) => cnames.push(c.0.to_string()),
            _ => {}
        }
    }
    Ok(Answer {
        id: msg.metadata.id,
        rcode: rcode_name(u16::from(msg.metadata.response_code)),
        ips,
        cnames,
        truncated: msg.metadata.truncation,
    })
}

/// The mnemonic `dig` prints for an rcode (RFC 1035, 2136, 6891).
pub fn rcode_name(code: u16) -> String {
    let known = match code {
        0 => "NOERROR",
        1 => "FORMERR",
        2 => "SERVFAIL",
        3 => "NXDOMAIN",
        4 => "NOTIMP",
        5 => "REFUSED",
        6 => "YXDOMAIN",
        7 => "YXRRSET",
        8 => "NXRRSET",
        9 => "NOTAUTH",
        10 => "NOTZONE",
        other => return format!("RCODE{other}"),
    };
    known.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hickory_proto::op::ResponseCode;
    use hickory_proto::rr::Record;
    use hickory_proto::rr::rdata::{A, CNAME};

    fn response(id: u16, code: ResponseCode, records: Vec<Record>) -> Vec<u8> {
        let mut msg = Message::new(id, MessageType::Response, OpCode::Query);
        msg.metadata.response_code = code;
        for r in records {
            msg.add_answer(r);
        }
        msg.to_vec().unwrap()
    }

    #[test]
    fn a_query_asks_for_the_absolute_name_with_recursion() {
        let bytes = a_query("echo.default.svc.cluster.local", 4242).unwrap();
        let msg = Message::from_vec(&bytes).unwrap();
        assert_eq!(msg.metadata.id, 4242);
        assert!(msg.metadata.recursion_desired);
        assert_eq!(msg.queries.len(), 1);
        assert_eq!(msg.queries[0].query_type(), RecordType::A);
        assert_eq!(
            msg.queries[0].name().to_string(),
            "echo.default.svc.cluster.local."
        );
    }

    #[test]
    fn a_bad_name_is_an_error_naming_it() {
        let long_label = "a".repeat(70);
        let err = a_query(&format!("{long_label}.example"), 1).unwrap_err();
        assert!(err.to_string().contains(&long_label), "{err}");
    }

    #[test]
    fn an_answer_lists_cnames_then_addresses() {
        let name = Name::from_ascii("www.example.").unwrap();
        let target = Name::from_ascii("echo.default.svc.cluster.local.").unwrap();
        let bytes = response(
            7,
            ResponseCode::NoError,
            vec![
                Record::from_rdata(name, 30, RData::CNAME(CNAME(target.clone()))),
                Record::from_rdata(target, 30, RData::A(A(Ipv4Addr::new(10, 96, 0, 50)))),
            ],
        );
        let answer = parse_answer(&bytes).unwrap();
        assert_eq!(answer.id, 7);
        assert_eq!(answer.rcode, "NOERROR");
        assert_eq!(answer.ips, vec![Ipv4Addr::new(10, 96, 0, 50)]);
        assert_eq!(
            answer.texts(),
            vec!["CNAME echo.default.svc.cluster.local.", "10.96.0.50"]
        );
    }

    #[test]
    fn rcodes_read_like_dig() {
        let bytes = response(9, ResponseCode::NXDomain, vec![]);
        assert_eq!(parse_answer(&bytes).unwrap().rcode, "NXDOMAIN");
        assert_eq!(rcode_name(2), "SERVFAIL");
        assert_eq!(rcode_name(23), "RCODE23");
    }

    #[test]
    fn garbage_is_a_decode_error() {
        assert!(matches!(
            parse_answer(&[1, 2, 3]),
            Err(WireError::Decode { .. })
        ));
    }
}
