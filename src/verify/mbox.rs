//! Mailboxes in one file (RFC 4155 `application/mbox`, read as `mboxrd`): told apart from a
//! single message by a first line with the postmark shape, split into messages at the `From `
//! lines that have it, and quoted back when written (issue 11 point 4).
//!
//! Every message keeps its exact bytes: its `From ` line, the separator after it (the blank
//! line a writer puts before the next `From `) and the `>From` quoting of its body lines, so
//! `verify --annotate` of an mbox writes the same mbox with verdict fields added and nothing
//! else changed. The message a caller verifies is unquoted (`>From ` → `From `, `>>From ` →
//! `>From `): a signature covers the message as sent, not as stored.

/// One message of an mbox: its place in the file and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry<'a> {
    /// 1-based position in the mailbox, as mutt numbers messages.
    pub index: usize,
    /// Byte offset of its `From ` line in the file.
    pub offset: usize,
    /// The `From ` line, with its line ending.
    pub from_line: &'a [u8],
    /// The message as stored: still `>From`-quoted, without the separator.
    pub stored: &'a [u8],
    /// What follows the message up to the next `From ` line: the empty line writers add.
    pub separator: &'a [u8],
}

impl Entry<'_> {
    /// The message as sent: [`Entry::stored`] with one level of `>From` quoting removed.
    pub fn message(&self) -> Vec<u8> {
        unquote(self.stored)
    }
}

const DAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// True when `line` (without its line ending) is a postmark: `From SENDER DATE`, the date in
/// asctime(3) form (`Www Mmm dd hh:mm:ss yyyy`, a time zone allowed after the time or the
/// year), as RFC 4155 §2 describes it and mutt, procmail and Postfix write it. A body line that
/// merely starts with `From ` ("From the figures: ...") is not one.
pub fn is_postmark(line: &[u8]) -> bool {
    let Some(rest) = line.strip_prefix(b"From ") else {
        return false;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return false;
    };
    let words: Vec<&str> = text.split_ascii_whitespace().collect();
    // words[0] is the sender; the date follows somewhere after it.
    (1..words.len()).any(|i| {
        let w = &words[i..];
        w.len() >= 5
            && DAYS.contains(&w[0])
            && MONTHS.contains(&w[1])
            && w[2].len() <= 2
            && w[2].bytes().all(|b| b.is_ascii_digit())
            && w[3].bytes().filter(|&b| b == b':').count() >= 1
            && w[3].bytes().all(|b| b.is_ascii_digit() || b == b':')
            && w[4..]
                .iter()
                .take(2)
                .any(|y| y.len() == 4 && y.bytes().all(|b| b.is_ascii_digit()))
    })
}

/// True when a line of `source` after its first is a postmark: it holds more than the one
/// message procmail hands a filter behind its `From ` line ([`split`] would find several).
/// Read in chunks, never whole; a line too long to look at counts as one (the caller then
/// reads the input whole and splits it: memory, never another verdict).
pub fn more_postmarks(source: &crate::stream::Source) -> std::io::Result<bool> {
    const LONGEST: u64 = 64 << 10;
    let finder = memchr::memmem::Finder::new(b"\nFrom ");
    let chunk = crate::stream::CHUNK;
    let mut buf = vec![0; chunk];
    let len = source.len();
    let mut pos = 0;
    while pos < len {
        let n = usize::try_from(len - pos).map_or(chunk, |n| n.min(chunk));
        source.read_at(pos, &mut buf[..n])?;
        for i in finder.find_iter(&buf[..n]) {
            let at = pos + i as u64 + 1;
            let line = source.read_range(at..(at + LONGEST).min(len))?;
            let Some(end) = memchr::memchr(b'\n', &line) else {
                if at + LONGEST < len {
                    return Ok(true);
                }
                return Ok(is_postmark(line.strip_suffix(b"\r").unwrap_or(&line)));
            };
            let line = &line[..end];
            if is_postmark(line.strip_suffix(b"\r").unwrap_or(line)) {
                return Ok(true);
            }
        }
        if pos + n as u64 >= len {
            break;
        }
        // The next window repeats the needle's length less one: a match across two is found.
        pos += n as u64 - 5;
    }
    Ok(false)
}

/// True when `bytes` is an mbox: its first line is a postmark ([`is_postmark`]).
pub fn is_mbox(bytes: &[u8]) -> bool {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    is_postmark(first.strip_suffix(b"\r").unwrap_or(first))
}

/// The messages of an mbox, in order. A new message starts at every line that is a postmark
/// ([`is_postmark`]); the one empty line before it is the separator, not message content.
/// Input that does not start with a postmark gives no entries.
pub fn split(bytes: &[u8]) -> Vec<Entry<'_>> {
    if !is_mbox(bytes) {
        return Vec::new();
    }
    // Line starts of every postmark line.
    let mut starts = Vec::new();
    let mut pos = 0;
    while pos < bytes.len() {
        let end = memchr::memchr(b'\n', &bytes[pos..]).map_or(bytes.len(), |i| pos + i + 1);
        let line = &bytes[pos..end];
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        if line.starts_with(b"From ") && is_postmark(line.strip_suffix(b"\r").unwrap_or(line)) {
            starts.push(pos);
        }
        pos = end;
    }
    let mut out = Vec::with_capacity(starts.len());
    for (i, &start) in starts.iter().enumerate() {
        let stop = starts.get(i + 1).copied().unwrap_or(bytes.len());
        let chunk = &bytes[start..stop];
        let line_end = memchr::memchr(b'\n', chunk).map_or(chunk.len(), |n| n + 1);
        let (from_line, rest) = chunk.split_at(line_end);
        let body_len = rest.len() - separator_len(rest);
        out.push(Entry {
            index: i + 1,
            offset: start,
            from_line,
            stored: &rest[..body_len],
            separator: &rest[body_len..],
        });
    }
    out
}

