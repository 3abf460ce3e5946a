//! The one MIME reader: an entity (a message or a body part) split into header fields and body
//! as byte ranges of the caller's buffer, its Content-Type parsed per RFC 2045/2231
//! ([`ContentType`], never substring matches), multipart bodies split per RFC 2046 §5.1.1
//! ([`multipart`]), and the transfer encodings with the 7-bit rule set ([`transfer`]).
//!
//! Everything works on offsets into the caller's buffer so that signatures are checked over
//! exactly the bytes that were sent (style.md §2) and a large body is never copied. S/MIME,
//! OpenPGP and the secure-message engine ([`crate::secure`]) all read MIME through here.

pub mod coders;
mod content_type;
pub mod multipart;
pub mod transfer;

use std::borrow::Cow;
use std::ops::Range;

pub use content_type::ContentType;

/// One header field of an entity, as offsets into the entity's buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field name as written.
    pub name: String,
    /// The raw value after the colon, folding kept, final line ending excluded.
    pub value: Range<usize>,
    /// The whole field, final line ending excluded.
    pub span: Range<usize>,
}

/// An entity split into header fields and body, borrowing its buffer.
#[derive(Debug, Clone)]
pub struct Entity<'a> {
    raw: &'a [u8],
    /// The header fields in order; repeated fields stay separate (no last-one-wins).
    pub fields: Vec<Field>,
    /// Offset of the first header field: past an mbox `From ` line (procmail hands it over).
    pub start: usize,
    /// Offset just past the header section (its blank line included when there is one).
    pub header_end: usize,
    /// True when the header section had more than [`MAX_FIELDS`] fields or [`MAX_HEADER_BYTES`]
    /// bytes: reading stopped there (the rest is body) and the caller must refuse the entity.
    pub truncated: bool,
}

/// At most this many fields are read from one header section.
pub const MAX_FIELDS: usize = crate::message::header::MAX_FIELDS;
/// At most this many bytes are read as one header section.
pub const MAX_HEADER_BYTES: usize = crate::message::header::MAX_HEADER_BYTES;

/// Why a buffer is not an entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntityError {
    /// The first line is neither a header field nor the blank line.
    NoHeader,
    /// A continuation line before any field.
    LeadingContinuation,
}

impl std::fmt::Display for EntityError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            EntityError::NoHeader => "not an RFC 5322 message: no header section",
            EntityError::LeadingContinuation => "the header starts with a continuation line",
        })
    }
}

impl<'a> Entity<'a> {
    /// Splits a whole message: an mbox `From ` line is skipped; the first line must be a header
    /// field.
    pub fn message(raw: &'a [u8]) -> Result<Entity<'a>, EntityError> {
        let start = if raw.starts_with(b"From ") {
            memchr::memchr(b'\n', raw).map_or(raw.len(), |i| i + 1)
        } else {
            0
        };
        let e = Self::scan(raw, start);
        match e.fields.first() {
            Some(f) if f.span.start == start => Ok(e),
            _ if raw.get(start).is_some_and(|b| matches!(b, b' ' | b'\t')) => {
                Err(EntityError::LeadingContinuation)
            }
            _ => Err(EntityError::NoHeader),
        }
    }

    /// Splits a body part. A part with no header (RFC 2046 §5.1: it then starts with its blank
    /// line) or whose first line is not a field has an empty header and is all body.
    pub fn part(raw: &'a [u8]) -> Entity<'a> {
        Self::scan(raw, 0)
    }

    fn scan(raw: &'a [u8], start: usize) -> Entity<'a> {
        let mut fields: Vec<Field> = Vec::new();
        let mut pos = start;
        let done = |fields, header_end| Entity {
            raw,
            fields,
            start,
            header_end,
            truncated: false,
        };
        loop {
            if pos >= raw.len() {
                return done(fields, raw.len());
            }
            // Bounded: a part of 64 MiB of `a:` lines must not become millions of fields.
            if fields.len() >= MAX_FIELDS || pos - start > MAX_HEADER_BYTES {
                return Entity {
                    truncated: true,
                    ..done(fields, pos)
                };
            }
            let eol = memchr::memchr(b'\n', &raw[pos..]).map_or(raw.len(), |i| pos + i + 1);
            let content = trim_eol(&raw[pos..eol]);
            if content.is_empty() {
                return done(fields, eol);
            }
            if matches!(content[0], b' ' | b'\t') {
                match fields.last_mut() {
                    Some(f) => {
                        f.value.end = pos + content.len();
                        f.span.end = pos + content.len();
                    }
                    // A continuation before any field: not a header section; all body.
                    None => return done(fields, start),
                }
            } else {
                let name = memchr::memchr(b':', content)
                    .map(|colon| (colon, trim_end_wsp(&content[..colon])))
                    .filter(|(_, n)| !n.is_empty() && n.iter().all(|b| (33..=126).contains(b)));
                let Some((colon, name)) = name else {
                    // Not a field: a part whose header section ends here (or is absent).
                    return done(fields, pos);
                };
                fields.push(Field {
                    name: String::from_utf8_lossy(name).into_owned(),
                    value: pos + colon + 1..pos + content.len(),
                    span: pos..pos + content.len(),
                });
            }
            pos = eol;
        }
    }

    /// The buffer the entity was read from.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// The body: everything after the header section.
    pub fn body(&self) -> &'a [u8] {
        &self.raw[self.header_end..]
    }

    /// The header section from its first field through its blank line.
    pub fn header(&self) -> &'a [u8] {
        &self.raw[self.start..self.header_end]
    }

    /// The raw value of `f` (folding kept).
    pub fn raw_value(&self, f: &Field) -> &'a [u8] {
        &self.raw[f.value.clone()]
    }

