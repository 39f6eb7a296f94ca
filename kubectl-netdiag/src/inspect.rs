//! `kubectl netdiag inspect node/NAME | svc/NAME`: create a NodeInspection, wait for the
//! controller to finish it, render it, delete it (unless `--keep`). The pipeline is parse (pure)
//! -> build (pure) -> create -> poll -> delete; the caller renders ([`render`], pure).

use std::time::Duration;

use kube::ResourceExt as _;
use kube::api::{Api, DeleteParams, PostParams};
use netdiag_crds::inspection::ServiceRef;
use netdiag_crds::{NodeInspection, NodeInspectionSpec};
use netdiag_render::{InspectFormat, RenderOptions, ServiceNodeRow, Width};

use crate::client::Ctx;
use crate::error::{self, Error};

/// What to inspect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum InspectTarget {
    Node(String),
    /// A Service; no namespace means the plugin's (`-n`, else the context's).
    Service {
        namespace: Option<String>,
        name: String,
    },
}

/// `node/NAME`, `svc/NAME` or `svc/NAMESPACE/NAME` (`no/`, `nodes/`, `service/`, `services/`
/// too), as kubectl names objects.
pub fn parse_target(s: &str) -> Result<InspectTarget, String> {
    let bad = || {
        format!(
            "{s:?}: expected node/NAME, svc/NAME or svc/NAMESPACE/NAME (e.g. node/worker-1, svc/echo)"
        )
    };
    let (kind, rest) = s.split_once('/').ok_or_else(bad)?;
    // A Kubernetes object name: RFC 1123, lower case.
    let ok_name = |n: &str| {
        !n.is_empty()
            && n.len() <= 253
            && n.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
            && n.as_bytes().first().is_some_and(u8::is_ascii_alphanumeric)
            && n.as_bytes().last().is_some_and(u8::is_ascii_alphanumeric)
    };
    match (kind, rest.split_once('/')) {
        ("node" | "nodes" | "no", None) if ok_name(rest) => Ok(InspectTarget::Node(rest.into())),
        ("svc" | "service" | "services", None) if ok_name(rest) => Ok(InspectTarget::Service {
            namespace: None,
            name: rest.into(),
        }),
        ("svc" | "service" | "services", Some((ns, name))) if ok_name(ns) && ok_name(name) => {
            Ok(InspectTarget::Service {
                namespace: Some(ns.into()),
                name: name.into(),
            })
        }
        _ => Err(bad()),
    }
}

/// How long a finished NodeInspection stays when the plugin cannot delete it (or `--keep`).
pub const TTL_SECONDS: i32 = 3600;

/// The NodeInspection for `target` (`-n` is the Service's namespace when it names none).
pub fn build(target: &InspectTarget, namespace: &str) -> NodeInspection {
    let (prefix, spec) = match target {
        InspectTarget::Node(n) => (
            "inspect-node-",
            NodeInspectionSpec {
                node: Some(n.clone()),
                service: None,
                ttl_seconds_after_finished: Some(TTL_SECONDS),
            },
        ),
        InspectTarget::Service {
            namespace: ns,
            name,
        } => (
            "inspect-svc-",
            NodeInspectionSpec {
                node: None,
                service: Some(ServiceRef {
                    namespace: ns.clone().unwrap_or_else(|| namespace.to_string()),
                    name: name.clone(),
                }),
                ttl_seconds_after_finished: Some(TTL_SECONDS),
            },
        ),
    };
    let mut i = NodeInspection::new("", spec);
    i.metadata.name = None;
    i.metadata.generate_name = Some(prefix.into());
    i
}

fn finished(i: &NodeInspection) -> bool {
    (i.status.as_ref())
        .and_then(|s| s.phase)
        .is_some_and(|p| p.is_finished())
}

/// Create the inspection, poll it every `poll` until it finishes or `timeout` passes, delete it
/// unless `keep`, and return it as last read.
pub async fn run(
    ctx: &Ctx,
    target: &InspectTarget,
    timeout: Duration,
    poll: Duration,
    keep: bool,
) -> Result<NodeInspection, Error> {
    let api: Api<NodeInspection> = Api::all(ctx.client.clone());
    let created = api
        .create(&PostParams::default(), &build(target, &ctx.namespace))
        .await
        .map_err(|e| error::api("create", "nodeinspections", None, e))?;
    let name = created.name_any();
    let waited = wait(&api, &name, timeout, poll).await;
    if !keep {
        // The inspection expires by itself (ttlSecondsAfterFinished) when this fails.
        let _ = api.delete(&name, &DeleteParams::background()).await;
    }
    let last = waited?;
    match last.status.as_ref().and_then(|s| s.phase) {
        Some(netdiag_crds::Phase::Failed) => Err(Error::ProbeFailed {
            message: (last.status.as_ref())
                .and_then(|s| s.summary.clone())
                .unwrap_or_else(|| format!("NodeInspection {name} failed")),
        }),
        _ => Ok(last),
    }
}

