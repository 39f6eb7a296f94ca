use std::net::IpAddr;

use super::decode::{decode_dest, decode_service, decode_service_dump, dest_attrs, service_attrs};
use super::testing::{FAMILY, KernelIpvs, kube_service, masq};
use super::uapi::*;
use super::*;
use crate::kernel::genl::{GenlMessage, nla};

fn key(proto: Proto, addr: &str, port: u16) -> ServiceKey {
    ServiceKey {
        protocol: proto,
        addr: addr.parse().expect("a test literal IP"),
        port,
    }
}

/// The two services of `ipvsadm -Ln` in the data-plane reference (section 3).
fn reference_kernel() -> KernelIpvs {
    KernelIpvs::new(vec![
        (
            kube_service(Proto::Tcp, "10.0.0.1", 443, Some(10800)),
            vec![masq("192.168.0.1", 6443, 1, 1, 0)],
        ),
        (
            kube_service(Proto::Udp, "10.0.0.10", 53, None),
            vec![masq("172.17.0.2", 53, 1, 0, 0)],
        ),
    ])
}

#[test]
fn the_reference_ipvsadm_listing_reads_back_service_by_service() {
    let mut k = reference_kernel();
    let api = key(Proto::Tcp, "10.0.0.1", 443);
    let svc = k.service(&api).expect("decodes").expect("present");
    assert_eq!(svc.ipvsadm_line(), "TCP 10.0.0.1:443 rr persistent 10800");
    assert_eq!(svc.persistent, Some(10800));
    let dests = k.dests(&api).expect("decodes");
    assert_eq!(dests.len(), 1);
    let d = &dests[0];
    // -> 192.168.0.1:6443  Masq  1  1  0
    assert_eq!(
        (
            d.addr,
            d.port,
            d.forward,
            d.weight,
            d.active_conns,
            d.inactive_conns
        ),
        (
            "192.168.0.1".parse().expect("ip"),
            6443,
            Forward::Masq,
            1,
            1,
            0
        )
    );

    let dns = key(Proto::Udp, "10.0.0.10", 53);
    let svc = k.service(&dns).expect("decodes").expect("present");
    assert_eq!(svc.ipvsadm_line(), "UDP 10.0.0.10:53 rr");
    assert_eq!(svc.persistent, None);
    let d = k.dests(&dns).expect("decodes");
    assert_eq!(
        (d[0].addr.to_string(), d[0].port, d[0].forward, d[0].weight),
        ("172.17.0.2".to_string(), 53, Forward::Masq, 1)
    );
    assert_eq!((d[0].active_conns, d[0].inactive_conns), (0, 0));
}

#[test]
fn a_key_ipvs_does_not_hold_is_none_and_has_no_real_servers() {
    let mut k = reference_kernel();
    // Same address, other protocol; same address and protocol, other port.
    for other in [
        key(Proto::Udp, "10.0.0.1", 443),
        key(Proto::Tcp, "10.0.0.1", 80),
    ] {
        assert_eq!(k.service(&other).expect("decodes"), None, "{other}");
        assert_eq!(k.dests(&other).expect("decodes"), vec![]);
    }
}

#[test]
fn a_dump_of_several_services_decodes_in_order() {
    let services = vec![
        kube_service(Proto::Tcp, "10.96.0.1", 443, None),
        kube_service(Proto::Udp, "10.96.0.10", 53, None),
        kube_service(Proto::Tcp, "10.96.0.10", 53, Some(300)),
    ];
    let bytes = wire::service_dump(FAMILY, &services, 9);
    let got = decode_service_dump(&bytes).expect("decodes");
    assert_eq!(got, services);
    let lines: Vec<String> = got.iter().map(IpvsService::ipvsadm_line).collect();
    assert_eq!(
        lines,
        [
            "TCP 10.96.0.1:443 rr",
            "UDP 10.96.0.10:53 rr",
            "TCP 10.96.0.10:53 rr persistent 300"
        ]
    );
}

#[test]
fn real_servers_keep_their_weights_zero_one_and_three() {
    let dests = vec![
        masq("10.244.1.5", 8080, 0, 0, 4),
        masq("10.244.1.6", 8080, 1, 2, 0),
        masq("10.244.2.7", 8080, 3, 6, 1),
    ];
    let mut svc = kube_service(Proto::Tcp, "10.96.5.5", 80, None);
    svc.scheduler = "wrr".into();
    let mut k = KernelIpvs::new(vec![(svc, dests.clone())]);
    let got = k.dests(&key(Proto::Tcp, "10.96.5.5", 80)).expect("decodes");
    assert_eq!(got, dests);
    assert_eq!(got.iter().map(|d| d.weight).collect::<Vec<_>>(), [0, 1, 3]);
}

