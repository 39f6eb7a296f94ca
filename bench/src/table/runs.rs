//! The rows of whole runs of the binaries: B3's lab traces, B4's start-up and sizes, B5's node
//! inspection.

use crate::b5::TARGET_MS as B5_TARGET_MS;

use super::{Results, mark};

pub(super) fn b3_rows(r: &Results, rows: &mut Vec<[String; 4]>) {
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

pub(super) fn b4_rows(r: &Results, rows: &mut Vec<[String; 4]>) {
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

pub(super) fn b5_rows(r: &Results, rows: &mut Vec<[String; 4]>) {
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
#[path = "runs_tests.rs"]
mod tests;
