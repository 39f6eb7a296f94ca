use super::*;
use crate::kernel::netlink::batch::frame;

fn ne16(v: u16) -> [u8; 2] {
    v.to_ne_bytes()
}

/// A netlink attribute header as the kernel reads it (host order).
fn nla(len: u16, kind: u16) -> Vec<u8> {
    [ne16(len), ne16(kind)].concat()
}

#[test]
fn expressions_are_laid_out_as_the_uapi_says() {
    // meta load l4proto => reg 1: NFTA_META_DREG, NFTA_META_KEY, both be32.
    let meta = meta_load(META_L4PROTO, REG_1);
    assert_eq!(meta.name, "meta");
    let want = [nla(8, 1), vec![0, 0, 0, 1], nla(8, 2), vec![0, 0, 0, 16]].concat();
    assert_eq!(meta.data, want);
    // cmp eq reg 1 0x06: NFTA_CMP_SREG, NFTA_CMP_OP (NFT_CMP_EQ), NFTA_CMP_DATA nested
    // (NLA_F_NESTED) holding NFTA_DATA_VALUE's one byte, padded to 4.
    let cmp = cmp_eq(REG_1, &[6]);
    let want = [
        nla(8, 1),
        vec![0, 0, 0, 1],
        nla(8, 2),
        vec![0, 0, 0, 0],
        nla(12, 3 | 0x8000),
        nla(5, 1),
        vec![6, 0, 0, 0],
    ]
    .concat();
    assert_eq!(cmp.data, want);
    // meta set nftrace with reg 1: NFTA_META_KEY 12, NFTA_META_SREG.
    let set = meta_set(META_NFTRACE, REG_1);
    let want = [nla(8, 2), vec![0, 0, 0, 12], nla(8, 3), vec![0, 0, 0, 1]].concat();
    assert_eq!(set.data, want);
    let load = payload_load(PAYLOAD_TRANSPORT, 2, 2, REG_1);
    assert_eq!(msg::attr(&load.data, 2), Some(&[0, 0, 0, 2][..]));
    assert_eq!(msg::attr(&load.data, 3), Some(&[0, 0, 0, 2][..]));
    assert_eq!(msg::attr(&load.data, 4), Some(&[0, 0, 0, 2][..]));
}

#[test]
fn a_transaction_is_framed_between_batch_begin_and_end() {
    let bytes = frame(7, transaction(vec![del_table(NFPROTO_INET, "t")]));
    let header = |len: u32, kind: u16, flags: u16, seq: u32| {
        [
            len.to_ne_bytes().to_vec(),
            ne16(kind).to_vec(),
            ne16(flags).to_vec(),
            seq.to_ne_bytes().to_vec(),
            vec![0; 4],
        ]
        .concat()
    };
    let want = [
        // NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, nfgenmsg AF_UNSPEC with res_id
        // NFNL_SUBSYS_NFTABLES (be16).
        header(20, 0x10, 1, 7),
        vec![0, 0, 0, 10],
        // NFT_MSG_DELTABLE in subsystem 10, NLM_F_REQUEST | NLM_F_ACK, family inet.
        header(28, 0x0a02, 5, 8),
        vec![1, 0, 0, 0],
        nla(6, 1),
        vec![b't', 0, 0, 0],
        header(20, 0x11, 1, 9),
        vec![0, 0, 0, 10],
    ]
    .concat();
    assert_eq!(bytes, want);
}

#[test]
fn a_base_chain_carries_its_hook_priority_policy_and_type() {
    let (m, flags) = new_base_chain(NFPROTO_INET, "tbl", "pre", Hook::Output, -350);
    assert_eq!((m.subsys, m.msg, m.family), (10, msg::MSG_NEWCHAIN, 1));
    assert_eq!(flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE);
    let Some(hook) = msg::attr(&m.attrs, CHAIN_HOOK) else {
        panic!("a hook");
    };
    assert_eq!(msg::attr(hook, HOOK_HOOKNUM), Some(&[0, 0, 0, 3][..]));
    assert_eq!(
        msg::attr(hook, HOOK_PRIORITY),
        Some(&(-350i32).to_be_bytes()[..])
    );
    assert_eq!(msg::attr(&m.attrs, CHAIN_POLICY), Some(&[0, 0, 0, 1][..]));
    assert_eq!(
        msg::attr(&m.attrs, CHAIN_TYPE).map(msg::string),
        Some("filter".into())
    );
    assert_eq!(
        msg::attr(&m.attrs, msg::CHAIN_TABLE).map(msg::string),
        Some("tbl".into())
    );
}

#[test]
fn a_rule_lists_its_expressions_in_order() {
    let exprs = [meta_load(META_L4PROTO, REG_1), cmp_eq(REG_1, &[17])];
    let (m, flags) = new_rule(NFPROTO_INET, "tbl", "out", &exprs);
    assert_eq!(flags & NLM_F_APPEND, NLM_F_APPEND);
    // What the rule reader decodes from a kernel dump decodes from this too.
    let mut m = m;
    m.attrs = AttrWriter::raw(&m.attrs)
        .bytes(msg::RULE_HANDLE, &9u64.to_be_bytes())
        .finish();
    let Some((chain, rule)) = crate::kernel::nftables::raw_rule(&m) else {
        panic!("decodes as a rule");
    };
    assert_eq!((chain.as_str(), rule.handle), ("out", 9));
    let got: Vec<(String, Vec<u8>)> = exprs
        .iter()
        .map(|e| (e.name.into(), e.data.clone()))
        .collect();
    assert_eq!(rule.exprs, got);
}

#[test]
fn table_names_come_from_newtable_answers_only() {
    let attrs = AttrWriter::default()
        .string(msg::TABLE_NAME, "netdiag-trace-1-2-0")
        .finish();
    let m = NftMessage::new(MSG_NEWTABLE, NFPROTO_INET, attrs.clone());
    assert_eq!(table_name(&m).as_deref(), Some("netdiag-trace-1-2-0"));
    assert_eq!(
        table_name(&NftMessage::new(msg::MSG_NEWCHAIN, 1, attrs)),
        None
    );
    assert_eq!(table_name(&NftMessage::new(MSG_NEWTABLE, 1, vec![])), None);
}
