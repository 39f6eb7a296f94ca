//! Step 5 of the pipeline, collect: what an agent pod's state means for the run, and its report.
//! The classification and the log parsing are pure; [`read_report`] only fetches the log.
//!
//! A stuck pod fails the probe with the pod's own reason (Unschedulable, ImagePullBackOff and
//! its message, OOMKilled, DeadlineExceeded...), in the categories below.

use k8s_openapi::api::core::v1::Pod;
use kube::Api;
use kube::api::LogParams;
use netdiag_model::NodeReport;

use crate::agents::pod_spec::CONTAINER;

/// How much of an agent's log to read: the report is its last line.
const LOG_TAIL_LINES: i64 = 50;
const LOG_LIMIT_BYTES: i64 = 4 * 1024 * 1024;

/// What one agent pod's state means.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PodOutcome {
    /// Still pending or running; `why` is the pod's own reason when it is waiting on something.
    InProgress {
        phase: &'static str,
        why: Option<(&'static str, String)>,
    },
    /// The agent exited 0: its report is the last log line.
    Succeeded,
    /// The agent or its pod failed: `reason` is a stable category.
    Failed {
        reason: &'static str,
        message: String,
    },
}

impl PodOutcome {
    pub fn phase(&self) -> &'static str {
        match self {
            PodOutcome::InProgress { phase, .. } => phase,
            PodOutcome::Succeeded => "Succeeded",
            PodOutcome::Failed { .. } => "Failed",
        }
    }
}

/// A container waiting reason as a static category.
fn waiting_category(reason: &str) -> &'static str {
    match reason {
        "ImagePullBackOff" => "ImagePullBackOff",
        "ErrImagePull" => "ErrImagePull",
        "InvalidImageName" => "InvalidImageName",
        "CreateContainerConfigError" => "CreateContainerConfigError",
        "CreateContainerError" => "CreateContainerError",
        "CrashLoopBackOff" => "CrashLoopBackOff",
        "ContainerCreating" => "ContainerCreating",
        _ => "AgentPodWaiting",
    }
}

fn terminated_category(reason: &str) -> &'static str {
    match reason {
        "OOMKilled" => "OOMKilled",
        "DeadlineExceeded" => "DeadlineExceeded",
        "ContainerCannotRun" => "ContainerCannotRun",
        "StartError" => "StartError",
        _ => "AgentFailed",
    }
}

/// Classify an agent pod (pure).
pub fn pod_outcome(pod: &Pod) -> PodOutcome {
    let Some(status) = pod.status.as_ref() else {
        return PodOutcome::InProgress {
            phase: "Pending",
            why: None,
        };
    };
    let container = status
        .container_statuses
        .iter()
        .flatten()
        .find(|c| c.name == CONTAINER);
    let state = container.and_then(|c| c.state.as_ref());
    match status.phase.as_deref() {
        Some("Succeeded") => PodOutcome::Succeeded,
        Some("Failed") => {
            if status.reason.as_deref() == Some("DeadlineExceeded") {
                return PodOutcome::Failed {
                    reason: "DeadlineExceeded",
                    message: status.message.clone().unwrap_or_else(|| {
                        "the agent pod ran past its active deadline (the probe's timeout)".into()
                    }),
                };
            }
            if status.reason.as_deref() == Some("Evicted") {
                return PodOutcome::Failed {
                    reason: "Evicted",
                    message: status.message.clone().unwrap_or_default(),
                };
            }
            let term = state.and_then(|s| s.terminated.as_ref());
            let reason = term
                .and_then(|t| t.reason.as_deref())
                .map(terminated_category)
                .unwrap_or("AgentFailed");
            let message = match term {
                Some(t) => format!(
                    "agent exited with code {}{}",
                    t.exit_code,
                    t.message
                        .as_deref()
                        .map(|m| format!(": {}", last_line(m)))
                        .unwrap_or_default()
                ),
                None => status
                    .message
                    .clone()
                    .unwrap_or_else(|| "the agent pod failed".into()),
            };
            PodOutcome::Failed { reason, message }
        }
        Some("Running") => PodOutcome::InProgress {
            phase: "Running",
            why: None,
        },
        Some("Pending") | None => {
            let unschedulable = status.conditions.iter().flatten().find(|c| {
                c.type_ == "PodScheduled"
                    && c.status == "False"
                    && c.reason.as_deref() == Some("Unschedulable")
            });
            let why = if let Some(c) = unschedulable {
                Some(("Unschedulable", c.message.clone().unwrap_or_default()))
            } else if let Some(w) = state.and_then(|s| s.waiting.as_ref()) {
                let raw = w.reason.clone().unwrap_or_default();
                let message = match &w.message {
                    Some(m) => format!("{raw}: {m}"),
                    None => raw.clone(),
                };
                Some((waiting_category(&raw), message))
            } else {
                None
            };
            PodOutcome::InProgress {
                phase: "Pending",
                why,
            }
        }
        Some(_) => PodOutcome::InProgress {
            phase: "Unknown",
            why: None,
        },
    }
}

