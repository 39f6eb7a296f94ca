//! Ctrl-C during `lab up` removes what was built (root). Its own test binary: the interrupt
//! flag it sets is process-wide.

mod lab_common;

use std::time::{Duration, Instant};

use lab_common::*;
use netdiag_lab::{Lab, LabError, LabSpec, LabState};

#[test]
fn ctrl_c_during_lab_up_tears_down_what_was_built() {
    if !root_or_skip("ctrl_c_during_lab_up_tears_down_what_was_built") {
        return;
    }
    let name = unique_name("int");
    netdiag_lab::exec::install_interrupt_handler().unwrap();
    // Send SIGINT to ourselves once the build is visibly under way (3 namespaces recorded).
    let state_file = netdiag_lab::LabNames::new(&name).state_file();
    let watcher = std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(s)) = LabState::load(&state_file)
                && s.netns.len() >= 3
            {
                nix::sys::signal::raise(nix::sys::signal::Signal::SIGINT).unwrap();
                return true;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        false
    });
    let result = Lab::up(&LabSpec::default(), &name, &lab_tools());
    assert!(watcher.join().unwrap(), "the build never got under way");
    let err = result.map(|_| ()).unwrap_err();
    assert!(matches!(err, LabError::Interrupted), "{err}");
    assert_nothing_left(&name);
}
