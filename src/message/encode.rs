//! Header values on the wire: RFC 2047 encoded-words and RFC 5322 folding, both ways.
//!
//! Writing ([`encode_field`]) follows the spec's §2.4 recommendation and traps 18 and 21:
//! printable ASCII is emitted as is, anything else becomes `=?UTF-8?Q?…?=` or `=?UTF-8?B?…?=`
//! encoded-words of at most 75 octets (RFC 2047 §2) that never split a UTF-8 sequence, lines are
//! folded at whitespace to stay within 76 octets where possible (RFC 2047 §2, inside RFC 5322
//! §2.1.1's 78), never inside an encoded-word, and the colon is always followed by exactly one
//! space, because Thunderbird's reader splits fields at `": "`.
//!
//! Reading ([`decode_unstructured`]) unfolds, trims and decodes encoded-words in any charset
//! mail-parser knows (trap 22: honour the charset each word names), leaving malformed words and
//! words in unknown charsets as written.

use std::borrow::Cow;

use base64::Engine as _;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose::STANDARD};
use mail_parser::decoders::charsets::{DecoderFnc, map::charset_decoder};

use super::eol::Eol;
use super::header::is_field_name;
use crate::{Error, Result};

/// Line length we keep to where the value allows it, line ending excluded. RFC 5322 §2.1.1 asks
/// for at most 78; RFC 2047 §2 limits a line that holds an encoded-word to 76, and using the
/// stricter bound for every line keeps the folding rule simple.
pub const MAX_LINE: usize = 76;

/// Longest encoded-word we write, delimiters included (RFC 2047 §2).
pub const MAX_ENCODED_WORD: usize = 75;

/// `=?UTF-8?Q?` plus `?=`: the fixed cost of every encoded-word we write.
const WORD_OVERHEAD: usize = "=?UTF-8?Q?".len() + "?=".len();

/// An encoded run whose first piece would carry fewer source bytes than this is moved to the
/// next line instead, so a line does not end in a near-empty encoded-word.
const MIN_PIECE: usize = 8;

/// Renders one header field ready to insert: `Name: value` plus `eol`.
///
/// Leading and trailing spaces and tabs of `value` are dropped (readers trim them anyway, and
/// the separator after the colon is always exactly one space, trap 18). Whitespace-separated
/// words of printable ASCII are written as is; runs of other words (non-ASCII, control
/// characters, or anything containing `=?` that a reader could mistake for an encoded-word) are
/// written as UTF-8 encoded-words, Q or B, whichever is shorter. Lines are folded before
/// whitespace so they stay within [`MAX_LINE`] octets; an ASCII word too long for any line is
/// written unbroken (RFC 5322 §2.1.1's hard limit of 998 is then the caller's concern), while
/// encoded runs are split into as many encoded-words as needed.
///
/// Fails with [`Error::Value`] when `name` is not a valid field name, or when `value` contains
/// CR, LF or NUL: a value must never be able to inject a header line or end the header section.
pub fn encode_field(name: &str, value: &str, eol: Eol) -> Result<Vec<u8>> {
    if !is_field_name(name.as_bytes()) {
        return Err(Error::Value {
            header: name.to_owned(),
            message: "not a valid header field name (printable ASCII without ':' or spaces)".into(),
        });
    }
    if let Some(c) = value.chars().find(|c| matches!(c, '\r' | '\n' | '\0')) {
        let what = match c {
            '\r' => "a carriage return",
            '\n' => "a line feed",
            _ => "a NUL character",
        };
        return Err(Error::Value {
            header: name.to_owned(),
            message: format!("value contains {what}; a header value must be a single line"),
        });
    }
    let value = value.trim_matches([' ', '\t']);
    let mut f = Folder {
        out: Vec::with_capacity(name.len() + 2 + value.len() * 2 + 2),
        line: 0,
        has_token: false,
        eol,
    };
    f.push(name.as_bytes());
    f.push(b": ");

    let words = split_words(value);
    let mut i = 0;
    while let Some(&(ws_start, start, end)) = words.get(i) {
        let ws = &value[ws_start..start];
        if !needs_encoding(&value[start..end]) {
            f.plain(ws, &value[start..end]);
            i += 1;
            continue;
        }
        // Consecutive words that need encoding go into one run, the whitespace between them
        // included: a reader drops whitespace between adjacent encoded-words (RFC 2047 §6.2),
        // so it must travel inside the encoded text.
        let mut j = i;
        while words
            .get(j + 1)
            .is_some_and(|w| needs_encoding(&value[w.1..w.2]))
        {
            j += 1;
        }
        let run_end = words.get(j).map_or(end, |w| w.2);
        f.encoded(ws, &value[start..run_end]);
        i = j + 1;
    }
    f.out.extend_from_slice(eol.as_bytes());
    Ok(f.out)
}

