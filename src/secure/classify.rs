//! What an entity is, from its Content-Type (parsed, never substring-matched) and, for text,
//! from armor lines that start a line.

use super::outcome::Mechanism;
use crate::mime::{ContentType, Entity};

/// The kind of an entity, as far as protection goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// `multipart/signed` of a known protocol (or, without one, of the signature part's type).
    Signed(Mechanism),
    /// `multipart/signed` with a protocol we do not know.
    SignedUnknown(String),
    /// `multipart/encrypted; protocol="application/pgp-encrypted"`.
    PgpEncrypted,
    /// `multipart/encrypted` of another protocol.
    EncryptedUnknown(String),
    /// `application/pkcs7-mime` (or a `.p7m` octet-stream): signed-, enveloped- or
    /// authEnveloped-data, decided by the CMS content type, never by `smime-type`.
    Cms,
    /// Text holding an inline cleartext-signed block.
    InlineSigned,
    /// Text holding an armored OpenPGP message.
    InlineEncrypted,
    /// `message/rfc822` (RFC 8551 §3.1 wrapper when directly under a protection layer).
    Wrapped,
    /// Any other multipart.
    Multipart,
    /// Anything else.
    Plain,
}

/// The `-----BEGIN PGP SIGNED MESSAGE-----` line.
pub const BEGIN_SIGNED: &[u8] = b"-----BEGIN PGP SIGNED MESSAGE-----";
/// The `-----BEGIN PGP MESSAGE-----` line.
pub const BEGIN_MESSAGE: &[u8] = b"-----BEGIN PGP MESSAGE-----";

/// Classifies `ent`, whose Content-Type is `ct`. `text` is the decoded body of a text part
/// (inline PGP is looked for only there).
pub fn classify(ent: &Entity<'_>, ct: &ContentType, text: Option<&[u8]>) -> Kind {
    let protocol = ct.protocol();
    if ct.is_cms() {
        return Kind::Cms;
    }
    if ct.is_pgp_encrypted() {
        return Kind::PgpEncrypted;
    }
    match ct.mime.as_str() {
        "multipart/signed" => match protocol.as_deref() {
            Some("application/pgp-signature") => Kind::Signed(Mechanism::OpenPgp),
            Some("application/pkcs7-signature" | "application/x-pkcs7-signature") => {
                Kind::Signed(Mechanism::Smime)
            }
            Some(other) => Kind::SignedUnknown(other.to_owned()),
            // RFC 1847 requires the parameter; without it, the signature part's own type says
            // which mechanism is meant (and the walk checks it is there).
            None => Kind::Signed(signature_part_mechanism(ent, ct).unwrap_or(Mechanism::Smime)),
        },
        "multipart/encrypted" => Kind::EncryptedUnknown(protocol.unwrap_or("none".into())),
        "message/rfc822" => Kind::Wrapped,
        m if m.starts_with("multipart/") => Kind::Multipart,
        m if m.starts_with("text/") => match text {
            Some(t) if starts_line(t, BEGIN_SIGNED) => Kind::InlineSigned,
            Some(t) if starts_line(t, BEGIN_MESSAGE) => Kind::InlineEncrypted,
            _ => Kind::Plain,
        },
        _ => Kind::Plain,
    }
}

/// The mechanism of the second part of a `multipart/signed` without `protocol`.
fn signature_part_mechanism(ent: &Entity<'_>, ct: &ContentType) -> Option<Mechanism> {
    let mp = crate::mime::multipart::split(ent.body(), ct.param("boundary")?).ok()?;
    let sig = Entity::part(&ent.body()[mp.parts.get(1)?.clone()]);
    match sig.content_type().mime.as_str() {
        "application/pgp-signature" => Some(Mechanism::OpenPgp),
        "application/pkcs7-signature" | "application/x-pkcs7-signature" => Some(Mechanism::Smime),
        _ => None,
    }
}

/// True when `line` starts a line of `text` (armor is line-oriented, RFC 4880 §6.2).
pub fn starts_line(text: &[u8], line: &[u8]) -> bool {
    find_line(text, line, 0).is_some()
}

/// The offset of the first line at or after `from` that starts with `line`.
pub fn find_line(text: &[u8], line: &[u8], from: usize) -> Option<usize> {
    let mut pos = from;
    while let Some(i) = memchr::memmem::find(&text[pos..], line) {
        let at = pos + i;
        if at == 0 || text[at - 1] == b'\n' {
            return Some(at);
        }
        pos = at + 1;
    }
    None
}

/// The offset of the first line at or after `from` that is exactly `marker` (trailing white
/// space and CR allowed): an armor line with text after its marker is not that marker — mail
/// clients show the extra text, and it is signed by nobody.
pub fn find_exact_line(text: &[u8], marker: &[u8], from: usize) -> Option<usize> {
    let mut pos = from;
    while let Some(at) = find_line(text, marker, pos) {
        let end = memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i);
        if text[at + marker.len()..end]
            .iter()
            .all(|b| matches!(b, b' ' | b'\t' | b'\r'))
        {
            return Some(at);
        }
        pos = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(raw: &[u8]) -> Kind {
        let e = Entity::part(raw);
        let ct = e.content_type();
        let text = Some(e.body());
        classify(&e, &ct, text)
    }

    #[test]
    fn protocol_is_a_parameter_not_a_substring() {
        // The boundary mentions pgp-signature: still S/MIME.
        assert_eq!(
            kind(b"Content-Type: multipart/signed; boundary=\"application/pgp-signature\"; protocol=\"application/pkcs7-signature\"\n\n"),
            Kind::Signed(Mechanism::Smime)
        );
        assert_eq!(
            kind(b"Content-Type: multipart/signed; protocol=\"application/x-foo\"\n\n"),
            Kind::SignedUnknown("application/x-foo".into())
        );
        assert_eq!(
            kind(b"Content-Type: Multipart/Encrypted; protocol=\"application/pgp-encrypted\"\n\n"),
            Kind::PgpEncrypted
        );
    }

    #[test]
    fn inline_armor_must_start_a_line() {
        assert_eq!(
            kind(b"Content-Type: text/plain\n\nhi\n-----BEGIN PGP MESSAGE-----\n"),
            Kind::InlineEncrypted
        );
        assert_eq!(
            kind(b"Content-Type: text/plain\n\nquote: -----BEGIN PGP SIGNED MESSAGE-----\n"),
            Kind::Plain
        );
        assert_eq!(
            kind(b"\n-----BEGIN PGP SIGNED MESSAGE-----\n"),
            Kind::InlineSigned
        );
    }
}
