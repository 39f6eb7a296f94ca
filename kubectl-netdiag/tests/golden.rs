//! Golden tests: every output format rendered from the NetProbe fixtures in `tests/fixtures/`.
//! `UPDATE_GOLDEN=1 cargo test -p kubectl-netdiag --test golden` rewrites `tests/golden/`.

use std::path::PathBuf;

use k8s_openapi::jiff::Timestamp;
use kubectl_netdiag::cli::TraceFormat;
use kubectl_netdiag::{list, output};
use netdiag_crds::NetProbe;
use netdiag_render::Width;

fn dir(sub: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join(sub)
}

fn fixture(name: &str) -> NetProbe {
    let path = dir("fixtures").join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{} is not a NetProbe: {e}", path.display()))
}

/// Compare with the golden file, or rewrite it under UPDATE_GOLDEN=1.
fn check(file: &str, actual: &str) {
    let path = dir("golden").join(file);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::write(&path, actual)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "cannot read golden file {}: {e}\nrun UPDATE_GOLDEN=1 cargo test -p kubectl-netdiag --test golden",
            path.display()
        )
    });
    assert!(
        expected == actual,
        "{file} differs from its golden file; if the change is intended, run \
         UPDATE_GOLDEN=1 cargo test -p kubectl-netdiag --test golden and review the diff.\n\
         --- expected\n{expected}\n--- actual\n{actual}"
    );
}

fn render(p: &NetProbe, f: TraceFormat) -> String {
    output::render_probe(p, f, false).unwrap_or_else(|e| panic!("render {f:?}: {e}"))
}

const FORMATS: [(TraceFormat, &str); 5] = [
    (TraceFormat::Table, "table.txt"),
    (TraceFormat::Wide, "wide.txt"),
    (TraceFormat::Json, "json"),
    (TraceFormat::Yaml, "yaml"),
    (TraceFormat::Dot, "dot"),
];

fn all_formats(name: &str) {
    let p = fixture(name);
    for (format, ext) in FORMATS {
        check(&format!("{name}.{ext}"), &render(&p, format));
    }
}

#[test]
fn healthy_path_in_every_format() {
    all_formats("healthy");
}

#[test]
fn failing_path_in_every_format() {
    all_formats("failing");
}

#[test]
fn dns_failures_in_every_format() {
    all_formats("dns_failure");
}

#[test]
fn json_and_yaml_round_trip_to_the_same_probe() {
    for name in ["healthy", "failing", "dns_failure"] {
        let p = fixture(name);
        let from_json: NetProbe = serde_json::from_str(&render(&p, TraceFormat::Json))
            .unwrap_or_else(|e| panic!("{name} json: {e}"));
        let from_yaml: NetProbe = serde_saphyr::from_str(&render(&p, TraceFormat::Yaml))
            .unwrap_or_else(|e| panic!("{name} yaml: {e}"));
        // NetProbe has no PartialEq (kube's derive); compare as JSON values.
        let v = |p: &NetProbe| serde_json::to_value(p).unwrap_or_default();
        assert_eq!(v(&from_json), v(&p), "{name}");
        assert_eq!(v(&from_yaml), v(&p), "{name}");
    }
}

#[test]
fn failing_table_names_the_cause_and_the_result() {
    let out = render(&fixture("failing"), TraceFormat::Table);
    let marked: Vec<&str> = out
        .lines()
        .filter(|l| l.starts_with("node-") && l.contains('✗'))
        .collect();
    assert_eq!(marked.len(), 1, "{out}");
    assert!(marked[0].contains("Listener"), "{out}");
    assert!(
        out.contains("RESULT: unreachable — nothing listens on 10.244.2.7:8080"),
        "{out}"
    );
}

