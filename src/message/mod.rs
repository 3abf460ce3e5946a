//! The message as bytes, plus a parsed view.
//!
//! A [`Message`] owns the raw input and never changes it: signatures cover exact bytes and
//! 8-bit bodies are legal, so the bytes are the truth (style.md §2). We locate the header
//! fields ourselves ([`header`]) so that [`Message::edit`] can add and remove fields while
//! keeping every other byte, line endings included (design.md §4). For MIME structure, ask
//! [`Message::view`], a mail-parser view borrowed from the same bytes; nothing here ever
//! re-serializes a parsed message.
//!
//! Cost: parsing scans the header section only (bounded by [`header::MAX_HEADER_BYTES`] and
//! [`header::MAX_FIELDS`]); an edit copies the header section piecewise and the body with one
//! copy. A 64 MiB body costs one `memcpy` per edit and nothing at parse time.

pub mod encode;
pub mod eol;
pub mod header;

use std::io::Read;

pub use eol::Eol;
pub use header::Field;

use crate::{Error, Result};

/// Reads all of `r`, refusing input longer than `limit` bytes.
///
/// The bytes are kept as bytes, never decoded as text (style.md §2). Reading stops one byte
/// past the limit, so a hostile input costs at most `limit + 1` bytes of memory.
///
/// Fails with [`Error::TooLarge`] when `r` holds more than `limit` bytes, and with
/// [`Error::Io`] when reading fails.
pub fn read_bounded(r: impl Read, limit: u64) -> Result<Vec<u8>> {
    read_bounded_sized(r, limit, 0)
}

/// [`read_bounded`] into a buffer that starts with room for `size_hint` bytes (a file's length),
/// so a large message is read without the copies of a growing buffer.
pub fn read_bounded_sized(r: impl Read, limit: u64, size_hint: u64) -> Result<Vec<u8>> {
    // One byte more than the hint: read_to_end must see end-of-file without growing.
    let room = size_hint.min(limit).saturating_add(1);
    let mut buf = Vec::with_capacity(usize::try_from(room).unwrap_or(0));
    r.take(limit.saturating_add(1)).read_to_end(&mut buf)?;
    if u64::try_from(buf.len()).map_or(true, |n| n > limit) {
        return Err(Error::TooLarge { limit });
    }
    Ok(buf)
}

/// Where [`Message::edit`] puts the fields it adds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placement {
    /// Before the first field, where trace fields go (RFC 5322 §3.6.7).
    Top,
    /// After the last field, just before the empty line that ends the header section.
    End,
}

/// A message: the raw bytes, kept exactly, and where its header fields are.
#[derive(Debug, Clone)]
pub struct Message {
    bytes: Vec<u8>,
    eol: Eol,
    /// Offset of the empty line that ends the header section, or `bytes.len()` without one.
    header_len: usize,
    /// Offset just past that empty line, or `bytes.len()` without one.
    body_start: usize,
    fields: Vec<Field>,
    /// For a message read as a skeleton ([`crate::stream`]): where its left-out bytes are.
    origin: Option<std::sync::Arc<crate::stream::Origin>>,
    /// For a message whose bodies stand as holes ([`crate::stream::Splice`]): its size less
    /// the bytes held.
    size_delta: i64,
}

impl Message {
    /// Parses the header section of `bytes`, keeping the bytes as they are.
    ///
    /// The header section runs to the first empty line (RFC 5322 §2.1), or to the end of the
    /// input for a message without a body (with or without a final line ending). Nothing after
    /// the empty line is examined, so body lines that look like fields are never fields
    /// (trap 19).
    ///
    /// Fails with [`Error::Message`] when the input is not an RFC 5322 message: it is empty;
    /// its first line is not a field (it starts with whitespace, has no colon, is empty, or is
    /// an mbox `From ` line); a line of the header section is neither a field nor a
    /// continuation line; a field name has characters outside printable ASCII or spaces inside;
    /// or the header section has more than [`header::MAX_FIELDS`] fields or more than
    /// [`header::MAX_HEADER_BYTES`] bytes.
    pub fn parse(bytes: Vec<u8>) -> Result<Message> {
        let scan = header::scan(&bytes)?;
        // Judge the convention from the header section only: it is where our edits go, and it
        // bounds the scan when a huge input has no line break at all.
        let eol = Eol::detect(bytes.get(..scan.body_start).unwrap_or(&bytes));
        Ok(Message {
            bytes,
            eol,
            header_len: scan.header_len,
            body_start: scan.body_start,
            fields: scan.fields,
            origin: None,
            size_delta: 0,
        })
    }

