//! The workspace's real binaries, for tests that drive them (a package's own tests can use
//! `CARGO_BIN_EXE_*`; other packages' binaries are found here).

use std::path::PathBuf;
use std::process::Command;

/// The workspace's target directory (honours CARGO_TARGET_DIR).
pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| crate::files::repo().join("target"))
}

/// Where the debug build of binary `name` is, built or not.
pub fn binary_path(name: &str) -> PathBuf {
    target_dir().join("debug").join(name)
}

/// A workspace binary (each is named after its package: `kubectl-netdiag`, `netdiag-agent`,
/// `netdiag-lab`, `netdiag-controller`), built (debug) if it is not there yet. `scripts/test`
/// builds every binary first, so a stale one is never used there.
pub fn binary(name: &str) -> PathBuf {
    let path = binary_path(name);
    if !path.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", name, "--bin", name])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status();
        let outcome = match status {
            Ok(s) if s.success() => return path,
            Ok(s) => s.to_string(),
            Err(e) => e.to_string(),
        };
        panic!(
            "cargo build -p {name} --bin {name} failed ({outcome}): build it by hand to see why"
        );
    }
    path
}
