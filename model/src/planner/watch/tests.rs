use std::net::Ipv4Addr;

use crate::planner::{
    PlanOptions, Resolved, ResolvedPod, ResolvedTarget, SourcePod, Watch, initial_plans,
};
use crate::{Check, Protocol};

fn resolved(target_node: &str) -> Resolved {
    Resolved {
        source: SourcePod {
            namespace: "default".into(),
            name: "curl".into(),
            ip: Ipv4Addr::new(10, 244, 1, 2),
            node: "node-a".into(),
            ready: true,
            is_node: false,
        },
        target: ResolvedTarget::Pod(ResolvedPod {
            namespace: "default".into(),
            name: "echo".into(),
            ip: Ipv4Addr::new(10, 244, 2, 7),
            node: target_node.into(),
            port: 8080,
            protocol: Protocol::TCP,
        }),
        dns_name: None,
        dns_servers: vec![],
        nodes: vec![],
    }
}

fn options(checks: Vec<Check>) -> PlanOptions {
    PlanOptions {
        checks,
        step_timeout_ms: 2000,
        watch: Some(Watch {
            source_port: 40000,
            window_ms: 8000,
        }),
    }
}

#[test]
fn an_endpoint_run_on_another_node_watches_with_the_sources_port() {
    let plans = initial_plans(&options(vec![]), &resolved("node-b"));
    let seen: Vec<_> = (plans.iter())
        .map(|p| {
            (
                p.node.as_str(),
                p.plan.source_port,
                p.plan.watch_ms,
                p.watches(),
            )
        })
        .collect();
    assert_eq!(
        seen,
        [
            ("node-a", Some(40000), None, false),
            ("node-b", Some(40000), Some(8000), true)
        ]
    );
}

#[test]
fn nothing_watches_on_the_same_node_without_evidence_or_without_a_watch() {
    let same = initial_plans(&options(vec![]), &resolved("node-a"));
    assert!(
        same.iter()
            .all(|p| !p.watches() && p.plan.source_port.is_none())
    );
    let no_evidence = options(vec![Check::Path, Check::Connect]);
    let plans = initial_plans(&no_evidence, &resolved("node-b"));
    assert!(
        plans
            .iter()
            .all(|p| !p.watches() && p.plan.source_port.is_none())
    );
    let no_watch = PlanOptions {
        watch: None,
        ..options(vec![])
    };
    let plans = initial_plans(&no_watch, &resolved("node-b"));
    assert_eq!(plans.len(), 2);
    assert!(plans.iter().all(|p| !p.watches()));
}

#[test]
fn ports_come_from_the_ephemeral_range() {
    assert_eq!(Watch::port_from(0), 32768);
    assert_eq!(Watch::port_from(28231), 60999);
    assert_eq!(Watch::port_from(28232), 32768);
    assert!(Watch::PORTS.contains(&Watch::port_from(u64::MAX)));
}
