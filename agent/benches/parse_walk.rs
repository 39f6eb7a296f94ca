//! B2 of issue 6: throughput of the pure iptables code (index an `iptables-save` dump, parse
//! rules, walk one VIP) on a 10,000-Service nat table held in memory: is our own code the
//! bottleneck of a lookup, or the iptables binaries?
//!
//! Input: the file named by `NETDIAG_BENCH_SAVE` (real `iptables-legacy-save -t nat` output,
//! which `scripts/bench` captures in its B1 namespace), else the shared generator's
//! iptables-restore text for the same workload (same rules, kube-proxy's option order).
//! `NETDIAG_BENCH_SERVICES` (default 10000) must match the workload the dump came from.
//! Run: `cargo bench -p netdiag-agent --bench parse_walk` (scripts/bench reads the estimates).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use netdiag_agent::dataplane::kube_proxy::iptables::{Entry, walk};
use netdiag_agent::dataplane::netfilter::iptables::save::{parse_listing, parse_save};
use netdiag_lab::generate::render_restore;

// The bench's synthetic cluster, shared with `netdiag-bench` rather than written twice.
#[allow(dead_code)]
#[path = "../../bench/src/workload.rs"]
mod workload;

fn fail(msg: String) -> ! {
    eprintln!("parse_walk: {msg}");
    std::process::exit(2)
}

fn benches(c: &mut Criterion) {
    let services = match std::env::var("NETDIAG_BENCH_SERVICES") {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| fail(format!("NETDIAG_BENCH_SERVICES={v:?} is not a number"))),
        Err(_) => 10_000,
    };
    let w = workload::Workload {
        services,
        endpoints: 5,
    };
    let svcs = w.services().unwrap_or_else(|e| fail(e.to_string()));
    let Some((target, expected)) = workload::Workload::target(&svcs) else {
        fail("the workload has no plain TCP Service".into())
    };
    let text = match std::env::var("NETDIAG_BENCH_SAVE") {
        Ok(path) if std::path::Path::new(&path).exists() => std::fs::read_to_string(&path)
            .unwrap_or_else(|e| fail(format!("cannot read {path}: {e}"))),
        _ => render_restore(&svcs, &w.config(&svcs)),
    };
    // Measure only a walk that gives the right answer.
    let mut dump = parse_save(&text);
    let Ok(found) = walk(&mut dump, &target, Entry::ServiceIp);
    if found.endpoints.len() != expected.len() {
        fail(format!(
            "walking {target} found {} endpoints, expected {} (does the dump match NETDIAG_BENCH_SERVICES={services}?)",
            found.endpoints.len(),
            expected.len()
        ));
    }
    // What `iptables-nft -t nat -S KUBE-SERVICES` prints: the chain the nft path parses fully.
    let listing: String = text
        .lines()
        .filter(|l| l.starts_with("-A KUBE-SERVICES "))
        .flat_map(|l| [l, "\n"])
        .collect();

    let mut g = c.benchmark_group("parse_walk");
    // Few samples: one iteration handles ~25 MB, and the machine is shared.
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4));
    g.throughput(Throughput::Bytes(text.len() as u64));
    // The whole text: index everything, walk one VIP (the parser's worst case).
    g.bench_function("parse_walk_full", |b| {
        b.iter(|| {
            let mut d = parse_save(black_box(&text));
            let Ok(w) = walk(&mut d, black_box(&target), Entry::ServiceIp);
            w
        })
    });
    g.bench_function("index_only", |b| b.iter(|| parse_save(black_box(&text))));
    g.throughput(Throughput::Bytes(listing.len() as u64));
    // The nft path's largest parse: every KUBE-SERVICES rule, fully tokenized.
    g.bench_function("listing_services", |b| {
        b.iter(|| parse_listing(black_box(&listing)))
    });
    g.finish();
}

criterion_group!(parse_walk, benches);
criterion_main!(parse_walk);
