//! Whether a run may start its agent pods now (pure, no client required): the limits on
//! privileged agent pods (all nodes together and per node) and on runs a namespace starts per
//! minute. A run over a limit is queued, not failed: the reconcile writes a `Queued` condition
//! saying which limit and when it retries, and looks again then.
//!
//! A run whose own pods alone exceed a pod limit (a source and an endpoint pod on one node under
//! `--max-agent-pods-per-node=1`) still starts when nothing else runs there, so no limit can
//! hold a run back forever.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Pod;

/// The window of the per-namespace run limit.
pub const RATE_WINDOW: Duration = Duration::from_secs(60);
/// How soon a run queued behind a pod limit looks again: agent pods live seconds.
pub const POD_RETRY: Duration = Duration::from_secs(10);

/// The controller's limits, from its flags.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_agent_pods: usize,
    pub max_agent_pods_per_node: usize,
    pub max_runs_per_namespace_per_minute: usize,
}

impl Default for Limits {
    /// The flags' defaults; docs/controller.md says why each.
    fn default() -> Self {
        Limits {
            max_agent_pods: 50,
            max_agent_pods_per_node: 2,
            max_runs_per_namespace_per_minute: 30,
        }
    }
}

/// The agent pods at work now: not yet Succeeded or Failed, deleted or not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PodLoad {
    pub total: usize,
    pub per_node: BTreeMap<String, usize>,
}

impl PodLoad {
    /// Count the agent pods still at work (pure): a finished pod holds no node resources.
    pub fn of(pods: &[Pod]) -> PodLoad {
        let mut load = PodLoad::default();
        for p in pods {
            let phase = p.status.as_ref().and_then(|s| s.phase.as_deref());
            if matches!(phase, Some("Succeeded" | "Failed")) {
                continue;
            }
            load.total += 1;
            let node = p.spec.as_ref().and_then(|s| s.node_name.clone());
            *load.per_node.entry(node.unwrap_or_default()).or_default() += 1;
        }
        load
    }
}

/// The runs a namespace started within [`RATE_WINDOW`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RecentRuns {
    pub count: usize,
    /// How long ago the oldest of them started.
    pub oldest_age: Option<Duration>,
}

/// What a run asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Demand<'a> {
    pub namespace: &'a str,
    /// The node of each pod to create, one entry per pod.
    pub nodes: &'a [String],
    /// A new run (counted against the namespace's rate), not a restart or a second step.
    pub new_run: bool,
}

/// Which limit queued a run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Limit {
    RunsPerNamespace,
    AgentPodsPerNode,
    AgentPods,
}

impl Limit {
    /// The `Queued` condition's reason.
    pub fn reason(self) -> &'static str {
        match self {
            Limit::RunsPerNamespace => "RunRateLimit",
            Limit::AgentPodsPerNode => "NodeAgentPodLimit",
            Limit::AgentPods => "AgentPodLimit",
        }
    }

    /// The controller flag that sets it.
    pub fn flag(self) -> &'static str {
        match self {
            Limit::RunsPerNamespace => "--max-runs-per-namespace-per-minute",
            Limit::AgentPodsPerNode => "--max-agent-pods-per-node",
            Limit::AgentPods => "--max-agent-pods",
        }
    }
}

/// A run that waits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued {
    pub limit: Limit,
    pub message: String,
    pub retry_after: Duration,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Admission {
    Admit,
    Queue(Queued),
}

fn queue(limit: Limit, what: String, max: usize, retry_after: Duration) -> Admission {
    // Rounded up: "in 60s" for 59.9 s, never "in 0s".
    let secs = retry_after.as_secs_f64().ceil().max(1.0);
    Admission::Queue(Queued {
        limit,
        message: format!(
            "{what} ({}={max}): queued, retrying in {secs}s",
            limit.flag()
        ),
        retry_after,
    })
}

/// Admit the run or queue it behind the first limit it would exceed (pure): the namespace's
/// run rate, then each node's pods, then all pods.
pub fn decide(limits: &Limits, pods: &PodLoad, runs: RecentRuns, demand: &Demand<'_>) -> Admission {
    if demand.new_run && runs.count >= limits.max_runs_per_namespace_per_minute {
        let wait = RATE_WINDOW
            .saturating_sub(runs.oldest_age.unwrap_or_default())
            .max(Duration::from_secs(1));
        let what = format!(
            "namespace {} started {} runs in the last minute",
            demand.namespace, runs.count
        );
        return queue(
            Limit::RunsPerNamespace,
            what,
            limits.max_runs_per_namespace_per_minute,
            wait,
        );
    }
    let mut wanted: BTreeMap<&str, usize> = BTreeMap::new();
    for n in demand.nodes {
        *wanted.entry(n.as_str()).or_default() += 1;
    }
    for (node, n) in wanted {
        let active = pods.per_node.get(node).copied().unwrap_or(0);
        if active > 0 && active + n > limits.max_agent_pods_per_node {
            let what = format!("node {node} already runs {active} agent pods");
            return queue(
                Limit::AgentPodsPerNode,
                what,
                limits.max_agent_pods_per_node,
                POD_RETRY,
            );
        }
    }
    if pods.total > 0 && pods.total + demand.nodes.len() > limits.max_agent_pods {
        let what = format!("{} agent pods are running", pods.total);
        return queue(Limit::AgentPods, what, limits.max_agent_pods, POD_RETRY);
    }
    Admission::Admit
}

/// When each namespace started its recent runs. In memory: only the leader starts runs, and a
/// new leader starts with an empty ledger, so right after a fail-over a namespace may start up
/// to twice its limit within one minute.
#[derive(Debug, Default)]
pub struct RunLedger {
    starts: HashMap<String, VecDeque<Instant>>,
}

impl RunLedger {
    fn prune(&mut self, now: Instant) {
        for q in self.starts.values_mut() {
            while q
                .front()
                .is_some_and(|t| now.saturating_duration_since(*t) >= RATE_WINDOW)
            {
                q.pop_front();
            }
        }
        self.starts.retain(|_, q| !q.is_empty());
    }

    /// The runs `namespace` started within the window before `now`.
    pub fn recent(&mut self, namespace: &str, now: Instant) -> RecentRuns {
        self.prune(now);
        let q = self.starts.get(namespace);
        RecentRuns {
            count: q.map_or(0, VecDeque::len),
            oldest_age: q
                .and_then(|q| q.front())
                .map(|t| now.saturating_duration_since(*t)),
        }
    }

    pub fn record(&mut self, namespace: &str, now: Instant) {
        self.starts
            .entry(namespace.to_string())
            .or_default()
            .push_back(now);
    }
}

#[cfg(test)]
mod tests;
