//! Golden dumps captured from real iptables (see each fixture's first line): the nft backend
//! with comments, and the legacy backend in large-cluster mode (no per-endpoint comments).

use netdiag_agent::dataplane::kube_proxy::iptables::walk::{Entry, ServiceWalk, walk};
use netdiag_agent::dataplane::kube_proxy::judge::judge;
use netdiag_agent::dataplane::kube_proxy::{BlockAction, BlockCause};
use netdiag_agent::dataplane::netfilter::iptables::rule::Target;
use netdiag_agent::dataplane::netfilter::iptables::{IptablesBackend, save::parse_save};
use netdiag_model::{Endpoint, PlanTarget, Protocol, Verdict};

const NFT: &str = include_str!("fixtures/kubeproxy/generated-nft-save.txt");
const LEGACY_LARGE: &str = include_str!("fixtures/kubeproxy/generated-legacy-large-save.txt");

fn go(text: &str, ip: &str, port: u16, protocol: Protocol, entry: Entry) -> ServiceWalk {
    let mut dump = parse_save(text);
    let t = PlanTarget {
        ip: ip.parse().expect("test address"),
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
    assert_eq!(parse_save(NFT).backend, Some(IptablesBackend::NfTables));
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
                ip: [10, 244, 1, 7].into(),
                port: 8080,
            },
            Endpoint {
                ip: [10, 244, 2, 7].into(),
                port: 8080,
            },
        ];
        assert_eq!(judge("node-a", &local.program(), &all).verdict, Verdict::Ok);

        let web = go(text, "172.18.0.2", 30080, Protocol::TCP, Entry::NodePort);
        assert!(web.chains[2].starts_with("KUBE-SVL-"), "{:?}", web.chains);
        assert_eq!(eps(&web), ["10.244.1.9:8080"]);
        let web_cluster = go(text, "10.96.120.15", 80, Protocol::TCP, Entry::ServiceIp);
        assert_eq!(eps(&web_cluster), ["10.244.1.9:8080", "10.244.2.9:8080"]);

        let empty = go(text, "10.96.9.9", 80, Protocol::TCP, Entry::ServiceIp);
        let b = empty.blocked.expect("filter REJECT");
        assert_eq!(
            (b.table.as_str(), b.action, b.cause),
            ("filter", BlockAction::Reject, BlockCause::NoEndpoints)
        );
    }
}

/// The kernel's own form of the dataplane.md sample: `struct ipt_getinfo` (84 bytes) followed
/// by the entries of `IPT_SO_GET_ENTRIES`, read on x86_64 Linux from a throwaway netns after
/// `iptables-legacy-restore` of sample-nat-dataplane-md.txt.
#[cfg(all(target_pointer_width = "64", target_endian = "little"))]
mod legacy_kernel_blob {
    use super::*;
    use netdiag_agent::dataplane::netfilter::iptables::xtables::{Table, TableInfo};

    const SAMPLE: &str = include_str!("fixtures/kubeproxy/sample-nat-dataplane-md.txt");
    const BLOB: &[u8] = include_bytes!("fixtures/kubeproxy/sample-nat-dataplane-md.legacy-nat.bin");

    fn table() -> Table {
        let info = TableInfo::decode(&BLOB[..84]).expect("getinfo");
        // The entries follow the header in the same buffer, as in the agent's own read.
        Table::index("nat", &info, BLOB.to_vec(), 84).expect("index")
    }

    #[test]
    fn every_chain_decodes_to_the_rules_iptables_save_printed() {
        let text = parse_save(SAMPLE);
        let table = table();
        let mut names: Vec<&str> = table.chain_names().collect();
        names.sort_unstable();
        let mut declared: Vec<&str> = text
            .table("nat")
            .expect("nat")
            .chains
            .iter()
            .map(|c| c.name.as_str())
            .collect();
        // The sample declares its user chains only; the kernel table has the built-in ones too.
        declared.extend(["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"]);
        declared.sort_unstable();
        assert_eq!(names, declared);
        assert!(names.len() > 10, "{names:?}");
        for name in names {
            let decoded = table.rules(name).expect("chain").expect("decode");
            let printed = text.rules("nat", name).unwrap_or_default();
            assert_eq!(decoded, printed, "{name}");
        }
    }

    #[test]
    fn the_walker_reads_the_blob_as_it_reads_the_text() {
        let t = PlanTarget {
            ip: [10, 96, 45, 10].into(),
            port: 80,
            protocol: Protocol::TCP,
        };
        let from_text = go(
            SAMPLE,
            &t.ip.to_string(),
            t.port,
            t.protocol,
            Entry::ServiceIp,
        );
        let from_blob = walk(&mut table(), &t, Entry::ServiceIp).expect("walk");
        assert_eq!(eps(&from_blob), eps(&from_text));
        assert!(!from_blob.endpoints.is_empty());
        assert_eq!(from_blob.chains, from_text.chains);
        assert_eq!(from_blob.masquerade, from_text.masquerade);
    }

    #[test]
    fn a_cut_or_corrupt_blob_is_an_error_not_a_panic() {
        let (info, entries) = BLOB.split_at(84);
        let info = TableInfo::decode(info).expect("getinfo");
        let cut = Table::index("nat", &info, entries[..entries.len() / 2].to_vec(), 0);
        assert!(
            cut.is_err(),
            "a built-in chain past the end must be refused"
        );
        let mut zeroed = entries.to_vec();
        zeroed[90..92].fill(0); // the first entry's next_offset
        let err = Table::index("nat", &info, zeroed, 0).expect_err("refused");
        assert_eq!(
            err.to_string(),
            "malformed nat table at byte 0: an entry's size is out of bounds"
        );
        // PREROUTING's start (ipt_getinfo.hook_entry[0]) moved into the middle of an entry.
        let mut info_raw = BLOB[..84].to_vec();
        info_raw[36..40].copy_from_slice(&4u32.to_ne_bytes());
        let info = TableInfo::decode(&info_raw).expect("getinfo");
        let table = Table::index("nat", &info, entries.to_vec(), 0).expect("entries are intact");
        assert!(table.rules("PREROUTING").expect("chain").is_err());
    }
}
