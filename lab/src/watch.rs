//! The watch handshake of `lab trace`, as the controller does it with a readiness probe: an
//! endpoint run on another node that watches for the probe's packets (its plan's `watchMs`)
//! starts first and creates its armed file once its trace is in place; the source run starts
//! after that; the done file then tells the watcher it need not wait any longer.
//!
//! The files live in the lab's state directory, which `lab down` removes after a crash.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How long the source run waits for a watcher to arm before it starts anyway (the watcher
/// then reports that it saw nothing, which the source's own evidence does not depend on).
pub const ARM_WAIT: Duration = Duration::from_secs(5);

/// How often the armed file is looked for.
const POLL: Duration = Duration::from_millis(5);

/// The armed and done files of one trace; dropping it removes them.
pub struct WatchFiles {
    dir: PathBuf,
}

impl WatchFiles {
    /// A fresh directory under `state_dir`, unique to this process and trace.
    pub fn create(state_dir: &Path) -> std::io::Result<WatchFiles> {
        static NEXT: AtomicUsize = AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let dir = state_dir.join(format!("watch-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir)?;
        Ok(WatchFiles { dir })
    }

    /// The file the watching run `index` creates once armed.
    pub fn armed(&self, index: usize) -> PathBuf {
        self.dir.join(format!("armed-{index}"))
    }

    /// The file that tells every watcher the source run is done.
    pub fn done(&self) -> PathBuf {
        self.dir.join("done")
    }

    /// Wait until every watcher in `indexes` is armed, or `gave_up` says they all ended, or
    /// [`ARM_WAIT`] passed. Whether all were armed.
    pub fn wait_armed(&self, indexes: &[usize], gave_up: impl Fn() -> bool) -> bool {
        let until = Instant::now() + ARM_WAIT;
        loop {
            if indexes.iter().all(|i| self.armed(*i).exists()) {
                return true;
            }
            if gave_up() || Instant::now() >= until {
                return false;
            }
            std::thread::sleep(POLL);
        }
    }

    /// Tell the watchers the source run is done.
    pub fn finish(&self) {
        // A watcher that misses it stops at its window's end.
        let _ = std::fs::write(self.done(), b"done\n");
    }
}

impl Drop for WatchFiles {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn armed_files_are_waited_for_and_everything_is_removed() {
        let root = std::env::temp_dir().join(format!("nd-watch-test-{}", std::process::id()));
        let files = WatchFiles::create(&root).expect("dir");
        let dir = files.dir.clone();
        assert!(!files.wait_armed(&[1], || true), "gave up at once");
        std::fs::write(files.armed(1), b"armed\n").expect("armed");
        assert!(files.wait_armed(&[1], || false));
        files.finish();
        assert!(files.done().exists());
        drop(files);
        assert!(!dir.exists());
        let _ = std::fs::remove_dir_all(root);
    }
}
