//! The API client, from the kubeconfig the way kubectl finds it: `--kubeconfig`, else
//! `$KUBECONFIG` (merged), else `~/.kube/config`; `--context`, `--cluster`, `--user` override;
//! the namespace is `-n`, else the context's, else `default`.

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
        let kc = match &g.kubeconfig {
            Some(path) => Kubeconfig::read_from(path),
            None => Kubeconfig::read(),
        }
        .map_err(|source| Error::Kubeconfig { source })?;
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
