//! The x_tables ABI as `<linux/netfilter_ipv4/ip_tables.h>` and `<linux/netfilter/x_tables.h>`
//! declare it. The `repr(C)` mirrors exist only so `offset_of!`/`size_of` give the kernel's
//! offsets on whatever architecture this is built for; the blob itself is read byte by byte, so
//! nothing here is ever cast onto possibly unaligned memory.

#![allow(dead_code)] // fields are read through offset_of!, never directly

use std::mem::{offset_of, size_of};

/// `getsockopt(SOL_IP, IPT_SO_GET_INFO)`.
pub const IPT_SO_GET_INFO: i32 = 64;
/// `getsockopt(SOL_IP, IPT_SO_GET_ENTRIES)`.
pub const IPT_SO_GET_ENTRIES: i32 = 65;

pub const TABLE_MAXNAMELEN: usize = 32;
pub const NUMHOOKS: usize = 5;
/// `XT_EXTENSION_MAXNAMELEN`: match and target names.
pub const EXTENSION_MAXNAMELEN: usize = 29;
/// `XT_FUNCTION_MAXNAMELEN`: the chain name an ERROR target carries.
pub const FUNCTION_MAXNAMELEN: usize = 30;

/// `struct ipt_getinfo`.
#[repr(C)]
pub struct GetInfo {
    pub name: [u8; TABLE_MAXNAMELEN],
    pub valid_hooks: u32,
    pub hook_entry: [u32; NUMHOOKS],
    pub underflow: [u32; NUMHOOKS],
    pub num_entries: u32,
    pub size: u32,
}

/// `struct ipt_get_entries` without its flexible `entrytable[]`.
#[repr(C)]
pub struct GetEntries {
    pub name: [u8; TABLE_MAXNAMELEN],
    pub size: u32,
    /// `entrytable` is an array of `struct ipt_entry`, whose u64 counters align it.
    pub entrytable: [u64; 0],
}

/// `struct ipt_ip`.
#[repr(C)]
pub struct IptIp {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub smsk: [u8; 4],
    pub dmsk: [u8; 4],
    pub iniface: [u8; 16],
    pub outiface: [u8; 16],
    pub iniface_mask: [u8; 16],
    pub outiface_mask: [u8; 16],
    pub proto: u16,
    pub flags: u8,
    pub invflags: u8,
}

/// `struct ipt_entry` without its flexible `elems[]` (matches, then the target).
#[repr(C)]
pub struct IptEntry {
    pub ip: IptIp,
    pub nfcache: u32,
    pub target_offset: u16,
    pub next_offset: u16,
    pub comefrom: u32,
    pub counters: [u64; 2],
}

/// The user-space view of `struct xt_entry_match` / `xt_entry_target` (same header).
#[repr(C)]
pub struct ExtensionHeader {
    pub size: u16,
    pub name: [u8; EXTENSION_MAXNAMELEN],
    pub revision: u8,
}

pub const GET_ENTRIES_SIZE: usize = size_of::<GetEntries>();
pub const GETINFO_SIZE: usize = size_of::<GetInfo>();
pub const ENTRY_SIZE: usize = size_of::<IptEntry>();
pub const EXT_HEADER_SIZE: usize = size_of::<ExtensionHeader>();

pub const INFO_VALID_HOOKS: usize = offset_of!(GetInfo, valid_hooks);
pub const INFO_HOOK_ENTRY: usize = offset_of!(GetInfo, hook_entry);
pub const INFO_UNDERFLOW: usize = offset_of!(GetInfo, underflow);
pub const INFO_SIZE: usize = offset_of!(GetInfo, size);
pub const GET_ENTRIES_SIZE_FIELD: usize = offset_of!(GetEntries, size);

pub const IP_SRC: usize = offset_of!(IptIp, src);
pub const IP_DST: usize = offset_of!(IptIp, dst);
pub const IP_SMSK: usize = offset_of!(IptIp, smsk);
pub const IP_DMSK: usize = offset_of!(IptIp, dmsk);
pub const IP_INIFACE: usize = offset_of!(IptIp, iniface);
pub const IP_OUTIFACE: usize = offset_of!(IptIp, outiface);
pub const IP_PROTO: usize = offset_of!(IptIp, proto);
pub const IP_FLAGS: usize = offset_of!(IptIp, flags);
pub const IP_INVFLAGS: usize = offset_of!(IptIp, invflags);
pub const ENTRY_TARGET_OFFSET: usize = offset_of!(IptEntry, target_offset);
pub const ENTRY_NEXT_OFFSET: usize = offset_of!(IptEntry, next_offset);
/// `counters.pcnt`: packets the rule matched.
pub const ENTRY_PACKETS: usize = offset_of!(IptEntry, counters);
pub const EXT_NAME: usize = offset_of!(ExtensionHeader, name);
pub const EXT_REVISION: usize = offset_of!(ExtensionHeader, revision);

/// `ipt_ip.flags`: `-g` rather than `-j`.
pub const IPT_F_GOTO: u8 = 0x02;
/// `ipt_ip.flags`: `-f`.
pub const IPT_F_FRAG: u8 = 0x01;
pub const IPT_INV_VIA_IN: u8 = 0x01;
pub const IPT_INV_VIA_OUT: u8 = 0x02;
pub const IPT_INV_SRCIP: u8 = 0x08;
pub const IPT_INV_DSTIP: u8 = 0x10;
pub const IPT_INV_FRAG: u8 = 0x20;
pub const IPT_INV_PROTO: u8 = 0x40;

/// Standard-target verdicts below zero are `-NF_<verdict> - 1`.
pub const VERDICT_DROP: i32 = -1;
pub const VERDICT_ACCEPT: i32 = -2;
pub const VERDICT_QUEUE: i32 = -4;
/// `XT_RETURN` = `-NF_REPEAT - 1`.
pub const VERDICT_RETURN: i32 = -5;

/// Built-in chains by netfilter hook number.
pub const HOOK_CHAINS: [&str; NUMHOOKS] =
    ["PREROUTING", "INPUT", "FORWARD", "OUTPUT", "POSTROUTING"];

#[cfg(test)]
mod tests {
    use super::*;

    /// The sizes libiptc and the kernel agree on for 64-bit Linux (amd64, arm64).
    #[cfg(target_pointer_width = "64")]
    #[test]
    fn layout_matches_the_kernel_on_64_bit() {
        assert_eq!(GETINFO_SIZE, 84);
        assert_eq!(GET_ENTRIES_SIZE, 40);
        assert_eq!(size_of::<IptIp>(), 84);
        assert_eq!(ENTRY_SIZE, 112);
        assert_eq!((ENTRY_TARGET_OFFSET, ENTRY_NEXT_OFFSET), (88, 90));
        assert_eq!(EXT_HEADER_SIZE, 32);
        assert_eq!(IP_PROTO, 80);
    }
}
