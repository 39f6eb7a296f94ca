//! One message per way a request can fail before it reaches a Kubernetes API server, each
//! naming the server and what to check, as kubectl does; and no command hangs on a server that
//! accepts connections but never answers. The stand-in servers listen on 127.0.0.1 only; the
//! name-lookup case runs in a new network namespace with no route anywhere.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-netdiag");
static COUNTER: AtomicU32 = AtomicU32::new(0);

/// A fresh directory for one test's kubeconfig and certificates.
fn scratch() -> PathBuf {
    // Cargo's per-package scratch directory: nothing left behind in /tmp.
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "nd-connect-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    ));
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    dir
}

fn kubeconfig(dir: &Path, server: &str, cluster_extra: &str, user: &str) -> PathBuf {
    let path = dir.join("config");
    let text = format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: t\n\
         clusters:\n- name: t\n  cluster:\n    server: {server}\n{cluster_extra}\
         contexts:\n- name: t\n  context:\n    cluster: t\n    user: u\n    namespace: default\n\
         users:\n- name: u\n  user:\n{user}"
    );
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    path
}

const TOKEN_USER: &str = "    token: t\n";

fn plugin(config: &Path, args: &[&str]) -> (Output, Duration) {
    let started = Instant::now();
    let out = Command::new(BIN)
        .args(args)
        .env("KUBECONFIG", config)
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {BIN}: {e}"));
    (out, started.elapsed())
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn assert_clean(out: &Output, want: &str) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(want), "wanted {want:?} in: {err}");
    for debug in [
        "Status {",
        "Output {",
        "ServiceError",
        "Error deserializing",
        "'\"",
    ] {
        assert!(!err.contains(debug), "a Debug dump ({debug}) in: {err}");
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port: {e}"))
}

#[test]
fn a_refused_connection_is_said_like_kubectl() {
    let dir = scratch();
    let server = format!("https://127.0.0.1:{}", free_port());
    let config = kubeconfig(&dir, &server, "", TOKEN_USER);
    let (out, _) = plugin(&config, &["get"]);
    assert_clean(
        &out,
        &format!(
            "The connection to the server {server} was refused - did you specify the right host or port?"
        ),
    );
}

/// Accepts connections and holds them, never answering.
fn silent_server() -> (u16, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let handle = std::thread::spawn(move || {
        let mut held = Vec::new();
        let until = Instant::now() + Duration::from_secs(30);
        listener.set_nonblocking(true).ok();
        while Instant::now() < until {
            if let Ok((s, _)) = listener.accept() {
                held.push(s);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    });
    (port, handle)
}

#[test]
fn a_server_that_never_answers_bounds_get_and_trace() {
    let dir = scratch();
    let (port, _server) = silent_server();
    let server = format!("http://127.0.0.1:{port}");
    let config = kubeconfig(&dir, &server, "", TOKEN_USER);

    let (out, took) = plugin(&config, &["get", "--request-timeout", "1s"]);
    assert_clean(
        &out,
        &format!("the API server {server} did not answer in time"),
    );
    assert!(took < Duration::from_secs(6), "get took {took:?}");

    let (out, took) = plugin(&config, &["trace", "pod/a", "svc/b", "--timeout", "3s"]);
    assert_clean(
        &out,
        &format!("the API server {server} did not answer within 3s"),
    );
    assert!(took < Duration::from_secs(8), "trace took {took:?}");
}

/// Answers every request with an HTML page, like a proxy's login page.
fn html_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    std::thread::spawn(move || {
        for s in listener.incoming().take(4).flatten() {
            let mut s = s;
            let mut buf = [0u8; 4096];
            let _ = s.read(&mut buf);
            let body = "<html><body>Please log in</body></html>";
            let _ = write!(
                s,
                "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    port
}

#[test]
fn an_answer_that_is_not_kubernetes_says_so() {
    let dir = scratch();
    let server = format!("http://127.0.0.1:{}", html_server());
    let config = kubeconfig(&dir, &server, "", TOKEN_USER);
    let (out, _) = plugin(&config, &["get"]);
    assert_clean(&out, &format!("the server {server} answered with"));
    assert_clean(&out, "does not look like a Kubernetes API server");
}

#[test]
fn a_failing_credential_plugin_shows_its_stderr() {
    let dir = scratch();
    let server = format!("http://127.0.0.1:{}", free_port());
    let user = "    exec:\n      apiVersion: client.authentication.k8s.io/v1\n      command: /bin/sh\n      args: [\"-c\", \"echo 'token expired: run login' >&2; exit 3\"]\n      interactiveMode: Never\n";
    let config = kubeconfig(&dir, &server, "", user);
    let (out, _) = plugin(&config, &["get"]);
    assert_clean(&out, "token expired: run login");
    assert_clean(&out, "exit status 3");
}

/// Run openssl with `args`; panics with its stderr on failure.
fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("openssl not found (apt-get install openssl): {e}"));
    assert!(out.status.success(), "openssl {args:?}: {}", stderr(&out));
}

/// `openssl s_server` presenting a leaf certificate for `name` signed by a throwaway CA;
/// returns the server, its port and the CA certificate.
fn tls_server(dir: &Path, name: &str) -> (Child, u16, PathBuf) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-subj",
            "/CN=netdiag-test-ca",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "key.pem",
            "-out",
            "leaf.csr",
            "-subj",
            &format!("/CN={name}"),
        ],
    );
    std::fs::write(
        dir.join("leaf.ext"),
        format!("subjectAltName=DNS:{name}\nbasicConstraints=CA:FALSE\n"),
    )
    .unwrap_or_else(|e| panic!("leaf.ext: {e}"));
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-out",
            "cert.pem",
            "-extfile",
            "leaf.ext",
        ],
    );
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let port = free_port();
    let child = Command::new("openssl")
        .args([
            "s_server",
            "-quiet",
            "-accept",
            &format!("127.0.0.1:{port}"),
        ])
        .arg("-cert")
        .arg(&cert)
        .arg("-key")
        .arg(&key)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("openssl s_server: {e}"));
    let until = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "openssl s_server did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    (child, port, dir.join("ca.pem"))
}

