//! Protecting a large message in bounded memory (issue 13).
//!
//! `protect` signs and encrypts with the same code for every size: the functions of
//! [`crate::smime`] and [`crate::pgp`] build their output as bytes, and read the content they
//! hash or encrypt through a [`Content`]. For a message held whole that is the bytes
//! themselves ([`Whole`]). For a large one ([`Splice`]) each large leaf body of its
//! [skeleton](super::skeleton) is replaced by a short *hole* token, a line of letters and
//! digits that occurs nowhere else; the same code then plans, copies header fields, brings
//! the message to 7 bit and assembles the output around the tokens, and wherever it hashes or
//! encrypts the content, [`Content::feed`] hands it the bytes a token stands for, read from
//! the source in chunks. A large output (ciphertext) goes to a [`Spool`] and is a hole of its
//! own. The bytes written at the end ([`Splice::write`]) have every hole filled in.
//!
//! Why this gives the in-memory output byte for byte: a body becomes a hole only when it is
//! 7-bit safe in the strictest sense (its lines are what [`crate::mime::transfer`]'s rule
//! accepts, and a CR occurs only before an LF), so every 7-bit decision over a range holding
//! it is the same with the token there (the token is a safe line too), and the conversions
//! between line-ending conventions ([`crate::message::eol`]) act on it alone as they act on
//! it in place: it starts a line and ends one, and holds no CR of its own to pair.
//!
//! A body that is not that safe must be re-encoded (quoted-printable or base64) by the same
//! code: it stays in memory. Each source body is hashed when first read; a later read that
//! finds other bytes (a file changed meanwhile) is an error, never a signature over bytes
//! other than those written.

use super::skeleton::Skeleton;
use super::{Crlf, Source, Spool};
use crate::error::{Error, Result};
use crate::message::eol::Eol;
use std::cell::RefCell;
use std::io::Write;
use std::ops::Range;

/// How protecting code reads the content it hashes or encrypts, and where a large output of
/// its goes.
pub trait Content {
    /// Hands `f` the bytes `data` stands for, in order, in chunks.
    fn feed(&self, data: &[u8], f: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()>;

    /// True when `needle` (which holds no line ending) occurs in the bytes `data` stands for.
    fn contains(&self, data: &[u8], needle: &[u8]) -> Result<bool>;

    /// A spool for a large output, or `None`: build it in memory.
    fn spool(&self) -> Result<Option<Spool>>;

    /// The bytes that stand for what was written to `spool` (CRLF, as the output it replaces).
    fn place(&self, spool: Spool) -> Result<Vec<u8>>;
}

/// A message held whole: its bytes are what they are.
#[derive(Debug, Default, Clone, Copy)]
pub struct Whole;

impl Content for Whole {
    fn feed(&self, data: &[u8], f: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        f(data)
    }

    fn contains(&self, data: &[u8], needle: &[u8]) -> Result<bool> {
        Ok(memchr::memmem::find(data, needle).is_some())
    }

    fn spool(&self) -> Result<Option<Spool>> {
        Ok(None)
    }

