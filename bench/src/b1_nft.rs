//! B1's nftables row: the agent's ServiceRules hop for one VIP (detection included) against the
//! naive `nft list table ip kube-proxy` (and `nft -j list table`), side by side in one run, in a
//! throwaway namespace holding kube-proxy's nftables table for N Services x M endpoints.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::cleanup::Netns;
use crate::error::BenchError;
use crate::nft_batches::transactions;
use crate::probe::{self, Sample};
use crate::stats::median;
use crate::workload::Workload;

/// The mode detection must find in the namespace: the lookup is wrong otherwise.
const MODE: &str = "nftables";

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NftRow {
    pub services: usize,
    pub endpoints: usize,
    /// Lines and bytes of the generated `nft -f` script.
    pub script_lines: usize,
    pub script_bytes: usize,
    /// `nft -f` transactions the script was loaded in, and how long that took (s).
    pub transactions: usize,
    pub load_s: f64,
    pub lookup_ms: f64,
    /// `nft list table ip kube-proxy`, the row's floor.
    pub list_ms: f64,
    pub ratio: f64,
    /// `nft -j list table ip kube-proxy`; None when not run (`--no-json`).
    #[serde(default)]
    pub json_ms: Option<f64>,
    /// Bytes the listings printed.
    pub list_bytes: u64,
    #[serde(default)]
    pub json_bytes: Option<u64>,
    /// Sampled peak of the lookup and its live nft children, KiB (untimed run).
    pub lookup_peak_kb: i64,
    /// Max over runs of the lookup's own peak plus its largest child's `ru_maxrss`, KiB.
    pub lookup_bound_kb: i64,
    /// Peak of the `nft list` process, KiB (`ru_maxrss`).
    pub list_peak_kb: i64,
    #[serde(default)]
    pub json_peak_kb: Option<i64>,
    /// Every lookup returned Ok, in mode nftables, with all expected endpoints.
    pub ok: bool,
    pub note: String,
    pub lookups: Vec<Sample>,
    pub lists: Vec<Sample>,
    #[serde(default)]
    pub json_lists: Vec<Sample>,
}

pub struct NftConfig {
    pub sizes: Vec<usize>,
    pub endpoints: usize,
    pub runs: usize,
    /// Slices of rules and elements after the declarations' transaction.
    pub batches: usize,
    /// Also time `nft -j list table`.
    pub json: bool,
    /// Stop repeating a side (a listing, the lookup) once this much time went into it (ms).
    pub dump_budget_ms: f64,
    pub out: PathBuf,
}

