//! `install`: server-side apply of every embedded object, in order. A failure part-way says what
//! was applied and how to finish or undo, instead of leaving a silent half install.

use kube::api::{Patch, PatchParams};
use serde_json::Value;

use super::{FIELD_MANAGER, api_for, describe, resource_word};
use crate::client::Ctx;
use crate::error::{self, Error};

/// Server-side apply every object; with `dry_run` the API server checks without persisting.
/// Returns one line per object.
pub async fn apply(ctx: &Ctx, objects: &[Value], dry_run: bool) -> Result<Vec<String>, Error> {
    let mut lines = Vec::new();
    let mut pp = PatchParams::apply(FIELD_MANAGER).force();
    pp.dry_run = dry_run;
    let suffix = if dry_run { " (server dry run)" } else { "" };
    for o in objects {
        let (api, name, ns) = api_for(ctx, o);
        if let Err(e) = api.patch(&name, &pp, &Patch::Apply(o)).await {
            let cause = error::api("patch", resource_word(o), ns.as_deref(), e);
            return Err(Error::InstallIncomplete {
                applied: lines.iter().map(|l: &String| first_word(l)).collect(),
                failed: describe(o),
                dry_run,
                source: Box::new(cause),
            });
        }
        lines.push(format!("{} serverside-applied{suffix}", describe(o)));
    }
    Ok(lines)
}

/// `kind/name -n ns` from an output line.
fn first_word(line: &str) -> String {
    line.split(" serverside-applied")
        .next()
        .unwrap_or(line)
        .to_string()
}