    /// A message of `size` bytes whose large bodies stand as holes in `bytes`
    /// ([`crate::stream::Splice`]): parsed as [`Message::parse`] parses, its
    /// [`Message::size`] the size of the message it stands for.
    pub fn standing_for(bytes: Vec<u8>, size: u64) -> Result<Message> {
        let mut m = Message::parse(bytes)?;
        m.size_delta = size as i64 - m.bytes.len() as i64;
        Ok(m)
    }

    /// [`Message::edit`], parsed again: a message standing for a larger one
    /// ([`Message::standing_for`]) still does, grown by what the edit adds.
    pub fn edited(
        &self,
        remove: &dyn Fn(&Field) -> bool,
        add: &[(String, String)],
        placement: Placement,
    ) -> Result<Message> {
        let mut m = Message::parse(self.edit(remove, add, placement)?)?;
        m.size_delta = self.size_delta;
        Ok(m)
    }

    /// A message read as a skeleton: `skeleton` is what [`Message::bytes`] gives and what the
    /// engine judges; `origin` says where the rest is. Its header section is whole.
    pub fn from_skeleton(
        skeleton: Vec<u8>,
        origin: std::sync::Arc<crate::stream::Origin>,
    ) -> Result<Message> {
        let mut m = Message::parse(skeleton)?;
        m.origin = Some(origin);
        Ok(m)
    }

    /// Where the bytes left out of a skeleton are ([`Message::from_skeleton`]); `None` for a
    /// message held whole.
    pub fn origin(&self) -> Option<&std::sync::Arc<crate::stream::Origin>> {
        self.origin.as_ref()
    }

    /// The size of the message in bytes (of the whole message, for a skeleton).
    pub fn size(&self) -> u64 {
        match &self.origin {
            Some(o) => o.source.len(),
            None => (self.bytes.len() as i64 + self.size_delta).max(0) as u64,
        }
    }

    /// The whole message, exactly as given.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The whole message, exactly as given, handing back the buffer.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The line-ending convention of the message, judged by its first line ending
    /// ([`Eol::detect`]); fields we add are written with it.
    pub fn eol(&self) -> Eol {
        self.eol
    }

    /// The header section: every field, up to but excluding the empty line that ends it.
    pub fn header_section(&self) -> &[u8] {
        self.bytes.get(..self.header_len).unwrap_or(&[])
    }

    /// The body: everything after the empty line that ends the header section; empty when the
    /// message has no body.
    pub fn body(&self) -> &[u8] {
        self.bytes.get(self.body_start..).unwrap_or(&[])
    }

    /// Offset of the body in [`Message::bytes`] (equal to the length when there is none).
    pub fn body_offset(&self) -> usize {
        self.body_start
    }

    /// The header fields in message order, repeats kept (trap 23).
    pub fn fields(&self) -> &[Field] {
        &self.fields
    }

    /// Every field named `name` (ASCII case-insensitive), in message order.
    pub fn get_all<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a Field> {
        self.fields.iter().filter(move |f| f.name_is(name))
    }

    /// The first field named `name` (ASCII case-insensitive).
    pub fn get(&self, name: &str) -> Option<&Field> {
        self.get_all(name).next()
    }

    /// The decoded value ([`Field::value`]) of the first field named `name`.
    pub fn value(&self, name: &str) -> Option<String> {
        self.get(name).map(|f| f.value(&self.bytes))
    }

