//! The controller's HTTP endpoints: `/metrics` (Prometheus text), `/healthz` (the process
//! serves) and `/readyz` (it reached the API server, is either leading or standing by, and its
//! watches work: see [`crate::runtime::health`]).
//! Plain hyper, already in the tree through kube.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

use crate::runtime::health::WatchHealth;

/// Shared between the server and the controller.
pub struct State {
    pub registry: Registry,
    pub ready: AtomicBool,
    pub health: Arc<WatchHealth>,
}

#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(
        "binding the metrics and health server to {addr} failed: {source}; pick another --metrics-addr"
    )]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
}

fn text(code: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body)));
    *r.status_mut() = code;
    r
}

/// Answer one request (pure apart from reading the state).
pub fn respond(state: &State, method: &Method, path: &str) -> Response<Full<Bytes>> {
    if method != Method::GET {
        return text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n".into());
    }
    match path {
        "/healthz" => text(StatusCode::OK, "ok\n".into()),
        "/readyz" if !state.ready.load(Ordering::Relaxed) => {
            text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n".into())
        }
        "/readyz" => match state.health.problem() {
            Some(why) => text(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {why}\n"),
            ),
            None => text(StatusCode::OK, "ready\n".into()),
        },
        "/metrics" => match crate::runtime::metrics::encode(&state.registry) {
            Ok(body) => {
                let mut r = text(StatusCode::OK, body);
                r.headers_mut().insert(
                    http::header::CONTENT_TYPE,
                    http::HeaderValue::from_static(
                        "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    ),
                );
                r
            }
            Err(e) => text(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("encoding metrics failed: {e}\n"),
            ),
        },
        _ => text(StatusCode::NOT_FOUND, "not found\n".into()),
    }
}

/// Bind before anything else starts, so a bad address fails start-up.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, HttpError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })
}

/// Serve until `shutdown` fires.
pub async fn serve(
    listener: TcpListener,
    state: Arc<State>,
    shutdown: impl std::future::Future<Output = ()>,
) {
    tracing::info!(addr = ?listener.local_addr().ok(), "serving /metrics, /healthz and /readyz");
    tokio::pin!(shutdown);
    loop {
        let (stream, _) = tokio::select! {
            _ = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::warn!(error = %e, "accepting a connection failed");
                    continue;
                }
            },
        };
        let state = state.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req: Request<Incoming>| {
                let resp = respond(&state, req.method(), req.uri().path());
                async move { Ok::<_, Infallible>(resp) }
            });
            if let Err(e) = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), svc)
                .await
            {
                tracing::debug!(error = %e, "metrics connection ended with an error");
            }
        });
    }
}
