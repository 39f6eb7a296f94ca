//! The B1-B5 table: each line with its measurement, its target and a met/missed mark.

use std::path::Path;

use serde_json::Value;

use crate::b1::{B1Row, Backend};
use crate::b1_nft::NftRow;
use crate::b3::B3;
use crate::b4::B4;
use crate::b5::{B5, TARGET_MS as B5_TARGET_MS};
use crate::error::BenchError;
use crate::ipvs::IpvsBench;

/// The scale at which B1's targets apply.
const TARGET_SERVICES: usize = 10_000;
/// The criterion benchmark B2's target applies to: parse a whole `iptables-save` text and walk
/// one VIP (the text parser at its largest; the agent itself parses `-S` listings of a chain).
pub const B2_FULL: &str = "parse_walk_full";

/// One B2 measurement from criterion's output.
#[derive(Clone, Debug)]
pub struct B2 {
    pub id: String,
    pub bytes: u64,
    pub median_ns: f64,
}

impl B2 {
    pub fn mb_per_s(&self) -> f64 {
        self.bytes as f64 / self.median_ns * 1e3
    }
}

fn mb(kb: i64) -> f64 {
    kb as f64 * 1024.0 / 1e6
}

fn mark(met: bool) -> String {
    if met { "met" } else { "MISSED" }.into()
}

/// Read `<criterion>/<group>/<bench>/new/{estimates,benchmark}.json` for every bench.
pub fn read_criterion(home: &Path, group: &str) -> Vec<B2> {
    let read = |p: &Path| -> Option<Value> { serde_json::from_slice(&std::fs::read(p).ok()?).ok() };
    let Ok(dir) = std::fs::read_dir(home.join(group)) else {
        return Vec::new();
    };
    let mut out: Vec<B2> = dir
        .flatten()
        .filter_map(|e| {
            let new = e.path().join("new");
            let est = read(&new.join("estimates.json"))?;
            let meta = read(&new.join("benchmark.json"))?;
            Some(B2 {
                id: meta.get("function_id")?.as_str()?.to_string(),
                bytes: meta.get("throughput")?.get("Bytes")?.as_u64()?,
                median_ns: est.get("median")?.get("point_estimate")?.as_f64()?,
            })
        })
        .collect();
    out.sort_by(|a, b| a.id.cmp(&b.id));
    out
}

pub struct Results {
    pub b1: Option<Vec<B1Row>>,
    pub ipvs: Option<IpvsBench>,
    pub nftables: Option<Vec<NftRow>>,
    pub b2: Vec<B2>,
    pub b3: Option<B3>,
    pub b4: Option<B4>,
    pub b5: Option<B5>,
    /// Criterion's median of the pure join over 250 namespaces, in ns.
    pub b5_join_ns: Option<f64>,
}

/// The median of one criterion benchmark, `<home>/<group>/<bench>/new/estimates.json`, in ns.
pub fn criterion_median_ns(home: &Path, group: &str, bench: &str) -> Option<f64> {
    let path = home.join(group).join(bench).join("new/estimates.json");
    let est: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    est.get("median")?.get("point_estimate")?.as_f64()
}

pub fn load<T: serde::de::DeserializeOwned>(path: &Path) -> Result<Option<T>, BenchError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(BenchError::io("read", path)(e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|source| BenchError::Json {
            what: path.display().to_string(),
            source,
        })
}

