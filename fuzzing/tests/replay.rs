//! Every fuzz target's seeds (`fuzz/corpus/<target>/`) and every crash it found and we fixed
//! (`fuzz/artifacts/<target>/`) run through it here, on stable, so a fixed crash stays fixed.

use std::fs;
use std::panic::{self, AssertUnwindSafe};
use std::path::{Path, PathBuf};

use netdiag_fuzzing::TARGETS;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `dir`, sorted; none when it does not exist.
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut out: Vec<PathBuf> = entries
        .map(|e| e.expect("read a corpus directory").path())
        .filter(|p| p.is_file())
        .collect();
    out.sort();
    out
}

#[test]
fn every_target_has_seeds_and_a_fuzz_target() {
    for (name, _) in TARGETS {
        let seeds = files(&fuzz_dir().join("corpus").join(name));
        assert!(!seeds.is_empty(), "fuzz/corpus/{name}/ has no seed");
        let target = fuzz_dir().join("fuzz_targets").join(format!("{name}.rs"));
        let source =
            fs::read_to_string(&target).unwrap_or_else(|e| panic!("{}: {e}", target.display()));
        assert!(
            source.contains(&format!("netdiag_fuzzing::{name}(data)")),
            "{} does not call netdiag_fuzzing::{name}",
            target.display()
        );
    }
}

#[test]
fn every_seed_and_kept_crash_runs_without_a_panic() {
    let mut failed = Vec::new();
    let mut ran = 0;
    for (name, target) in TARGETS {
        for kind in ["corpus", "artifacts"] {
            for file in files(&fuzz_dir().join(kind).join(name)) {
                let data = fs::read(&file).expect("read a corpus file");
                ran += 1;
                if panic::catch_unwind(AssertUnwindSafe(|| target(&data))).is_err() {
                    failed.push(file.display().to_string());
                }
            }
        }
    }
    assert!(ran >= TARGETS.len(), "only {ran} inputs ran");
    assert!(failed.is_empty(), "panicked on: {failed:#?}");
}
