//! The decoder's comparisons and computed registers: `bitwise` masks (a prefix, `ct state`
//! flags) and `field | bits`, `cmp` (a `>=`/`<=` pair is a range), NAT's register operands.

use super::decode::{Decoder, Reg, cmp_op, padded, reg32};
use super::{Key, Op, Right, Stmt};
use crate::dataplane::netfilter::nftables::netlink::{data_value, u};

impl Decoder<'_> {
    pub(super) fn bitwise(&mut self, d: &[u8]) -> bool {
        // Only the boolean form (`(reg & mask) ^ xor`, NFT_BITWISE_BOOL 0), not shifts.
        let (Some(sreg), Some(dreg), Some(mask)) = (u(d, 1), u(d, 2), data_value(d, 4)) else {
            return false;
        };
        if u(d, 6).is_some_and(|op| op != 0) {
            return false;
        }
        let xor = data_value(d, 5).unwrap_or_default();
        let Some(Reg::Loaded { key, len, .. }) = self.regs.get(&reg32(sreg)).cloned() else {
            return false;
        };
        let reg = if xor.iter().all(|b| *b == 0) {
            Reg::Loaded {
                key: Key {
                    mask: Some(mask),
                    ..key
                },
                len,
                seq: self.seq,
            }
        } else {
            // `field | bits` is mask = !bits, xor = bits.
            let inverse: Vec<u8> = xor.iter().map(|b| !b).collect();
            let [field] = key.fields.as_slice() else {
                return false;
            };
            if inverse != mask || key.mask.is_some() {
                return false;
            }
            Reg::Or {
                field: field.clone(),
                bits: xor,
            }
        };
        self.regs.insert(reg32(dreg), reg);
        true
    }

    pub(super) fn cmp(&mut self, d: &[u8]) -> bool {
        let (Some(sreg), Some(op), Some(bytes)) = (u(d, 1), cmp_op(u(d, 2)), data_value(d, 3))
        else {
            return false;
        };
        let Some(key) = self.key(sreg, false) else {
            return false;
        };
        let bytes = padded(bytes, &key.mask);
        // nft writes `A-B` as `>= A` then `<= B` on the same register.
        if op == Op::Le
            && let Some((
                _,
                Stmt::Match {
                    key: k,
                    op: Op::Ge,
                    right: Right::Value(from),
                },
            )) = self.stmts.last()
            && *k == key
        {
            let from = from.clone();
            self.stmts.pop();
            self.push(Stmt::Match {
                key,
                op: Op::Eq,
                right: Right::Range(from, bytes),
            });
            return true;
        }
        self.push(Stmt::Match {
            key,
            op,
            right: Right::Value(bytes),
        });
        true
    }

    pub(super) fn nat(&mut self, d: &[u8]) -> bool {
        let range = |min: u16, max: u16| -> Option<Option<(Vec<u8>, Vec<u8>)>> {
            let Some(lo) = u(d, min) else {
                return Some(None);
            };
            let hi = u(d, max).unwrap_or(lo);
            match (self.regs.get(&reg32(lo)), self.regs.get(&reg32(hi))) {
                (Some(Reg::Value(a)), Some(Reg::Value(b))) => Some(Some((a.clone(), b.clone()))),
                _ => None,
            }
        };
        // Only IPv4 NAT (NFPROTO_IPV4) is printed.
        if u(d, 2) != Some(2) {
            return false;
        }
        let (Some(addr), Some(port)) = (range(3, 4), range(5, 6)) else {
            return false;
        };
        self.push(Stmt::Nat {
            dnat: u(d, 1) == Some(1),
            addr,
            port,
            flags: u(d, 7).unwrap_or(0) as u32,
        });
        true
    }
}
