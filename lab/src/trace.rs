//! `lab trace`: what the controller does for a NetProbe, done locally against a lab. Build a
//! [`TracePlan`] for the source pod's node, run the agent in that node's namespace, then, when
//! kube-proxy sent the connection to a pod on another node, run the agent there with the
//! Endpoint role, and merge the reports into one path.
//!
//! Plans, agent command lines and report parsing are pure functions; only [`trace`] runs things.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;

use netdiag_model::merge::{MergedPath, merge};
use netdiag_model::{DnsServer, Endpoint, NodeReport, PlanRole, PlanTarget, TracePlan};

use super::exec::{find_tool, run};
use super::names::LabNames;
use super::spec::{LabSpec, PodSpec, ServicePortSpec, ServiceSpec};
use super::{Lab, LabError, LabTools};

/// A lab trace that could not be planned or whose agent gave no report.
#[derive(Debug, thiserror::Error)]
pub enum TraceError {
    #[error("no pod named {0:?} in the lab (`lab status` lists them)")]
    UnknownPod(String),
    #[error("no Service {0:?} in the lab (`lab status` lists them; e.g. svc/echo-service)")]
    UnknownService(String),
    #[error("Service {service} has no port {port:?}")]
    UnknownPort { service: String, port: String },
    #[error("the agent on {node} gave no report: {detail}")]
    Agent { node: String, detail: String },
    #[error("the agent on {node} printed no NodeReport JSON as its last line: {detail}")]
    Output { node: String, detail: String },
}

/// The plans run, the reports they produced, and the merged path.
#[derive(Clone, Debug)]
pub struct LabTrace {
    /// `default/curl`.
    pub source: String,
    /// `svc/echo-service:http`.
    pub target: String,
    pub plans: Vec<TracePlan>,
    pub reports: Vec<NodeReport>,
    pub path: MergedPath,
}

/// Find `[svc/][NS/]NAME[:PORT]`; a bare NAME is looked up in the source pod's namespace first.
pub fn resolve_service<'a>(
    spec: &'a LabSpec,
    from: &PodSpec,
    service: &str,
) -> Result<(&'a ServiceSpec, &'a ServicePortSpec), TraceError> {
    let s = service.strip_prefix("svc/").unwrap_or(service);
    let (s, port) = match s.split_once(':') {
        Some((s, p)) => (s, Some(p)),
        None => (s, None),
    };
    let (ns, name) = match s.split_once('/') {
        Some((ns, n)) => (Some(ns), n),
        None => (None, s),
    };
    let svc = spec
        .services
        .iter()
        .filter(|v| v.name == name && ns.is_none_or(|ns| v.namespace == ns))
        .min_by_key(|v| v.namespace != from.namespace)
        .ok_or_else(|| TraceError::UnknownService(service.into()))?;
    let port = match port {
        None => svc.ports.first(),
        Some(p) => svc
            .ports
            .iter()
            .find(|sp| sp.name.as_deref() == Some(p) || sp.port.to_string() == p),
    }
    .ok_or_else(|| TraceError::UnknownPort {
        service: format!("{}/{}", svc.namespace, svc.name),
        port: port.unwrap_or("").into(),
    })?;
    Ok((svc, port))
}

fn expected_endpoints(spec: &LabSpec, svc: &ServiceSpec, port: &ServicePortSpec) -> Vec<Endpoint> {
    svc.endpoints
        .iter()
        .filter_map(|p| spec.pod(p))
        .map(|p| Endpoint {
            ip: p.ip.to_string(),
            port: port.target_port,
        })
        .collect()
}

/// The source node's plan: the whole trace from `from` to the Service's ClusterIP:port.
pub fn source_plan(
    spec: &LabSpec,
    from: &PodSpec,
    svc: &ServiceSpec,
    port: &ServicePortSpec,
) -> TracePlan {
    TracePlan {
        role: PlanRole::Source,
        source_ip: Some(from.ip.to_string()),
        target: Some(PlanTarget {
            ip: svc.cluster_ip.to_string(),
            port: port.port,
            protocol: port.protocol,
        }),
        target_is_service: true,
        expected_endpoints: expected_endpoints(spec, svc, port),
        endpoint: None,
        dns_name: Some(spec.service_fqdn(svc)),
        dns_servers: vec![DnsServer {
            address: spec.dns.cluster_ip.to_string(),
            role: "kube-dns".into(),
        }],
        checks: vec![],
        step_timeout_ms: 2000,
    }
}