/// `(whitespace start, word start, word end)` for each whitespace-separated word of `value`,
/// which has no leading whitespace.
fn split_words(value: &str) -> Vec<(usize, usize, usize)> {
    let b = value.as_bytes();
    let mut words = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let ws_start = i;
        while i < b.len() && is_wsp(b[i]) {
            i += 1;
        }
        let start = i;
        while i < b.len() && !is_wsp(b[i]) {
            i += 1;
        }
        if start < i {
            words.push((ws_start, start, i));
        }
    }
    words
}

fn is_wsp(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// Whether a word cannot be written as is: it has bytes outside printable ASCII (RFC 5322
/// §3.2.5 `unstructured` is VCHAR and WSP), or contains `=?` and could be read as an
/// encoded-word.
fn needs_encoding(word: &str) -> bool {
    word.bytes().any(|b| !(0x21..=0x7e).contains(&b)) || word.contains("=?")
}

/// Builds the folded field, tracking the length of the current line.
struct Folder {
    out: Vec<u8>,
    /// Octets on the current line so far.
    line: usize,
    /// Whether a word follows the colon already. Before that we never fold: the colon must
    /// stay followed by a space on the same line (trap 18).
    has_token: bool,
    /// The line ending of the message the field goes into, also used when folding.
    eol: Eol,
}

impl Folder {
    fn push(&mut self, b: &[u8]) {
        self.out.extend_from_slice(b);
        self.line += b.len();
    }

    /// Starts a continuation line. Callers fold only before whitespace, so unfolding (removing
    /// the line break, RFC 5322 §2.2.3) gives back exactly the unfolded text.
    fn fold(&mut self) {
        self.out.extend_from_slice(self.eol.as_bytes());
        self.line = 0;
    }

    /// A word written as is, after its whitespace.
    fn plain(&mut self, ws: &str, word: &str) {
        if self.has_token && self.line + ws.len() + word.len() > MAX_LINE {
            self.fold();
        }
        self.push(ws.as_bytes());
        self.push(word.as_bytes());
        self.has_token = true;
    }

    /// A run of text written as encoded-words, after the whitespace `ws` that precedes it.
    fn encoded(&mut self, ws: &str, run: &str) {
        let q = QEncoding::cost(run.as_bytes());
        let b = b64_len(run.len());
        let kind = if q <= b { Kind::Q } else { Kind::B };
        let mut rest = run;
        let mut sep = ws;
        while !rest.is_empty() {
            let foldable = self.has_token && !sep.is_empty();
            let room = MAX_LINE
                .saturating_sub(self.line + sep.len())
                .min(MAX_ENCODED_WORD);
            let mut n = kind.fit(rest, room);
            if foldable && (n == 0 || (n < rest.len() && n < MIN_PIECE)) {
                self.fold();
                let room = MAX_LINE.saturating_sub(sep.len()).min(MAX_ENCODED_WORD);
                n = kind.fit(rest, room);
            }
            if n == 0 {
                // Nothing fits (a long name before the first word, or a very long whitespace
                // run): one character still makes a valid word, at most 24 octets, and a
                // line over the bound is allowed ("SHOULD", RFC 5322 §2.1.1).
                n = rest.chars().next().map_or(rest.len(), char::len_utf8);
            }
            let (piece, tail) = rest.split_at(n);
            self.push(sep.as_bytes());
            kind.write(piece.as_bytes(), self);
            self.has_token = true;
            rest = tail;
            // Between the encoded-words of one run a single space, which readers drop.
            sep = " ";
        }
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Q,
    B,
}

impl Kind {
    /// The byte length of the longest prefix of `s`, ending on a character boundary, whose
    /// encoded-word is at most `room` octets.
    fn fit(self, s: &str, room: usize) -> usize {
        let Some(budget) = room.checked_sub(WORD_OVERHEAD) else {
            return 0;
        };
        let mut used = 0;
        let mut n = 0;
        for c in s.chars() {
            let len = c.len_utf8();
            let cost = match self {
                Kind::Q => {
                    let mut buf = [0u8; 4];
                    QEncoding::cost(c.encode_utf8(&mut buf).as_bytes())
                }
                Kind::B => b64_len(n + len) - used,
            };
            if used + cost > budget {
                break;
            }
            used += cost;
            n += len;
        }
        n
    }

    fn write(self, piece: &[u8], f: &mut Folder) {
        let mut w = Vec::with_capacity(MAX_ENCODED_WORD);
        match self {
            Kind::Q => {
                w.extend_from_slice(b"=?UTF-8?Q?");
                QEncoding::write(piece, &mut w);
            }
            Kind::B => {
                w.extend_from_slice(b"=?UTF-8?B?");
                w.extend_from_slice(STANDARD.encode(piece).as_bytes());
            }
        }
        w.extend_from_slice(b"?=");
        f.push(&w);
    }
}

fn b64_len(n: usize) -> usize {
    n.div_ceil(3) * 4
}

/// RFC 2047 §4.2 "Q" encoding, restricted to the characters §5(3) allows everywhere, so the
/// same words are safe in a phrase should a caller put them in an address header.
struct QEncoding;

impl QEncoding {
    fn literal(b: u8) -> bool {
        b.is_ascii_alphanumeric() || matches!(b, b'!' | b'*' | b'+' | b'-' | b'/')
    }

    fn cost(bytes: &[u8]) -> usize {
        bytes
            .iter()
            .map(|&b| if Self::literal(b) || b == b' ' { 1 } else { 3 })
            .sum()
    }

    fn write(bytes: &[u8], out: &mut Vec<u8>) {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        for &b in bytes {
            if Self::literal(b) {
                out.push(b);
            } else if b == b' ' {
                // §4.2(2): "_" stands for a space and reads better than "=20".
                out.push(b'_');
            } else {
                out.extend_from_slice(&[b'=', HEX[usize::from(b >> 4)], HEX[usize::from(b & 15)]]);
            }
        }
    }
}

/// Removes every line break (CRLF or LF) from a raw field value: RFC 5322 §2.2.3 unfolding.
/// In a parsed field every break is followed by whitespace, which stays.
pub fn unfold(raw: &[u8]) -> Cow<'_, [u8]> {
    if !raw.contains(&b'\n') {
        return Cow::Borrowed(raw);
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while let Some(&b) = raw.get(i) {
        if b == b'\n' || (b == b'\r' && raw.get(i + 1) == Some(&b'\n')) {
            i += 1;
            continue;
        }
        out.push(b);
        i += 1;
    }
    Cow::Owned(out)
}

/// A raw unstructured field value as a reader means it: unfolded ([`unfold`]), trimmed of
/// leading and trailing spaces and tabs, and with encoded-words decoded ([`decode_words`]).
pub fn decode_unstructured(raw: &[u8]) -> String {
    let unfolded = unfold(raw);
    let start = unfolded.iter().position(|&b| !is_wsp(b));
    let end = unfolded.iter().rposition(|&b| !is_wsp(b));
    match (start, end) {
        (Some(s), Some(e)) => decode_words(unfolded.get(s..=e).unwrap_or(&[])),
        _ => String::new(),
    }
}

/// Text with its RFC 2047 encoded-words decoded.
///
/// Each word is decoded with the charset it names (RFC 2231 §5 language suffixes ignored):
/// UTF-8, plus every charset mail-parser's table knows (ISO-8859-x, windows-125x, KOI8, the
/// CJK sets…; ISO-8859-1 and US-ASCII are read as windows-1252, as the WHATWG Encoding
/// standard and mail-parser do). Whitespace between two adjacent encoded-words is dropped
/// (RFC 2047 §6.2), and adjacent words in the same charset are decoded together, so a
/// character a sender split across words is recovered. A word with an unknown charset, an
/// encoding other than Q or B, or invalid Q/B text is left as written. Bytes outside encoded
/// words that are not UTF-8 become U+FFFD. Words are recognised even without surrounding
/// whitespace, as most readers do.
pub fn decode_words(text: &[u8]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending: Option<Decoded> = None;
    let mut lit_start = 0;
    let mut i = 0;
    while let Some(off) = find(text.get(i..).unwrap_or(&[]), b"=?") {
        let at = i + off;
        let Some(word) = Decoded::parse(text.get(at..).unwrap_or(&[])) else {
            i = at + 1;
            continue;
        };
        let between = text.get(lit_start..at).unwrap_or(&[]);
        let next_start = at + word.len;
        match pending.as_mut() {
            Some(p) if between.iter().all(|&b| is_wsp(b)) && p.charset == word.charset => {
                p.bytes.extend_from_slice(&word.bytes);
            }
            Some(_) if between.iter().all(|&b| is_wsp(b)) => {
                if let Some(p) = pending.replace(word) {
                    p.flush(&mut out);
                }
            }
            _ => {
                if let Some(p) = pending.replace(word) {
                    p.flush(&mut out);
                }
                out.push_str(&String::from_utf8_lossy(between));
            }
        }
        i = next_start;
        lit_start = next_start;
    }
    if let Some(p) = pending {
        p.flush(&mut out);
    }
    out.push_str(&String::from_utf8_lossy(
        text.get(lit_start..).unwrap_or(&[]),
    ));
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The decoded bytes of one or more adjacent encoded-words in one charset.
struct Decoded {
    /// The charset name, lowercased, for comparing adjacent words.
    charset: String,
    decoder: Decoder,
    bytes: Vec<u8>,
    /// Length of the word as written (for a freshly parsed word).
    len: usize,
}

#[derive(Clone, Copy)]
enum Decoder {
    Utf8,
    Table(DecoderFnc),
}

/// Base64 as written by real mailers: padding optional, stray trailing bits tolerated.
const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

impl Decoded {
    /// Parses the encoded-word `=?charset?enc?text?=` (RFC 2047 §2) at the start of `s`.
    fn parse(s: &[u8]) -> Option<Decoded> {
        let rest = s.strip_prefix(b"=?")?;
        let q1 = rest.iter().position(|&b| b == b'?')?;
        let charset_full = &rest[..q1];
        if charset_full.is_empty()
            || charset_full.len() > 64
            || !charset_full.iter().all(|&b| (0x21..=0x7e).contains(&b))
        {
            return None;
        }
        let after = &rest[q1 + 1..];
        let enc = *after.first()?;
        if after.get(1) != Some(&b'?') {
            return None;
        }
        let body = after.get(2..)?;
        let q2 = body.iter().position(|&b| b == b'?')?;
        if body.get(q2 + 1) != Some(&b'=') {
            return None;
        }
        let encoded = &body[..q2];
        if !encoded.iter().all(|&b| (0x21..=0x7e).contains(&b)) {
            return None;
        }
        // RFC 2231 §5: `charset*language`.
        let charset = charset_full
            .split(|&b| b == b'*')
            .next()
            .unwrap_or(charset_full);
        let decoder =
            if charset.eq_ignore_ascii_case(b"utf-8") || charset.eq_ignore_ascii_case(b"utf8") {
                Decoder::Utf8
            } else {
                Decoder::Table(charset_decoder(charset)?)
            };
        let bytes = match enc.to_ascii_uppercase() {
            b'Q' => q_decode(encoded)?,
            b'B' => LENIENT_B64.decode(encoded).ok()?,
            _ => return None,
        };
        Some(Decoded {
            charset: String::from_utf8_lossy(charset).to_ascii_lowercase(),
            decoder,
            bytes,
            len: 2 + q1 + 1 + 2 + q2 + 2,
        })
    }

    fn flush(self, out: &mut String) {
        match self.decoder {
            Decoder::Utf8 => out.push_str(&String::from_utf8_lossy(&self.bytes)),
            Decoder::Table(f) => out.push_str(&f(&self.bytes)),
        }
    }
}

/// RFC 2047 §4.2: `_` is a space, `=XX` a byte; a malformed escape makes the word invalid.
fn q_decode(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while let Some(&b) = text.get(i) {
        match b {
            b'_' => out.push(b' '),
            b'=' => {
                let hi = hex(*text.get(i + 1)?)?;
                let lo = hex(*text.get(i + 2)?)?;
                out.push(hi << 4 | lo);
                i += 2;
            }
            _ => out.push(b),
        }
        i += 1;
    }
    Some(out)
}

fn hex(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(name: &str, value: &str) -> String {
        let bytes = encode_field(name, value, Eol::Lf).expect("encodable");
        String::from_utf8(bytes).expect("encoded fields are ASCII")
    }

    /// The raw value of a rendered field: after the colon, without the final line ending.
    fn raw_value(field: &str) -> &str {
        let colon = field.find(':').expect("a colon");
        field[colon + 1..].trim_end_matches(['\r', '\n'])
    }

    fn encoded_words(field: &str) -> Vec<&str> {
        field
            .split([' ', '\t', '\r', '\n'])
            .filter(|t| t.starts_with("=?UTF-8?"))
            .collect()
    }

    /// Checks the shape every rendered field must have and returns its decoded value.
    fn check_shape(field: &str, eol: &str) -> String {
        assert!(field.ends_with(eol));
        let body = &field[..field.len() - eol.len()];
        for (i, line) in body.split(eol).enumerate() {
            assert!(!line.contains(['\r', '\n']), "stray line break in {line:?}");
            if i > 0 {
                assert!(
                    line.starts_with([' ', '\t']),
                    "continuation without WSP: {line:?}"
                );
                assert!(!line.trim().is_empty(), "whitespace-only line in {field:?}");
            }
        }
        for w in encoded_words(field) {
            assert!(w.len() <= MAX_ENCODED_WORD, "{w} is {} octets", w.len());
            assert!(w.ends_with("?="), "word split across lines: {w}");
            let decoded = Decoded::parse(w.as_bytes()).expect("a valid encoded-word");
            assert!(
                std::str::from_utf8(&decoded.bytes).is_ok(),
                "{w} splits a UTF-8 sequence"
            );
        }
        decode_unstructured(raw_value(field).as_bytes())
    }

    fn max_line(field: &str) -> usize {
        field.lines().map(str::len).max().unwrap_or(0)
    }

    #[test]
    fn ascii_is_written_as_is() {
        assert_eq!(enc("Subject", "hello world"), "Subject: hello world\n");
        assert_eq!(
            encode_field("X-XIMF-NAME", "Amoco", Eol::Crlf).expect("ascii"),
            b"X-XIMF-NAME: Amoco\r\n"
        );
        // Printable ASCII that is special elsewhere stays literal in unstructured text.
        assert_eq!(
            enc("X", "a_b ?= c=d (e) \"f\""),
            "X: a_b ?= c=d (e) \"f\"\n"
        );
    }

    #[test]
    fn exactly_one_space_after_the_colon() {
        assert_eq!(enc("X", "  padded \t"), "X: padded\n");
        assert_eq!(enc("X", "\tx"), "X: x\n");
        assert_eq!(enc("X", ""), "X: \n");
        assert_eq!(enc("X", " \t "), "X: \n");
    }

    #[test]
    fn inner_whitespace_is_kept() {
        let v = "a  b\tc \t é  \tf";
        let f = enc("X", v);
        assert_eq!(check_shape(&f, "\n"), v);
        assert!(f.starts_with("X: a  b\tc \t "), "{f}");
    }

    #[test]
    fn refuses_line_breaks_and_nul() {
        for v in ["a\rb", "a\nb", "a\r\nX-Evil: 1", "a\0b", "\n"] {
            match encode_field("X-Test", v, Eol::Lf) {
                Err(Error::Value { header, message }) => {
                    assert_eq!(header, "X-Test");
                    assert!(message.contains("single line"), "{message}");
                }
                other => panic!("{v:?}: expected Error::Value, got {other:?}"),
            }
        }
    }

    #[test]
    fn refuses_bad_names() {
        for n in ["", "A B", "A:B", "Näme", "A\n"] {
            assert!(
                matches!(encode_field(n, "v", Eol::Lf), Err(Error::Value { .. })),
                "{n:?}"
            );
        }
    }

    #[test]
    fn other_controls_are_encoded() {
        let v = "bell\x07 del\x7f ok";
        let f = enc("X", v);
        assert!(!f.bytes().any(|b| b < 0x20 && b != b'\n'), "{f:?}");
        assert!(!f.contains('\x7f'));
        assert_eq!(check_shape(&f, "\n"), v);
    }

    #[test]
    fn lookalike_encoded_words_are_encoded() {
        // Written as is, a reader would decode it to "y".
        let v = "a =?UTF-8?Q?y?= b";
        let f = enc("X", v);
        assert_eq!(check_shape(&f, "\n"), v);
        assert_eq!(encoded_words(&f).len(), 1);
    }

    #[test]
    fn long_ascii_folds_at_whitespace() {
        let v = (0..60)
            .map(|i| format!("w{i:03}"))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(v.len() >= 290);
        for (eol, s) in [(Eol::Lf, "\n"), (Eol::Crlf, "\r\n")] {
            let f = String::from_utf8(
                encode_field("X-XIMF-Originator-Reference", &v, eol).expect("ascii"),
            )
            .expect("ascii");
            assert!(max_line(&f) <= MAX_LINE, "{f}");
            assert!(f.matches(s).count() > 3, "{f}");
            assert!(encoded_words(&f).is_empty());
            assert_eq!(check_shape(&f, s), v);
        }
    }

    #[test]
    fn a_too_long_ascii_word_stays_whole() {
        let long = "x".repeat(200);
        let v = format!("short {long} tail");
        let f = enc("X", &v);
        assert_eq!(f, format!("X: short\n {long}\n tail\n"));
        assert_eq!(check_shape(&f, "\n"), v);
    }

    #[test]
    fn long_non_ascii_becomes_short_words() {
        for v in [
            "é".repeat(150),
            "日本語".repeat(40),
            "😀".repeat(60),
            "Réunion de crise à Montréal, ordre du jour révisé ".repeat(5),
            "a😀b日c".repeat(30),
        ] {
            let f = enc("X-XIMF-Privacy-Mark", &v);
            assert!(max_line(&f) <= MAX_LINE, "{f}");
            assert!(encoded_words(&f).len() > 1, "{f}");
            assert_eq!(check_shape(&f, "\n"), v.trim());
        }
    }

    #[test]
    fn picks_the_shorter_encoding() {
        // Mostly ASCII: Q is shorter and readable.
        let f = enc("X", "Ångströms-per-nanometre");
        assert_eq!(f, "X: =?UTF-8?Q?=C3=85ngstr=C3=B6ms-per-nanometre?=\n");
        // Equal-ish: "Ångström" is 18 octets in Q, 16 in B.
        let f = enc("X", "Ångström");
        assert_eq!(f, "X: =?UTF-8?B?w4VuZ3N0csO2bQ==?=\n");
        // Mostly multi-byte: B is shorter.
        let f = enc("X", "日本語");
        assert_eq!(f, "X: =?UTF-8?B?5pel5pys6Kqe?=\n");
        // A space inside a Q word is "_", an underscore is escaped.
        let f = enc("X", "é a_b é");
        assert_eq!(check_shape(&f, "\n"), "é a_b é");
        let f = enc("X", "Straße Straßenbahnhaltestelle");
        assert_eq!(
            f,
            "X: =?UTF-8?Q?Stra=C3=9Fe_Stra=C3=9Fenbahnhaltestelle?=\n"
        );
    }

    #[test]
    fn ascii_words_around_encoded_ones_stay_plain() {
        let f = enc("Subject", "Re: Caféteria meeting");
        assert_eq!(f, "Subject: Re: =?UTF-8?Q?Caf=C3=A9teria?= meeting\n");
        assert_eq!(check_shape(&f, "\n"), "Re: Caféteria meeting");
    }

    #[test]
    fn long_name_still_gets_a_first_word() {
        let name = format!("X-{}", "N".repeat(80));
        let f = enc(&name, "é and more words");
        assert!(f.starts_with(&format!("{name}: =?UTF-8?")), "{f}");
        assert_eq!(check_shape(&f, "\n"), "é and more words");
    }

    #[test]
    fn random_values_round_trip() {
        let pool = [
            "a",
            "Z",
            "0",
            " ",
            " ",
            "\t",
            "=",
            "?",
            "_",
            "-",
            "é",
            "ß",
            "日",
            "本",
            "😀",
            "\u{1}",
            "=?",
            "?=",
            "word",
            "xxxxxxxxxxxxxxxx",
        ];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for _ in 0..500 {
            let len = (next() % 120) as usize;
            let v: String = (0..len)
                .map(|_| pool[(next() % pool.len() as u64) as usize])
                .collect();
            for (eol, s) in [(Eol::Lf, "\n"), (Eol::Crlf, "\r\n")] {
                let f = String::from_utf8(encode_field("X-Test", &v, eol).expect("no CR/LF/NUL"))
                    .expect("ASCII");
                assert!(f.is_ascii());
                assert!(max_line(&f) <= MAX_LINE, "{v:?} -> {f}");
                assert_eq!(check_shape(&f, s), v.trim_matches([' ', '\t']), "{f}");
            }
        }
    }

    #[test]
    fn decodes_named_charsets() {
        let d = |s: &str| decode_unstructured(s.as_bytes());
        assert_eq!(d("=?ISO-8859-1?Q?Caf=E9?="), "Café");
        assert_eq!(d("=?iso-8859-1?q?caf=e9?="), "café");
        assert_eq!(d("=?UTF-8?B?Q2Fmw6k=?="), "Café");
        assert_eq!(d("=?utf-8?b?Q2Fmw6k?="), "Café", "padding is optional");
        assert_eq!(d("=?UTF-8*fr?Q?Caf=C3=A9?="), "Café", "RFC 2231 language");
        assert_eq!(d("=?ISO-8859-15?Q?=A4?="), "€");
        assert_eq!(d("=?windows-1252?Q?=80?="), "€");
        assert_eq!(d("=?US-ASCII?Q?plain_text?="), "plain text");
        assert_eq!(d("=?koi8-r?B?8NLJ18XU?="), "Привет");
    }

    #[test]
    fn joins_adjacent_words() {
        let d = |s: &str| decode_unstructured(s.as_bytes());
        // RFC 2047 §6.2: whitespace between encoded-words is not displayed...
        assert_eq!(d("=?UTF-8?Q?a?= =?UTF-8?Q?b?="), "ab");
        assert_eq!(
            d("=?UTF-8?Q?a?=\r\n =?UTF-8?Q?b?=\n\t=?ISO-8859-1?Q?=E9?="),
            "abé"
        );
        // ...but whitespace between a word and plain text is.
        assert_eq!(d("=?UTF-8?Q?a?= b =?UTF-8?Q?c?="), "a b c");
        assert_eq!(d("x =?UTF-8?Q?a?=  y"), "x a  y");
        // A character split across two words is put back together.
        assert_eq!(d("=?UTF-8?Q?=E6=97?= =?UTF-8?Q?=A5?="), "日");
        assert_eq!(d("=?UTF-8?B?5pe=?= =?UTF-8?B?pQ==?="), "日");
    }

    #[test]
    fn leaves_malformed_words_as_written() {
        let d = |s: &str| decode_unstructured(s.as_bytes());
        for s in [
            "=?UTF-8?Q?bad=ZZ?=",
            "=?UTF-8?Q?cut=E?=",
            "=?UTF-8?X?what?=",
            "=?no-such-charset?Q?x?=",
            "=??Q?x?=",
            "=?UTF-8?Q?unterminated",
            "=?UTF-8?B?!!!?=",
            "=?UTF-8?Q",
            "=?",
            "a =? b ?= c",
        ] {
            assert_eq!(d(s), s);
        }
        // A bad word does not stop later good ones.
        assert_eq!(
            d("=?UTF-8?Q?bad=ZZ?= =?UTF-8?Q?ok?="),
            "=?UTF-8?Q?bad=ZZ?= ok"
        );
        assert_eq!(d("=?=?UTF-8?Q?ok?="), "=?ok");
    }

    #[test]
    fn unfolds_and_trims() {
        assert_eq!(decode_unstructured(b" a\r\n b\n\tc  "), "a b\tc");
        assert_eq!(decode_unstructured(b"   "), "");
        assert_eq!(decode_unstructured(b""), "");
        assert_eq!(&*unfold(b"a\r\n b"), b"a b");
        assert!(matches!(unfold(b"a b"), Cow::Borrowed(_)));
        // Raw 8-bit outside words: UTF-8 kept (RFC 6532), anything else replaced.
        assert_eq!(decode_unstructured(b"caf\xc3\xa9 \xe9"), "café \u{fffd}");
    }
}
