//! Running a netfilter tool (`iptables-nft`, `nft`) in the current network namespace (the
//! caller has entered the node's; children inherit it) and telling "no such chain" apart from
//! a real failure.

use std::process::{Command, Stdio};

/// Why a tool could not give an answer.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    #[error("{program} not found: install the {package} package")]
    NotFound {
        program: &'static str,
        package: &'static str,
    },
    #[error("could not run `{command}`: {source}")]
    Spawn {
        command: String,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed ({status}): {stderr}")]
    Failed {
        command: String,
        status: String,
        stderr: String,
    },
}

/// A tool and the words its stderr uses for an object that does not exist.
pub struct Tool {
    pub program: &'static str,
    pub package: &'static str,
    pub missing: &'static [&'static str],
}

/// A dump of a large node is tens of MB: a 1 MiB pipe lets the tool write in big chunks
/// instead of stalling every 64 KiB until the agent has read.
const PIPE_SIZE: i32 = 1 << 20;

/// Run `tool` with `args`: its stdout, or `None` when it says the object does not exist.
pub fn run(tool: &Tool, args: &[&str]) -> Result<Option<Vec<u8>>, CommandError> {
    run_input(tool, args, None)
}

/// [`run`] with `input` on the tool's stdin (`nft -f -`).
pub fn run_input(
    tool: &Tool,
    args: &[&str],
    input: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, CommandError> {
    let command = format!("{} {}", tool.program, args.join(" "));
    let spawn_error = |source: std::io::Error| match source.kind() {
        std::io::ErrorKind::NotFound => CommandError::NotFound {
            program: tool.program,
            package: tool.package,
        },
        _ => CommandError::Spawn {
            command: command.clone(),
            source,
        },
    };
    let mut child = Command::new(tool.program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn_error)?;
    if let (Some(mut stdin), Some(input)) = (child.stdin.take(), input) {
        use std::io::Write as _;
        // A tool that exits early closes its stdin: its status and stderr say why.
        let _ = stdin.write_all(input);
    }
    if let Some(stdout) = &child.stdout {
        // Best effort: a smaller pipe is only slower.
        let _ = nix::fcntl::fcntl(stdout, nix::fcntl::FcntlArg::F_SETPIPE_SZ(PIPE_SIZE));
    }
    let out = child.wait_with_output().map_err(spawn_error)?;
    if out.status.success() {
        return Ok(Some(out.stdout));
    }
    let stderr = String::from_utf8_lossy(&out.stderr).trim().to_string();
    if tool.missing.iter().any(|m| stderr.contains(m)) {
        return Ok(None);
    }
    Err(CommandError::Failed {
        command,
        status: out.status.to_string(),
        stderr,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh() -> Tool {
        Tool {
            program: "sh",
            package: "dash",
            missing: &["No chain/target/match", "is incompatible"],
        }
    }

    #[test]
    fn a_missing_binary_says_which_package_to_install() {
        let tool = Tool {
            program: "netdiag-no-such-iptables",
            package: "iptables",
            missing: &[],
        };
        let Err(e @ CommandError::NotFound { .. }) = run(&tool, &["-S"]) else {
            panic!("expected NotFound");
        };
        assert_eq!(
            e.to_string(),
            "netdiag-no-such-iptables not found: install the iptables package"
        );
    }

    #[test]
    fn no_such_chain_is_an_answer_and_other_failures_carry_command_and_stderr() {
        let no_chain = "echo \"iptables v1.8.9 (nf_tables): chain \\`KUBE-SERVICES' in table \\`nat' is incompatible, use 'nft' tool.\" >&2; exit 1";
        assert!(matches!(run(&sh(), &["-c", no_chain]), Ok(None)));
        let legacy = "echo 'iptables: No chain/target/match by that name.' >&2; exit 1";
        assert!(matches!(run(&sh(), &["-c", legacy]), Ok(None)));
        let Err(e) = run(
            &sh(),
            &[
                "-c",
                "echo 'Permission denied (you must be root)' >&2; exit 4",
            ],
        ) else {
            panic!("expected a failure");
        };
        let text = e.to_string();
        assert!(text.starts_with("`sh -c "), "{text}");
        assert!(
            text.ends_with("Permission denied (you must be root)"),
            "{text}"
        );
        assert!(matches!(run(&sh(), &["-c", "echo -N X"]), Ok(Some(t)) if t == b"-N X\n"));
    }
}
