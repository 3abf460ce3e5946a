//! Base64 and quoted-printable (RFC 2045 §6.7, §6.8), whole and over content that comes in
//! chunks (issue 13). Each whole-body function runs its incremental coder over one chunk, so
//! a message held in memory and one streamed from its file are encoded by the same code.

use base64::Engine as _;

/// Decodes base64, ignoring white space and line breaks.
pub fn base64_decode(data: &[u8]) -> Option<Vec<u8>> {
    let clean: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// Base64 with CRLF every 76 characters (RFC 2045 §6.8): [`Base64Encoder`] over one chunk.
pub fn base64_lines(data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() / 57 * 78 + 80);
    let mut e = Base64Encoder::default();
    e.update(data, &mut out);
    e.finish(&mut out);
    out
}

/// Base64 with CRLF every 76 characters over content that comes in chunks: every 57 octets
/// make one full line, the last line holds the rest.
#[derive(Default)]
pub struct Base64Encoder {
    /// Fewer than 57 octets not yet written.
    pending: Vec<u8>,
}

impl Base64Encoder {
    const LINE: usize = 57;

    /// Takes the next chunk, appending the whole lines it completes to `out`.
    pub fn update(&mut self, mut chunk: &[u8], out: &mut Vec<u8>) {
        if !self.pending.is_empty() {
            let take = (Self::LINE - self.pending.len()).min(chunk.len());
            self.pending.extend_from_slice(&chunk[..take]);
            chunk = &chunk[take..];
            if self.pending.len() < Self::LINE {
                return;
            }
            let line = std::mem::take(&mut self.pending);
            Self::lines(&line, out);
        }
        let whole = chunk.len() / Self::LINE * Self::LINE;
        Self::lines(&chunk[..whole], out);
        self.pending.extend_from_slice(&chunk[whole..]);
    }

    /// Appends the last line (none when the content was empty or filled its lines).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let rest = std::mem::take(&mut self.pending);
        Self::lines(&rest, out);
    }

    fn lines(data: &[u8], out: &mut Vec<u8>) {
        let engine = &base64::engine::general_purpose::STANDARD;
        for line in data.chunks(Self::LINE) {
            let at = out.len();
            out.resize(at + 76, 0);
            let n = engine
                .encode_slice(line, &mut out[at..])
                .unwrap_or_default();
            out.truncate(at + n);
            out.extend_from_slice(b"\r\n");
        }
    }
}

/// Quoted-printable (RFC 2045 §6.7) of text, with CRLF line endings, safe for signing: 8-bit
/// octets, `=`, trailing white space and the `F` of a leading `From ` are encoded; soft line
/// breaks keep lines under 76 octets. The body is cut into lines at LF, one CR before it
/// (or at the end) going; [`QpEncoder`] over one chunk.
pub fn quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 8);
    let mut e = QpEncoder::default();
    e.update(body, &mut out);
    e.finish(&mut out);
    out
}

/// [`quoted_printable`] over a body that comes in chunks. A byte is written once what
/// decides its encoding has come: for a blank, whether it ends its line (the next byte, or
/// the next two when a CR follows); for an `F` starting a line, the four after it. So at most
/// a few bytes wait for the next chunk.
#[derive(Default)]
pub struct QpEncoder {
    /// Bytes taken but not written yet (at most 6), and a buffer for them and a new chunk.
    held: Vec<u8>,
    /// The column of the output line, and the index of the next byte in its input line.
    col: usize,
    at: usize,
}

impl QpEncoder {
    /// Takes the next chunk, appending what it can encode already to `out`.
    pub fn update(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        if self.held.is_empty() {
            let n = self.encode(chunk, false, out);
            self.held.extend_from_slice(&chunk[n..]);
            return;
        }
        // The held bytes and the start of the chunk together, for the bytes that waited.
        let mut data = std::mem::take(&mut self.held);
        let head = chunk.len().min(8);
        data.extend_from_slice(&chunk[..head]);
        let n = self.encode(&data, false, out);
        if n < data.len() - head {
            // Still waiting, on bytes of the chunk's head only when the chunk is shorter.
            data.extend_from_slice(&chunk[head..]);
            data.drain(..n);
            self.held = data;
            return;
        }
        let from = n - (data.len() - head);
        let m = self.encode(&chunk[from..], false, out);
        self.held.extend_from_slice(&chunk[from + m..]);
    }

