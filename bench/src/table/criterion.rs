//! B2's rows, from criterion's estimates: the parse-and-walk throughput against the legacy dump.

use std::path::Path;

use serde_json::Value;

use super::{Results, mark};

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

/// The median of one criterion benchmark, `<home>/<group>/<bench>/new/estimates.json`, in ns.
pub fn criterion_median_ns(home: &Path, group: &str, bench: &str) -> Option<f64> {
    let path = home.join(group).join(bench).join("new/estimates.json");
    let est: Value = serde_json::from_slice(&std::fs::read(path).ok()?).ok()?;
    est.get("median")?.get("point_estimate")?.as_f64()
}

pub(super) fn b2_rows(r: &Results, legacy: Option<(usize, f64)>, rows: &mut Vec<[String; 4]>) {
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
