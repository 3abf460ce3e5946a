//! Transfer encodings (RFC 2045 §6) and the 7-bit rule set for signed content (RFC 8551
//! §3.1.2, RFC 3156 §3): one place for both mechanisms.

use std::borrow::Cow;

use base64::Engine as _;

/// The body decoded per `cte` (lower-case): base64 and quoted-printable are decoded, identity
/// encodings borrow; `None` when base64 does not decode.
pub fn decode<'a>(cte: &str, body: &'a [u8]) -> Option<Cow<'a, [u8]>> {
    match cte {
        "base64" => base64_decode(body).map(Cow::Owned),
        "quoted-printable" => Some(Cow::Owned(quoted_printable_decode(body))),
        _ => Some(Cow::Borrowed(body)),
    }
}

/// Decodes base64, ignoring white space and line breaks.
pub fn base64_decode(data: &[u8]) -> Option<Vec<u8>> {
    let clean: Vec<u8> = data
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    base64::engine::general_purpose::STANDARD.decode(clean).ok()
}

/// Base64 with CRLF every 76 characters (RFC 2045 §6.8).
pub fn base64_lines(data: &[u8]) -> Vec<u8> {
    let s = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = Vec::with_capacity(s.len() + s.len() / 38 + 2);
    for chunk in s.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// Quoted-printable (RFC 2045 §6.7) of text, with CRLF line endings, safe for signing: 8-bit
/// octets, `=`, trailing white space and the `F` of a leading `From ` are encoded; soft line
/// breaks keep lines under 76 octets.
pub fn quoted_printable(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + body.len() / 8);
    let mut lines = body.split(|&b| b == b'\n').peekable();
    while let Some(line) = lines.next() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let mut col = 0;
        for (i, &b) in line.iter().enumerate() {
            let trailing_ws = (b == b' ' || b == b'\t') && i + 1 == line.len();
            let from_line = i == 0 && line.starts_with(b"From ");
            let enc =
                b == b'=' || !(0x20..0x7f).contains(&b) && b != b'\t' || trailing_ws || from_line;
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

/// Decodes quoted-printable leniently (bad escapes are kept as they are).
pub fn quoted_printable_decode(body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len());
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

/// True when `body` may be signed as `7bit`: ASCII without NUL or bare CR, lines of at most
/// 998 octets, no trailing white space (relays strip it), no line starting with `From `
/// (mbox delivery escapes it).
pub fn seven_bit_safe(body: &[u8]) -> bool {
    body.split(|&b| b == b'\n').all(|line| {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        line.len() <= 998
            && line.iter().all(|&b| b != 0 && b < 0x80 && b != b'\r')
            && !matches!(line.last(), Some(b' ' | b'\t'))
            && !line.starts_with(b"From ")
    })
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
    seven_bit_body(ent, &ent.content_type(), 0)
}

fn seven_bit_body<'a>(
    ent: &super::Entity<'a>,
    ct: &super::ContentType,
    depth: usize,
) -> Result<SevenBit<'a>, String> {
    let body = ent.body();
    if seven_bit_safe(body) {
        return Ok(SevenBit {
            body: Cow::Borrowed(body),
            cte: None,
        });
    }
    if depth >= SEVEN_BIT_MAX_DEPTH {
        return Err(format!(
            "parts nested deeper than {SEVEN_BIT_MAX_DEPTH} levels cannot be brought to 7 bit"
        ));
    }
    let cte = ent.transfer_encoding();
    let composite_cte = matches!(cte.as_str(), "8bit" | "binary").then_some("7bit");
    let mime = ct.mime.as_str();
    if mime.starts_with("multipart/") {
        let boundary = ct
            .param("boundary")
            .ok_or_else(|| format!("the {mime} body has no boundary"))?;
        let body = seven_bit_multipart(body, boundary, mime == "multipart/digest", depth)?;
        return Ok(SevenBit {
            body: Cow::Owned(body),
            cte: composite_cte,
        });
    }
    if mime == "message/rfc822" {
        let inner = super::Entity::part(body);
        let converted = seven_bit_body(&inner, &inner.content_type(), depth + 1)?;
        return Ok(SevenBit {
            body: Cow::Owned(with_body(&inner, converted)),
            cte: composite_cte,
        });
    }
    if mime == "message/partial" || mime == "message/external-body" {
        return Err(format!(
            "a {mime} body must be 7 bit and may not be re-encoded (RFC 2046 §5.2)"
        ));
    }
    let decoded = decode(&cte, body).ok_or_else(|| format!("a {mime} body is not base64"))?;
    Ok(if mime.starts_with("text/") {
        SevenBit {
            body: Cow::Owned(quoted_printable(&decoded)),
            cte: Some("quoted-printable"),
        }
    } else {
        SevenBit {
            body: Cow::Owned(base64_lines(&decoded)),
            cte: Some("base64"),
        }
    })
}

/// A multipart body with each part brought to 7 bit; what lies between the parts is kept
/// when safe, else replaced by the plain delimiter it stands for.
fn seven_bit_multipart(
    body: &[u8],
    boundary: &str,
    digest: bool,
    depth: usize,
) -> Result<Vec<u8>, String> {
    let m = super::multipart::split(body, boundary)
        .map_err(|_| format!("the multipart boundary {boundary:?} is not usable"))?;
    if m.parts.is_empty() {
        return Err(format!(
            "no delimiter of boundary {boundary:?} in the multipart body"
        ));
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
        out.extend_from_slice(&seven_bit_part(&body[range.clone()], digest, depth + 1)?);
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
fn seven_bit_part(raw: &[u8], digest: bool, depth: usize) -> Result<Cow<'_, [u8]>, String> {
    let part = super::Entity::part(raw);
    // RFC 2046 §5.1.5: in a multipart/digest a part without Content-Type is a message.
    let ct = match part.first("Content-Type") {
        None if digest => super::ContentType {
            mime: "message/rfc822".into(),
            params: Vec::new(),
        },
        _ => part.content_type(),
    };
    let converted = seven_bit_body(&part, &ct, depth)?;
    if matches!(converted.body, Cow::Borrowed(_)) && converted.cte.is_none() {
        return Ok(Cow::Borrowed(raw));
    }
    Ok(Cow::Owned(with_body(&part, converted)))
}

/// The header of `ent` (its Content-Transfer-Encoding replaced when `new.cte` says so), the
/// blank line, and the new body.
fn with_body(ent: &super::Entity<'_>, new: SevenBit<'_>) -> Vec<u8> {
    let mut out = Vec::with_capacity(ent.header().len() + new.body.len() + 48);
    let cte_line = new
        .cte
        .map(|c| format!("Content-Transfer-Encoding: {c}\r\n"));
    let mut written = false;
    for f in &ent.fields {
        if let Some(line) = &cte_line
            && f.name.eq_ignore_ascii_case("Content-Transfer-Encoding")
        {
            if !written {
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
}
