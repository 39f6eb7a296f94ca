//! The plugin's [`Ctx`] wired to testkit's mock API server, shared by the plugin's API tests:
//! each test answers the requests the plugin must make, in order, and fails on an unexpected one.
#![allow(dead_code)]

pub mod trace;

use kubectl_netdiag::client::Ctx;
use netdiag_testkit::api::{self, MockServer};

/// A context in namespace `default` whose client talks to the returned mock server.
pub fn ctx() -> (Ctx, MockServer) {
    let (client, server) = api::client();
    let ctx = Ctx {
        client,
        namespace: "default".into(),
        server: "https://127.0.0.1:6443".into(),
    };
    (ctx, server)
}