    /// A copy of the message with the fields for which `remove` is true taken out and the
    /// fields `add` (name, value) put in; every other byte is kept, line endings included.
    ///
    /// A removed field goes with all its continuation lines. Added fields are rendered by
    /// [`encode::encode_field`] in the message's convention ([`Message::eol`]) and placed as
    /// `placement` says, in the order given. The body is copied in one piece. The one byte
    /// change beyond that: when fields are added after a last field that has no line ending
    /// (a body-less message without a final newline), a line ending is inserted first.
    ///
    /// With `remove` always false and `add` empty the result equals [`Message::bytes`].
    ///
    /// Fails with [`Error::Value`] when an added name or value cannot be encoded (see
    /// [`encode::encode_field`]), and with [`Error::Message`] when the edit would leave no
    /// field at all, because the result would not be a message.
    pub fn edit(
        &self,
        remove: &dyn Fn(&Field) -> bool,
        add: &[(String, String)],
        placement: Placement,
    ) -> Result<Vec<u8>> {
        let mut out = self.edit_header(remove, add, placement)?;
        out.extend_from_slice(self.rest());
        Ok(out)
    }

    /// The empty line that ends the header section and the body: what [`Message::edit`] copies
    /// unchanged after the edited header section.
    pub fn rest(&self) -> &[u8] {
        self.bytes.get(self.header_len..).unwrap_or(&[])
    }

    /// Only the edited header section of [`Message::edit`]; the output is it followed by
    /// [`Message::rest`]. Lets a writer send a large body from the input buffer, uncopied.
    pub fn edit_header(
        &self,
        remove: &dyn Fn(&Field) -> bool,
        add: &[(String, String)],
        placement: Placement,
    ) -> Result<Vec<u8>> {
        // Encode first: a refused value must fail before any work, and the size is then known.
        let mut added = Vec::new();
        for (name, value) in add {
            added.extend_from_slice(&encode::encode_field(name, value, self.eol)?);
        }
        let kept: Vec<&Field> = self.fields.iter().filter(|f| !remove(f)).collect();
        if kept.is_empty() && added.is_empty() {
            return Err(Error::Message(
                "the edit would remove every header field".into(),
            ));
        }

        let eol = self.eol.as_bytes();
        let mut out = Vec::with_capacity(self.header_len + added.len() + eol.len());
        if placement == Placement::Top {
            out.extend_from_slice(&added);
        }
        // Copy the kept fields, merging neighbours into one copy: fields tile the header
        // section without gaps, so unedited stretches come out byte-for-byte.
        let mut run: Option<(usize, usize)> = None;
        for f in &kept {
            run = match run {
                Some((s, e)) if e == f.start => Some((s, f.end)),
                Some((s, e)) => {
                    out.extend_from_slice(self.bytes.get(s..e).unwrap_or(&[]));
                    Some((f.start, f.end))
                }
                None => Some((f.start, f.end)),
            };
        }
        if let Some((s, e)) = run {
            out.extend_from_slice(self.bytes.get(s..e).unwrap_or(&[]));
        }
        if placement == Placement::End && !added.is_empty() {
            if !out.is_empty() && !out.ends_with(b"\n") {
                // Only the last field of a body-less message can lack its line ending; without
                // one here, the added field would be glued onto its value.
                out.extend_from_slice(eol);
            }
            out.extend_from_slice(&added);
        }
        Ok(out)
    }

    /// A mail-parser view of the message (MIME structure, decoded headers), borrowing the same
    /// bytes; its offsets index [`Message::bytes`]. `None` when mail-parser cannot parse it.
    pub fn view(&self) -> Option<mail_parser::Message<'_>> {
        mail_parser::MessageParser::default().parse(&self.bytes)
    }
}

