//! RFC 3156 §5 `multipart/signed`, with RFC 9788 injected header fields in the signed part.

use std::io::Write as _;

use openpgp::armor;
use openpgp::packet::signature::SignatureBuilder;
use openpgp::serialize::stream::{Armorer, Message, Signer};
use openpgp::types::{HashAlgorithm, SignatureType};
use sequoia_openpgp as openpgp;

use super::agent::{self, SigningKey};
use super::{policy, system_time};
use crate::message::eol::{Eol, to_crlf, to_eol};
use crate::mime::{self, Entity, transfer};
use crate::stream::{Content, Whole};
use crate::{Error, Result};

/// How to sign.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SignOptions {
    /// Signature creation time, unix seconds; the signing key must be valid then.
    pub now: i64,
    /// Copy the header fields into the signed part (RFC 9788, `hp="clear"`); on by default.
    pub header_protection: bool,
    /// The hash; SHA-256 when `None`. SHA-1 and MD5 are refused.
    pub hash: Option<HashAlgorithm>,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions::new(0)
    }
}

impl SignOptions {
    /// Options for signing at `now` with header protection on.
    pub fn new(now: i64) -> Self {
        SignOptions {
            now,
            header_protection: true,
            hash: None,
        }
    }

    /// Uses `hash` instead of SHA-256.
    pub fn with_hash(mut self, hash: HashAlgorithm) -> Self {
        self.hash = Some(hash);
        self
    }
}

/// Which RFC 9788 marking the payload gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Hp {
    /// Signed only.
    Clear,
    /// Encrypted (and maybe signed).
    Cipher,
}

/// A message split into what stays outside and the canonical payload entity.
pub(crate) struct Prepared {
    /// Outer header fields (raw, CRLF, without line ending), non-structural only.
    pub outer: Vec<Vec<u8>>,
    /// The payload entity: header, blank line, 7-bit body; CRLF throughout.
    pub part: Vec<u8>,
}

/// Splits a CRLF message into outer fields and the payload entity (spec Part D §5.3).
pub(crate) fn prepare(crlf: &[u8], hp: Option<Hp>) -> Result<Prepared> {
    let msg = Entity::message(crlf).map_err(|e| Error::Message(e.to_string()))?;
    if msg.fields.is_empty() {
        return Err(Error::Message("not a message: no header fields".into()));
    }
    let raw = |f: &mime::Field| &crlf[f.span.clone()];
    let nonstructural: Vec<&mime::Field> = msg
        .fields
        .iter()
        .filter(|f| !mime::is_structural(&f.name))
        .collect();
    let ct = msg.content_type();
    let mut part: Vec<u8> = Vec::with_capacity(msg.body().len() + 1024);

    // Content-Type first, marked with hp= (RFC 9788 §2.1).
    let mut ct_field = match msg.first("Content-Type") {
        Some(f) => raw(f).to_vec(),
        None if msg.body().is_ascii() => b"Content-Type: text/plain; charset=us-ascii".to_vec(),
        None => b"Content-Type: text/plain; charset=utf-8".to_vec(),
    };
    if let Some(hp) = hp
        && ct.param("hp").is_none()
    {
        let v = match hp {
            Hp::Clear => "clear",
            Hp::Cipher => "cipher",
        };
        ct_field.extend_from_slice(format!(";\r\n\thp=\"{v}\"").as_bytes());
    }
    part.extend_from_slice(&ct_field);
    part.extend_from_slice(b"\r\n");

    // RFC 3156 §3: the signed entity must be 7-bit, without trailing whitespace or `From `:
    // every part is re-encoded as needed, recursively.
    let seven = transfer::to_seven_bit(&msg)
        .map_err(|e| Error::Message(format!("cannot sign the message as 7 bit: {e}")))?;
    let new_cte = seven.cte;
    let body = seven.body;
    for f in msg.fields.iter().filter(|f| mime::is_structural(&f.name)) {
        let lower = f.name.to_ascii_lowercase();
        if lower == "content-type"
            || lower == "mime-version"
            || (lower == "content-transfer-encoding" && new_cte.is_some())
        {
            continue;
        }
        part.extend_from_slice(raw(f));
        part.extend_from_slice(b"\r\n");
    }
    if let Some(cte) = new_cte {
        part.extend_from_slice(format!("Content-Transfer-Encoding: {cte}\r\n").as_bytes());
    }

    // RFC 9788 §2.1: injected header fields; for encryption, hcp_baseline (§3.2.1) outside and
    // one HP-Outer per field sent outside. Bcc stays outside only: no protected copy, no
    // HP-Outer record (every recipient would read it; the submission server removes it).
    let bcc = |f: &mime::Field| f.name.eq_ignore_ascii_case("Bcc");
    let mut outer: Vec<Vec<u8>> = Vec::new();
    let mut hp_outer: Vec<u8> = Vec::new();
    for f in &nonstructural {
        let lower = f.name.to_ascii_lowercase();
        let sent = match (hp, lower.as_str()) {
            (Some(Hp::Cipher), "subject") => Some(b"Subject: [...]".to_vec()),
            (Some(Hp::Cipher), "comments" | "keywords") => None,
            _ => Some(raw(f).to_vec()),
        };
        if let Some(sent) = sent {
            if hp == Some(Hp::Cipher) && !bcc(f) {
                hp_outer.extend_from_slice(b"HP-Outer: ");
                hp_outer.extend_from_slice(&sent);
                hp_outer.extend_from_slice(b"\r\n");
            }
            outer.push(sent);
        }
    }
    if hp.is_some() {
        for f in nonstructural.iter().filter(|f| !bcc(f)) {
            part.extend_from_slice(raw(f));
            part.extend_from_slice(b"\r\n");
        }
    }
    part.extend_from_slice(&hp_outer);
    part.extend_from_slice(b"\r\n");
    part.extend_from_slice(&body);
    Ok(Prepared { outer, part })
}

