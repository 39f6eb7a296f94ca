//! Everything that can stop a command, each saying what failed, where, and what to try next.
//! Every error exits 2; "a failure was found on the path" is an outcome, not an error (exit 1).

use std::time::Duration;

use netdiag_crds::shorthand::ArgError;

/// The Deployment that fulfils NetProbes, named in the "stuck Pending" advice.
pub const CONTROLLER_NAMESPACE: &str = "netdiag-system";
pub const CONTROLLER_DEPLOYMENT: &str = "netdiag-controller";

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Arg(#[from] ArgError),

    #[error("-o pcap: {0}")]
    Pcap(String),

    #[error(
        "cannot load the kubeconfig: {}; check --kubeconfig, $KUBECONFIG or ~/.kube/config",
        crate::explain::kubeconfig_error(.source)
    )]
    Kubeconfig {
        #[source]
        source: kube::config::KubeconfigError,
    },

    #[error(
        "{what} {name:?} does not exist in the kubeconfig{}; see `kubectl config view`",
        if .known.is_empty() { String::new() } else { format!(" (it has: {})", .known) }
    )]
    NotInKubeconfig {
        what: &'static str,
        name: String,
        known: String,
    },

    #[error(
        "cannot build an API client from the kubeconfig: {}",
        crate::explain::kube_error(.source)
    )]
    Client {
        #[source]
        source: kube::Error,
    },

    #[error(
        "the NetProbe CRD (netprobes.netdiag.dev) is not installed in this cluster: run `kubectl netdiag install`"
    )]
    CrdMissing,

    #[error(
        "you may not {verb} {resource}{}: {message}\n  check with: kubectl auth can-i {verb} {resource}{}",
        ns_phrase(.namespace), ns_flag(.namespace)
    )]
    Forbidden {
        verb: &'static str,
        resource: &'static str,
        namespace: Option<String>,
        message: String,
    },

    #[error("{kind} {name:?} not found in namespace {namespace:?}{hint}")]
    NotFound {
        kind: &'static str,
        name: String,
        namespace: String,
        hint: String,
    },

    #[error(
        "cannot {verb} {resource}{}: {}",
        ns_phrase(.namespace),
        crate::explain::kube_error(.source)
    )]
    Api {
        verb: &'static str,
        resource: &'static str,
        namespace: Option<String>,
        #[source]
        source: kube::Error,
    },

    #[error(
        "source pod {namespace}/{pod} is not running ({state}): a trace needs a running pod to start from; see `kubectl -n {namespace} describe pod {pod}`"
    )]
    SourceNotRunning {
        namespace: String,
        pod: String,
        state: String,
    },

    #[error(
        "{workload} has no ready pod to trace from ({total} pod(s) match its selector {selector:?}); see `kubectl -n {namespace} get pods -l {selector}`"
    )]
    NoReadyPod {
        workload: String,
        namespace: String,
        selector: String,
        total: usize,
    },

    #[error("{workload} has no pod selector to find its pods by")]
    NoSelector { workload: String },

    #[error(
        "Service {namespace}/{name} is headless (clusterIP: None): there is no virtual IP to trace; trace one of its pods instead (pod/NAME:PORT)"
    )]
    HeadlessService { namespace: String, name: String },

    #[error(
        "Service {namespace}/{name} is of type ExternalName ({external}): it is a DNS alias with no virtual IP; trace dns/{external} instead"
    )]
    ExternalNameService {
        namespace: String,
        name: String,
        external: String,
    },

    #[error(
        "Service {namespace}/{name} has no ready endpoints{port}{not_ready}: no pod behind it can answer, so nothing was traced. Check that its selector matches running pods and that their readiness probes pass: `kubectl -n {namespace} get endpointslices -l kubernetes.io/service-name={name}`",
        port = .port.as_ref().map(|p| format!(" for port {p}")).unwrap_or_default(),
        not_ready = if *.not_ready > 0 { format!(" ({} endpoint(s) exist but are not ready)", .not_ready) } else { String::new() }
    )]
    NoReadyEndpoints {
        namespace: String,
        name: String,
        port: Option<String>,
        not_ready: usize,
    },

    #[error("{object} has no port {port:?}; its ports: {available}")]
    PortNotFound {
        object: String,
        port: String,
        available: String,
    },

    #[error("{object} has several ports ({available}): say which, e.g. {example}")]
    AmbiguousPort {
        object: String,
        available: String,
        example: String,
    },

    #[error("{object} declares no port: give one, e.g. {example}")]
    NoPort { object: String, example: String },

    #[error("node {0:?} not found; list them with `kubectl get nodes`")]
    NodeNotFound(String),

    #[error(
        "node {0:?} reports no IPv4 InternalIP or ExternalIP (`kubectl get node {0} -o wide`): trace its address as IP:PORT instead"
    )]
    NodeNoAddress(String),

    #[error(
        "node {0:?} reports no IPv4 InternalIP or ExternalIP (`kubectl get node {0} -o wide`): a trace from a node starts at that address; trace from a pod on it instead"
    )]
    SourceNodeNoAddress(String),

    #[error("target pod {namespace}/{pod} has no IP yet ({state}): it cannot be reached")]
    TargetPodNotReady {
        namespace: String,
        pod: String,
        state: String,
    },

    #[error(
        "--timeout {} is out of range: a probe may take from {} to {}",
        crate::duration::human(*.0),
        crate::duration::human(crate::duration::TIMEOUT_MIN),
        crate::duration::human(crate::duration::TIMEOUT_MAX)
    )]
    TimeoutRange(Duration),

    #[error(
        "NetProbe {namespace}/{name} stayed Pending for {}s: the netdiag controller is not picking it up. Check that it runs: `kubectl -n {CONTROLLER_NAMESPACE} get deployment {CONTROLLER_DEPLOYMENT}` and `kubectl -n {CONTROLLER_NAMESPACE} logs deployment/{CONTROLLER_DEPLOYMENT}` (or install it: `kubectl netdiag install`)",
        .waited.as_secs()
    )]
    ControllerNotRunning {
        namespace: String,
        name: String,
        waited: Duration,
    },

    #[error(
        "NetProbe {namespace}/{name} did not finish within {}s (last phase: {phase}); see `kubectl netdiag describe -n {namespace} {name}`",
        .waited.as_secs()
    )]
    Timeout {
        namespace: String,
        name: String,
        waited: Duration,
        phase: String,
    },

    #[error("NetProbe {namespace}/{name} was deleted before it finished")]
    ProbeDeleted { namespace: String, name: String },

    #[error("the probe could not run: {message}")]
    ProbeFailed { message: String },

    #[error(
        "NodeInspection {name} did not finish within {}s{}; see `kubectl get nodeinspection {name} -o yaml`",
        .waited.as_secs(),
        if *.picked_up { "" } else { " and the netdiag controller never picked it up (is it installed and running? `kubectl netdiag install`)" }
    )]
    InspectionTimeout {
        name: String,
        waited: Duration,
        picked_up: bool,
    },

    /// Ctrl-C: exit 130, saying what became of the probe.
    #[error("interrupted; {0}")]
    Interrupted(crate::interrupt::Interruption),

    #[error("cannot encode the output as {format}: {message}")]
    Encode {
        format: &'static str,
        message: String,
    },

    #[error("embedded manifest {file} is not valid YAML: {message}")]
    Manifest { file: &'static str, message: String },

    #[error(
        "install stopped at {failed}: {source}\n  {}\n  to finish: fix the cause above and run `kubectl netdiag install` again (applying is idempotent)\n  to undo: `kubectl netdiag uninstall`",
        applied_phrase(.applied, *.dry_run)
    )]
    InstallIncomplete {
        applied: Vec<String>,
        failed: String,
        dry_run: bool,
        #[source]
        source: Box<Error>,
    },

    #[error(
        "{what}.\n  Nothing was deleted. Re-run with --yes to confirm, or with --keep-crd to remove only the controller"
    )]
    ConfirmationNeeded { what: String },

    #[error("not confirmed: nothing was deleted")]
    Declined,

    /// A request that never reached a Kubernetes API server, in kubectl's words.
    #[error("{message}")]
    Unreachable { message: String },

    #[error("cannot start the async runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

