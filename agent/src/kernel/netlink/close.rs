//! Netfilter netlink sockets are closed on a thread of their own. Closing one can wait for an
//! RCU grace period (10-15 ms here): after any nf_tables transaction the kernel frees the old
//! objects from a work item that first waits for readers (`synchronize_rcu`), and the release
//! of every NETLINK_NETFILTER socket (`nft_rcv_nl_event`, for tables a socket owns) flushes
//! that work first, under the nf_tables commit mutex. The agent deletes its trace table and
//! then closes several such sockets (trace events, rule lookups, conntrack): on the trace's
//! thread each close would wait for the kernel's clean-up, which nothing the agent does needs.
//! Whatever is still queued when the process exits the kernel closes with it.

use std::os::fd::OwnedFd;
use std::sync::OnceLock;
use std::sync::mpsc::{Sender, channel};

static CLOSER: OnceLock<Option<Sender<OwnedFd>>> = OnceLock::new();

fn closer() -> Option<&'static Sender<OwnedFd>> {
    CLOSER
        .get_or_init(|| {
            let (tx, rx) = channel::<OwnedFd>();
            std::thread::Builder::new()
                .name("netlink-close".into())
                .spawn(move || rx.into_iter().for_each(drop))
                .ok()
                .map(|_| tx)
        })
        .as_ref()
}

/// Close `fd` on the closer thread (or here, when there is none).
pub(super) fn close_later(fd: OwnedFd) {
    if let Some(tx) = closer() {
        // A send fails only when the thread is gone: the returned descriptor closes here.
        let _ = tx.send(fd);
    }
}