/// Load `script` into `ns` as `1 + batches` `nft -f` transactions, saying on stderr how far it
/// got; returns the transaction count and the seconds it took.
fn load(
    ns: &Netns,
    script: &str,
    batches: usize,
    file_stem: &Path,
) -> Result<(usize, f64), BenchError> {
    let tx = transactions(script, batches);
    let started = Instant::now();
    for (i, t) in tx.iter().enumerate() {
        let file = file_stem.with_extension(format!("tx{i:02}.nft"));
        std::fs::write(&file, t).map_err(BenchError::io("write", &file))?;
        crate::cmd::nft_load_in(&ns.path(), &file)?;
        let _ = std::fs::remove_file(&file);
        eprintln!(
            "B1:   nft -f: transaction {}/{} ({} lines) committed, {:.1} s so far",
            i + 1,
            tx.len(),
            t.lines().count(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok((tx.len(), started.elapsed().as_secs_f64()))
}

pub fn run(cfg: &NftConfig) -> Result<Vec<NftRow>, BenchError> {
    let mut rows = Vec::new();
    for &n in &cfg.sizes {
        let w = Workload {
            services: n,
            endpoints: cfg.endpoints,
        };
        let services = w.services()?;
        let script = w.nft_script()?;
        let (target, expected) = Workload::target(&services).ok_or(BenchError::Unexpected {
            what: "workload",
            detail: "no plain TCP Service to look up".into(),
        })?;
        drop(services);
        let stem = cfg.out.join(format!("rules-{n}x{}", cfg.endpoints));
        let whole = stem.with_extension("nft");
        std::fs::write(&whole, &script).map_err(BenchError::io("write", &whole))?;
        eprintln!(
            "B1: nftables {n} Services x {}: loading {} lines into table ip kube-proxy",
            cfg.endpoints,
            script.lines().count()
        );
        let ns = Netns::create("nftables")?;
        let (tx, load_s) = load(&ns, &script, cfg.batches, &stem)?;
        let netns = ns.path().display().to_string();
        let with_ns = |mut a: Vec<String>| {
            a.splice(0..0, ["--netns".to_string(), netns.clone()]);
            a
        };
        let mut lookup_args = crate::b1::lookup_args(&target, &expected);
        lookup_args.extend(["--want-mode".into(), MODE.into()]);
        // Untimed: pages nft and its libraries in, and samples the lookup's memory.
        let mut sampled = lookup_args.clone();
        sampled.push("--sample-memory".into());
        let memory = probe::spawn(&with_ns(sampled))?;
        let list_args = |json: bool| {
            let mut a = vec!["nft-list".to_string()];
            if json {
                a.push("--json".into());
            }
            with_ns(a)
        };
        let (mut lookups, mut lists, mut json_lists) = (Vec::new(), Vec::new(), Vec::new());
        let under_budget =
            |v: &[Sample]| v.is_empty() || v.iter().map(|s| s.ms).sum::<f64>() < cfg.dump_budget_ms;
        for r in 0..cfg.runs {
            eprintln!("B1:   run {}/{}", r + 1, cfg.runs);
            // Interleaved, so a noisy neighbour slows every side alike.
            if under_budget(&lists) {
                lists.push(probe::spawn(&list_args(false))?);
            }
            if cfg.json && under_budget(&json_lists) {
                json_lists.push(probe::spawn(&list_args(true))?);
            }
            // With nft 1.0.6 every `nft list chain` dumps every set of the table (one netlink
            // dump per anonymous vmap), so at 10,000 Services the lookup is the slow side too.
            if under_budget(&lookups) {
                lookups.push(probe::spawn(&with_ns(lookup_args.clone()))?);
            }
        }
        drop(ns);
        let mut row = row(w, &script, (tx, load_s), lookups, lists, json_lists);
        row.lookup_peak_kb = memory.sampled_kb.unwrap_or(row.lookup_bound_kb);
        if !memory.ok {
            row.ok = false;
            row.note = memory.note.clone();
        }
        rows.push(row);
    }
    Ok(rows)
}

fn row(
    w: Workload,
    script: &str,
    (transactions, load_s): (usize, f64),
    lookups: Vec<Sample>,
    lists: Vec<Sample>,
    json_lists: Vec<Sample>,
) -> NftRow {
    let ms = |v: &[Sample]| median(&v.iter().map(|s| s.ms).collect::<Vec<_>>());
    let bytes = |v: &[Sample]| {
        v.first()
            .and_then(|s| s.note.strip_suffix(" bytes"))
            .and_then(|b| b.parse().ok())
    };
    let peak = |v: &[Sample]| v.iter().map(|s| s.children_kb).max();
    let lookup_ms = ms(&lookups).unwrap_or(f64::NAN);
    let list_ms = ms(&lists).unwrap_or(f64::NAN);
    let ok = lookups.iter().all(|s| s.ok) && !lookups.is_empty();
    let note = lookups
        .iter()
        .find(|s| !s.ok)
        .or(lookups.first())
        .map(|s| s.note.clone())
        .unwrap_or_default();
    NftRow {
        services: w.services,
        endpoints: w.endpoints,
        script_lines: script.lines().count(),
        script_bytes: script.len(),
        transactions,
        load_s,
        lookup_ms,
        list_ms,
        ratio: lookup_ms / list_ms,
        json_ms: ms(&json_lists),
        list_bytes: bytes(&lists).unwrap_or(0),
        json_bytes: bytes(&json_lists),
        lookup_peak_kb: 0,
        lookup_bound_kb: lookups.iter().map(Sample::bound_kb).max().unwrap_or(0),
        list_peak_kb: peak(&lists).unwrap_or(0),
        json_peak_kb: peak(&json_lists),
        ok,
        note,
        lookups,
        lists,
        json_lists,
    }
}
