use super::*;

#[test]
fn the_controller_resolves_its_own_family_for_real() {
    // NETLINK_GENERIC needs no privilege: this runs as any user, in the test's namespace.
    let mut genl = GenlSocket::open(Duration::from_secs(2)).expect("open generic netlink");
    let ctrl = genl.family("nlctrl").expect("nlctrl always exists");
    assert_eq!(ctrl.id, GENL_ID_CTRL);
    assert!(ctrl.version >= 1, "{ctrl:?}");
}

#[test]
fn a_family_the_kernel_does_not_have_is_a_typed_error() {
    let mut genl = GenlSocket::open(Duration::from_secs(2)).expect("open generic netlink");
    match genl.family("netdiag-none") {
        Err(GenlError::NoFamily { name }) => assert_eq!(name, "netdiag-none"),
        other => panic!("expected NoFamily, got {other:?}"),
    }
}

#[test]
fn the_controllers_answer_is_read_from_its_attributes() {
    // CTRL_CMD_NEWFAMILY as the kernel sends it: name, id, version, hdrsize, maxattr, ...
    let mut attrs = Vec::new();
    nla::put_string(&mut attrs, CTRL_ATTR_FAMILY_NAME, "IPVS");
    nla::put(&mut attrs, CTRL_ATTR_FAMILY_ID, &0x22u16.to_ne_bytes());
    nla::put(&mut attrs, CTRL_ATTR_VERSION, &1u32.to_ne_bytes());
    nla::put(&mut attrs, 4, &0u32.to_ne_bytes());
    let msg = GenlMessage {
        family: GENL_ID_CTRL,
        cmd: CTRL_CMD_NEWFAMILY,
        version: 2,
        attrs,
    };
    assert_eq!(
        family_answer(&msg),
        Some(FamilyInfo {
            id: 0x22,
            version: 1
        })
    );
    let other = GenlMessage { cmd: 7, ..msg };
    assert_eq!(family_answer(&other), None);
}

#[test]
fn a_message_shorter_than_the_genl_header_does_not_decode() {
    let mut header = NetlinkHeader::default();
    header.message_type = 0x22;
    let err = GenlMessage::deserialize(&header, &[4, 1]).expect_err("2 bytes");
    assert_eq!(err.len, 2);
    let ok = GenlMessage::deserialize(&header, &[4, 1, 0, 0, 9, 9]).expect("6 bytes");
    assert_eq!((ok.cmd, ok.version, ok.attrs), (4, 1, vec![9, 9]));
}
