//! A tower-test stand-in for the API server, shared by the plugin's API tests: each test
//! answers the requests the plugin must make, in order, and fails on an unexpected one.
#![allow(dead_code)]

pub mod trace;

use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use kubectl_netdiag::client::Ctx;
use serde_json::{Value, json};
use tower_test::mock::{Handle, SendResponse};

pub type MockHandle = Handle<Request<Body>, Response<Body>>;

pub fn ctx() -> (Ctx, MockHandle) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let ctx = Ctx {
        client: kube::Client::new(service, "default"),
        namespace: "default".into(),
        server: "https://127.0.0.1:6443".into(),
    };
    (ctx, handle)
}

/// The next request, which must be `method` on a path starting with `path`.
pub async fn expect(
    handle: &mut MockHandle,
    method: Method,
    path: &str,
) -> (Request<Body>, SendResponse<Response<Body>>) {
    let next = tokio::time::timeout(Duration::from_secs(5), handle.next_request()).await;
    let Ok(Some((req, send))) = next else {
        panic!("expected {method} {path}, but no request came");
    };
    assert_eq!(req.method(), method, "{}", req.uri());
    assert!(
        req.uri().path().starts_with(path),
        "expected {method} {path}, got {} {}",
        req.method(),
        req.uri()
    );
    (req, send)
}

pub fn reply(send: SendResponse<Response<Body>>, code: StatusCode, body: &Value) {
    let bytes = serde_json::to_vec(body).unwrap_or_default();
    match Response::builder().status(code).body(Body::from(bytes)) {
        Ok(r) => send.send_response(r),
        Err(e) => panic!("response: {e}"),
    }
}

pub async fn body_json(req: Request<Body>) -> Value {
    use http_body_util::BodyExt as _;
    let bytes = req
        .into_body()
        .collect()
        .await
        .map(|b| b.to_bytes())
        .unwrap_or_default();
    serde_json::from_slice(&bytes).unwrap_or(Value::Null)
}

pub fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
           "message": message, "reason": reason, "code": code})
}

/// Nothing more may be requested.
pub async fn expect_no_more(h: &mut MockHandle) {
    let next = tokio::time::timeout(Duration::from_millis(300), h.next_request()).await;
    if let Ok(Some((req, _))) = next {
        panic!("nothing may be created, got {} {}", req.method(), req.uri());
    }
}

pub fn reply_raw(send: SendResponse<Response<Body>>, body: String) {
    match Response::builder().body(Body::from(body.into_bytes())) {
        Ok(r) => send.send_response(r),
        Err(e) => panic!("response: {e}"),
    }
}
