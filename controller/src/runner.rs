//! Wiring: the kube-runtime Controller on NetProbes (waking on their agent pods too), the
//! leftover-pod sweep, leader election, the HTTP server and graceful shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::runtime::controller::Controller;
use kube::runtime::events::{Recorder, Reporter};
use kube::runtime::reflector::ObjectRef;
use kube::runtime::watcher;
use kube::{Api, Client, ResourceExt};
use netdiag_crds::NetProbe;
use prometheus_client::registry::Registry;
use tokio::sync::watch;

use crate::http::{self, HttpError, State};
use crate::leader::{self, LeaderError};
use crate::metrics::Metrics;
use crate::pod::{PROBE_NAME_ANNOTATION, PROBE_NAMESPACE_ANNOTATION, agent_selector};
use crate::reconcile::{Context, Settings, error_policy, reconcile};

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
pub fn probe_of(pod: &Pod) -> Option<ObjectRef<NetProbe>> {
    let ns = pod.annotations().get(PROBE_NAMESPACE_ANNOTATION)?;
    let name = pod.annotations().get(PROBE_NAME_ANNOTATION)?;
    Some(ObjectRef::new(name).within(ns))
}

/// Resolves when `flag` becomes `want` (or its sender is gone).
async fn until(flag: watch::Receiver<bool>, want: bool) {
    became(flag, want).await;
}

/// Whether `flag` became `want`; false when its sender is gone (the election task ended).
async fn became(mut flag: watch::Receiver<bool>, want: bool) -> bool {
    flag.wait_for(|v| *v == want).await.is_ok()
}

/// Run the controller while this replica leads, until `shutdown` becomes true. Returns false
/// when the election itself ended: leadership can no longer be known, so nothing may act.
async fn lead(
    ctx: Arc<Context>,
    is_leader: watch::Receiver<bool>,
    shutdown: watch::Receiver<bool>,
) -> bool {
    loop {
        tokio::select! {
            _ = until(shutdown.clone(), true) => return true,
            won = became(is_leader.clone(), true) => if !won { return false },
        }
        tracing::info!("leading: starting the NetProbe controller");
        let probes: Api<NetProbe> = Api::all(ctx.client.clone());
        let pods: Api<Pod> = Api::namespaced(ctx.client.clone(), &ctx.settings.agent.namespace);
        let controller = Controller::new(probes, watcher::Config::default()).watches(
            pods.clone(),
            watcher::Config::default().labels(&agent_selector()),
            |pod| probe_of(&pod),
        );
        let store = controller.store();
        // Stop when shutting down or when leadership is lost; in-flight reconciles finish.
        let (stop_tx, stop_rx) = watch::channel(false);
        let (sd, lost) = (shutdown.clone(), is_leader.clone());
        let stopper = tokio::spawn(async move {
            tokio::select! {
                _ = until(sd, true) => {}
                _ = until(lost, false) => {}
            }
            let _ = stop_tx.send(true);
        });
        let gc = tokio::spawn(crate::gc::run(pods, store, until(stop_rx.clone(), true)));
        controller
            .graceful_shutdown_on(until(stop_rx, true))
            .run(reconcile, error_policy, ctx.clone())
            .for_each(|res| async move {
                match res {
                    Ok((obj, _)) => tracing::debug!(probe = %obj.name, "reconciled"),
                    Err(e) => tracing::debug!(error = %e, "reconcile loop reported an error"),
                }
            })
            .await;
        let _ = gc.await;
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
) -> Result<(), RunError> {
    let mut registry = Registry::default();
    let metrics = Metrics::default().register(&mut registry);
    let state = Arc::new(State {
        registry,
        ready: false.into(),
    });
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down");
        let _ = shutdown_tx.send(true);
    });
    let listener = http::bind(metrics_addr).await?;
    let server = tokio::spawn(http::serve(
        listener,
        state.clone(),
        until(shutdown_rx.clone(), true),
    ));

    let election = leader::join(client.clone(), &settings.agent.namespace, &identity).await?;
    state.ready.store(true, Ordering::Relaxed);
    let reporter = Reporter {
        controller: crate::MANAGER.to_string(),
        instance: Some(identity),
    };
    let ctx = Arc::new(Context {
        recorder: Recorder::new(client.clone(), reporter),
        client,
        settings,
        metrics,
    });
    let clean = lead(ctx, election.is_leader.clone(), shutdown_rx).await;
    // Dropping the last receiver makes the election task release the lease.
    let leader::Election { is_leader, task } = election;
    drop(is_leader);
    match task.await {
        Ok(Ok(_)) => tracing::info!("released the lease"),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "releasing the lease failed; it expires on its own")
        }
        Err(e) => tracing::warn!(error = %e, "the election task ended abnormally"),
    }
    if !clean {
        server.abort();
        return Err(RunError::ElectionEnded);
    }
    if let Err(e) = server.await {
        tracing::warn!(error = %e, "the HTTP server task ended abnormally");
    }
    Ok(())
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
