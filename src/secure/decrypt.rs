//! `decrypt`: the plaintext of the outermost encryption layer as a whole message. For a large
//! message (read as a skeleton, [`crate::stream`]) the plaintext stays in its spool and is
//! copied out from there, its line endings converted as it goes.

use super::walk::{Layer, Plaintext, Walk};
use super::{Keys, Limits, codes, header_protection};
use crate::error::{Error, Result};
use crate::message::eol::{Eol, to_crlf, to_eol};
use crate::mime::{self, Entity};
use crate::stream::{EolConvert, Nested, Origin};
use std::io::Read;
use std::sync::Arc;

/// A decrypted message: its header section (and, for a plaintext held whole, all of it) in
/// the input's line endings, then what [`Decrypted::rest`] reads.
pub struct Decrypted {
    /// The start of the message.
    pub head: Vec<u8>,
    rest: Option<(Nested, u64, Eol)>,
}

impl Decrypted {
    /// The rest of the message (nothing when `head` holds all of it): the plaintext read from
    /// its spool in the input's line endings.
    pub fn rest(&self) -> Box<dyn Read + '_> {
        match &self.rest {
            None => Box::new(std::io::empty()),
            Some((n, from, eol)) => Box::new(EolReader::new(
                n.origin.source.reader(*from..n.len()),
                *eol,
                crate::stream::CHUNK,
            )),
        }
    }

    /// The whole message in memory.
    pub fn into_bytes(self) -> Result<Vec<u8>> {
        let mut out = self.head.clone();
        self.rest().read_to_end(&mut out)?;
        Ok(out)
    }
}

/// Decrypts a message: the same walk as [`super::verify`] (an mbox `From ` line, encryption
/// below signature layers, either mechanism), returning the plaintext of the outermost
/// encryption layer as a whole message in the input's line endings — the protected header
/// fields when the payload carries them, the outer ones otherwise. A signature inside the
/// encryption is kept so that it can still be verified; one outside it, over the ciphertext,
/// is dropped.
///
/// Fails with [`Error::Message`] when the message is not encrypted, [`Error::NoKey`] when no
/// key opens it, gpg-agent's failure when it was asked and could not open it
/// ([`Error::TempFail`], [`Error::NoKey`], [`Error::KeyRefused`]) and [`Error::Crypto`] on any
/// other failure; nothing partial is returned.
pub fn decrypt(message: &[u8], keys: &Keys, now: i64) -> Result<Vec<u8>> {
    decrypt_with(message, keys, now, Limits::default())
}

/// [`decrypt`] within `limits`: a plaintext past `limits.max_output` is an error.
pub fn decrypt_with(message: &[u8], keys: &Keys, now: i64, limits: Limits) -> Result<Vec<u8>> {
    decrypt_source(message, None, keys, now, limits)?.into_bytes()
}