/// The healthy fixture's nodeFacts (flannel host-gw on both nodes): one NODE line per node in
/// `-o wide` and in `describe`; none in the plain table, where no failure needs explaining.
#[test]
fn node_facts_show_in_wide_and_describe_only() {
    let p = fixture("healthy");
    let node_lines = |text: &str| -> Vec<String> {
        (text.lines())
            .map(str::trim_start)
            .filter(|l| l.starts_with("NODE node-"))
            .map(str::to_string)
            .collect()
    };
    let wide = render(&p, TraceFormat::Wide);
    assert_eq!(
        node_lines(&wide),
        [
            "NODE node-a  CNI flannel (host-gw)  proxy iptables (nf_tables)  evidence: \
             10.244.2.0/24 via 172.18.0.3 dev eth0, cni0 (bridge), \
             /etc/cni/net.d/10-flannel.conflist (flannel, portmap)",
            "NODE node-b  CNI flannel (host-gw)  evidence: 10.244.1.0/24 via 172.18.0.2 dev eth0, \
             cni0 (bridge), /etc/cni/net.d/10-flannel.conflist (flannel, portmap)",
        ],
        "{wide}"
    );
    assert!(node_lines(&render(&p, TraceFormat::Table)).is_empty());
    for wide in [false, true] {
        let text = list::describe(&p, now(), wide, Width::Unlimited);
        let section = text.split("Node facts:\n").nth(1).unwrap_or_default();
        assert_eq!(
            node_lines(section).len(),
            2,
            "wide {wide}: once each:\n{text}"
        );
    }
    check(
        "describe-healthy.txt",
        &list::describe(&p, now(), false, Width::Unlimited),
    );
    let narrow = list::describe(&p, now(), false, Width::Columns(60));
    let section = narrow.split("Node facts:\n").nth(1).unwrap_or_default();
    let section = section.split("Path:").next().unwrap_or_default();
    assert!(section.lines().count() > 2, "{narrow}");
    assert!(section.lines().all(|l| l.chars().count() <= 60), "{narrow}");
}

/// An older controller writes no nodeFacts: every format renders, with no NODE line and no
/// `Node facts:` section.
#[test]
fn a_status_without_node_facts_renders_without_them() {
    let p = fixture("failing");
    assert!(p.status.as_ref().is_some_and(|s| s.node_facts.is_empty()));
    for format in [TraceFormat::Table, TraceFormat::Wide] {
        let text = render(&p, format);
        assert!(!text.contains("NODE node-"), "{format:?}:\n{text}");
    }
    let text = list::describe(&p, now(), true, Width::Unlimited);
    assert!(!text.contains("Node facts:"), "{text}");
}

fn now() -> Timestamp {
    "2026-11-23T10:05:00Z"
        .parse()
        .unwrap_or(Timestamp::UNIX_EPOCH)
}

#[test]
fn get_lists_one_shot_and_periodic_probes() {
    let probes = [fixture("healthy"), fixture("failing"), fixture("periodic")];
    check("get.txt", &list::get_table(&probes, false, false, now()));
    check(
        "get-all-wide.txt",
        &list::get_table(&probes, true, true, now()),
    );
}

#[test]
fn describe_explains_schedule_last_run_and_path() {
    check(
        "describe-periodic.txt",
        &list::describe(&fixture("periodic"), now(), false, Width::Unlimited),
    );
    check(
        "describe-failing.txt",
        &list::describe(&fixture("failing"), now(), false, Width::Unlimited),
    );
}

#[test]
fn describes_path_fits_the_terminal_like_trace_does() {
    let full = list::describe(&fixture("failing"), now(), true, Width::Unlimited);
    assert!(
        full.lines().any(|l| l.chars().count() > 100),
        "the fixture has long lines"
    );
    for cols in [100u16, 200] {
        let text = list::describe(&fixture("failing"), now(), true, Width::Columns(cols));
        let path = text.split("Path:\n").nth(1).expect("a path section");
        for line in path.lines() {
            assert!(
                line.chars().count() <= usize::from(cols),
                "{cols} columns: {} chars: {line}",
                line.chars().count()
            );
        }
    }
}

/// A newer controller writes hop kinds, details, reasons and verdicts this plugin does not know:
/// `get`, `describe` and the trace formats still render, showing the new names as they came.
#[test]
fn a_status_from_a_newer_controller_renders_everywhere() {
    let p = fixture("newer");
    all_formats("newer");
    check(
        "describe-newer.txt",
        &list::describe(&p, now(), false, Width::Unlimited),
    );
    check(
        "get-newer.txt",
        &list::get_table(std::slice::from_ref(&p), false, true, now()),
    );
    let table = render(&p, TraceFormat::Table);
    assert!(
        table.contains("✗ First failure at Capture on node-b: rule 12 of inet filter input drops"),
        "{table}"
    );
    assert!(table.contains("(FirewallDrop)."), "{table}");
    let wide = render(&p, TraceFormat::Wide);
    assert!(
        wide.contains("firewall facts (from a newer netdiag)"),
        "{wide}"
    );
    assert!(wide.contains("Unknown"), "{wide}");
    let status = p.status.clone().unwrap_or_default();
    assert_eq!(
        status.first_failure.map(|f| f.reason.to_string()),
        Some("FirewallDrop".to_string())
    );
}
