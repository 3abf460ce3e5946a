//! Large messages in bounded memory (issue 13).
//!
//! A message over [`THRESHOLD`] is not read into memory whole. It stays where it is — the input
//! file, or a spool for a pipe ([`Source`]) — and the engine judges its [`skeleton`]: every
//! byte the verdict depends on, with the content of large leaf parts that no rule reads left
//! in the source. Signed content is hashed from the source in fixed-size chunks
//! ([`feed_crlf`], [`feed_raw`]): the one place where the engine needs those bytes. So memory
//! holds the headers and the small parts, whatever the size of the attachments, and the
//! verdict is the engine's own (the skeleton is found with the engine's header and delimiter
//! rules, and a test judges every message of the test corpus both ways).
//!
//! `protect` of a large message works on the same skeleton, its large bodies standing as
//! holes that the signing and encrypting code reads through a [`Content`] ([`Splice`]).

mod layer;
pub mod skeleton;
mod source;
mod splice;
mod tap;

pub use layer::{Body, Nested, base64_reader};
pub use skeleton::{Elision, Skeleton};
pub use source::{CHUNK, RangeReader, Source, Spool};
pub use splice::{Content, Splice, Whole};
pub use tap::{Digest, Value};

use std::cell::RefCell;
use std::ops::Range;
use std::sync::Arc;

/// Messages larger than this are read as a skeleton; smaller ones whole (it costs less).
pub const THRESHOLD: u64 = 1 << 20;

/// Leaf bodies at least this large are left in the source.
pub const MIN_ELIDE: u64 = 64 << 10;

/// Where a skeleton's left-out stretches are: what [`crate::message::Message`] carries for a
/// message read as a skeleton.
#[derive(Debug)]
pub struct Origin {
    /// The whole message.
    pub source: Source,
    /// The stretches of it left out of the skeleton, in order.
    pub elisions: Vec<Elision>,
    /// The smallest body left out: what the skeleton of a plaintext decrypted from this
    /// message leaves out too.
    pub min_elide: u64,
    /// Digests of signed content taken as the skeleton was read.
    pub digests: Vec<Digest>,
}

impl Origin {
    /// The source range of the skeleton range `r`. A stretch left out at an end of `r` belongs
    /// to it: a part whose body was left out ends (and its empty body starts and ends) there.
    pub fn source_range(&self, r: Range<usize>) -> Range<u64> {
        let before = |x: usize, inclusive: bool| -> u64 {
            self.elisions
                .iter()
                .take_while(|e| e.at < x || inclusive && e.at == x)
                .map(|e| e.src.end - e.src.start)
                .sum()
        };
        r.start as u64 + before(r.start, false)..r.end as u64 + before(r.end, true)
    }

    /// True when some stretch lies within the skeleton range `r` (ends included).
    fn spans(&self, r: &Range<usize>) -> bool {
        self.elisions
            .iter()
            .any(|e| e.at >= r.start && e.at <= r.end && e.src.end > e.src.start)
    }
}

struct Active {
    /// The skeleton's address and length, to know a slice of it by its address.
    base: usize,
    len: usize,
    origin: Arc<Origin>,
    /// The first read error met while hashing from the source.
    failed: Option<std::io::Error>,
}

thread_local! {
    /// The skeletons being judged, innermost last: a message, then the plaintexts decrypted
    /// from it into spools ([`Nested`]).
    static ACTIVE: RefCell<Vec<Active>> = const { RefCell::new(Vec::new()) };
}

/// Runs `f` with `skeleton` (the bytes of a message read as a skeleton, whose stretches
/// `origin` says) known to the hashing functions of this thread, besides any skeleton already
/// known (a decrypted plaintext is judged inside its message). A read error of the source met
/// meanwhile is the error (the verdict would otherwise rest on bytes never read).
pub fn with_origin<T>(
    skeleton: &[u8],
    origin: Option<&Arc<Origin>>,
    f: impl FnOnce() -> T,
) -> std::io::Result<T> {
    let Some(origin) = origin else {
        return Ok(f());
    };
    // Taken off again however `f` ends (a caught panic included).
    struct Pop(usize);
    impl Drop for Pop {
        fn drop(&mut self) {
            ACTIVE.with(|a| a.borrow_mut().truncate(self.0));
        }
    }
    let depth = ACTIVE.with(|a| {
        let mut a = a.borrow_mut();
        a.push(Active {
            base: skeleton.as_ptr() as usize,
            len: skeleton.len(),
            origin: origin.clone(),
            failed: None,
        });
        a.len() - 1
    });
    let pop = Pop(depth);
    let out = f();
    let failed = ACTIVE.with(|a| a.borrow_mut().get_mut(depth).and_then(|a| a.failed.take()));
    drop(pop);
    match failed {
        Some(e) => Err(e),
        None => Ok(out),
    }
}