impl AsRef<[u8]> for Message {
    fn as_ref(&self) -> &[u8] {
        &self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(b: &[u8]) -> Message {
        Message::parse(b.to_vec()).expect("valid message")
    }

    #[test]
    fn read_bounded_limits() {
        let data = vec![b'x'; 100];
        assert_eq!(read_bounded(&data[..], 100).expect("at the limit"), data);
        assert_eq!(read_bounded(&data[..], 1000).expect("under"), data);
        assert!(matches!(
            read_bounded(&data[..], 99),
            Err(Error::TooLarge { limit: 99 })
        ));
        assert!(read_bounded(&b""[..], 0).expect("empty").is_empty());
        assert!(matches!(
            read_bounded(&b"x"[..], 0),
            Err(Error::TooLarge { limit: 0 })
        ));
        assert_eq!(
            read_bounded(&b"xy"[..], u64::MAX).expect("no overflow"),
            b"xy"
        );
    }

    #[test]
    fn read_bounded_passes_io_errors() {
        struct Broken;
        impl Read for Broken {
            fn read(&mut self, _: &mut [u8]) -> std::io::Result<usize> {
                Err(std::io::Error::other("disk on fire"))
            }
        }
        assert!(matches!(read_bounded(Broken, 10), Err(Error::Io(_))));
    }

    #[test]
    fn sections_and_lookup() {
        let m = msg(b"From: a@example.org\nSubject: one\nsubject: two\n\nbody\n");
        assert_eq!(
            m.header_section(),
            b"From: a@example.org\nSubject: one\nsubject: two\n"
        );
        assert_eq!(m.body(), b"body\n");
        assert_eq!(m.body_offset(), 47);
        assert_eq!(m.eol(), Eol::Lf);
        let subjects: Vec<String> = m.get_all("SUBJECT").map(|f| f.value(m.bytes())).collect();
        assert_eq!(subjects, ["one", "two"]);
        assert_eq!(m.value("subject").as_deref(), Some("one"));
        assert!(m.get("To").is_none());
        assert_eq!(m.as_ref(), m.bytes());
    }

    #[test]
    fn edit_end_and_top() {
        let m = msg(b"A: 1\nB: 2\n\nbody");
        let add = [("X-New".to_string(), "v".to_string())];
        assert_eq!(
            m.edit(&|_| false, &add, Placement::End).expect("ok"),
            b"A: 1\nB: 2\nX-New: v\n\nbody"
        );
        assert_eq!(
            m.edit(&|_| false, &add, Placement::Top).expect("ok"),
            b"X-New: v\nA: 1\nB: 2\n\nbody"
        );
        assert_eq!(
            m.edit(&|f| f.name_is("a"), &add, Placement::End)
                .expect("ok"),
            b"B: 2\nX-New: v\n\nbody"
        );
    }

    #[test]
    fn edit_adds_a_line_ending_only_when_needed() {
        let m = msg(b"A: 1");
        let add = [("B".to_string(), "2".to_string())];
        assert_eq!(
            m.edit(&|_| false, &add, Placement::End).expect("ok"),
            b"A: 1\nB: 2\n"
        );
        assert_eq!(
            m.edit(&|_| false, &add, Placement::Top).expect("ok"),
            b"B: 2\nA: 1"
        );
        assert_eq!(
            m.edit(&|_| false, &[], Placement::End).expect("ok"),
            b"A: 1"
        );
    }

    #[test]
    fn edit_refuses_an_empty_header_and_bad_values() {
        let m = msg(b"A: 1\n\nbody");
        assert!(matches!(
            m.edit(&|_| true, &[], Placement::End),
            Err(Error::Message(_))
        ));
        let add = [("X".to_string(), "a\nB: injected".to_string())];
        assert!(matches!(
            m.edit(&|_| false, &add, Placement::End),
            Err(Error::Value { .. })
        ));
        // Replacing every field is fine.
        let add = [("X".to_string(), "1".to_string())];
        assert_eq!(
            m.edit(&|_| true, &add, Placement::End).expect("ok"),
            b"X: 1\n\nbody"
        );
    }

    #[test]
    fn view_borrows_the_same_bytes() {
        let m = msg(b"Subject: hi\nContent-Type: text/plain\n\nhello\n");
        let v = m.view().expect("mail-parser parses it");
        assert_eq!(v.subject(), Some("hi"));
        assert_eq!(v.body_text(0).as_deref(), Some("hello\n"));
    }
}
