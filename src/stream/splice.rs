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
//! Why this gives the in-memory output byte for byte: a body becomes a plain hole only when it
//! is 7-bit safe in the strictest sense (its lines are what [`crate::mime::transfer`]'s rule
//! accepts, and a CR occurs only before an LF), so every 7-bit decision over a range holding
//! it is the same with the token there (the token is a safe line too), and the conversions
//! between line-ending conventions ([`crate::message::eol`]) act on it alone as they act on
//! it in place: it starts a line and ends one, and holds no CR of its own to pair.
//!
//! A body that is not 7-bit safe (issue 13) is a hole too, one that every 7-bit decision
//! counts as unsafe: a range holding it is not safe in the whole message either, since the
//! body starts a line and its lines stay lines there. Before protecting, the message is
//! brought to 7 bit by the walk the protecting code uses ([`transfer::to_seven_bit_with`],
//! through [`Content::seven_bit`]), where such a leaf is decoded and encoded as it is read
//! from the source ([`transfer::QpDecoder`], [`super::base64_reader`],
//! [`transfer::QpEncoder`], [`transfer::Base64Encoder`]: the incremental code the whole path
//! runs over one chunk) into a spool, a hole of its own; the protecting code then finds
//! nothing left to re-encode. Without protection it is copied out as it is. Two such bodies
//! stay in memory as before: one safe but for a CR that ends it (the CR pairs with the line
//! ending after it in the message), and the 8-bit body of a message without Content-Type
//! (whose payload's default charset depends on it being ASCII).
//!
//! Each source body is hashed when first read; a later read that finds other bytes (a file
//! changed meanwhile) is an error, never a signature over bytes other than those written.

use super::skeleton::Skeleton;
use super::{Crlf, Source, Spool};
use crate::error::{Error, Result};
use crate::message::eol::Eol;
use crate::mime::transfer::{self, Leaves};
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

    /// `message` brought to 7 bit ([`transfer::seven_bit_message`], CRLF) when bodies it
    /// stands for must be re-encoded as they are read; `None`: the protecting code takes
    /// `message` as it is (and brings it to 7 bit itself).
    fn seven_bit(&self, message: &[u8]) -> Result<Option<Vec<u8>>>;
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

    fn seven_bit(&self, _message: &[u8]) -> Result<Option<Vec<u8>>> {
        Ok(None)
    }
}

enum Hole {
    /// A body in the source, with the SHA-256 of its bytes as first read; `safe`: strictly
    /// 7-bit safe, else to be re-encoded before it is signed or encrypted.
    Source {
        range: Range<u64>,
        digest: [u8; 32],
        safe: bool,
    },
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
    /// skeleton with a token for each large body but the two kinds the module documentation
    /// says, which are read in), and the splice that fills the tokens in. Reads every
    /// left-out body once.
    pub fn new(source: Source, skeleton: Skeleton) -> std::io::Result<(Splice, Vec<u8>)> {
        // The body of a message without Content-Type: its payload's charset says whether it
        // is ASCII (smime::sign::build_payload, pgp::sign::prepare).
        let untyped_body = crate::mime::Entity::message(&skeleton.bytes)
            .ok()
            .filter(|e| e.first("Content-Type").is_none())
            .map(|e| skeleton.bytes.len() - e.body().len());
        let mut segments = Vec::with_capacity(2 * skeleton.elisions.len() + 1);
        let mut holes = Vec::new();
        let mut pos = 0;
        for e in &skeleton.elisions {
            segments.push(Segment::Skeleton(pos..e.at));
            pos = e.at;
            let mut scan = transfer::SevenBitScan::default();
            let mut ascii = true;
            let mut sha = openssl::sha::Sha256::new();
            source.for_each_chunk(e.src.clone(), |c| {
                scan.update(c);
                ascii &= c.is_ascii();
                sha.update(c);
                Ok(())
            })?;
            // A CR may end a safe body; the CRLF conversions pair it with what follows.
            let safe = strictly_safe(&scan);
            let held = match scan.finish() {
                true => !safe,
                false => !ascii && untyped_body == Some(e.at),
            };
            if held {
                let n = usize::try_from(e.src.end - e.src.start)
                    .map_err(|_| std::io::Error::other("range too large"))?;
                let mut body = vec![0; n];
                source.read_at(e.src.start, &mut body)?;
                segments.push(Segment::Held(body));
                continue;
            }
            segments.push(Segment::Hole(holes.len()));
            holes.push(Hole::Source {
                range: e.src.clone(),
                digest: sha.finish(),
                safe,
            });
        }
        segments.push(Segment::Skeleton(pos..skeleton.bytes.len()));
        // The nonce comes from the content (no hidden RNG, style.md §2). Its prefix must occur
        // in the bytes to protect at the tokens only: not in the skeleton (a message carrying
        // another's tokens), and not in a body read in (whose nonce its writer could work out
        // from the skeleton, and so have it stand for another body).
        for n in 0u32.. {
            let mut h = openssl::sha::Sha256::new();
            h.update(&skeleton.bytes);
            h.update(&n.to_be_bytes());
            let hex: String = h.finish()[..8].iter().map(|b| format!("{b:02x}")).collect();
            let prefix = format!("ximf-hole-{hex}-").into_bytes();
            let mut out = Vec::with_capacity(skeleton.bytes.len() + 64 * holes.len());
            for s in &segments {
                match s {
                    Segment::Skeleton(r) => out.extend_from_slice(&skeleton.bytes[r.clone()]),
                    Segment::Held(body) => out.extend_from_slice(body),
                    Segment::Hole(i) => out.extend_from_slice(&token(&prefix, *i)),
                }
            }
            // A token holds the prefix once, and no occurrence can overlap one (`x` is not a
            // hex digit): as many occurrences as holes means none but the tokens.
            if memchr::memmem::find_iter(&out, &prefix).count() == holes.len() {
                let splice = Splice {
                    source,
                    prefix,
                    holes: RefCell::new(holes),
                };
                return Ok((splice, out));
            }
        }
        Err(std::io::Error::other("no hole token fits the message"))
    }

