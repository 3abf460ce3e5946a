//! The skeleton of a large message: every byte the engine reads for its verdict, with the
//! content of large leaf parts it never reads left in the [`Source`].
//!
//! The engine ([`crate::secure`]) judges the skeleton exactly as it would the whole message,
//! because only bytes it never looks at are left out, and because the skeleton is found with
//! the engine's own rules ([`Entity`] for headers, [`multipart::delimiter_tail`] for delimiter
//! lines). What is left out is the body of a leaf part that
//! - has one unambiguous Content-Type, one Content-Transfer-Encoding;
//! - is of a type the engine does not open: not multipart, message, signature, CMS or
//!   OpenPGP, not an octet-stream named `.p7m`, not a part of a multipart/encrypted (PGP/MIME
//!   ciphertext); a text part only with an identity encoding, since inline OpenPGP is looked
//!   for in text;
//! - or is ciphertext (or opaque signed data) the engine opens from the source as it reads it
//!   ([`super::Body`]): a CMS part ([`ContentType::is_cms`]), or the second part of a PGP/MIME
//!   multipart/encrypted, with an identity or base64 encoding;
//! - holds no line starting with `--` (after LF, CR or at its start): no delimiter of any
//!   boundary and no armor line can be left out, whichever structure a reader sees — but for
//!   the armor lines of PGP/MIME ciphertext, which its opener reads;
//! - is at least `min_elide` bytes.
//!
//! The line ending before the next delimiter stays (RFC 2046 gives it to the delimiter), so
//! such a part reads as an empty body. Where the engine hashes signed content, the bytes come
//! from the source instead ([`super::Origin`]). Anything the reader cannot follow (a header
//! that does not end within [`HEAD_PREFIX`], an over-long delimiter line, nesting past
//! [`MAX_DEPTH`]) is kept as it is: always the engine's own verdict, at the cost of memory.

use super::Source;
use super::tap::{Digest, Kind, Tap, micalg_kind};
use crate::mime::{ContentType, Entity, multipart};
use std::ops::Range;

/// How much of an entity is read to find the end of its header: the engine's own header bound
/// (`crate::mime::MAX_HEADER_BYTES`, 1 MiB) and room for the line that ends it.
pub const HEAD_PREFIX: u64 = (1 << 20) + (64 << 10);

/// Nesting followed, as the engine's walk (deeper is kept whole).
pub const MAX_DEPTH: usize = 16;

/// Entities followed in all, as many as the engine's walk reads (`Limits::max_parts`); past
/// that the rest is kept as it is, and the engine reports the limit. Each entity costs a few
/// reads, so millions of empty parts must not each be followed.
pub const MAX_ENTITIES: usize = 10_000;

/// The longest delimiter line followed (transport padding included); a longer one keeps the
/// multipart whole.
const MAX_LINE: u64 = 64 << 10;

/// A stretch of the source left out: at skeleton offset `at`, source bytes `src`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elision {
    /// Where in the skeleton the stretch would be.
    pub at: usize,
    /// The stretch, in the source.
    pub src: Range<u64>,
}

/// The skeleton and where its left-out stretches are.
#[derive(Debug)]
pub struct Skeleton {
    /// What the engine reads.
    pub bytes: Vec<u8>,
    /// The stretches left out, in order.
    pub elisions: Vec<Elision>,
    /// Digests of signed content taken while its structure was read ([`super::tap`]).
    pub digests: Vec<Digest>,
}

/// Builds the skeleton of the message in `source`, leaving out leaf bodies of at least
/// `min_elide` bytes. `None` when the top-level header cannot be read as a message header
/// (the caller reads the message whole, and the engine says what is wrong with it).
pub fn build(source: &Source, min_elide: u64) -> std::io::Result<Option<Skeleton>> {
    let mut b = Builder::new(source, min_elide);
    if !b.entity(0..source.len(), 0, true, None, Role::Plain)? {
        return Ok(None);
    }
    Ok(Some(Skeleton {
        bytes: b.out,
        elisions: b.elisions,
        digests: b.digests,
    }))
}

