//! Transfer encodings (RFC 2045 §6) and the 7-bit rule set for signed content (RFC 8551
//! §3.1.2, RFC 3156 §3): one place for both mechanisms.

use std::borrow::Cow;

pub use super::coders::{
    Base64Encoder, QpDecoder, QpEncoder, base64_decode, base64_lines, quoted_printable,
    quoted_printable_decode,
};

/// The body decoded per `cte` (lower-case): base64 and quoted-printable are decoded, identity
/// encodings borrow; `None` when base64 does not decode.
pub fn decode<'a>(cte: &str, body: &'a [u8]) -> Option<Cow<'a, [u8]>> {
    match cte {
        "base64" => base64_decode(body).map(Cow::Owned),
        "quoted-printable" => Some(Cow::Owned(quoted_printable_decode(body))),
        _ => Some(Cow::Borrowed(body)),
    }
}

/// True when `body` may be signed as `7bit`: ASCII without NUL or bare CR, lines of at most
/// 998 octets, no trailing white space (relays strip it), no line starting with `From `
/// (mbox delivery escapes it). Lines are cut at LF, one CR before it (or at the end) going:
/// [`SevenBitScan`] over one chunk.
pub fn seven_bit_safe(body: &[u8]) -> bool {
    let mut s = SevenBitScan::default();
    s.update(body);
    s.finish()
}

/// [`seven_bit_safe`] over a body that comes in chunks.
#[derive(Default, Clone)]
pub struct SevenBitScan {
    bad: bool,
    /// The length of the current line so far (without a CR that may end it), its first
    /// bytes, its last byte, and whether a CR came last (it ends the line, or is bare).
    len: usize,
    head: [u8; 5],
    last: u8,
    cr: bool,
}

impl SevenBitScan {
    /// Takes the next chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        for &b in chunk {
            if self.bad {
                return;
            }
            if std::mem::take(&mut self.cr) && b != b'\n' {
                self.bad = true;
                return;
            }
            match b {
                b'\n' => {
                    self.bad = self.len > 0 && matches!(self.last, b' ' | b'\t');
                    self.len = 0;
                }
                b'\r' => self.cr = true,
                0 | 0x80.. => self.bad = true,
                _ => {
                    if self.len < 5 {
                        self.head[self.len] = b;
                        self.bad = self.len == 4 && &self.head == b"From ";
                    }
                    self.len += 1;
                    self.last = b;
                    self.bad |= self.len > 998;
                }
            }
        }
    }

    /// True when everything taken was safe.
    pub fn finish(&self) -> bool {
        let trailing_blank = self.len > 0 && matches!(self.last, b' ' | b'\t');
        !(self.bad || trailing_blank)
    }

    /// True when the last byte taken was a CR (that ends the last line).
    pub fn ends_in_cr(&self) -> bool {
        self.cr
    }
}

/// A boundary that cannot occur in `content`: derived from its SHA-256 (no RNG in domain code,
/// style.md §2), lengthened in the unlikely case it occurs.
pub fn boundary_for(content: &[u8], tag: &str) -> String {
    let mut probe = BoundaryProbe::new(tag);
    probe.update(content);
    let found = probe.boundary(|b| {
        Ok::<_, std::convert::Infallible>(memchr::memmem::find(content, b.as_bytes()).is_some())
    });
    match found {
        Ok(b) => b,
        Err(never) => match never {},
    }
}

/// [`boundary_for`] over content that comes in chunks (a large message's, issue 13): it
/// hashes them and notes whether any boundary of `tag` could occur in them, so that the
/// content is searched again only when one might.
pub struct BoundaryProbe {
    tag: String,
    sha: sha2::Sha256,
    prefix: Occurs,
    last: [u8; 2],
}

impl BoundaryProbe {
    /// A probe for boundaries tagged `tag`.
    pub fn new(tag: &str) -> Self {
        use sha2::Digest as _;
        BoundaryProbe {
            tag: tag.to_owned(),
            sha: sha2::Sha256::new(),
            prefix: Occurs::new(format!("=-ximf-{tag}-").as_bytes()),
            last: [0; 2],
        }
    }

