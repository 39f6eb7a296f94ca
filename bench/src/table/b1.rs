//! B1's rows: the ServiceRules lookup against the full listing, per backend (iptables nft and
//! legacy, kube-proxy's nftables mode) and IPVS's decode rate.

use crate::b1::Backend;

use super::{Results, mark, mb};

/// The scale at which B1's targets apply.
const TARGET_SERVICES: usize = 10_000;

/// Returns (nat bytes, legacy dump ms) at the target scale, which sets B2's target.
pub(super) fn b1_rows(r: &Results, rows: &mut Vec<[String; 4]>) -> Option<(usize, f64)> {
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

pub(super) fn nft_rows(r: &Results, rows: &mut Vec<[String; 4]>) {
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

pub(super) fn ipvs_rows(r: &Results, rows: &mut Vec<[String; 4]>) {
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

#[cfg(test)]
#[path = "b1_tests.rs"]
mod tests;
