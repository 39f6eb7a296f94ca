//! Kubeconfigs for tests that run the plugin's binary against a stand-in server: context `t`,
//! cluster `t`, user `u`, written into a scratch directory of the test's own.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// A fresh directory `TAG-PID-N` under `base` (pass `env!("CARGO_TARGET_TMPDIR")`, Cargo's
/// scratch directory for a package's tests: nothing is left in /tmp).
pub fn scratch_dir(base: &str, tag: &str) -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let dir = Path::new(base).join(format!("{tag}-{}-{n}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

/// A local port nothing listens on (bound, then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

/// The user entry of a token, the commonest.
pub const TOKEN_USER: &str = "    token: t\n";

/// A kubeconfig for `server` with context `t`.
pub struct Kubeconfig {
    server: String,
    cluster_extra: String,
    user: String,
    namespace: Option<String>,
}

impl Kubeconfig {
    /// `server` with a token user and no namespace in the context.
    pub fn new(server: &str) -> Kubeconfig {
        Kubeconfig {
            server: server.into(),
            cluster_extra: String::new(),
            user: TOKEN_USER.into(),
            namespace: None,
        }
    }

    /// More lines of the cluster entry, indented by four (`    certificate-authority: ...\n`).
    pub fn cluster_extra(mut self, lines: &str) -> Kubeconfig {
        self.cluster_extra = lines.into();
        self
    }

    /// The user entry's lines, indented by four (`    exec:\n      ...`).
    pub fn user(mut self, lines: &str) -> Kubeconfig {
        self.user = lines.into();
        self
    }

    /// The context's namespace.
    pub fn namespace(mut self, namespace: &str) -> Kubeconfig {
        self.namespace = Some(namespace.into());
        self
    }

    pub fn text(&self) -> String {
        let namespace = (self.namespace.as_ref())
            .map(|n| format!("    namespace: {n}\n"))
            .unwrap_or_default();
        format!(
            "apiVersion: v1\nkind: Config\ncurrent-context: t\n\
             clusters:\n- name: t\n  cluster:\n    server: {}\n{}\
             contexts:\n- name: t\n  context:\n    cluster: t\n    user: u\n{namespace}\
             users:\n- name: u\n  user:\n{}",
            self.server, self.cluster_extra, self.user
        )
    }

    /// Write it to `path`, and return that.
    pub fn write(&self, path: &Path) -> PathBuf {
        std::fs::write(path, self.text()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        path.to_path_buf()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_text_is_the_kubeconfig_the_tests_wrote_by_hand() {
        let text = Kubeconfig::new("http://127.0.0.1:1")
            .namespace("default")
            .text();
        assert_eq!(
            text,
            "apiVersion: v1\nkind: Config\ncurrent-context: t\nclusters:\n- name: t\n  cluster:\n    server: http://127.0.0.1:1\n\
             contexts:\n- name: t\n  context:\n    cluster: t\n    user: u\n    namespace: default\nusers:\n- name: u\n  user:\n    token: t\n"
        );
    }
}
