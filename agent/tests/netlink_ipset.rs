//! Root test: ipset membership over netlink against the kernel's ip_set, in a throwaway
//! namespace holding a kube-proxy-shaped `KUBE-CLUSTER-IP` (hash:ip,port) set.

use std::net::Ipv4Addr;

use netdiag_agent::kernel::ipset::contains;
use netdiag_testkit::{Fixture, root_or_skip};

#[test]
fn membership_of_a_hash_ip_port_set_is_answered() {
    if !root_or_skip("membership_of_a_hash_ip_port_set_is_answered") {
        return;
    }
    let f = Fixture::builder("ipst").network_only().up();
    f.exec(
        "node-a",
        &["ipset", "create", "KUBE-CLUSTER-IP", "hash:ip,port"],
    );
    f.exec(
        "node-a",
        &["ipset", "add", "KUBE-CLUSTER-IP", "10.96.0.10,udp:53"],
    );
    let path = f.netns_path("node-a");
    let answers = netdiag_agent::kernel::netns::run_in(&path, || {
        let vip = Ipv4Addr::new(10, 96, 0, 10);
        (
            contains("KUBE-CLUSTER-IP", vip, 17, 53).map_err(|e| e.to_string()),
            contains("KUBE-CLUSTER-IP", vip, 6, 53).map_err(|e| e.to_string()),
            contains("KUBE-NO-SUCH-SET", vip, 17, 53).map_err(|e| e.to_string()),
        )
    })
    .expect("enter the namespace");
    assert_eq!(answers.0, Ok(Some(true)));
    assert_eq!(answers.1, Ok(Some(false)), "tcp:53 is not in the set");
    assert_eq!(answers.2, Ok(None));
    // The namespace's sets go with it; nothing to clean up on the host.
}
