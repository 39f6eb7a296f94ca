//! Golden dumps captured from real iptables (see each fixture's first line): the nft backend
//! with comments, and the legacy backend in large-cluster mode (no per-endpoint comments).

use netdiag_agent::kubeproxy::iptables::{Backend, parse_save};
use netdiag_agent::kubeproxy::rule::Target;
use netdiag_agent::kubeproxy::verdict::judge;
use netdiag_agent::kubeproxy::walk::{BlockCause, Entry, ServiceWalk, walk};
use netdiag_crds::{Endpoint, PlanTarget, Protocol, Verdict};

const NFT: &str = include_str!("fixtures/kubeproxy/generated-nft-save.txt");
const LEGACY_LARGE: &str = include_str!("fixtures/kubeproxy/generated-legacy-large-save.txt");

fn go(text: &str, ip: &str, port: u16, protocol: Protocol, entry: Entry) -> ServiceWalk {
    let mut dump = parse_save(text);
    let t = PlanTarget {
        ip: ip.into(),
        port,
        protocol,
    };
    let Ok(w) = walk(&mut dump, &t, entry);
    w
}

fn eps(w: &ServiceWalk) -> Vec<String> {
    w.endpoints
        .iter()
        .map(|e| format!("{}:{}", e.ip, e.port))
        .collect()
}

#[test]
fn headers_name_the_backend_when_they_can() {
    assert_eq!(parse_save(NFT).backend, Some(Backend::Nft));
    // iptables-legacy-save 1.8.9 prints no backend in its header.
    assert_eq!(parse_save(LEGACY_LARGE).backend, None);
    let d = parse_save(NFT);
    assert_eq!(
        d.tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
        ["filter", "nat"]
    );
    let kube_masq = d.rules("nat", "KUBE-MARK-MASQ").unwrap();
    assert!(
        matches!(&kube_masq[0].target, Some(Target::Mark { args }) if args == &["--set-xmark", "0x4000/0x4000"])
    );
}

#[test]
fn both_dumps_walk_to_the_same_endpoints_and_shares() {
    for (text, comments) in [(NFT, true), (LEGACY_LARGE, false)] {
        let w = go(text, "10.96.45.10", 80, Protocol::TCP, Entry::ServiceIp);
        assert_eq!(
            eps(&w),
            ["10.244.1.5:8080", "10.244.2.7:8080", "10.244.2.8:8080"]
        );
        let shares: Vec<f64> = w.endpoints.iter().map(|e| e.share).collect();
        assert!((shares[0] - 0.33333333349).abs() < 1e-12);
        assert!((shares[1] - 0.66666666651 * 0.5).abs() < 1e-12);
        assert!((shares[2] - 0.66666666651 * 0.5).abs() < 1e-12);
        // The KUBE-SERVICES comment survives large-cluster mode; endpoint comments do not.
        assert_eq!(w.service.as_deref(), Some("default/echo-service:http"));
        assert_eq!(
            text.contains("default/echo-service:http -> 10.244.1.5:8080"),
            comments
        );
        assert_eq!(w.chains.len(), 5, "{:?}", w.chains);

        let udp = go(text, "10.96.0.10", 53, Protocol::UDP, Entry::ServiceIp);
        let tcp = go(text, "10.96.0.10", 53, Protocol::TCP, Entry::ServiceIp);
        assert_eq!(udp.service.as_deref(), Some("kube-system/kube-dns:dns"));
        assert_eq!(tcp.service.as_deref(), Some("kube-system/kube-dns:dns-tcp"));
        assert_ne!(udp.endpoints[0].chain, tcp.endpoints[0].chain);

        let sticky = go(text, "10.96.7.7", 80, Protocol::TCP, Entry::ServiceIp);
        assert_eq!(sticky.affinity_seconds, Some(10800));
        assert_eq!(eps(&sticky), ["10.244.1.6:8080", "10.244.2.6:8080"]);

        let local = go(text, "10.96.8.8", 80, Protocol::TCP, Entry::ServiceIp);
        assert!(local.local_only);
        assert_eq!(local.service.as_deref(), Some("default/local"));
        assert_eq!(eps(&local), ["10.244.1.7:8080"]);
        let all = [
            Endpoint {
                ip: "10.244.1.7".into(),
                port: 8080,
            },
            Endpoint {
                ip: "10.244.2.7".into(),
                port: 8080,
            },
        ];
        assert_eq!(judge("node-a", &local, &all).verdict, Verdict::Ok);

        let web = go(text, "172.18.0.2", 30080, Protocol::TCP, Entry::NodePort);
        assert!(web.chains[2].starts_with("KUBE-SVL-"), "{:?}", web.chains);
        assert_eq!(eps(&web), ["10.244.1.9:8080"]);
        let web_cluster = go(text, "10.96.120.15", 80, Protocol::TCP, Entry::ServiceIp);
        assert_eq!(eps(&web_cluster), ["10.244.1.9:8080", "10.244.2.9:8080"]);

        let empty = go(text, "10.96.9.9", 80, Protocol::TCP, Entry::ServiceIp);
        let b = empty.blocked.expect("filter REJECT");
        assert_eq!(
            (b.table.as_str(), b.action.as_str(), b.cause),
            ("filter", "REJECT", BlockCause::NoEndpoints)
        );
    }
}
