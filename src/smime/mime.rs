//! The MIME plumbing S/MIME needs: the header/body split of an entity with byte spans (to be
//! replaced by the message core), multipart splitting on the raw buffer, and the 7-bit
//! transfer encodings used when building a signed entity (RFC 8551 §3.1.2).
//!
//! Everything works on offsets into the caller's buffer so that verification hashes exactly the
//! bytes that were sent (style.md §2), and so a 64 MiB body is never copied.

use std::ops::Range;

use mail_parser::MessageParser;

/// One header field of an entity.
#[derive(Debug, Clone)]
pub(crate) struct Field {
    /// The field name as written.
    pub name: String,
    /// The raw value after the colon, folding kept, final line ending excluded.
    pub value: Range<usize>,
    /// The whole field, final line ending included.
    pub span: Range<usize>,
}

/// An entity (message or body part) split into header fields and body.
#[derive(Debug, Clone)]
pub(crate) struct Entity {
    pub fields: Vec<Field>,
    /// Offset of the first body byte (after the empty line); `raw.len()` when there is none.
    pub body: usize,
    /// The header section, blank line included.
    pub header_end: usize,
    /// Offset of the first header field: past an mbox `From ` envelope line (procmail hands
    /// it over), else 0.
    pub start: usize,
}

pub(crate) use crate::message::mime::ContentType;

impl Entity {
    /// Splits `raw`; `None` when it does not start with a header field.
    pub fn parse(raw: &[u8]) -> Option<Entity> {
        let mut fields: Vec<Field> = Vec::new();
        let start = if raw.starts_with(b"From ") {
            memchr::memchr(b'\n', raw).map_or(raw.len(), |i| i + 1)
        } else {
            0
        };
        let mut pos = start;
        loop {
            if pos >= raw.len() {
                return Some(Entity {
                    fields,
                    body: raw.len(),
                    header_end: raw.len(),
                    start,
                });
            }
            let eol = memchr::memchr(b'\n', &raw[pos..]).map_or(raw.len(), |i| pos + i + 1);
            let line = &raw[pos..eol];
            let content = trim_eol(line);
            if content.is_empty() {
                return Some(Entity {
                    fields,
                    body: eol,
                    header_end: eol,
                    start,
                });
            }
            if matches!(content[0], b' ' | b'\t') {
                // Continuation of the previous field.
                let f = fields.last_mut()?;
                f.value.end = pos + content.len();
                f.span.end = eol;
            } else {
                let colon = content.iter().position(|&b| b == b':')?;
                let name = std::str::from_utf8(&content[..colon]).ok()?.trim_end();
                if name.is_empty() || name.bytes().any(|b| !(33..=126).contains(&b)) {
                    // Not a header field: a message without a header section is not a message;
                    // inside a body part it means the part has no header.
                    if fields.is_empty() {
                        return None;
                    }
                    return Some(Entity {
                        fields,
                        body: pos,
                        header_end: pos,
                        start,
                    });
                }
                fields.push(Field {
                    name: name.to_owned(),
                    value: pos + colon + 1..pos + content.len(),
                    span: pos..eol,
                });
            }
            pos = eol;
        }
    }

    /// Like [`Entity::parse`], but a part without header fields is an entity with an empty header.
    pub fn parse_part(raw: &[u8]) -> Entity {
        if raw.starts_with(b"\r\n") || raw.starts_with(b"\n") {
            let body = if raw.starts_with(b"\r\n") { 2 } else { 1 };
            return Entity {
                fields: Vec::new(),
                body,
                header_end: body,
                start: 0,
            };
        }
        Entity::parse(raw).unwrap_or(Entity {
            fields: Vec::new(),
            body: 0,
            header_end: 0,
            start: 0,
        })
    }

    /// The raw values of every field named `name` (case-insensitive).
    pub fn values<'a>(&'a self, raw: &'a [u8], name: &'a str) -> impl Iterator<Item = &'a [u8]> {
        self.fields
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
            .map(move |f| &raw[f.value.clone()])
    }

    /// The Content-Type, parsed by mail-parser from the header section only.
    pub fn content_type(&self, raw: &[u8]) -> ContentType {
        ContentType::from_header_section(&raw[self.start..self.header_end]).unwrap_or_default()
    }

    /// The first From address, lowercased.
    pub fn first_from(&self, raw: &[u8]) -> Option<String> {
        let head = &raw[self.start..self.header_end];
        let parsed = MessageParser::new().parse_headers(head)?;
        parsed
            .from()
            .and_then(|a| a.first())
            .and_then(|a| a.address())
            .map(str::to_ascii_lowercase)
    }
}

/// RFC 9787: `Content-*` and `MIME-Version` describe the part; everything else is message-level.
pub(crate) fn is_structural(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("content-") || n == "mime-version"
}

pub(crate) fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// A header value unfolded, WSP runs collapsed and trimmed: the form used to compare an outer
/// field with its protected copy.
pub(crate) fn normalize(value: &[u8]) -> String {
    super::label::relaxed("", value).1
}