/// [`build`] for a MIME entity that is not a whole message (the plaintext of an encrypted
/// layer): its header may be empty, as [`Entity::part`] reads it.
pub fn build_part(source: &Source, min_elide: u64) -> std::io::Result<Skeleton> {
    let mut b = Builder::new(source, min_elide);
    b.entity(0..source.len(), 0, false, None, Role::Plain)?;
    Ok(Skeleton {
        bytes: b.out,
        elisions: b.elisions,
        digests: b.digests,
    })
}

struct Builder<'s> {
    src: &'s Source,
    out: Vec<u8>,
    elisions: Vec<Elision>,
    min: u64,
    /// The one read window, handed from scan to scan: a fresh buffer for each would cost a
    /// fresh, zeroed mapping each time.
    window: Vec<u8>,
    /// Entities followed so far.
    entities: usize,
    digests: Vec<Digest>,
}

impl<'s> Builder<'s> {
    fn new(src: &'s Source, min: u64) -> Builder<'s> {
        Builder {
            src,
            out: Vec::new(),
            elisions: Vec::new(),
            min,
            window: Vec::new(),
            entities: 0,
            digests: Vec::new(),
        }
    }

    /// Adds the entity in `r`. False only for a top-level entity without a header.
    /// `dash` says whether a line of it starts with `--`, when a scan of its multipart found
    /// out (else the body is scanned for it here). `role`: where in its multipart it is.
    fn entity(
        &mut self,
        r: Range<u64>,
        depth: usize,
        message: bool,
        dash: Option<bool>,
        role: Role,
    ) -> std::io::Result<bool> {
        let pgp_data = role == Role::PgpData;
        self.entities += 1;
        if self.entities > MAX_ENTITIES {
            return self.copy(r).map(|()| true);
        }
        // Most headers end within a few KiB: read more only when this one does not.
        let short = (r.end - r.start).min(16 << 10);
        let mut prefix = self.src.read_range(r.start..r.start + short)?;
        // Still open: not over the engine's limits, not ended on a whole line (or not yet
        // readable as a message header: its first line may be cut).
        let open = |p: &[u8]| {
            let e = match message {
                true => Entity::message(p).ok(),
                false => Some(Entity::part(p)),
            };
            e.is_none_or(|e| !e.truncated && !header_ended(&e, p))
        };
        if short < r.end - r.start && open(&prefix) {
            let long = (r.end - r.start).min(HEAD_PREFIX);
            prefix = self.src.read_range(r.start..r.start + long)?;
        }
        let whole = prefix.len() as u64 == r.end - r.start;
        let ent = match message {
            true => match Entity::message(&prefix) {
                Ok(e) => e,
                Err(_) if depth == 0 => return Ok(false),
                Err(_) => return self.copy(r).map(|()| true),
            },
            false => Entity::part(&prefix),
        };
        let header_end = ent.raw().len() - ent.body().len();
        // The header must have ended within the prefix on a whole line, as it would in the
        // whole entity; otherwise it is kept as it is. So is one over the engine's header
        // limits: the engine reports that (what follows the limit would read as body).
        let settled = !ent.truncated && (whole || header_ended(&ent, &prefix));
        if !settled || depth > MAX_DEPTH {
            return self.copy(r).map(|()| true);
        }
        self.out.extend_from_slice(&prefix[..header_end]);
        let body = r.start + header_end as u64..r.end;
        let ambiguous = ent.count("Content-Type") > 1
            || ent.count("Content-Transfer-Encoding") > 1
            || ent
                .first("Content-Type")
                .is_some_and(|f| ContentType::ambiguity(ent.raw_value(f)).is_some());
        if ambiguous {
            return self.copy(body).map(|()| true);
        }
        let ct = match ent.first("Content-Type") {
            // RFC 2046 §5.1.5: a message, as the walk that brings a message to 7 bit reads it
            // (crate::mime::transfer): never a leaf left out.
            None if role == Role::DigestPart => ContentType {
                mime: "message/rfc822".into(),
                params: Vec::new(),
            },
            _ => ent.content_type(),
        };
        let cte = ent.transfer_encoding();
        drop(prefix);
        if ct.mime.starts_with("multipart/") {
            match ct.param("boundary") {
                Some(b) => {
                    let encrypted = match ct.mime == "multipart/encrypted" {
                        true => Some(ct.is_pgp_encrypted()),
                        false => None,
                    };
                    // Signed content is hashed as its structure is read.
                    let tap = match (ct.mime.as_str(), ct.protocol(), ct.param("micalg")) {
                        ("multipart/signed", Some(p), Some(m)) => micalg_kind(&p, m),
                        _ => None,
                    };
                    self.multipart(
                        body,
                        b,
                        depth,
                        (encrypted, ct.mime == "multipart/digest"),
                        tap,
                    )?
                }
                None => self.copy(body)?,
            }
        } else if ct.mime == "message/rfc822" && identity(&cte) {
            self.entity(body, depth + 1, true, None, Role::Plain)?;
        } else if (leaves_unread(&ct, &cte)
            || (pgp_data || ct.is_cms()) && (identity(&cte) || cte == "base64"))
            && body.end - body.start >= self.min.max(1)
            && !match dash {
                Some(d) => d,
                None => self.has_dash_line(body.clone(), pgp_data)?,
            }
        {
            self.elisions.push(Elision {
                at: self.out.len(),
                src: body,
            });
        } else {
            self.copy(body)?;
        }
        Ok(true)
    }

    /// A multipart body, split as [`multipart::split`] splits it: the text between parts as
    /// it is, each part as an entity. `encrypted`: a multipart/encrypted, and whether of
    /// PGP/MIME.
    fn multipart(
        &mut self,
        body: Range<u64>,
        boundary: &str,
        depth: usize,
        (encrypted, digest): (Option<bool>, bool),
        tap: Option<Kind>,
    ) -> std::io::Result<()> {
        match self.split(body.clone(), boundary, tap)? {
            Some(parts) => {
                let mut pos = body.start;
                for (i, p) in parts.iter().enumerate() {
                    self.copy(pos..p.range.start)?;
                    // The parts of a multipart/encrypted are read whole, whatever their type,
                    // but for PGP/MIME ciphertext (the second part, RFC 3156 §4), whose
                    // opener reads it from the source; its armor lines are looked at again.
                    let pgp_data = encrypted == Some(true) && i == 1;
                    let dash = match (encrypted, p.dash) {
                        _ if pgp_data => (!p.dash).then_some(false),
                        (Some(_), _) => Some(true),
                        (None, d) => Some(d),
                    };
                    let role = match (pgp_data, digest) {
                        (true, _) => Role::PgpData,
                        (false, true) => Role::DigestPart,
                        (false, false) => Role::Plain,
                    };
                    self.entity(p.range.clone(), depth + 1, false, dash, role)?;
                    pos = p.range.end;
                }
                self.copy(pos..body.end)
            }
            None => self.copy(body),
        }
    }

    /// The part ranges of [`multipart::split`] over `body` in the source, each with whether
    /// a line in it starts with `--`; `None` where that cannot be followed here (a bad
    /// boundary, an over-long delimiter line). One scan finds both: every delimiter line is a
    /// line that starts with `--`.
    /// With `tap`, the first part is hashed as it is read ([`super::tap`]).
    fn split(
        &mut self,
        body: Range<u64>,
        boundary: &str,
        tap: Option<Kind>,
    ) -> std::io::Result<Option<Vec<Part>>> {
        if boundary.is_empty() || boundary.len() > 70 {
            return Ok(None);
        }
        let window = std::mem::take(&mut self.window);
        let mut scan = Scan::new(self.src, b"--", body.clone(), window);
        scan.tap = tap.map(Tap::new);
        let found = self.split_with(&mut scan, body, boundary);
        self.window = scan.buf;
        self.digests.extend(scan.digest);
        found
    }

    fn split_with(
        &self,
        scan: &mut Scan<'_>,
        body: Range<u64>,
        boundary: &str,
    ) -> std::io::Result<Option<Vec<Part>>> {
        let delim = format!("--{boundary}");
        let mut parts = Vec::new();
        let mut start: Option<u64> = None;
        let mut dash = false;
        while let Some(at) = scan.next()? {
            scan.from = at + 1;
            let before = match at == body.start {
                true => b'\n',
                false => scan.byte(at - 1)?,
            };
            if !matches!(before, b'\n' | b'\r') {
                continue;
            }
            // As multipart::split: `--boundary` after an LF (or at the start), then the rest
            // of its line as delimiter_tail says.
            let line = match scan.peek(at) {
                Some(l) => std::borrow::Cow::Borrowed(l),
                None => match self.line(at, body.end)? {
                    Some(l) => std::borrow::Cow::Owned(l),
                    None => return Ok(None),
                },
            };
            let tail = match (before, line.strip_prefix(delim.as_bytes())) {
                (b'\n', Some(t)) => multipart::delimiter_tail(t),
                _ => None,
            };
            let Some((close, len)) = tail else {
                dash = true;
                continue;
            };
            let line_end = at + (delim.len() + len) as u64;
            if parts.len() + self.entities >= MAX_ENTITIES {
                return Ok(None);
            }
            if let Some(s) = start {
                let mut end = at;
                if end > s && scan.byte(end - 1)? == b'\n' {
                    end -= 1;
                    if end > s && scan.byte(end - 1)? == b'\r' {
                        end -= 1;
                    }
                }
                if let Some(mut t) = scan.tap.take() {
                    t.see(&scan.buf[..scan.n], scan.win, at);
                    scan.digest = t.finish(end.max(s));
                }
                parts.push(Part {
                    range: s..end.max(s),
                    dash,
                });
            }
            if close {
                return Ok(Some(parts));
            }
            if let (None, Some(t)) = (start, scan.tap.as_mut()) {
                t.begin(line_end, &scan.buf[..scan.n], scan.win);
            }
            start = Some(line_end);
            dash = false;
            scan.from = line_end;
        }
        if let Some(s) = start {
            parts.push(Part {
                range: s..body.end,
                dash,
            });
        }
        Ok(Some(parts))
    }

    /// The rest of the line at `pos` (to its LF, or to `end`); `None` past [`MAX_LINE`].
    fn line(&self, pos: u64, end: u64) -> std::io::Result<Option<Vec<u8>>> {
        let mut want = 1024;
        loop {
            let stop = (pos + want).min(end);
            let tail = self.src.read_range(pos..stop)?;
            if stop == end || memchr::memchr(b'\n', &tail).is_some() {
                return Ok(Some(tail));
            }
            if want >= MAX_LINE {
                return Ok(None);
            }
            want *= 8;
        }
    }

    /// True when a line of `body` starts with `--` (after LF, CR, or at its start); with
    /// `armor`, but for the BEGIN and END lines of an armored OpenPGP message.
    fn has_dash_line(&mut self, body: Range<u64>, armor: bool) -> std::io::Result<bool> {
        let window = std::mem::take(&mut self.window);
        let mut scan = Scan::new(self.src, b"--", body.clone(), window);
        let mut dash = || -> std::io::Result<bool> {
            while let Some(at) = scan.next()? {
                if (at == body.start || matches!(scan.byte(at - 1)?, b'\n' | b'\r'))
                    && (!armor || !self.armor_line(&scan, at, body.end)?)
                {
                    return Ok(true);
                }
                scan.from = at + 1;
            }
            Ok(false)
        };
        let found = dash();
        self.window = scan.buf;
        found
    }

    /// True when the line at `at` is an armor line of an OpenPGP message (RFC 4880 §6.2),
    /// with nothing after it but white space.
    fn armor_line(&self, scan: &Scan<'_>, at: u64, end: u64) -> std::io::Result<bool> {
        let line = match scan.peek(at) {
            Some(l) => std::borrow::Cow::Borrowed(l),
            None => match self.line(at, end)? {
                Some(l) => std::borrow::Cow::Owned(l),
                None => return Ok(false),
            },
        };
        let armor = [
            &b"-----BEGIN PGP MESSAGE-----"[..],
            &b"-----END PGP MESSAGE-----"[..],
        ];
        Ok(armor.iter().any(|a| {
            line.strip_prefix(*a)
                .is_some_and(|rest| rest.iter().all(u8::is_ascii_whitespace))
        }))
    }

    /// Appends `r` of the source, read straight into the skeleton.
    fn copy(&mut self, r: Range<u64>) -> std::io::Result<()> {
        let n = usize::try_from(r.end.saturating_sub(r.start))
            .map_err(|_| std::io::Error::other("range too large"))?;
        let at = self.out.len();
        self.out.resize(at + n, 0);
        self.src.read_at(r.start, &mut self.out[at..])
    }
}

/// The matches of a needle in a range of the source, read through one window of
/// [`super::source::CHUNK`] bytes; successive windows overlap by the needle's length less one,
/// so a match across two is found. The caller moves [`Scan::from`] past what it has seen.
struct Scan<'s> {
    src: &'s Source,
    finder: memchr::memmem::Finder<'s>,
    buf: Vec<u8>,
    /// The source offset of `buf[0]`, and how much of `buf` holds data.
    win: u64,
    n: usize,
    /// Where the next search starts, and where the range ends.
    from: u64,
    end: u64,
    /// Sees every window before it is replaced, and what it yielded.
    tap: Option<Tap>,
    digest: Option<Digest>,
}

