//! Where the plan comes from: inline JSON, stdin (the lab pipes it in), or a file (an agent pod
//! reads its run's ConfigMap, mounted read-only, with `--plan-file`). A file is read the way the
//! agent reads every file it does not own ([`crate::kernel::file::read_bounded`]): opened
//! non-blocking, regular files only (a FIFO or device is refused at once, never waited on), and
//! at most [`MAX_PLAN_BYTES`], so a wrong mount cannot hang the agent or fill its memory.

use std::io::Read;
use std::path::Path;

use netdiag_model::TracePlan;

use super::CliError;
use crate::kernel::file::read_bounded;

/// The largest plan read: four times what a ConfigMap can hold (1 MiB), so any plan the
/// controller writes fits, and a wrong file is refused instead of read whole.
pub const MAX_PLAN_BYTES: u64 = 4 * 1024 * 1024;

/// Where a plan is read from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlanSource<'a> {
    Inline(&'a str),
    Stdin,
    File(&'a Path),
}

impl<'a> PlanSource<'a> {
    /// What `--plan VALUE` means: JSON when it starts with `{`, stdin for `-`, else a file.
    pub fn of_plan_arg(value: &'a str) -> Self {
        if value.trim_start().starts_with('{') {
            PlanSource::Inline(value)
        } else if value == "-" {
            PlanSource::Stdin
        } else {
            PlanSource::File(Path::new(value))
        }
    }

    fn describe(&self) -> String {
        match self {
            PlanSource::Inline(_) => "the --plan argument".into(),
            PlanSource::Stdin => "stdin".into(),
            PlanSource::File(p) => p.display().to_string(),
        }
    }
}

fn too_large(from: String) -> CliError {
    CliError::PlanTooLarge {
        from,
        max: MAX_PLAN_BYTES,
    }
}

/// The plan's bytes, bounded, from wherever it is.
fn read_bytes(source: PlanSource<'_>) -> Result<Vec<u8>, CliError> {
    let bytes = match source {
        PlanSource::Inline(text) => text.as_bytes().to_vec(),
        PlanSource::Stdin => {
            let mut out = Vec::new();
            std::io::stdin()
                .take(MAX_PLAN_BYTES + 1)
                .read_to_end(&mut out)
                .map_err(|source| CliError::ReadPlan {
                    from: "stdin".into(),
                    source,
                })?;
            out
        }
        PlanSource::File(path) => read_bounded(path, MAX_PLAN_BYTES + 1)?,
    };
    // One byte past the limit was asked for, so a longer plan is told from one that fits.
    if bytes.len() as u64 > MAX_PLAN_BYTES {
        return Err(too_large(source.describe()));
    }
    Ok(bytes)
}

/// Read and parse a plan.
pub fn read_plan(source: PlanSource<'_>) -> Result<TracePlan, CliError> {
    let bytes = read_bytes(source)?;
    serde_json::from_slice(&bytes).map_err(|e| CliError::ParsePlan {
        from: source.describe(),
        source: e,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(tag: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("ndplan-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("mkdir");
        dir
    }

    #[test]
    fn a_plan_file_is_read_and_a_missing_one_names_its_path() {
        let dir = scratch("ok");
        let file = dir.join("plan.json");
        std::fs::write(
            &file,
            r#"{"role":"Endpoint","endpoint":{"ip":"10.244.2.7","port":8080}}"#,
        )
        .expect("write");
        let plan = read_plan(PlanSource::File(&file)).map_err(|e| e.to_string());
        let missing = read_plan(PlanSource::File(&dir.join("absent.json")));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(
            plan.map(|p| p.endpoint.map(|e| e.to_string())),
            Ok(Some("10.244.2.7:8080".into()))
        );
        let e = missing.expect_err("absent").to_string();
        assert!(e.contains("absent.json") && e.contains("plan"), "{e}");
    }

    #[test]
    fn a_fifo_is_refused_at_once_and_a_huge_or_bad_file_is_refused() {
        let dir = scratch("bad");
        let fifo = dir.join("fifo");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::S_IRUSR).expect("mkfifo");
        let started = std::time::Instant::now();
        let got = read_plan(PlanSource::File(&fifo));
        assert!(
            started.elapsed() < std::time::Duration::from_secs(1),
            "no hang on a FIFO nobody writes"
        );
        let huge = dir.join("huge.json");
        std::fs::write(&huge, vec![b' '; MAX_PLAN_BYTES as usize + 1]).expect("write");
        let big = read_plan(PlanSource::File(&huge));
        let junk = dir.join("junk.json");
        std::fs::write(&junk, "{not json").expect("write");
        let bad = read_plan(PlanSource::File(&junk));
        let _ = std::fs::remove_dir_all(&dir);
        assert!(
            got.as_ref()
                .is_err_and(|e| e.to_string().contains("not a regular file")),
            "{got:?}"
        );
        assert!(matches!(big, Err(CliError::PlanTooLarge { .. })), "{big:?}");
        assert!(matches!(bad, Err(CliError::ParsePlan { .. })), "{bad:?}");
    }

    #[test]
    fn the_plan_argument_is_json_stdin_or_a_path() {
        assert_eq!(
            PlanSource::of_plan_arg(" {\"role\":\"Source\"}"),
            PlanSource::Inline(" {\"role\":\"Source\"}")
        );
        assert_eq!(PlanSource::of_plan_arg("-"), PlanSource::Stdin);
        assert_eq!(
            PlanSource::of_plan_arg("plan.json"),
            PlanSource::File(Path::new("plan.json"))
        );
    }
}
