//! SIGTERM stops the controller binary within a few seconds, whatever the API server does: a
//! stand-in API server on 127.0.0.1 that never answers, and one that grants the lease and then
//! leaves a reconcile hanging on its source pod.
#![cfg(unix)]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http::{Request, Response};
use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use netdiag_testkit::kubeconfig::{Kubeconfig, scratch_dir};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::{Value, json};
use tokio::net::TcpListener;

/// What the stand-in saw, as "METHOD path?query" lines.
type Log = Arc<Mutex<Vec<String>>>;

fn seen(log: &Log) -> Vec<String> {
    log.lock().map(|l| l.clone()).unwrap_or_default()
}

fn reply(body: Value) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(body.to_string())));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    r
}

/// A Lease held by the test's controller, renewed just now.
fn lease() -> Value {
    let now = jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    json!({
        "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
        "metadata": {"name": "netdiag-controller", "namespace": "netdiag-system", "resourceVersion": "1"},
        "spec": {"holderIdentity": "shutdown-test", "leaseDurationSeconds": 15, "acquireTime": now, "renewTime": now, "leaseTransitions": 1},
    })
}

fn probe_list() -> Value {
    json!({"apiVersion": "netdiag.dev/v1alpha1", "kind": "NetProbeList", "metadata": {"resourceVersion": "5"}, "items": [{
        "apiVersion": "netdiag.dev/v1alpha1", "kind": "NetProbe",
        "metadata": {"name": "p", "namespace": "default", "uid": "u-1", "generation": 1, "resourceVersion": "5"},
        "spec": {"source": {"pod": "curl1"}, "target": {"service": {"name": "echo"}}},
    }]})
}

/// Serve on 127.0.0.1 until the test ends. `answer` false: accept connections and never answer
/// anything. `answer` true: grant the lease, list one NetProbe and no pods, and never answer
/// anything else (watches, the reconcile's reads).
async fn stand_in(answer: bool, log: Log) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let log = log.clone();
            tokio::spawn(async move {
                let svc = service_fn(move |req: Request<Incoming>| {
                    let log = log.clone();
                    async move {
                        let (parts, body) = req.into_parts();
                        let body = body
                            .collect()
                            .await
                            .map(|b| b.to_bytes())
                            .unwrap_or_default();
                        let line = format!(
                            "{} {}?{} {}",
                            parts.method,
                            parts.uri.path(),
                            parts.uri.query().unwrap_or_default(),
                            String::from_utf8_lossy(&body)
                        );
                        if let Ok(mut l) = log.lock() {
                            l.push(line);
                        }
                        let path = parts.uri.path();
                        let watching = parts.uri.query().unwrap_or_default().contains("watch=true");
                        if !answer || watching {
                            std::future::pending::<()>().await;
                        }
                        let body = if path.contains("/leases") {
                            lease()
                        } else if path == "/apis/netdiag.dev/v1alpha1/netprobes" {
                            probe_list()
                        } else if path == "/api/v1/namespaces/netdiag-system/pods" {
                            json!({"apiVersion": "v1", "kind": "PodList", "metadata": {"resourceVersion": "5"}, "items": []})
                        } else {
                            std::future::pending::<()>().await;
                            Value::Null
                        };
                        Ok::<_, Infallible>(reply(body))
                    }
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc)
                    .await;
            });
        }
    });
    addr
}

fn kubeconfig(dir: &std::path::Path, addr: SocketAddr) -> PathBuf {
    Kubeconfig::new(&format!("http://{addr}")).write(&dir.join("kubeconfig"))
}

fn start(kubeconfig: &std::path::Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_netdiag-controller"))
        .args(["run", "--metrics-addr", "127.0.0.1:0"])
        .env("KUBECONFIG", kubeconfig)
        .env("POD_NAMESPACE", "netdiag-system")
        .env("POD_NAME", "shutdown-test")
        .env("RUST_LOG", "info")
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start netdiag-controller")
}

/// Send SIGTERM to our own child and return how long it took to exit.
async fn terminate(child: &mut Child) -> Duration {
    let pid = Pid::from_raw(i32::try_from(child.id()).expect("pid"));
    kill(pid, Signal::SIGTERM).expect("SIGTERM");
    let sent = Instant::now();
    while sent.elapsed() < Duration::from_secs(15) {
        if child.try_wait().expect("wait").is_some() {
            return sent.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("netdiag-controller did not exit within 15 s of SIGTERM");
}

async fn wait_for(log: &Log, what: &str) {
    let start = Instant::now();
    while !seen(log).iter().any(|l| l.contains(what)) {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no {what:?} request came; saw {:?}",
            seen(log)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn scratch(name: &str) -> PathBuf {
    scratch_dir(env!("CARGO_TARGET_TMPDIR"), &format!("netdiag-{name}"))
}

#[tokio::test]
async fn sigterm_stops_the_controller_within_5s_when_the_api_server_never_answers() {
    let log = Log::default();
    let addr = stand_in(false, log.clone()).await;
    let dir = scratch("never");
    let mut child = start(&kubeconfig(&dir, addr));
    wait_for(&log, "/leases").await;
    let took = terminate(&mut child).await;
    let _ = std::fs::remove_dir_all(&dir);
    assert!(took < Duration::from_secs(5), "took {took:?}");
}

#[tokio::test]
async fn sigterm_cuts_off_a_hanging_reconcile_releases_the_lease_and_exits_within_5s() {
    let log = Log::default();
    let addr = stand_in(true, log.clone()).await;
    let dir = scratch("hang");
    let mut child = start(&kubeconfig(&dir, addr));
    // Leading, and a reconcile is stuck reading the source pod.
    wait_for(&log, "GET /api/v1/namespaces/default/pods/curl1").await;
    let before = seen(&log).len();
    let took = terminate(&mut child).await;
    let _ = std::fs::remove_dir_all(&dir);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let released = seen(&log)[before..].iter().any(|l| {
        l.starts_with("PATCH /apis/coordination.k8s.io/v1/namespaces/netdiag-system/leases/")
            && l.contains("\"holderIdentity\":null")
    });
    assert!(released, "no lease release after SIGTERM: {:?}", seen(&log));
}
