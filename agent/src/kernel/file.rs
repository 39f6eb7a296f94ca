//! Reading small files the node's workloads control (`/proc/<pid>/...`, a pod's root) without
//! letting them hang the agent or feed it host files: opened non-blocking, regular files only,
//! bounded in size, and inside a pod's root resolved in that root (`openat2` with
//! `RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS`), so a symlink cannot lead out of it.

use std::fs::File;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd};
use std::path::Path;

use nix::fcntl::{OFlag, OpenHow, ResolveFlag, openat2};
use nix::sys::stat::Mode;

/// Why a file was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadFileError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a regular file (a FIFO, a device or a directory): not read")]
    NotRegular { path: String },
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

fn flags() -> OFlag {
    OFlag::O_RDONLY | OFlag::O_NONBLOCK | OFlag::O_CLOEXEC | OFlag::O_NOCTTY
}

/// Read at most `limit` bytes of an open file, after checking it is a regular one.
fn read_open(file: File, path: &str, limit: u64) -> Result<Vec<u8>, ReadFileError> {
    let regular = file
        .metadata()
        .map(|m| m.file_type().is_file())
        .unwrap_or(false);
    if !regular {
        return Err(ReadFileError::NotRegular { path: path.into() });
    }
    let mut out = Vec::new();
    file.take(limit)
        .read_to_end(&mut out)
        .map_err(|source| ReadFileError::Read {
            path: path.into(),
            source,
        })?;
    Ok(out)
}

/// Read at most `limit` bytes of the regular file at `path`, never blocking on a FIFO.
pub fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadFileError> {
    let shown = path.display().to_string();
    let fd = nix::fcntl::open(path, flags(), Mode::empty()).map_err(|e| ReadFileError::Open {
        path: shown.clone(),
        source: e.into(),
    })?;
    read_open(File::from(fd), &shown, limit)
}

/// Read at most `limit` bytes of `relative` inside the directory `root` (a pod's
/// `/proc/<pid>/root`), resolved as if `root` were `/`: absolute symlinks and `..` stay in it.
pub fn read_in_root(root: &Path, relative: &str, limit: u64) -> Result<Vec<u8>, ReadFileError> {
    let (fd, shown) = open_in_root(root, relative, flags())?;
    read_open(File::from(fd), &shown, limit)
}

/// Open `relative` inside `root` with `flags`, resolved as if `root` were `/`; the fd and the
/// path as errors show it.
fn open_in_root(
    root: &Path,
    relative: &str,
    flags: OFlag,
) -> Result<(std::os::fd::OwnedFd, String), ReadFileError> {
    let shown = root.join(relative).display().to_string();
    let open_error = |e: nix::Error| ReadFileError::Open {
        path: shown.clone(),
        source: e.into(),
    };
    let dir = nix::fcntl::open(
        root,
        OFlag::O_PATH | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(open_error)?;
    let how = OpenHow::new()
        .flags(flags)
        .resolve(ResolveFlag::RESOLVE_IN_ROOT | ResolveFlag::RESOLVE_NO_MAGICLINKS);
    let fd = openat2(dir.as_fd(), relative, how).map_err(open_error)?;
    Ok((fd, shown))
}

/// The names of the entries of the directory `relative` inside `root`, resolved as
/// [`read_in_root`] resolves files (a symlink cannot lead out of `root`), sorted, at most
/// `limit` of them: a node's `/etc/cni/net.d` seen through `/proc/1/root`.
pub fn list_in_root(
    root: &Path,
    relative: &str,
    limit: usize,
) -> Result<Vec<String>, ReadFileError> {
    let (fd, shown) = open_in_root(
        root,
        relative,
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
    )?;
    // The directory is already resolved safely; its fd's /proc link lists exactly it.
    let listed = Path::new("/proc/self/fd").join(fd.as_raw_fd().to_string());
    let read_error = |source| ReadFileError::Read {
        path: shown.clone(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&listed).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        if let Some(name) = entry.file_name().to_str() {
            names.push(name.to_string());
        }
    }
    names.sort();
    names.truncate(limit);
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ndfile-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("root/etc")).expect("mkdir");
        dir
    }

    #[test]
    fn a_symlink_out_of_the_root_stays_in_the_root() {
        let dir = scratch("link");
        let root = dir.join("root");
        let outside = dir.join("host-secret");
        std::fs::write(&outside, "nameserver 6.6.6.6\n").expect("write");
        // The same absolute path inside the root: where RESOLVE_IN_ROOT must land.
        let inside = root.join(outside.strip_prefix("/").expect("an absolute path"));
        std::fs::create_dir_all(inside.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&inside, "nameserver 10.96.0.10\n").expect("write");
        std::os::unix::fs::symlink(&outside, root.join("etc/resolv.conf")).expect("symlink");
        let got = read_in_root(&root, "etc/resolv.conf", 1024).map_err(|e| e.to_string());
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(got, Ok(b"nameserver 10.96.0.10\n".to_vec()));
    }

    #[test]
    fn a_fifo_is_refused_at_once_and_a_big_file_is_cut() {
        let dir = scratch("fifo");
        let fifo = dir.join("root/etc/resolv.conf");
        nix::unistd::mkfifo(&fifo, Mode::S_IRUSR | Mode::S_IWUSR).expect("mkfifo");
        let started = std::time::Instant::now();
        let got = read_in_root(&dir.join("root"), "etc/resolv.conf", 1024);
        assert!(
            matches!(got, Err(ReadFileError::NotRegular { .. })),
            "{got:?}"
        );
        assert!(read_bounded(&fifo, 1024).is_err());
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "no hang"
        );
        let big = dir.join("big");
        std::fs::write(&big, vec![b'x'; 200_000]).expect("write");
        let got = read_bounded(&big, 65_536).map(|b| b.len());
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(got.ok(), Some(65_536));
    }

    #[test]
    fn a_directory_is_listed_in_the_root_and_a_symlink_out_of_it_stays_in() {
        let dir = scratch("list");
        let root = dir.join("root");
        std::fs::create_dir_all(root.join("etc/cni/net.d")).expect("mkdir");
        for f in ["10-flannel.conflist", "05-cilium.conflist", "x"] {
            std::fs::write(root.join("etc/cni/net.d").join(f), "{}").expect("write");
        }
        let got = list_in_root(&root, "etc/cni/net.d", 2).map_err(|e| e.to_string());
        // A link to the host's own directory resolves inside the root.
        std::os::unix::fs::symlink("/etc", root.join("etc/link")).expect("symlink");
        let via_link = list_in_root(&root, "etc/link/cni/net.d", 10).map(|n| n.len());
        let missing = list_in_root(&root, "etc/none", 10);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            got,
            Ok(vec![
                "05-cilium.conflist".to_string(),
                "10-flannel.conflist".into()
            ])
        );
        assert_eq!(via_link.ok(), Some(3));
        assert!(
            matches!(missing, Err(ReadFileError::Open { .. })),
            "{missing:?}"
        );
    }
}
