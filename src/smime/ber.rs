//! A streaming BER/DER reader over [`std::io::Read`] for CMS (X.690 §8): definite and
//! indefinite lengths, constructed OCTET STRINGs in segments, a nesting bound.
//!
//! `openssl cms -stream`, NSS and gpgsm write BER with indefinite lengths and the content in
//! chunked constructed OCTET STRINGs, so a CMS object cannot be handed to a DER decoder without
//! first holding all of it. This reader walks the structure front to back once: the caller
//! asks for the next element of the constructed element it has entered, and either captures
//! a small element whole (re-encoded with definite lengths, see [`BerReader::capture`]), skips
//! it, or takes the content octets of a large one in pieces ([`BerReader::octets`]).
//!
//! Memory is bounded by the 64 KiB read buffer, the nesting bound and the caller's caps; a
//! declared length is never allocated up front. It never panics on malformed input.

use std::io::{self, Read};

use super::asn1;

/// Constructed elements nested deeper than this are refused. CMS itself needs about 10
/// (ContentInfo → SignedData → EncapsulatedContentInfo → \[0\] → OCTET STRING segments, or a
/// certificate's extensions); the rest of the margin is for nested string segments.
pub(crate) const MAX_DEPTH: usize = 32;

/// The read buffer; content octets are handed out in pieces of at most this size.
const BUF: usize = 64 * 1024;

/// Universal tag of a constructed OCTET STRING.
const OCTET_STRING_CONSTRUCTED: u8 = 0x24;

/// Why reading stopped.
#[derive(Debug)]
pub(crate) enum BerError {
    /// Not BER, truncated, nested too deep, or larger than a cap.
    Malformed(String),
    /// The input's own read error.
    Io(io::Error),
}

pub(crate) type BerResult<T> = std::result::Result<T, BerError>;

fn bad(what: impl Into<String>) -> BerError {
    BerError::Malformed(what.into())
}

/// The identifier and length octets of one element.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// The identifier octet (class, constructed bit, tag number below 31).
    pub tag: u8,
    /// The content length; `None` for the indefinite form (constructed only).
    pub len: Option<u64>,
}

impl Header {
    /// True when the element holds other elements.
    pub(crate) fn constructed(&self) -> bool {
        self.tag & 0x20 != 0
    }

    /// The tag with the constructed bit cleared: 0x04 for both forms of an OCTET STRING.
    pub(crate) fn base(&self) -> u8 {
        self.tag & !0x20
    }
}

/// One entered constructed element.
struct Frame {
    /// Where its content ends (definite form).
    end: Option<u64>,
    /// The nearest definite end of it or an enclosing element: nothing may be read past it.
    limit: Option<u64>,
}

/// Reads BER elements from a byte stream, front to back, once.
pub(crate) struct BerReader<'r> {
    input: &'r mut dyn Read,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// Input offset of `buf[start]`.
    pos: u64,
    frames: Vec<Frame>,
}

