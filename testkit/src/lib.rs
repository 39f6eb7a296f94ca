//! Test-only helpers shared by every crate's root tests: one mock Kubernetes API server with
//! object and scenario builders ([`api`]), network-namespace fixtures built by the lab from a lab
//! spec ([`netns`]), `root_or_skip`, unique names, kubeconfigs, the workspace's files and
//! binaries, and checks that nothing was left behind. Only ever a dev-dependency (or of the
//! test-only `netdiag-e2e`); must not be a normal dependency of a shipped crate, nor depend on
//! the controller or the plugin, whose tests use it.
//!
//! The netns parts need the lab and exist only on Linux; the rest builds wherever the plugin
//! does.

pub mod api;
pub mod bin;
pub mod files;
pub mod kubeconfig;
#[cfg(target_os = "linux")]
pub mod leftovers;
#[cfg(target_os = "linux")]
pub mod netns;
#[cfg(target_os = "linux")]
pub mod root;

pub use bin::binary;
pub use files::repo;
#[cfg(target_os = "linux")]
pub use leftovers::assert_nothing_left;
#[cfg(target_os = "linux")]
pub use netns::{Fixture, FixtureBuilder};
#[cfg(target_os = "linux")]
pub use root::{require_lab_prerequisites, root_or_skip};

use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(target_os = "linux")]
/// A lab name no other test, nor a parallel test run, uses: `tag` + pid + counter, at most 12
/// lower-case letters and digits (what a lab name may be). Keep `tag` to 4 characters or fewer.
pub fn unique_name(tag: &str) -> String {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let n = NEXT.fetch_add(1, Ordering::SeqCst);
    let name = format!("{tag}{:x}{n}", std::process::id() & 0xfffff);
    assert!(
        name.len() <= 12 && netdiag_lab::names::valid_lab_name(&name),
        "unique_name({tag:?}) made {name:?}: use a tag of at most 4 lower-case letters or digits"
    );
    name
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn unique_names_differ_and_are_valid_lab_names() {
        let (a, b) = (unique_name("abcd"), unique_name("abcd"));
        assert_ne!(a, b);
        assert!(netdiag_lab::names::valid_lab_name(&a), "{a}");
    }
}