/// What sees the signed bytes as they are hashed.
type Observer<'a> = &'a mut dyn FnMut(&[u8]);

/// A detached, armored, binary-type (0x00) signature over the bytes `data` stands for
/// (`content` reads them; `observe` sees them too, in the same pass), with its hash (RFC 3156
/// §5).
pub(crate) fn detached_signature(
    (data, content, observe): (&[u8], &dyn Content, Observer<'_>),
    signer: &SigningKey,
    hash: Option<HashAlgorithm>,
    now: i64,
) -> Result<(Vec<u8>, HashAlgorithm)> {
    let hash = hash.unwrap_or(HashAlgorithm::SHA256);
    if policy::weak_hash(hash) {
        return Err(Error::Config(format!(
            "refusing to sign with {}",
            policy::hash_name(hash)
        )));
    }
    let p = policy::standard();
    let t = system_time(now);
    let (keypair, slot) = agent::signer(signer, &p, t)?;
    let key = keypair.public();
    if policy::weak_key(key.pk_algo(), key.mpis().bits()) {
        return Err(Error::Key(format!(
            "refusing to sign with a weak key ({} bits)",
            key.mpis().bits().unwrap_or(0)
        )));
    }
    let mut out = Vec::new();
    // An agent's failure keeps its class (75, 67, 77) instead of Sequoia's message.
    let crypto = || {
        let slot = slot.clone();
        move |e: openpgp::anyhow::Error| match slot.as_ref().and_then(agent::take_failure) {
            Some(failure) => failure,
            None => super::crypto("signing failed")(e),
        }
    };
    {
        let m = Message::new(&mut out);
        let m = Armorer::new(m)
            .kind(armor::Kind::Signature)
            .build()
            .map_err(crypto())?;
        let mut s = Signer::with_template(m, keypair, SignatureBuilder::new(SignatureType::Binary))
            .map_err(crypto())?
            .detached()
            .hash_algo(hash)
            .map_err(crypto())?
            .creation_time(t)
            .build()
            .map_err(crypto())?;
        content.feed(data, &mut |c| {
            observe(c);
            Ok(s.write_all(c)?)
        })?;
        s.finalize().map_err(crypto())?;
    }
    Ok((to_crlf(&out).into_owned(), hash))
}

/// Wraps the canonical `part` (whose bytes `content` reads) into a `multipart/signed` entity:
/// (Content-Type field, body).
pub(crate) fn multipart_signed(
    (part, content): (&[u8], &dyn Content),
    signer: &SigningKey,
    hash: Option<HashAlgorithm>,
    now: i64,
) -> Result<(Vec<u8>, Vec<u8>)> {
    // The boundary is made of the part's hash, taken in the pass the signature takes.
    let mut probe = transfer::BoundaryProbe::new("s");
    let (sig, hash) =
        detached_signature((part, content, &mut |c| probe.update(c)), signer, hash, now)?;
    let boundary = probe.boundary(|b| content.contains(part, b.as_bytes()))?;
    let ct = format!(
        "Content-Type: multipart/signed; micalg=pgp-{};\r\n\tprotocol=\"application/pgp-signature\";\r\n\tboundary=\"{boundary}\"",
        policy::hash_name(hash)
    );
    let mut body = Vec::with_capacity(part.len() + sig.len() + 512);
    body.extend_from_slice(b"This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n");
    body.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    body.extend_from_slice(part);
    // This CRLF belongs to the delimiter, not to the signed data (RFC 2046 §5.1.1).
    body.extend_from_slice(format!("\r\n--{boundary}\r\n").as_bytes());
    body.extend_from_slice(
        b"Content-Type: application/pgp-signature; name=\"signature.asc\"\r\n\
          Content-Description: OpenPGP digital signature\r\n\
          Content-Disposition: attachment; filename=\"signature.asc\"\r\n\r\n",
    );
    body.extend_from_slice(&sig);
    if !sig.ends_with(b"\r\n") {
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok((ct.into_bytes(), body))
}

/// Outer fields + MIME-Version + Content-Type + blank line + body, in the convention `eol`.
pub(crate) fn assemble(outer: &[Vec<u8>], ct: &[u8], body: &[u8], eol: Eol) -> Vec<u8> {
    let mut out = Vec::with_capacity(body.len() + 4096);
    for f in outer {
        out.extend_from_slice(f);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"MIME-Version: 1.0\r\n");
    out.extend_from_slice(ct);
    out.extend_from_slice(b"\r\n\r\n");
    out.extend_from_slice(body);
    match to_eol(&out, eol) {
        std::borrow::Cow::Borrowed(_) => out,
        std::borrow::Cow::Owned(v) => v,
    }
}

/// Signs a whole RFC 5322 message as RFC 3156 `multipart/signed`.
///
/// The header fields stay outside (and are copied into the signed part when
/// `opts.header_protection`, Bcc excepted); the signed part is canonical CRLF and 7-bit (every
/// part that is not is re-encoded as quoted-printable or base64, [`transfer::to_seven_bit`]);
/// `micalg` names the hash actually used. The output uses the input's line-ending convention.
///
/// `signer` is a TSK (`&Cert` or `Cert`) or a [`SigningKey::Agent`]: a certificate whose
/// secret gpg-agent holds.
///
/// Fails with [`Error::Message`] when the input has no header or a part cannot be brought to
/// 7 bit, [`Error::Key`] when `signer` has no usable secret signing key at `opts.now`, and
/// [`Error::Config`] for a refused hash. With the agent: [`Error::TempFail`] when it cannot be
/// reached or does not answer in time, [`Error::NoKey`] when it does not hold the secret, and
/// [`Error::KeyRefused`] when it refuses (pinentry cancelled or unavailable, wrong passphrase).
pub fn sign(message: &[u8], signer: impl Into<SigningKey>, opts: &SignOptions) -> Result<Vec<u8>> {
    sign_with(message, &signer.into(), opts, &Whole)
}

/// [`sign`] of a message whose content `content` reads: a large message's bodies stand as
/// holes ([`crate::stream::Splice`]), and the output holds them too.
pub(crate) fn sign_with(
    message: &[u8],
    signer: &SigningKey,
    opts: &SignOptions,
    content: &dyn Content,
) -> Result<Vec<u8>> {
    let eol = Eol::detect(message);
    let crlf = to_crlf(message);
    let prepared = prepare(&crlf, opts.header_protection.then_some(Hp::Clear))?;
    let (ct, body) = multipart_signed((&prepared.part, content), signer, opts.hash, opts.now)?;
    Ok(assemble(&prepared.outer, &ct, &body, eol))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn prepare_injects_and_encodes() {
        let msg = "From: a@example.org\r\nSubject: s\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ncaf\u{e9}\r\nFrom x\r\n";
        let p = prepare(msg.as_bytes(), Some(Hp::Clear)).unwrap();
        let part = String::from_utf8(p.part).unwrap();
        assert!(part.starts_with("Content-Type: text/plain; charset=utf-8;\r\n\thp=\"clear\"\r\n"));
        assert!(part.contains("Content-Transfer-Encoding: quoted-printable\r\n"));
        assert!(
            part.contains("\r\nFrom: a@example.org\r\nSubject: s\r\n\r\ncaf=C3=A9\r\n=46rom x\r\n")
        );
        assert_eq!(p.outer.len(), 2);
    }

    #[test]
    fn prepare_cipher_applies_hcp_baseline() {
        let msg = b"From: a@example.org\r\nSubject: secret\r\nKeywords: k\r\n\r\nbody\r\n";
        let p = prepare(msg, Some(Hp::Cipher)).unwrap();
        assert_eq!(
            p.outer,
            vec![b"From: a@example.org".to_vec(), b"Subject: [...]".to_vec()]
        );
        let part = String::from_utf8(p.part).unwrap();
        assert!(part.contains("hp=\"cipher\""));
        assert!(part.contains("Subject: secret\r\nKeywords: k\r\nHP-Outer: From: a@example.org\r\nHP-Outer: Subject: [...]\r\n\r\nbody"));
    }

    #[test]
    fn prepare_refuses_headerless_input() {
        assert!(matches!(prepare(b"\r\nbody", None), Err(Error::Message(_))));
    }
}