impl<'r> BerReader<'r> {
    pub(crate) fn new(input: &'r mut dyn Read) -> BerReader<'r> {
        BerReader {
            input,
            buf: vec![0; BUF],
            start: 0,
            end: 0,
            pos: 0,
            frames: Vec::new(),
        }
    }

    /// Makes at least `want` (≤ [`BUF`]) bytes available; false when the input ends first.
    fn fill(&mut self, want: usize) -> BerResult<bool> {
        if self.end - self.start >= want {
            return Ok(true);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        while self.end < want {
            match self.input.read(&mut self.buf[self.end..]) {
                Ok(0) => return Ok(false),
                Ok(n) => self.end += n.min(BUF - self.end),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(BerError::Io(e)),
            }
        }
        Ok(true)
    }

    fn consume(&mut self, n: usize) {
        self.start += n;
        self.pos += n as u64;
    }

    fn byte(&mut self) -> BerResult<u8> {
        if !self.fill(1)? {
            return Err(truncated());
        }
        let b = self.buf[self.start];
        self.consume(1);
        Ok(b)
    }

    fn limit(&self) -> Option<u64> {
        self.frames.last().and_then(|f| f.limit)
    }

    /// Reads identifier and length octets.
    fn header(&mut self) -> BerResult<Header> {
        let tag = self.byte()?;
        if tag == 0 {
            return Err(bad(
                "end-of-contents octets where no indefinite length is open",
            ));
        }
        // CMS and X.509 use tag numbers below 31 only; the multi-octet form is refused
        // rather than half supported.
        if tag & 0x1f == 0x1f {
            return Err(bad(format!("multi-octet tag {tag:#04x}")));
        }
        let first = self.byte()?;
        let len = match first {
            0x80 if tag & 0x20 == 0 => {
                return Err(bad(format!(
                    "primitive element {tag:#04x} with an indefinite length"
                )));
            }
            0x80 => None,
            0xff => return Err(bad("reserved length octet 0xff")),
            n if n < 0x80 => Some(u64::from(n)),
            n => {
                let count = n & 0x7f;
                if count > 8 {
                    return Err(bad(format!("a length of {count} octets")));
                }
                let mut len = 0u64;
                for _ in 0..count {
                    len = (len << 8) | u64::from(self.byte()?);
                }
                Some(len)
            }
        };
        let fits = match (len, self.limit()) {
            (_, None) => true,
            (Some(l), Some(lim)) => self.pos.checked_add(l).is_some_and(|e| e <= lim),
            (None, Some(lim)) => self.pos <= lim,
        };
        if !fits {
            return Err(bad(format!(
                "element {tag:#04x} runs past the element holding it"
            )));
        }
        Ok(Header { tag, len })
    }

    /// The next element of the entered constructed element, or `None` when it has ended (its
    /// end-of-contents octets are consumed and it is left). At the top level, the next element
    /// of the input.
    pub(crate) fn next(&mut self) -> BerResult<Option<Header>> {
        if let Some(f) = self.frames.last() {
            match f.end {
                Some(end) if self.pos >= end => {
                    self.frames.pop();
                    return Ok(None);
                }
                Some(_) => {}
                None => {
                    if f.limit.is_some_and(|l| self.pos >= l) {
                        return Err(bad("an indefinite length without end-of-contents octets"));
                    }
                    if !self.fill(2)? {
                        return Err(truncated());
                    }
                    if self.buf[self.start] == 0 && self.buf[self.start + 1] == 0 {
                        self.consume(2);
                        self.frames.pop();
                        return Ok(None);
                    }
                }
            }
        }
        self.header().map(Some)
    }

    /// Enters a constructed element: [`next`](Self::next) then yields its elements.
    pub(crate) fn enter(&mut self, h: &Header) -> BerResult<()> {
        if !h.constructed() {
            return Err(bad(format!("element {:#04x} is not constructed", h.tag)));
        }
        if self.frames.len() >= MAX_DEPTH {
            return Err(bad(format!("elements nested deeper than {MAX_DEPTH}")));
        }
        // `header` checked that a definite end lies within the enclosing limit.
        let end = h.len.map(|l| self.pos + l);
        let limit = end.or(self.limit());
        self.frames.push(Frame { end, limit });
        Ok(())
    }

    /// Requires the entered element to have no more elements, and leaves it.
    pub(crate) fn end(&mut self, what: &str) -> BerResult<()> {
        match self.next()? {
            None => Ok(()),
            Some(h) => Err(bad(format!("unexpected element {:#04x} in {what}", h.tag))),
        }
    }

    /// Hands `n` content bytes to `sink` in pieces of at most [`BUF`].
    fn pieces<E: From<BerError>>(
        &mut self,
        mut n: u64,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        while n > 0 {
            if !self.fill(1)? {
                return Err(truncated().into());
            }
            let take = (self.end - self.start).min(usize::try_from(n).unwrap_or(usize::MAX));
            sink(&self.buf[self.start..self.start + take])?;
            self.consume(take);
            n -= take as u64;
        }
        Ok(())
    }

    /// Skips an element without looking into it (beyond the structure of indefinite lengths).
    pub(crate) fn skip(&mut self, h: &Header) -> BerResult<()> {
        match h.len {
            Some(n) => self.pieces::<BerError>(n, &mut |_| Ok(())),
            None => {
                self.enter(h)?;
                while let Some(c) = self.next()? {
                    self.skip(&c)?;
                }
                Ok(())
            }
        }
    }

    /// The content octets of an OCTET STRING (or an IMPLICIT-tagged one: the tag is not
    /// checked), primitive or constructed of segments (X.690 §8.7.3), handed to `sink` in
    /// pieces as they arrive.
    pub(crate) fn octets<E: From<BerError>>(
        &mut self,
        h: &Header,
        sink: &mut dyn FnMut(&[u8]) -> Result<(), E>,
    ) -> Result<(), E> {
        if !h.constructed() {
            // `header` gave a primitive element a definite length.
            return self.pieces(h.len.unwrap_or(0), sink);
        }
        self.enter(h)?;
        while let Some(seg) = self.next()? {
            if seg.base() != asn1::OCTET_STRING {
                return Err(bad(format!(
                    "segment {:#04x} of a constructed OCTET STRING",
                    seg.tag
                ))
                .into());
            }
            self.octets(&seg, sink)?;
        }
        Ok(())
    }

    /// Reads a whole element of at most `cap` content bytes (all levels counted) and returns
    /// it re-encoded with definite lengths, constructed OCTET STRINGs joined into primitive
    /// ones: DER for what was DER, and something a DER decoder reads for the BER that CMS
    /// writers produce. Anything else (the order of a SET OF, a constructed string of another
    /// type) is kept as is.
    pub(crate) fn capture(&mut self, h: &Header, cap: usize) -> BerResult<Vec<u8>> {
        let mut budget = cap;
        let (tag, content) = self.capture_content(h, &mut budget)?;
        Ok(asn1::tlv(tag, &content))
    }

    fn capture_content(&mut self, h: &Header, budget: &mut usize) -> BerResult<(u8, Vec<u8>)> {
        let too_big = || {
            bad(format!(
                "element {:#04x} is larger than allowed here",
                h.tag
            ))
        };
        let mut content = Vec::new();
        if h.tag == OCTET_STRING_CONSTRUCTED {
            self.octets::<BerError>(h, &mut |piece| {
                *budget = budget.checked_sub(piece.len()).ok_or_else(too_big)?;
                content.extend_from_slice(piece);
                Ok(())
            })?;
            return Ok((asn1::OCTET_STRING, content));
        }
        if !h.constructed() {
            let n = h.len.unwrap_or(0);
            if n > *budget as u64 {
                return Err(too_big());
            }
            *budget -= n as usize;
            content.reserve(n as usize);
            self.pieces::<BerError>(n, &mut |piece| {
                content.extend_from_slice(piece);
                Ok(())
            })?;
            return Ok((h.tag, content));
        }
        if h.len.is_some_and(|n| n > *budget as u64) {
            return Err(too_big());
        }
        self.enter(h)?;
        while let Some(c) = self.next()? {
            let (tag, inner) = self.capture_content(&c, budget)?;
            // The re-encoded header (at most 10 octets) counts too, so that a cap bounds the
            // result and not only its leaves.
            *budget = budget.checked_sub(10).ok_or_else(too_big)?;
            content.extend_from_slice(&asn1::tlv(tag, &inner));
        }
        Ok((h.tag, content))
    }
}

fn truncated() -> BerError {
    bad("truncated: the input ends inside an element")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// A reader that hands out one byte per call, to cross every buffer boundary.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match (self.0.split_first(), out.first_mut()) {
                (Some((b, rest)), Some(o)) => {
                    *o = *b;
                    self.0 = rest;
                    Ok(1)
                }
                _ => Ok(0),
            }
        }
    }

    fn capture_all(data: &[u8], cap: usize) -> BerResult<Vec<u8>> {
        let mut input = data;
        let mut r = BerReader::new(&mut input);
        let h = r.next()?.ok_or_else(|| bad("empty"))?;
        r.capture(&h, cap)
    }

    #[test]
    fn indefinite_and_segmented_become_definite() {
        // SEQUENCE (indefinite) { OCTET STRING constructed { "ab", "cde" }, INTEGER 5 }
        let ber = [
            0x30, 0x80, 0x24, 0x80, 0x04, 0x02, b'a', b'b', 0x04, 0x03, b'c', b'd', b'e', 0, 0,
            0x02, 0x01, 0x05, 0, 0,
        ];
        let want = asn1::cons(
            asn1::SEQUENCE,
            &[
                &asn1::tlv(asn1::OCTET_STRING, b"abcde"),
                &[0x02, 0x01, 0x05],
            ],
        );
        assert_eq!(capture_all(&ber, 100).unwrap(), want);
        let mut t = Trickle(&ber);
        let mut r = BerReader::new(&mut t);
        let h = r.next().unwrap().unwrap();
        assert_eq!(r.capture(&h, 100).unwrap(), want);
        // DER stays byte for byte.
        assert_eq!(capture_all(&want, 100).unwrap(), want);
    }

    #[test]
    fn octets_come_in_pieces() {
        let big = vec![7u8; 3 * BUF + 5];
        let mut enc = vec![0x24, 0x80];
        enc.extend(asn1::tlv(asn1::OCTET_STRING, &big));
        enc.extend(asn1::tlv(asn1::OCTET_STRING, b"tail"));
        enc.extend([0, 0]);
        let mut input = &enc[..];
        let mut r = BerReader::new(&mut input);
        let h = r.next().unwrap().unwrap();
        let mut sizes = Vec::new();
        let mut total = Vec::new();
        r.octets::<BerError>(&h, &mut |p| {
            sizes.push(p.len());
            total.extend_from_slice(p);
            Ok(())
        })
        .unwrap();
        assert!(sizes.iter().all(|&n| n <= BUF) && sizes.len() > 3);
        assert_eq!(total.len(), big.len() + 4);
        assert_eq!(r.pos, enc.len() as u64);
    }

    #[test]
    fn malformed_is_an_error_never_a_panic() {
        let deep: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 40).flatten().collect();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", vec![]),
            ("truncated header", vec![0x30]),
            ("truncated content", vec![0x04, 0x05, 1, 2]),
            (
                "huge length",
                vec![0x04, 0x88, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
            ),
            (
                "nine length octets",
                vec![0x04, 0x89, 1, 1, 1, 1, 1, 1, 1, 1, 1],
            ),
            ("reserved length", vec![0x30, 0xff]),
            ("primitive indefinite", vec![0x04, 0x80, 0, 0]),
            ("multi-octet tag", vec![0x1f, 0x81, 0x01, 0x00]),
            (
                "child past parent",
                vec![0x30, 0x03, 0x04, 0x05, 1, 2, 3, 4, 5],
            ),
            ("missing EOC", vec![0x30, 0x80, 0x05, 0x00]),
            ("EOC in definite", vec![0x30, 0x02, 0, 0]),
            (
                "indefinite in definite without EOC",
                vec![0x30, 0x04, 0x30, 0x80, 0x05, 0x00],
            ),
            ("bad segment", vec![0x24, 0x80, 0x02, 0x01, 0x00, 0, 0]),
            ("deep", deep),
        ];
        for (what, data) in cases {
            assert!(
                matches!(capture_all(&data, 1 << 20), Err(BerError::Malformed(_))),
                "{what}"
            );
        }
        // A cap is a cap, whatever the declared length.
        let big = asn1::tlv(asn1::OCTET_STRING, &[1; 100]);
        assert!(matches!(capture_all(&big, 99), Err(BerError::Malformed(_))));
        assert!(capture_all(&big, 100).is_ok());
    }

    #[test]
    fn read_errors_are_io() {
        struct Failing;
        impl Read for Failing {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Err(io::Error::other("disk on fire"))
            }
        }
        let mut f = Failing;
        let mut r = BerReader::new(&mut f);
        assert!(matches!(r.next(), Err(BerError::Io(_))));
    }

    #[test]
    fn skip_walks_indefinite_lengths() {
        let enc = [
            0xa0, 0x80, 0x30, 0x80, 0x05, 0x00, 0, 0, 0x04, 0x01, 9, 0, 0, 0x02, 0x01, 3,
        ];
        let mut input = &enc[..];
        let mut r = BerReader::new(&mut input);
        let h = r.next().unwrap().unwrap();
        r.skip(&h).unwrap();
        let i = r.next().unwrap().unwrap();
        assert_eq!(r.capture(&i, 10).unwrap(), vec![2, 1, 3]);
    }
}
