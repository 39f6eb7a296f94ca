//! Netlink attributes (`struct nlattr`) read and written by hand, for generic netlink families
//! no crate describes (IPVS): a 4-byte header (length including the header, type), the value,
//! padding to 4 bytes. Reading is tolerant of what it does not know and strict about lengths: a
//! value is taken only when the attribute says it is there.

/// NLA_F_NESTED and NLA_F_NET_BYTEORDER: flags some kernels set in the type; never part of it.
const NLA_TYPE_MASK: u16 = !(0x8000 | 0x4000);

/// The attribute header size (NLA_HDRLEN).
pub const NLA_HDRLEN: usize = 4;

/// NLA_ALIGN.
pub fn align(len: usize) -> usize {
    (len + 3) & !3
}

/// An attribute stream that does not hold together.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("attribute type {kind} at byte {offset} claims {claimed} bytes but {left} are left")]
pub struct NlaError {
    pub kind: u16,
    pub offset: usize,
    pub claimed: usize,
    pub left: usize,
}

/// The attributes of `data`, in order, as (type without flags, value). A header that claims more
/// bytes than are left (or fewer than its own 4) ends the walk with an error; trailing bytes
/// shorter than a header are ignored, as the kernel's `nla_for_each_attr` does.
pub fn attrs(data: &[u8]) -> impl Iterator<Item = Result<(u16, &[u8]), NlaError>> {
    let mut offset = 0;
    std::iter::from_fn(move || {
        let rest = data.get(offset..)?;
        if rest.len() < NLA_HDRLEN {
            return None;
        }
        let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
        let kind = u16::from_ne_bytes([rest[2], rest[3]]) & NLA_TYPE_MASK;
        if len < NLA_HDRLEN || len > rest.len() {
            let err = NlaError {
                kind,
                offset,
                claimed: len,
                left: rest.len(),
            };
            offset = data.len();
            return Some(Err(err));
        }
        offset += align(len);
        Some(Ok((kind, &rest[NLA_HDRLEN..len])))
    })
}

/// Append one attribute (header, value, padding) to `out`.
pub fn put(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    let len = NLA_HDRLEN + value.len();
    // An attribute is at most 64 KiB by the format; nothing the agent sends comes close.
    let len16 = u16::try_from(len).unwrap_or(u16::MAX);
    out.extend_from_slice(&len16.to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    out.resize(out.len() + align(len) - len, 0);
}

/// Append a nested attribute whose value `fill` writes.
pub fn nest(out: &mut Vec<u8>, kind: u16, fill: impl FnOnce(&mut Vec<u8>)) {
    let mut inner = Vec::new();
    fill(&mut inner);
    put(out, kind, &inner);
}

/// A NUL-terminated string value (NLA_NUL_STRING), up to its first NUL.
pub fn string(value: &[u8]) -> String {
    let end = value.iter().position(|&b| b == 0).unwrap_or(value.len());
    String::from_utf8_lossy(&value[..end]).into_owned()
}

/// Append a NUL-terminated string attribute, like the kernel's `nla_put_string`.
pub fn put_string(out: &mut Vec<u8>, kind: u16, s: &str) {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    put(out, kind, &v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attributes_are_padded_to_four_bytes_and_read_back_in_order() {
        let mut buf = Vec::new();
        put(&mut buf, 1, &[7]);
        put_string(&mut buf, 2, "rr");
        nest(&mut buf, 3 | 0x8000, |b| put(b, 4, &9u32.to_ne_bytes()));
        assert_eq!(buf.len(), 8 + 8 + 12);
        let got: Vec<(u16, Vec<u8>)> = attrs(&buf)
            .map(|a| a.map(|(k, v)| (k, v.to_vec())))
            .collect::<Result<_, _>>()
            .expect("well-formed");
        assert_eq!(got[0], (1, vec![7]));
        assert_eq!(string(&got[1].1), "rr");
        // The nested flag is not part of the type.
        assert_eq!(got[2].0, 3);
        let inner: Vec<_> = attrs(&got[2].1).collect();
        assert_eq!(inner, vec![Ok((4, &9u32.to_ne_bytes()[..]))]);
    }

    #[test]
    fn an_attribute_longer_than_what_is_left_is_an_error_naming_it() {
        let mut buf = Vec::new();
        put(&mut buf, 5, &[1, 2, 3, 4]);
        buf.extend_from_slice(&20u16.to_ne_bytes());
        buf.extend_from_slice(&6u16.to_ne_bytes());
        buf.extend_from_slice(&[0; 4]);
        let got: Vec<_> = attrs(&buf).collect();
        assert_eq!(got.len(), 2);
        assert_eq!(
            got[1],
            Err(NlaError {
                kind: 6,
                offset: 8,
                claimed: 20,
                left: 8
            })
        );
    }
}
