//! RFC 3156 §4 `multipart/encrypted`; sign-then-encrypt nested (§6.1) or combined (§6.2).

use std::io::Write;

use openpgp::Cert;
use openpgp::cert::Preferences as _;
use openpgp::cert::amalgamation::ValidAmalgamation as _;
use openpgp::crypto::SessionKey;
use openpgp::packet::Packet;
use openpgp::packet::one_pass_sig::OnePassSig3;
use openpgp::serialize::Marshal as _;
use openpgp::serialize::stream::{Encryptor, LiteralWriter, Message, Signer};
use openpgp::types::{Features, HashAlgorithm, SignatureType, SymmetricAlgorithm, Timestamp};
use sequoia_openpgp as openpgp;

use super::agent::{self, SigningKey};
use super::armor::Armor;
use super::seipd;
use super::sign::{Hp, assemble, multipart_signed, prepare};
use super::{crypto, keys, policy, system_time};
use crate::message::eol::{Eol, to_crlf};
use crate::mime::transfer;
use crate::stream::{Content, Whole};
use crate::{Error, Result};

/// How to encrypt.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct EncryptOptions {
    /// Unix seconds: recipient keys must be valid then; signature and literal data time.
    pub now: i64,
    /// Also sign with this key (a TSK, or a certificate whose secret gpg-agent holds).
    pub sign_with: Option<SigningKey>,
    /// Sign and encrypt in one OpenPGP message (RFC 3156 §6.2); otherwise a `multipart/signed`
    /// is encrypted (§6.1).
    pub combined: bool,
    /// RFC 9788 header protection: injected fields, `hp="cipher"`, `HP-Outer`, and the
    /// `hcp_baseline` policy on the outer header (Subject → `[...]`); on by default.
    pub header_protection: bool,
}

impl Default for EncryptOptions {
    fn default() -> Self {
        EncryptOptions::new(0)
    }
}

impl EncryptOptions {
    /// Options for encrypting at `now`, with header protection on.
    pub fn new(now: i64) -> Self {
        EncryptOptions {
            now,
            sign_with: None,
            combined: false,
            header_protection: true,
        }
    }

    /// Also sign with `signer`, nested (`combined` false) or in one OpenPGP message.
    pub fn signed_by(mut self, signer: impl Into<SigningKey>, combined: bool) -> Self {
        self.sign_with = Some(signer.into());
        self.combined = combined;
        self
    }
}

