//! The API client, from the kubeconfig the way kubectl finds it: `--kubeconfig`, else
//! `$KUBECONFIG` (merged), else `~/.kube/config`; `--context`, `--cluster`, `--user` override;
//! the namespace is `-n`, else the context's, else `default`.

use std::path::{Path, PathBuf};

use kube::Client;
use kube::config::{Config, KubeConfigOptions, Kubeconfig};

use crate::cli::GlobalArgs;
use crate::error::Error;

/// A client and the namespace commands act in.
#[derive(Clone)]
pub struct Ctx {
    pub client: Client,
    pub namespace: String,
    /// The API server's URL, named in connection errors.
    pub server: String,
}

impl Ctx {
    /// Load the kubeconfig and build a client. Nothing is sent to the API server yet.
    pub async fn from_args(g: &GlobalArgs) -> Result<Ctx, Error> {
        let kc = load(g.kubeconfig.as_deref()).map_err(|source| Error::Kubeconfig { source })?;
        check_names(&kc, g)?;
        let opts = KubeConfigOptions {
            context: g.context.clone(),
            cluster: g.cluster.clone(),
            user: g.user.clone(),
        };
        let mut config = Config::from_custom_kubeconfig(kc, &opts)
            .await
            .map_err(|source| Error::Kubeconfig { source })?;
        // kubectl's --request-timeout: 0 means no limit. Watches are bounded by the trace's
        // own deadline, not by this.
        if let Some(t) = g.request_timeout.filter(|t| !t.is_zero()) {
            config.connect_timeout = Some(t);
            config.read_timeout = Some(t);
            config.write_timeout = Some(t);
            config.reset_reader_on_write = true;
        }
        let namespace = g
            .namespace
            .clone()
            .unwrap_or_else(|| config.default_namespace.clone());
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let client = Client::try_from(config).map_err(|source| Error::Client { source })?;
        Ok(Ctx {
            client,
            namespace,
            server,
        })
    }
}

/// The kubeconfig as kubectl reads it: `--kubeconfig` alone; else every file of `$KUBECONFIG`
/// that exists, merged (kubectl skips the missing ones); else `~/.kube/config`.
fn load(explicit: Option<&Path>) -> Result<Kubeconfig, kube::config::KubeconfigError> {
    if let Some(path) = explicit {
        return Kubeconfig::read_from(path);
    }
    let listed: Vec<PathBuf> = std::env::var_os("KUBECONFIG")
        .map(|v| {
            std::env::split_paths(&v)
                .filter(|p| !p.as_os_str().is_empty())
                .collect()
        })
        .unwrap_or_default();
    let Some(first) = listed.first() else {
        return Kubeconfig::read();
    };
    let existing: Vec<&PathBuf> = listed.iter().filter(|p| p.exists()).collect();
    if existing.is_empty() {
        // Name the first file: reading it gives the error that says it is missing.
        return Kubeconfig::read_from(first);
    }
    existing
        .into_iter()
        .try_fold(Kubeconfig::default(), |merged, p| {
            Kubeconfig::read_from(p).and_then(|next| merged.merge(next))
        })
}

/// `--context`, `--cluster` and `--user` must name entries of the kubeconfig: kube would
/// otherwise fall back silently (an unknown user means no credentials at all).
fn check_names(kc: &Kubeconfig, g: &GlobalArgs) -> Result<(), Error> {
    let check = |what: &'static str, wanted: &Option<String>, known: Vec<&String>| match wanted {
        Some(name) if !known.contains(&name) => Err(Error::NotInKubeconfig {
            what,
            name: name.clone(),
            known: known
                .iter()
                .map(|k| k.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }),
        _ => Ok(()),
    };
    check(
        "context",
        &g.context,
        kc.contexts.iter().map(|c| &c.name).collect(),
    )?;
    check(
        "cluster",
        &g.cluster,
        kc.clusters.iter().map(|c| &c.name).collect(),
    )?;
    check(
        "user",
        &g.user,
        kc.auth_infos.iter().map(|u| &u.name).collect(),
    )
}
