//! Wiring: the kube-runtime Controller on NetProbes (waking on their agent pods too), the
//! leftover-pod sweep, leader election, the HTTP server and a bounded shutdown.
//!
//! NetProbes are watched as untyped objects and decoded one by one ([`crate::netprobe::decode`]), so one
//! bad object cannot stop the watch. Every watch error is logged at warn, counted and fed to
//! [`WatchHealth`] for `/readyz`. On SIGTERM or lost leadership, in-flight reconciles get
//! [`RECONCILE_GRACE`] and are then cut off, and releasing the lease gets [`RELEASE_TIMEOUT`]:
//! the process exits within a few seconds even when the API server does not answer.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::DynamicObject;
use kube::runtime::controller::{self, Controller};
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::{self, ObjectRef};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client, ResourceExt};
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use crate::agents::pod::{PROBE_NAME_ANNOTATION, PROBE_NAMESPACE_ANNOTATION, agent_selector};
use crate::inspection;
use crate::netprobe::decode;
use crate::netprobe::{Context, Settings, error_policy_object, reconcile_object};
use crate::runtime::health::WatchHealth;
use crate::runtime::http::{self, HttpError, State};
use crate::runtime::leader::{self, LeaderError};
use crate::runtime::metrics::Metrics;
use netdiag_crds::{INSPECTION_LABEL, NodeInspection};

/// How long in-flight reconciles may go on after a stop before they are cut off. A reconcile
/// is idempotent: the next leader's first reconcile adopts whatever a cut-off one left.
pub const RECONCILE_GRACE: Duration = Duration::from_secs(3);
/// How long releasing the lease may take at shutdown; past that it expires on its own.
pub const RELEASE_TIMEOUT: Duration = Duration::from_secs(2);
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error(transparent)]
    Leader(#[from] LeaderError),
    #[error(
        "the leader election stopped (see the errors before this); exiting so the pod restarts"
    )]
    ElectionEnded,
}

/// The NetProbe an agent pod works for, from its annotations (owner references cannot cross
/// namespaces).
pub fn probe_of(pod: &Pod) -> Option<ObjectRef<DynamicObject>> {
    let ns = pod.annotations().get(PROBE_NAMESPACE_ANNOTATION)?;
    let name = pod.annotations().get(PROBE_NAME_ANNOTATION)?;
    Some(ObjectRef::new_with(name, decode::api_resource()).within(ns))
}

/// Resolves when `flag` becomes `want` (or its sender is gone).
async fn until(flag: watch::Receiver<bool>, want: bool) {
    became(flag, want).await;
}

/// Whether `flag` became `want`; false when its sender is gone (the election task ended).
async fn became(mut flag: watch::Receiver<bool>, want: bool) -> bool {
    flag.wait_for(|v| *v == want).await.is_ok()
}

/// Feeds one watch's outcome to the log, the metrics and [`WatchHealth`].
fn observe<K>(
    health: Arc<WatchHealth>,
    metrics: Metrics,
    resource: &'static str,
) -> impl FnMut(&Result<watcher::Event<K>, watcher::Error>) {
    move |event| match event {
        // `Init` comes before the list request, so only what a request returned counts.
        Ok(watcher::Event::Init) => {}
        Ok(_) => health.ok(resource),
        Err(e) => {
            metrics.watch_error(resource);
            health.failed(resource, e.to_string());
            tracing::warn!(resource, error = %e, "watching failed; the watcher retries with backoff");
        }
    }
}

/// Run the NetProbe and NodeInspection controllers and the agent-pod sweep until `stop` becomes
/// true; returns at
/// most [`RECONCILE_GRACE`] after that.
pub async fn control(ctx: Arc<Context>, health: Arc<WatchHealth>, stop: watch::Receiver<bool>) {
    let resource = decode::api_resource();
    let probes: Api<DynamicObject> = Api::all_with(ctx.client.clone(), &resource);
    let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ctx.settings.agent.namespace);
    let writer = reflector::store::Writer::new(resource.clone());
    let store = writer.as_reader();
    let probe_events = watcher(probes, watcher::Config::default())
        .inspect(observe(health.clone(), ctx.metrics.clone(), "netprobes"))
        .reflect(writer)
        .applied_objects();
    let pod_events = watcher(
        pods.clone(),
        watcher::Config::default().labels(&agent_selector()),
    )
    .inspect(observe(health, ctx.metrics.clone(), "pods"))
    .touched_objects();
    let controller = Controller::for_stream_with(probe_events, store.clone(), resource)
        .watches_stream(pod_events, |pod| probe_of(&pod));
    let config_maps = Api::namespaced(ctx.client.clone(), &ctx.settings.agent.namespace);
    let gc = tokio::spawn(crate::agents::gc::run(
        pods,
        config_maps,
        store,
        until(stop.clone(), true),
    ));
    let run = controller
        .graceful_shutdown_on(until(stop.clone(), true))
        .run(reconcile_object, error_policy_object, ctx.clone())
        .for_each(|res| async move {
            match res {
                Ok((obj, _)) => tracing::debug!(probe = %obj.name, "reconciled"),
                // Logged where they happen: watch errors by `observe`, reconcile errors by
                // the error policy.
                Err(controller::Error::QueueError(_) | controller::Error::ReconcilerFailed(..)) => {
                }
                Err(e) => tracing::warn!(error = %e, "the controller reported an error"),
            }
        });
    // NodeInspections: typed (a bad one only fails its own reconcile), woken by their pods,
    // which they own.
    let inspections = Controller::new(
        Api::<NodeInspection>::all(ctx.client.clone()),
        watcher::Config::default(),
    )
    .owns(
        Api::<Pod>::namespaced(ctx.client.clone(), &ctx.settings.agent.namespace),
        watcher::Config::default().labels(INSPECTION_LABEL),
    )
    .graceful_shutdown_on(until(stop.clone(), true))
    .run(inspection::reconcile, inspection::error_policy, ctx)
    .for_each(|res| async move {
        if let Ok((obj, _)) = res {
            tracing::debug!(inspection = %obj.name, "reconciled");
        }
    });
    let run = futures::future::join(run, inspections);
    tokio::pin!(run);
    let cut_off = async {
        until(stop, true).await;
        tokio::time::sleep(RECONCILE_GRACE).await;
    };
    tokio::select! {
        _ = &mut run => {}
        _ = cut_off => tracing::warn!(
            grace_seconds = RECONCILE_GRACE.as_secs(),
            "in-flight reconciles did not finish in time: cut off; the next reconcile of each probe picks it up"
        ),
    }
    // A sweep blocked on the API must not hold the shutdown either.
    gc.abort();
}

