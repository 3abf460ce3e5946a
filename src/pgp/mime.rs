//! The MIME plumbing PGP/MIME needs: header/body split, header fields as raw bytes, Content-Type
//! parameters, RFC 2046 boundary scanning over the raw buffer, and 7-bit transfer encodings.
//!
//! Everything here works on byte slices of the caller's buffer so that signed regions are taken
//! exactly as they arrived (spec Part D §5.3 item 6). After the merge with the message core the
//! header/body split is swapped for `message::Message`.

use crate::{Error, Result};

/// Bound on MIME nesting we follow (design.md §8).
pub(crate) const MAX_DEPTH: usize = 8;

/// One header field, as raw bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Field<'a> {
    /// The field name as written.
    pub name: &'a str,
    /// The whole field (name, colon, value, folding), without the final line ending.
    pub raw: &'a [u8],
}

impl Field<'_> {
    /// The value after the colon, unfolded and trimmed (for comparisons, never for signing).
    pub fn value(&self) -> String {
        let v = &self.raw[self.name.len() + 1..];
        let s = String::from_utf8_lossy(v);
        let mut out = String::with_capacity(s.len());
        for line in s.split('\n') {
            let line = line.strip_suffix('\r').unwrap_or(line);
            out.push_str(line);
        }
        // Unfolding keeps the WSP that starts each continuation line; runs of WSP are
        // collapsed so that refolding by a relay does not count as a change.
        out.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    /// True for the structural fields of RFC 9787 (`Content-*`, `MIME-Version`).
    pub fn is_structural(&self) -> bool {
        is_structural(self.name)
    }
}

/// True for `Content-*` and `MIME-Version` field names.
pub(crate) fn is_structural(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    lower.starts_with("content-") || lower == "mime-version"
}

/// An entity (message or body part): its header fields and its body, as slices of one buffer.
#[derive(Debug, Clone)]
pub(crate) struct Entity<'a> {
    /// The header fields in order.
    pub fields: Vec<Field<'a>>,
    /// The body, from the byte after the blank line to the end of the entity.
    pub body: &'a [u8],
}

impl<'a> Entity<'a> {
    /// Splits `data` into header fields and body. A part with no header at all (RFC 2046
    /// allows it: it is then `text/plain; charset=us-ascii`) starts with its blank line.
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let mut fields: Vec<Field<'a>> = Vec::new();
        let mut pos = 0;
        let mut start: Option<usize> = None;
        loop {
            if pos >= data.len() {
                // Header without body: everything is header.
                if let Some(s) = start {
                    fields.push(make_field(data, s, data.len())?);
                }
                return Ok(Entity {
                    fields,
                    body: &data[data.len()..],
                });
            }
            let end = memchr::memchr(b'\n', &data[pos..]).map_or(data.len(), |i| pos + i);
            let line_end = if end > pos && data[end - 1] == b'\r' {
                end - 1
            } else {
                end
            };
            let line = &data[pos..line_end];
            let next = (end + 1).min(data.len());
            if line.is_empty() {
                if let Some(s) = start {
                    fields.push(make_field(data, s, trim_eol_end(data, pos))?);
                }
                return Ok(Entity {
                    fields,
                    body: &data[next..],
                });
            }
            if line[0] == b' ' || line[0] == b'\t' {
                if start.is_none() {
                    return Err(Error::Message(
                        "header starts with a continuation line".into(),
                    ));
                }
            } else {
                if let Some(s) = start {
                    fields.push(make_field(data, s, trim_eol_end(data, pos))?);
                }
                start = Some(pos);
            }
            pos = next;
        }
    }

    /// The first field called `name` (case-insensitive).
    pub fn field(&self, name: &str) -> Option<&Field<'a>> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// The parsed Content-Type (default `text/plain`).
    pub fn content_type(&self) -> ContentType {
        self.field("Content-Type")
            .map(|f| ContentType::from_field(f.raw))
            .unwrap_or_default()
    }

    /// The Content-Transfer-Encoding, lower-cased (default `7bit`).
    pub fn transfer_encoding(&self) -> String {
        self.field("Content-Transfer-Encoding")
            .map(|f| f.value().to_ascii_lowercase())
            .unwrap_or_else(|| "7bit".into())
    }
}

fn trim_eol_end(data: &[u8], pos: usize) -> usize {
    let mut e = pos;
    if e > 0 && data[e - 1] == b'\n' {
        e -= 1;
    }
    if e > 0 && data[e - 1] == b'\r' {
        e -= 1;
    }
    e
}

