//! The mock API server, in the kube-rs/controller-rs `ApiServerVerifier` style: a test states
//! every request the code under test must make, in order, and what the server answers. A request
//! that differs fails the test, an expected request that never comes fails it after a timeout,
//! and so does a request left over at the end.

use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use serde::Serialize;
use serde_json::{Value, json};
use tower_test::mock::{Handle, SendResponse};

/// How long a test waits for a request it expects. Long enough for a loaded CI machine, short
/// enough that a request that never comes fails the test rather than hanging it.
pub const WAIT: Duration = Duration::from_secs(5);

/// How long the server must stay quiet for [`MockServer::done`].
pub const QUIET: Duration = Duration::from_millis(300);

/// The server side of a [`kube::Client`] made by [`super::client`].
pub struct MockServer(Handle<Request<Body>, Response<Body>>);

impl MockServer {
    pub(super) fn new(handle: Handle<Request<Body>, Response<Body>>) -> MockServer {
        MockServer(handle)
    }

    /// The next request, whatever it is (for requests that interleave, or loops that answer
    /// until the client stops); `None` when none comes within [`WAIT`] or the client is gone.
    pub async fn next(&mut self) -> Option<Seen> {
        self.next_within(WAIT).await
    }

    /// [`Self::next`] with another wait.
    pub async fn next_within(&mut self, wait: Duration) -> Option<Seen> {
        let (request, send) = tokio::time::timeout(wait, self.0.next_request())
            .await
            .ok()??;
        Some(Seen::read(request, send).await)
    }

    /// The next request, which must be `method` on exactly `path` (the query is not compared:
    /// check it with [`Seen::assert_query`]).
    pub async fn expect(&mut self, method: impl AsRef<str>, path: &str) -> Seen {
        let method = method.as_ref();
        let seen = self.must_come(method, path).await;
        assert!(
            seen.method == method && seen.path == path,
            "expected {method} {path}, got {} {}?{}",
            seen.method,
            seen.path,
            seen.query
        );
        seen
    }

    /// The next request, which must be `method` on a path that starts with `prefix`.
    pub async fn expect_prefix(&mut self, method: impl AsRef<str>, prefix: &str) -> Seen {
        let method = method.as_ref();
        let seen = self.must_come(method, prefix).await;
        assert!(
            seen.method == method && seen.path.starts_with(prefix),
            "expected {method} {prefix}..., got {} {}?{}",
            seen.method,
            seen.path,
            seen.query
        );
        seen
    }

    async fn must_come(&mut self, method: &str, path: &str) -> Seen {
        let next = tokio::time::timeout(WAIT, self.0.next_request())
            .await
            .unwrap_or_else(|_| panic!("expected {method} {path}, but no request came"))
            .unwrap_or_else(|| panic!("expected {method} {path}, but the client is gone"));
        Seen::read(next.0, next.1).await
    }

    /// No further request comes (within [`QUIET`], or before the client goes away).
    pub async fn done(&mut self) {
        if let Ok(Some((req, _))) = tokio::time::timeout(QUIET, self.0.next_request()).await {
            panic!("unexpected request: {} {}", req.method(), req.uri());
        }
    }
}

/// One request as the server saw it, to be answered by one of its reply methods. Dropping it
/// unanswered leaves the client waiting (what a watch that has nothing to say looks like).
pub struct Seen {
    pub method: Method,
    pub path: String,
    /// The query string, still percent-encoded as the client sent it.
    pub query: String,
    /// The body as JSON; `Null` when it is empty or not JSON.
    pub body: Value,
    send: SendResponse<Response<Body>>,
}

impl Seen {
    async fn read(request: Request<Body>, send: SendResponse<Response<Body>>) -> Seen {
        let (parts, body) = request.into_parts();
        let bytes = body
            .collect_bytes()
            .await
            .unwrap_or_else(|e| panic!("{} {}: request body: {e}", parts.method, parts.uri));
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Seen {
            method: parts.method,
            path: parts.uri.path().to_string(),
            query: parts.uri.query().unwrap_or_default().to_string(),
            body,
            send,
        }
    }