/// The origin and source range of `data` when it is a slice of the active skeleton spanning a
/// left-out stretch; `None` when `data` holds all its bytes itself.
fn original(data: &[u8]) -> Option<(Arc<Origin>, Range<u64>)> {
    ACTIVE.with(|a| {
        a.borrow().iter().rev().find_map(|a| {
            let start = (data.as_ptr() as usize).checked_sub(a.base)?;
            let r = start..start + data.len();
            (r.end <= a.len && a.origin.spans(&r))
                .then(|| (a.origin.clone(), a.origin.source_range(r)))
        })
    })
}

/// Records a read error of a source for the innermost [`with_origin`]: whoever judges gets
/// the error, never a verdict. (An inner one hands its error on to the outer with this.)
pub fn fail(e: std::io::Error) {
    ACTIVE.with(|a| {
        if let Some(a) = a.borrow_mut().last_mut() {
            a.failed.get_or_insert(e);
        }
    });
}

/// Feeds `data` to `f` with every bare LF turned into CRLF (what signature hashing needs, RFC
/// 8551 §3.1.1, RFC 3156 §5), in chunks; a slice of a skeleton is fed from the source.
pub fn feed_crlf<E>(data: &[u8], mut f: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
    let Some((origin, range)) = original(data) else {
        return crate::message::eol::feed_crlf(data, f);
    };
    let mut canon = Crlf::default();
    let mut err = None;
    let read = origin.source.for_each_chunk(range, |chunk| {
        canon.feed(chunk, &mut f).map_err(|e| {
            err = Some(e);
            std::io::Error::other("hashing stopped")
        })
    });
    if let Some(e) = err {
        return Err(e);
    }
    match read {
        Ok(()) => canon.finish(&mut f),
        Err(e) => {
            fail(e);
            Ok(())
        }
    }
}

/// The digest (algorithm `nid`) of `data` canonicalized as [`feed_crlf`] feeds it, when it is
/// a slice of the active skeleton whose digest was taken as the skeleton was read: the one
/// read of a large signed message then serves both its structure and its hash.
pub fn precomputed_crlf(data: &[u8], nid: openssl::nid::Nid) -> Option<Vec<u8>> {
    let (origin, range) = original(data)?;
    origin.digests.iter().find_map(|d| match &d.value {
        Value::Smime { nid: n, digest } if d.range == range && *n == nid => Some(digest.clone()),
        _ => None,
    })
}

/// The v4 signature hash context (`algo`) over `data` as `pgp::verify` hashes signed content,
/// when it is a slice of the active skeleton whose hash was taken as the skeleton was read.
pub fn precomputed_pgp(
    data: &[u8],
    algo: sequoia_openpgp::types::HashAlgorithm,
) -> Option<sequoia_openpgp::crypto::hash::Context> {
    let (origin, range) = original(data)?;
    origin.digests.iter().find_map(|d| match &d.value {
        Value::Pgp { algo: a, context } if d.range == range && *a == algo => Some(context.clone()),
        _ => None,
    })
}

/// Feeds `data` to `f` as it is, in chunks; a slice of a skeleton is fed from the source.
pub fn feed_raw<E>(data: &[u8], mut f: impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
    let Some((origin, range)) = original(data) else {
        return f(data);
    };
    let mut err = None;
    let read = origin.source.for_each_chunk(range, |chunk| {
        f(chunk).map_err(|e| {
            err = Some(e);
            std::io::Error::other("hashing stopped")
        })
    });
    if let Some(e) = err {
        return Err(e);
    }
    if let Err(e) = read {
        fail(e);
    }
    Ok(())
}

/// Bare LF to CRLF over a sequence of chunks (a CR that ends one chunk pairs with an LF that
/// starts the next), through a staging buffer so the hash sees large updates.
#[derive(Default)]
struct Crlf {
    cr: bool,
    buf: Vec<u8>,
}

impl Crlf {
    const STAGE: usize = 64 * 1024;

    fn feed<E>(
        &mut self,
        chunk: &[u8],
        f: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        // CRLF content has no bare LF: one branch-free (vectorized) look says so, and the
        // chunk goes to the hash as it is, without a stop at every line.
        if !has_bare_lf(self.cr, chunk) {
            self.stage(chunk, f)?;
            if let Some(&last) = chunk.last() {
                self.cr = last == b'\r';
            }
            return Ok(());
        }
        let mut pending = 0;
        for i in memchr::memchr_iter(b'\n', chunk) {
            let after_cr = if i == 0 {
                self.cr
            } else {
                chunk[i - 1] == b'\r'
            };
            if after_cr {
                continue;
            }
            self.stage(&chunk[pending..i], f)?;
            self.stage(b"\r\n", f)?;
            pending = i + 1;
        }
        // CRLF content has no bare LF: the chunk goes to the hash as it is, uncopied.
        self.stage(&chunk[pending..], f)?;
        if let Some(&last) = chunk.last() {
            self.cr = last == b'\r';
        }
        Ok(())
    }