fn applied_phrase(applied: &[String], dry_run: bool) -> String {
    let done = if dry_run { "checked" } else { "applied" };
    if applied.is_empty() {
        format!("nothing was {done} before it")
    } else {
        format!("{done} before it: {}", applied.join(", "))
    }
}

fn ns_phrase(ns: &Option<String>) -> String {
    match ns {
        Some(ns) => format!(" in namespace {ns:?}"),
        None => " at cluster scope".to_string(),
    }
}

fn ns_flag(ns: &Option<String>) -> String {
    match ns {
        Some(ns) => format!(" -n {ns}"),
        None => String::new(),
    }
}

impl Error {
    /// The process exit status for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            // 128 + SIGINT, as a shell reports a command stopped by Ctrl-C.
            Error::Interrupted(_) => 130,
            _ => 2,
        }
    }

    /// Name the server in an error from a request that never reached it (refused, TLS, name
    /// lookup, timeout, not an API server): that is what the user must check first.
    pub fn with_server(self, server: &str) -> Error {
        let source = match &self {
            Error::Api { source, .. } | Error::Client { source } => source,
            _ => return self,
        };
        let failure = crate::explain::classify(source);
        if failure.is_connection() {
            Error::Unreachable {
                message: crate::explain::unreachable(server, &failure),
            }
        } else {
            self
        }
    }
}

/// Map an API error on `verb resource` to the error the user should see: Forbidden names the
/// verb and resource, a 404 on NetProbes means the CRD is missing.
pub fn api(
    verb: &'static str,
    resource: &'static str,
    namespace: Option<&str>,
    e: kube::Error,
) -> Error {
    if let kube::Error::Api(status) = &e {
        if status.code == 403 {
            return Error::Forbidden {
                verb,
                resource,
                namespace: namespace.map(str::to_string),
                message: status.message.clone(),
            };
        }
        // A missing CRD answers 404 "the server could not find the requested resource" with no
        // details; a missing NetProbe names itself in the details, and a missing namespace says
        // `namespaces "x" not found`.
        let names_an_object = status.details.as_ref().is_some_and(|d| !d.name.is_empty());
        if status.code == 404
            && resource.starts_with("netprobes")
            && !names_an_object
            && !status.message.contains("namespaces")
        {
            return Error::CrdMissing;
        }
    }
    Error::Api {
        verb,
        resource,
        namespace: namespace.map(str::to_string),
        source: e,
    }
}

/// Whether an API error is a 404.
pub fn is_not_found(e: &kube::Error) -> bool {
    matches!(e, kube::Error::Api(s) if s.code == 404)
}

impl From<netdiag_render::EncodeError> for Error {
    fn from(e: netdiag_render::EncodeError) -> Self {
        Error::Encode {
            format: e.format,
            message: e.message,
        }
    }
}

#[cfg(test)]
#[path = "error_tests.rs"]
mod tests;