struct Killed(Child);
impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn an_unknown_certificate_authority_is_named() {
    let dir = scratch();
    let (child, port, _) = tls_server(&dir, "localhost");
    let _guard = Killed(child);
    let server = format!("https://127.0.0.1:{port}");
    let config = kubeconfig(&dir, &server, "", TOKEN_USER);
    let (out, _) = plugin(&config, &["get"]);
    assert_clean(
        &out,
        &format!("the server {server} presented a certificate signed by an unknown authority"),
    );
}

#[test]
fn a_certificate_for_another_host_is_named() {
    let dir = scratch();
    let (child, port, ca) = tls_server(&dir, "api.example.invalid");
    let _guard = Killed(child);
    let server = format!("https://127.0.0.1:{port}");
    let ca = std::fs::read(&ca).unwrap_or_default();
    let extra = format!(
        "    certificate-authority-data: {}\n",
        data_encoding::BASE64.encode(&ca)
    );
    let config = kubeconfig(&dir, &server, &extra, TOKEN_USER);
    let (out, _) = plugin(&config, &["get"]);
    assert_clean(
        &out,
        &format!("the certificate of the server {server} is not valid for that host name"),
    );
}

#[test]
fn a_host_that_does_not_resolve_is_named() {
    if !root_or_skip() {
        return;
    }
    let dir = scratch();
    let server = "https://api.cluster.invalid:6443";
    let config = kubeconfig(&dir, server, "", TOKEN_USER);
    // A namespace with only a loopback that is down: the lookup cannot leave the machine.
    let ns = format!(
        "nd-dns-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::SeqCst)
    );
    let added = Command::new("ip").args(["netns", "add", &ns]).status();
    assert!(added.is_ok_and(|s| s.success()), "ip netns add {ns}");
    let out = Command::new("ip")
        .args(["netns", "exec", &ns, BIN, "get"])
        .env("KUBECONFIG", &config)
        .stdin(Stdio::null())
        .output();
    let _ = Command::new("ip").args(["netns", "del", &ns]).status();
    let out = out.unwrap_or_else(|e| panic!("ip netns exec: {e}"));
    assert_clean(
        &out,
        &format!("cannot resolve the host of the server {server}"),
    );
}

fn root_or_skip() -> bool {
    if nix_is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "this test needs root (a network namespace) and CI is set"
    );
    eprintln!("skipping: needs root");
    false
}

fn nix_is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}
