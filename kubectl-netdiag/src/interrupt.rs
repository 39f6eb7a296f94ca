//! Ctrl-C during `trace`: caught from the first API read on, so it never leaves a NetProbe
//! behind, and answered with what became of the probe and exit status 130.

/// What a Ctrl-C left: nothing, or a probe that was deleted, kept, or may still be there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Interruption {
    /// Stopped while reading the source and target: nothing was created.
    BeforeCreate,
    /// The probe was created and is now deleted.
    Deleted { namespace: String, name: String },
    /// `--keep`: the probe stays, with what it found so far.
    Kept { namespace: String, name: String },
    /// The delete failed or was not confirmed in time (a warning said why).
    NotDeleted { namespace: String, name: String },
}

impl Interruption {
    /// What became of probe `namespace/name` after the clean-up step.
    pub fn after_create(namespace: &str, name: &str, keep: bool, deleted: bool) -> Self {
        let (namespace, name) = (namespace.to_string(), name.to_string());
        match (keep, deleted) {
            (true, _) => Interruption::Kept { namespace, name },
            (false, true) => Interruption::Deleted { namespace, name },
            (false, false) => Interruption::NotDeleted { namespace, name },
        }
    }
}

impl std::fmt::Display for Interruption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Interruption::BeforeCreate => f.write_str("no probe was created"),
            Interruption::Deleted { namespace, name } => {
                write!(f, "probe deleted ({namespace}/{name})")
            }
            Interruption::Kept { namespace, name } => write!(
                f,
                "probe kept (--keep): see `kubectl netdiag -n {namespace} describe {name}`"
            ),
            Interruption::NotDeleted { namespace, name } => write!(
                f,
                "probe {namespace}/{name} may still exist: delete it with `kubectl -n {namespace} delete netprobe {name}`"
            ),
        }
    }
}

/// Resolves on Ctrl-C (SIGINT). Where the handler cannot be installed it never resolves, so the
/// command runs as it would without one instead of stopping as if interrupted.
pub async fn ctrl_c() {
    if tokio::signal::ctrl_c().await.is_err() {
        std::future::pending::<()>().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;

    #[test]
    fn ctrl_c_exits_130_and_says_what_became_of_the_probe() {
        let e = Error::Interrupted(Interruption::after_create("default", "p", false, true));
        assert_eq!(e.exit_code(), 130);
        assert_eq!(e.to_string(), "interrupted; probe deleted (default/p)");
        let e = Error::Interrupted(Interruption::BeforeCreate);
        assert_eq!(e.to_string(), "interrupted; no probe was created");
        let kept = Interruption::after_create("default", "p", true, false).to_string();
        assert!(kept.starts_with("probe kept"), "{kept}");
        let left = Interruption::after_create("default", "p", false, false).to_string();
        assert!(
            left.contains("kubectl -n default delete netprobe p"),
            "{left}"
        );
    }
}