    /// Takes the next chunk of the content.
    pub fn update(&mut self, chunk: &[u8]) {
        use sha2::Digest as _;
        self.sha.update(chunk);
        self.prefix.update(chunk);
        match chunk {
            [.., a, b] => self.last = [*a, *b],
            [b] => self.last = [self.last[1], *b],
            [] => {}
        }
    }

    /// True when the content ended with CRLF.
    pub fn ends_with_crlf(&self) -> bool {
        &self.last == b"\r\n"
    }

    /// The boundary: `occurs` says whether a candidate occurs in the content (asked only
    /// when the content holds the start of one).
    pub fn boundary<E>(self, mut occurs: impl FnMut(&str) -> Result<bool, E>) -> Result<String, E> {
        use sha2::Digest as _;
        let digest = self.sha.finalize();
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        let tag = &self.tag;
        let mut b = format!("=-ximf-{tag}-{}", &hex[..24]);
        let mut extra = 24;
        while self.prefix.found() && occurs(&b)? && extra < 64 {
            extra += 8;
            b = format!("=-ximf-{tag}-{}", &hex[..extra]);
        }
        Ok(b)
    }
}

/// Whether a needle occurs in content that comes in chunks (a match may cross two).
pub struct Occurs {
    needle: Vec<u8>,
    tail: Vec<u8>,
    found: bool,
}

impl Occurs {
    /// Looks for `needle`.
    pub fn new(needle: &[u8]) -> Self {
        Occurs {
            needle: needle.to_vec(),
            tail: Vec::new(),
            found: false,
        }
    }

    /// Takes the next chunk.
    pub fn update(&mut self, chunk: &[u8]) {
        if self.found {
            return;
        }
        // The end of the previous chunk and the start of this one, for a match across them.
        let keep = self.needle.len().saturating_sub(1);
        let mut junction = std::mem::take(&mut self.tail);
        junction.extend_from_slice(&chunk[..chunk.len().min(keep)]);
        self.found = memchr::memmem::find(&junction, &self.needle).is_some()
            || memchr::memmem::find(chunk, &self.needle).is_some();
        if chunk.len() >= keep {
            junction.clear();
            junction.extend_from_slice(&chunk[chunk.len() - keep..]);
        } else {
            let drop = junction.len().saturating_sub(keep);
            junction.drain(..drop);
        }
        self.tail = junction;
    }

    /// True when the needle occurred in what was taken.
    pub fn found(&self) -> bool {
        self.found
    }
}

/// What [`to_seven_bit`] made of an entity's body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SevenBit<'a> {
    /// The body, every leaf in it 7-bit safe; borrowed when nothing had to change.
    pub body: Cow<'a, [u8]>,
    /// The Content-Transfer-Encoding the entity must declare now, when it changed.
    pub cte: Option<&'static str>,
}

/// How deep [`to_seven_bit`] descends into multiparts and message/rfc822 parts.
pub const SEVEN_BIT_MAX_DEPTH: usize = 32;

/// What [`to_seven_bit_with`] reads bodies through: the bytes themselves ([`InMemory`]), or,
/// for a large message, bytes in which tokens stand for bodies left in the source
/// (`crate::stream::Splice`). One walk, one set of rules, whatever the size.
pub trait Leaves {
    /// [`seven_bit_safe`] of the bytes `body` (CRLF) stands for.
    fn safe(&self, body: &[u8]) -> bool;

    /// What `body` (a leaf's, CRLF) becomes: [`reencode`] of the bytes it stands for, or
    /// what stands for that. `Ok(None)` when base64 does not decode; an error when the
    /// bytes cannot be read or written.
    fn reencode(&self, body: &[u8], cte: &str, text: bool) -> crate::Result<Option<Vec<u8>>>;
}

/// Bodies held whole.
pub struct InMemory;

impl Leaves for InMemory {
    fn safe(&self, body: &[u8]) -> bool {
        seven_bit_safe(body)
    }

    fn reencode(&self, body: &[u8], cte: &str, text: bool) -> crate::Result<Option<Vec<u8>>> {
        Ok(reencode(body, cte, text))
    }
}

/// A leaf body that is not 7-bit safe as it must be signed: decoded per `cte` ([`decode`]),
/// then encoded as quoted-printable when `text`, else as base64 (the Content-Transfer-Encoding
/// [`target`] names). `None` when base64 does not decode.
pub fn reencode(body: &[u8], cte: &str, text: bool) -> Option<Vec<u8>> {
    let decoded = decode(cte, body)?;
    Some(match text {
        true => quoted_printable(&decoded),
        false => base64_lines(&decoded),
    })
}