/// [`decrypt_with`] of a message held whole, or read as a skeleton whose stretches `origin`
/// says: then the plaintext is spooled, never held whole, and a read error is
/// [`Error::Io`].
pub fn decrypt_source(
    message: &[u8],
    origin: Option<&Arc<Origin>>,
    keys: &Keys,
    now: i64,
    limits: Limits,
) -> Result<Decrypted> {
    let eol = Eol::detect(message);
    let top = Entity::message(message).map_err(|e| Error::Message(e.to_string()))?;
    let mut walk = Walk::new(keys, now, limits, true);
    crate::stream::with_origin(message, origin, || walk.message(&top))?;
    let failed = walk
        .layers
        .iter()
        .any(|l| matches!(l, Layer::Encryption(e) if !e.decrypted));
    let Some(plain) = walk.plaintext.take() else {
        if let (true, Some(e)) = (failed, walk.key_failure.take()) {
            return Err(e);
        }
        if failed {
            let why = walk
                .findings
                .iter()
                .find(|f| f.code == codes::DECRYPTION_FAILED)
                .map(|f| f.message.clone())
                .unwrap_or_default();
            let no_key = keys.smime_signers.is_empty()
                && keys.pgp_secret.is_empty()
                && keys.pgp_agent_certs.is_empty()
                || why.contains("no key")
                || why.contains("not a recipient");
            return Err(if no_key {
                Error::NoKey("any recipient of the message".into())
            } else {
                Error::Crypto(format!("decryption failed: {why}"))
            });
        }
        return Err(Error::Message(
            "not an encrypted message (no S/MIME or OpenPGP encryption layer)".into(),
        ));
    };
    let (whole, nested) = match plain {
        Plaintext::Whole(p) => (Some(to_crlf(&p).into_owned()), None),
        Plaintext::Spooled(n) => (None, Some(n)),
    };
    // The plaintext's header section (whole in a skeleton): the entity's fields and where its
    // body starts.
    let plain: &[u8] = match (&whole, &nested) {
        (Some(w), _) => w,
        (None, Some(n)) => &n.bytes,
        (None, None) => &[],
    };
    let inner = Entity::part(plain);
    // Which header fields go on top: the protected copies if the payload has them (RFC 9788
    // §4), else the outer message's.
    let payload = walk.payload_header.as_deref().map(Entity::part);
    let protected = payload
        .as_ref()
        .filter(|p| header_protection::mode(p, false).is_some());
    // An mbox envelope line stays first, as procmail expects it back.
    let mut out = to_crlf(&message[..top.start]).into_owned();
    out.reserve(whole.as_ref().map_or(0, Vec::len) + 2048);
    let top_crlf = to_crlf(message);
    let outer = Entity::message(&top_crlf).map_err(|e| Error::Message(e.to_string()))?;
    let fields: Vec<&[u8]> = match protected {
        Some(p) => p
            .fields
            .iter()
            .filter(|f| !mime::is_structural(&f.name) && !f.name.eq_ignore_ascii_case("HP-Outer"))
            .map(|f| &p.raw()[f.span.clone()])
            .collect(),
        None => outer
            .fields
            .iter()
            .filter(|f| !mime::is_structural(&f.name))
            .map(|f| &outer.raw()[f.span.clone()])
            .collect(),
    };
    for f in fields {
        out.extend_from_slice(&to_crlf(f));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    // Where the plaintext that follows starts.
    let from = if inner.fields.is_empty() {
        // Inline plaintext: text without a header of its own.
        out.extend_from_slice(b"\r\n");
        plain.len() - inner.body().len()
    } else if inner.content_type().mime == "multipart/signed" {
        0
    } else {
        // The decrypted entity without its injected copies and HP-Outer records.
        for f in inner.fields.iter().filter(|f| {
            mime::is_structural(&f.name) && !f.name.eq_ignore_ascii_case("MIME-Version")
        }) {
            out.extend_from_slice(&to_crlf(&plain[f.span.clone()]));
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        plain.len() - inner.body().len()
    };
    match nested {
        None => {
            out.extend_from_slice(&plain[from..]);
            Ok(Decrypted {
                head: to_eol(&out, eol).into_owned(),
                rest: None,
            })
        }
        // The header section is whole in the skeleton: the body starts at the same offset.
        Some(n) => Ok(Decrypted {
            head: to_eol(&out, eol).into_owned(),
            rest: Some((n, from as u64, eol)),
        }),
    }
}

/// A reader converting what `inner` reads as `to_eol(to_crlf(..), eol)` would convert it
/// whole ([`EolConvert`]).
struct EolReader<R> {
    inner: R,
    conv: EolConvert,
    done: bool,
    raw: Vec<u8>,
    out: Vec<u8>,
    at: usize,
}

impl<R: Read> EolReader<R> {
    fn new(inner: R, eol: Eol, chunk: usize) -> Self {
        EolReader {
            inner,
            conv: EolConvert::new(eol),
            done: false,
            raw: vec![0; chunk],
            out: Vec::new(),
            at: 0,
        }
    }
}

impl<R: Read> Read for EolReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        while self.at == self.out.len() {
            if self.done {
                return Ok(0);
            }
            self.out.clear();
            self.at = 0;
            let n = self.inner.read(&mut self.raw)?;
            let out = &mut self.out;
            let mut put = |b: &[u8]| -> std::io::Result<()> {
                out.extend_from_slice(b);
                Ok(())
            };
            match n {
                0 => {
                    self.done = true;
                    self.conv.finish(&mut put)?;
                }
                n => self.conv.feed(&self.raw[..n], &mut put)?,
            }
        }
        let n = buf.len().min(self.out.len() - self.at);
        buf[..n].copy_from_slice(&self.out[self.at..self.at + n]);
        self.at += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn converted(data: &[u8], eol: Eol, piece: usize) -> Vec<u8> {
        let mut r = EolReader::new(std::io::Cursor::new(data.to_vec()), eol, piece);
        let mut out = Vec::new();
        r.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn line_endings_convert_as_the_whole_would() {
        let data = b"\na\r\nb\nc\r\rd\r\n\r\n\re\r\r\nf\n\r\n\r";
        for eol in [Eol::Lf, Eol::Crlf] {
            let whole = to_eol(&to_crlf(data), eol).into_owned();
            for piece in 1..=data.len() {
                assert_eq!(converted(data, eol, piece), whole, "{eol:?} {piece}");
            }
        }
    }
}
