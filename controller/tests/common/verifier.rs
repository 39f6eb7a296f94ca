//! A mock API server in the kube-rs/controller-rs `ApiServerVerifier` style: the test states
//! every request the reconciler must make, in order, with what the server answers. A request
//! that differs fails the test, an expected request that never comes fails it after a timeout,
//! and so does any request left over at the end.

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use kube::runtime::events::{Recorder, Reporter};
use netdiag_controller::agents::pod::AgentSettings;
use netdiag_controller::netprobe::admission::Limits;
use netdiag_controller::netprobe::{Context, Settings};
use netdiag_controller::runtime::metrics::Metrics;
use serde_json::{Value, json};
use tower_test::mock::{self, Handle, SendResponse};

pub const AGENT_IMAGE: &str = "registry.example/netdiag:test";
const WAIT: Duration = Duration::from_secs(5);

pub struct ApiServerVerifier(Handle<Request<Body>, Response<Body>>);

/// One request as the server saw it.
pub struct Seen {
    pub method: http::Method,
    pub path: String,
    pub query: String,
    pub body: Value,
    send: SendResponse<Response<Body>>,
}

impl Seen {
    async fn read(request: Request<Body>, send: SendResponse<Response<Body>>) -> Seen {
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.expect("request body");
        let body: Value = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap_or(Value::Null)
        };
        Seen {
            method: parts.method.clone(),
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or_default().to_string(),
            body,
            send,
        }
    }

    pub fn reply_json(self, code: StatusCode, body: &Value) {
        let bytes = serde_json::to_vec(body).expect("json");
        let resp = Response::builder()
            .status(code)
            .body(Body::from(bytes))
            .expect("response");
        self.send.send_response(resp);
    }

    pub fn ok(self, body: &Value) {
        self.reply_json(StatusCode::OK, body);
    }

    pub fn not_found(self) {
        let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "not found"});
        self.reply_json(StatusCode::NOT_FOUND, &status);
    }

    pub fn already_exists(self) {
        let status = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "AlreadyExists", "code": 409, "message": "already exists"});
        self.reply_json(StatusCode::CONFLICT, &status);
    }

    pub fn text(self, body: &str) {
        let resp = Response::builder()
            .body(Body::from(body.as_bytes().to_vec()))
            .expect("response");
        self.send.send_response(resp);
    }

    /// Answer a status apply with a NetProbe carrying the applied status (the reconciler only
    /// needs the call to succeed and the answer to parse).
    pub fn applied(self) {
        let body = json!({
            "apiVersion": "netdiag.dev/v1alpha1",
            "kind": "NetProbe",
            "metadata": {"name": "p", "namespace": "default"},
            "spec": {"source": {"pod": "curl1"}, "target": {"dns": {"name": "x"}}},
            "status": self.body["status"].clone(),
        });
        self.ok(&body);
    }

    /// Answer with the request's own body (what create returns, near enough).
    pub fn echo(self) {
        let body = self.body.clone();
        self.ok(&body);
    }
}

impl ApiServerVerifier {
    /// The next request, whatever it is, for tests where requests of concurrent reconciles
    /// interleave; `None` when none comes within the wait.
    pub async fn next(&mut self) -> Option<Seen> {
        let (request, send) = tokio::time::timeout(WAIT, self.0.next_request())
            .await
            .ok()??;
        Some(Seen::read(request, send).await)
    }

    /// The next request, which must have this method and path.
    pub async fn expect(&mut self, method: &str, path: &str) -> Seen {
        let next = tokio::time::timeout(WAIT, self.0.next_request())
            .await
            .unwrap_or_else(|_| panic!("expected {method} {path}, but no request came"))
            .unwrap_or_else(|| panic!("expected {method} {path}, but the client is gone"));
        let (request, send) = next;
        let seen = Seen::read(request, send).await;
        assert_eq!(
            (seen.method.as_str(), seen.path.as_str()),
            (method, path),
            "query: {}",
            seen.query
        );
        seen
    }

    /// No further request comes.
    pub async fn done(mut self) {
        if let Ok(Some((req, _))) =
            tokio::time::timeout(Duration::from_millis(200), self.0.next_request()).await
        {
            panic!("unexpected request: {} {}", req.method(), req.uri());
        }
    }
}

/// A Context wired to the mock, and the verifier that plays the API server.
pub fn test_context() -> (Arc<Context>, ApiServerVerifier) {
    test_context_with(Limits::default())
}

/// [`test_context`] with these limits on agent pods and runs.
pub fn test_context_with(limits: Limits) -> (Arc<Context>, ApiServerVerifier) {
    test_context_full(limits, Default::default())
}

/// [`test_context`] allowing node sources where `node_sources` says.
pub fn test_context_with_node_sources(
    node_sources: netdiag_controller::netprobe::node_source::NodeSourcePolicy,
) -> (Arc<Context>, ApiServerVerifier) {
    test_context_full(Limits::default(), node_sources)
}

fn test_context_full(
    limits: Limits,
    node_sources: netdiag_controller::netprobe::node_source::NodeSourcePolicy,
) -> (Arc<Context>, ApiServerVerifier) {
    let (service, handle) = mock::pair::<Request<Body>, Response<Body>>();
    let client = Client::new(service, "default");
    let reporter = Reporter {
        controller: "netdiag-controller".into(),
        instance: Some("test".into()),
    };
    let settings = Settings {
        agent: AgentSettings {
            image: AGENT_IMAGE.into(),
            namespace: "netdiag-system".into(),
        },
        cluster_domain: "cluster.local".into(),
        limits,
        node_sources,
    };
    let recorder = Recorder::new(client.clone(), reporter);
    let ctx = Context::new(client, settings, recorder, Metrics::default());
    (Arc::new(ctx), ApiServerVerifier(handle))
}
