//! Leader election over a Lease in the controller's namespace (kube-lease-manager), so two
//! replicas never both create agent pods or write status.

use kube::Client;
use kube_lease_manager::{LeaseManagerBuilder, LeaseManagerError};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// The Lease's name.
pub const LEASE_NAME: &str = "netdiag-controller";
/// Lease duration and renew grace, in seconds.
const DURATION_SECONDS: u64 = 15;
const GRACE_SECONDS: u64 = 5;

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error(
        "setting up the Lease {namespace}/{LEASE_NAME} failed: {source}; the controller needs get/create/patch on leases in its namespace"
    )]
    Setup {
        namespace: String,
        #[source]
        source: LeaseManagerError,
    },
}

/// A running election: `is_leader` flips as leadership is won and lost. Dropping the receiver
/// makes the task release the lease.
pub struct Election {
    pub is_leader: watch::Receiver<bool>,
    pub task: JoinHandle<Result<kube_lease_manager::LeaseManager, LeaseManagerError>>,
}

/// Join the election as `identity` (the pod's name).
pub async fn join(
    client: Client,
    namespace: &str,
    identity: &str,
) -> Result<Election, LeaderError> {
    let manager = LeaseManagerBuilder::new(client, LEASE_NAME)
        .with_namespace(namespace)
        .with_identity(identity)
        .with_duration(DURATION_SECONDS)
        .with_grace(GRACE_SECONDS)
        .build()
        .await
        .map_err(|source| LeaderError::Setup {
            namespace: namespace.to_string(),
            source,
        })?;
    let (is_leader, task) = manager.watch().await;
    Ok(Election { is_leader, task })
}
