//! kube's errors in words a kubectl user knows: one message per way a request can fail (refused,
//! name lookup, TLS, timeout, an answer that is not the Kubernetes API, a failed credential
//! plugin, an API status), never a Rust `Debug` dump.
//!
//! Pure: an error in, a classification and a sentence out. The server URL is added by the caller
//! that knows it ([`unreachable`]).

use std::error::Error as StdError;
use std::io::ErrorKind;

/// Why a request got no usable answer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Failure {
    /// TCP connection refused.
    Refused,
    /// The server's host name did not resolve.
    NameLookup,
    /// The server's certificate is signed by an authority the kubeconfig does not trust.
    UnknownAuthority,
    /// The server's certificate does not name the host dialled.
    WrongHost,
    /// Another TLS failure, with the TLS library's words.
    Tls(String),
    /// No answer in time.
    TimedOut,
    /// An answer, but not from a Kubernetes API server (HTML, a proxy page...).
    NotKubernetes(String),
    /// The exec credential plugin failed; its stderr.
    Credential(String),
    /// The API server answered with a Status.
    Status {
        code: u16,
        reason: String,
        message: String,
    },
    /// Anything else, as the innermost error says it.
    Other(String),
}

impl Failure {
    /// Whether the request never reached a Kubernetes API server.
    pub fn is_connection(&self) -> bool {
        !matches!(self, Failure::Status { .. } | Failure::Other(_))
    }
}

/// Classify a kube error by walking its chain of causes.
pub fn classify(e: &kube::Error) -> Failure {
    match e {
        kube::Error::Api(status) => {
            // kube turns an error answer it cannot parse as a Status into one whose reason says so.
            if status.reason == "Failed to parse error data" {
                return Failure::NotKubernetes(format!(
                    "HTTP {} with a body that is not a Kubernetes Status",
                    status.code
                ));
            }
            return Failure::Status {
                code: status.code,
                reason: status.reason.clone(),
                message: status.message.clone(),
            };
        }
        kube::Error::SerdeError(_) => {
            return Failure::NotKubernetes("a body that is not Kubernetes JSON".into());
        }
        kube::Error::Auth(kube::client::AuthError::AuthExecRun { cmd, out, .. }) => {
            let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
            let status = out
                .status
                .code()
                .map(|c| format!("exit status {c}"))
                .unwrap_or_else(|| "killed by a signal".into());
            let said = if stderr.is_empty() {
                "it printed nothing on stderr".to_string()
            } else {
                stderr
            };
            return Failure::Credential(format!("`{cmd}` failed ({status}): {said}"));
        }
        _ => {}
    }
    let mut innermost = e.to_string();
    let mut cause: Option<&(dyn StdError + 'static)> = Some(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            match io.kind() {
                ErrorKind::ConnectionRefused => return Failure::Refused,
                ErrorKind::TimedOut | ErrorKind::WouldBlock => return Failure::TimedOut,
                _ => {}
            }
        }
        let text = c.to_string();
        if let Some(f) = from_words(&text) {
            return f;
        }
        innermost = text;
        cause = c.source();
    }
    Failure::Other(innermost)
}

/// The library types behind these are private to hyper-util and rustls; their words are stable.
fn from_words(text: &str) -> Option<Failure> {
    let lower = text.to_ascii_lowercase();
    if lower.contains("connection refused") {
        Some(Failure::Refused)
    } else if lower.contains("dns error") || lower.contains("failed to lookup address") {
        Some(Failure::NameLookup)
    } else if text.contains("UnknownIssuer") || lower.contains("unknown authority") {
        Some(Failure::UnknownAuthority)
    } else if text.contains("NotValidForName") || lower.contains("not valid for name") {
        Some(Failure::WrongHost)
    } else if lower.contains("invalid peer certificate") || lower.contains("tls handshake") {
        Some(Failure::Tls(text.to_string()))
    } else if lower.contains("timed out") || lower.contains("deadline has elapsed") {
        Some(Failure::TimedOut)
    } else {
        None
    }
}

