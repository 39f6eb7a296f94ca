//! The TRACE section of the table: the rules the probe's packets met, from the nodes' evidence.
//! Without `-o wide` only when a rule dropped a packet, and only that packet's rules (the
//! `nft monitor trace` lines an engineer would read); with it, every traced rule.

use netdiag_model::MergedPath;
use netdiag_model::report::TracedRule;

/// `(header, rows)` of the TRACE section, or None when there is nothing to show.
pub fn trace_rows(path: &MergedPath, wide: bool) -> Option<(Vec<&'static str>, Vec<Vec<String>>)> {
    let is_drop = |r: &TracedRule| r.verdict == "drop" || r.verdict == "policy drop";
    let mut rows = Vec::new();
    for e in &path.evidence {
        let dropped: Vec<u32> = e
            .rule_trace
            .iter()
            .filter(|r| is_drop(r))
            .map(|r| r.packet)
            .collect();
        for r in &e.rule_trace {
            if !wide && !dropped.contains(&r.packet) {
                continue;
            }
            rows.push(vec![
                e.node.clone(),
                format!("{:08x}", r.packet),
                format!("{} {} {}", r.family, r.table, r.chain),
                r.handle
                    .map(|h| h.to_string())
                    .unwrap_or_else(|| "-".into()),
                r.verdict.clone(),
                r.rule.clone().unwrap_or_default(),
            ]);
        }
    }
    (!rows.is_empty()).then(|| {
        (
            vec!["NODE", "PACKET", "CHAIN", "HANDLE", "VERDICT", "RULE"],
            rows,
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use netdiag_model::report::Evidence;

    fn rule(packet: u32, chain: &str, verdict: &str, text: Option<&str>) -> TracedRule {
        TracedRule {
            packet,
            family: "ip".into(),
            table: "filter".into(),
            chain: chain.into(),
            handle: Some(4),
            rule: text.map(str::to_string),
            verdict: verdict.into(),
        }
    }

    #[test]
    fn only_the_dropped_packets_rules_show_unless_wide() {
        let path = MergedPath {
            evidence: vec![Evidence {
                node: "node-a".into(),
                rule_trace: vec![
                    rule(1, "PREROUTING", "continue", None),
                    rule(2, "FORWARD", "continue", None),
                    rule(
                        2,
                        "FORWARD",
                        "drop",
                        Some("-A FORWARD -d 10.244.2.0/24 -j DROP"),
                    ),
                ],
                ..Default::default()
            }],
            ..Default::default()
        };
        let Some((header, rows)) = trace_rows(&path, false) else {
            panic!("a drop shows the section");
        };
        assert_eq!(header.len(), rows[0].len());
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[1][2], "ip filter FORWARD");
        assert_eq!(rows[1][5], "-A FORWARD -d 10.244.2.0/24 -j DROP");
        assert_eq!(trace_rows(&path, true).map(|(_, r)| r.len()), Some(3));
        let clean = MergedPath {
            evidence: vec![Evidence {
                node: "node-a".into(),
                rule_trace: vec![rule(1, "PREROUTING", "continue", None)],
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(trace_rows(&clean, false), None);
    }
}