    fn place(&self, _spool: Spool) -> Result<Vec<u8>> {
        Err(Error::Io(std::io::Error::other(
            "a message held whole has no spool",
        )))
    }
}

enum Hole {
    /// A body in the source: strictly 7-bit safe, with the SHA-256 of its bytes as first read.
    Source { range: Range<u64>, digest: [u8; 32] },
    /// An output written to a spool, CRLF.
    Spool(Source),
}

/// A large message: its skeleton with hole tokens, and what the holes stand for.
pub struct Splice {
    source: Source,
    /// `ximf-hole-<nonce>-`: a token is this, the hole's index and a dot.
    prefix: Vec<u8>,
    holes: RefCell<Vec<Hole>>,
}

impl Splice {
    /// The message in `source`, of which `skeleton` was built: the bytes to protect (the
    /// skeleton with a token for each large body that is strictly 7-bit safe, the others read
    /// in), and the splice that fills the tokens in. Reads every left-out body once.
    pub fn new(source: Source, skeleton: Skeleton) -> std::io::Result<(Splice, Vec<u8>)> {
        // The nonce comes from the content (no hidden RNG, style.md §2); it must not occur in
        // the skeleton (a message carrying another's tokens), which the loop sees to.
        let mut prefix = Vec::new();
        for n in 0u32.. {
            let mut h = openssl::sha::Sha256::new();
            h.update(&skeleton.bytes);
            h.update(&n.to_be_bytes());
            let hex: String = h.finish()[..8].iter().map(|b| format!("{b:02x}")).collect();
            prefix = format!("ximf-hole-{hex}-").into_bytes();
            if memchr::memmem::find(&skeleton.bytes, &prefix).is_none() {
                break;
            }
        }
        let splice = Splice {
            source,
            prefix,
            holes: RefCell::new(Vec::new()),
        };
        let mut out = Vec::with_capacity(skeleton.bytes.len() + 64 * skeleton.elisions.len());
        let mut pos = 0;
        for e in &skeleton.elisions {
            out.extend_from_slice(&skeleton.bytes[pos..e.at]);
            pos = e.at;
            let mut scan = SevenBitScan::default();
            let mut sha = openssl::sha::Sha256::new();
            splice.source.for_each_chunk(e.src.clone(), |c| {
                scan.update(c);
                sha.update(c);
                Ok(())
            })?;
            if scan.finish() {
                out.extend_from_slice(&splice.token(splice.holes.borrow().len()));
                splice.holes.borrow_mut().push(Hole::Source {
                    range: e.src.clone(),
                    digest: sha.finish(),
                });
            } else {
                // Re-encoded by the in-memory rule: held whole (issue 13 leaves a streaming
                // re-encoder for later).
                let at = out.len();
                let n = usize::try_from(e.src.end - e.src.start)
                    .map_err(|_| std::io::Error::other("range too large"))?;
                out.resize(at + n, 0);
                splice.source.read_at(e.src.start, &mut out[at..])?;
            }
        }
        out.extend_from_slice(&skeleton.bytes[pos..]);
        Ok((splice, out))
    }

    /// The number of bodies left in the source.
    pub fn holes(&self) -> usize {
        self.holes.borrow().len()
    }

    fn token(&self, i: usize) -> Vec<u8> {
        let mut t = self.prefix.clone();
        t.extend_from_slice(format!("{i}.").as_bytes());
        t
    }

    /// `data` cut at its tokens: literal stretches and hole indexes, in order.
    fn pieces<'d>(&self, data: &'d [u8]) -> Vec<Piece<'d>> {
        let mut out = Vec::new();
        let mut pos = 0;
        let holes = self.holes.borrow().len();
        for at in memchr::memmem::find_iter(data, &self.prefix) {
            if at < pos {
                continue;
            }
            let digits_at = at + self.prefix.len();
            let digits = data[digits_at..]
                .iter()
                .take_while(|b| b.is_ascii_digit())
                .count();
            let index = std::str::from_utf8(&data[digits_at..digits_at + digits])
                .ok()
                .and_then(|d| d.parse::<usize>().ok())
                .filter(|&i| i < holes && data.get(digits_at + digits) == Some(&b'.'));
            let Some(i) = index else { continue };
            out.push(Piece::Bytes(&data[pos..at]));
            out.push(Piece::Hole(i));
            pos = digits_at + digits + 1;
        }
        out.push(Piece::Bytes(&data[pos..]));
        out
    }

    /// Hands `f` the bytes of hole `i` in chunks: a source body canonicalized to CRLF (the
    /// form the in-memory path hashes and encrypts), a spool as written.
    fn hole(&self, i: usize, f: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        let holes = self.holes.borrow();
        match &holes[i] {
            Hole::Source { range, digest } => {
                let mut canon = Crlf::default();
                let mut f = |c: &[u8]| f(c);
                self.read_source(range, digest, &mut |c| canon.feed(c, &mut f))?;
                canon.finish(&mut f)
            }
            Hole::Spool(spool) => read_spool(spool, f),
        }
    }

    /// Reads a source body in chunks, failing when its bytes are not those first read.
    fn read_source(
        &self,
        range: &Range<u64>,
        digest: &[u8; 32],
        f: &mut dyn FnMut(&[u8]) -> Result<()>,
    ) -> Result<()> {
        let mut sha = openssl::sha::Sha256::new();
        let mut err = None;
        let read = self.source.for_each_chunk(range.clone(), |c| {
            sha.update(c);
            f(c).map_err(|e| {
                err = Some(e);
                std::io::Error::other("stopped")
            })
        });
        if let Some(e) = err {
            return Err(e);
        }
        read?;
        if &sha.finish() != digest {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the input changed while it was read",
            )));
        }
        Ok(())
    }

    /// Writes the protected message `data` (in the convention `eol`, as the in-memory path
    /// made it) to `w` with every hole filled in, converted to `eol` as that path converts
    /// the bytes around them; with `eol` `None` (the message as it came), as they are.
    pub fn write(&self, data: &[u8], eol: Option<Eol>, w: &mut dyn Write) -> Result<()> {
        for p in self.pieces(data) {
            match p {
                Piece::Bytes(b) => w.write_all(b)?,
                Piece::Hole(i) => {
                    let mut conv = EolWriter::new(eol, &mut *w);
                    let holes = self.holes.borrow();
                    match &holes[i] {
                        Hole::Source { range, digest } => {
                            self.read_source(range, digest, &mut |c| conv.write(c))?
                        }
                        Hole::Spool(spool) => read_spool(spool, &mut |c| conv.write(c))?,
                    }
                    conv.finish()?;
                }
            }
        }
        Ok(())
    }
}

