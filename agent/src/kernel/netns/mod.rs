//! Network namespaces: entering one safely, and finding a pod's.
//!
//! `setns(2)` moves only the calling thread, so work in a foreign namespace runs on a throwaway
//! thread that enters it, runs a synchronous closure and exits. A panic, an early return or an
//! error cannot leave a pooled thread in a pod's namespace, because the thread is never reused.
//! Sockets and netlink connections created there keep that namespace after the thread is gone.

pub mod discover;
pub mod scan;

use std::fs::File;
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::sched::{CloneFlags, setns};

/// A failure to enter or identify a network namespace.
#[derive(Debug, thiserror::Error)]
pub enum NetnsError {
    #[error("cannot open network namespace {path}: {source}")]
    Open {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "cannot enter network namespace {path}: {source} (the agent needs CAP_SYS_ADMIN and hostPID)"
    )]
    Enter {
        path: PathBuf,
        #[source]
        source: nix::Error,
    },
    #[error("cannot start a thread to enter network namespace {path}: {source}")]
    Thread {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the work inside network namespace {path} panicked")]
    Panicked { path: PathBuf },
}

/// A namespace's identity: (device, inode) of its nsfs file, the same for every path to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NsId {
    pub dev: u64,
    pub ino: u64,
}

impl NsId {
    /// Identify the namespace behind a path such as `/var/run/netns/cni-...` or `/proc/42/ns/net`.
    pub fn of(path: &Path) -> Result<NsId, NetnsError> {
        let meta = std::fs::metadata(path).map_err(|source| NetnsError::Open {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(NsId {
            dev: meta.dev(),
            ino: meta.ino(),
        })
    }

    /// The namespace of the calling thread (not the process's main thread).
    pub fn current() -> Result<NsId, NetnsError> {
        NsId::of(Path::new("/proc/thread-self/ns/net"))
    }
}

/// Run `work` inside the network namespace at `path` and return its result.
///
/// Like `ip netns exec NAME` or `nsenter -n -t PID` for one closure. Child processes spawned by
/// `work` inherit the namespace.
pub fn run_in<T, F>(path: &Path, work: F) -> Result<T, NetnsError>
where
    T: Send + 'static,
    F: FnOnce() -> T + Send + 'static,
{
    let file = File::open(path).map_err(|source| NetnsError::Open {
        path: path.to_path_buf(),
        source,
    })?;
    let owned_path = path.to_path_buf();
    let handle = std::thread::Builder::new()
        .name("netns".into())
        .spawn(move || -> Result<T, NetnsError> {
            setns(file.as_fd(), CloneFlags::CLONE_NEWNET).map_err(|source| NetnsError::Enter {
                path: owned_path,
                source,
            })?;
            Ok(work())
        })
        .map_err(|source| NetnsError::Thread {
            path: path.to_path_buf(),
            source,
        })?;
    handle.join().map_err(|_| NetnsError::Panicked {
        path: path.to_path_buf(),
    })?
}

/// Run `work` inside each namespace of `paths` in turn, on one throwaway thread that enters
/// each once, and return one result per path, in order. For work that only creates sockets
/// (which keep their namespace): entering 250 namespaces costs one thread, not 250. A path
/// that cannot be opened or entered gives its error and the thread moves on to the next.
pub fn run_in_each<T, F>(
    paths: &[PathBuf],
    work: F,
) -> Result<Vec<Result<T, NetnsError>>, NetnsError>
where
    T: Send + 'static,
    F: Fn() -> T + Send + 'static,
{
    let owned: Vec<PathBuf> = paths.to_vec();
    let first = paths.first().cloned().unwrap_or_default();
    let handle = std::thread::Builder::new()
        .name("netns-each".into())
        .spawn(move || {
            owned
                .into_iter()
                .map(|path| {
                    let file = File::open(&path).map_err(|source| NetnsError::Open {
                        path: path.clone(),
                        source,
                    })?;
                    setns(file.as_fd(), CloneFlags::CLONE_NEWNET)
                        .map_err(|source| NetnsError::Enter { path, source })?;
                    Ok(work())
                })
                .collect::<Vec<_>>()
        })
        .map_err(|source| NetnsError::Thread {
            path: first.clone(),
            source,
        })?;
    handle
        .join()
        .map_err(|_| NetnsError::Panicked { path: first })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn running_in_our_own_namespace_sees_the_same_namespace() {
        let here = NsId::current().expect("own namespace");
        let there = run_in(Path::new("/proc/thread-self/ns/net"), || {
            NsId::current().map_err(|e| e.to_string())
        })
        .expect("enter own namespace");
        assert_eq!(there, Ok(here));
    }

    #[test]
    fn each_namespace_is_entered_in_turn_and_a_missing_one_fails_alone() {
        let here = NsId::current().expect("own namespace");
        let paths = [
            PathBuf::from("/proc/thread-self/ns/net"),
            PathBuf::from("/nonexistent/netns"),
        ];
        let out = run_in_each(&paths, || NsId::current().ok()).expect("thread");
        assert_eq!(out.len(), 2);
        // thread-self is opened by the worker thread: still our namespace.
        assert_eq!(out[0].as_ref().ok(), Some(&Some(here)));
        assert!(out[1].as_ref().is_err());
    }

    #[test]
    fn a_missing_namespace_is_an_open_error_naming_the_path() {
        let err = run_in(Path::new("/nonexistent/netns"), || ()).unwrap_err();
        assert!(err.to_string().contains("/nonexistent/netns"), "{err}");
    }
}
