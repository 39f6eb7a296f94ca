//! The nftables row's marks: met, missed on either target, a wrong answer, and info below scale.

use crate::b1_nft::NftRow;
use crate::probe::Sample;
use crate::table::{Results, render};

fn sample(ms: f64, ok: bool, note: &str) -> Sample {
    Sample {
        ms,
        self_kb: 4_000,
        children_kb: 8_000,
        sampled_kb: None,
        ok,
        note: note.into(),
    }
}

fn nft_row(services: usize, lookup_ms: f64, list_ms: f64, peak_kb: i64, ok: bool) -> NftRow {
    let note = if ok {
        "5 endpoints, mode nftables"
    } else {
        "detection found mode iptables, not nftables"
    };
    NftRow {
        services,
        endpoints: 5,
        script_lines: 300_000,
        script_bytes: 20_000_000,
        transactions: 11,
        load_s: 42.0,
        lookup_ms,
        list_ms,
        ratio: lookup_ms / list_ms,
        json_ms: Some(2.0 * list_ms),
        list_bytes: 9_000_000,
        json_bytes: Some(30_000_000),
        lookup_peak_kb: peak_kb,
        lookup_bound_kb: peak_kb + 1_000,
        list_peak_kb: 200_000,
        json_peak_kb: Some(400_000),
        ok,
        note: note.into(),
        lookups: vec![sample(lookup_ms, ok, note)],
        lists: vec![sample(list_ms, true, "9000000 bytes")],
        json_lists: vec![sample(2.0 * list_ms, true, "30000000 bytes")],
    }
}

fn rendered(rows: Vec<NftRow>) -> Vec<String> {
    let r = Results {
        nftables: Some(rows),
        ..Results::none()
    };
    render(&r)
        .lines()
        .filter(|l| l.contains("nftables"))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_nftables_row_is_met_within_a_tenth_and_32_mb_at_ten_thousand_services() {
    let lines = rendered(vec![nft_row(10_000, 50.0, 1_000.0, 20 * 1024, true)]);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        lines[0].contains("lookup 50 ms (n=1) / nft list table 1000 ms"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("loaded in 42.0 s as 11 nft -f transactions"),
        "{}",
        lines[0]
    );
    assert!(
        lines[0].contains("ratio <= 0.1, peak <= 32 MB"),
        "{}",
        lines[0]
    );
    assert!(lines[0].trim_end().ends_with(" met"), "{}", lines[0]);
    assert!(
        lines[1].contains("nft -j list table 2000 ms"),
        "{}",
        lines[1]
    );
    assert!(lines[1].trim_end().ends_with("(info)"), "{}", lines[1]);
}

#[test]
fn the_nftables_row_is_missed_on_either_target_and_wrong_when_the_lookup_was() {
    let slow = rendered(vec![nft_row(10_000, 150.0, 1_000.0, 20 * 1024, true)]);
    assert!(slow[0].trim_end().ends_with("MISSED"), "{}", slow[0]);
    let fat = rendered(vec![nft_row(10_000, 50.0, 1_000.0, 40 * 1024, true)]);
    assert!(fat[0].trim_end().ends_with("MISSED"), "{}", fat[0]);
    let wrong = rendered(vec![nft_row(10_000, 50.0, 1_000.0, 20 * 1024, false)]);
    assert!(
        wrong[0].contains("WRONG ANSWER: detection found mode iptables"),
        "{}",
        wrong[0]
    );
    let small = rendered(vec![nft_row(1_000, 150.0, 1_000.0, 20 * 1024, true)]);
    assert!(small[0].trim_end().ends_with("(info)"), "{}", small[0]);
}

#[test]
fn a_missing_nftables_result_says_not_run() {
    let r = Results::none();
    assert!(render(&r).contains("nftables: not run"));
}
