//! kube-proxy's nftables chain and set names, as `pkg/proxy/nftables/proxier.go` computes them:
//! `<prefix><HASH>-ns/svc/proto/port[__IP/port]`, HASH the first 8 characters of the standard
//! base32 of the SHA-256 of the rest, the whole base cut to 240 characters.

use data_encoding::BASE32;
use sha2::{Digest, Sha256};

/// knftables' `NameLengthMax` (256) minus kube-proxy's longest prefix with its hyphen (16).
const CHAIN_NAME_BASE_MAX: usize = 256 - 16;

/// kube-proxy's `hashAndTruncate`: the name prefixed with 8 characters of its own hash, so a
/// truncated name stays unique and near-identical names look different.
pub fn hash_and_truncate(name: &str) -> String {
    let digest = Sha256::digest(name.as_bytes());
    let encoded = BASE32.encode(&digest);
    let mut out = format!("{}-{name}", &encoded[..8]);
    if out.len() > CHAIN_NAME_BASE_MAX {
        // Names are ASCII ([a-z0-9-./_]): cutting at a byte count cannot split a character.
        out.truncate(CHAIN_NAME_BASE_MAX - 3);
        out.push_str("...");
    }
    out
}

/// `servicePortChainNameBase`: `HASH-ns/svc/proto/portname` (an unnamed port leaves the last
/// part empty, as kube-proxy does).
pub fn service_base(namespace: &str, name: &str, protocol_lower: &str, port: &str) -> String {
    hash_and_truncate(&format!("{namespace}/{name}/{protocol_lower}/{port}"))
}

/// `servicePortEndpointChainNameBase`: `HASH-ns/svc/proto/portname__IP/port`.
pub fn endpoint_base(
    namespace: &str,
    name: &str,
    protocol_lower: &str,
    port: &str,
    endpoint_ip: &str,
    endpoint_port: u16,
) -> String {
    // IPv6 colons are not allowed in chain names; kube-proxy turns them into dots.
    let ip = endpoint_ip.replace(':', ".");
    hash_and_truncate(&format!(
        "{namespace}/{name}/{protocol_lower}/{port}__{ip}/{endpoint_port}"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_match_kube_proxys_own_test_expectations() {
        // TestOverallNFTablesRules in pkg/proxy/nftables/proxier_test.go
        assert_eq!(
            service_base("ns1", "svc1", "tcp", "p80"),
            "ULMVA6XW-ns1/svc1/tcp/p80"
        );
        assert_eq!(
            endpoint_base("ns1", "svc1", "tcp", "p80", "10.180.0.1", 80),
            "5OJB2KTY-ns1/svc1/tcp/p80__10.180.0.1/80"
        );
        assert_eq!(
            service_base("ns5", "svc5", "tcp", "p80"),
            "HVFWP5L3-ns5/svc5/tcp/p80"
        );
        assert_eq!(
            endpoint_base("ns5", "svc5", "tcp", "p80", "10.180.0.3", 80),
            "GTK6MW7G-ns5/svc5/tcp/p80__10.180.0.3/80"
        );
    }

    #[test]
    fn long_names_are_cut_to_240_characters_and_marked() {
        let long = "a".repeat(63);
        let base = endpoint_base(
            &long,
            &long,
            "sctp",
            &long,
            "fd00:10:ffff:ffff:ffff:ffff:ffff:ffff",
            65535,
        );
        assert_eq!(base.len(), 240);
        assert!(base.ends_with("..."), "{base}");
        let short = service_base(&long, &long, "sctp", &long);
        assert!(!short.ends_with("...") && short.len() < 240, "{short}");
    }
}
