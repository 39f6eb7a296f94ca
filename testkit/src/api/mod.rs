//! One mock Kubernetes API server for the controller's and the plugin's tests: a
//! [`kube::Client`] whose requests a test answers in order ([`client`], [`MockServer`],
//! [`Seen`]), builders for the objects it answers with ([`objects`]), and the request sequences
//! several tests share ([`scenario`]).
//!
//! ```ignore
//! let (client, mut api) = netdiag_testkit::api::client();
//! let server = tokio::spawn(async move {
//!     api.expect("GET", "/api/v1/namespaces/default/pods/curl")
//!         .await
//!         .ok(&Pod::test("curl").ip("10.244.1.2"));
//!     api.done().await;
//! });
//! ```

pub mod objects;
pub mod scenario;
pub mod server;

pub use objects::prelude;
pub use server::{MockServer, Seen, list, status, to_json};

use http::{Request, Response};
use kube::client::Body;

/// A client whose default namespace is `default`, wired to the mock server that answers it.
pub fn client() -> (kube::Client, MockServer) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (
        kube::Client::new(service, "default"),
        MockServer::new(handle),
    )
}

#[cfg(test)]
mod tests;