/// The Content-Transfer-Encoding of a re-encoded leaf.
pub fn target(text: bool) -> &'static str {
    match text {
        true => "quoted-printable",
        false => "base64",
    }
}

/// Brings the body of `ent` (CRLF) to 7 bit for signing (RFC 8551 §3.1.2, RFC 3156 §3), one
/// rule for both mechanisms: a leaf body that is not [`seven_bit_safe`] is decoded from its
/// quoted-printable or base64, then encoded as quoted-printable when it is `text/*`, base64
/// otherwise, and its Content-Transfer-Encoding replaced. Multiparts are descended
/// recursively (boundaries, delimiters and safe parts kept byte for byte; a preamble,
/// epilogue or padded delimiter that is not safe is written plainly), and so is the message
/// inside a `message/rfc822` part. A composite entity declared `8bit` or `binary` becomes
/// `7bit`. Header fields are never changed, except the Content-Transfer-Encoding of a
/// re-encoded part.
///
/// Fails with a reason when a multipart has no usable boundary or no delimiter, when a
/// `message/partial` or `message/external-body` body is not safe (RFC 2046 §5.2 forbids
/// encoding them), when base64 does not decode, or past [`SEVEN_BIT_MAX_DEPTH`].
pub fn to_seven_bit<'a>(ent: &super::Entity<'a>) -> Result<SevenBit<'a>, String> {
    match seven_bit_body(ent, &ent.content_type(), 0, &InMemory) {
        Ok(s) => Ok(s),
        Err(Stop::Rule(e)) => Err(e),
        Err(Stop::Io(e)) => Err(e.to_string()),
    }
}

/// [`to_seven_bit`] with the bodies read through `leaves`: the outer result fails when they
/// cannot be read, the inner one as [`to_seven_bit`] fails.
pub fn to_seven_bit_with<'a>(
    ent: &super::Entity<'a>,
    leaves: &dyn Leaves,
) -> crate::Result<Result<SevenBit<'a>, String>> {
    match seven_bit_body(ent, &ent.content_type(), 0, leaves) {
        Ok(s) => Ok(Ok(s)),
        Err(Stop::Rule(e)) => Ok(Err(e)),
        Err(Stop::Io(e)) => Err(e),
    }
}

/// The message `raw` (CRLF) with its body brought to 7 bit ([`to_seven_bit_with`]) and, when
/// its Content-Transfer-Encoding changes, every such field replaced by one after the others:
/// where [`to_seven_bit`]'s callers put it in the payload they build, so that building it
/// from the result gives what building it from `raw` gives. `None` when nothing changes.
pub fn seven_bit_message(
    raw: &[u8],
    leaves: &dyn Leaves,
) -> crate::Result<Result<Option<Vec<u8>>, String>> {
    let ent = super::Entity::message(raw).map_err(|e| crate::Error::Message(e.to_string()))?;
    let seven = match to_seven_bit_with(&ent, leaves)? {
        Ok(s) => s,
        Err(e) => return Ok(Err(e)),
    };
    if matches!(seven.body, Cow::Borrowed(_)) && seven.cte.is_none() {
        return Ok(Ok(None));
    }
    let mut out = raw[..ent.start].to_vec();
    out.extend(with_body(&ent, seven, true));
    Ok(Ok(Some(out)))
}

/// Why the walk stopped.
enum Stop {
    Rule(String),
    Io(crate::Error),
}

impl From<String> for Stop {
    fn from(e: String) -> Stop {
        Stop::Rule(e)
    }
}

