//! docs/lab.md stays true: every command in its `sh` blocks runs, in order, on a lab of its own
//! (the test rewrites the lab name), with the exit status the page gives (`# exit N`, else 0).

use std::process::Command;

use netdiag_e2e::{binary, require_lab_prerequisites, unique_name};
use netdiag_testkit::assert_nothing_left;

/// The commands of the page's `sh` blocks, with the exit status each must have.
fn commands(doc: &str) -> Vec<(String, i32)> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in doc.lines() {
        match (in_sh, line.trim()) {
            (false, "```sh") => in_sh = true,
            (true, "```") => in_sh = false,
            (true, l) if !l.is_empty() && !l.starts_with('#') => {
                let (cmd, code) = match l.rsplit_once("# exit ") {
                    Some((cmd, code)) => (cmd.trim(), code.trim().parse().expect("exit code")),
                    None => (l, 0),
                };
                out.push((cmd.to_string(), code));
            }
            _ => {}
        }
    }
    out
}

/// The command as run for lab `name`: the real binary, the lab's own name.
fn for_lab(cmd: &str, name: &str, bin: &str) -> String {
    let mut c = cmd.replace("nd-netdiag-", &format!("nd-{name}-"));
    if let Some(rest) = c.strip_prefix("kubectl netdiag lab ") {
        let (sub, args) = rest.split_once(' ').unwrap_or((rest, ""));
        let named = if sub == "spec" {
            String::new()
        } else {
            format!(" --name {name}")
        };
        c = format!("{bin} lab {sub}{named} {args}");
    }
    c
}

#[test]
fn every_command_in_docs_lab_md_runs_with_the_status_it_claims() {
    require_lab_prerequisites();
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/lab.md"))
        .expect("docs/lab.md");
    let cmds = commands(&doc);
    assert!(cmds.len() > 30, "only {} commands found", cmds.len());
    assert!(
        cmds.first()
            .is_some_and(|(c, _)| c == "kubectl netdiag lab up")
    );
    assert!(
        cmds.last()
            .is_some_and(|(c, _)| c == "kubectl netdiag lab down")
    );
    let name = unique_name("doc");
    let bin = binary("kubectl-netdiag").display().to_string();
    let _cleanup = Cleanup(name.clone());
    for (cmd, want) in &cmds {
        let line = for_lab(cmd, &name, &bin);
        let out = Command::new("bash")
            .args(["-o", "pipefail", "-c", &line])
            .env("NO_COLOR", "1")
            .output()
            .expect("bash runs");
        assert_eq!(
            out.status.code(),
            Some(*want),
            "docs/lab.md: `{cmd}` (run as `{line}`):\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    assert_nothing_left(&name);
}

#[test]
fn the_rewrite_names_the_tests_own_lab() {
    assert_eq!(
        for_lab("ip netns exec nd-netdiag-curl ip a", "doc1", "/b"),
        "ip netns exec nd-doc1-curl ip a"
    );
    assert_eq!(
        for_lab("kubectl netdiag lab trace --from curl", "doc1", "/b"),
        "/b lab trace --name doc1 --from curl"
    );
    assert_eq!(
        for_lab("kubectl netdiag lab spec --print-default", "doc1", "/b"),
        "/b lab spec --print-default"
    );
    let c = commands(
        "x\n```sh\n# a comment\nkubectl netdiag lab trace # exit 1\nls\n```\n```text\nno\n```\n",
    );
    assert_eq!(
        c,
        [
            ("kubectl netdiag lab trace".to_string(), 1),
            ("ls".to_string(), 0)
        ]
    );
}

/// Remove the lab even when a command fails halfway.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = netdiag_lab::Lab::down(&self.0);
    }
}
