//! One message per way a request can fail before it reaches a Kubernetes API server, each
//! naming the server and what to check, as kubectl does; and no command hangs on a server that
//! accepts connections but never answers. The stand-in servers listen on 127.0.0.1 only; the
//! name-lookup case runs in a new network namespace with no route anywhere.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use netdiag_testkit::kubeconfig::{
    Kubeconfig, TOKEN_USER, answering_server, free_port, scratch_dir, silent_server,
};

const BIN: &str = env!("CARGO_BIN_EXE_kubectl-netdiag");

/// A fresh directory for one test's kubeconfig and certificates, in Cargo's per-package
/// scratch directory: nothing left behind in /tmp.
fn scratch() -> PathBuf {
    scratch_dir(env!("CARGO_TARGET_TMPDIR"), "nd-connect")
}

/// `dir/config`: `server` with these extra cluster lines and this user, namespace `default`.
fn kubeconfig(dir: &Path, server: &str, cluster_extra: &str, user: &str) -> PathBuf {
    Kubeconfig::new(server)
        .cluster_extra(cluster_extra)
        .user(user)
        .namespace("default")
        .write(&dir.join("config"))
}

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

#[test]
fn a_server_that_never_answers_bounds_get_and_trace() {
    let dir = scratch();
    let server = format!("http://127.0.0.1:{}", silent_server());
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
    answering_server("text/html", "<html><body>Please log in</body></html>", 4)
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

// Network namespaces exist only on Linux.
#[cfg(target_os = "linux")]
#[test]
fn a_host_that_does_not_resolve_is_named() {
    if !netdiag_testkit::root_or_skip("a_host_that_does_not_resolve_is_named") {
        return;
    }
    let dir = scratch();
    let server = "https://api.cluster.invalid:6443";
    let config = kubeconfig(&dir, server, "", TOKEN_USER);
    // A namespace with only a loopback that is down: the lookup cannot leave the machine.
    let ns = format!("nd-{}", netdiag_testkit::unique_name("dns"));
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
