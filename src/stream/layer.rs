//! Encrypted and opaque-signed layers of a large message (issue 13): their content is read
//! from the source as it is decoded ([`Body`]), and what opening them yields goes to a
//! [`super::Spool`] that is judged as a skeleton of its own ([`Nested`]). So a 64 MiB
//! encrypted message is decrypted and judged in the same bounded memory as a signed one.

use super::{Origin, Source, fail, original, skeleton, with_origin};
use std::io::Read;
use std::ops::Range;
use std::sync::Arc;

/// The body of a leaf part of the active skeleton whose bytes are left in the source.
pub struct Body {
    origin: Arc<Origin>,
    range: Range<u64>,
}

impl Body {
    /// `data`, a body slice of the skeleton being judged, when its bytes are (partly) left in
    /// the source; `None` when `data` holds all of them (read it as it is).
    pub fn of(data: &[u8]) -> Option<Body> {
        original(data).map(|(origin, range)| Body { origin, range })
    }

    /// Its length in the source.
    pub fn len(&self) -> u64 {
        self.range.end - self.range.start
    }

    /// True when it has no bytes.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The smallest body the skeleton of what it decrypts to leaves out.
    pub fn min_elide(&self) -> u64 {
        self.origin.min_elide
    }

    /// A reader of its bytes. A read error of the source is also recorded for the judge
    /// ([`fail`]): whatever the opener makes of it, no verdict rests on it.
    pub fn reader(&self) -> BodyReader {
        BodyReader {
            origin: self.origin.clone(),
            pos: self.range.start,
            end: self.range.end,
        }
    }
}

/// Reads a [`Body`] from its source.
pub struct BodyReader {
    origin: Arc<Origin>,
    pos: u64,
    end: u64,
}

impl Read for BodyReader {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = usize::try_from(self.end.saturating_sub(self.pos))
            .map_or(buf.len(), |n| n.min(buf.len()));
        if n == 0 {
            return Ok(0);
        }
        if let Err(e) = self.origin.source.read_at(self.pos, &mut buf[..n]) {
            let again = std::io::Error::new(e.kind(), e.to_string());
            fail(e);
            return Err(again);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// A base64 decoder over `r`, as [`crate::mime::transfer::base64_decode`] decodes a whole
/// body: white space skipped, then the standard alphabet with its padding. An error of
/// decoding is [`std::io::ErrorKind::InvalidData`].
pub fn base64_reader<R: Read>(r: R) -> impl Read {
    base64::read::DecoderReader::new(
        NoWhiteSpace {
            inner: r,
            buf: vec![0; super::source::CHUNK],
            at: 0,
            n: 0,
        },
        &base64::engine::general_purpose::STANDARD,
    )
}

/// `inner` without ASCII white space.
struct NoWhiteSpace<R> {
    inner: R,
    buf: Vec<u8>,
    at: usize,
    n: usize,
}

impl<R: Read> Read for NoWhiteSpace<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        loop {
            if self.at == self.n {
                self.n = self.inner.read(&mut self.buf)?;
                self.at = 0;
                if self.n == 0 {
                    return Ok(0);
                }
            }
            let mut w = 0;
            while self.at < self.n && w < out.len() {
                let b = self.buf[self.at];
                self.at += 1;
                if !b.is_ascii_whitespace() {
                    out[w] = b;
                    w += 1;
                }
            }
            if w > 0 || out.is_empty() {
                return Ok(w);
            }
        }
    }
}

/// What an opened layer of a large message yielded (a spooled plaintext, or the content of
/// opaque signed data), as a skeleton of its own.
#[derive(Debug)]
pub struct Nested {
    /// The skeleton of the MIME entity it holds.
    pub bytes: Vec<u8>,
    /// Where that skeleton's left-out stretches are.
    pub origin: Arc<Origin>,
}

impl Nested {
    /// The entity in `source` (a MIME part: its header may be empty) as a skeleton that
    /// leaves out bodies of at least `min_elide` bytes.
    pub fn part(source: Source, min_elide: u64) -> std::io::Result<Nested> {
        let s = skeleton::build_part(&source, min_elide)?;
        Ok(Nested {
            bytes: s.bytes,
            origin: Arc::new(Origin {
                source,
                elisions: s.elisions,
                min_elide,
                digests: s.digests,
            }),
        })
    }

    /// Runs `f` on the skeleton, known to the hashing functions meanwhile ([`with_origin`]).
    /// A read error of the spool is handed on to the judge of the outer message.
    pub fn judge<T>(&self, f: impl FnOnce(&[u8]) -> T) -> Option<T> {
        match with_origin(&self.bytes, Some(&self.origin), || f(&self.bytes)) {
            Ok(t) => Some(t),
            Err(e) => {
                fail(e);
                None
            }
        }
    }

    /// The whole size of what it holds.
    pub fn len(&self) -> u64 {
        self.origin.source.len()
    }

    /// True when it holds nothing.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::mime::transfer::base64_decode;

    fn streamed(data: &[u8], piece: usize) -> Option<Vec<u8>> {
        struct Pieces<'a>(&'a [u8], usize);
        impl Read for Pieces<'_> {
            fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(self.1).min(buf.len());
                buf[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut out = Vec::new();
        base64_reader(Pieces(data, piece))
            .read_to_end(&mut out)
            .ok()
            .map(|_| out)
    }

    #[test]
    fn base64_streams_as_the_whole_decodes() {
        let good = crate::mime::transfer::base64_lines(
            &(0..=255u8).cycle().take(5000).collect::<Vec<_>>(),
        );
        let cases: Vec<Vec<u8>> = vec![
            good.clone(),
            b"aGVsbG8=\r\n".to_vec(),
            b"aGVsbG8".to_vec(),
            b"aGVs bG8=\n".to_vec(),
            b"aGVsbG8=aGVs".to_vec(),
            b"aGVsbG9=".to_vec(),
            b"aG=sbG8=".to_vec(),
            b"****".to_vec(),
            b"".to_vec(),
            b"  \r\n".to_vec(),
            [&good[..100], b"!", &good[100..]].concat(),
        ];
        for c in &cases {
            for piece in [1, 3, 7, 4096] {
                assert_eq!(
                    streamed(c, piece),
                    base64_decode(c),
                    "{:?} in {piece}",
                    String::from_utf8_lossy(c)
                );
            }
        }
    }
}
