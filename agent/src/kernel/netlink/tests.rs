use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use netlink_packet_core::NLM_F_REQUEST;

use super::*;

/// A message of any type with an opaque payload: enough to drive the transport.
#[derive(Clone, Debug, PartialEq)]
struct Raw(u16, Vec<u8>);

impl NetlinkSerializable for Raw {
    fn message_type(&self) -> u16 {
        self.0
    }
    fn buffer_len(&self) -> usize {
        self.1.len()
    }
    fn serialize(&self, buffer: &mut [u8]) {
        buffer.copy_from_slice(&self.1);
    }
}

impl NetlinkDeserializable for Raw {
    type Error = Infallible;
    fn deserialize(header: &NetlinkHeader, payload: &[u8]) -> Result<Raw, Infallible> {
        Ok(Raw(header.message_type, payload.to_vec()))
    }
}

fn encoded(seq: u32, msg: Raw) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.sequence_number = seq;
    let mut packet = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(msg));
    packet.finalize();
    let mut out = vec![0u8; packet.buffer_len()];
    packet.serialize(&mut out);
    out
}

#[test]
fn messages_of_one_datagram_start_at_four_byte_boundaries() {
    // A 17-byte message (one payload byte) is padded to 20 before the next one starts.
    let mut data = encoded(7, Raw(0x20, vec![1]));
    assert_eq!(data.len(), 17);
    data.extend([0, 0, 0]);
    data.extend(encoded(8, Raw(0x21, vec![2, 3, 4, 5])));
    let parts: Vec<(u32, usize)> = messages(&data)
        .map(|p| p.map(|(seq, b)| (seq, b.len())))
        .collect::<Result<_, _>>()
        .expect("two whole messages");
    assert_eq!(parts, vec![(7, 17), (8, 20)]);
}

#[test]
fn a_truncated_header_ends_the_walk_with_an_error() {
    let mut data = encoded(1, Raw(0x20, vec![0; 4]));
    data.extend([0x40, 0, 0, 0, 0x20]); // claims 64 bytes, holds 5
    let parts: Vec<_> = messages(&data).collect();
    assert_eq!(parts.len(), 2);
    assert!(parts[0].is_ok());
    assert!(parts[1].is_err());
}

#[test]
fn a_request_the_kernel_never_answers_times_out_within_the_deadline() {
    // NLMSG_NOOP with NLM_F_REQUEST and no NLM_F_ACK: the kernel skips it silently, like a
    // netlink peer that never answers. Needs no privilege.
    let timeout = Duration::from_millis(150);
    let mut socket = NetlinkSocket::open(Family::Route, "test", timeout).expect("rtnetlink socket");
    let start = Instant::now();
    let err = socket
        .request("send a no-op (NLMSG_NOOP)", Raw(1, vec![]), NLM_F_REQUEST)
        .expect_err("no answer");
    let waited = start.elapsed();
    assert!(matches!(err, NetlinkError::TimedOut { .. }), "{err}");
    assert!(waited >= timeout, "gave up early: {waited:?}");
    assert!(waited < timeout * 4, "overran the deadline: {waited:?}");
    assert_eq!(
        err.to_string(),
        "send a no-op (NLMSG_NOOP): the kernel did not answer within 150 ms (an overloaded node, or a kernel without this netlink family?)"
    );
}

#[test]
fn an_event_wait_on_a_silent_socket_returns_at_its_deadline() {
    let mut socket =
        NetlinkSocket::open(Family::Route, "test", DEFAULT_TIMEOUT).expect("rtnetlink socket");
    let start = Instant::now();
    let found: Option<()> =
        socket.wait_for::<Raw, ()>(start + Duration::from_millis(100), |_| Some(()));
    let waited = start.elapsed();
    assert_eq!(found, None);
    assert!(waited >= Duration::from_millis(100), "{waited:?}");
    assert!(waited < Duration::from_millis(400), "{waited:?}");
}

#[test]
fn a_stream_of_unrelated_events_cannot_extend_an_event_wait() {
    // A second user socket floods the waiting one with messages it does not want, as a busy
    // node's conntrack does: the wait still ends at its deadline.
    let mut waiting =
        NetlinkSocket::bound(Family::Route, "test", DEFAULT_TIMEOUT).expect("rtnetlink socket");
    let mut addr = SocketAddr::new(0, 0);
    waiting.socket.get_address(&mut addr).expect("own port id");
    let port = addr.port_number();
    let mut sender = Socket::new(protocols::NETLINK_ROUTE).expect("sender socket");
    sender.bind_auto().expect("bind sender");
    sender.set_non_blocking(true).expect("non-blocking sender");
    let stop = Arc::new(AtomicBool::new(false));
    let flood = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || {
            let msg = encoded(0, Raw(0x20, vec![0; 64]));
            let to = SocketAddr::new(port, 0);
            let mut sent = 0u64;
            while !stop.load(Ordering::Relaxed) {
                if sender.send_to(&msg, &to, 0).is_ok() {
                    sent += 1;
                }
            }
            sent
        })
    };
    let start = Instant::now();
    let mut seen = 0u64;
    let found: Option<()> = waiting.wait_for::<Raw, ()>(start + Duration::from_millis(100), |_| {
        seen += 1;
        None
    });
    let waited = start.elapsed();
    stop.store(true, Ordering::Relaxed);
    let sent = flood.join().expect("flood thread");
    assert_eq!(found, None);
    assert!(
        sent > 0 && seen > 0,
        "the flood reached the socket ({sent} sent, {seen} seen)"
    );
    assert!(
        waited < Duration::from_millis(400),
        "{waited:?} with {seen} events"
    );
}
