//! RFC 3156 `multipart/encrypted` → the plaintext message, all or nothing.

use openpgp::Cert;
use sequoia_openpgp as openpgp;

use super::mime::{self, Entity};
use super::system_time;
use super::verify::{Helper, decrypt_message};
use crate::message::eol::{Eol, to_crlf, to_eol};
use crate::{Error, Result};

/// Decrypts a PGP/MIME message with the TSKs in `keys`.
///
/// The result is a whole message: the protected (inner) header fields when the payload carries
/// RFC 9788 header protection, the outer ones otherwise, followed by the decrypted entity. A
/// nested `multipart/signed` is kept intact so that its signature can still be verified. The
/// output uses the input's line-ending convention.
///
/// Fails with [`Error::Message`] when the input is not an OpenPGP `multipart/encrypted`
/// message, [`Error::NoKey`] when no key in `keys` opens it, and [`Error::Crypto`] on any other
/// failure, integrity failures included; nothing partial is ever returned.
pub fn decrypt(message: &[u8], keys: &[Cert], now: i64) -> Result<Vec<u8>> {
    let eol = Eol::detect(message);
    let top = Entity::parse(mime::skip_mbox_postmark(message))?;
    let ct = top.content_type();
    if ct.mime != "multipart/encrypted"
        || !ct
            .param("protocol")
            .is_some_and(|p| p.eq_ignore_ascii_case("application/pgp-encrypted"))
    {
        return Err(Error::Message(
            "not an OpenPGP/MIME encrypted message (RFC 3156 multipart/encrypted)".into(),
        ));
    }
    let boundary = ct
        .param("boundary")
        .ok_or_else(|| Error::Message("multipart/encrypted without a boundary".into()))?;
    let mp = mime::split_multipart(top.body, boundary)?;
    let part = mp
        .parts
        .get(1)
        .ok_or_else(|| Error::Message("multipart/encrypted without an encrypted part".into()))?;
    let armored = mime::decode_body(&Entity::parse(part)?);
    let helper = Helper::new(&[], keys, system_time(now));
    let (plain, _) = decrypt_message(&armored, helper).map_err(|(why, no_key)| {
        if no_key {
            Error::NoKey("any recipient of the message".into())
        } else {
            Error::Crypto(format!("decryption failed: {why}"))
        }
    })?;
    let plain = to_crlf(&plain).into_owned();
    let inner = Entity::parse(&plain)
        .map_err(|_| Error::Crypto("the decrypted content is not a MIME entity".into()))?;

    // Which header fields go on top: the protected copies if there are any (RFC 9788 §4).
    let payload = if inner.content_type().mime == "multipart/signed" {
        inner
            .content_type()
            .param("boundary")
            .and_then(|b| mime::split_multipart(inner.body, b).ok())
            .and_then(|m| m.parts.first().and_then(|p| Entity::parse(p).ok()))
    } else {
        Some(inner.clone())
    };
    let protected = payload.as_ref().is_some_and(|p| {
        let ct = p.content_type();
        ct.param("hp").is_some()
            || ct
                .param("protected-headers")
                .is_some_and(|v| v.eq_ignore_ascii_case("v1"))
    });
    let mut out = Vec::with_capacity(plain.len() + 2048);
    let header_fields: Vec<&[u8]> = match (&payload, protected) {
        (Some(p), true) => p
            .fields
            .iter()
            .filter(|f| !f.is_structural() && !f.name.eq_ignore_ascii_case("HP-Outer"))
            .map(|f| f.raw)
            .collect(),
        _ => top
            .fields
            .iter()
            .filter(|f| !f.is_structural())
            .map(|f| f.raw)
            .collect(),
    };
    for f in header_fields {
        out.extend_from_slice(&to_crlf(f));
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    if inner.content_type().mime == "multipart/signed" {
        out.extend_from_slice(&plain);
    } else {
        // The decrypted entity without its injected copies and HP-Outer records.
        for f in inner
            .fields
            .iter()
            .filter(|f| f.is_structural() && !f.name.eq_ignore_ascii_case("MIME-Version"))
        {
            out.extend_from_slice(f.raw);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(inner.body);
    }
    Ok(to_eol(&out, eol).into_owned())
}