/// The endpoint node's plan: is `endpoint` there, listening, with a route back.
pub fn endpoint_plan(source: &TracePlan, endpoint: &Endpoint) -> TracePlan {
    TracePlan {
        role: PlanRole::Endpoint,
        source_ip: source.source_ip.clone(),
        target: source.target.clone(),
        target_is_service: source.target_is_service,
        expected_endpoints: vec![],
        endpoint: Some(endpoint.clone()),
        dns_name: None,
        dns_servers: vec![],
        checks: vec![],
        step_timeout_ms: source.step_timeout_ms,
    }
}

/// `ip netns exec <node ns> <agent> trace --plan - -o json ...`: the agent as a node
/// would run it. Parallel labs reuse the same pod IPs; the agent only considers namespaces
/// whose veth peer is in its own (node) namespace, so it never picks another lab's pod.
pub fn agent_command(names: &LabNames, node: &str, tools: &LabTools, ip: &Path) -> Vec<String> {
    let mut v = vec![
        ip.display().to_string(),
        "netns".into(),
        "exec".into(),
        names.netns(node),
    ];
    v.extend(tools.agent.argv());
    v.extend(
        [
            "trace",
            "--plan",
            "-",
            "-o",
            "json",
            "--node-name",
            node,
            "--netns-dir",
        ]
        .map(String::from),
    );
    v.push(super::names::NETNS_DIR.into());
    v.extend(["--proc".into(), "/proc".into()]);
    v
}

/// The NodeReport on the last non-empty line of the agent's stdout.
pub fn parse_report(node: &str, stdout: &str) -> Result<NodeReport, TraceError> {
    let line = stdout
        .lines()
        .rev()
        .find(|l| !l.trim().is_empty())
        .ok_or_else(|| TraceError::Output {
            node: node.into(),
            detail: "empty output".into(),
        })?;
    serde_json::from_str(line).map_err(|e| TraceError::Output {
        node: node.into(),
        detail: e.to_string(),
    })
}

/// The node of the pod that has `endpoint`'s IP, if the lab has one.
pub fn endpoint_node<'a>(spec: &'a LabSpec, endpoint: &Endpoint) -> Option<&'a str> {
    let ip: Ipv4Addr = endpoint.ip.parse().ok()?;
    spec.pod_by_ip(ip).map(|p| p.node.as_str())
}

fn run_agent(
    lab: &Lab,
    node: &str,
    plan: &TracePlan,
    tools: &LabTools,
    ip: &Path,
) -> Result<NodeReport, LabError> {
    let argv = agent_command(&lab.names, node, tools, ip);
    let input = serde_json::to_string(plan).map_err(|e| TraceError::Agent {
        node: node.into(),
        detail: format!("cannot encode the plan: {e}"),
    })?;
    let stdout = run(Command::new(&argv[0]).args(&argv[1..]), Some(&input)).map_err(|e| {
        TraceError::Agent {
            node: node.into(),
            detail: e.to_string(),
        }
    })?;
    Ok(parse_report(node, &stdout)?)
}