/// The body parts of a multipart body `raw[body]` delimited by `boundary` (RFC 2046 §5.1.1):
/// each range excludes the line ending that precedes the next delimiter, which belongs to it.
/// Returns the parts and whether the close delimiter was seen.
pub(crate) fn split_multipart(
    raw: &[u8],
    body: Range<usize>,
    boundary: &str,
) -> (Vec<Range<usize>>, bool) {
    let delim = format!("--{boundary}");
    let finder = memchr::memmem::Finder::new(delim.as_bytes());
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut pos = body.start;
    while let Some(i) = finder.find(&raw[pos..body.end]) {
        let at = pos + i;
        pos = at + delim.len();
        if at != body.start && raw[at - 1] != b'\n' {
            continue;
        }
        let after = &raw[pos..body.end];
        let close = after.starts_with(b"--");
        let rest = if close { &after[2..] } else { after };
        // A delimiter line may carry trailing whitespace only.
        let eol = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        if !trim_eol(&rest[..(eol + 1).min(rest.len())])
            .iter()
            .all(|b| matches!(b, b' ' | b'\t'))
        {
            continue;
        }
        if let Some(s) = start {
            let mut end = at;
            if end > s && raw[end - 1] == b'\n' {
                end -= 1;
                if end > s && raw[end - 1] == b'\r' {
                    end -= 1;
                }
            }
            parts.push(s..end.max(s));
        }
        if close {
            return (parts, true);
        }
        let line_end = (pos + eol + 1).min(body.end);
        start = Some(line_end);
        pos = line_end;
    }
    // No close delimiter: the last part runs to the end of the body.
    if let Some(s) = start {
        parts.push(s..body.end);
    }
    (parts, false)
}

/// Base64 with 76-column CRLF lines (RFC 2045 §6.8).
pub(crate) fn base64_lines(data: &[u8]) -> Vec<u8> {
    use base64::Engine;
    let enc = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = Vec::with_capacity(enc.len() + enc.len() / 38 + 2);
    for chunk in enc.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Decodes base64 ignoring whitespace and line breaks.
pub(crate) fn base64_decode(data: &[u8]) -> Option<Vec<u8>> {
    use base64::Engine;
    let clean: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// Quoted-printable (RFC 2045 §6.7) of CRLF text: 8-bit octets, `=` and trailing whitespace
/// encoded, soft line breaks keep lines ≤ 76.
pub(crate) fn quoted_printable(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + data.len() / 8);
    for (n, line) in data.split(|&b| b == b'\n').enumerate() {
        if n > 0 {
            out.extend_from_slice(b"\r\n");
        }
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut col = 0;
        for (i, &b) in line.iter().enumerate() {
            let last = i + 1 == line.len();
            let literal =
                (b == b' ' || b == b'\t') && !last || (33..=126).contains(&b) && b != b'=';
            let width = if literal { 1 } else { 3 };
            if col + width > 75 {
                out.extend_from_slice(b"=\r\n");
                col = 0;
            }
            if literal {
                out.push(b);
            } else {
                out.extend_from_slice(format!("={b:02X}").as_bytes());
            }
            col += width;
        }
    }
    out
}

/// True when `body` is safe to sign as-is in a multipart/signed (7-bit, lines ≤ 998, no
/// trailing whitespace; RFC 8551 §3.1.2, spec trap 31).
pub(crate) fn seven_bit_safe(body: &[u8]) -> bool {
    body.split(|&b| b == b'\n').all(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        line.len() <= 998
            && line.iter().all(|&b| b != 0 && b != b'\r' && b < 0x80)
            && !matches!(line.last(), Some(b' ' | b'\t'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_header_and_body() {
        let raw = b"From: a@b\r\nSubject: x\r\n  y\r\n\r\nbody\r\n";
        let e = Entity::parse(raw).expect("entity");
        assert_eq!(e.fields.len(), 2);
        assert_eq!(&raw[e.fields[1].value.clone()], b" x\r\n  y");
        assert_eq!(&raw[e.body..], b"body\r\n");
        assert!(Entity::parse(b"not a header\n\nbody").is_none());
        let mbox = b"From alice@example.org Sun Nov 29 00:00:00 2026\nSubject: x\n\nb";
        let e = Entity::parse(mbox).expect("mbox entity");
        assert_eq!(e.fields[0].name, "Subject");
        assert_eq!(
            &mbox[..e.start],
            b"From alice@example.org Sun Nov 29 00:00:00 2026\n"
        );
    }

    #[test]
    fn splits_multipart_lf_and_crlf() {
        for eol in ["\n", "\r\n"] {
            let s = format!(
                "pre{eol}--b{eol}A: 1{eol}{eol}one{eol}--b {eol}{eol}two{eol}{eol}--b--{eol}epi"
            );
            let raw = s.as_bytes();
            let (parts, closed) = split_multipart(raw, 0..raw.len(), "b");
            assert!(closed);
            assert_eq!(parts.len(), 2);
            assert_eq!(
                &raw[parts[0].clone()],
                format!("A: 1{eol}{eol}one").as_bytes()
            );
            assert_eq!(&raw[parts[1].clone()], format!("{eol}two{eol}").as_bytes());
        }
    }

    #[test]
    fn boundary_prefix_inside_text_is_not_a_delimiter() {
        let raw = b"--b\r\nx --b\r\n--bc\r\n--b--\r\n";
        let (parts, closed) = split_multipart(raw, 0..raw.len(), "b");
        assert!(closed);
        assert_eq!(parts.len(), 1);
        assert_eq!(&raw[parts[0].clone()], b"x --b\r\n--bc");
    }

    #[test]
    fn quoted_printable_encodes_what_it_must() {
        let qp = quoted_printable("caf\u{e9} = ok \r\nend".as_bytes());
        assert_eq!(qp, b"caf=C3=A9 =3D ok=20\r\nend");
        let long = quoted_printable(&[b'a'; 200]);
        assert!(long.split(|&b| b == b'\n').all(|l| l.len() <= 77));
        assert!(seven_bit_safe(&long));
        assert!(!seven_bit_safe(b"trailing \r\n"));
    }
}