    /// The number of bodies left in the source (and of spools).
    pub fn holes(&self) -> usize {
        self.holes.borrow().len()
    }

    /// The number of bodies left in the source that are to be re-encoded (the tests' view:
    /// `seven_bit` walks whenever there are holes at all).
    #[cfg(test)]
    fn unsafe_holes(&self) -> usize {
        let holes = self.holes.borrow();
        (holes.iter())
            .filter(|h| matches!(h, Hole::Source { safe: false, .. }))
            .count()
    }

    fn token(&self, i: usize) -> Vec<u8> {
        token(&self.prefix, i)
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
            Hole::Source { range, digest, .. } => {
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
            return Err(changed());
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
                        Hole::Source { range, digest, .. } => {
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

    fn seven_bit(&self, message: &[u8]) -> Result<Option<Vec<u8>>> {
        // Any token in a body the walk re-encodes must be read through (`Leaves`), not copied
        // as the token's text: an unsafe hole is one, and so is a safe one inside a body the
        // walk reads otherwise than the skeleton did (a message/rfc822 whose header starts
        // with a `From ` line is one leaf to the walk).
        if self.holes() == 0 {
            return Ok(None);
        }
        let raw = crate::message::eol::to_crlf(message);
        transfer::seven_bit_message(&raw, self)?
            .map_err(|e| Error::Message(format!("cannot sign the message as 7 bit: {e}")))
    }
}

impl Leaves for Splice {
    fn safe(&self, body: &[u8]) -> bool {
        let holes = self.holes.borrow();
        let unsafe_hole = self.pieces(body).iter().any(|p| {
            matches!(p, Piece::Hole(i) if matches!(holes[*i], Hole::Source { safe: false, .. }))
        });
        !unsafe_hole && transfer::seven_bit_safe(body)
    }

    fn reencode(&self, body: &[u8], cte: &str, text: bool) -> Result<Option<Vec<u8>>> {
        let pieces = self.pieces(body);
        let hole = match pieces[..] {
            [Piece::Bytes([]), Piece::Hole(i), Piece::Bytes([])] => match &self.holes.borrow()[i] {
                Hole::Source { range, digest, .. } => Some((range.clone(), *digest)),
                Hole::Spool(_) => None,
            },
            _ => None,
        };
        if let Some((range, digest)) = hole {
            return self.reencode_source(&range, &digest, cte, text);
        }
        if pieces.len() == 1 {
            return Ok(transfer::reencode(body, cte, text));
        }
        // Not a leaf body the skeleton left out: what it stands for, in memory.
        let mut whole = Vec::new();
        self.feed(body, &mut |c| {
            whole.extend_from_slice(c);
            Ok(())
        })?;
        Ok(transfer::reencode(&whole, cte, text))
    }
}

impl Splice {
    /// [`transfer::reencode`] of a source body (canonicalized to CRLF, as the in-memory path
    /// holds it) as it is read, into a spool: what stands for it. `None` when base64 does
    /// not decode.
    fn reencode_source(
        &self,
        range: &Range<u64>,
        digest: &[u8; 32],
        cte: &str,
        text: bool,
    ) -> Result<Option<Vec<u8>>> {
        let mut sink = Reencoded {
            spool: Spool::new()?,
            out: Vec::new(),
            qp: text.then(transfer::QpEncoder::default),
            base64: transfer::Base64Encoder::default(),
        };
        match cte {
            "base64" => {
                // White space (CRs included) is skipped: no canonicalization needed.
                let mut sha = openssl::sha::Sha256::new();
                let mut r = super::base64_reader(Hashing {
                    inner: self.source.reader(range.clone()),
                    sha: &mut sha,
                });
                let mut buf = vec![0; super::CHUNK];
                loop {
                    let n = match std::io::Read::read(&mut r, &mut buf) {
                        Ok(0) => break,
                        Ok(n) => n,
                        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => return Ok(None),
                        Err(e) => return Err(e.into()),
                    };
                    sink.take(&buf[..n])?;
                }
                drop(r);
                if &sha.finish() != digest {
                    return Err(changed());
                }
            }
            _ => {
                let mut canon = super::Crlf::default();
                let mut qp = (cte == "quoted-printable").then(transfer::QpDecoder::default);
                let mut decoded = Vec::new();
                let mut decode = |c: &[u8]| -> Result<()> {
                    match qp.as_mut() {
                        None => sink.take(c),
                        Some(d) => {
                            d.update(c, &mut decoded);
                            sink.take(&decoded)?;
                            decoded.clear();
                            Ok(())
                        }
                    }
                };
                self.read_source(range, digest, &mut |c| canon.feed(c, &mut decode))?;
                canon.finish(&mut decode)?;
                if let Some(d) = qp.as_mut() {
                    d.finish(&mut decoded);
                    sink.take(&decoded)?;
                }
            }
        }
        let spool = sink.finish()?;
        self.place(spool).map(Some)
    }
}

/// A re-encoded body on its way to a spool.
struct Reencoded {
    spool: Spool,
    out: Vec<u8>,
    /// Quoted-printable, else base64.
    qp: Option<transfer::QpEncoder>,
    base64: transfer::Base64Encoder,
}

impl Reencoded {
    fn take(&mut self, decoded: &[u8]) -> Result<()> {
        match self.qp.as_mut() {
            Some(e) => e.update(decoded, &mut self.out),
            None => self.base64.update(decoded, &mut self.out),
        }
        if self.out.len() >= super::CHUNK {
            self.spool.write_all(&self.out)?;
            self.out.clear();
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Spool> {
        match self.qp.as_mut() {
            Some(e) => e.finish(&mut self.out),
            None => self.base64.finish(&mut self.out),
        }
        self.spool.write_all(&self.out)?;
        Ok(self.spool)
    }
}

/// Reads through, hashing what it reads.
struct Hashing<'h, R> {
    inner: R,
    sha: &'h mut openssl::sha::Sha256,
}

impl<R: std::io::Read> std::io::Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.sha.update(&buf[..n]);
        Ok(n)
    }
}

fn changed() -> Error {
    Error::Io(std::io::Error::new(
        std::io::ErrorKind::InvalidData,
        "the input changed while it was read",
    ))
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

/// Safe in the strictest sense: [`transfer::seven_bit_safe`], and no CR ending the body (one
/// elsewhere fails that rule already): every CR pairs with an LF of the body's own.
/// What the bytes to protect are made of, in order.
enum Segment {
    Skeleton(Range<usize>),
    /// A left-out body read in (the two kinds the module documentation names).
    Held(Vec<u8>),
    Hole(usize),
}

/// Hole `i`'s token: the prefix, the index and a dot.
fn token(prefix: &[u8], i: usize) -> Vec<u8> {
    let mut t = prefix.to_vec();
    t.extend_from_slice(format!("{i}.").as_bytes());
    t
}

fn strictly_safe(scan: &transfer::SevenBitScan) -> bool {
    scan.finish() && !scan.ends_in_cr()
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
        let mut s = transfer::SevenBitScan::default();
        for c in data.chunks(3) {
            s.update(c);
        }
        strictly_safe(&s)
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
        assert_eq!(splice.holes(), 2, "the 8-bit body is a hole too");
        assert_eq!(splice.unsafe_holes(), 1, "to be re-encoded");
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
