//! What a lab left on the machine, read straight from the kernel and the filesystem (not from
//! the lab's own state file, which is what is being checked): like `ip netns list`,
//! `ls /etc/netns` and `ps`.

use std::path::Path;

use netdiag_lab::LabNames;
use netdiag_lab::names::{ETC_NETNS_DIR, NETNS_DIR};

fn entries_with_prefix(dir: &str, prefix: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(prefix))
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// Named namespaces that belong to lab `name`.
pub fn lab_namespaces(name: &str) -> Vec<String> {
    entries_with_prefix(NETNS_DIR, &LabNames::new(name).prefix())
}

/// Live processes (pid and command line) whose command line names lab `name`'s state dir, as
/// every process the lab starts does.
pub fn lab_processes(name: &str) -> Vec<(u32, String)> {
    let marker = netdiag_lab::build::process_marker(&LabNames::new(name));
    let mut found = Vec::new();
    let Ok(proc) = std::fs::read_dir("/proc") else {
        return found;
    };
    for e in proc.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let Ok(raw) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmd = String::from_utf8_lossy(&raw).replace('\0', " ");
        if cmd.contains(&marker) && netdiag_lab::process::alive(pid) {
            found.push((pid, cmd));
        }
    }
    found
}

/// Panic unless nothing of lab `name` is left: namespaces, processes, /etc/netns, state.
pub fn assert_nothing_left(name: &str) {
    assert_eq!(
        lab_namespaces(name),
        Vec::<String>::new(),
        "namespaces left"
    );
    assert_eq!(
        lab_processes(name),
        Vec::<(u32, String)>::new(),
        "processes left"
    );
    let etc = entries_with_prefix(ETC_NETNS_DIR, &LabNames::new(name).prefix());
    assert_eq!(etc, Vec::<String>::new(), "/etc/netns entries left");
    let state = LabNames::new(name).state_dir();
    assert!(!Path::new(&state).exists(), "{} left", state.display());
}
