//! The header section as byte spans: where each field starts and ends, its name, its value.
//!
//! We locate fields ourselves instead of asking mail-parser, because edits must keep every other
//! byte (design.md §4) and mail-parser reports decoded values, not the spans of folded lines.
//! The scan follows RFC 5322 §2.2: a field is `name ":" value` on one line plus any number of
//! continuation lines that begin with a space or a tab (§2.2.3), and the header section ends at
//! the first empty line (§2.1). Nothing after that line is ever looked at (trap 19: Thunderbird
//! reads body lines as headers; we must not).

use crate::{Error, Result};

use super::encode;

/// At most this many fields in one header section; more is refused as hostile (design.md §8:
/// bound every input).
pub const MAX_FIELDS: usize = 10_000;

/// At most this many bytes in the header section (the blank line excluded); more is refused.
pub const MAX_HEADER_BYTES: usize = 1 << 20;

/// One header field, located in the message's bytes.
///
/// A `Field` holds offsets, not bytes: pass the message's bytes ([`super::Message::bytes`]) to
/// [`Field::raw_value`] and [`Field::value`]. Repeated fields stay separate `Field`s in message
/// order (trap 23: no last-one-wins map).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The field name as written (case kept; whitespace before the colon not included).
    pub name: String,
    /// Offset of the field's first byte (the first byte of its name).
    pub start: usize,
    /// Offset just past the field: its final line ending included, or the end of the message
    /// when the last field has no line ending.
    pub end: usize,
    /// Offset just past the colon.
    value_start: usize,
    /// Offset of the final line ending (equal to `end` when there is none).
    value_end: usize,
}

impl Field {
    /// The value as written: everything after the colon up to, not including, the field's final
    /// line ending. Folding (line ending + whitespace) and encoded-words are kept.
    ///
    /// Returns an empty slice if `msg_bytes` is not the message this field came from and is too
    /// short for the span.
    pub fn raw_value<'a>(&self, msg_bytes: &'a [u8]) -> &'a [u8] {
        msg_bytes
            .get(self.value_start..self.value_end)
            .unwrap_or(&[])
    }

    /// The whole field as written, from the first byte of its name through its final line ending.
    ///
    /// Returns an empty slice if `msg_bytes` is too short for the span.
    pub fn raw<'a>(&self, msg_bytes: &'a [u8]) -> &'a [u8] {
        msg_bytes.get(self.start..self.end).unwrap_or(&[])
    }

    /// The value as a reader means it: unfolded (RFC 5322 §2.2.3), trimmed of leading and
    /// trailing spaces and tabs, RFC 2047 encoded-words decoded (see
    /// [`encode::decode_unstructured`]). Bytes that are not UTF-8 are replaced with U+FFFD.
    pub fn value(&self, msg_bytes: &[u8]) -> String {
        encode::decode_unstructured(self.raw_value(msg_bytes))
    }

    /// Whether the field's name is `name`, compared ASCII case-insensitively as RFC 5322 §1.2.2
    /// requires of field names.
    pub fn name_is(&self, name: &str) -> bool {
        self.name.eq_ignore_ascii_case(name)
    }
}

/// Whether `name` is a valid field name: one or more printable US-ASCII characters other than
/// the colon (`ftext`, RFC 5322 §3.6.8).
pub fn is_field_name(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().all(|&b| is_ftext(b))
}