/// Encrypts `plain` (a MIME entity, whose bytes `content` reads) to `recipients`, signing it
/// too when `signer` is given. Returns the armored OpenPGP message (CRLF), or, when `content`
/// has a spool for it, what stands for it there.
///
/// SEIPD v1 (every recipient but those whose certificates all advertise SEIPD v2) is framed by
/// [`super::seipd`] and armored by [`Armor`], each in a fixed few KiB whatever the size of the
/// message; SEIPD v2 is left to Sequoia's `Encryptor`, under the same armor.
pub(crate) fn encrypt_bytes(
    (plain, content): (&[u8], &dyn Content),
    recipients: &[Cert],
    signer: Option<&SigningKey>,
    now: i64,
) -> Result<Vec<u8>> {
    let p = policy::standard();
    let t = system_time(now);
    let mut keys = Vec::new();
    for cert in recipients {
        keys.extend(keys::encryption_keys(cert, &p, t)?);
    }
    let (keypair, slot) = match signer {
        Some(s) => {
            let (kp, slot) = agent::signer(s, &p, t)?;
            (Some(kp), slot)
        }
        None => (None, None),
    };
    // An agent's failure keeps its class (75, 67, 77) instead of Sequoia's message.
    let failed = |what: &'static str| {
        let slot = slot.clone();
        move |e: openpgp::anyhow::Error| match slot.as_ref().and_then(agent::take_failure) {
            Some(failure) => failure,
            None => crypto(what)(e),
        }
    };
    let features: Vec<Features> = keys
        .iter()
        .map(|ka| ka.valid_cert().features().unwrap_or_else(Features::empty))
        .collect();
    let v2 = seipd::seipd_v2(&features);
    // Sequoia's armor leaves the checksum out under the RFC 9580 profile, which its Encryptor
    // sets for SEIPD v2 and its Signer for signers that are all v6 keys.
    let crc = !(v2 || keypair.as_ref().is_some_and(|kp| kp.public().version() > 4));
    let date = Timestamp::try_from(t).map_err(crypto("encryption failed"))?;
    let algo = SymmetricAlgorithm::AES256;
    let mut out = Vec::new();
    let mut spool = content.spool()?;
    {
        let sink: Box<dyn Write + Send + Sync + '_> = match spool.as_mut() {
            Some(s) => Box::new(s),
            None => Box::new(&mut out),
        };
        let mut armor = Armor::new(sink, crc);
        if v2 {
            let m = Encryptor::for_recipients(Message::new(&mut armor), keys)
                .symmetric_algo(algo)
                .build()
                .map_err(crypto("encryption failed"))?;
            let m = match keypair {
                Some(kp) => sign_on(m, kp, t, false).map_err(failed("signing failed"))?,
                None => m,
            };
            let mut w = literal_on(m, t).map_err(crypto("encryption failed"))?;
            content.feed(plain, &mut |c| Ok(w.write_all(c)?))?;
            w.finalize().map_err(failed("encryption failed"))?;
        } else {
            let sk = SessionKey::new(algo.key_size().map_err(crypto("encryption failed"))?)
                .map_err(crypto("encryption failed"))?;
            let recipient_keys: Vec<_> = keys
                .iter()
                .map(|ka| ka.key().role_as_unspecified())
                .collect();
            seipd::write_pkesks(&mut armor, algo, &sk, &recipient_keys)
                .map_err(crypto("encryption failed"))?;
            let mut seipd =
                seipd::Seipd1::new(&mut armor, algo, &sk).map_err(crypto("encryption failed"))?;
            match keypair {
                // RFC 3156 §6.2: one-pass signature, literal data and signature, all inside
                // the encryption. The one-pass signature packet is what Sequoia's Signer
                // writes for a v4 key; the signature is Sequoia's too, made over the same
                // literal content by a Signer in detached mode (the same signature: type
                // binary, over the data alone). Not Sequoia's LiteralWriter under its Signer:
                // its packet framing holds 4 MiB (see super::seipd).
                Some(kp) if kp.public().version() == 4 => {
                    let key = kp.public();
                    let mut ops = OnePassSig3::new(SignatureType::Binary);
                    ops.set_pk_algo(key.pk_algo());
                    ops.set_hash_algo(HashAlgorithm::SHA256);
                    ops.set_issuer(key.keyid());
                    ops.set_last(true);
                    Packet::from(ops)
                        .serialize(&mut seipd)
                        .map_err(crypto("signing failed"))?;
                    let mut signature = Vec::new();
                    let mut signer = sign_on(Message::new(&mut signature), kp, t, true)
                        .map_err(failed("signing failed"))?;
                    let mut w = seipd::Literal::new(&mut seipd, date)?;
                    content.feed(plain, &mut |c| {
                        signer.write_all(c)?;
                        Ok(w.write_all(c)?)
                    })?;
                    w.finish()?;
                    signer.finalize().map_err(failed("signing failed"))?;
                    seipd.write_all(&signature)?;
                }
                // Other keys (v6: its one-pass signature carries the signature's salt):
                // Sequoia's Signer and LiteralWriter over our SEIPD packet.
                Some(kp) => {
                    let m = sign_on(Message::new(&mut seipd), kp, t, false)
                        .map_err(failed("signing failed"))?;
                    let mut w = literal_on(m, t).map_err(crypto("encryption failed"))?;
                    content.feed(plain, &mut |c| Ok(w.write_all(c)?))?;
                    w.finalize().map_err(failed("encryption failed"))?;
                }
                None => {
                    let mut w = seipd::Literal::new(&mut seipd, date)?;
                    content.feed(plain, &mut |c| Ok(w.write_all(c)?))?;
                    w.finish()?;
                }
            }
            seipd.finish().map_err(crypto("encryption failed"))?;
        }
        armor.finish()?;
    }
    match spool {
        Some(s) => content.place(s),
        None => Ok(out),
    }
}

/// Sequoia's LiteralWriter over `m`: binary data, no file name, dated `t`.
fn literal_on(m: Message<'_>, t: std::time::SystemTime) -> openpgp::Result<Message<'_>> {
    LiteralWriter::new(m).date(t)?.build()
}

/// Sequoia's Signer over `m`: SHA-256, signed at `t`; `detached`: the signature alone is
/// written to `m`, not the data.
fn sign_on<'a>(
    m: Message<'a>,
    kp: Box<dyn openpgp::crypto::Signer + Send + Sync>,
    t: std::time::SystemTime,
    detached: bool,
) -> openpgp::Result<Message<'a>> {
    let s = Signer::new(m, kp)?;
    let s = if detached { s.detached() } else { s };
    s.hash_algo(HashAlgorithm::SHA256)?.creation_time(t).build()
}