fn make_field(data: &[u8], start: usize, end: usize) -> Result<Field<'_>> {
    let raw = &data[start..end];
    let colon = memchr::memchr(b':', raw)
        .ok_or_else(|| Error::Message("header line without a colon".into()))?;
    let name = std::str::from_utf8(&raw[..colon])
        .ok()
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_graphic() && b != b':'))
        .ok_or_else(|| Error::Message("malformed header field name".into()))?;
    Ok(Field { name, raw })
}

/// `data` without a leading mbox `From ` postmark line, which procmail hands to filters.
pub(crate) fn skip_mbox_postmark(data: &[u8]) -> &[u8] {
    if data.starts_with(b"From ") {
        match memchr::memchr(b'\n', data) {
            Some(i) => &data[i + 1..],
            None => data,
        }
    } else {
        data
    }
}

pub(crate) use crate::message::mime::ContentType;

/// The body parts of a multipart body, as slices of `body`, per RFC 2046 §5.1.1: each part
/// runs from the byte after the line ending of its boundary line to the byte before the line
/// ending that precedes the next boundary line (that line ending belongs to the delimiter).
pub(crate) struct Multipart<'a> {
    /// The parts in order.
    pub parts: Vec<&'a [u8]>,
}

/// Splits a multipart `body` with `boundary`.
pub(crate) fn split_multipart<'a>(body: &'a [u8], boundary: &str) -> Result<Multipart<'a>> {
    if boundary.is_empty() || boundary.len() > 70 {
        return Err(Error::Message(
            "multipart boundary missing or too long".into(),
        ));
    }
    let delim = format!("--{boundary}");
    let finder = memchr::memmem::Finder::new(delim.as_bytes());
    let mut parts = Vec::new();
    // (start of the delimiter line, start of the line after it, is close delimiter)
    let mut lines: Vec<(usize, usize, bool)> = Vec::new();
    let mut from = 0;
    while let Some(i) = finder.find(&body[from..]) {
        let at = from + i;
        from = at + delim.len();
        // A delimiter must start a line.
        if at != 0 && body[at - 1] != b'\n' {
            continue;
        }
        let rest = &body[at + delim.len()..];
        let close = rest.starts_with(b"--");
        let after = if close { &rest[2..] } else { rest };
        // Only transport padding may follow the boundary on its line.
        let eol = memchr::memchr(b'\n', after).unwrap_or(after.len());
        if !after[..eol]
            .iter()
            .all(|&b| matches!(b, b' ' | b'\t' | b'\r'))
        {
            continue;
        }
        let next = (at + delim.len() + (rest.len() - after.len()) + eol + 1).min(body.len());
        lines.push((at, next, close));
        if close {
            break;
        }
    }
    for w in lines.windows(2) {
        let (_, start, close) = w[0];
        if close {
            break;
        }
        let mut end = w[1].0;
        // The line ending before the delimiter belongs to the delimiter.
        if end > start && body[end - 1] == b'\n' {
            end -= 1;
            if end > start && body[end - 1] == b'\r' {
                end -= 1;
            }
        }
        parts.push(&body[start..end.max(start)]);
    }
    Ok(Multipart { parts })
}

/// True when `body` may travel as `7bit`: ASCII, no NUL, lines of at most 998 octets, no
/// trailing whitespace, no line starting with `From ` (RFC 3156 §3).
pub(crate) fn is_7bit_safe(body: &[u8]) -> bool {
    body.split(|&b| b == b'\n').all(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        line.len() <= 998
            && line.iter().all(|&b| b != 0 && b < 0x80 && b != b'\r')
            && !line.ends_with(b" ")
            && !line.ends_with(b"\t")
            && !line.starts_with(b"From ")
    })
}

/// Quoted-printable (RFC 2045 §6.7) of CRLF text, safe for signing: trailing whitespace and the
/// `F` of a leading `From ` are encoded, soft line breaks keep lines under 76 octets.
pub(crate) fn encode_quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 8);
    let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
    let last = lines.len() - 1;
    for (n, line) in lines.iter().enumerate() {
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
        if n != last {
            out.extend_from_slice(b"\r\n");
        }
    }
    out
}

