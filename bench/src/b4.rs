//! B4: `kubectl-netdiag --help` cold start (process start to exit, page cache warm: we measure the
//! binary's own start-up, not the disk) and the release binaries' sizes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::error::BenchError;
use crate::stats::median;

pub const BINARIES: [&str; 3] = ["kubectl-netdiag", "netdiag-agent", "netdiag-controller"];

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Binary {
    pub name: String,
    pub bytes: u64,
    /// No ELF interpreter: runs in a scratch image without a libc.
    pub is_static: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct B4 {
    pub help_ms: f64,
    pub help_samples: Vec<f64>,
    pub binaries: Vec<Binary>,
}

/// The release directory: the bench itself is built there next to the binaries it measures.
pub fn release_dir() -> Result<PathBuf, BenchError> {
    let exe =
        std::env::current_exe().map_err(BenchError::io("find own executable", "/proc/self/exe"))?;
    exe.parent()
        .map(Path::to_path_buf)
        .ok_or(BenchError::Unexpected {
            what: "release directory",
            detail: format!("{} has no parent", exe.display()),
        })
}

pub fn run(runs: usize) -> Result<B4, BenchError> {
    let dir = release_dir()?;
    let plugin = dir.join("kubectl-netdiag");
    let time_help = || -> Result<f64, BenchError> {
        let t = Instant::now();
        crate::cmd::run(Command::new(&plugin).arg("--help").stdout(Stdio::null()))?;
        Ok(t.elapsed().as_secs_f64() * 1e3)
    };
    time_help()?; // untimed: the first run pages the binary in
    let help_samples = (0..runs)
        .map(|_| time_help())
        .collect::<Result<Vec<_>, _>>()?;
    let mut binaries = Vec::new();
    for name in BINARIES {
        let path = dir.join(name);
        let bytes = std::fs::metadata(&path)
            .map_err(BenchError::io("stat", &path))?
            .len();
        let head = std::fs::read(&path).map_err(BenchError::io("read", &path))?;
        binaries.push(Binary {
            name: name.into(),
            bytes,
            is_static: !has_interpreter(&head),
        });
    }
    Ok(B4 {
        help_ms: median(&help_samples).unwrap_or(f64::NAN),
        help_samples,
        binaries,
    })
}

/// Whether a 64-bit little-endian ELF file has a PT_INTERP program header (is dynamically linked).
fn has_interpreter(elf: &[u8]) -> bool {
    const PT_INTERP: u32 = 3;
    let u16_at = |o: usize| elf.get(o..o + 2).map(|b| u16::from_le_bytes([b[0], b[1]]));
    let u32_at = |o: usize| {
        elf.get(o..o + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let u64_at = |o: usize| {
        elf.get(o..o + 8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
    };
    let (Some(phoff), Some(size), Some(count)) = (u64_at(0x20), u16_at(0x36), u16_at(0x38)) else {
        return false;
    };
    (0..usize::from(count)).any(|i| {
        let at = phoff as usize + i * usize::from(size);
        u32_at(at) == Some(PT_INTERP)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_bench_binary_itself_is_dynamic_and_garbage_is_not_elf() {
        let me = std::fs::read("/proc/self/exe").expect("read own executable");
        // Test binaries of a default (glibc) build are dynamically linked.
        assert!(super::has_interpreter(&me));
        assert!(!super::has_interpreter(b"not an elf"));
    }
}
