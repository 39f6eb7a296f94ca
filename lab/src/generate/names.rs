//! kube-proxy's iptables chain names and probabilities, as `pkg/proxy/iptables` computes them.
//! Only the generator uses these: the walker follows jumps and never rebuilds names.

use data_encoding::BASE32;
use sha2::{Digest, Sha256};

/// `base32std(sha256(s))[:16]`.
fn hash16(s: &str) -> String {
    let digest = Sha256::digest(s.as_bytes());
    let mut encoded = BASE32.encode(&digest);
    encoded.truncate(16);
    encoded
}

/// kube-proxy's `ServicePortName.String()`: `ns/name:port`, or `ns/name` for an unnamed port.
pub fn service_port_name(namespace: &str, name: &str, port: Option<&str>) -> String {
    match port {
        Some(p) if !p.is_empty() => format!("{namespace}/{name}:{p}"),
        _ => format!("{namespace}/{name}"),
    }
}

/// The suffix shared by KUBE-SVC-/SVL-/EXT-/FW- chains: `portProtoHash(servicePortName, proto)`.
pub fn port_proto_hash(service_port_name: &str, protocol_lower: &str) -> String {
    hash16(&format!("{service_port_name}{protocol_lower}"))
}

/// `KUBE-SEP-` + hash of servicePortName + protocol + `IP:port`.
pub fn endpoint_chain(service_port_name: &str, protocol_lower: &str, endpoint: &str) -> String {
    format!(
        "KUBE-SEP-{}",
        hash16(&format!("{service_port_name}{protocol_lower}{endpoint}"))
    )
}

/// The `--probability` of rule `i` of `n` as `iptables-save` prints it back: kube-proxy writes
/// `1/(n-i)` with 10 decimals, the kernel keeps `lround(p * 2^31)`, and iptables-save prints
/// that over 2^31 with 11 decimals (0.33333333349, 0.50000000000).
pub fn probability(i: usize, n: usize) -> String {
    let remaining = n.saturating_sub(i).max(1) as f64;
    let written: f64 = format!("{:.10}", 1.0 / remaining)
        .parse()
        .unwrap_or(1.0 / remaining);
    let scale = f64::from(0x8000_0000_u32);
    let kept = (written * scale).round();
    format!("{:.11}", kept / scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chain_hashes_match_upstream_examples() {
        assert_eq!(
            port_proto_hash("default/kubernetes:https", "tcp"),
            "NPX46M4PTMTKRN6Y"
        );
        assert_eq!(
            port_proto_hash("kube-system/kube-dns:dns", "udp"),
            "TCOU7JCQXEZGVUNU"
        );
        // The sample dump in reference/dataplane.md.
        assert_eq!(
            port_proto_hash("default/echo-service:http", "tcp"),
            "UA67LJTCCZTJVDOY"
        );
        assert_eq!(
            port_proto_hash("default/web:http", "tcp"),
            "CDGGSHYLG3RE2FKL"
        );
        assert_eq!(
            endpoint_chain("default/echo-service:http", "tcp", "10.244.1.5:8080"),
            "KUBE-SEP-ENF7U6ALUPQ4ZWLO"
        );
        assert_eq!(
            endpoint_chain("default/echo-service:http", "tcp", "10.244.2.7:8080"),
            "KUBE-SEP-IWB3D5UPK4OBM6H5"
        );
        assert_eq!(
            endpoint_chain("default/echo-service:http", "tcp", "10.244.2.8:8080"),
            "KUBE-SEP-FGEVZX4UQ5JYP2SM"
        );
    }

    #[test]
    fn service_port_names_follow_kube_proxy() {
        assert_eq!(service_port_name("a", "b", Some("http")), "a/b:http");
        assert_eq!(service_port_name("a", "b", None), "a/b");
        assert_eq!(service_port_name("a", "b", Some("")), "a/b");
    }

    #[test]
    fn probabilities_print_like_iptables_save() {
        assert_eq!(probability(0, 3), "0.33333333349");
        assert_eq!(probability(1, 3), "0.50000000000");
        assert_eq!(probability(0, 5), "0.20000000019");
        assert_eq!(probability(0, 4), "0.25000000000");
    }
}
