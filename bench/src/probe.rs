//! One measured step, run in a fresh child process (`netdiag-bench probe ...`) so that its peak
//! memory is its own: `getrusage` gives the step's peak (RUSAGE_SELF) and the largest iptables
//! child's (RUSAGE_CHILDREN), neither polluted by earlier runs in the same process.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use nix::sys::resource::{UsageWho, getrusage};
use serde::{Deserialize, Serialize};

use netdiag_model::{Endpoint, HopDetail, PlanTarget, Verdict};

use crate::cmd;
use crate::error::BenchError;

/// What one child run measured.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sample {
    /// Wall time of the step alone (not the child's start-up).
    pub ms: f64,
    /// Peak RSS of the process doing the step (VmHWM), KiB.
    pub self_kb: i64,
    /// `ru_maxrss` of the largest process it waited for (iptables), KiB: an upper bound, as it
    /// includes the step's own memory at the time of the spawn.
    pub children_kb: i64,
    /// Sampled peak of (step + live children) resident memory, KiB; only on the untimed run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sampled_kb: Option<i64>,
    /// The step gave the right answer (for the lookup: Ok with every expected endpoint).
    pub ok: bool,
    pub note: String,
}

impl Sample {
    /// Upper bound of the memory resident at once: the step's peak plus the largest child's.
    pub fn bound_kb(&self) -> i64 {
        self.self_kb + self.children_kb
    }
}

fn rusage_kb() -> Result<(i64, i64), BenchError> {
    let me = getrusage(UsageWho::RUSAGE_SELF).map_err(BenchError::Rusage)?;
    let kids = getrusage(UsageWho::RUSAGE_CHILDREN).map_err(BenchError::Rusage)?;
    // VmHWM, not ru_maxrss: a process's ru_maxrss starts at its parent's high-water mark (exec
    // after vfork), and the parent here holds the whole rendered rule set.
    let own = crate::memory::status_kb("self", "VmHWM:").unwrap_or(me.max_rss());
    Ok((own, kids.max_rss()))
}

/// In the child: the agent's ServiceRules step for `target`, inside `netns`.
/// With `want_mode`, the answer counts as right only when detection found that mode.
pub fn lookup(
    netns: &Path,
    target: PlanTarget,
    expected: Vec<Endpoint>,
    sample_memory: bool,
    want_mode: Option<&str>,
) -> Result<Sample, BenchError> {
    let want = expected.len();
    let sampler = if sample_memory {
        crate::memory::Sampler::start()
    } else {
        None
    };
    let (elapsed, hop) = netdiag_agent::kernel::netns::run_in(netns, move || {
        let t = Instant::now();
        let hop = netdiag_agent::dataplane::kube_proxy::service_rules("bench", &target, &expected);
        (t.elapsed(), hop)
    })?;
    let sampled_kb = sampler.and_then(crate::memory::Sampler::stop);
    let (self_kb, children_kb) = rusage_kb()?;
    let found = match &hop.details {
        Some(HopDetail::ServiceRules(d)) => Some((d.endpoints.len(), d.backend.clone(), &d.mode)),
        _ => None,
    };
    let mode_ok = |mode: &String| want_mode.is_none_or(|w| w == mode);
    let ok = hop.verdict == Verdict::Ok
        && found
            .as_ref()
            .is_some_and(|(n, _, mode)| *n == want && mode_ok(mode));
    let note = match found {
        Some((n, backend, _)) if ok && want_mode.is_none() => {
            format!("{n} endpoints, {}", backend.unwrap_or_default())
        }
        Some((n, _, mode)) if ok => format!("{n} endpoints, mode {mode}"),
        Some((_, _, mode)) if !mode_ok(mode) => format!(
            "detection found mode {mode}, not {}",
            want_mode.unwrap_or_default()
        ),
        _ => format!("{:?}: {}", hop.verdict, hop.detail),
    };
    Ok(Sample {
        ms: elapsed.as_secs_f64() * 1e3,
        self_kb,
        children_kb,
        sampled_kb,
        ok,
        note,
    })
}

/// In the child: `<save> -t nat > /dev/null` inside `netns`, the naive full dump.
pub fn dump(netns: &Path, save: &'static str) -> Result<Sample, BenchError> {
    let (elapsed, out) = netdiag_agent::kernel::netns::run_in(netns, move || {
        let t = Instant::now();
        let out = Command::new(save)
            .args(["-t", "nat"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output();
        (t.elapsed(), out)
    })?;
    let text = format!("{save} -t nat");
    let out = out.map_err(|source| BenchError::Spawn {
        cmd: text.clone(),
        source,
    })?;
    cmd::check(text, out)?;
    let (self_kb, children_kb) = rusage_kb()?;
    Ok(Sample {
        ms: elapsed.as_secs_f64() * 1e3,
        self_kb,
        children_kb,
        sampled_kb: None,
        ok: true,
        note: String::new(),
    })
}

/// In the child: `nft [-j] list table ip kube-proxy` inside `netns`, the naive full listing of
/// kube-proxy's nftables table; the note says how many bytes it printed.
pub fn nft_list(netns: &Path, json: bool) -> Result<Sample, BenchError> {
    let mut args = vec!["list", "table", "ip", "kube-proxy"];
    if json {
        args.insert(0, "-j");
    }
    let text = format!("nft {}", args.join(" "));
    let (elapsed, out) = netdiag_agent::kernel::netns::run_in(netns, move || {
        let t = Instant::now();
        let out = Command::new("nft")
            .args(&args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut child| {
                // Read as a tool reading the listing would, without keeping it: the probe's own
                // memory stays small, and the child's peak is its own.
                let bytes = match child.stdout.take() {
                    Some(mut out) => std::io::copy(&mut out, &mut std::io::sink())?,
                    None => 0,
                };
                child.wait_with_output().map(|o| (bytes, o))
            });
        (t.elapsed(), out)
    })?;
    let (bytes, out) = out.map_err(|source| BenchError::Spawn {
        cmd: text.clone(),
        source,
    })?;
    cmd::check(text, out)?;
    let (self_kb, children_kb) = rusage_kb()?;
    Ok(Sample {
        ms: elapsed.as_secs_f64() * 1e3,
        self_kb,
        children_kb,
        sampled_kb: None,
        ok: bytes > 0,
        note: format!("{bytes} bytes"),
    })
}

/// In the parent: run `netdiag-bench probe <args>` and read its one JSON line.
pub fn spawn(args: &[String]) -> Result<Sample, BenchError> {
    let exe: PathBuf =
        std::env::current_exe().map_err(BenchError::io("find own executable", "/proc/self/exe"))?;
    let mut c = Command::new(exe);
    c.arg("probe").args(args).stderr(Stdio::piped());
    let out = cmd::run(&mut c)?;
    serde_json::from_slice(&out.stdout).map_err(|source| BenchError::Json {
        what: format!("the output of `{}`", cmd::describe(&c)),
        source,
    })
}