fn seven_bit_body<'a>(
    ent: &super::Entity<'a>,
    ct: &super::ContentType,
    depth: usize,
    leaves: &dyn Leaves,
) -> Result<SevenBit<'a>, Stop> {
    let body = ent.body();
    if leaves.safe(body) {
        return Ok(SevenBit {
            body: Cow::Borrowed(body),
            cte: None,
        });
    }
    if depth >= SEVEN_BIT_MAX_DEPTH {
        return Err(Stop::Rule(format!(
            "parts nested deeper than {SEVEN_BIT_MAX_DEPTH} levels cannot be brought to 7 bit"
        )));
    }
    let cte = ent.transfer_encoding();
    let composite_cte = matches!(cte.as_str(), "8bit" | "binary").then_some("7bit");
    let mime = ct.mime.as_str();
    if mime.starts_with("multipart/") {
        let boundary = ct
            .param("boundary")
            .ok_or_else(|| format!("the {mime} body has no boundary"))?;
        let body = seven_bit_multipart(body, boundary, mime == "multipart/digest", depth, leaves)?;
        return Ok(SevenBit {
            body: Cow::Owned(body),
            cte: composite_cte,
        });
    }
    if mime == "message/rfc822" {
        let inner = super::Entity::part(body);
        let converted = seven_bit_body(&inner, &inner.content_type(), depth + 1, leaves)?;
        return Ok(SevenBit {
            body: Cow::Owned(with_body(&inner, converted, false)),
            cte: composite_cte,
        });
    }
    if mime == "message/partial" || mime == "message/external-body" {
        return Err(Stop::Rule(format!(
            "a {mime} body must be 7 bit and may not be re-encoded (RFC 2046 §5.2)"
        )));
    }
    let text = mime.starts_with("text/");
    let encoded = leaves
        .reencode(body, &cte, text)
        .map_err(Stop::Io)?
        .ok_or_else(|| format!("a {mime} body is not base64"))?;
    Ok(SevenBit {
        body: Cow::Owned(encoded),
        cte: Some(target(text)),
    })
}

/// A multipart body with each part brought to 7 bit; what lies between the parts is kept
/// when safe, else replaced by the plain delimiter it stands for.
fn seven_bit_multipart(
    body: &[u8],
    boundary: &str,
    digest: bool,
    depth: usize,
    leaves: &dyn Leaves,
) -> Result<Vec<u8>, Stop> {
    let m = super::multipart::split(body, boundary)
        .map_err(|_| format!("the multipart boundary {boundary:?} is not usable"))?;
    if m.parts.is_empty() {
        return Err(Stop::Rule(format!(
            "no delimiter of boundary {boundary:?} in the multipart body"
        )));
    }
    let mut out = Vec::with_capacity(body.len() + body.len() / 3);
    let mut pos = 0;
    for (i, range) in m.parts.iter().enumerate() {
        let gap = &body[pos..range.start];
        if seven_bit_safe(gap) {
            out.extend_from_slice(gap);
        } else {
            // The preamble (RFC 2046 §5.1.1: to be ignored) or transport padding goes.
            let eol = if i == 0 { "" } else { "\r\n" };
            out.extend_from_slice(format!("{eol}--{boundary}\r\n").as_bytes());
        }
        out.extend_from_slice(&seven_bit_part(
            &body[range.clone()],
            digest,
            depth + 1,
            leaves,
        )?);
        pos = range.end;
    }
    let tail = &body[pos..];
    if seven_bit_safe(tail) {
        out.extend_from_slice(tail);
    } else if m.closed {
        out.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    }
    Ok(out)
}

/// One body part brought to 7 bit: borrowed when already safe.
fn seven_bit_part<'r>(
    raw: &'r [u8],
    digest: bool,
    depth: usize,
    leaves: &dyn Leaves,
) -> Result<Cow<'r, [u8]>, Stop> {
    let part = super::Entity::part(raw);
    // RFC 2046 §5.1.5: in a multipart/digest a part without Content-Type is a message.
    let ct = match part.first("Content-Type") {
        None if digest => super::ContentType {
            mime: "message/rfc822".into(),
            params: Vec::new(),
        },
        _ => part.content_type(),
    };
    let converted = seven_bit_body(&part, &ct, depth, leaves)?;
    if matches!(converted.body, Cow::Borrowed(_)) && converted.cte.is_none() {
        return Ok(Cow::Borrowed(raw));
    }
    Ok(Cow::Owned(with_body(&part, converted, false)))
}

