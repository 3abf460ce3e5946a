//! Where a large message's bytes stay while it is checked: the input file itself, or, for a
//! pipe, a spool in an unlinked temporary file. Read by offset in fixed-size chunks.

use crate::error::Result;
use std::io::{Read, Write};
use std::ops::Range;
use std::os::unix::fs::FileExt;

/// The size of every read: big enough that a read costs little per byte, small enough to stay
/// in the CPU's cache and out of the memory figures.
pub const CHUNK: usize = 256 * 1024;

/// A message's bytes, read by offset.
#[derive(Debug)]
pub struct Source {
    file: std::fs::File,
    len: u64,
    /// Where in the file its bytes start (past an mbox `From ` line: [`Source::skip`]).
    base: u64,
}

impl Source {
    /// The input file, as long as it is now. A file that shrinks while it is read is an error
    /// ([`Source::read_at`]), never a short message.
    pub fn file(file: std::fs::File) -> std::io::Result<Source> {
        let len = file.metadata()?.len();
        Ok(Source { file, len, base: 0 })
    }

    /// A spool of `head` and then what `rest` holds, in an unlinked 0600 temporary file
    /// (`$TMPDIR`): a pipe cannot be read twice. It takes at most `limit + 1` bytes, so a
    /// length over `limit` says the input is larger (and the rest is still in `rest`).
    pub fn spool(head: &[u8], rest: &mut dyn Read, limit: u64) -> Result<Source> {
        let mut file = tempfile::tempfile()?;
        let bound = limit.saturating_add(1);
        let head = &head[..usize::try_from(bound).map_or(head.len(), |b| b.min(head.len()))];
        file.write_all(head)?;
        let room = bound.saturating_sub(head.len() as u64);
        let copied = std::io::copy(&mut rest.take(room), &mut file)?;
        Ok(Source {
            file,
            len: head.len() as u64 + copied,
            base: 0,
        })
    }

    /// The same bytes without the first `n` (an mbox `From ` line procmail keeps in front of
    /// the message: envelope, not message).
    pub fn skip(self, n: u64) -> Source {
        let n = n.min(self.len);
        Source {
            file: self.file,
            len: self.len - n,
            base: self.base + n,
        }
    }

    /// The number of bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Fills `buf` from `offset`; reading past the length it had is an error.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        if offset.saturating_add(buf.len() as u64) > self.len {
            return Err(changed());
        }
        self.file
            .read_exact_at(buf, self.base + offset)
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::UnexpectedEof => changed(),
                _ => e,
            })
    }

    /// The bytes of `range`, whole (for the small pieces a reader keeps: headers, signatures).
    pub fn read_range(&self, range: Range<u64>) -> std::io::Result<Vec<u8>> {
        let len = usize::try_from(range.end.saturating_sub(range.start))
            .map_err(|_| std::io::Error::other("range too large"))?;
        let mut v = vec![0; len];
        self.read_at(range.start, &mut v)?;
        Ok(v)
    }

    /// Hands `range` to `f` chunk by chunk, in order.
    pub fn for_each_chunk(
        &self,
        range: Range<u64>,
        mut f: impl FnMut(&[u8]) -> std::io::Result<()>,
    ) -> std::io::Result<()> {
        let mut buf = vec![0; CHUNK];
        let mut pos = range.start;
        while pos < range.end {
            let n = usize::try_from(range.end - pos).map_or(CHUNK, |n| n.min(CHUNK));
            self.read_at(pos, &mut buf[..n])?;
            f(&buf[..n])?;
            pos += n as u64;
        }
        Ok(())
    }

    /// A reader of `range`.
    pub fn reader(&self, range: Range<u64>) -> RangeReader<'_> {
        RangeReader {
            source: self,
            pos: range.start,
            end: range.end,
        }
    }
}

/// Bytes written to an unlinked 0600 temporary file (`$TMPDIR`), then read back as a
/// [`Source`]: the plaintext of an encrypted layer of a large message, judged (and, for
/// `decrypt`, copied out) from there so memory stays bounded.
pub struct Spool {
    file: std::io::BufWriter<std::fs::File>,
    len: u64,
}

impl Spool {
    /// An empty spool.
    pub fn new() -> std::io::Result<Spool> {
        Ok(Spool {
            file: std::io::BufWriter::with_capacity(CHUNK, tempfile::tempfile()?),
            len: 0,
        })
    }

    /// The bytes written so far.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// What was written, to be read.
    pub fn into_source(self) -> std::io::Result<Source> {
        let file = self.file.into_inner().map_err(|e| e.into_error())?;
        Ok(Source {
            file,
            len: self.len,
            base: 0,
        })
    }
}

impl Write for Spool {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.file.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

fn changed() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::UnexpectedEof,
        "the input changed while it was read",
    )
}

/// Reads a range of a [`Source`].
pub struct RangeReader<'s> {
    source: &'s Source,
    pos: u64,
    end: u64,
}

impl Read for RangeReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = usize::try_from(self.end.saturating_sub(self.pos))
            .map_or(buf.len(), |n| n.min(buf.len()));
        if n == 0 {
            return Ok(0);
        }
        self.source.read_at(self.pos, &mut buf[..n])?;
        self.pos += n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn spool_keeps_everything_and_bounds_it() {
        let s = Source::spool(b"head ", &mut &b"and rest"[..], 100).unwrap();
        assert_eq!(s.len(), 13);
        assert_eq!(s.read_range(0..13).unwrap(), b"head and rest");
        let mut got = Vec::new();
        s.reader(5..9).read_to_end(&mut got).unwrap();
        assert_eq!(got, b"and ");
        let mut rest = &b"678"[..];
        let over = Source::spool(b"12345", &mut rest, 6).unwrap();
        assert_eq!(over.len(), 7, "one byte past the bound says it is over");
        assert_eq!(rest, b"8", "the rest stays unread");
    }

    #[test]
    fn a_shrunk_file_is_an_error() {
        let s = Source::spool(b"abc", &mut std::io::empty(), 10).unwrap();
        let mut buf = [0; 4];
        assert_eq!(
            s.read_at(0, &mut buf).unwrap_err().kind(),
            std::io::ErrorKind::UnexpectedEof
        );
        let mut n = 0;
        s.for_each_chunk(1..3, |c| {
            n += c.len();
            Ok(())
        })
        .unwrap();
        assert_eq!(n, 2);
    }
}