#[test]
fn forwarding_methods_are_named_as_ipvsadm_does() {
    for (flags, fwd, word) in [
        (IP_VS_CONN_F_MASQ, Forward::Masq, "Masq"),
        (IP_VS_CONN_F_LOCALNODE, Forward::Local, "Local"),
        (IP_VS_CONN_F_TUNNEL, Forward::Tunnel, "Tunnel"),
        (IP_VS_CONN_F_DROUTE, Forward::Route, "Route"),
        (IP_VS_CONN_F_BYPASS, Forward::Bypass, "Bypass"),
        (5, Forward::Other(5), "forwarding method 5"),
    ] {
        let mut d = masq("10.244.0.9", 80, 1, 0, 0);
        d.forward = Forward::from_kernel(flags);
        assert_eq!(d.forward, fwd);
        assert_eq!(fwd.to_string(), word);
        let back = decode_dest(&wire::dest_message(FAMILY, &d), AF_INET).expect("decodes");
        assert_eq!(back.forward, fwd);
    }
}

#[test]
fn unknown_attributes_at_either_level_are_skipped() {
    let svc = kube_service(Proto::Tcp, "10.96.0.1", 443, None);
    let mut inner = wire::service_attrs(&svc);
    nla::put(&mut inner, 77, &[1, 2, 3]); // a newer kernel's service attribute
    let mut attrs = Vec::new();
    nla::put(&mut attrs, 9, &[0; 8]); // a newer first-level attribute, before the service
    nla::put(&mut attrs, IPVS_CMD_ATTR_SERVICE | 0x8000, &inner); // NLA_F_NESTED set
    let msg = GenlMessage {
        family: FAMILY,
        cmd: IPVS_CMD_NEW_SERVICE,
        version: IPVS_GENL_VERSION,
        attrs,
    };
    assert_eq!(decode_service(&msg).expect("decodes"), svc);

    let d = masq("10.244.0.9", 80, 1, 0, 0);
    let mut inner = wire::dest_attrs(&d);
    nla::put(&mut inner, 40, &[7; 5]);
    assert_eq!(dest_attrs(&inner, AF_INET).expect("decodes"), d);
}