    /// Encodes what is held: the body ends.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let data = std::mem::take(&mut self.held);
        self.encode(&data, true, out);
        self.col = 0;
        self.at = 0;
    }

    /// Encodes a prefix of `data` (all of it at the end of the body: `eof`) and says how long.
    fn encode(&mut self, data: &[u8], eof: bool, out: &mut Vec<u8>) -> usize {
        let mut i = 0;
        while i < data.len() {
            let b = data[i];
            if b == b'\n' {
                out.extend_from_slice(b"\r\n");
                self.col = 0;
                self.at = 0;
                i += 1;
                continue;
            }
            // Whether the line ends after `data[j]`'s predecessor: at LF, at a CR before an
            // LF or the end, at the end; `None` until that is known.
            let ends_at = |j: usize| -> Option<bool> {
                match data.get(j) {
                    None => eof.then_some(true),
                    Some(b'\n') => Some(true),
                    Some(b'\r') => match data.get(j + 1) {
                        None => eof.then_some(true),
                        Some(&c) => Some(c == b'\n'),
                    },
                    Some(_) => Some(false),
                }
            };
            if b == b'\r' {
                match ends_at(i) {
                    None => return i,
                    // The CR that ends a line goes, as `strip_suffix` takes it.
                    Some(true) => {
                        i += 1;
                        continue;
                    }
                    Some(false) => {}
                }
            }
            let trailing_ws = match b {
                b' ' | b'\t' => match ends_at(i + 1) {
                    None => return i,
                    Some(e) => e,
                },
                _ => false,
            };
            let from_line = self.at == 0 && b == b'F' && {
                let have = &data[i..data.len().min(i + 5)];
                if have.len() < 5 && !eof && b"From ".starts_with(have) {
                    return i;
                }
                have == b"From "
            };
            let enc =
                b == b'=' || !(0x20..0x7f).contains(&b) && b != b'\t' || trailing_ws || from_line;
            let width = if enc { 3 } else { 1 };
            if self.col + width > 75 {
                out.extend_from_slice(b"=\r\n");
                self.col = 0;
            }
            if enc {
                const HEX: &[u8; 16] = b"0123456789ABCDEF";
                out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            } else {
                out.push(b);
            }
            self.col += width;
            self.at += 1;
            i += 1;
        }
        i
    }
}

/// Decodes quoted-printable leniently (bad escapes are kept as they are): [`QpDecoder`] over
/// one chunk.
pub fn quoted_printable_decode(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
    let mut d = QpDecoder::default();
    d.update(body, &mut out);
    d.finish(&mut out);
    out
}

/// [`quoted_printable_decode`] over a body that comes in chunks: an `=` waits for the two
/// bytes after it.
#[derive(Default)]
pub struct QpDecoder {
    /// An `=` and what came after it (at most 2 bytes in all), not decoded yet.
    held: Vec<u8>,
}

impl QpDecoder {
    /// Takes the next chunk, appending what it decodes to `out`.
    pub fn update(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        if self.held.is_empty() {
            let n = decode_qp(chunk, false, out);
            self.held.extend_from_slice(&chunk[n..]);
            return;
        }
        let mut data = std::mem::take(&mut self.held);
        let head = chunk.len().min(2);
        data.extend_from_slice(&chunk[..head]);
        let n = decode_qp(&data, false, out);
        if n < data.len() - head {
            data.extend_from_slice(&chunk[head..]);
            data.drain(..n);
            self.held = data;
            return;
        }
        let from = n - (data.len() - head);
        let m = decode_qp(&chunk[from..], false, out);
        self.held.extend_from_slice(&chunk[from + m..]);
    }

    /// Decodes what is held: the body ends.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let data = std::mem::take(&mut self.held);
        decode_qp(&data, true, out);
    }
}