fn is_ftext(b: u8) -> bool {
    (33..=126).contains(&b) && b != b':'
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Where the header section of `bytes` ends, and its fields.
#[derive(Debug)]
pub(crate) struct Scan {
    /// The fields, in order; together they cover `bytes[..header_len]` without gaps.
    pub fields: Vec<Field>,
    /// Offset of the empty line that ends the header section, or `bytes.len()` without one.
    pub header_len: usize,
    /// Offset of the body: just past the empty line, or `bytes.len()` without one.
    pub body_start: usize,
}

/// Scans the header section of `bytes`.
///
/// Fails with [`Error::Message`] when `bytes` does not start with an RFC 5322 header section;
/// see [`super::Message::parse`] for the exact rules.
pub(crate) fn scan(bytes: &[u8]) -> Result<Scan> {
    if bytes.is_empty() {
        return Err(Error::Message("empty input: not a message".into()));
    }
    // An mbox separator is not a header field (RFC 4155 §2): refusing it with its own message
    // tells the user to split the mailbox first instead of pointing at an odd "field name".
    if bytes.starts_with(b"From ") {
        return Err(Error::Message(
            "input starts with an mbox \"From \" line, not a header field; give one message, not a mailbox"
                .into(),
        ));
    }
    let mut fields: Vec<Field> = Vec::new();
    let mut pos = 0;
    let mut line_no = 0usize;
    loop {
        // Checked before the end-of-input test so that a body-less message is bounded too.
        if pos > MAX_HEADER_BYTES {
            return Err(too_large_header());
        }
        if pos >= bytes.len() {
            // The header section ran to the end of the input: a message with no body.
            return Ok(Scan {
                fields,
                header_len: bytes.len(),
                body_start: bytes.len(),
            });
        }
        line_no += 1;
        // Search for the line end within the bound only, so a huge input without line breaks
        // costs at most MAX_HEADER_BYTES of scanning.
        let window_end = bytes.len().min(MAX_HEADER_BYTES + 2);
        let window = bytes.get(pos..window_end).unwrap_or(&[]);
        let (content_len, line_len) = match window.iter().position(|&b| b == b'\n') {
            Some(i) if i > 0 && window[i - 1] == b'\r' => (i - 1, i + 1),
            Some(i) => (i, i + 1),
            None if window_end < bytes.len() => return Err(too_large_header()),
            None => (window.len(), window.len()),
        };
        let line = &window[..content_len];
        let next = pos + line_len;
        // A bare CR is a line break to some readers (Python's email package, Thunderbird's
        // line buffer) and data to others: `Subject: hi<CR>From: alice` shows one reader a
        // second From. Refuse the ambiguity instead of choosing (issue 9).
        if line.contains(&b'\r') {
            return Err(Error::Message(format!(
                "header line {line_no} holds a bare CR: readers disagree where the field ends"
            )));
        }

        if line.is_empty() {
            if content_len == line_len {
                // Cannot happen (an empty final line without a line ending is end of input,
                // handled above), but stay total rather than loop.
                return Ok(Scan {
                    fields,
                    header_len: pos,
                    body_start: pos,
                });
            }
            if fields.is_empty() {
                return Err(Error::Message(
                    "the first line is empty: no header section".into(),
                ));
            }
            // RFC 5322 §2.1: the first empty line ends the header section.
            return Ok(Scan {
                fields,
                header_len: pos,
                body_start: next,
            });
        }

        if is_wsp(line[0]) {
            // A continuation line (RFC 5322 §2.2.3) extends the previous field.
            let Some(last) = fields.last_mut() else {
                return Err(Error::Message(
                    "line 1 starts with whitespace: a continuation line with no field before it"
                        .into(),
                ));
            };
            last.end = next;
            last.value_end = pos + content_len;
        } else {
            let Some(colon) = line.iter().position(|&b| b == b':') else {
                return Err(Error::Message(format!(
                    "line {line_no} of the header section is neither a field nor a continuation line (no colon)"
                )));
            };
            // RFC 5322 §4.5.8 (obs-optional) allows whitespace between the name and the colon;
            // readers must accept it, and it is not part of the name.
            let name_bytes = trim_end_wsp(&line[..colon]);
            if !is_field_name(name_bytes) {
                return Err(Error::Message(format!(
                    "line {line_no} of the header section: invalid field name {:?}",
                    String::from_utf8_lossy(&line[..colon])
                )));
            }
            if fields.len() >= MAX_FIELDS {
                return Err(Error::Message(format!(
                    "more than {MAX_FIELDS} header fields"
                )));
            }
            // is_field_name accepted only printable ASCII, so this conversion is lossless.
            let name = String::from_utf8_lossy(name_bytes).into_owned();
            fields.push(Field {
                name,
                start: pos,
                end: next,
                value_start: pos + colon + 1,
                value_end: pos + content_len,
            });
        }
        pos = next;
    }
}

fn trim_end_wsp(b: &[u8]) -> &[u8] {
    let n = b.iter().rposition(|&c| !is_wsp(c)).map_or(0, |i| i + 1);
    &b[..n]
}

fn too_large_header() -> Error {
    Error::Message(format!(
        "header section larger than {MAX_HEADER_BYTES} bytes"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(s: &Scan) -> Vec<&str> {
        s.fields.iter().map(|f| f.name.as_str()).collect()
    }

    fn err(bytes: &[u8]) -> String {
        match scan(bytes) {
            Err(Error::Message(m)) => m,
            other => panic!("expected Error::Message, got {other:?}"),
        }
    }

    #[test]
    fn spans_cover_header_section() {
        let m = b"A: 1\nB: two\n  lines\nC:3\n\nbody: not a field\n";
        let s = scan(m).expect("valid");
        assert_eq!(names(&s), ["A", "B", "C"]);
        assert_eq!(s.header_len, 24);
        assert_eq!(s.body_start, 25);
        assert_eq!(&m[s.body_start..], b"body: not a field\n");
        let b = &s.fields[1];
        assert_eq!(b.raw(m), b"B: two\n  lines\n");
        assert_eq!(b.raw_value(m), b" two\n  lines");
        assert_eq!(s.fields[2].raw_value(m), b"3");
        // No gaps: each field starts where the previous one ends.
        assert_eq!(s.fields[0].start, 0);
        for w in s.fields.windows(2) {
            assert_eq!(w[0].end, w[1].start);
        }
        assert_eq!(s.fields[2].end, s.header_len);
    }

    #[test]
    fn stops_at_the_first_empty_line() {
        // Trap 19: whatever follows the empty line is body, even lines that are not fields at
        // all, and even a second empty line followed by field look-alikes.
        let m = b"A: 1\n\n not a field\nno colon\n\nX-XIMF-NAME: fake\n\xff\x00";
        let s = scan(m).expect("valid");
        assert_eq!(names(&s), ["A"]);
        assert_eq!(s.body_start, 6);
    }

    #[test]
    fn crlf_spans() {
        let m = b"A: 1\r\nB: 2\r\n\tx\r\n\r\nbody";
        let s = scan(m).expect("valid");
        assert_eq!(s.fields[1].raw_value(m), b" 2\r\n\tx");
        assert_eq!(s.fields[1].end, s.header_len);
        assert_eq!(&m[s.header_len..s.body_start], b"\r\n");
        assert_eq!(&m[s.body_start..], b"body");
    }

    #[test]
    fn no_body_with_and_without_final_newline() {
        let s = scan(b"A: 1\nB: 2\n").expect("valid");
        assert_eq!((s.header_len, s.body_start), (10, 10));
        let m = b"A: 1\nB: 2";
        let s = scan(m).expect("valid");
        assert_eq!((s.header_len, s.body_start), (9, 9));
        assert_eq!(s.fields[1].raw_value(m), b" 2");
        assert_eq!(s.fields[1].end, 9);
    }

    #[test]
    fn whitespace_before_colon_is_not_part_of_the_name() {
        let m = b"Subject \t: hi\n\n";
        let s = scan(m).expect("valid");
        assert_eq!(s.fields[0].name, "Subject");
        assert_eq!(s.fields[0].raw_value(m), b" hi");
    }

    #[test]
    fn empty_value_and_8bit_value() {
        let m = b"A:\nB: caf\xc3\xa9 \xff\n\n";
        let s = scan(m).expect("valid");
        assert_eq!(s.fields[0].raw_value(m), b"");
        assert_eq!(s.fields[1].value(m), "café \u{fffd}");
    }

    #[test]
    fn lone_cr_in_the_header_is_refused() {
        assert!(err(b"A: x\ry\n\n").contains("bare CR"));
        assert!(err(b"Subject: hi\rFrom: a@b\nFrom: c@d\n\n").contains("line 1"));
        // In the body it is data.
        assert!(scan(b"A: x\n\nbo\rdy").is_ok());
    }

    #[test]
    fn refuses_non_messages() {
        assert!(err(b"").contains("empty"));
        assert!(err(b" A: 1\n\n").contains("continuation"));
        assert!(err(b"\tA: 1\n\n").contains("continuation"));
        assert!(err(b"no colon here\n\n").contains("neither"));
        assert!(err(b"From alice@example.org Mon Jan  1 00:00:00 2024\nA: 1\n\n").contains("mbox"));
        assert!(err(b"Bad Name: 1\n\n").contains("invalid field name"));
        assert!(err(b": empty name\n\n").contains("invalid field name"));
        assert!(err(b"N\xc3\xa4me: 1\n\n").contains("invalid field name"));
        assert!(err(b"A: 1\nstray line\n\nbody").contains("line 2"));
        assert!(err(b"\nbody").contains("empty"));
        assert!(err(b"\r\nbody").contains("empty"));
        assert!(err(b"\xef\xbb\xbfA: 1\n\n").contains("invalid field name"));
    }

    #[test]
    fn field_count_bound() {
        let mut m = b"A: 1\n".repeat(MAX_FIELDS);
        m.extend_from_slice(b"\nbody");
        assert_eq!(scan(&m).expect("at the bound").fields.len(), MAX_FIELDS);
        let mut m = b"A: 1\n".repeat(MAX_FIELDS + 1);
        m.extend_from_slice(b"\nbody");
        assert!(err(&m).contains("more than"));
    }

    #[test]
    fn header_size_bound() {
        // One huge folded field just over the bound.
        let mut m = b"A: x".to_vec();
        while m.len() <= MAX_HEADER_BYTES {
            m.extend_from_slice(
                b"\n xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
            );
        }
        m.extend_from_slice(b"\n\nbody");
        assert!(err(&m).contains("larger than"));
        // One line without a line ending, longer than the bound, followed by more data.
        let mut m = b"A: ".to_vec();
        m.resize(MAX_HEADER_BYTES + 10, b'x');
        m.extend_from_slice(b"\n\nbody");
        assert!(err(&m).contains("larger than"));
        // A body-less message is bounded too.
        let mut m = b"A: ".to_vec();
        m.resize(MAX_HEADER_BYTES + 1, b'x');
        assert!(err(&m).contains("larger than"));
        // Just under the bound is fine.
        let mut m = b"A: ".to_vec();
        m.resize(MAX_HEADER_BYTES - 1, b'x');
        m.extend_from_slice(b"\n\nbody");
        assert!(scan(&m).is_ok());
    }

    #[test]
    fn name_is_case_insensitive() {
        let m = b"x-ximf-name: Amoco\n\n";
        let s = scan(m).expect("valid");
        assert!(s.fields[0].name_is("X-XIMF-NAME"));
        assert!(!s.fields[0].name_is("X-XIMF-NAM"));
        assert_eq!(s.fields[0].name, "x-ximf-name");
    }

    #[test]
    fn field_name_rules() {
        assert!(is_field_name(b"X-XIMF-NAME"));
        assert!(is_field_name(b"!#$%&'*+-.^_`|~"));
        assert!(!is_field_name(b""));
        assert!(!is_field_name(b"A B"));
        assert!(!is_field_name(b"A:B"));
        assert!(!is_field_name(b"A\x7f"));
    }
}