/// Trace from pod `source_pod` to `service` (`[svc/][NS/]NAME[:PORT]`) in a built lab.
pub fn trace(
    lab: &Lab,
    source_pod: &str,
    service: &str,
    tools: &LabTools,
) -> Result<LabTrace, LabError> {
    let spec = lab.spec();
    let from = spec
        .pod(source_pod)
        .ok_or_else(|| TraceError::UnknownPod(source_pod.into()))?;
    let (svc, port) = resolve_service(spec, from, service)?;
    if !super::exec::is_root() {
        return Err(LabError::NotRoot);
    }
    let ip = find_tool("ip").ok_or(LabError::MissingTool {
        tool: "ip",
        package: "iproute2",
    })?;
    let plan = source_plan(spec, from, svc, port);
    let mut plans = vec![plan.clone()];
    let mut reports = vec![run_agent(lab, &from.node, &plan, tools, &ip)?];
    if let Some(chosen) = reports[0].chosen_endpoint.clone()
        && let Some(node) = endpoint_node(spec, &chosen)
        && node != from.node
    {
        let ep_plan = endpoint_plan(&plan, &chosen);
        reports.push(run_agent(lab, node, &ep_plan, tools, &ip)?);
        plans.push(ep_plan);
    }
    let source = format!("{}/{}", from.namespace, from.name);
    let port_label = port.name.clone().unwrap_or_else(|| port.port.to_string());
    let target = format!("svc/{}:{port_label}", svc.name);
    let path = merge(&reports, &source, &target);
    Ok(LabTrace {
        source,
        target,
        plans,
        reports,
        path,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netdiag_model::Protocol;

    fn curl(spec: &LabSpec) -> &PodSpec {
        spec.pod("curl").unwrap()
    }

    #[test]
    fn services_resolve_by_name_namespace_and_port() {
        let spec = LabSpec::default();
        let (s, p) = resolve_service(&spec, curl(&spec), "svc/echo-service").unwrap();
        assert_eq!((s.name.as_str(), p.port), ("echo-service", 80));
        let (s, p) = resolve_service(&spec, curl(&spec), "kube-system/kube-dns:dns-tcp").unwrap();
        assert_eq!((s.name.as_str(), p.protocol), ("kube-dns", Protocol::TCP));
        let (_, p) = resolve_service(&spec, curl(&spec), "kube-dns:53").unwrap();
        assert_eq!(p.protocol, Protocol::UDP);
        assert!(matches!(
            resolve_service(&spec, curl(&spec), "svc/nope"),
            Err(TraceError::UnknownService(_))
        ));
        assert!(matches!(
            resolve_service(&spec, curl(&spec), "echo-service:https"),
            Err(TraceError::UnknownPort { .. })
        ));
    }

    #[test]
    fn the_source_plan_is_what_the_controller_would_send() {
        let spec = LabSpec::default();
        let (s, p) = resolve_service(&spec, curl(&spec), "echo-service").unwrap();
        let plan = source_plan(&spec, curl(&spec), s, p);
        assert_eq!(plan.role, PlanRole::Source);
        assert_eq!(plan.source_ip.as_deref(), Some("10.244.1.2"));
        assert_eq!(
            plan.target,
            Some(PlanTarget {
                ip: "10.96.45.10".into(),
                port: 80,
                protocol: Protocol::TCP
            })
        );
        assert!(plan.target_is_service);
        let eps: Vec<String> = plan
            .expected_endpoints
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert_eq!(
            eps,
            ["10.244.1.3:8080", "10.244.2.2:8080", "10.244.2.3:8080"]
        );
        assert_eq!(
            plan.dns_name.as_deref(),
            Some("echo-service.default.svc.cluster.local")
        );
        assert_eq!(plan.dns_servers[0].address, "10.96.0.10");
        assert_eq!(plan.dns_servers[0].role, "kube-dns");
        // it is valid TracePlan JSON for the agent
        let back: TracePlan = serde_json::from_str(&serde_json::to_string(&plan).unwrap()).unwrap();
        assert_eq!(back, plan);
    }

    #[test]
    fn the_endpoint_plan_checks_the_chosen_endpoint_on_its_node() {
        let spec = LabSpec::default();
        let (s, p) = resolve_service(&spec, curl(&spec), "echo-service").unwrap();
        let plan = source_plan(&spec, curl(&spec), s, p);
        let chosen = Endpoint {
            ip: "10.244.2.3".into(),
            port: 8080,
        };
        let ep = endpoint_plan(&plan, &chosen);
        assert_eq!(ep.role, PlanRole::Endpoint);
        assert_eq!(ep.endpoint, Some(chosen.clone()));
        assert_eq!(endpoint_node(&spec, &chosen), Some("node-b"));
        assert_eq!(
            endpoint_node(
                &spec,
                &Endpoint {
                    ip: "10.244.1.3".into(),
                    port: 8080
                }
            ),
            Some("node-a")
        );
        assert_eq!(
            endpoint_node(
                &spec,
                &Endpoint {
                    ip: "192.0.2.1".into(),
                    port: 1
                }
            ),
            None
        );
    }

    #[test]
    fn the_agent_runs_in_the_node_namespace_with_the_plan_on_stdin() {
        let tools = LabTools::mounted("/bin/kubectl-netdiag", &["lab"]);
        let argv = agent_command(
            &LabNames::new("t1"),
            "node-a",
            &tools,
            Path::new("/sbin/ip"),
        );
        assert_eq!(
            argv.join(" "),
            "/sbin/ip netns exec nd-t1-node-a /bin/kubectl-netdiag agent trace --plan - -o json \
             --node-name node-a --netns-dir /var/run/netns --proc /proc"
        );
    }

    #[test]
    fn the_report_is_the_last_line_of_output() {
        let report = NodeReport {
            node: "node-a".into(),
            summary: "ok".into(),
            ..Default::default()
        };
        let out = format!(
            "warming up\n{}\n\n",
            serde_json::to_string(&report).unwrap()
        );
        assert_eq!(parse_report("node-a", &out).unwrap(), report);
        assert!(parse_report("node-a", "").is_err());
        assert!(parse_report("node-a", "not json\n").is_err());
    }
}
