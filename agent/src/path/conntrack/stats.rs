//! Conntrack table pressure: fill level and the per-CPU drop counters, like
//! `sysctl net.netfilter.nf_conntrack_count net.netfilter.nf_conntrack_max` and `conntrack -S`.
//! The parsers here are pure; reading the files and sockets is done by the caller.

/// How full and how lossy the node's conntrack table is. Counters are summed over all CPUs
/// and count since boot (or since the namespace was created).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TablePressure {
    pub count: Option<u64>,
    pub max: Option<u64>,
    pub insert_failed: Option<u64>,
    pub drop: Option<u64>,
    pub early_drop: Option<u64>,
}

/// The per-CPU counters this probe reports, summed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CpuCounters {
    pub insert_failed: u64,
    pub drop: u64,
    pub early_drop: u64,
}

impl TablePressure {
    pub fn with_counters(mut self, c: Option<CpuCounters>) -> Self {
        if let Some(c) = c {
            self.insert_failed = Some(c.insert_failed);
            self.drop = Some(c.drop);
            self.early_drop = Some(c.early_drop);
        }
        self
    }

    /// The table is at least 90% full: new flows are about to be dropped.
    pub fn nearly_full(&self) -> bool {
        match (self.count, self.max) {
            (Some(count), Some(max)) if max > 0 => {
                count.saturating_mul(10) >= max.saturating_mul(9)
            }
            _ => false,
        }
    }

    /// Packets were dropped because conntrack could not track them.
    pub fn has_drops(&self) -> bool {
        self.drop.unwrap_or(0) > 0 || self.insert_failed.unwrap_or(0) > 0
    }
}

/// Why `/proc/net/stat/nf_conntrack` could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatError {
    #[error("/proc/net/stat/nf_conntrack has no header row")]
    Empty,
    #[error("/proc/net/stat/nf_conntrack has no {0} column")]
    MissingColumn(&'static str),
    #[error("/proc/net/stat/nf_conntrack row {row}: {value:?} is not a hex number")]
    BadNumber { row: usize, value: String },
}

/// Parse `/proc/net/stat/nf_conntrack`: a header row naming the columns, then one row of hex
/// numbers per CPU. Columns are found by name, since their set and order vary by kernel.
pub fn parse_proc_stat(text: &str) -> Result<CpuCounters, StatError> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<&str> = lines
        .next()
        .ok_or(StatError::Empty)?
        .split_whitespace()
        .collect();
    let col = |name: &'static str| {
        header
            .iter()
            .position(|h| *h == name)
            .ok_or(StatError::MissingColumn(name))
    };
    let (ifail, drop, early) = (col("insert_failed")?, col("drop")?, col("early_drop")?);
    let mut sum = CpuCounters::default();
    for (row, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        let cell = |i: usize| -> Result<u64, StatError> {
            let value = cells.get(i).copied().unwrap_or_default();
            u64::from_str_radix(value, 16).map_err(|_| StatError::BadNumber {
                row: row + 1,
                value: value.to_string(),
            })
        };
        sum.insert_failed = sum.insert_failed.saturating_add(cell(ifail)?);
        sum.drop = sum.drop.saturating_add(cell(drop)?);
        sum.early_drop = sum.early_drop.saturating_add(cell(early)?);
    }
    Ok(sum)
}

/// `CTA_STATS_*` attribute numbers from `nfnetlink_conntrack.h`.
const CTA_STATS_INSERT_FAILED: u16 = 9;
const CTA_STATS_DROP: u16 = 10;
const CTA_STATS_EARLY_DROP: u16 = 11;

/// Add one CPU's `IPCTNL_MSG_CT_GET_STATS_CPU` attributes (kind, big-endian u32 value) to `sum`.
pub fn add_cpu_stats(sum: &mut CpuCounters, attrs: &[(u16, Vec<u8>)]) {
    for (kind, value) in attrs {
        let Ok(bytes) = <[u8; 4]>::try_from(value.as_slice()) else {
            continue;
        };
        let n = u64::from(u32::from_be_bytes(bytes));
        match *kind {
            CTA_STATS_INSERT_FAILED => sum.insert_failed = sum.insert_failed.saturating_add(n),
            CTA_STATS_DROP => sum.drop = sum.drop.saturating_add(n),
            CTA_STATS_EARLY_DROP => sum.early_drop = sum.early_drop.saturating_add(n),
            _ => {}
        }
    }
}