    /// The query holds `part` (percent-encoded, as sent: `labelSelector=app%3Dcurl`).
    pub fn assert_query(self, part: &str) -> Seen {
        assert!(
            self.query.contains(part),
            "{} {}: wanted {part:?} in the query {:?}",
            self.method,
            self.path,
            self.query
        );
        self
    }

    /// Answer with `body` as JSON and status `code`.
    pub fn reply(self, code: StatusCode, body: &impl Serialize) {
        let bytes = serde_json::to_vec(body)
            .unwrap_or_else(|e| panic!("{} {}: reply body: {e}", self.method, self.path));
        self.raw(code, bytes);
    }

    fn raw(self, code: StatusCode, bytes: Vec<u8>) {
        match Response::builder().status(code).body(Body::from(bytes)) {
            Ok(resp) => self.send.send_response(resp),
            Err(e) => panic!("{} {}: response: {e}", self.method, self.path),
        }
    }

    pub fn ok(self, body: &impl Serialize) {
        self.reply(StatusCode::OK, body);
    }

    /// Answer with a list of `items`.
    pub fn ok_list<T: Serialize>(self, items: &[T]) {
        self.ok(&list(items));
    }

    /// 201, as a create answers.
    pub fn created(self, body: &impl Serialize) {
        self.reply(StatusCode::CREATED, body);
    }

    /// Answer with the request's own body (what a create returns, near enough).
    pub fn echo(self) {
        let body = self.body.clone();
        self.ok(&body);
    }

    /// A failure as the API server words it: a `Status` object with this code, reason and
    /// message (kube turns it into an `ErrorResponse`).
    pub fn status(self, code: u16, reason: &str, message: &str) {
        let http = StatusCode::from_u16(code)
            .unwrap_or_else(|e| panic!("{} {}: status {code}: {e}", self.method, self.path));
        self.reply(http, &status(code, reason, message));
    }

    pub fn not_found(self) {
        self.status(404, "NotFound", "not found");
    }

    /// 409 AlreadyExists, what a create of an existing name gets.
    pub fn already_exists(self) {
        self.status(409, "AlreadyExists", "already exists");
    }

    /// 409 Conflict, what a write with a stale resourceVersion gets.
    pub fn conflict(self) {
        self.status(409, "Conflict", "the object has been modified");
    }

    /// `Status: Success`, what a delete answers.
    pub fn success(self) {
        self.ok(
            &json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success"}),
        );
    }

    /// Plain text (a pod log).
    pub fn text(self, body: &str) {
        self.raw(StatusCode::OK, body.as_bytes().to_vec());
    }

    /// A watch's answer: one JSON event a line, `(type, object)`, then the end of the stream.
    /// No events is a watch that timed out with nothing to say.
    pub fn watch_events<'a>(self, events: impl IntoIterator<Item = (&'a str, &'a Value)>) {
        let mut stream = String::new();
        for (kind, object) in events {
            stream += &format!("{}\n", json!({"type": kind, "object": object}));
        }
        self.text(&stream);
    }

    /// Answer a NetProbe status apply (`.../netprobes/NAME/status`) with a NetProbe carrying the
    /// applied status: the caller only needs the call to succeed and the answer to parse.
    pub fn applied(self) {
        let mut parts = self.path.rsplit('/').skip(1);
        let name = parts.next().unwrap_or("p").to_string();
        let namespace = parts.nth(1).unwrap_or("default").to_string();
        let body = json!({
            "apiVersion": "netdiag.dev/v1alpha1",
            "kind": "NetProbe",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"source": {"pod": "curl1"}, "target": {"dns": {"name": "x"}}},
            "status": self.body["status"].clone(),
        });
        self.ok(&body);
    }
}

/// The Kubernetes `Status` object of a failure.
pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

/// A list as the API server returns it.
pub fn list<T: Serialize>(items: impl IntoIterator<Item = T>) -> Value {
    let items: Vec<Value> = items.into_iter().map(|i| to_json(&i)).collect();
    json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": items})
}

/// `value` as JSON, for a test to edit or compare.
pub fn to_json(value: &impl Serialize) -> Value {
    serde_json::to_value(value).unwrap_or_else(|e| panic!("to JSON: {e}"))
}
