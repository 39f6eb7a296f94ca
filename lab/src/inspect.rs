//! `lab inspect`: what `netdiag-agent inspect` sees in each lab node, joined with the lab's pod
//! names: the seeds' "Inspection" section (`ip netns list`, `ip netns pid`, `ip a` on both
//! ends of each veth) done in one command. The agents run in parallel, one per node, in the
//! node's namespace, as `lab trace` runs them. Command lines, parsing and the join are pure.

use std::path::Path;
use std::process::Command;

use netdiag_model::inspect::{InspectReport, PodRef};

use super::exec::run;
use super::names::LabNames;
use super::trace::{agent_in_node, last_json_line};
use super::{Lab, LabError, LabSpec, LabTools};

/// A lab inspection that could not run, or whose agent printed no inspection.
#[derive(Debug, thiserror::Error)]
pub enum InspectError {
    #[error("no node named {0:?} in the lab (`lab status` lists them)")]
    UnknownNode(String),
    #[error("the agent on {node} could not inspect it: {detail}")]
    Agent { node: String, detail: String },
    #[error("the agent on {node} printed no inspection JSON as its last line: {detail}")]
    Output { node: String, detail: String },
}

/// `ip netns exec <node ns> <agent> inspect -o json --node-name NODE ...`.
pub fn inspect_command(names: &LabNames, node: &str, tools: &LabTools, ip: &Path) -> Vec<String> {
    agent_in_node(names, node, tools, ip, &["inspect"])
}

/// Name each namespace of `report` by the lab pod on its node holding its IP (by IP and node,
/// as the controller joins Pods: parallel labs and other nodes reuse IPs).
pub fn join_lab_pods(report: &mut InspectReport, spec: &LabSpec) {
    let node = report.node.clone();
    report.join_pods(|ip| {
        spec.pods
            .iter()
            .find(|p| p.node == node && p.ip.to_string() == ip)
            .map(|p| PodRef {
                namespace: p.namespace.clone(),
                name: p.name.clone(),
            })
    });
}

/// Which nodes to inspect: `only`, or every node of the spec, in its order.
pub fn nodes_to_inspect(spec: &LabSpec, only: Option<&str>) -> Result<Vec<String>, InspectError> {
    match only {
        Some(n) if spec.node(n).is_some() => Ok(vec![n.to_string()]),
        Some(n) => Err(InspectError::UnknownNode(n.to_string())),
        None => Ok(spec.nodes.iter().map(|n| n.name.clone()).collect()),
    }
}

/// Inspect `only` (or every node) of a built lab, each report joined with the lab's pods.
pub fn inspect(
    lab: &Lab,
    only: Option<&str>,
    tools: &LabTools,
) -> Result<Vec<InspectReport>, LabError> {
    let nodes = nodes_to_inspect(lab.spec(), only)?;
    let ip = super::exec::root_with_ip()?;
    let run_one = |node: &str| -> Result<InspectReport, LabError> {
        let argv = inspect_command(&lab.names, node, tools, &ip);
        let stdout = run(Command::new(&argv[0]).args(&argv[1..]), None).map_err(|e| {
            InspectError::Agent {
                node: node.into(),
                detail: e.to_string(),
            }
        })?;
        let mut report: InspectReport =
            last_json_line(&stdout).map_err(|detail| InspectError::Output {
                node: node.into(),
                detail,
            })?;
        join_lab_pods(&mut report, lab.spec());
        Ok(report)
    };
    std::thread::scope(|s| {
        let handles: Vec<_> = nodes.iter().map(|n| s.spawn(|| run_one(n))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use netdiag_model::inspect::{NetnsIdentity, PodEth0, PodNamespace};

    use super::*;

    fn namespace(ip: &str) -> PodNamespace {
        PodNamespace {
            netns: NetnsIdentity::default(),
            eth0: Some(PodEth0 {
                addresses: vec![format!("{ip}/24")],
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn namespaces_are_named_by_the_pod_holding_the_ip_on_that_node() {
        let spec = LabSpec::default();
        let mut report = InspectReport {
            node: "node-a".into(),
            // 10.244.2.2 is echo-2's, on node-b: not this node's pod.
            namespaces: vec![namespace("10.244.1.2"), namespace("10.244.2.2")],
            ..Default::default()
        };
        join_lab_pods(&mut report, &spec);
        let names: Vec<Option<String>> = report
            .namespaces
            .iter()
            .map(|n| {
                n.pod
                    .as_ref()
                    .map(|p| format!("{}/{}", p.namespace, p.name))
            })
            .collect();
        assert_eq!(names, [Some("default/curl".to_string()), None]);
    }

    #[test]
    fn an_unknown_node_is_refused_and_no_node_means_all() {
        let spec = LabSpec::default();
        assert_eq!(nodes_to_inspect(&spec, None).unwrap(), ["node-a", "node-b"]);
        assert_eq!(nodes_to_inspect(&spec, Some("node-b")).unwrap(), ["node-b"]);
        let e = nodes_to_inspect(&spec, Some("node-z")).unwrap_err();
        assert!(e.to_string().contains("no node named \"node-z\""), "{e}");
    }
}
