//! `kubectl netdiag trace`: check, create, watch, clean up. The pipeline is
//! parse (done by clap) -> resolve + check (API reads) -> build (pure) -> create -> wait ->
//! delete; the caller renders.

use std::time::Duration;

use kube::ResourceExt as _;
use kube::api::{Api, DeleteParams, PostParams};
use netdiag_crds::NetProbe;
use netdiag_crds::probe::{MAX_TIMEOUT_SECONDS, MIN_TIMEOUT_SECONDS};

use crate::cli::TraceArgs;
use crate::client::Ctx;
use crate::error::{self, Error};
use crate::interrupt::{self, Interruption};
use crate::probe::{self, Outcome, ProbeRequest};
use crate::progress::Progress;
use crate::resolve;
use crate::wait::{self, WaitConfig};
use netdiag_crds::shorthand::ArgError;

/// A finished trace.
#[derive(Debug)]
pub struct TraceRun {
    pub probe: NetProbe,
    pub outcome: Outcome,
}

/// Check the arguments that clap could not: the timeout's range and the DNS name.
pub fn check_args(args: &TraceArgs) -> Result<(), Error> {
    let t = args.timeout;
    let min = Duration::from_secs(MIN_TIMEOUT_SECONDS as u64);
    let max = Duration::from_secs(MAX_TIMEOUT_SECONDS as u64);
    if t < min || t > max {
        return Err(Error::TimeoutRange(t));
    }
    if let Some(n) = &args.dns_name
        && !netdiag_crds::validate::is_dns_name(n)
    {
        return Err(ArgError::BadDnsName {
            input: format!("--dns-name={n}"),
            name: n.clone(),
        }
        .into());
    }
    Ok(())
}

/// Run a trace end to end. The NetProbe is deleted afterwards unless `--keep`, also when the
/// wait fails or Ctrl-C stops it (then the error says what became of it; exit 130).
pub async fn run(
    ctx: &Ctx,
    args: &TraceArgs,
    cfg: WaitConfig,
    progress: &mut dyn Progress,
) -> Result<TraceRun, Error> {
    check_args(args)?;
    let api: Api<NetProbe> = Api::namespaced(ctx.client.clone(), &ctx.namespace);
    // Caught from the first read on: without a handler, Ctrl-C would kill the process between
    // the create and the delete and leave the probe behind.
    let mut interrupt = std::pin::pin!(interrupt::ctrl_c());
    // The reads and the create share the probe's own timeout: a server that accepts
    // connections but never answers must not hang the command.
    let deadline = tokio::time::Instant::now() + args.timeout;
    let unanswered = || Error::Unreachable {
        message: format!(
            "the API server {} did not answer within {}: check that it is up and reachable (`kubectl cluster-info`)",
            ctx.server,
            crate::duration::human(args.timeout)
        ),
    };
    let request = tokio::select! {
        r = tokio::time::timeout_at(deadline, prepare(ctx, args, progress)) => r.map_err(|_| unanswered())??,
        () = &mut interrupt => return Err(Error::Interrupted(Interruption::BeforeCreate)),
    };
    // Not cut off by Ctrl-C: a create dropped in flight may still make a probe whose name (the
    // server generates it) we would never learn. A Ctrl-C now is answered right after it.
    let created = tokio::time::timeout_at(deadline, create(ctx, &api, &request))
        .await
        .map_err(|_| unanswered())??;
    progress.update(&created, Duration::ZERO);

    let waited = tokio::select! {
        r = wait::until_finished(&api, &created, cfg, progress) => Some(r),
        () = &mut interrupt => None,
    };
    progress.finish();
    let name = created.name_any();
    let deleted = !args.keep && delete(&api, &name, progress).await;
    let Some(waited) = waited else {
        let fate = Interruption::after_create(&ctx.namespace, &name, args.keep, deleted);
        return Err(Error::Interrupted(fate));
    };
    let probe = waited?;
    let outcome = probe::outcome(&probe.status.clone().unwrap_or_default());
    Ok(TraceRun { probe, outcome })
}

/// Resolve the source and target into the probe to create.
async fn prepare(
    ctx: &Ctx,
    args: &TraceArgs,
    progress: &mut dyn Progress,
) -> Result<ProbeRequest, Error> {
    let source = resolve::source(ctx, &args.source).await?;
    if let Some(note) = &source.note {
        progress.note(note);
    }
    let target = resolve::target(ctx, &args.target).await?;
    Ok(ProbeRequest {
        namespace: ctx.namespace.clone(),
        source: source.source,
        target,
        checks: args.checks.clone().map(|c| c.0),
        timeout: args.timeout,
        dns_name: args.dns_name.clone(),
    })
}

async fn create(ctx: &Ctx, api: &Api<NetProbe>, req: &ProbeRequest) -> Result<NetProbe, Error> {
    api.create(&PostParams::default(), &probe::build(req))
        .await
        .map_err(|e| error::api("create", "netprobes", Some(&ctx.namespace), e))
}

/// How long the clean-up delete may take before we give up and say how to do it by hand.
const DELETE_WAIT: Duration = Duration::from_secs(5);

/// Delete the probe; a failure only warns, since the trace itself is done. True when it is
/// gone.
async fn delete(api: &Api<NetProbe>, name: &str, progress: &mut dyn Progress) -> bool {
    let by_hand = format!("delete it with `kubectl delete netprobe {name}`");
    match tokio::time::timeout(DELETE_WAIT, api.delete(name, &DeleteParams::background())).await {
        Ok(Ok(_)) => true,
        Ok(Err(e)) if error::is_not_found(&e) => true,
        Ok(Err(e)) => {
            progress.warn(&format!(
                "could not delete NetProbe {name}: {}; {by_hand}",
                crate::explain::kube_error(&e)
            ));
            false
        }
        Err(_) => {
            progress.warn(&format!(
                "the API server did not confirm deleting NetProbe {name}; {by_hand}"
            ));
            false
        }
    }
}
