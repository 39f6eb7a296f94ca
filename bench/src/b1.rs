//! B1: the agent's ServiceRules lookup for one VIP against the naive `iptables-save -t nat`, side
//! by side in one run, in a throwaway namespace loaded with N Services x M endpoints.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::{Deserialize, Serialize};

use netdiag_lab::generate::render_restore;

use crate::cleanup::Netns;
use crate::error::BenchError;
use crate::probe::{self, Sample};
use crate::stats::median;
use crate::workload::Workload;

/// Which iptables the rules are loaded with and dumped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
pub enum Backend {
    Nft,
    Legacy,
}

impl Backend {
    pub fn restore(self) -> &'static str {
        match self {
            Backend::Nft => "iptables-nft-restore",
            Backend::Legacy => "iptables-legacy-restore",
        }
    }
    pub fn save(self) -> &'static str {
        match self {
            Backend::Nft => "iptables-nft-save",
            Backend::Legacy => "iptables-legacy-save",
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Nft => "nft",
            Backend::Legacy => "legacy",
        }
    }
}

/// One line of the B1 table, with its raw samples.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct B1Row {
    pub services: usize,
    pub endpoints: usize,
    pub backend: Backend,
    pub nat_rules: usize,
    pub nat_bytes: usize,
    pub lookup_ms: f64,
    pub dump_ms: f64,
    pub ratio: f64,
    /// Sampled peak of the step and its live iptables children, KiB (untimed run).
    pub lookup_peak_kb: i64,
    /// Max over runs of the step's own peak plus its largest child's `ru_maxrss`: a loose upper
    /// bound (see `Sample::children_kb`), KiB.
    pub lookup_bound_kb: i64,
    pub dump_peak_kb: i64,
    /// Every lookup returned Ok with all expected endpoints.
    pub ok: bool,
    pub note: String,
    pub lookups: Vec<Sample>,
    pub dumps: Vec<Sample>,
}

pub struct B1Config {
    pub sizes: Vec<usize>,
    pub endpoints: usize,
    pub runs: usize,
    pub backends: Vec<Backend>,
    /// Stop repeating the full dump once this much time went into it (ms).
    pub dump_budget_ms: f64,
    pub out: PathBuf,
}

/// The nat section's rule count and size, for the table's context column.
fn nat_size(restore: &str) -> (usize, usize) {
    let Some(start) = restore.find("*nat\n") else {
        return (0, 0);
    };
    let nat = &restore[start..];
    let nat = nat.find("\nCOMMIT").map_or(nat, |end| &nat[..end]);
    (
        nat.lines().filter(|l| l.starts_with("-A ")).count(),
        nat.len(),
    )
}

