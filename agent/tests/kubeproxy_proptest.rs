//! The parsers and the walker never panic: arbitrary text, and arbitrary mutations of real dumps.

use netdiag_agent::dataplane::kube_proxy::iptables::walk::{Entry, walk};
use netdiag_agent::dataplane::kube_proxy::judge::judge;
use netdiag_agent::dataplane::netfilter::iptables::rule::parse_line;
use netdiag_agent::dataplane::netfilter::iptables::save::{parse_listing, parse_save};
use netdiag_agent::dataplane::netfilter::iptables::tokenize::split;
use netdiag_agent::dataplane::netfilter::iptables::xtables::{Table, TableInfo};
use netdiag_model::{Endpoint, PlanTarget, Protocol};
use proptest::prelude::*;

const SAMPLE: &str = include_str!("fixtures/kubeproxy/sample-nat-dataplane-md.txt");
const NFT: &str = include_str!("fixtures/kubeproxy/generated-nft-save.txt");
/// `struct ipt_getinfo` then the entries, as the kernel gave them (see kubeproxy_fixtures.rs).
const BLOB: &[u8] = include_bytes!("fixtures/kubeproxy/sample-nat-dataplane-md.legacy-nat.bin");

/// Index and decode every chain of a (possibly corrupt) kernel table, then walk it.
fn exercise_blob(info: &[u8], entries: &[u8]) {
    let Some(info) = TableInfo::decode(info) else {
        return;
    };
    let Ok(mut table) = Table::index("nat", &info, entries.to_vec(), 0) else {
        return;
    };
    let names: Vec<String> = table.chain_names().map(str::to_string).collect();
    for name in &names {
        let _ = table.rules(name);
    }
    let t = PlanTarget {
        ip: [10, 96, 45, 10].into(),
        port: 80,
        protocol: Protocol::TCP,
    };
    let _ = walk(&mut table, &t, Entry::ServiceIp);
}

fn exercise(text: &str) {
    for line in text.lines() {
        let _ = split(line);
        let _ = parse_line(line);
    }
    let _ = parse_listing(text);
    let mut dump = parse_save(text);
    let expected = [Endpoint {
        ip: [10, 244, 1, 5].into(),
        port: 8080,
    }];
    for (ip, port, entry) in [
        ("10.96.45.10", 80, Entry::ServiceIp),
        ("10.96.9.9", 80, Entry::ServiceIp),
        ("1.2.3.4", 30080, Entry::NodePort),
    ] {
        let t = PlanTarget {
            ip: ip.parse().expect("test address"),
            port,
            protocol: Protocol::TCP,
        };
        let Ok(w) = walk(&mut dump, &t, entry);
        let _ = judge("n", &w.program(), &expected);
        let _ = judge("n", &w.program(), &[]);
    }
}

/// A mutation of a real dump: delete, duplicate, truncate or splice bytes at char boundaries.
fn mutate(base: &str, ops: &[(u8, usize, String)]) -> String {
    let mut s = base.to_string();
    for (op, at, text) in ops {
        let mut i = at % (s.len() + 1);
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        match op % 4 {
            0 => s.insert_str(i, text),
            1 => {
                let mut end = (i + text.len() + 1).min(s.len());
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                s.replace_range(i..end, "");
            }
            2 => s.truncate(i),
            _ => {
                let line_end = s[i..].find('\n').map_or(s.len(), |n| i + n);
                let line = s[i..line_end].to_string();
                s.insert_str(line_end, &format!("\n{line}{text}"));
            }
        }
    }
    s
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        exercise(&text);
    }

    #[test]
    fn rule_shaped_noise_never_panics(text in r#"(-A KUBE-(SVC|SEP|SERVICES)-?[A-Z]{0,3}|!|-[sdpjgm]|--(dport|probability|comment|seconds|name|rcheck|set|to-destination|mark|dst-type)|"|\\|[0-9./:]{1,12}|KUBE-[A-Z-]{1,8}|DNAT|REJECT|[ \n])*"#) {
        exercise(&format!("*nat\n:KUBE-SERVICES - [0:0]\n{text}\nCOMMIT\n*filter\n{text}\n"));
    }

    #[test]
    fn corrupted_kernel_tables_never_panic(
        flips in prop::collection::vec((any::<usize>(), any::<u8>()), 1..16),
        cut in any::<usize>(),
    ) {
        let mut blob = BLOB.to_vec();
        for (at, byte) in flips {
            let i = at % blob.len();
            blob[i] = byte;
        }
        blob.truncate(84 + cut % (blob.len() - 83));
        let (info, entries) = blob.split_at(84.min(blob.len()));
        exercise_blob(info, entries);
    }

    #[test]
    fn arbitrary_kernel_tables_never_panic(info in prop::collection::vec(any::<u8>(), 84), entries in prop::collection::vec(any::<u8>(), 0..2048)) {
        exercise_blob(&info, &entries);
    }

    #[test]
    fn mutated_real_dumps_never_panic(ops in prop::collection::vec((any::<u8>(), any::<usize>(), "[ -~\n\"\\\\!é]{0,12}"), 1..8)) {
        exercise(&mutate(SAMPLE, &ops));
        exercise(&mutate(NFT, &ops));
    }
}
