//! Watch one NetProbe until it finishes, with a deadline and a warning when nobody picks it up.

use std::time::Duration;

use futures::TryStreamExt as _;
use kube::ResourceExt as _;
use kube::api::{Api, WatchEvent, WatchParams};
use netdiag_crds::NetProbe;
use tokio::time::Instant;

use crate::error::{self, Error};
use crate::progress::Progress;

/// How long to wait, and when to speak up.
#[derive(Clone, Copy, Debug)]
pub struct WaitConfig {
    /// Give up after this long.
    pub deadline: Duration,
    /// Warn when the probe still has no status after this long: the controller is not running.
    pub pending_warning: Duration,
    /// Redraw progress (elapsed time) this often.
    pub tick: Duration,
}

impl WaitConfig {
    /// The probe's own timeout, plus time for agent pods to be scheduled and their images pulled.
    pub fn for_timeout(timeout: Duration) -> Self {
        WaitConfig {
            deadline: timeout + Duration::from_secs(30),
            pending_warning: Duration::from_secs(10),
            tick: Duration::from_millis(250),
        }
    }
}

/// Whether the controller has touched the probe at all.
fn picked_up(p: &NetProbe) -> bool {
    p.status
        .as_ref()
        .is_some_and(|s| s.phase.is_some() || s.observed_generation.is_some())
}

fn finished(p: &NetProbe) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.phase)
        .is_some_and(|ph| ph.is_finished())
}

/// Watch `created` until its phase is Succeeded or Failed, and return it.
pub async fn until_finished(
    api: &Api<NetProbe>,
    created: &NetProbe,
    cfg: WaitConfig,
    progress: &mut dyn Progress,
) -> Result<NetProbe, Error> {
    let name = created.name_any();
    let ns = created.namespace().unwrap_or_default();
    let start = Instant::now();
    let deadline = start + cfg.deadline;
    let warn_at = start + cfg.pending_warning;
    let mut warned = false;
    let mut last = created.clone();
    let mut version = created.resource_version().unwrap_or_default();
    if finished(&last) {
        return Ok(last);
    }
    let mut tick = tokio::time::interval(cfg.tick);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let remaining = deadline.saturating_duration_since(Instant::now());
        // The server ends a watch after its timeout; keep each one within the deadline.
        let secs = remaining.as_secs().clamp(1, 290) as u32;
        let wp = WatchParams::default()
            .fields(&format!("metadata.name={name}"))
            .timeout(secs);
        // Bounded too: a server that accepts the request but never answers must not outlast
        // the deadline.
        let from = version.clone();
        let watch = api.watch(&wp, &from);
        let mut watch = std::pin::pin!(watch);
        let stream = loop {
            tokio::select! {
                r = &mut watch => break r.map_err(|e| error::api("watch", "netprobes", Some(&ns), e))?,
                _ = tokio::time::sleep_until(warn_at), if !warned => {
                    warned = true;
                    if !picked_up(&last) {
                        progress.warn(&pending_warning(&ns, &name, cfg.pending_warning));
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    progress.finish();
                    return Err(deadline_passed(&last, ns, name, cfg.deadline));
                }
            }
        };
        let mut stream = std::pin::pin!(stream);
        let watch_started = Instant::now();
        loop {
            tokio::select! {
                ev = stream.try_next() => match ev {
                    Ok(Some(WatchEvent::Added(p) | WatchEvent::Modified(p))) => {
                        version = p.resource_version().unwrap_or(version);
                        last = p;
                        progress.update(&last, start.elapsed());
                        if finished(&last) {
                            return Ok(last);
                        }
                    }
                    Ok(Some(WatchEvent::Deleted(_))) => {
                        return Err(Error::ProbeDeleted { namespace: ns, name });
                    }
                    Ok(Some(WatchEvent::Bookmark(b))) => {
                        version = b.metadata.resource_version;
                    }
                    // 410 Gone: our resourceVersion is too old; read the probe afresh.
                    Ok(Some(WatchEvent::Error(status))) if status.code == 410 => {
                        last = match tokio::time::timeout_at(deadline, api.get(&name)).await {
                            Ok(r) => r.map_err(|e| error::api("get", "netprobes", Some(&ns), e))?,
                            Err(_) => return Err(deadline_passed(&last, ns, name, cfg.deadline)),
                        };
                        if finished(&last) {
                            return Ok(last);
                        }
                        version = last.resource_version().unwrap_or_default();
                        break;
                    }
                    Ok(Some(WatchEvent::Error(status))) => {
                        return Err(error::api("watch", "netprobes", Some(&ns), kube::Error::Api(status)));
                    }
                    // The server closed the watch: start another from where we are, pausing
                    // first if it closed at once so a misbehaving server is not hammered.
                    Ok(None) => {
                        if watch_started.elapsed() < Duration::from_secs(1) {
                            tokio::time::sleep(Duration::from_millis(100)).await;
                        }
                        break;
                    }
                    Err(e) => return Err(error::api("watch", "netprobes", Some(&ns), e)),
                },
                _ = tokio::time::sleep_until(warn_at), if !warned => {
                    warned = true;
                    if !picked_up(&last) {
                        progress.warn(&pending_warning(&ns, &name, cfg.pending_warning));
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    progress.finish();
                    return Err(deadline_passed(&last, ns, name, cfg.deadline));
                }
                _ = tick.tick() => progress.update(&last, start.elapsed()),
            }
        }
    }
}

/// The warning for a probe nobody has picked up yet.
fn pending_warning(ns: &str, name: &str, after: Duration) -> String {
    format!(
        "NetProbe {ns}/{name} is still Pending after {}: is the netdiag controller running? Check `kubectl -n {} get deployment {}`",
        seconds(after),
        error::CONTROLLER_NAMESPACE,
        error::CONTROLLER_DEPLOYMENT,
    )
}

/// The deadline passed: a probe the controller never touched means no controller runs.
fn deadline_passed(last: &NetProbe, namespace: String, name: String, waited: Duration) -> Error {
    if picked_up(last) {
        Error::Timeout {
            namespace,
            name,
            waited,
            phase: last
                .status
                .as_ref()
                .and_then(|s| s.phase)
                .map(|p| p.to_string())
                .unwrap_or_else(|| "Pending".into()),
        }
    } else {
        Error::ControllerNotRunning {
            namespace,
            name,
            waited,
        }
    }
}

/// `10s`, or `0.2s` below a second.
fn seconds(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{:.1}s", d.as_secs_f64())
    }
}
