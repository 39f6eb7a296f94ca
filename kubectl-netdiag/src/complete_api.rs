//! Resource names for completion, from the API when one answers quickly: a completion that
//! waits on an unreachable cluster would freeze the user's shell, so every read is bounded.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{DaemonSet, Deployment, ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{Namespace, Node, Pod, Service};
use kube::api::{Api, ListParams};
use netdiag_crds::NetProbe;

use crate::client::Ctx;
use crate::complete::{Completion, Resource};

/// How long completion may wait for the API server.
pub const COMPLETION_WAIT: Duration = Duration::from_millis(1500);

/// The cobra answer for `words`, with names fetched from the API if it needs them.
pub async fn answer(root: &clap::Command, words: &[String]) -> String {
    let c = crate::complete::complete(root, words);
    let fetched = match &c.fetch {
        Some((resource, put_before)) => {
            match tokio::time::timeout(COMPLETION_WAIT, names(words, *resource)).await {
                Ok(Some(names)) => names
                    .into_iter()
                    .map(|n| format!("{put_before}{n}"))
                    .filter(|w| w.starts_with(&c.prefix))
                    .collect(),
                _ => Vec::new(),
            }
        }
        None => Vec::new(),
    };
    Completion::render(&c, &fetched)
}

async fn names(words: &[String], resource: Resource) -> Option<Vec<String>> {
    let mut global = crate::complete::global_flags(words);
    global.request_timeout = Some(COMPLETION_WAIT);
    let ctx = Ctx::from_args(&global).await.ok()?;
    let lp = ListParams::default().limit(500);
    macro_rules! list {
        ($t:ty, $api:expr) => {{
            let api: Api<$t> = $api;
            api.list_metadata(&lp)
                .await
                .ok()?
                .items
                .into_iter()
                .filter_map(|o| o.metadata.name)
                .collect()
        }};
    }
    let ns = ctx.namespace.clone();
    let c = ctx.client.clone();
    Some(match resource {
        Resource::Pods => list!(Pod, Api::namespaced(c, &ns)),
        Resource::Deployments => list!(Deployment, Api::namespaced(c, &ns)),
        Resource::StatefulSets => list!(StatefulSet, Api::namespaced(c, &ns)),
        Resource::DaemonSets => list!(DaemonSet, Api::namespaced(c, &ns)),
        Resource::ReplicaSets => list!(ReplicaSet, Api::namespaced(c, &ns)),
        Resource::Services => list!(Service, Api::namespaced(c, &ns)),
        Resource::NetProbes => list!(NetProbe, Api::namespaced(c, &ns)),
        Resource::Namespaces => list!(Namespace, Api::all(c)),
        Resource::Nodes => list!(Node, Api::all(c)),
    })
}

/// The bash completion script: it asks `__complete` for every word, so nested subcommands,
/// flag values and resource names complete as in kubectl.
pub const BASH_SCRIPT: &str = r#"# bash completion for kubectl-netdiag; load it with
#   source <(kubectl-netdiag completion bash)
_kubectl_netdiag() {
    local cur="${COMP_WORDS[COMP_CWORD]}" IFS=$'\n' out directive
    out=$("${COMP_WORDS[0]}" __complete "${COMP_WORDS[@]:1:$COMP_CWORD}" 2>/dev/null) || return 0
    directive="${out##*:}"
    out="${out%:*}"
    COMPREPLY=($(compgen -W "$out" -- "$cur"))
    if [ $((directive & 2)) -ne 0 ]; then
        compopt -o nospace 2>/dev/null
    fi
    if [ $((directive & 4)) -eq 0 ] && [ ${#COMPREPLY[@]} -eq 0 ]; then
        COMPREPLY=($(compgen -f -- "$cur"))
    fi
    return 0
}
complete -F _kubectl_netdiag kubectl-netdiag
"#;
