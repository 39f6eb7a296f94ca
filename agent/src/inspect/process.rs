//! The processes of a pod namespace, holder first, like `ip netns pid NAME` then `ps -o
//! pid,comm,lstart` on each: the holder is the oldest `pause` (the sandbox container that
//! keeps the namespace alive), else the oldest process (the lab's pod process, or a runtime
//! without pause). Parsing and ordering are pure; [`read`] does the procfs reads.

use std::path::Path;

use netdiag_model::inspect::NsProcess;

use crate::kernel::file::read_bounded;

/// `/proc/<pid>/stat` is one line; its longest field set stays far below this.
const STAT_LIMIT: u64 = 4096;
const COMM_LIMIT: u64 = 64;

/// The start time (clock ticks since boot) in a `/proc/<pid>/stat` line: field 22, counted
/// after the `)` that closes the command name (which may itself hold spaces and parentheses).
pub fn start_ticks(stat: &str) -> Option<u64> {
    let after_comm = &stat[stat.rfind(')')? + 1..];
    // Fields 3.. follow the comm; the start time is field 22, the 20th of these.
    after_comm.split_whitespace().nth(19)?.parse().ok()
}

/// Holder first (the oldest `pause`, else the oldest process), then the rest oldest first.
/// Ties on start time (processes forked in the same tick) go to the lower pid.
pub fn holder_first(mut procs: Vec<NsProcess>) -> Vec<NsProcess> {
    procs.sort_by_key(|p| (p.start_ticks, p.pid));
    if let Some(i) = procs.iter().position(|p| p.comm == "pause") {
        let pause = procs.remove(i);
        procs.insert(0, pause);
    }
    procs
}

/// Read `pids`' comm and start time under `proc`, holder first. A process that exits meanwhile
/// is left out.
pub fn read(proc: &Path, pids: &[u32]) -> Vec<NsProcess> {
    let procs = pids
        .iter()
        .filter_map(|&pid| {
            let dir = proc.join(pid.to_string());
            let stat = read_bounded(&dir.join("stat"), STAT_LIMIT).ok()?;
            let comm = read_bounded(&dir.join("comm"), COMM_LIMIT).ok()?;
            Some(NsProcess {
                pid,
                comm: String::from_utf8_lossy(&comm).trim_end().to_string(),
                start_ticks: start_ticks(&String::from_utf8_lossy(&stat))?,
            })
        })
        .collect();
    holder_first(procs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pid: u32, comm: &str, start_ticks: u64) -> NsProcess {
        NsProcess {
            pid,
            comm: comm.into(),
            start_ticks,
        }
    }

    #[test]
    fn the_start_time_is_found_after_a_comm_with_spaces_and_parentheses() {
        let stat = "2677 (my (odd) cmd) S 2650 2677 2677 0 -1 4194560 106 0 0 0 0 0 0 0 20 0 1 0 \
                    51234 1040384 1 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0";
        assert_eq!(start_ticks(stat), Some(51234));
        assert_eq!(start_ticks("42 (short) S 1 2"), None);
        assert_eq!(start_ticks("no parenthesis"), None);
    }

    #[test]
    fn the_oldest_pause_holds_the_namespace_even_when_started_later() {
        let got = holder_first(vec![
            p(2919, "sleep", 300),
            p(2907, "sh", 200),
            p(2677, "pause", 250),
        ]);
        let pids: Vec<u32> = got.iter().map(|p| p.pid).collect();
        assert_eq!(pids, [2677, 2907, 2919]);
    }

    #[test]
    fn without_pause_the_oldest_process_holds_it() {
        let got = holder_first(vec![
            p(30, "nginx", 9),
            p(12, "kubectl-netdiag", 9),
            p(50, "sh", 3),
        ]);
        let pids: Vec<u32> = got.iter().map(|p| p.pid).collect();
        assert_eq!(pids, [50, 12, 30]);
    }

    #[test]
    fn our_own_process_is_read_from_procfs() {
        let me = std::process::id();
        let got = read(Path::new("/proc"), &[me, u32::MAX]);
        assert_eq!(got.len(), 1, "a pid that does not exist is left out");
        assert_eq!(got[0].pid, me);
        assert!(got[0].start_ticks > 0 && !got[0].comm.is_empty());
    }
}
