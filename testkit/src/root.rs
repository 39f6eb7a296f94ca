//! Root checks. A data-plane test that silently skips hides exactly what the suite is for, so
//! skipping is allowed only locally: under CI (env `CI` set) a missing root is a failure.

use netdiag_lab::exec::{find_tool, is_root};

/// For tests that need root: true as root; otherwise a skip locally and a panic under CI.
pub fn root_or_skip(test: &str) -> bool {
    if is_root() {
        return true;
    }
    assert!(
        std::env::var_os("CI").is_none(),
        "{test} needs root (network namespaces, iptables, dnsmasq) and CI is set: run the tests as root"
    );
    eprintln!("skipping {test}: not root");
    false
}

/// For the end-to-end tests, which never skip: panic unless we are root and the lab's tools
/// are installed, naming the package to install.
pub fn require_lab_prerequisites() {
    assert!(
        is_root(),
        "the end-to-end tests build network namespaces and need root: run them as root (sudo ./scripts/test)"
    );
    for (tool, package) in [
        ("ip", "iproute2"),
        ("iptables-restore", "iptables"),
        ("dnsmasq", "dnsmasq-base"),
    ] {
        assert!(
            find_tool(tool).is_some(),
            "{tool} not found: apt-get install {package} (see scripts/packages.txt)"
        );
    }
}
