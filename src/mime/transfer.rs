//! Transfer encodings (RFC 2045 §6) and the 7-bit rule set for signed content (RFC 8551
//! §3.1.2, RFC 3156 §3): one place for both mechanisms.

use std::borrow::Cow;

use base64::Engine as _;

/// The body decoded per `cte` (lower-case): base64 and quoted-printable are decoded, identity
/// encodings borrow; `None` when base64 does not decode.
pub fn decode<'a>(cte: &str, body: &'a [u8]) -> Option<Cow<'a, [u8]>> {
    match cte {
        "base64" => base64_decode(body).map(Cow::Owned),
        "quoted-printable" => Some(Cow::Owned(quoted_printable_decode(body))),
        _ => Some(Cow::Borrowed(body)),
    }
}

/// Decodes base64, ignoring white space and line breaks.
pub fn base64_decode(data: &[u8]) -> Option<Vec<u8>> {
    let clean: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// Base64 with CRLF every 76 characters (RFC 2045 §6.8).
pub fn base64_lines(data: &[u8]) -> Vec<u8> {
    let s = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = Vec::with_capacity(s.len() + s.len() / 38 + 2);
    for chunk in s.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Quoted-printable (RFC 2045 §6.7) of text, with CRLF line endings, safe for signing: 8-bit
/// octets, `=`, trailing white space and the `F` of a leading `From ` are encoded; soft line
/// breaks keep lines under 76 octets.
pub fn quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 8);
    let mut lines = body.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut col = 0;
        for (i, &b) in line.iter().enumerate() {
            let trailing_ws = (b == b' ' || b == b'\t') && i + 1 == line.len();
            let from_line = i == 0 && line.starts_with(b"From ");
            let enc =
                b == b'=' || !(0x20..0x7f).contains(&b) && b != b'\t' || trailing_ws || from_line;
            let width = if enc { 3 } else { 1 };
            if col + width > 75 {
                out.extend_from_slice(b"=\r\n");
                col = 0;
            }
            if enc {
                out.extend_from_slice(format!("={b:02X}").as_bytes());
            } else {
                out.push(b);
            }
            col += width;
        }
        if lines.peek().is_some() {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// Decodes quoted-printable leniently (bad escapes are kept as they are).
pub fn quoted_printable_decode(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    let hex = |b: u8| (b as char).to_digit(16);
    while i < body.len() {
        let b = body[i];
        if b == b'=' {
            if body.get(i + 1) == Some(&b'\n') {
                i += 2;
                continue;
            }
            if body.get(i + 1) == Some(&b'\r') && body.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if let (Some(h), Some(l)) = (
                body.get(i + 1).and_then(|&c| hex(c)),
                body.get(i + 2).and_then(|&c| hex(c)),
            ) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(b);
        i += 1;
    }
    out
}

/// True when `body` may be signed as `7bit`: ASCII without NUL or bare CR, lines of at most
/// 998 octets, no trailing white space (relays strip it), no line starting with `From `
/// (mbox delivery escapes it).
pub fn seven_bit_safe(body: &[u8]) -> bool {
    body.split(|&b| b == b'\n').all(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        line.len() <= 998
            && line.iter().all(|&b| b != 0 && b < 0x80 && b != b'\r')
            && !matches!(line.last(), Some(b' ' | b'\t'))
            && !line.starts_with(b"From ")
    })
}

/// A boundary that cannot occur in `content`: derived from its SHA-256 (no RNG in domain code,
/// style.md §2), lengthened in the unlikely case it occurs.
pub fn boundary_for(content: &[u8], tag: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(content);
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let mut b = format!("=-ximf-{tag}-{}", &hex[..24]);
    let mut extra = 24;
    while memchr::memmem::find(content, b.as_bytes()).is_some() && extra < 64 {
        extra += 8;
        b = format!("=-ximf-{tag}-{}", &hex[..extra]);
    }
    b
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn quoted_printable_round_trip() {
        let text = "From me\r\ncaf\u{e9} = ok \r\n".as_bytes();
        let qp = quoted_printable(text);
        assert!(seven_bit_safe(&qp));
        assert!(qp.starts_with(b"=46rom me\r\n"));
        assert_eq!(quoted_printable_decode(&qp), text);
        let long = vec![b'a'; 200];
        let qp = quoted_printable(&long);
        assert!(qp.split(|&b| b == b'\n').all(|l| l.len() <= 77));
        assert_eq!(quoted_printable_decode(&qp), long);
    }

    #[test]
    fn seven_bit_rules() {
        assert!(seven_bit_safe(b"hello\r\nworld\r\n"));
        assert!(!seven_bit_safe(b"trailing \r\n"));
        assert!(!seven_bit_safe(b"From here\r\n"));
        assert!(!seven_bit_safe("caf\u{e9}".as_bytes()));
    }

    #[test]
    fn base64_both_ways() {
        let enc = base64_lines(&[0u8; 100]);
        assert!(enc.split(|&b| b == b'\n').all(|l| l.len() <= 78));
        assert_eq!(base64_decode(&enc).unwrap(), vec![0u8; 100]);
        assert!(base64_decode(b"*not base64*").is_none());
        assert!(decode("base64", b"***").is_none());
        assert_eq!(decode("7bit", b"x").unwrap().as_ref(), b"x");
    }

    #[test]
    fn boundary_avoids_content() {
        let b = boundary_for(b"hello", "s");
        assert!(b.starts_with("=-ximf-s-"));
        assert_eq!(b, boundary_for(b"hello", "s"));
    }
}