/// Parse a sysctl file's content (`262144\n`).
pub fn parse_sysctl(text: &str) -> Option<u64> {
    text.trim().parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_near_the_top_saturate_instead_of_overflowing() {
        let mut sum = CpuCounters {
            drop: u64::MAX - 1,
            ..Default::default()
        };
        add_cpu_stats(
            &mut sum,
            &[(CTA_STATS_DROP, u32::MAX.to_be_bytes().to_vec())],
        );
        assert_eq!(sum.drop, u64::MAX);
    }

    /// `cat /proc/net/stat/nf_conntrack` on a 2-CPU 6.x kernel, with counters edited in.
    const PROC_STAT: &str = "\
entries  clashres found new invalid ignore delete chainlength insert insert_failed drop early_drop icmp_error  expect_new expect_create expect_delete search_restart
0000002a  00000000 00000000 00000000 00000003 00000000 00000000 00000000 00000000 0000000c 00000001 00000000 00000000  00000000 00000000 00000000 00000000
0000002a  00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000000 00000004 00000010 00000002 00000000  00000000 00000000 00000000 00000000
";

    #[test]
    fn proc_stat_sums_the_named_columns_over_cpus() {
        let c = parse_proc_stat(PROC_STAT).unwrap();
        assert_eq!(
            c,
            CpuCounters {
                insert_failed: 16,
                drop: 17,
                early_drop: 2
            }
        );
    }

    #[test]
    fn proc_stat_columns_are_found_by_name_not_position() {
        let text = "drop early_drop insert_failed\n00000001 00000002 00000003\n";
        let c = parse_proc_stat(text).unwrap();
        assert_eq!((c.drop, c.early_drop, c.insert_failed), (1, 2, 3));
    }

    #[test]
    fn proc_stat_errors_name_what_is_wrong() {
        assert_eq!(parse_proc_stat(""), Err(StatError::Empty));
        assert_eq!(
            parse_proc_stat("entries drop early_drop\n0 0 0\n"),
            Err(StatError::MissingColumn("insert_failed"))
        );
        let bad = "insert_failed drop early_drop\n0000000g 0 0\n";
        assert!(matches!(
            parse_proc_stat(bad),
            Err(StatError::BadNumber { row: 1, .. })
        ));
    }

    #[test]
    fn netlink_cpu_stats_add_up() {
        let mut sum = CpuCounters::default();
        add_cpu_stats(
            &mut sum,
            &[
                (9, vec![0, 0, 0, 5]),
                (10, vec![0, 0, 1, 0]),
                (2, vec![0, 0, 0, 9]),
            ],
        );
        add_cpu_stats(&mut sum, &[(11, vec![0, 0, 0, 1]), (10, vec![0, 0])]);
        assert_eq!(
            sum,
            CpuCounters {
                insert_failed: 5,
                drop: 256,
                early_drop: 1
            }
        );
    }

    #[test]
    fn ninety_percent_is_nearly_full() {
        let p = |count, max| TablePressure {
            count: Some(count),
            max: Some(max),
            ..Default::default()
        };
        assert!(p(118_000, 131_072).nearly_full());
        assert!(!p(117_000, 131_072).nearly_full());
        assert!(!p(5, 0).nearly_full());
        assert!(!TablePressure::default().nearly_full());
    }

    #[test]
    fn drops_count_drop_and_insert_failed_only() {
        let mut p = TablePressure::default().with_counters(Some(CpuCounters {
            insert_failed: 0,
            drop: 0,
            early_drop: 4,
        }));
        assert!(!p.has_drops());
        p.insert_failed = Some(1);
        assert!(p.has_drops());
        assert_eq!(parse_sysctl("262144\n"), Some(262144));
        assert_eq!(parse_sysctl("x"), None);
    }
}
