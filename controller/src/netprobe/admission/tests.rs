use super::*;
use serde_json::json;

fn limits(all: usize, per_node: usize, per_minute: usize) -> Limits {
    Limits {
        max_agent_pods: all,
        max_agent_pods_per_node: per_node,
        max_runs_per_namespace_per_minute: per_minute,
    }
}

fn load(per_node: &[(&str, usize)]) -> PodLoad {
    PodLoad {
        total: per_node.iter().map(|(_, n)| n).sum(),
        per_node: per_node.iter().map(|(k, n)| (k.to_string(), *n)).collect(),
    }
}

fn nodes(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

fn demand<'a>(nodes: &'a [String], new_run: bool) -> Demand<'a> {
    Demand {
        namespace: "team-a",
        nodes,
        new_run,
    }
}

fn queued(a: Admission) -> Queued {
    match a {
        Admission::Queue(q) => q,
        Admission::Admit => panic!("admitted"),
    }
}

#[test]
fn a_full_node_queues_the_run_and_says_which_node_flag_and_when() {
    let on_a = nodes(&["node-a"]);
    let q = queued(decide(
        &limits(50, 2, 30),
        &load(&[("node-a", 2)]),
        RecentRuns::default(),
        &demand(&on_a, true),
    ));
    assert_eq!(q.limit, Limit::AgentPodsPerNode);
    assert_eq!(q.limit.reason(), "NodeAgentPodLimit");
    assert_eq!(q.retry_after, POD_RETRY);
    assert_eq!(
        q.message,
        "node node-a already runs 2 agent pods (--max-agent-pods-per-node=2): queued, retrying in 10s"
    );
    let on_b = nodes(&["node-b"]);
    assert_eq!(
        decide(
            &limits(50, 2, 30),
            &load(&[("node-a", 2)]),
            RecentRuns::default(),
            &demand(&on_b, true)
        ),
        Admission::Admit,
        "another node is free"
    );
}

#[test]
fn the_cluster_wide_limit_counts_every_node() {
    let on_c = nodes(&["node-c"]);
    let q = queued(decide(
        &limits(3, 2, 30),
        &load(&[("node-a", 2), ("node-b", 1)]),
        RecentRuns::default(),
        &demand(&on_c, false),
    ));
    assert_eq!(q.limit, Limit::AgentPods);
    assert!(
        q.message
            .contains("3 agent pods are running (--max-agent-pods=3)"),
        "{}",
        q.message
    );
}

#[test]
fn a_namespace_over_its_rate_waits_until_its_oldest_run_leaves_the_minute() {
    let on_a = nodes(&["node-a"]);
    let runs = RecentRuns {
        count: 30,
        oldest_age: Some(Duration::from_secs(45)),
    };
    let q = queued(decide(
        &limits(50, 2, 30),
        &PodLoad::default(),
        runs,
        &demand(&on_a, true),
    ));
    assert_eq!(q.limit, Limit::RunsPerNamespace);
    assert_eq!(q.retry_after, Duration::from_secs(15));
    assert!(
        q.message.contains("namespace team-a started 30 runs"),
        "{}",
        q.message
    );
    // A restart or a second step is not a new run.
    assert_eq!(
        decide(
            &limits(50, 2, 30),
            &PodLoad::default(),
            runs,
            &demand(&on_a, false)
        ),
        Admission::Admit
    );
}

#[test]
fn a_run_bigger_than_a_limit_still_starts_when_nothing_else_runs() {
    let both_on_a = nodes(&["node-a", "node-a"]);
    let tight = limits(1, 1, 30);
    assert_eq!(
        decide(
            &tight,
            &PodLoad::default(),
            RecentRuns::default(),
            &demand(&both_on_a, true)
        ),
        Admission::Admit
    );
    assert!(matches!(
        decide(
            &tight,
            &load(&[("node-b", 1)]),
            RecentRuns::default(),
            &demand(&both_on_a, true)
        ),
        Admission::Queue(Queued {
            limit: Limit::AgentPods,
            ..
        })
    ));
}

#[test]
fn only_pods_still_at_work_count() {
    let pod = |node: &str, phase: &str| -> Pod {
        serde_json::from_value(json!({"metadata": {"name": "x"}, "spec": {"nodeName": node,
            "containers": []}, "status": {"phase": phase}}))
        .expect("a pod")
    };
    let pods = [
        pod("node-a", "Running"),
        pod("node-a", "Pending"),
        pod("node-a", "Succeeded"),
        pod("node-b", "Failed"),
        pod("node-b", "Unknown"),
    ];
    assert_eq!(PodLoad::of(&pods), load(&[("node-a", 2), ("node-b", 1)]));
}

#[test]
fn the_ledger_forgets_runs_older_than_a_minute() {
    let t0 = Instant::now();
    let mut ledger = RunLedger::default();
    ledger.record("team-a", t0);
    ledger.record("team-a", t0 + Duration::from_secs(20));
    ledger.record("team-b", t0 + Duration::from_secs(20));
    let now = t0 + Duration::from_secs(70);
    assert_eq!(
        ledger.recent("team-a", now),
        RecentRuns {
            count: 1,
            oldest_age: Some(Duration::from_secs(50))
        }
    );
    assert_eq!(ledger.recent("team-c", now), RecentRuns::default());
    assert_eq!(
        ledger.recent("team-b", t0 + Duration::from_secs(80)),
        RecentRuns::default()
    );
    assert!(ledger.starts.is_empty(), "emptied namespaces are dropped");
}
