//! Kubeconfigs for tests that run the plugin's binary against a stand-in server: context `t`,
//! cluster `t`, user `u`, written into a scratch directory of the test's own; and the stand-ins
//! on 127.0.0.1 such a kubeconfig points at, for what a real process must meet over TCP (the
//! in-process [`crate::api`] mock cannot serve another process): one that never answers, one
//! that answers every request alike.

use std::io::{Read as _, Write as _};
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

/// A stand-in that accepts every connection and holds it without a word: what a hung API
/// server, or a proxy that swallows requests, looks like to a client. Returns its port.
pub fn silent_server() -> u16 {
    let (listener, port) = listen();
    std::thread::spawn(move || {
        // Held, not dropped: a closed connection would be an answer. The thread ends with the
        // test process.
        let _held: Vec<_> = listener.incoming().flatten().collect();
    });
    port
}

/// A stand-in that answers each of its first `count` connections with `200 OK`, this
/// `Content-Type` and `body`, then closes it. Returns its port.
pub fn answering_server(content_type: &str, body: &str, count: usize) -> u16 {
    let body = body.to_string();
    routed_server(content_type, count, move |_| body.clone())
}

/// [`answering_server`] with a body that depends on the request's path (`/api/v1/nodes`, the
/// query left off): `answer` gets the path and returns the body.
pub fn routed_server(
    content_type: &str,
    count: usize,
    answer: impl Fn(&str) -> String + Send + 'static,
) -> u16 {
    let (listener, port) = listen();
    let content_type = content_type.to_string();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().take(count).flatten() {
            // A GET's head fits one read.
            let mut request = [0u8; 8192];
            let n = stream.read(&mut request).unwrap_or(0);
            let head = String::from_utf8_lossy(&request[..n]);
            // `GET /api/v1/nodes?limit=500 HTTP/1.1`
            let target = head.split_whitespace().nth(1).unwrap_or("/");
            let path = target.split('?').next().unwrap_or(target);
            let body = answer(path);
            let response = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes());
        }
    });
    port
}

fn listen() -> (TcpListener, u16) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = (listener.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("bound port: {e}"));
    (listener, port)
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
    use std::net::TcpStream;
    use std::time::Duration;

    fn get(port: u16) -> std::io::Result<String> {
        get_path(port, "/api")
    }

    fn get_path(port: u16, target: &str) -> std::io::Result<String> {
        let mut stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_millis(300)))?;
        stream.write_all(format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        Ok(answer)
    }

    #[test]
    fn the_answering_server_answers_alike_and_the_silent_one_never() {
        let port = answering_server("application/json", "{}", 2);
        for _ in 0..2 {
            let answer = get(port).expect("an answer");
            assert!(answer.starts_with("HTTP/1.1 200 OK\r\n"), "{answer}");
            assert!(
                answer.contains("Content-Type: application/json\r\n"),
                "{answer}"
            );
            assert!(answer.ends_with("\r\n\r\n{}"), "{answer}");
        }
        let silent = get(silent_server()).expect_err("no answer");
        assert!(
            matches!(
                silent.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
            "{silent}"
        );
    }

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

    #[test]
    fn the_routed_server_answers_by_path_without_the_query() {
        let port = routed_server("text/plain", 2, |path| format!("seen {path}"));
        let answer = get_path(port, "/api/v1/nodes?limit=500").expect("an answer");
        assert!(answer.ends_with("\r\n\r\nseen /api/v1/nodes"), "{answer}");
        let answer = get_path(port, "/api/v1/namespaces/default/pods").expect("an answer");
        assert!(
            answer.ends_with("\r\n\r\nseen /api/v1/namespaces/default/pods"),
            "{answer}"
        );
    }
}
