//! The workspace's real binaries, for tests that drive them (a package's own tests can use
//! `CARGO_BIN_EXE_*`; other packages' binaries are found here), and the outside tools some
//! tests drive beside them (kubectl).

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

/// An outside tool the test drives (`kubectl`), at `/usr/bin/TOOL` or else on `PATH`. Missing,
/// it is a skip locally (`None`, said on stderr) and a failure under CI (env `CI` set), so a CI
/// image without it cannot pass silently; `package` is what to install.
pub fn tool_or_skip(tool: &str, package: &str) -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(tool))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let found = std::iter::once(PathBuf::from("/usr/bin").join(tool))
        .chain(on_path)
        .find(|p| p.is_file());
    if found.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{tool} is not installed, and CI is set: this test must run in CI (install {package})"
        );
        eprintln!("skipping: {tool} not found (set CI=1 to make this a failure)");
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tool_is_found_on_the_path_and_a_missing_one_is_a_skip_outside_ci() {
        // sh is everywhere a test runs.
        assert!(tool_or_skip("sh", "a shell").is_some_and(|p| p.is_file()));
        if std::env::var_os("CI").is_none() {
            assert_eq!(tool_or_skip("netdiag-no-such-tool", "nothing"), None);
        }
    }
}