/// Decodes a prefix of `body` (all of it at the end: `eof`) and says how long.
fn decode_qp(body: &[u8], eof: bool, out: &mut Vec<u8>) -> usize {
    let hex = |b: u8| (b as char).to_digit(16);
    let mut i = 0;
    while i < body.len() {
        let Some(eq) = memchr::memchr(b'=', &body[i..]) else {
            out.extend_from_slice(&body[i..]);
            return body.len();
        };
        out.extend_from_slice(&body[i..i + eq]);
        i += eq;
        if !eof && body.len() < i + 3 {
            // Two more bytes say what the `=` is (a lone `=\n` is known sooner, but it
            // may wait).
            return i;
        }
        if body.get(i + 1) == Some(&b'\n') {
            i += 2;
            continue;
        }
        if body.get(i + 1) == Some(&b'\r') && body.get(i + 2) == Some(&b'\n') {
            i += 3;
            continue;
        }
        if let (Some(h), Some(l)) = (
            body.get(i + 1).and_then(|&c| hex(c)),
            body.get(i + 2).and_then(|&c| hex(c)),
        ) {
            out.push((h * 16 + l) as u8);
            i += 3;
            continue;
        }
        out.push(b'=');
        i += 1;
    }
    i
}

#[cfg(test)]
pub(crate) mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::mime::transfer::seven_bit_safe;

    /// The whole-body functions as they were before they became incremental (issue 13): the
    /// incremental ones must give their bytes, however the body is cut.
    mod reference {
        pub fn quoted_printable(body: &[u8]) -> Vec<u8> {
            let mut out = Vec::new();
            let mut lines = body.split(|&b| b == b'\n').peekable();
            while let Some(line) = lines.next() {
                let line = line.strip_suffix(b"\r").unwrap_or(line);
                let mut col = 0;
                for (i, &b) in line.iter().enumerate() {
                    let trailing_ws = (b == b' ' || b == b'\t') && i + 1 == line.len();
                    let from_line = i == 0 && line.starts_with(b"From ");
                    let enc = b == b'='
                        || !(0x20..0x7f).contains(&b) && b != b'\t'
                        || trailing_ws
                        || from_line;
                    let width = if enc { 3 } else { 1 };
                    if col + width > 75 {
                        out.extend_from_slice(b"=\r\n");
                        col = 0;
                    }
                    if enc {
                        out.extend_from_slice(format!("={b:02X}").as_bytes());
                    } else {
                        out.push(b);
                    }
                    col += width;
                }
                if lines.peek().is_some() {
                    out.extend_from_slice(b"\r\n");
                }
            }
            out
        }

        pub fn quoted_printable_decode(body: &[u8]) -> Vec<u8> {
            let mut out = Vec::new();
            let mut i = 0;
            let hex = |b: u8| (b as char).to_digit(16);
            while i < body.len() {
                let b = body[i];
                if b == b'=' {
                    if body.get(i + 1) == Some(&b'\n') {
                        i += 2;
                        continue;
                    }
                    if body.get(i + 1) == Some(&b'\r') && body.get(i + 2) == Some(&b'\n') {
                        i += 3;
                        continue;
                    }
                    if let (Some(h), Some(l)) = (
                        body.get(i + 1).and_then(|&c| hex(c)),
                        body.get(i + 2).and_then(|&c| hex(c)),
                    ) {
                        out.push((h * 16 + l) as u8);
                        i += 3;
                        continue;
                    }
                }
                out.push(b);
                i += 1;
            }
            out
        }

        pub fn base64_lines(data: &[u8]) -> Vec<u8> {
            use base64::Engine as _;
            let s = base64::engine::general_purpose::STANDARD.encode(data);
            let mut out = Vec::new();
            for chunk in s.as_bytes().chunks(76) {
                out.extend_from_slice(chunk);
                out.extend_from_slice(b"\r\n");
            }
            out
        }
    }

    /// Bodies that reach every rule: soft breaks at 75/76, escapes, blanks and CRs at line
    /// ends and at the end, `From ` lines and their prefixes, long lines, 8-bit and NUL.
    pub(crate) fn bodies() -> Vec<Vec<u8>> {
        let mut v: Vec<Vec<u8>> = [
            &b""[..],
            b"a",
            b" ",
            b"\t",
            b"\r",
            b"\n",
            b"\r\n",
            b"a \r\nb\t\nc ",
            b"a \r",
            b"a \rb",
            b"x\r\r\ny\r",
            b"From me\nFrom\nFrom \nFro\nFrom\r\nFrom \r\n>From x\n From y",
            b"F",
            b"Fr",
            b"From",
            b"From ",
            b"\nFrom",
            b"caf\xc3\xa9 = ok \r\n\x00\x7f\xff\r\n",
            b"=41=4=\n=\r\n==3D=zz=a=\r=",
            b"soft=\r\nbreak=\nend=",
            b"=0",
            b"=",
            b"=\r",
        ]
        .iter()
        .map(|b| b.to_vec())
        .collect();
        for n in [74usize, 75, 76, 77, 150, 151, 998, 999] {
            v.push(vec![b'a'; n]);
            let mut l = vec![b'a'; n - 1];
            l.push(b' ');
            v.push(l.clone());
            l.extend_from_slice(b"\r\nx");
            v.push(l);
            let mut e = vec![b'b'; n - 2];
            e.extend_from_slice("\u{e9}=".as_bytes());
            v.push(e);
        }
        // Pseudo-random mixes of the bytes that matter.
        let alphabet = b"ab =\t\r\nF\x80\x00From 3D";
        let mut x = 7u32;
        for len in [40usize, 200, 600] {
            for _ in 0..30 {
                let b: Vec<u8> = (0..len)
                    .map(|_| {
                        x = x.wrapping_mul(1_103_515_245).wrapping_add(12345);
                        alphabet[(x >> 16) as usize % alphabet.len()]
                    })
                    .collect();
                v.push(b);
            }
        }
        v
    }

    /// `body` cut into pieces at `cuts` (ascending), fed to `update`, then `finish`.
    pub(crate) fn pieces(body: &[u8], cuts: &[usize], mut update: impl FnMut(&[u8])) {
        let mut at = 0;
        for &c in cuts {
            update(&body[at..c]);
            at = c;
        }
        update(&body[at..]);
    }

    /// Every way to cut `body` once and twice (the rare cuts for long bodies), and in pieces
    /// of 1, 2, 3 and 7 bytes.
    pub(crate) fn cuttings(body: &[u8]) -> Vec<Vec<usize>> {
        let n = body.len();
        let step = if n > 200 { 13 } else { 1 };
        let mut v = vec![vec![]];
        for a in (0..=n).step_by(step) {
            v.push(vec![a]);
            if n <= 40 {
                for b in a..=n {
                    v.push(vec![a, b]);
                }
            }
        }
        for size in [1, 2, 3, 7] {
            v.push((1..n).filter(|i| i % size == 0).collect());
        }
        v
    }

    #[test]
    fn incremental_quoted_printable_is_the_whole_at_every_cut() {
        for body in bodies() {
            let want = reference::quoted_printable(&body);
            assert_eq!(quoted_printable(&body), want, "{body:?}");
            for cuts in cuttings(&body) {
                let mut e = QpEncoder::default();
                let mut out = Vec::new();
                pieces(&body, &cuts, |c| e.update(c, &mut out));
                e.finish(&mut out);
                assert!(out == want, "{body:?} cut at {cuts:?}");
                assert!(seven_bit_safe(&out), "{body:?}");
            }
        }
    }

    #[test]
    fn incremental_quoted_printable_decoding_is_the_whole_at_every_cut() {
        for body in bodies() {
            let want = reference::quoted_printable_decode(&body);
            assert_eq!(quoted_printable_decode(&body), want, "{body:?}");
            for cuts in cuttings(&body) {
                let mut d = QpDecoder::default();
                let mut out = Vec::new();
                pieces(&body, &cuts, |c| d.update(c, &mut out));
                d.finish(&mut out);
                assert!(out == want, "{body:?} cut at {cuts:?}");
            }
            // And the round trip of text, CRLF, lines cut by soft breaks.
            let qp = quoted_printable(&body);
            let lines: Vec<&[u8]> = body.split(|&b| b == b'\n').collect();
            let plain: Vec<u8> = lines
                .iter()
                .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
                .collect::<Vec<_>>()
                .join(&b"\r\n"[..]);
            assert_eq!(quoted_printable_decode(&qp), plain, "{body:?}");
        }
    }

    #[test]
    fn incremental_base64_is_the_whole_at_every_cut() {
        for n in [0usize, 1, 2, 3, 56, 57, 58, 113, 114, 115, 1000] {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
            let want = reference::base64_lines(&data);
            assert_eq!(base64_lines(&data), want);
            for cuts in cuttings(&data) {
                let mut e = Base64Encoder::default();
                let mut out = Vec::new();
                pieces(&data, &cuts, |c| e.update(c, &mut out));
                e.finish(&mut out);
                assert!(out == want, "{n} cut at {cuts:?}");
            }
        }
    }
}