impl<'s> Scan<'s> {
    fn new(src: &'s Source, needle: &'s [u8], r: Range<u64>, mut buf: Vec<u8>) -> Scan<'s> {
        buf.resize(super::source::CHUNK, 0);
        Scan {
            src,
            finder: memchr::memmem::Finder::new(needle),
            buf,
            win: r.start,
            n: 0,
            from: r.start,
            end: r.end,
            tap: None,
            digest: None,
        }
    }

    /// The next match at or after [`Scan::from`].
    fn next(&mut self) -> std::io::Result<Option<u64>> {
        let overlap = self.finder.needle().len().saturating_sub(1) as u64;
        loop {
            let wend = self.win + self.n as u64;
            // A refilled window may start before `from` (the overlap) or after it (when the
            // previous one ended within a needle's length of it).
            let s = self.from.max(self.win);
            if s < wend {
                let i = usize::try_from(s - self.win).unwrap_or(self.n);
                if let Some(j) = self.finder.find(&self.buf[i..self.n]) {
                    return Ok(Some(s + j as u64));
                }
            }
            if wend >= self.end && self.n > 0 || self.from >= self.end {
                return Ok(None);
            }
            let start = self.from.max(wend.saturating_sub(overlap));
            if start >= self.end {
                return Ok(None);
            }
            if let Some(t) = self.tap.as_mut() {
                t.see(&self.buf[..self.n], self.win, wend);
            }
            let n =
                usize::try_from(self.end - start).map_or(self.buf.len(), |n| n.min(self.buf.len()));
            self.src.read_at(start, &mut self.buf[..n])?;
            self.win = start;
            self.n = n;
        }
    }

    /// The line at `at` (to its LF) when the window holds all of it.
    fn peek(&self, at: u64) -> Option<&[u8]> {
        let i = usize::try_from(at.checked_sub(self.win)?).ok()?;
        let rest = self.buf.get(i..self.n)?;
        match memchr::memchr(b'\n', rest) {
            Some(j) => Some(&rest[..=j]),
            None if self.win + self.n as u64 >= self.end => Some(rest),
            None => None,
        }
    }

    /// The byte at `at`, from the window when it holds it.
    fn byte(&self, at: u64) -> std::io::Result<u8> {
        if at >= self.win && at < self.win + self.n as u64 {
            return Ok(self.buf[usize::try_from(at - self.win).unwrap_or(0)]);
        }
        let mut b = [0];
        self.src.read_at(at, &mut b)?;
        Ok(b[0])
    }
}

