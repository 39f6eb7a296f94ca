//! `version` (and `--version`, which prints the same): the plugin's version and, when a cluster
//! answers within a few seconds, the installed controller's and CRD's, with a warning when they
//! differ from the plugin (a newer controller may write what an older plugin cannot show).

use std::time::Duration;

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::Api;

use crate::client::Ctx;
use crate::error::{CONTROLLER_DEPLOYMENT, CONTROLLER_NAMESPACE};

/// The label `config/kustomization.yaml` puts on every installed object.
pub const VERSION_LABEL: &str = "app.kubernetes.io/version";
/// How long `version` waits for the cluster.
pub const CLUSTER_WAIT: Duration = Duration::from_secs(3);
pub const PLUGIN: &str = env!("CARGO_PKG_VERSION");

/// What the cluster says, each part `None` when it is not installed or could not be read.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Installed {
    pub controller: Option<String>,
    pub crd: Option<String>,
    /// Why the cluster could not be asked, if it could not.
    pub unreachable: Option<String>,
}

/// The lines to print (stdout) and the warnings (stderr).
pub fn report(plugin: &str, installed: &Installed) -> (String, Vec<String>) {
    let mut out = format!("kubectl-netdiag {plugin}\n");
    let mut warnings = Vec::new();
    if let Some(why) = &installed.unreachable {
        warnings.push(format!("cluster versions unknown: {why}"));
        return (out, warnings);
    }
    for (what, v) in [
        ("controller", &installed.controller),
        ("crd", &installed.crd),
    ] {
        match v {
            Some(v) => {
                out.push_str(&format!("{what} {v}\n"));
                if v != plugin {
                    warnings.push(format!(
                        "the installed {what} is {v} but this plugin is {plugin}: run `kubectl netdiag install` with a matching plugin to update it"
                    ));
                }
            }
            None => out.push_str(&format!("{what} not installed\n")),
        }
    }
    (out, warnings)
}

/// Read the controller Deployment's and the CRD's version labels.
pub async fn installed(ctx: &Ctx) -> Installed {
    let read = async {
        let deployments: Api<Deployment> =
            Api::namespaced(ctx.client.clone(), CONTROLLER_NAMESPACE);
        let crds: Api<CustomResourceDefinition> = Api::all(ctx.client.clone());
        let controller = deployments
            .get_opt(CONTROLLER_DEPLOYMENT)
            .await
            .map_err(|e| crate::explain::kube_error(&e))?
            .map(|d| label(d.metadata.labels.as_ref()));
        let crd = crds
            .get_opt("netprobes.netdiag.dev")
            .await
            .map_err(|e| crate::explain::kube_error(&e))?
            .map(|c| label(c.metadata.labels.as_ref()));
        Ok::<_, String>(Installed {
            controller,
            crd,
            unreachable: None,
        })
    };
    match tokio::time::timeout(CLUSTER_WAIT, read).await {
        Ok(Ok(i)) => i,
        Ok(Err(why)) => Installed {
            unreachable: Some(format!("{} ({why})", ctx.server)),
            ..Default::default()
        },
        Err(_) => Installed {
            unreachable: Some(format!(
                "the API server {} did not answer within {}s",
                ctx.server,
                CLUSTER_WAIT.as_secs()
            )),
            ..Default::default()
        },
    }
}

fn label(labels: Option<&std::collections::BTreeMap<String, String>>) -> String {
    labels
        .and_then(|l| l.get(VERSION_LABEL))
        .cloned()
        .unwrap_or_else(|| "unknown (no version label)".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching_versions_print_without_warnings() {
        let (out, warn) = report(
            "0.1.0",
            &Installed {
                controller: Some("0.1.0".into()),
                crd: Some("0.1.0".into()),
                unreachable: None,
            },
        );
        assert_eq!(out, "kubectl-netdiag 0.1.0\ncontroller 0.1.0\ncrd 0.1.0\n");
        assert!(warn.is_empty());
    }

    #[test]
    fn a_mismatch_warns_and_a_missing_install_says_so() {
        let (out, warn) = report(
            "0.2.0",
            &Installed {
                controller: Some("0.1.0".into()),
                crd: None,
                unreachable: None,
            },
        );
        assert_eq!(
            out,
            "kubectl-netdiag 0.2.0\ncontroller 0.1.0\ncrd not installed\n"
        );
        assert_eq!(warn.len(), 1);
        assert!(
            warn[0].contains("controller is 0.1.0 but this plugin is 0.2.0"),
            "{warn:?}"
        );
    }

    #[test]
    fn an_unreachable_cluster_still_prints_the_plugin_version() {
        let (out, warn) = report(
            "0.1.0",
            &Installed {
                unreachable: Some("https://x refused".into()),
                ..Default::default()
            },
        );
        assert_eq!(out, "kubectl-netdiag 0.1.0\n");
        assert_eq!(
            warn,
            vec!["cluster versions unknown: https://x refused".to_string()]
        );
    }
}