/// The header of `ent` (its Content-Transfer-Encoding replaced when `new.cte` says so: in
/// place of the first such field, or with `last` after every other field), the blank line,
/// and the new body.
fn with_body(ent: &super::Entity<'_>, new: SevenBit<'_>, last: bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(ent.header().len() + new.body.len() + 48);
    let cte_line = new
        .cte
        .map(|c| format!("Content-Transfer-Encoding: {c}\r\n"));
    let mut written = false;
    for f in &ent.fields {
        if let Some(line) = &cte_line
            && f.name.eq_ignore_ascii_case("Content-Transfer-Encoding")
        {
            if !written && !last {
                out.extend_from_slice(line.as_bytes());
                written = true;
            }
            continue;
        }
        out.extend_from_slice(&ent.raw()[f.span.clone()]);
        out.extend_from_slice(b"\r\n");
    }
    if let Some(line) = cte_line.filter(|_| !written) {
        out.extend_from_slice(line.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&new.body);
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::mime::coders::tests::{bodies, cuttings, pieces};

    #[test]
    fn quoted_printable_round_trip() {
        let text = "From me\r\ncaf\u{e9} = ok \r\n".as_bytes();
        let qp = quoted_printable(text);
        assert!(seven_bit_safe(&qp));
        assert!(qp.starts_with(b"=46rom me\r\n"));
        assert_eq!(quoted_printable_decode(&qp), text);
        let long = vec![b'a'; 200];
        let qp = quoted_printable(&long);
        assert!(qp.split(|&b| b == b'\n').all(|l| l.len() <= 77));
        assert_eq!(quoted_printable_decode(&qp), long);
    }

    #[test]
    fn seven_bit_rules() {
        assert!(seven_bit_safe(b"hello\r\nworld\r\n"));
        assert!(!seven_bit_safe(b"trailing \r\n"));
        assert!(!seven_bit_safe(b"From here\r\n"));
        assert!(!seven_bit_safe("caf\u{e9}".as_bytes()));
    }

    #[test]
    fn base64_both_ways() {
        let enc = base64_lines(&[0u8; 100]);
        assert!(enc.split(|&b| b == b'\n').all(|l| l.len() <= 78));
        assert_eq!(base64_decode(&enc).unwrap(), vec![0u8; 100]);
        assert!(base64_decode(b"*not base64*").is_none());
        assert!(decode("base64", b"***").is_none());
        assert_eq!(decode("7bit", b"x").unwrap().as_ref(), b"x");
    }

    #[test]
    fn boundary_avoids_content() {
        let b = boundary_for(b"hello", "s");
        assert!(b.starts_with("=-ximf-s-"));
        assert_eq!(b, boundary_for(b"hello", "s"));
    }

    #[test]
    fn occurs_across_chunks() {
        let data = b"abc=-ximf-s-def";
        for cut in 0..data.len() {
            let mut o = Occurs::new(b"=-ximf-s-");
            o.update(&data[..cut]);
            o.update(&data[cut..]);
            assert!(o.found(), "cut {cut}");
            for split in [1, 2, 3] {
                let mut o = Occurs::new(b"=-ximf-s-");
                data.chunks(split).for_each(|c| o.update(c));
                assert!(o.found());
            }
        }
        let mut o = Occurs::new(b"zz");
        o.update(b"z");
        o.update(b"az");
        assert!(!o.found());
    }

    /// The 7-bit rule as it was before it became incremental (issue 13).
    fn reference_seven_bit_safe(body: &[u8]) -> bool {
        body.split(|&b| b == b'\n').all(|line| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            line.len() <= 998
                && line.iter().all(|&b| b != 0 && b < 0x80 && b != b'\r')
                && !matches!(line.last(), Some(b' ' | b'\t'))
                && !line.starts_with(b"From ")
        })
    }

    #[test]
    fn incremental_seven_bit_scan_is_the_rule_at_every_cut() {
        let mut all = bodies();
        all.extend(
            [
                &b"a\r\nb\r\n"[..],
                b"a\nb",
                b"a\rb\n",
                b"ok\r\n\r\n",
                b"ends\r",
            ]
            .iter()
            .map(|b| b.to_vec()),
        );
        for body in all {
            let want = reference_seven_bit_safe(&body);
            assert_eq!(seven_bit_safe(&body), want, "{body:?}");
            for cuts in cuttings(&body) {
                let mut s = SevenBitScan::default();
                pieces(&body, &cuts, |c| s.update(c));
                assert_eq!(s.finish(), want, "{body:?} cut at {cuts:?}");
            }
        }
    }
}
