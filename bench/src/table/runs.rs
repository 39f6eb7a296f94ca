//! The rows of whole runs of the binaries: B3's lab traces, B4's start-up and sizes, B5's node
//! inspection.

use crate::b5::TARGET_MS as B5_TARGET_MS;

use super::{Results, mark};

/// B3's target: the median agent time of a healthy trace.
pub const B3_TARGET_MS: f64 = 300.0;
/// What the path MTU probe may add to a healthy trace (issue 12).
pub const MTU_PROBE_TARGET_MS: f64 = 20.0;

/// B3 in the bridge lab and in the vxlan lab, one line each, then what the MTU probe costs.
pub(super) fn b3_rows(r: &Results, rows: &mut Vec<[String; 4]>) {
    for (cni, b3) in [("bridge", &r.b3), ("vxlan", &r.b3_vxlan)] {
        let Some(b3) = b3 else {
            rows.push([
                "B3".into(),
                format!("{cni}: not run"),
                String::new(),
                String::new(),
            ]);
            continue;
        };
        let what = format!(
            "{} lab trace agent time over {}: median {:.0} ms, p90 {:.0} ms ({})",
            b3.cni(),
            b3.agent_ms.len(),
            b3.median_ms,
            b3.p90_ms,
            b3.note
        );
        let result = if b3.healthy {
            mark(b3.median_ms < B3_TARGET_MS)
        } else {
            "UNHEALTHY TRACE".into()
        };
        rows.push([
            "B3".into(),
            what,
            format!("median < {B3_TARGET_MS:.0} ms"),
            result,
        ]);
        mtu_row(b3, rows);
    }
}

/// The same lab's traces with and without the `mtu` check: the difference of the medians.
fn mtu_row(b3: &crate::b3::B3, rows: &mut Vec<[String; 4]>) {
    let (Some(added), Some(without)) = (b3.mtu_probe_ms(), &b3.without_mtu) else {
        return;
    };
    let what = format!(
        "{} MTU probe: median {:.1} ms with it (n={}), {:.1} ms without (n={}): {added:+.1} ms",
        b3.cni(),
        b3.median_ms,
        b3.agent_ms.len(),
        without.median_ms,
        without.samples_ms.len(),
    );
    let what = match &b3.probe_alone {
        Some(p) => format!(
            "{what}; the probe alone {:.2} ms (n={})",
            p.median_ms,
            p.samples_ms.len()
        ),
        None => what,
    };
    let result = if b3.healthy {
        mark(added <= MTU_PROBE_TARGET_MS)
    } else {
        "UNHEALTHY TRACE".into()
    };
    rows.push([
        "B3".into(),
        what,
        format!("adds <= {MTU_PROBE_TARGET_MS:.0} ms"),
        result,
    ]);
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