/// Decodes quoted-printable leniently (bad escapes are kept as they are).
pub(crate) fn decode_quoted_printable(body: &[u8]) -> Vec<u8> {
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

/// Base64 with CRLF every 76 characters.
pub(crate) fn encode_base64(body: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let s = base64::engine::general_purpose::STANDARD.encode(body);
    let mut out = Vec::with_capacity(s.len() + s.len() / 38 + 2);
    for chunk in s.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Decodes the body of `entity` according to its Content-Transfer-Encoding.
pub(crate) fn decode_body(entity: &Entity<'_>) -> Vec<u8> {
    match entity.transfer_encoding().as_str() {
        "quoted-printable" => decode_quoted_printable(entity.body),
        "base64" => {
            use base64::Engine as _;
            let clean: Vec<u8> = entity
                .body
                .iter()
                .copied()
                .filter(|b| !b.is_ascii_whitespace())
                .collect();
            base64::engine::general_purpose::STANDARD
                .decode(&clean)
                .unwrap_or_else(|_| entity.body.to_vec())
        }
        _ => entity.body.to_vec(),
    }
}

/// A boundary that cannot occur in `content`: derived from its SHA-256 (no RNG in domain
/// code, style.md §2), lengthened in the unlikely case it occurs.
pub(crate) fn boundary_for(content: &[u8], tag: &str) -> String {
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
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn splits_header_and_body() {
        let e = Entity::parse(b"From: a\r\nSubject: x\r\n y\r\n\r\nbody\r\n").unwrap();
        assert_eq!(e.fields.len(), 2);
        assert_eq!(e.fields[1].raw, b"Subject: x\r\n y");
        assert_eq!(e.fields[1].value(), "x y");
        assert_eq!(e.body, b"body\r\n");
        let e = Entity::parse(b"\nbody").unwrap();
        assert!(e.fields.is_empty());
        assert_eq!(e.body, b"body");
        assert!(Entity::parse(b" cont\n\nb").is_err());
        assert!(Entity::parse(b"no colon\n\nb").is_err());
        let mbox = b"From alice@example.org Mon Jun  1 08:00:00 2026\nFrom: a\n\nb";
        assert_eq!(
            Entity::parse(skip_mbox_postmark(mbox))
                .unwrap()
                .fields
                .len(),
            1
        );
    }

    #[test]
    fn content_type_params() {
        let ct = ContentType::from_field(
            b"Content-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol=\"application/pgp-signature\"; boundary=\"a b\"",
        );
        assert_eq!(ct.mime, "multipart/signed");
        assert_eq!(ct.param("boundary"), Some("a b"));
        assert_eq!(ct.param("protocol"), Some("application/pgp-signature"));
        assert_eq!(ContentType::default().mime, "text/plain");
    }

    #[test]
    fn multipart_split_excludes_delimiter_crlf() {
        let body = b"preamble\r\n--b\r\nA\r\n\r\n--b \r\nB\r\n--b--\r\nepilogue";
        let m = split_multipart(body, "b").unwrap();
        assert_eq!(m.parts, vec![&b"A\r\n"[..], &b"B"[..]]);
        // A boundary-looking string inside a line is not a delimiter.
        let m = split_multipart(b"--b\nx--b\n--bx\n--b--\n", "b").unwrap();
        assert_eq!(m.parts, vec![&b"x--b\n--bx"[..]]);
        let m = split_multipart(b"--b\nonly", "b").unwrap();
        assert!(m.parts.is_empty());
    }

    #[test]
    fn quoted_printable_round_trip() {
        let text = "From me\r\ncaf\u{e9} = ok \r\n".as_bytes();
        let qp = encode_quoted_printable(text);
        assert!(is_7bit_safe(&qp));
        assert!(qp.starts_with(b"=46rom me\r\n"));
        assert_eq!(decode_quoted_printable(&qp), text);
        let long = vec![b'a'; 200];
        let qp = encode_quoted_printable(&long);
        assert!(qp.split(|&b| b == b'\n').all(|l| l.len() <= 77));
        assert_eq!(decode_quoted_printable(&qp), long);
    }

    #[test]
    fn seven_bit_rules() {
        assert!(is_7bit_safe(b"hello\r\nworld\r\n"));
        assert!(!is_7bit_safe(b"trailing \r\n"));
        assert!(!is_7bit_safe(b"From here\r\n"));
        assert!(!is_7bit_safe("caf\u{e9}".as_bytes()));
    }

    #[test]
    fn boundary_avoids_content() {
        let b = boundary_for(b"hello", "s");
        assert!(b.starts_with("=-ximf-s-"));
        assert_eq!(b, boundary_for(b"hello", "s"));
    }
}