/// A body part of a multipart in the source, and whether a line in it starts with `--`.
struct Part {
    range: Range<u64>,
    dash: bool,
}

/// True when the header of `e`, read from `prefix`, ended on a whole line within it: the line
/// after the header is there to its LF, so reading more could not change where it ends.
fn header_ended(e: &Entity<'_>, prefix: &[u8]) -> bool {
    let end = e.raw().len() - e.body().len();
    end < prefix.len() && memchr::memchr(b'\n', &prefix[end..]).is_some()
}

/// Where an entity is in its multipart.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    /// The ciphertext part of a PGP/MIME multipart/encrypted.
    PgpData,
    /// A part of a multipart/digest.
    DigestPart,
}

/// The identity transfer encodings: the body is the content.
fn identity(cte: &str) -> bool {
    matches!(cte, "7bit" | "8bit" | "binary")
}

/// True for a leaf whose content the engine never reads (see the module documentation).
fn leaves_unread(ct: &ContentType, cte: &str) -> bool {
    let m = ct.mime.as_str();
    if m.starts_with("multipart/") || m.starts_with("message/") {
        return false;
    }
    if m.starts_with("text/") {
        return identity(cte);
    }
    match m.strip_prefix("application/") {
        Some("octet-stream") => !ct
            .param("name")
            .is_some_and(|n| n.to_ascii_lowercase().ends_with(".p7m")),
        Some(sub) => {
            !(sub.starts_with("pkcs7") || sub.starts_with("x-pkcs7") || sub.starts_with("pgp"))
        }
        None => true,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn skeleton_of(msg: &[u8], min: u64) -> Option<Skeleton> {
        let src = Source::spool(msg, &mut std::io::empty(), u64::MAX - 1).unwrap();
        build(&src, min).unwrap()
    }

    /// The skeleton with every left-out stretch put back.
    fn restore(s: &Skeleton, msg: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut pos = 0;
        for e in &s.elisions {
            out.extend_from_slice(&s.bytes[pos..e.at]);
            out.extend_from_slice(&msg[e.src.start as usize..e.src.end as usize]);
            pos = e.at;
        }
        out.extend_from_slice(&s.bytes[pos..]);
        out
    }

    fn corpus() -> Vec<Vec<u8>> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let mut files = Vec::new();
        let mut dirs = vec![root.join("messages"), root.join("golden")];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "eml") {
                    files.push(std::fs::read(p).unwrap());
                }
            }
        }
        assert!(files.len() > 10, "the test corpus is there");
        files
    }

    use proptest::prelude::*;

    /// Lines an attacker or a mail client might put in a body.
    const LINES: &[&str] = &[
        "hello world",
        "--",
        "-- ",
        "--b",
        "--b--",
        "--c",
        "a--b",
        "x\r--b",
        "-----BEGIN PGP SIGNED MESSAGE-----",
        "-----BEGIN PGP MESSAGE-----",
        "From: mallory@example.org",
        "Content-Type: text/plain",
        "",
        " ",
        "aGVsbG8=",
    ];
    const TYPES: &[&str] = &[
        "text/plain",
        "text/html; charset=utf-8",
        "image/png",
        "application/octet-stream",
        "application/octet-stream; name=x.p7m",
        "application/pdf",
        "application/pgp-signature",
        "application/pkcs7-signature",
        "application/pkcs7-mime",
        "text/plain (comment)",
        "text/plain\r\nContent-Transfer-Encoding: base64",
        "text/plain\r\nContent-Transfer-Encoding: quoted-printable",
    ];
    const MULTI: &[&str] = &[
        "multipart/mixed",
        "multipart/signed; micalg=sha-256; protocol=\"application/pkcs7-signature\"",
        "multipart/signed; micalg=pgp-sha256; protocol=\"application/pgp-signature\"",
        "multipart/encrypted; protocol=\"application/pgp-encrypted\"",
        "multipart/alternative",
    ];

    fn entity() -> impl Strategy<Value = String> {
        let leaf = (
            prop::sample::select(TYPES),
            prop::collection::vec(prop::sample::select(LINES), 0..6),
        )
            .prop_map(|(t, lines)| format!("Content-Type: {t}\n\n{}", lines.join("\n")));
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                (
                    prop::sample::select(MULTI),
                    prop::sample::select(&["b", "c", "b1"][..]),
                    prop::collection::vec(inner.clone(), 0..4),
                    any::<bool>(),
                    prop::sample::select(LINES),
                )
                    .prop_map(|(t, b, parts, close, pre)| {
                        let mut m = format!("Content-Type: {t}; boundary=\"{b}\"\n\n{pre}\n");
                        for p in parts {
                            m.push_str(&format!("--{b}\n{p}\n"));
                        }
                        if close {
                            m.push_str(&format!("--{b}--\nepilogue\n"));
                        }
                        m
                    }),
                inner.prop_map(|e| format!(
                    "Content-Type: message/rfc822\n\nFrom: a@example.org\n{e}"
                )),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        /// Whatever the structure: the skeleton plus its stretches is the message, and the
        /// engine judges the skeleton as it judges the whole message.
        #[test]
        fn a_skeleton_is_judged_as_its_message(e in entity(), crlf in any::<bool>()) {
            let mut m = format!("From: alice@example.org\nMIME-Version: 1.0\n{e}").into_bytes();
            if crlf {
                m = crate::message::eol::to_crlf(&m).into_owned();
            }
            let src = Source::spool(&m, &mut std::io::empty(), u64::MAX - 1).unwrap();
            let s = build(&src, 0).unwrap().unwrap();
            prop_assert_eq!(restore(&s, &m), m.clone());
            for d in &s.digests {
                let part = &m[d.range.start as usize..d.range.end as usize];
                match &d.value {
                    super::super::tap::Value::Smime { nid, digest } => {
                        let want = crate::message::eol::to_crlf(part);
                        let md = openssl::hash::MessageDigest::from_nid(*nid).unwrap();
                        prop_assert_eq!(digest, &openssl::hash::hash(md, &want).unwrap().to_vec());
                    }
                    super::super::tap::Value::Pgp { algo, context } => {
                        let mut want = algo.context().unwrap().for_signature(4);
                        crate::pgp::hash_canonical(&mut want, part);
                        let (mut a, mut b) = (vec![0; 64], vec![0; 64]);
                        context.clone().digest(&mut a).unwrap();
                        want.digest(&mut b).unwrap();
                        prop_assert_eq!(a, b);
                    }
                }
            }
            let keys = crate::secure::Keys::default();
            let whole = crate::secure::verify(&m, &keys, 0).unwrap();
            let origin = std::sync::Arc::new(super::super::Origin { source: src, elisions: s.elisions, min_elide: 0, digests: s.digests });
            let skel = super::super::with_origin(&s.bytes, Some(&origin), || {
                crate::secure::verify(&s.bytes, &keys, 0).unwrap()
            })
            .unwrap();
            prop_assert_eq!(format!("{:?}", skel.findings), format!("{:?}", whole.findings));
            prop_assert_eq!(format!("{:?}", skel.signature), format!("{:?}", whole.signature));
            prop_assert_eq!(format!("{:?}", skel.encryption), format!("{:?}", whole.encryption));
        }
    }

    #[test]
    fn every_corpus_message_is_its_skeleton_and_stretches() {
        let mut left_out = 0;
        for msg in corpus() {
            for m in [msg.clone(), crate::message::eol::to_crlf(&msg).into_owned()] {
                let Some(s) = skeleton_of(&m, 0) else {
                    continue;
                };
                assert_eq!(restore(&s, &m), m);
                left_out += s.elisions.len();
            }
        }
        assert!(left_out >= 4, "leaf bodies were left out ({left_out})");
    }

    fn signed(body: &str) -> String {
        format!(
            "From: a@example.org\r\nContent-Type: multipart/signed; boundary=\"b\"; \
             protocol=\"application/pkcs7-signature\"\r\n\r\npreamble\r\n--b\r\n\
             Content-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n\
             Content-Type: text/plain\r\n\r\n{body}\r\n--c\r\n\
             Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\niVBOR\r\nw0KG\r\n\
             --c--\r\n--b\r\nContent-Type: application/pkcs7-signature\r\n\r\nMIIB\r\n--b--\r\n"
        )
    }

    #[test]
    fn leaves_out_only_unread_leaf_bodies() {
        let m = signed("hello\r\nworld");
        let s = skeleton_of(m.as_bytes(), 0).unwrap();
        let text = String::from_utf8(s.bytes.clone()).unwrap();
        assert!(!text.contains("hello") && !text.contains("iVBOR"), "{text}");
        for kept in ["preamble", "--c--", "MIIB", "image/png", "--b--"] {
            assert!(text.contains(kept), "{kept} in {text}");
        }
        assert_eq!(s.elisions.len(), 2);
        // A line starting with `--` (armor, a delimiter of another reader) keeps its leaf.
        for body in [
            "-----BEGIN PGP MESSAGE-----\r\nx",
            "a\r--b\r\nx",
            "--c-not\r\nx",
        ] {
            let m = signed(body);
            let s = skeleton_of(m.as_bytes(), 0).unwrap();
            let text = String::from_utf8_lossy(&s.bytes);
            assert!(text.contains(body), "{body:?} kept in {text}");
        }
        // Small bodies stay.
        let s = skeleton_of(m.as_bytes(), 1000).unwrap();
        assert!(s.elisions.is_empty());
    }

    #[test]
    fn read_or_ambiguous_leaves_stay() {
        for ct in [
            "text/plain\r\nContent-Transfer-Encoding: base64",
            "application/pgp-encrypted",
            "application/pkcs7-mime\r\nContent-Transfer-Encoding: quoted-printable",
            "message/rfc822\r\nContent-Transfer-Encoding: base64",
            "image/png (c)",
            "image/png\r\nContent-Type: image/gif",
        ] {
            let m = format!("From: a@example.org\r\nContent-Type: {ct}\r\n\r\nbody text\r\n");
            let s = skeleton_of(m.as_bytes(), 0).unwrap();
            assert!(s.elisions.is_empty(), "{ct}");
            assert_eq!(s.bytes, m.as_bytes());
        }
        assert!(skeleton_of(b" no header\r\n\r\nx", 0).is_none());
        let m = "From: a@example.org\r\nContent-Type: multipart/encrypted; boundary=b; \
                 protocol=\"application/pgp-encrypted\"\r\n\r\n--b\r\n\
                 Content-Type: image/png\r\n\r\nversion\r\n--b\r\n\
                 Content-Type: application/octet-stream\r\n\r\nciphertext\r\n--b--\r\n";
        let s = skeleton_of(m.as_bytes(), 0).unwrap();
        assert_eq!(
            s.elisions.len(),
            1,
            "only the ciphertext of multipart/encrypted"
        );
        assert!(String::from_utf8_lossy(&s.bytes).contains("version"));
        let m = "From: a@example.org\r\nContent-Type: application/octet-stream\r\n\r\nzip\r\n";
        assert_eq!(skeleton_of(m.as_bytes(), 0).unwrap().elisions.len(), 1);
    }

    /// Ciphertext and opaque signed data are read by their openers from the source
    /// (`crate::stream::Body`); armor lines may be left out with them, nothing else that
    /// starts with `--`.
    #[test]
    fn ciphertext_is_left_to_its_opener() {
        for ct in [
            "application/octet-stream; name=\"smime.P7M\"",
            "application/pkcs7-mime",
            "application/x-pkcs7-mime\r\nContent-Transfer-Encoding: base64",
        ] {
            let m = format!("From: a@example.org\r\nContent-Type: {ct}\r\n\r\nMIAGCSqG\r\n");
            assert_eq!(
                skeleton_of(m.as_bytes(), 0).unwrap().elisions.len(),
                1,
                "{ct}"
            );
        }
        let pgp = |data: &str, other: &str| {
            format!(
                "From: a@example.org\r\nContent-Type: multipart/encrypted; boundary=b; \
                 protocol=\"application/pgp-encrypted\"\r\n\r\n--b\r\n\
                 Content-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n--b\r\n\
                 Content-Type: application/octet-stream\r\n\r\n{data}\r\n--b\r\n\
                 Content-Type: text/plain\r\n\r\n{other}\r\n--b--\r\n"
            )
        };
        let armored =
            "-----BEGIN PGP MESSAGE-----\r\n\r\nhQEM\r\n=abcd\r\n-----END PGP MESSAGE-----";
        let s = skeleton_of(pgp(armored, "x").as_bytes(), 0).unwrap();
        assert_eq!(s.elisions.len(), 1, "the armored ciphertext only");
        for data in [
            "-----BEGIN PGP MESSAGE-----\r\n--c\r\n-----END PGP MESSAGE-----",
            "-----BEGIN PGP MESSAGE----- trailing\r\n-----END PGP MESSAGE-----",
            "-----BEGIN PGP SIGNATURE-----\r\nx",
        ] {
            let s = skeleton_of(pgp(data, "x").as_bytes(), 0).unwrap();
            assert!(s.elisions.is_empty(), "{data:?}");
        }
        // Other protocols' parts, and parts past the second, stay.
        let m = pgp(armored, "x").replace("application/pgp-encrypted\"", "application/x-other\"");
        assert!(skeleton_of(m.as_bytes(), 0).unwrap().elisions.is_empty());
    }
}