    /// The value of `f` unfolded, white-space runs collapsed and trimmed: the form in which an
    /// outer field is compared with its protected copy (never used for signing).
    pub fn text(&self, f: &Field) -> String {
        normalize(self.raw_value(f))
    }

    /// Every field named `name` (case-insensitive), in order.
    pub fn all<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Field> + 's {
        self.fields
            .iter()
            .filter(move |f| f.name.eq_ignore_ascii_case(name))
    }

    /// The first field named `name`.
    pub fn first(&self, name: &str) -> Option<&Field> {
        self.fields
            .iter()
            .find(|f| f.name.eq_ignore_ascii_case(name))
    }

    /// How many fields are named `name`.
    pub fn count(&self, name: &str) -> usize {
        self.all(name).count()
    }

    /// The Content-Type of the first Content-Type field; the RFC 2045 §5.2 default without
    /// one. A duplicated field is the engine's business ([`crate::secure`]): it is an error
    /// there, never a choice.
    pub fn content_type(&self) -> ContentType {
        self.first("Content-Type")
            .map(|f| ContentType::from_field(&self.raw[f.span.clone()]))
            .unwrap_or_default()
    }

    /// The Content-Transfer-Encoding, lower-cased (default `7bit`).
    pub fn transfer_encoding(&self) -> String {
        self.first("Content-Transfer-Encoding")
            .map(|f| self.text(f).to_ascii_lowercase())
            .unwrap_or_else(|| "7bit".into())
    }

    /// The body with its transfer encoding removed; `None` when base64 does not decode.
    /// Identity encodings borrow.
    pub fn decoded_body(&self) -> Option<Cow<'a, [u8]>> {
        transfer::decode(&self.transfer_encoding(), self.body())
    }
}

/// RFC 9787: `Content-*` and `MIME-Version` describe the part; everything else is message-level.
pub fn is_structural(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.starts_with("content-") || n == "mime-version"
}

/// A line without its line ending (LF or CRLF).
pub fn trim_eol(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn trim_end_wsp(b: &[u8]) -> &[u8] {
    let n = b
        .iter()
        .rposition(|c| !matches!(c, b' ' | b'\t'))
        .map_or(0, |i| i + 1);
    &b[..n]
}

/// A header value unfolded, white-space runs collapsed to one space and trimmed (RFC 7508
/// relaxed canonicalization of the value, and what a relay's refolding cannot change).
pub fn normalize(value: &[u8]) -> String {
    let mut out = Vec::with_capacity(value.len());
    let mut ws = false;
    for &b in value {
        match b {
            b'\r' | b'\n' => {}
            b' ' | b'\t' => ws = true,
            _ => {
                if ws && !out.is_empty() {
                    out.push(b' ');
                }
                ws = false;
                out.push(b);
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn splits_header_and_body() {
        let raw = b"From: a@b\r\nSubject: x\r\n  y\r\n\r\nbody\r\n";
        let e = Entity::message(raw).unwrap();
        assert_eq!(e.fields.len(), 2);
        assert_eq!(e.raw_value(&e.fields[1]), b" x\r\n  y");
        assert_eq!(e.text(&e.fields[1]), "x y");
        assert_eq!(e.body(), b"body\r\n");
        assert_eq!(
            Entity::message(b"not a header\n\nbody").unwrap_err(),
            EntityError::NoHeader
        );
        assert_eq!(
            Entity::message(b" cont\n\nbody").unwrap_err(),
            EntityError::LeadingContinuation
        );
        let mbox = b"From alice@example.org Sun Nov 29 00:00:00 2026\nSubject: x\n\nb";
        let e = Entity::message(mbox).unwrap();
        assert_eq!(e.fields[0].name, "Subject");
        assert_eq!(e.header(), b"Subject: x\n\n");
    }

    #[test]
    fn parts_without_header() {
        let e = Entity::part(b"\r\nbody");
        assert!(e.fields.is_empty());
        assert_eq!(e.body(), b"body");
        let e = Entity::part(b"just text\nmore");
        assert!(e.fields.is_empty());
        assert_eq!(e.body(), b"just text\nmore");
    }

    #[test]
    fn duplicates_stay_separate() {
        let raw = b"Content-Type: text/plain\nContent-Type: multipart/mixed; boundary=x\n\nb";
        let e = Entity::message(raw).unwrap();
        assert_eq!(e.count("content-type"), 2);
        assert_eq!(e.content_type().mime, "text/plain");
    }

    #[test]
    fn normalizes_values() {
        assert_eq!(normalize(b" a \r\n\t b  "), "a b");
        assert!(is_structural("Content-Type") && is_structural("MIME-Version"));
        assert!(!is_structural("Subject"));
    }
}