pub fn run(cfg: &B1Config) -> Result<Vec<B1Row>, BenchError> {
    let mut rows = Vec::new();
    let largest = cfg.sizes.iter().copied().max().unwrap_or(0);
    for &n in &cfg.sizes {
        let w = Workload {
            services: n,
            endpoints: cfg.endpoints,
        };
        let services = w.services()?;
        let text = render_restore(&services, &w.config(&services));
        let (nat_rules, nat_bytes) = nat_size(&text);
        let file = cfg.out.join(format!("rules-{n}x{}.restore", cfg.endpoints));
        std::fs::write(&file, &text).map_err(BenchError::io("write", &file))?;
        drop(text);
        let (target, expected) = Workload::target(&services).ok_or(BenchError::Unexpected {
            what: "workload",
            detail: "no plain TCP Service to look up".into(),
        })?;
        let lookup_args = lookup_args(&target, &expected);
        for &backend in &cfg.backends {
            eprintln!(
                "B1: {n} Services x {} endpoints, {}: loading {nat_rules} nat rules",
                cfg.endpoints,
                backend.as_str()
            );
            let ns = Netns::create(backend.as_str())?;
            crate::cmd::restore_in(&ns.path(), backend.restore(), &file)?;
            if backend == Backend::Legacy && n == largest {
                // B2 parses this real iptables-save text (legacy: the fast dump, same format).
                capture(&ns.path(), backend, &cfg.out.join("nat.save"))?;
            }
            let netns = ns.path().display().to_string();
            let with_ns = |mut a: Vec<String>| {
                a.splice(0..0, ["--netns".to_string(), netns.clone()]);
                a
            };
            // Untimed: pages the iptables binaries and libraries in for both measurements, and
            // samples the step's memory (the sampler would perturb a timed run).
            let mut sampled = lookup_args.clone();
            sampled.push("--sample-memory".into());
            let memory = probe::spawn(&with_ns(sampled))?;
            let (mut lookups, mut dumps) = (Vec::new(), Vec::new());
            for r in 0..cfg.runs {
                eprintln!("B1:   run {}/{}", r + 1, cfg.runs);
                // Interleaved, so a noisy neighbour slows both sides alike.
                let dump_args = vec!["dump".into(), "--backend".into(), backend.as_str().into()];
                // The full dump is the slow side (over a minute per run at 10,000 Services on
                // iptables-nft 1.8.9): repeat it only while under budget, at least once.
                let spent: f64 = dumps.iter().map(|d: &Sample| d.ms).sum();
                if dumps.is_empty() || spent < cfg.dump_budget_ms {
                    dumps.push(probe::spawn(&with_ns(dump_args))?);
                }
                lookups.push(probe::spawn(&with_ns(lookup_args.clone()))?);
            }
            drop(ns);
            let mut r = row(w, backend, (nat_rules, nat_bytes), lookups, dumps);
            r.lookup_peak_kb = memory.sampled_kb.unwrap_or(r.lookup_bound_kb);
            r.ok &= memory.ok;
            rows.push(r);
        }
    }
    Ok(rows)
}

pub fn lookup_args(
    target: &netdiag_model::PlanTarget,
    expected: &[netdiag_model::Endpoint],
) -> Vec<String> {
    let expect: Vec<String> = expected.iter().map(ToString::to_string).collect();
    vec![
        "lookup".into(),
        "--ip".into(),
        target.ip.to_string(),
        "--port".into(),
        target.port.to_string(),
        "--protocol".into(),
        target.protocol.to_string(),
        "--expect".into(),
        expect.join(","),
    ]
}

fn row(
    w: Workload,
    backend: Backend,
    (nat_rules, nat_bytes): (usize, usize),
    lookups: Vec<Sample>,
    dumps: Vec<Sample>,
) -> B1Row {
    let ms = |v: &[Sample]| median(&v.iter().map(|s| s.ms).collect::<Vec<_>>()).unwrap_or(f64::NAN);
    let (lookup_ms, dump_ms) = (ms(&lookups), ms(&dumps));
    let ok = lookups.iter().all(|s| s.ok);
    let note = lookups
        .iter()
        .find(|s| !s.ok)
        .or(lookups.first())
        .map(|s| s.note.clone())
        .unwrap_or_default();
    B1Row {
        services: w.services,
        endpoints: w.endpoints,
        backend,
        nat_rules,
        nat_bytes,
        lookup_ms,
        dump_ms,
        ratio: lookup_ms / dump_ms,
        lookup_peak_kb: 0,
        lookup_bound_kb: lookups.iter().map(Sample::bound_kb).max().unwrap_or(0),
        dump_peak_kb: dumps.iter().map(|s| s.children_kb).max().unwrap_or(0),
        ok,
        note,
        lookups,
        dumps,
    }
}

/// `<save> -t nat > file` inside the namespace.
fn capture(netns: &Path, backend: Backend, file: &Path) -> Result<(), BenchError> {
    let out = std::fs::File::create(file).map_err(BenchError::io("create", file))?;
    let save = backend.save();
    let res = netdiag_agent::kernel::netns::run_in(netns, move || {
        Command::new(save)
            .args(["-t", "nat"])
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(Stdio::piped())
            .output()
    })?;
    let text = format!("{save} -t nat > {}", file.display());
    let res = res.map_err(|source| BenchError::Spawn {
        cmd: text.clone(),
        source,
    })?;
    crate::cmd::check(text, res).map(|_| ())
}
