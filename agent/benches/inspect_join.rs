//! B5 of issue 14, its pure half: the join of node inspection (eth0 to host veth to bridge,
//! findings) over 250 synthetic pod namespaces, the scale. The real half, creating 250
//! namespaces and inspecting them, is `netdiag-bench inspect`. Target: well under 1 s.
//! Run: `cargo bench -p netdiag-agent --bench inspect_join` (scripts/bench reads the estimate).

use std::hint::black_box;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use netdiag_agent::inspect::join::join;
use netdiag_agent::inspect::synthetic::node_with_pods;

/// The namespaces per node of the target.
const PODS: u32 = 250;

fn benches(c: &mut Criterion) {
    let n = node_with_pods(PODS);
    // Measure only a join that gives the right answer.
    let (pods, findings) = join(&n.node, n.namespaces.clone(), &n.known_nsids);
    if pods.len() != PODS as usize || !findings.is_empty() {
        eprintln!(
            "inspect_join: {} of {PODS} namespaces joined, {} findings",
            pods.len(),
            findings.len()
        );
        std::process::exit(2);
    }
    let mut g = c.benchmark_group("inspect");
    g.throughput(Throughput::Elements(u64::from(PODS)));
    g.measurement_time(Duration::from_secs(3));
    g.bench_function("join_250", |b| {
        b.iter(|| {
            join(
                black_box(&n.node),
                black_box(n.namespaces.clone()),
                &n.known_nsids,
            )
        })
    });
    g.finish();
}

criterion_group!(inspect, benches);
criterion_main!(inspect);