impl Content for Splice {
    fn feed(&self, data: &[u8], f: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
        for p in self.pieces(data) {
            match p {
                Piece::Bytes([]) => {}
                Piece::Bytes(b) => f(b)?,
                Piece::Hole(i) => self.hole(i, f)?,
            }
        }
        Ok(())
    }

    fn contains(&self, data: &[u8], needle: &[u8]) -> Result<bool> {
        let mut occurs = crate::mime::transfer::Occurs::new(needle);
        self.feed(data, &mut |c| {
            occurs.update(c);
            Ok(())
        })?;
        Ok(occurs.found())
    }

    fn spool(&self) -> Result<Option<Spool>> {
        Ok(Some(Spool::new()?))
    }

    fn place(&self, spool: Spool) -> Result<Vec<u8>> {
        let spool = spool.into_source()?;
        let mut holes = self.holes.borrow_mut();
        holes.push(Hole::Spool(spool));
        Ok(self.token(holes.len() - 1))
    }
}

enum Piece<'d> {
    Bytes(&'d [u8]),
    Hole(usize),
}

/// Hands `f` a spool's bytes in chunks.
fn read_spool(spool: &Source, f: &mut dyn FnMut(&[u8]) -> Result<()>) -> Result<()> {
    let mut err = None;
    let read = spool.for_each_chunk(0..spool.len(), |c| {
        f(c).map_err(|e| {
            err = Some(e);
            std::io::Error::other("stopped")
        })
    });
    match err {
        Some(e) => Err(e),
        None => Ok(read?),
    }
}

/// Copies chunks to a writer converted to a line-ending convention ([`super::EolConvert`]), or
/// as they are.
struct EolWriter<'w> {
    /// `None`: as they are.
    conv: Option<super::EolConvert>,
    w: &'w mut dyn Write,
}

impl<'w> EolWriter<'w> {
    fn new(eol: Option<Eol>, w: &'w mut dyn Write) -> Self {
        EolWriter {
            conv: eol.map(super::EolConvert::new),
            w,
        }
    }

    fn write(&mut self, c: &[u8]) -> Result<()> {
        let w = &mut *self.w;
        match self.conv.as_mut() {
            None => Ok(w.write_all(c)?),
            Some(conv) => conv.feed(c, &mut |b: &[u8]| w.write_all(b).map_err(Error::Io)),
        }
    }

    fn finish(mut self) -> Result<()> {
        let w = &mut *self.w;
        match self.conv.as_mut() {
            None => Ok(()),
            Some(conv) => conv.finish(&mut |b: &[u8]| w.write_all(b).map_err(Error::Io)),
        }
    }
}

/// [`crate::mime::transfer::seven_bit_safe`] over chunks, and stricter: a CR anywhere but
/// before an LF fails (that rule lets a body's last line end in one, which pairs with what
/// follows the body in the message).
#[derive(Default)]
struct SevenBitScan {
    bad: bool,
    /// The length of the current line so far, its first bytes, and its last byte.
    len: usize,
    head: [u8; 5],
    last: u8,
    cr: bool,
}