/// Run the controller while this replica leads, until `shutdown` becomes true. Returns false
/// when the election itself ended: leadership can no longer be known, so nothing may act.
async fn lead(
    ctx: Arc<Context>,
    health: Arc<WatchHealth>,
    is_leader: watch::Receiver<bool>,
    shutdown: watch::Receiver<bool>,
) -> bool {
    loop {
        tokio::select! {
            _ = until(shutdown.clone(), true) => return true,
            won = became(is_leader.clone(), true) => if !won { return false },
        }
        tracing::info!("leading: starting the NetProbe controller");
        // Stop when shutting down or when leadership is lost.
        let (stop_tx, stop_rx) = watch::channel(false);
        let (sd, lost) = (shutdown.clone(), is_leader.clone());
        let stopper = tokio::spawn(async move {
            tokio::select! {
                _ = until(sd, true) => {}
                _ = until(lost, false) => {}
            }
            let _ = stop_tx.send(true);
        });
        control(ctx.clone(), health.clone(), stop_rx).await;
        stopper.abort();
        if *shutdown.borrow() {
            return true;
        }
        tracing::warn!("lost leadership: controller stopped, waiting to lead again");
    }
}

/// Run everything until SIGTERM or Ctrl-C.
pub async fn run(
    client: Client,
    settings: Settings,
    metrics_addr: SocketAddr,
    identity: String,
    health: Arc<WatchHealth>,
) -> Result<(), RunError> {
    run_until(
        client,
        settings,
        metrics_addr,
        identity,
        health,
        wait_for_signal(),
    )
    .await
}

/// Run everything until `signal` resolves, then stop within a few seconds: in-flight
/// reconciles get [`RECONCILE_GRACE`], releasing the lease gets [`RELEASE_TIMEOUT`].
pub async fn run_until(
    client: Client,
    settings: Settings,
    metrics_addr: SocketAddr,
    identity: String,
    health: Arc<WatchHealth>,
    signal: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), RunError> {
    let mut registry = Registry::default();
    let metrics = Metrics::default().register(&mut registry);
    let state = Arc::new(State {
        registry,
        ready: false.into(),
        health: health.clone(),
    });
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    tokio::spawn(async move {
        signal.await;
        tracing::info!("shutting down");
        let _ = shutdown_tx.send(true);
    });
    let listener = http::bind(metrics_addr).await?;
    let server = tokio::spawn(http::serve(
        listener,
        state.clone(),
        until(shutdown_rx.clone(), true),
    ));

    // Setting up the lease reads it from the API: a server that never answers must not hold
    // the shutdown.
    let election = tokio::select! {
        e = leader::join(client.clone(), &settings.agent.namespace, &identity) => e?,
        _ = until(shutdown_rx.clone(), true) => {
            server.abort();
            return Ok(());
        }
    };
    state.ready.store(true, Ordering::Relaxed);
    let reporter = Reporter {
        controller: crate::MANAGER.to_string(),
        instance: Some(identity),
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let ctx = Arc::new(Context::new(client, settings, recorder, metrics));
    let clean = lead(ctx, health, election.is_leader.clone(), shutdown_rx).await;
    release(election).await;
    if !clean {
        server.abort();
        return Err(RunError::ElectionEnded);
    }
    if let Err(e) = server.await {
        tracing::warn!(error = %e, "the HTTP server task ended abnormally");
    }
    Ok(())
}

/// Give up the lease, waiting at most [`RELEASE_TIMEOUT`] for the API server.
async fn release(election: leader::Election) {
    // Dropping the last receiver makes the election task release the lease.
    let leader::Election {
        is_leader,
        mut task,
    } = election;
    drop(is_leader);
    match tokio::time::timeout(RELEASE_TIMEOUT, &mut task).await {
        Ok(Ok(Ok(_))) => tracing::info!("released the lease"),
        Ok(Ok(Err(e))) => {
            tracing::warn!(error = %e, "releasing the lease failed; it expires on its own")
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "the election task ended abnormally"),
        Err(_) => {
            task.abort();
            tracing::warn!(
                timeout_seconds = RELEASE_TIMEOUT.as_secs(),
                "releasing the lease took too long; it expires on its own"
            );
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = term.recv() => {}
                    _ = tokio::signal::ctrl_c() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch SIGTERM; only Ctrl-C stops the controller");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
