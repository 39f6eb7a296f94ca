//! `uninstall`: delete what `install` applied, and only where netdiag owns it.
//!
//! Each object of the embedded list is read first and deleted only when it carries the
//! `app.kubernetes.io/part-of: netdiag` label that `config/kustomization.yaml` sets, and only
//! with a UID precondition, so an object someone else created under the same name, or one
//! replaced since it was read, is never deleted. Namespaced objects outside netdiag-system are
//! refused outright. Deleting the CRD deletes every NetProbe in the cluster, so that step first
//! says how many will go and needs `--yes` or a typed confirmation.

use std::collections::BTreeSet;

use kube::api::{Api, DeleteParams, ListParams, Preconditions};
use netdiag_crds::NetProbe;
use serde_json::Value;

use super::{PART_OF_LABEL, api_for, describe, kind_of, namespace_of, resource_word};
use crate::client::Ctx;
use crate::error::{self, CONTROLLER_NAMESPACE, Error};

/// The word a user types to confirm deleting the CRD.
pub const CONFIRM_WORD: &str = "delete";

/// How the CRD's deletion is agreed to.
pub enum Consent<'a> {
    /// `--yes`.
    Given,
    /// Ask on the terminal: the callback shows the prompt and returns the line typed.
    Ask(&'a mut dyn FnMut(&str) -> std::io::Result<String>),
    /// No terminal and no `--yes`.
    Unavailable,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct UninstallOptions {
    /// List what would happen; delete nothing.
    pub dry_run: bool,
    /// Leave the CRD, and so every NetProbe, in place.
    pub keep_crd: bool,
}

/// Delete netdiag's objects, last applied first. Returns one line per object.
pub async fn uninstall(
    ctx: &Ctx,
    objects: &[Value],
    opts: UninstallOptions,
    consent: Consent<'_>,
) -> Result<Vec<String>, Error> {
    let mut lines = Vec::new();
    let deletes_crd = !opts.keep_crd && objects.iter().any(is_crd);
    if deletes_crd {
        let (count, namespaces) = count_probes(ctx).await?;
        let warning = crd_warning(count, &namespaces);
        if opts.dry_run {
            lines.push(format!("{warning} (dry run: nothing deleted)"));
        } else {
            agree(&warning, consent)?;
            lines.push(warning);
        }
    }
    let verb = if opts.dry_run {
        "would be deleted"
    } else {
        "deleted"
    };
    for o in objects.iter().rev() {
        if is_crd(o) && opts.keep_crd {
            lines.push(format!("{} kept (--keep-crd)", describe(o)));
            continue;
        }
        if let Some(ns) = namespace_of(o)
            && ns != CONTROLLER_NAMESPACE
        {
            lines.push(format!(
                "{} kept: netdiag installs nothing outside {CONTROLLER_NAMESPACE}",
                describe(o)
            ));
            continue;
        }
        let (api, name, ns) = api_for(ctx, o);
        let current = match api.get(&name).await {
            Ok(obj) => obj,
            Err(e) if error::is_not_found(&e) => {
                lines.push(format!("{} not found", describe(o)));
                continue;
            }
            Err(e) => return Err(error::api("get", resource_word(o), ns.as_deref(), e)),
        };
        let owned = current
            .metadata
            .labels
            .as_ref()
            .and_then(|l| l.get(PART_OF_LABEL.0))
            .is_some_and(|v| v == PART_OF_LABEL.1);
        if !owned {
            lines.push(format!(
                "{} kept: it has no label {}={}, so netdiag did not install it",
                describe(o),
                PART_OF_LABEL.0,
                PART_OF_LABEL.1
            ));
            continue;
        }
        if !opts.dry_run {
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: current.metadata.uid.clone(),
                    resource_version: None,
                }),
                ..DeleteParams::background()
            };
            match api.delete(&name, &dp).await {
                Ok(_) => {}
                Err(e) if error::is_not_found(&e) => {
                    lines.push(format!("{} not found", describe(o)));
                    continue;
                }
                Err(e) => return Err(error::api("delete", resource_word(o), ns.as_deref(), e)),
            }
        }
        lines.push(format!("{} {verb}", describe(o)));
    }
    Ok(lines)
}

fn is_crd(o: &Value) -> bool {
    kind_of(o) == "CustomResourceDefinition"
}

/// How many NetProbes exist, and in which namespaces. A missing CRD means none.
async fn count_probes(ctx: &Ctx) -> Result<(usize, BTreeSet<String>), Error> {
    let api: Api<NetProbe> = Api::all(ctx.client.clone());
    match api.list_metadata(&ListParams::default()).await {
        Ok(list) => {
            let namespaces = list
                .items
                .iter()
                .filter_map(|p| p.metadata.namespace.clone())
                .collect();
            Ok((list.items.len(), namespaces))
        }
        Err(e) if error::is_not_found(&e) => Ok((0, BTreeSet::new())),
        Err(e) => Err(error::api("list", "netprobes", None, e)),
    }
}

fn crd_warning(count: usize, namespaces: &BTreeSet<String>) -> String {
    let probes = match count {
        1 => "1 NetProbe".to_string(),
        n => format!("{n} NetProbes"),
    };
    let spread = match namespaces.len() {
        0 => String::new(),
        1..=5 => format!(
            " (namespaces: {})",
            namespaces.iter().cloned().collect::<Vec<_>>().join(", ")
        ),
        n => format!(" in {n} namespaces"),
    };
    format!(
        "deleting the CRD netprobes.netdiag.dev also deletes every NetProbe in the cluster: {probes}{spread}"
    )
}

fn agree(warning: &str, consent: Consent<'_>) -> Result<(), Error> {
    match consent {
        Consent::Given => Ok(()),
        Consent::Unavailable => Err(Error::ConfirmationNeeded {
            what: warning.to_string(),
        }),
        Consent::Ask(ask) => {
            let prompt = format!("{warning}.\nType '{CONFIRM_WORD}' to go on: ");
            let answer = ask(&prompt).map_err(|e| Error::ConfirmationNeeded {
                what: format!("{warning} (cannot read the answer: {e})"),
            })?;
            if answer.trim() == CONFIRM_WORD {
                Ok(())
            } else {
                Err(Error::Declined)
            }
        }
    }
}