    /// Small pieces gather in the buffer; a large one is handed on as it is.
    fn stage<E>(
        &mut self,
        piece: &[u8],
        f: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if self.buf.len() + piece.len() > Self::STAGE && !self.buf.is_empty() {
            f(&self.buf)?;
            self.buf.clear();
        }
        if piece.len() >= Self::STAGE / 4 {
            return f(piece);
        }
        self.buf.extend_from_slice(piece);
        Ok(())
    }

    fn finish<E>(&mut self, f: &mut impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        if !self.buf.is_empty() {
            f(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

/// Line endings converted over a sequence of chunks as `to_eol(to_crlf(whole), eol)` converts
/// the whole: to CRLF every bare LF gains its CR; to LF every CR before an LF goes (a CR that
/// ends one chunk waits for the next). What `decrypt` and `protect` write from a spool or the
/// input in the input's convention.
pub struct EolConvert {
    eol: crate::message::Eol,
    crlf: Crlf,
    /// To LF: the last chunk ended in a CR, not written yet.
    cr: bool,
}

impl EolConvert {
    /// A converter to `eol`.
    pub fn new(eol: crate::message::Eol) -> EolConvert {
        EolConvert {
            eol,
            crlf: Crlf::default(),
            cr: false,
        }
    }

    /// Converts `chunk`, handing the result to `f` in pieces.
    pub fn feed<E>(
        &mut self,
        chunk: &[u8],
        f: &mut impl FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if chunk.is_empty() {
            return Ok(());
        }
        if self.eol == crate::message::Eol::Crlf {
            return self.crlf.feed(chunk, f);
        }
        if std::mem::take(&mut self.cr) && chunk[0] != b'\n' {
            f(b"\r")?;
        }
        let mut pending = 0;
        for i in memchr::memchr_iter(b'\r', chunk) {
            match chunk.get(i + 1) {
                // A CRLF loses its CR.
                Some(b'\n') => {}
                Some(_) => continue,
                // The last byte: the next chunk says.
                None => self.cr = true,
            }
            f(&chunk[pending..i])?;
            pending = i + 1;
        }
        f(&chunk[pending..])
    }

    /// Hands on what is still held.
    pub fn finish<E>(&mut self, f: &mut impl FnMut(&[u8]) -> Result<(), E>) -> Result<(), E> {
        self.crlf.finish(f)?;
        if std::mem::take(&mut self.cr) {
            f(b"\r")?;
        }
        Ok(())
    }
}

/// True when `chunk` holds an LF not preceded by CR (`cr`: the byte before the chunk was CR).
fn has_bare_lf(cr: bool, chunk: &[u8]) -> bool {
    let Some(&first) = chunk.first() else {
        return false;
    };
    let pairs = chunk[1..].iter().zip(chunk);
    (first == b'\n' && !cr)
        | pairs.fold(false, |bare, (&b, &p)| bare | ((b == b'\n') & (p != b'\r')))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn canon_chunks(chunks: &[&[u8]]) -> Vec<u8> {
        let mut c = Crlf::default();
        let mut out = Vec::new();
        let mut f = |b: &[u8]| -> Result<(), ()> {
            out.extend_from_slice(b);
            Ok(())
        };
        for ch in chunks {
            c.feed(ch, &mut f).unwrap();
        }
        c.finish(&mut f).unwrap();
        out
    }

    #[test]
    fn bare_lf_is_found_wherever_it_is() {
        assert!(!has_bare_lf(false, b""));
        assert!(!has_bare_lf(false, b"a\r\nb\r\n"));
        assert!(has_bare_lf(false, b"a\r\nb\n"));
        assert!(has_bare_lf(false, b"\nb"));
        assert!(!has_bare_lf(true, b"\nb"));
        assert!(has_bare_lf(true, b"\n\n"));
    }

    #[test]
    fn crlf_across_chunks_matches_the_whole() {
        let data = b"a\nb\r\nc\r\rd\n\n\r\ne";
        let whole = crate::message::eol::to_crlf(data).into_owned();
        for cut in 0..=data.len() {
            for cut2 in cut..=data.len() {
                let got = canon_chunks(&[&data[..cut], &data[cut..cut2], &data[cut2..]]);
                assert_eq!(got, whole, "cuts {cut} {cut2}");
            }
        }
    }

    #[test]
    fn source_ranges_take_stretches_at_their_ends() {
        let o = Origin {
            min_elide: MIN_ELIDE,
            digests: Vec::new(),
            source: Source::spool(b"", &mut std::io::empty(), 1).unwrap(),
            elisions: vec![
                Elision {
                    at: 10,
                    src: 10..110,
                },
                Elision {
                    at: 20,
                    src: 120..130,
                },
            ],
        };
        assert_eq!(o.source_range(0..5), 0..5);
        assert_eq!(o.source_range(0..10), 0..110);
        assert_eq!(o.source_range(10..10), 10..110);
        assert_eq!(o.source_range(10..15), 10..115);
        assert_eq!(o.source_range(12..20), 112..130);
        assert_eq!(o.source_range(21..25), 131..135);
        assert!(o.spans(&(5..10)));
        assert!(!o.spans(&(11..19)));
    }
}
