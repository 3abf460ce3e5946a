//! A minimal DER reader and writer for the few small structures the `cms` crate does not model
//! (ESS labels, SecureHeaderFields, RSASSA-PSS/OAEP and GCM parameters, ECC-CMS-SharedInfo).
//!
//! The reader is lenient on purpose where the spec says so (Trustedbird's zero-padded INTEGERs,
//! spec §4.4); it never panics on malformed input.

/// Universal tags used here.
pub(crate) const INTEGER: u8 = 0x02;
pub(crate) const OCTET_STRING: u8 = 0x04;
pub(crate) const NULL: u8 = 0x05;
pub(crate) const OID: u8 = 0x06;
pub(crate) const ENUMERATED: u8 = 0x0a;
pub(crate) const UTF8_STRING: u8 = 0x0c;
pub(crate) const PRINTABLE_STRING: u8 = 0x13;
#[cfg(test)]
pub(crate) const IA5_STRING: u8 = 0x16;
pub(crate) const VISIBLE_STRING: u8 = 0x1a;
pub(crate) const SEQUENCE: u8 = 0x30;
pub(crate) const SET: u8 = 0x31;

/// One TLV: its tag byte and its content octets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tlv<'a> {
    pub tag: u8,
    pub content: &'a [u8],
    /// The whole encoding, tag and length included.
    pub raw: &'a [u8],
}

/// Reads one TLV from the front of `data` (single-byte tags, definite lengths).
pub(crate) fn read(data: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *data.first()?;
    let first = *data.get(1)? as usize;
    let (len, hdr) = if first < 0x80 {
        (first, 2)
    } else {
        let n = first & 0x7f;
        if n == 0 || n > 4 {
            return None;
        }
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *data.get(2 + i)? as usize;
        }
        (len, 2 + n)
    };
    let end = hdr.checked_add(len)?;
    if end > data.len() {
        return None;
    }
    Some((
        Tlv {
            tag,
            content: &data[hdr..end],
            raw: &data[..end],
        },
        &data[end..],
    ))
}

/// All TLVs of a constructed content.
pub(crate) fn children(mut content: &[u8]) -> Option<Vec<Tlv<'_>>> {
    let mut out = Vec::new();
    while !content.is_empty() {
        let (t, rest) = read(content)?;
        out.push(t);
        content = rest;
    }
    Some(out)
}

/// Encodes one TLV.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

/// Concatenates encodings into one constructed TLV.
pub(crate) fn cons(tag: u8, parts: &[&[u8]]) -> Vec<u8> {
    tlv(tag, &parts.concat())
}

/// DER INTEGER (or ENUMERATED with `tag`) content octets for a signed value: minimal two's complement.
pub(crate) fn int(tag: u8, v: i64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let mut start = 0;
    while start < 7 {
        let (b, next) = (bytes[start], bytes[start + 1]);
        if (b == 0 && next & 0x80 == 0) || (b == 0xff && next & 0x80 != 0) {
            start += 1;
        } else {
            break;
        }
    }
    tlv(tag, &bytes[start..])
}

/// Decodes INTEGER/ENUMERATED content, leniently: redundant leading zeros (Trustedbird, spec
/// §4.4) are accepted; more than 8 significant octets are refused.
pub(crate) fn parse_int(content: &[u8]) -> Option<i64> {
    if content.is_empty() {
        return None;
    }
    let neg = content[0] & 0x80 != 0;
    let sig: &[u8] = {
        let skip = content
            .iter()
            .take_while(|&&b| if neg { b == 0xff } else { b == 0 })
            .count();
        &content[skip.min(content.len())..]
    };
    if sig.len() > 8 {
        return None;
    }
    let mut v: i64 = if neg { -1 } else { 0 };
    for &b in sig {
        v = (v << 8) | b as i64;
    }
    Some(v)
}

/// True when INTEGER content is minimally encoded (strict DER).
pub(crate) fn int_is_der(content: &[u8]) -> bool {
    match content {
        [] => false,
        [_] => true,
        [0, b, ..] => b & 0x80 != 0,
        [0xff, b, ..] => b & 0x80 == 0,
        _ => true,
    }
}

/// Dotted OID string → DER TLV; `None` unless it has at least two arcs, the first 0..=2.
pub(crate) fn oid(dotted: &str) -> Option<Vec<u8>> {
    let arcs: Vec<u64> = dotted
        .split('.')
        .map(|a| a.parse::<u64>().ok())
        .collect::<Option<_>>()?;
    if arcs.len() < 2 || arcs[0] > 2 || (arcs[0] < 2 && arcs[1] > 39) {
        return None;
    }
    let mut out = Vec::new();
    let first = arcs[0].checked_mul(40)?.checked_add(arcs[1])?;
    for &arc in std::iter::once(&first).chain(&arcs[2..]) {
        let mut groups = vec![(arc & 0x7f) as u8];
        let mut v = arc >> 7;
        while v > 0 {
            groups.push((v & 0x7f) as u8 | 0x80);
            v >>= 7;
        }
        out.extend(groups.iter().rev());
    }
    Some(tlv(OID, &out))
}

/// OID content octets → dotted string.
pub(crate) fn oid_string(content: &[u8]) -> Option<String> {
    // Base-128 arcs (X.690 §8.19); the first subidentifier packs two arcs.
    if content.is_empty() || content.last().is_some_and(|b| b & 0x80 != 0) {
        return None;
    }
    let mut arcs: Vec<u64> = Vec::new();
    let mut v: u64 = 0;
    for &b in content {
        if v > u64::MAX >> 7 {
            return None;
        }
        v = (v << 7) | u64::from(b & 0x7f);
        if b & 0x80 == 0 {
            if arcs.is_empty() {
                let first = (v / 40).min(2);
                arcs.push(first);
                arcs.push(v - first * 40);
            } else {
                arcs.push(v);
            }
            v = 0;
        }
    }
    Some(
        arcs.iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join("."),
    )
}

/// Sorts encodings as DER requires for a SET OF (X.690 §11.6) and wraps them in a SET.
pub(crate) fn set_of(mut elems: Vec<Vec<u8>>) -> Vec<u8> {
    elems.sort();
    tlv(SET, &elems.concat())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_round_trip() {
        for v in [0i64, 1, 127, 128, 255, 256, -1, -128, -129, 65535] {
            let enc = int(INTEGER, v);
            let (t, rest) = read(&enc).expect("tlv");
            assert!(rest.is_empty());
            assert!(int_is_der(t.content), "{v}");
            assert_eq!(parse_int(t.content), Some(v));
        }
        assert_eq!(int(INTEGER, 128), vec![2, 2, 0, 128]);
        // Trustedbird's 4-octet zero-padded form: accepted leniently, flagged as non-DER.
        assert_eq!(parse_int(&[0, 0, 0, 1]), Some(1));
        assert!(!int_is_der(&[0, 0, 0, 1]));
    }

    #[test]
    fn oids_round_trip() {
        for o in ["1.2.3", "1.2.840.113549.1.9.16.2.55", "2.999.1"] {
            let enc = oid(o).expect("oid");
            assert_eq!(oid_string(&enc[2..]).as_deref(), Some(o));
        }
        assert!(oid_string(&[0x2a, 0x86]).is_none());
    }

    #[test]
    fn long_lengths() {
        let content = vec![7u8; 300];
        let enc = tlv(OCTET_STRING, &content);
        assert_eq!(&enc[..4], &[4, 0x82, 1, 44]);
        let (t, _) = read(&enc).expect("tlv");
        assert_eq!(t.content.len(), 300);
        assert!(read(&enc[..100]).is_none());
    }
}