/// The error of a request in one clause, without the server (for `cannot get pods: ...`).
pub fn kube_error(e: &kube::Error) -> String {
    match classify(e) {
        Failure::Refused => "the connection was refused".into(),
        Failure::NameLookup => "the server's host name does not resolve".into(),
        Failure::UnknownAuthority => {
            "the server's certificate is signed by an unknown authority".into()
        }
        Failure::WrongHost => "the server's certificate is not valid for its host name".into(),
        Failure::Tls(t) => format!("TLS failed: {t}"),
        Failure::TimedOut => "timed out: the API server did not answer".into(),
        Failure::NotKubernetes(what) => format!("the server answered with {what}"),
        Failure::Credential(c) => format!("the kubeconfig's credential plugin {c}"),
        Failure::Status {
            code,
            reason,
            message,
        } => {
            if message.is_empty() {
                format!("{reason} (HTTP {code})")
            } else {
                message
            }
        }
        Failure::Other(text) => text,
    }
}

/// A whole message for a request that never reached a Kubernetes API server, naming the server
/// and the next step, as kubectl does.
pub fn unreachable(server: &str, failure: &Failure) -> String {
    match failure {
        Failure::Refused => format!(
            "The connection to the server {server} was refused - did you specify the right host or port?"
        ),
        Failure::NameLookup => format!(
            "cannot resolve the host of the server {server}: check the cluster's server in your kubeconfig (`kubectl config view --minify`) and your DNS"
        ),
        Failure::UnknownAuthority => format!(
            "the server {server} presented a certificate signed by an unknown authority: check certificate-authority-data in your kubeconfig, or that you use the right context"
        ),
        Failure::WrongHost => format!(
            "the certificate of the server {server} is not valid for that host name: use the address the certificate was made for (see `kubectl config view --minify`), or fix tls-server-name"
        ),
        Failure::Tls(t) => format!("TLS with the server {server} failed: {t}"),
        Failure::TimedOut => format!(
            "the API server {server} did not answer in time: check that it is up and reachable, or raise --request-timeout"
        ),
        Failure::NotKubernetes(what) => format!(
            "the server {server} answered with {what}: it does not look like a Kubernetes API server (a proxy or web page?); check the cluster's server in your kubeconfig"
        ),
        Failure::Credential(c) => format!(
            "getting credentials for {server} failed: the kubeconfig's credential plugin {c}"
        ),
        Failure::Status { .. } | Failure::Other(_) => kube_error_text(failure),
    }
}

fn kube_error_text(f: &Failure) -> String {
    match f {
        Failure::Status { message, .. } => message.clone(),
        Failure::Other(t) => t.clone(),
        _ => String::new(),
    }
}

/// A kubeconfig problem in words, with paths quoted once.
pub fn kubeconfig_error(e: &kube::config::KubeconfigError) -> String {
    use kube::config::KubeconfigError as K;
    match e {
        K::ReadConfig(io, path) => format!("cannot read {}: {io}", path.display()),
        K::FindPath => "no kubeconfig found: set --kubeconfig or $KUBECONFIG, or create ~/.kube/config".into(),
        K::CurrentContextNotSet => {
            "the kubeconfig has no current context: pass --context or run `kubectl config use-context NAME`".into()
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, reason: &str, message: &str) -> kube::Error {
        let v = serde_json::json!({"status": "Failure", "code": code, "message": message,
                                   "reason": reason, "metadata": {}});
        match serde_json::from_value(v) {
            Ok(s) => kube::Error::Api(Box::new(s)),
            Err(e) => panic!("status fixture: {e}"),
        }
    }

    #[test]
    fn an_api_status_is_its_message_without_a_debug_dump() {
        let text = kube_error(&status(
            403,
            "Forbidden",
            "pods \"x\" is forbidden: User \"u\" cannot get resource",
        ));
        assert_eq!(
            text,
            "pods \"x\" is forbidden: User \"u\" cannot get resource"
        );
        assert!(!text.contains("Status {"));
    }

    #[test]
    fn an_unparsable_error_body_is_not_kubernetes() {
        let f = classify(&status(502, "Failed to parse error data", "<html>"));
        assert!(matches!(f, Failure::NotKubernetes(_)), "{f:?}");
        assert!(f.is_connection());
    }

    #[test]
    fn tls_and_lookup_words_classify() {
        assert_eq!(
            from_words("invalid peer certificate: UnknownIssuer"),
            Some(Failure::UnknownAuthority)
        );
        assert_eq!(
            from_words("invalid peer certificate: NotValidForName"),
            Some(Failure::WrongHost)
        );
        assert_eq!(
            from_words("invalid peer certificate: certificate not valid for name \"127.0.0.1\""),
            Some(Failure::WrongHost)
        );
        assert_eq!(
            from_words("dns error: failed to lookup address information"),
            Some(Failure::NameLookup)
        );
    }
}