impl SevenBitScan {
    fn update(&mut self, chunk: &[u8]) {
        for &b in chunk {
            if self.bad {
                return;
            }
            if self.cr && b != b'\n' {
                self.bad = true;
                return;
            }
            match b {
                b'\n' => {
                    self.bad = self.len > 0 && matches!(self.last, b' ' | b'\t');
                    self.len = 0;
                    self.cr = false;
                }
                b'\r' => self.cr = true,
                0 | 0x80.. => self.bad = true,
                _ => {
                    if self.len < 5 {
                        self.head[self.len] = b;
                        self.bad = self.len == 4 && &self.head == b"From ";
                    }
                    self.len += 1;
                    self.last = b;
                    self.bad |= self.len > 998;
                }
            }
        }
    }

    /// True when everything fed was safe.
    fn finish(&self) -> bool {
        let trailing_blank = self.len > 0 && matches!(self.last, b' ' | b'\t');
        !(self.bad || self.cr || trailing_blank)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::mime::transfer::seven_bit_safe;
    use crate::stream::skeleton::build;

    fn spooled(data: &[u8]) -> Source {
        Source::spool(data, &mut std::io::empty(), data.len() as u64).unwrap()
    }

    fn scan(data: &[u8]) -> bool {
        let mut s = SevenBitScan::default();
        for c in data.chunks(3) {
            s.update(c);
        }
        s.finish()
    }

    #[test]
    fn strict_seven_bit_is_the_rule_without_lone_crs() {
        for case in [
            &b"hello\r\nworld\r\n"[..],
            b"a\nb",
            b"trailing \r\nx",
            b"From me\n",
            b">From me\n",
            b"caf\xc3\xa9\n",
            b"ends with cr\r",
            b"lone\rcr\n",
            b"",
            b"\n\n",
            b"tab\t",
        ] {
            let strict = seven_bit_safe(case)
                && case
                    .iter()
                    .enumerate()
                    .all(|(i, &b)| b != b'\r' || case.get(i + 1) == Some(&b'\n'));
            assert_eq!(scan(case), strict, "{:?}", String::from_utf8_lossy(case));
        }
        let long = vec![b'a'; 999];
        assert!(!scan(&long));
        assert!(scan(&long[..998]));
    }

    #[test]
    fn holes_stand_for_safe_bodies_and_write_back_as_converted() {
        let body = "line one\nline two\n".repeat(50);
        let msg = format!(
            "From: a@x\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: application/octet-stream\n\n{body}\n--b\nContent-Type: application/octet-stream\n\ncaf\u{e9} {body}\n--b--\n"
        );
        let source = spooled(msg.as_bytes());
        let sk = build(&source, 16).unwrap().unwrap();
        assert_eq!(sk.elisions.len(), 2);
        let (splice, bytes) = Splice::new(source, sk).unwrap();
        assert_eq!(splice.holes(), 1, "the 8-bit body stays in memory");
        let mut fed = Vec::new();
        let crlf = crate::message::eol::to_crlf(&bytes);
        splice
            .feed(&crlf, &mut |c| {
                fed.extend_from_slice(c);
                Ok(())
            })
            .unwrap();
        assert!(fed == crate::message::eol::to_crlf(msg.as_bytes()).as_ref());
        assert!(splice.contains(&crlf, b"line two\r\nline one").unwrap());
        assert!(!splice.contains(&crlf, b"line three").unwrap());
        for eol in [Eol::Lf, Eol::Crlf] {
            let mut out = Vec::new();
            let converted = crate::message::eol::to_eol(&bytes, eol).into_owned();
            splice.write(&converted, Some(eol), &mut out).unwrap();
            assert!(out == crate::message::eol::to_eol(msg.as_bytes(), eol).as_ref());
        }
    }

    #[test]
    fn a_spool_is_a_hole_too() {
        let msg = format!("From: a@x\n\n{}", "x\n".repeat(100));
        let source = spooled(msg.as_bytes());
        let sk = build(&source, 16).unwrap().unwrap();
        let (splice, _) = Splice::new(source, sk).unwrap();
        let mut s = splice.spool().unwrap().unwrap();
        s.write_all(b"cipher\r\ntext\r\n").unwrap();
        let t = splice.place(s).unwrap();
        let mut data = b"head\n".to_vec();
        data.extend_from_slice(&t);
        data.extend_from_slice(b"\ntail\n");
        let mut out = Vec::new();
        splice.write(&data, Some(Eol::Lf), &mut out).unwrap();
        assert_eq!(out, b"head\ncipher\ntext\n\ntail\n");
    }
}