async fn wait(
    api: &Api<NodeInspection>,
    name: &str,
    timeout: Duration,
    poll: Duration,
) -> Result<NodeInspection, Error> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let now = api
            .get(name)
            .await
            .map_err(|e| error::api("get", "nodeinspections", None, e))?;
        if finished(&now) {
            return Ok(now);
        }
        if tokio::time::Instant::now() + poll > deadline {
            let picked_up = now.status.as_ref().is_some_and(|s| s.phase.is_some());
            return Err(Error::InspectionTimeout {
                name: name.to_string(),
                waited: timeout,
                picked_up,
            });
        }
        tokio::time::sleep(poll).await;
    }
}

/// The inspection in `format`: its node report or its per-node Service comparison as a table,
/// or the whole object as JSON or YAML.
pub fn render(
    i: &NodeInspection,
    format: InspectFormat,
    color: bool,
    width: Width,
) -> Result<String, Error> {
    let status = i.status.clone().unwrap_or_default();
    if matches!(format, InspectFormat::Json | InspectFormat::Yaml) {
        return Ok(netdiag_render::render_inspection(
            i,
            &status.reports,
            format,
            color,
            width,
        )?);
    }
    let opts = RenderOptions {
        wide: format == InspectFormat::Wide,
        color,
        width,
    };
    if i.spec.service.is_some() {
        let rows: Vec<ServiceNodeRow> = (status.service_nodes.iter())
            .map(|n| ServiceNodeRow {
                node: n.node.clone(),
                mode: n.mode.clone(),
                programmed: (n.programmed.iter())
                    .map(|p| format!("{}: {}", p.port, p.endpoints.join(",")))
                    .collect(),
                missing: n.missing.clone(),
                stale: n.stale.clone(),
                agrees: n.agrees,
            })
            .collect();
        let target = status.target.clone().unwrap_or_default();
        let summary = status.summary.clone().unwrap_or_default();
        return Ok(netdiag_render::service_table(
            &target, &rows, &summary, &opts,
        ));
    }
    Ok(netdiag_render::inspect_table(&status.reports, &opts))
}

/// 0 when nothing stands out, 1 when findings (or disagreeing nodes) were reported.
pub fn exit_code(i: &NodeInspection) -> u8 {
    let findings = i.status.as_ref().and_then(|s| s.findings).unwrap_or(0);
    u8::from(findings > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_parse_as_kubectl_names_them() {
        assert_eq!(
            parse_target("node/worker-1"),
            Ok(InspectTarget::Node("worker-1".into()))
        );
        assert_eq!(parse_target("no/w1"), Ok(InspectTarget::Node("w1".into())));
        assert_eq!(
            parse_target("svc/shop/web"),
            Ok(InspectTarget::Service {
                namespace: Some("shop".into()),
                name: "web".into()
            })
        );
        for bad in ["pod/x", "node/", "svc/a/b/c", "worker-1", "node/Bad_Name"] {
            let e = parse_target(bad).unwrap_err();
            assert!(e.contains("expected node/NAME"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_service_without_namespace_is_in_the_plugins_and_both_expire() {
        let i = build(
            &InspectTarget::Service {
                namespace: None,
                name: "echo".into(),
            },
            "shop",
        );
        let svc = i.spec.service.expect("service mode");
        assert_eq!(
            (svc.namespace.as_str(), svc.name.as_str()),
            ("shop", "echo")
        );
        assert_eq!(i.metadata.generate_name.as_deref(), Some("inspect-svc-"));
        assert_eq!(i.spec.ttl_seconds_after_finished, Some(TTL_SECONDS));
        let n = build(&InspectTarget::Node("w1".into()), "default");
        assert_eq!(n.spec.node.as_deref(), Some("w1"));
        assert!(n.spec.mode().is_ok());
    }
}
