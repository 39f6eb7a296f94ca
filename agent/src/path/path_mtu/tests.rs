use std::net::Ipv4Addr;

use netdiag_model::{Reason, Verdict};

use super::wire::{self, Received};
use super::{MtuJudgeInput, MtuProbe, judge};

const DST: Ipv4Addr = Ipv4Addr::new(10, 244, 2, 3);

fn judged(probe: &MtuProbe) -> Option<netdiag_model::Hop> {
    judge(&MtuJudgeInput {
        node: "node-a",
        dst: DST,
        endpoint_node: Some("node-b"),
        probe,
    })
}

fn lost_full() -> MtuProbe {
    MtuProbe {
        full: 1450,
        small_answered: true,
        full_answered: false,
        too_big: None,
        largest_answered: Some(1364),
    }
}

#[test]
fn small_answered_full_lost_silently_is_a_black_hole_with_the_size_that_passes() {
    let hop = judged(&lost_full()).expect("a hop");
    assert_eq!(
        (hop.verdict, hop.reason),
        (Verdict::Fail, Some(Reason::PathMtuBlackhole))
    );
    assert!(
        hop.detail.starts_with(
            "packets over 1364 bytes do not arrive between node-a and node-b: the path MTU is below the pod MTU 1450"
        ) && hop.detail.contains("ping -M do -s 1422 10.244.2.3"),
        "{}",
        hop.detail
    );
}

#[test]
fn healthy_silent_told_or_chance_losses_are_no_finding() {
    let healthy = MtuProbe {
        full_answered: true,
        largest_answered: None,
        ..lost_full()
    };
    let no_ping = MtuProbe {
        small_answered: false,
        ..lost_full()
    };
    let told = MtuProbe {
        too_big: Some((Ipv4Addr::new(172, 18, 0, 3), 1400)),
        ..lost_full()
    };
    let chance = MtuProbe {
        largest_answered: Some(1449),
        ..lost_full()
    };
    for p in [healthy, no_ping, told, chance] {
        assert_eq!(judged(&p), None, "{p:?}");
    }
}

/// An IPv4 header from `src` around `payload`.
fn ip(src: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    let mut p = vec![0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 1, 0, 0];
    p.extend(src.octets());
    p.extend([10, 244, 1, 2]);
    p.extend(payload);
    p
}

#[test]
fn requests_are_well_formed_and_replies_and_errors_are_matched_by_identifier() {
    let req = wire::echo_request(0x1234, 7, 1450);
    assert_eq!(req.len() as u32 + 20, 1450);
    assert_eq!((req[0], &req[4..8]), (8, &[0x12, 0x34, 0, 7][..]));
    assert_eq!(wire::checksum_of(&req), 0, "a valid checksum sums to zero");

    let mut reply = req.clone();
    reply[0] = 0;
    assert_eq!(
        wire::parse(&ip(DST, &reply), 0x1234),
        Some(Received::Reply { from: DST, seq: 7 })
    );
    assert_eq!(
        wire::parse(&ip(DST, &reply), 0x9999),
        None,
        "another ping's"
    );

    // type 3 code 4, next-hop MTU 1400, quoting our request's IP header and first 8 bytes
    let router = Ipv4Addr::new(172, 18, 0, 3);
    let mut err = vec![3, 4, 0, 0, 0, 0, 0x05, 0x78];
    err.extend(ip(Ipv4Addr::new(10, 244, 1, 2), &req[..8]));
    assert_eq!(
        wire::parse(&ip(router, &err), 0x1234),
        Some(Received::TooBig {
            from: router,
            seq: 7,
            next_hop_mtu: 1400
        })
    );
    for junk in [
        &[][..],
        &[0x45][..],
        &[0x60, 0, 0, 0][..],
        &ip(DST, &[3, 4])[..],
    ] {
        assert_eq!(wire::parse(junk, 0x1234), None);
    }
}