pub fn render(r: &Results) -> String {
    let mut rows: Vec<[String; 4]> = vec![[
        "".into(),
        "measurement".into(),
        "target".into(),
        "result".into(),
    ]];
    let legacy_dump_ms = b1_rows(r, &mut rows);
    nft_rows(r, &mut rows);
    ipvs_rows(r, &mut rows);
    b2_rows(r, legacy_dump_ms, &mut rows);
    b3_rows(r, &mut rows);
    b4_rows(r, &mut rows);
    b5_rows(r, &mut rows);
    let mut widths = [0; 4];
    for row in &rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for row in &rows {
        let line = format!(
            "{:<w0$}  {:<w1$}  {:<w2$}  {}",
            row[0],
            row[1],
            row[2],
            row[3],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2]
        );
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Returns (nat bytes, legacy dump ms) at the target scale, which sets B2's target.
fn b1_rows(r: &Results, rows: &mut Vec<[String; 4]>) -> Option<(usize, f64)> {
    let Some(b1) = &r.b1 else {
        rows.push(["B1".into(), "not run".into(), String::new(), String::new()]);
        return None;
    };
    let mut legacy = None;
    for row in b1 {
        let what = format!(
            "{} {}x{}: lookup {:.0} ms (n={}) / save {:.0} ms (n={}) = {:.3}, peak {:.1} MB (bound {:.1}; save {:.0} MB)",
            row.backend.as_str(),
            row.services,
            row.endpoints,
            row.lookup_ms,
            row.lookups.len(),
            row.dump_ms,
            row.dumps.len(),
            row.ratio,
            mb(row.lookup_peak_kb),
            mb(row.lookup_bound_kb),
            mb(row.dump_peak_kb),
        );
        let at_target = row.services == TARGET_SERVICES;
        let (target, met) = match row.backend {
            Backend::Nft => (
                "ratio <= 0.15, peak <= 32 MB",
                row.ratio <= 0.15 && mb(row.lookup_peak_kb) <= 32.0,
            ),
            Backend::Legacy => ("ratio <= 1.2", row.ratio <= 1.2),
        };
        if row.backend == Backend::Legacy && at_target {
            legacy = Some((row.nat_bytes, row.dump_ms));
        }
        let result = if !row.ok {
            format!("WRONG ANSWER: {}", row.note)
        } else if at_target {
            mark(met)
        } else {
            "(info)".into()
        };
        rows.push(["B1".into(), what, target.into(), result]);
    }
    legacy
}

/// kube-proxy nftables mode, at [`TARGET_SERVICES`]: the lookup at most a tenth of the plain
/// listing, and its peak (with its nft children) within this many MB.
pub const NFT_TARGET_RATIO: f64 = 0.1;
pub const NFT_TARGET_PEAK_MB: f64 = 32.0;

fn nft_rows(r: &Results, rows: &mut Vec<[String; 4]>) {
    let Some(nft) = &r.nftables else {
        rows.push([
            "B1".into(),
            "nftables: not run".into(),
            String::new(),
            String::new(),
        ]);
        return;
    };
    for row in nft {
        let what = format!(
            "nftables {}x{} in table ip kube-proxy ({} lines, loaded in {:.1} s as {} nft -f transactions): lookup {:.0} ms (n={}) / nft list table {:.0} ms (n={}, {:.1} MB) = {:.3}, peak {:.1} MB (bound {:.1}; list {:.0} MB)",
            row.services,
            row.endpoints,
            row.script_lines,
            row.load_s,
            row.transactions,
            row.lookup_ms,
            row.lookups.len(),
            row.list_ms,
            row.lists.len(),
            row.list_bytes as f64 / 1e6,
            row.ratio,
            mb(row.lookup_peak_kb),
            mb(row.lookup_bound_kb),
            mb(row.list_peak_kb),
        );
        let met = row.ratio <= NFT_TARGET_RATIO && mb(row.lookup_peak_kb) <= NFT_TARGET_PEAK_MB;
        let at_target = row.services == TARGET_SERVICES;
        let verdict = |met: bool| {
            if !row.ok {
                format!("WRONG ANSWER: {}", row.note)
            } else if at_target {
                mark(met)
            } else {
                "(info)".into()
            }
        };
        rows.push([
            "B1".into(),
            what,
            format!("ratio <= {NFT_TARGET_RATIO}, peak <= {NFT_TARGET_PEAK_MB:.0} MB"),
            verdict(met),
        ]);
        if let Some(json_ms) = row.json_ms {
            let what = format!(
                "nftables {}x{}: lookup {:.0} ms / nft -j list table {:.0} ms (n={}, {:.1} MB) = {:.3}, list peak {:.0} MB",
                row.services,
                row.endpoints,
                row.lookup_ms,
                json_ms,
                row.json_lists.len(),
                row.json_bytes.unwrap_or(0) as f64 / 1e6,
                row.lookup_ms / json_ms,
                mb(row.json_peak_kb.unwrap_or(0)),
            );
            rows.push(["B1".into(), what, String::new(), "(info)".into()]);
        }
    }
}

/// IPVS decode target, MB/s. A 10,000 x 5 node's service dump and 10,000 destination dumps are
/// 21 MB (the kernel sends 32- and 64-bit statistics with every entry); at 400 MB/s all of it
/// decodes in about 50 ms, a sixth of B3's 300 ms trace budget. A lookup itself decodes one
/// service and its real servers (and the service dump only when the VIP has no service).
pub const IPVS_TARGET_MB_S: f64 = 400.0;

fn ipvs_rows(r: &Results, rows: &mut Vec<[String; 4]>) {
    let Some(b) = &r.ipvs else {
        rows.push([
            "B1".into(),
            "ipvs: not run".into(),
            String::new(),
            String::new(),
        ]);
        return;
    };
    let what = format!(
        "ipvs {}x{}: decode the service and real-server dumps, {:.0} MB/s ({:.1} MB in {:.1} ms, n={}; bytes built from ip_vs.h, no ip_vs here)",
        b.services,
        b.endpoints,
        b.mb_per_s(),
        b.bytes as f64 / 1e6,
        b.median_ms,
        b.samples_ms.len(),
    );
    let result = if !b.ok {
        format!("WRONG ANSWER: {}", b.note)
    } else if b.services == TARGET_SERVICES {
        mark(b.mb_per_s() >= IPVS_TARGET_MB_S)
    } else {
        "(info)".into()
    };
    rows.push([
        "B1".into(),
        what,
        format!(">= {IPVS_TARGET_MB_S:.0} MB/s"),
        result,
    ]);
}

fn b2_rows(r: &Results, legacy: Option<(usize, f64)>, rows: &mut Vec<[String; 4]>) {
    if r.b2.is_empty() {
        rows.push(["B2".into(), "not run".into(), String::new(), String::new()]);
    }
    for b in &r.b2 {
        let what = format!(
            "{}: {:.0} MB/s ({:.1} MB in {:.1} ms)",
            b.id,
            b.mb_per_s(),
            b.bytes as f64 / 1e6,
            b.median_ns / 1e6
        );
        // Parse + walk of the whole dump may add at most 0.2x the dump itself (B1 legacy <= 1.2).
        let (target, result) = match legacy {
            Some((bytes, dump_ms)) if b.id == B2_FULL => {
                let need = bytes as f64 / 1e6 / (0.2 * dump_ms / 1e3);
                (format!(">= {need:.0} MB/s"), mark(b.mb_per_s() >= need))
            }
            _ => (String::new(), "(info)".into()),
        };
        rows.push(["B2".into(), what, target, result]);
    }
}

fn b3_rows(r: &Results, rows: &mut Vec<[String; 4]>) {
    let Some(b3) = &r.b3 else {
        rows.push(["B3".into(), "not run".into(), String::new(), String::new()]);
        return;
    };
    let what = format!(
        "lab trace agent time over {}: median {:.0} ms, p90 {:.0} ms ({})",
        b3.agent_ms.len(),
        b3.median_ms,
        b3.p90_ms,
        b3.note
    );
    let result = if b3.healthy {
        mark(b3.median_ms < 300.0)
    } else {
        "UNHEALTHY TRACE".into()
    };
    rows.push(["B3".into(), what, "median < 300 ms".into(), result]);
}

fn b4_rows(r: &Results, rows: &mut Vec<[String; 4]>) {
    let Some(b4) = &r.b4 else {
        rows.push(["B4".into(), "not run".into(), String::new(), String::new()]);
        return;
    };
    rows.push([
        "B4".into(),
        format!(
            "kubectl-netdiag --help median over {}: {:.1} ms",
            b4.help_samples.len(),
            b4.help_ms
        ),
        "< 20 ms".into(),
        mark(b4.help_ms < 20.0),
    ]);
    for bin in &b4.binaries {
        let linkage = if bin.is_static { "static" } else { "dynamic" };
        rows.push([
            "B4".into(),
            format!("{}: {:.1} MB, {linkage}", bin.name, bin.bytes as f64 / 1e6),
            String::new(),
            "(info)".into(),
        ]);
    }
}

fn b5_rows(r: &Results, rows: &mut Vec<[String; 4]>) {
    let target = format!("< {B5_TARGET_MS:.0} ms");
    match r.b5_join_ns {
        Some(ns) => rows.push([
            "B5".into(),
            format!(
                "inspect join of 250 pod namespaces (criterion median): {:.2} ms",
                ns / 1e6
            ),
            target.clone(),
            mark(ns / 1e6 < B5_TARGET_MS),
        ]),
        None => rows.push([
            "B5".into(),
            "join: not run".into(),
            String::new(),
            String::new(),
        ]),
    }
    let Some(b5) = &r.b5 else {
        rows.push([
            "B5".into(),
            "inspect: not run".into(),
            String::new(),
            String::new(),
        ]);
        return;
    };
    let what = format!(
        "inspect a node of {} pod namespaces (real netns + veths, built in {:.1} s): median {:.0} ms (n={}; {})",
        b5.pods,
        b5.build_s,
        b5.median_ms,
        b5.samples_ms.len(),
        b5.note
    );
    let result = if b5.ok {
        mark(b5.median_ms < B5_TARGET_MS)
    } else {
        format!("WRONG ANSWER: {}", b5.note)
    };
    rows.push(["B5".into(), what, target, result]);
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
