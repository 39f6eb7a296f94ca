//! Peak memory of a step together with its child processes.
//!
//! `getrusage` cannot give it: the agent and its iptables children run one after the other, and
//! a child spawned by vfork/posix_spawn inherits its parent's high-water mark into its own
//! `ru_maxrss` at exec, so "largest child" would count the agent's memory twice. So the probe's
//! untimed run samples the resident sets of itself and its live children every half millisecond.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// `VmRSS` or `VmHWM` (KiB) of a process from /proc/<pid>/status; None once it has exited.
pub fn status_kb(pid: &str, field: &str) -> Option<i64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with(field))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Pids whose parent is `me` and that have exec'd. Children get pids above ours (until the pid
/// counter wraps, which at worst misses a sample), so only those /proc entries are read. A child
/// that has not exec'd yet still runs our image on our (shared or copied) pages: counting its
/// RSS would count ours twice.
fn children(me: u32) -> Vec<String> {
    let own_exe = std::fs::read_link("/proc/self/exe").ok();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| {
            let name = e.file_name().into_string().ok()?;
            let pid: u32 = name.parse().ok()?;
            if pid <= me {
                return None;
            }
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            // "pid (comm) state ppid ...": comm may hold spaces, so start after the last ')'.
            let ppid: u32 = stat
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .nth(1)?
                .parse()
                .ok()?;
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).ok();
            (ppid == me && exe != own_exe).then_some(name)
        })
        .collect()
}

/// Samples (own RSS + children's RSS) until [`Sampler::stop`].
pub struct Sampler {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<i64>,
}

impl Sampler {
    pub fn start() -> Option<Sampler> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let me = std::process::id();
        let handle = std::thread::Builder::new()
            .name("rss-sampler".into())
            .spawn(move || {
                let mut peak = 0;
                while !flag.load(Ordering::Relaxed) {
                    let own = status_kb("self", "VmRSS:").unwrap_or(0);
                    let kids: i64 = children(me)
                        .iter()
                        .filter_map(|p| status_kb(p, "VmRSS:"))
                        .sum();
                    peak = peak.max(own + kids);
                    std::thread::sleep(Duration::from_micros(500));
                }
                peak
            })
            .ok()?;
        Some(Sampler { stop, handle })
    }

    /// The largest sum seen, KiB.
    pub fn stop(self) -> Option<i64> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().ok()
    }
}
