//! Multipart bodies split per RFC 2046 §5.1.1, on the raw buffer.

use std::ops::Range;

/// A multipart body split at its delimiters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Multipart {
    /// The body parts in order, as ranges of the body: each runs from the byte after its
    /// delimiter line to the byte before the line ending that precedes the next delimiter
    /// (that line ending belongs to the delimiter).
    pub parts: Vec<Range<usize>>,
    /// True when the close delimiter (`--boundary--`) was seen.
    pub closed: bool,
    /// Text after the close delimiter line (RFC 2046 says to ignore it; we report what it holds).
    pub epilogue: Range<usize>,
}

/// Why a multipart body cannot be split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MultipartError {
    /// No `boundary` parameter, or one outside RFC 2046's 1..=70 characters.
    BadBoundary,
}

/// Splits `body` at the delimiters of `boundary`. A delimiter must start a line and may carry
/// only transport padding (white space) after it; a string that merely contains it is text.
/// Without a close delimiter the last part runs to the end (and [`Multipart::closed`] is false).
pub fn split(body: &[u8], boundary: &str) -> Result<Multipart, MultipartError> {
    if boundary.is_empty() || boundary.len() > 70 {
        return Err(MultipartError::BadBoundary);
    }
    let delim = format!("--{boundary}");
    let finder = memchr::memmem::Finder::new(delim.as_bytes());
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut pos = 0;
    while let Some(i) = finder.find(&body[pos..]) {
        let at = pos + i;
        pos = at + delim.len();
        if at != 0 && body[at - 1] != b'\n' {
            continue;
        }
        let Some((close, len)) = delimiter_tail(&body[pos..]) else {
            continue;
        };
        let line_end = pos + len;
        if let Some(s) = start {
            let mut end = at;
            if end > s && body[end - 1] == b'\n' {
                end -= 1;
                if end > s && body[end - 1] == b'\r' {
                    end -= 1;
                }
            }
            parts.push(s..end.max(s));
        }
        if close {
            return Ok(Multipart {
                parts,
                closed: true,
                epilogue: line_end..body.len(),
            });
        }
        start = Some(line_end);
        pos = line_end;
    }
    if let Some(s) = start {
        parts.push(s..body.len());
    }
    Ok(Multipart {
        parts,
        closed: false,
        epilogue: body.len()..body.len(),
    })
}

/// What follows `--boundary` at the start of a line, `after` running at least to the end of
/// that line: `Some((close, len))` when it makes a delimiter line — an optional `--`, then only
/// transport padding (white space) up to the line end — with `len` the bytes up to and
/// including the line's LF (or all of `after` without one); `None` when the line is text.
/// One rule for [`split`] and for the streaming reader of large messages (`crate::stream`).
pub fn delimiter_tail(after: &[u8]) -> Option<(bool, usize)> {
    let close = after.starts_with(b"--");
    let skip = if close { 2 } else { 0 };
    let rest = &after[skip..];
    let eol = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
    if !rest[..eol]
        .iter()
        .all(|b| matches!(b, b' ' | b'\t' | b'\r'))
    {
        return None;
    }
    Some((close, (skip + eol + 1).min(after.len())))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn splits_lf_and_crlf() {
        for eol in ["\n", "\r\n"] {
            let s = format!(
                "pre{eol}--b{eol}A: 1{eol}{eol}one{eol}--b {eol}{eol}two{eol}{eol}--b--{eol}epi"
            );
            let raw = s.as_bytes();
            let m = split(raw, "b").unwrap();
            assert!(m.closed);
            assert_eq!(m.parts.len(), 2);
            assert_eq!(
                &raw[m.parts[0].clone()],
                format!("A: 1{eol}{eol}one").as_bytes()
            );
            assert_eq!(
                &raw[m.parts[1].clone()],
                format!("{eol}two{eol}").as_bytes()
            );
            assert_eq!(&raw[m.epilogue.clone()], b"epi");
        }
    }

    #[test]
    fn boundary_inside_text_is_not_a_delimiter() {
        let raw = b"--b\r\nx --b\r\n--bc\r\n--b--\r\n";
        let m = split(raw, "b").unwrap();
        assert!(m.closed);
        assert_eq!(m.parts.len(), 1);
        assert_eq!(&raw[m.parts[0].clone()], b"x --b\r\n--bc");
    }

    #[test]
    fn unclosed_and_undelimited() {
        let m = split(b"--b\nonly", "b").unwrap();
        assert!(!m.closed);
        assert_eq!(m.parts, vec![4..8]);
        let m = split(b"no delimiter at all", "b").unwrap();
        assert!(m.parts.is_empty() && !m.closed);
        assert_eq!(split(b"x", ""), Err(MultipartError::BadBoundary));
        assert_eq!(
            split(b"x", &"a".repeat(71)),
            Err(MultipartError::BadBoundary)
        );
    }
}