#[test]
fn a_truncated_attribute_is_an_error_naming_it() {
    let svc = kube_service(Proto::Tcp, "10.96.0.1", 443, None);
    // The port attribute cut to one byte (its header says 5: 4 + 1).
    let mut inner = Vec::new();
    nla::put(&mut inner, IPVS_SVC_ATTR_AF, &AF_INET.to_ne_bytes());
    nla::put(&mut inner, IPVS_SVC_ATTR_PORT, &[0x01]);
    assert_eq!(
        service_attrs(&inner),
        Err(DecodeError::Truncated {
            attr: "IPVS_SVC_ATTR_PORT",
            need: 2,
            got: 1
        })
    );
    // An IPv4 address shorter than 4 bytes.
    let mut inner = Vec::new();
    nla::put(&mut inner, IPVS_SVC_ATTR_AF, &AF_INET.to_ne_bytes());
    nla::put(&mut inner, IPVS_SVC_ATTR_ADDR, &[10, 96]);
    let err = service_attrs(&inner).expect_err("short address");
    assert!(
        err.to_string()
            .contains("IPVS_SVC_ATTR_ADDR has 2 bytes, 4 expected"),
        "{err}"
    );
    // A weight of two bytes.
    let mut inner = wire::dest_attrs(&masq("10.244.0.9", 80, 1, 0, 0));
    nla::put(&mut inner, IPVS_DEST_ATTR_WEIGHT, &[1, 0]);
    assert_eq!(
        dest_attrs(&inner, AF_INET),
        Err(DecodeError::Truncated {
            attr: "IPVS_DEST_ATTR_WEIGHT",
            need: 4,
            got: 2
        })
    );
    // A message cut in the middle of an attribute: the walk says where.
    let full = wire::service_attrs(&svc);
    let err = service_attrs(&full[..full.len() - 6]).expect_err("cut");
    assert!(
        matches!(
            err,
            DecodeError::Malformed {
                within: "IPVS_CMD_ATTR_SERVICE",
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn a_service_without_family_or_address_is_refused() {
    let mut inner = Vec::new();
    nla::put(&mut inner, IPVS_SVC_ATTR_PORT, &53u16.to_be_bytes());
    assert_eq!(
        service_attrs(&inner),
        Err(DecodeError::Missing {
            attr: "IPVS_SVC_ATTR_AF"
        })
    );
    nla::put(&mut inner, IPVS_SVC_ATTR_AF, &AF_INET.to_ne_bytes());
    assert_eq!(
        service_attrs(&inner),
        Err(DecodeError::Missing {
            attr: "IPVS_SVC_ATTR_ADDR"
        })
    );
    // A firewall-mark service has no address, and that is fine.
    nla::put(&mut inner, IPVS_SVC_ATTR_FWMARK, &7u32.to_ne_bytes());
    nla::put_string(&mut inner, IPVS_SVC_ATTR_SCHED_NAME, "sh");
    let svc = service_attrs(&inner).expect("fwmark service");
    assert_eq!(svc.ipvsadm_line(), "FWM 7 sh");
}

#[test]
fn an_ipv6_real_server_of_an_ipv6_service_decodes() {
    let mut d = masq("10.0.0.1", 80, 1, 0, 0);
    d.addr = "fd00::5".parse::<IpAddr>().expect("ip");
    let back = decode_dest(&wire::dest_message(FAMILY, &d), AF_INET6).expect("decodes");
    assert_eq!(back, d);
}

#[test]
#[cfg(target_endian = "little")]
fn a_service_key_is_written_in_the_uapi_layout() {
    // Written out by hand from ip_vs.h: nest IPVS_CMD_ATTR_SERVICE (48 bytes) holding
    // AF=2 (u16), PROTOCOL=6 (u16), ADDR (16-byte nf_inet_addr), PORT 443 (big-endian).
    let want: Vec<u8> = [
        &[48, 0, 1, 0][..],
        &[6, 0, 1, 0, 2, 0, 0, 0],
        &[6, 0, 2, 0, 6, 0, 0, 0],
        &[20, 0, 3, 0, 10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
        &[6, 0, 4, 0, 0x01, 0xbb, 0, 0],
    ]
    .concat();
    assert_eq!(
        wire::service_key_attrs(&key(Proto::Tcp, "10.0.0.1", 443)),
        want
    );
    let get = wire::get_service(0x23, &key(Proto::Tcp, "10.0.0.1", 443));
    assert_eq!((get.family, get.cmd, get.version), (0x23, 4, 1));
    assert_eq!(
        wire::dump_dests(0x23, &key(Proto::Tcp, "10.0.0.1", 443)).cmd,
        8
    );
}

#[test]
#[cfg(target_endian = "little")]
fn a_real_server_answer_written_by_hand_decodes() {
    // IPVS_CMD_NEW_DEST as ip_vs_genl_fill_dest writes it for 192.168.0.1:6443 Masq weight 1,
    // 1 active connection, without statistics (they are not read).
    let inner: Vec<u8> = [
        &[
            20, 0, 1, 0, 192, 168, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ][..],
        &[6, 0, 2, 0, 0x19, 0x2b, 0, 0], // port 6443
        &[8, 0, 3, 0, 0, 0, 0, 0],       // FWD_METHOD Masq
        &[8, 0, 4, 0, 1, 0, 0, 0],       // WEIGHT 1
        &[5, 0, 13, 0, 0, 0, 0, 0],      // TUN_TYPE (u8), padded
        &[8, 0, 7, 0, 1, 0, 0, 0],       // ACTIVE_CONNS 1
        &[8, 0, 8, 0, 0, 0, 0, 0],       // INACT_CONNS 0
        &[6, 0, 11, 0, 2, 0, 0, 0],      // ADDR_FAMILY AF_INET
    ]
    .concat();
    let mut attrs = vec![(inner.len() as u8) + 4, 0, 2, 0];
    attrs.extend(&inner);
    let msg = GenlMessage {
        family: FAMILY,
        cmd: IPVS_CMD_NEW_DEST,
        version: 1,
        attrs,
    };
    let d = decode_dest(&msg, AF_INET).expect("decodes");
    assert_eq!(d, masq("192.168.0.1", 6443, 1, 1, 0));
    // The wrong command is refused by name.
    let svc = GenlMessage {
        cmd: IPVS_CMD_NEW_SERVICE,
        ..msg
    };
    assert!(decode_dest(&svc, AF_INET).is_err());
}

#[test]
fn this_kernel_says_plainly_whether_it_has_ipvs() {
    // Real: resolve "IPVS" through the kernel's generic netlink controller. This machine has
    // no ip_vs module; a kernel that has it must open the family instead.
    let loaded = std::path::Path::new("/sys/module/ip_vs").exists();
    match IpvsSocket::open() {
        Ok(s) => assert!(
            loaded,
            "IPVS resolved (id {}) but /sys/module/ip_vs is absent",
            s.family()
        ),
        Err(IpvsError::NotLoaded) => {
            assert!(!loaded, "ip_vs is loaded but the IPVS family was not found");
            let text = IpvsError::NotLoaded.to_string();
            assert!(text.contains("ip_vs module is not loaded"), "{text}");
            assert!(text.contains("not in IPVS mode"), "{text}");
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
}
