//! What the agent reads from a pod's world: DNS answers, the pod's resolv.conf, and packets
//! (one Ethernet frame; the pcapng files agents send back, merged by the controller).

use netdiag_agent::capture::decode::decode;
use netdiag_agent::path::dns::wire::parse_answer;
use netdiag_agent::path::pod_interface::resolv;
use netdiag_model::pcapng;

/// A DNS response as a nameserver sends it.
pub fn dns_wire(data: &[u8]) {
    let _ = parse_answer(data);
}

/// A pod's `/etc/resolv.conf`.
pub fn resolv_conf(data: &[u8]) {
    if let Some(text) = crate::utf8(data) {
        let _ = resolv::parse(text);
    }
}

/// One captured Ethernet frame, summarized for evidence.
pub fn ethernet_frame(data: &[u8]) {
    let _ = decode(data);
}

/// A pcapng file: read, its packets decoded, written back, and merged with itself as the
/// controller merges the evidence of two nodes.
pub fn pcapng(data: &[u8]) {
    let Ok(capture) = pcapng::read(data) else {
        return;
    };
    for packet in &capture.packets {
        let _ = decode(&packet.data);
    }
    let _ = pcapng::write(&capture, data.len());
    let files = [
        ("a".to_string(), data.to_vec()),
        ("b".to_string(), data.to_vec()),
    ];
    let _ = pcapng::merge(&files);
}
