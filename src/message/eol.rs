//! Line endings: detect the input's convention, convert to CRLF for every crypto operation
//! (RFC 8551 §3.1.1, RFC 3156 §5) and back to the input's convention on output.

use std::borrow::Cow;

/// The line-ending convention of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Eol {
    /// `\n`, what local sendmail, procmail and mutt hand us.
    Lf,
    /// `\r\n`, the wire form.
    Crlf,
}

impl Eol {
    /// The bytes of one line ending.
    pub fn as_bytes(self) -> &'static [u8] {
        match self {
            Eol::Lf => b"\n",
            Eol::Crlf => b"\r\n",
        }
    }

    /// The convention of `data`, judged by its first line ending (LF when it has none).
    pub fn detect(data: &[u8]) -> Eol {
        match memchr_lf(data) {
            Some(i) if i > 0 && data[i - 1] == b'\r' => Eol::Crlf,
            _ => Eol::Lf,
        }
    }
}

fn memchr_lf(data: &[u8]) -> Option<usize> {
    data.iter().position(|&b| b == b'\n')
}

/// `data` with every bare LF turned into CRLF; borrowed when nothing needs to change.
pub fn to_crlf(data: &[u8]) -> Cow<'_, [u8]> {
    let bare = data
        .iter()
        .enumerate()
        .filter(|&(i, &b)| b == b'\n' && (i == 0 || data[i - 1] != b'\r'))
        .count();
    if bare == 0 {
        return Cow::Borrowed(data);
    }
    let mut out = Vec::with_capacity(data.len() + bare);
    for (i, &b) in data.iter().enumerate() {
        if b == b'\n' && (i == 0 || data[i - 1] != b'\r') {
            out.push(b'\r');
        }
        out.push(b);
    }
    Cow::Owned(out)
}

/// `data` with every CRLF turned into LF; borrowed when nothing needs to change.
pub fn to_lf(data: &[u8]) -> Cow<'_, [u8]> {
    if !data.windows(2).any(|w| w == b"\r\n") {
        return Cow::Borrowed(data);
    }
    let mut out = Vec::with_capacity(data.len());
    let mut i = 0;
    while i < data.len() {
        if data[i] == b'\r' && data.get(i + 1) == Some(&b'\n') {
            i += 1;
            continue;
        }
        out.push(data[i]);
        i += 1;
    }
    Cow::Owned(out)
}

/// `data` converted to the convention `eol`.
pub fn to_eol(data: &[u8], eol: Eol) -> Cow<'_, [u8]> {
    match eol {
        Eol::Lf => to_lf(data),
        Eol::Crlf => to_crlf(data),
    }
}

/// Feeds `data` to `f` with every bare LF turned into CRLF, in chunks of about 64 KiB, without
/// copying the whole input: what signature hashing needs (RFC 8551 §3.1.1, RFC 3156 §5).
pub fn feed_crlf<E>(
    data: &[u8],
    mut f: impl FnMut(&[u8]) -> std::result::Result<(), E>,
) -> std::result::Result<(), E> {
    const CHUNK: usize = 64 * 1024;
    let mut buf: Vec<u8> = Vec::new();
    let mut pending = 0;
    for i in memchr::memchr_iter(b'\n', data) {
        if i > 0 && data[i - 1] == b'\r' {
            continue;
        }
        let seg = &data[pending..i];
        if seg.len() >= CHUNK {
            if !buf.is_empty() {
                f(&buf)?;
                buf.clear();
            }
            f(seg)?;
            f(b"\r\n")?;
        } else {
            if buf.capacity() == 0 {
                buf.reserve(2 * CHUNK);
            }
            buf.extend_from_slice(seg);
            buf.extend_from_slice(b"\r\n");
            if buf.len() >= CHUNK {
                f(&buf)?;
                buf.clear();
            }
        }
        pending = i + 1;
    }
    if !buf.is_empty() {
        f(&buf)?;
    }
    if pending < data.len() {
        f(&data[pending..])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_first_line() {
        assert_eq!(Eol::detect(b"a\r\nb\n"), Eol::Crlf);
        assert_eq!(Eol::detect(b"a\nb\r\n"), Eol::Lf);
        assert_eq!(Eol::detect(b"no newline"), Eol::Lf);
        assert_eq!(Eol::detect(b"\n"), Eol::Lf);
    }

    #[test]
    fn feeds_crlf_in_chunks() {
        let collect = |data: &[u8]| {
            let mut out = Vec::new();
            feed_crlf::<()>(data, |c| {
                out.extend_from_slice(c);
                Ok(())
            })
            .expect("infallible");
            out
        };
        assert_eq!(collect(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert_eq!(collect(b"\n"), b"\r\n");
        assert_eq!(collect(b"no newline"), b"no newline");
        let big: Vec<u8> = b"0123456789abcdef\n".repeat(20_000);
        assert_eq!(collect(&big), &*to_crlf(&big));
    }

    #[test]
    fn converts_both_ways() {
        assert_eq!(&*to_crlf(b"a\nb\r\nc\n"), b"a\r\nb\r\nc\r\n");
        assert_eq!(&*to_lf(b"a\r\nb\nc\r\n"), b"a\nb\nc\n");
        assert!(matches!(to_crlf(b"a\r\nb\r\n"), Cow::Borrowed(_)));
        assert!(matches!(to_lf(b"a\nb\n"), Cow::Borrowed(_)));
        // A lone CR is data, not a line ending: left alone both ways.
        assert_eq!(&*to_lf(b"a\rb\n"), b"a\rb\n");
        assert_eq!(&*to_crlf(b"a\rb\n"), b"a\rb\r\n");
    }
}
