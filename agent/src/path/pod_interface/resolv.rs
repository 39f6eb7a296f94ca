//! A pod's resolv.conf: what `kubectl exec POD -- cat /etc/resolv.conf` shows, read from the
//! node through `/proc/<pid>/root` so the pod needs no shell.
//!
//! The parser follows glibc's reading (resolv.conf(5)): `#` or `;` at the start of a line is
//! a comment (glibc also cuts trailing comments); `search` and `domain` replace each other,
//! the last one wins, and `domain X` means `search X`; `options` accumulate. Unknown keywords
//! are ignored, as the resolver ignores them.

use std::path::Path;

use netdiag_model::report::ResolvConf;

/// Parse resolv.conf text. Never fails: lines it does not understand are skipped.
pub fn parse(text: &str) -> ResolvConf {
    let mut conf = ResolvConf::default();
    for raw in text.lines() {
        let line = match raw.find(['#', ';']) {
            Some(i) => &raw[..i],
            None => raw,
        };
        let mut words = line.split_whitespace();
        let Some(keyword) = words.next() else {
            continue;
        };
        match keyword {
            "nameserver" => {
                if let Some(server) = words.next() {
                    conf.nameservers.push(server.to_string());
                }
            }
            "search" => {
                conf.search = words.map(str::to_string).collect();
            }
            "domain" => {
                if let Some(domain) = words.next() {
                    conf.search = vec![domain.to_string()];
                }
            }
            "options" => conf.options.extend(words.map(str::to_string)),
            _ => {}
        }
    }
    conf
}

/// Read and parse the resolv.conf of the process `pid` (the pod's pause container or any of
/// its processes), at `<proc>/<pid>/root/etc/resolv.conf`. None when it cannot be read: the
/// process may be gone, or the agent may lack hostPID.
pub fn read_pod_resolv(proc: &Path, pid: u32) -> Option<ResolvConf> {
    // Resolved inside the pod's root, regular files only, bounded: a hostile pod must not
    // point the agent at a host file, hang it with a FIFO, or make it read a huge file.
    let root = proc.join(pid.to_string()).join("root");
    let bytes = crate::kernel::file::read_in_root(&root, "etc/resolv.conf", 64 * 1024).ok()?;
    Some(parse(&String::from_utf8_lossy(&bytes)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_kubelet_written_resolv_conf_parses() {
        // As kubelet writes it for a ClusterFirst pod in namespace default.
        let text = "search default.svc.cluster.local svc.cluster.local cluster.local\n\
                    nameserver 10.96.0.10\n\
                    options ndots:5\n";
        let conf = parse(text);
        assert_eq!(conf.nameservers, vec!["10.96.0.10"]);
        assert_eq!(
            conf.search,
            vec![
                "default.svc.cluster.local",
                "svc.cluster.local",
                "cluster.local"
            ]
        );
        assert_eq!(conf.options, vec!["ndots:5"]);
    }

    #[test]
    fn comments_are_skipped_and_trailing_comments_cut() {
        let text = "# generated\n; old style\nnameserver 169.254.20.10 # nodelocaldns\n  nameserver\t10.96.0.10\n";
        let conf = parse(text);
        assert_eq!(conf.nameservers, vec!["169.254.20.10", "10.96.0.10"]);
        assert!(conf.search.is_empty());
    }

    #[test]
    fn the_last_of_search_and_domain_wins() {
        assert_eq!(parse("search a b\ndomain c\n").search, vec!["c"]);
        assert_eq!(parse("domain c\nsearch a b\n").search, vec!["a", "b"]);
    }

    #[test]
    fn options_accumulate_and_unknown_keywords_are_ignored() {
        let conf = parse("options ndots:5\nsortlist 10.0.0.0\noptions timeout:1 attempts:2\n");
        assert_eq!(conf.options, vec!["ndots:5", "timeout:1", "attempts:2"]);
    }

    #[test]
    fn reading_a_missing_process_gives_none() {
        assert_eq!(read_pod_resolv(Path::new("/nonexistent-proc"), 1), None);
    }

    #[test]
    fn reading_through_a_proc_root_finds_the_file() {
        let base = std::env::temp_dir().join(format!("ndnl-resolv-{}", std::process::id()));
        let etc = base.join("42/root/etc");
        std::fs::create_dir_all(&etc).expect("mkdir");
        std::fs::write(etc.join("resolv.conf"), "nameserver 10.96.0.10\n").expect("write");
        let conf = read_pod_resolv(&base, 42);
        let _ = std::fs::remove_dir_all(&base);
        assert_eq!(
            conf.map(|c| c.nameservers),
            Some(vec!["10.96.0.10".to_string()])
        );
    }

    proptest! {
        #[test]
        fn parsing_any_text_never_panics(text in "\\PC*") {
            let _ = parse(&text);
        }

        #[test]
        fn every_nameserver_line_is_kept_in_order(servers in proptest::collection::vec("[0-9.:a-f]{1,20}", 0..6)) {
            let text: String = servers.iter().map(|s| format!("nameserver {s}\n")).collect();
            prop_assert_eq!(parse(&text).nameservers, servers);
        }
    }
}