/// `entry` written back into an mbox with its message replaced by `edited`, the unquoted
/// message after a header-only edit (`--annotate`): the `From ` line, the new header section
/// quoted, then the stored body and separator byte for byte, so body lines keep the quoting
/// they had, even an unquoted `From ` line that is not a postmark. When the edit touched more
/// than the header section, the whole of `edited` is quoted.
pub fn rewrite(entry: &Entry<'_>, edited: &[u8]) -> Vec<u8> {
    let message = entry.message();
    let body = body_start(&message);
    let same_header = entry.stored.get(..body) == message.get(..body);
    let tail = &message[body..];
    let mut out = entry.from_line.to_vec();
    match edited.strip_suffix(tail) {
        Some(head) if same_header => {
            out.extend_from_slice(&quote(head));
            out.extend_from_slice(&entry.stored[body..]);
        }
        _ => out.extend_from_slice(&quote(edited)),
    }
    out.extend_from_slice(entry.separator);
    out
}

/// Where the body of `message` starts: just past the first empty line, or its end.
fn body_start(message: &[u8]) -> usize {
    let mut pos = 0;
    for line in message.split_inclusive(|&b| b == b'\n') {
        pos += line.len();
        if line == b"\n" || line == b"\r\n" {
            return pos;
        }
    }
    message.len()
}

/// The length of the empty line ending `rest` when the line before it ends too (`...\n\n` or
/// `...\r\n\r\n`): the separator an mbox writer adds. 0 when there is none.
fn separator_len(rest: &[u8]) -> usize {
    if rest.ends_with(b"\r\n\r\n") {
        2
    } else if rest.ends_with(b"\n\n") {
        1
    } else {
        0
    }
}

/// Removes one level of mboxrd quoting: a line `>From `, `>>From `, ... loses its first `>`.
pub fn unquote(stored: &[u8]) -> Vec<u8> {
    requote(stored, false)
}

/// Adds one level of mboxrd quoting: every line matching `>*From ` gets one more `>`, so the
/// message can stand in an mbox and [`unquote`] gives it back exactly.
pub fn quote(message: &[u8]) -> Vec<u8> {
    requote(message, true)
}

fn requote(bytes: &[u8], add: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 16);
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let gts = line.iter().take_while(|&&b| b == b'>').count();
        let quoted = line[gts..].starts_with(b"From ");
        match (quoted, add) {
            (true, true) => {
                out.push(b'>');
                out.extend_from_slice(line);
            }
            (true, false) if gts > 0 => out.extend_from_slice(&line[1..]),
            _ => out.extend_from_slice(line),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOX: &[u8] = b"From alice@example.org Sun Nov 29 03:39:09 2026\n\
Subject: one\n\nFrom the figures:\n>From quoted\n>>From twice\n\n\
From bob@example.org Mon Nov 30 10:00:00 2026\nSubject: two\n\nhi\n";

    #[test]
    fn postmarks_and_body_lines() {
        assert!(is_postmark(
            b"From alice@example.org Sun Nov 29 03:39:09 2026"
        ));
        assert!(is_postmark(b"From - Mon Jan  5 10:00:00 2026"));
        assert!(is_postmark(
            b"From MAILER-DAEMON Fri Jul  8 12:08:34 2011 +0200"
        ));
        assert!(is_postmark(b"From a@b Sat Jun  6 16:10:00 +0000 2009"));
        assert!(!is_postmark(b"From the figures: all good."));
        assert!(!is_postmark(b"From: alice@example.org"));
        assert!(!is_postmark(b"From alice@example.org"));
        assert!(is_mbox(BOX));
        assert!(!is_mbox(b"From: a@b\n\nhi\n"));
        assert!(!is_mbox(b""));
    }

    #[test]
    fn splits_at_postmarks_and_keeps_bytes() {
        let e = split(BOX);
        assert_eq!(e.len(), 2);
        assert_eq!((e[0].index, e[0].offset), (1, 0));
        assert_eq!(e[1].index, 2);
        assert_eq!(&BOX[e[1].offset..e[1].offset + 10], b"From bob@e");
        assert_eq!(e[0].separator, b"\n");
        assert_eq!(e[1].separator, b"");
        assert_eq!(
            e[0].message(),
            b"Subject: one\n\nFrom the figures:\nFrom quoted\n>From twice\n"
        );
        let again: Vec<u8> = e.iter().flat_map(|x| rewrite(x, &x.message())).collect();
        assert_eq!(again, BOX);
        let added = rewrite(
            &e[0],
            b"X-A: 1\nSubject: one\n\nFrom the figures:\nFrom quoted\n>From twice\n",
        );
        assert!(added.starts_with(b"From alice@example.org Sun Nov 29 03:39:09 2026\nX-A: 1\nSubject: one\n\nFrom the figures:\n>From quoted\n>>From twice\n\n"));
    }

    #[test]
    fn quoting_round_trips() {
        let m = b"a\nFrom x\n>From y\n>>>From z\nFrom";
        assert_eq!(unquote(&quote(m)), m);
        assert_eq!(quote(b"From x\n"), b">From x\n");
        assert_eq!(unquote(b">From x\n>x\n"), b"From x\n>x\n");
    }
}