/// Why a pod that is still in progress at the deadline is stuck (pure).
pub fn stuck_reason(
    pod_name: &str,
    outcome: &PodOutcome,
    timeout_seconds: i64,
) -> (&'static str, String) {
    match outcome {
        PodOutcome::InProgress {
            why: Some((reason, msg)),
            ..
        } => (*reason, format!("agent pod {pod_name}: {msg}")),
        PodOutcome::InProgress { phase, .. } => (
            "Timeout",
            format!(
                "agent pod {pod_name} was still {phase} after the probe's timeout of {timeout_seconds}s"
            ),
        ),
        PodOutcome::Failed { reason, message } => {
            (*reason, format!("agent pod {pod_name}: {message}"))
        }
        PodOutcome::Succeeded => ("Timeout", format!("agent pod {pod_name} finished too late")),
    }
}

fn last_line(s: &str) -> &str {
    s.lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim()
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error("reading the log of agent pod {pod} failed: {source}")]
    Log {
        pod: String,
        #[source]
        source: kube::Error,
    },
    #[error("agent pod {pod} printed no report; its last log line: {last_line:?}")]
    NoReport { pod: String, last_line: String },
    #[error(
        "agent pod {pod} printed a report that does not parse ({source}); is the agent image the same version as the controller?"
    )]
    BadReport {
        pod: String,
        #[source]
        source: serde_json::Error,
    },
}

impl CollectError {
    pub fn reason(&self) -> &'static str {
        match self {
            CollectError::Log { .. } => "AgentLogUnreadable",
            CollectError::NoReport { .. } => "AgentNoReport",
            CollectError::BadReport { .. } => "AgentReportInvalid",
        }
    }
}

/// The report in an agent's log (pure): the last line that is a JSON object. Lines after it
/// (stderr noise) are skipped; a last JSON object that is not a NodeReport is an error.
pub fn parse_report(pod: &str, log: &str) -> Result<NodeReport, CollectError> {
    parse_last_object(pod, log)
}

/// The last JSON object of an agent's log as `T` (a NodeReport, a node's InspectReport). Pure.
pub fn parse_last_object<T: serde::de::DeserializeOwned>(
    pod: &str,
    log: &str,
) -> Result<T, CollectError> {
    let Some(line) = log
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('{') && l.ends_with('}'))
    else {
        return Err(CollectError::NoReport {
            pod: pod.to_string(),
            last_line: last_line(log).chars().take(300).collect(),
        });
    };
    serde_json::from_str(line).map_err(|source| CollectError::BadReport {
        pod: pod.to_string(),
        source,
    })
}

/// The last non-empty log line, for a failed agent's message.
pub fn failure_line(log: &str) -> String {
    last_line(log).chars().take(500).collect()
}

/// Fetch the tail of an agent pod's log.
pub async fn read_log(pods: &Api<Pod>, name: &str) -> Result<String, CollectError> {
    let lp = LogParams {
        container: Some(CONTAINER.to_string()),
        tail_lines: Some(LOG_TAIL_LINES),
        limit_bytes: Some(LOG_LIMIT_BYTES),
        ..Default::default()
    };
    pods.logs(name, &lp)
        .await
        .map_err(|source| CollectError::Log {
            pod: name.to_string(),
            source,
        })
}

/// Fetch and parse an agent pod's report.
pub async fn read_report(pods: &Api<Pod>, name: &str) -> Result<NodeReport, CollectError> {
    let log = read_log(pods, name).await?;
    parse_report(name, &log)
}