/// Wraps an armored OpenPGP message (whose bytes `content` reads) into a `multipart/encrypted`
/// body: (Content-Type, body).
pub(crate) fn multipart_encrypted(
    (armored, content): (&[u8], &dyn Content),
) -> Result<(Vec<u8>, Vec<u8>)> {
    let mut probe = transfer::BoundaryProbe::new("e");
    content.feed(armored, &mut |c| {
        probe.update(c);
        Ok(())
    })?;
    let ends_with_crlf = probe.ends_with_crlf();
    let boundary = probe.boundary(|b| content.contains(armored, b.as_bytes()))?;
    let ct = format!(
        "Content-Type: multipart/encrypted;\r\n\tprotocol=\"application/pgp-encrypted\";\r\n\tboundary=\"{boundary}\""
    );
    let mut body = Vec::with_capacity(armored.len() + 512);
    body.extend_from_slice(b"This is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n");
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Type: application/pgp-encrypted\r\n\
             Content-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n\
             --{boundary}\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\
             Content-Description: OpenPGP encrypted message\r\n\
             Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(armored);
    if !ends_with_crlf {
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    Ok((ct.into_bytes(), body))
}

/// Encrypts a whole RFC 5322 message as RFC 3156 `multipart/encrypted`.
///
/// With `opts.sign_with`, the payload is signed first: inside a `multipart/signed` that is then
/// encrypted, or, with `opts.combined`, in the same OpenPGP message. The output uses the input's
/// line-ending convention.
///
/// Fails with [`Error::Usage`] without recipients, [`Error::Key`] when a recipient has no usable encryption key (or the
/// signer no signing key) at `opts.now`, and [`Error::Message`] when the input has no header;
/// a signer in gpg-agent fails as [`super::sign`] says.
pub fn encrypt(message: &[u8], recipients: &[Cert], opts: &EncryptOptions) -> Result<Vec<u8>> {
    encrypt_with(message, recipients, opts, &Whole)
}

/// [`encrypt`] of a message whose content `content` reads: a large message's bodies stand as
/// holes ([`crate::stream::Splice`]), and so does the ciphertext in the output.
pub(crate) fn encrypt_with(
    message: &[u8],
    recipients: &[Cert],
    opts: &EncryptOptions,
    content: &dyn Content,
) -> Result<Vec<u8>> {
    if recipients.is_empty() {
        return Err(Error::Usage(
            "encryption needs at least one recipient".into(),
        ));
    }
    let eol = Eol::detect(message);
    let crlf = to_crlf(message);
    let prepared = prepare(&crlf, opts.header_protection.then_some(Hp::Cipher))?;
    let (entity, combined_signer) = match (&opts.sign_with, opts.combined) {
        (Some(signer), false) => {
            let (ct, body) = multipart_signed((&prepared.part, content), signer, None, opts.now)?;
            let mut e = ct;
            e.extend_from_slice(b"\r\n\r\n");
            e.extend_from_slice(&body);
            (e, None)
        }
        (signer, _) => (prepared.part, signer.as_ref()),
    };
    let armored = encrypt_bytes((&entity, content), recipients, combined_signer, opts.now)?;
    let (ct, body) = multipart_encrypted((&armored, content))?;
    Ok(assemble(&prepared.outer, &ct, &body, eol))
}

/// The e-mail addresses `recipients` can read mail for: User IDs bound and not revoked at `now`
/// under the standard policy. A cert that is not valid then at all is judged by all its User
/// IDs, so that encrypting to it fails as unusable (78), not as missing (67).
pub fn recipient_addresses(recipients: &[Cert], now: i64) -> Vec<String> {
    let p = policy::standard();
    let t = system_time(now);
    let mut named: Vec<String> = Vec::new();
    for cert in recipients {
        match cert.with_policy(&p, t) {
            Ok(vc) => named.extend(
                vc.userids()
                    .revoked(false)
                    .filter_map(|u| keys::email(u.userid())),
            ),
            Err(_) => named.extend(keys::emails(cert)),
        }
    }
    named
}
