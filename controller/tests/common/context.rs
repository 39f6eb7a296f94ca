//! The controller's [`Context`] wired to testkit's mock API server.

use std::sync::Arc;

use kube::runtime::events::{Recorder, Reporter};
use netdiag_controller::agents::pod::AgentSettings;
use netdiag_controller::netprobe::admission::Limits;
use netdiag_controller::netprobe::{Context, Settings};
use netdiag_controller::runtime::metrics::Metrics;
use netdiag_testkit::api::{self, MockServer};

pub const AGENT_IMAGE: &str = "registry.example/netdiag:test";

/// A Context wired to the mock, and the mock that plays the API server.
pub fn test_context() -> (Arc<Context>, MockServer) {
    test_context_with(Limits::default())
}

/// [`test_context`] with these limits on agent pods and runs.
pub fn test_context_with(limits: Limits) -> (Arc<Context>, MockServer) {
    test_context_full(limits, Default::default())
}

/// [`test_context`] allowing node sources where `node_sources` says.
pub fn test_context_with_node_sources(
    node_sources: netdiag_controller::netprobe::node_source::NodeSourcePolicy,
) -> (Arc<Context>, MockServer) {
    test_context_full(Limits::default(), node_sources)
}

fn test_context_full(
    limits: Limits,
    node_sources: netdiag_controller::netprobe::node_source::NodeSourcePolicy,
) -> (Arc<Context>, MockServer) {
    let (client, server) = api::client();
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
    (Arc::new(ctx), server)
}
