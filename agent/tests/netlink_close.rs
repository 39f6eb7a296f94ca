//! Root test, alone in its binary so no other test's namespaces are torn down meanwhile (that
//! slows the kernel's netfilter paths for everyone): closing netfilter netlink sockets after
//! the trace table is deleted does not make the trace wait.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use netdiag_agent::kernel::netns::run_in;
use netdiag_agent::kernel::nftables::NftSocket;
use netdiag_agent::path::firewall::table::TraceTable;
use netdiag_model::Protocol;
use netdiag_testkit::Fixture;

const NODE: &str = "node-a";

fn root_or_skip() -> bool {
    netdiag_testkit::root_or_skip("netlink_close")
}

/// Closing a netfilter netlink socket right after an nf_tables transaction waits in the kernel
/// for the transaction's clean-up (an RCU grace period, 10-15 ms); the agent closes them on a
/// thread of its own, so the trace does not wait.
#[test]
fn closing_a_netfilter_socket_after_the_trace_table_is_deleted_does_not_wait() {
    if !root_or_skip() {
        return;
    }
    let f = Fixture::builder("fwcl").network_only().up();
    let path = f.netns_path(NODE);
    let waits = run_in(&path, || {
        (0..5)
            .map(|_| {
                let table = TraceTable::install(&[(
                    Protocol::TCP,
                    SocketAddrV4::new(Ipv4Addr::LOCALHOST, 41235),
                )])
                .unwrap_or_else(|e| panic!("install: {e}"));
                let other =
                    NftSocket::open(Duration::from_secs(2)).unwrap_or_else(|e| panic!("open: {e}"));
                // The table is deleted (and its socket closed), then another socket closes.
                let started = std::time::Instant::now();
                drop(table);
                drop(other);
                started.elapsed()
            })
            .min()
    })
    .expect("enter the namespace");
    // The quickest of five: without the closer thread every one waits (each follows a fresh
    // deletion), while the other tests of this process tearing down their namespaces can
    // slow any single one.
    let quickest = waits.unwrap_or(Duration::MAX);
    assert!(
        quickest < Duration::from_millis(5),
        "deleting the table and closing took {} ms",
        quickest.as_millis()
    );
}
