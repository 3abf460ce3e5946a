//! Encryption: enveloped-data (AES-CBC) or authEnveloped-data (AES-GCM, RFC 5083/5084, the
//! default) for RSA key transport (PKCS#1 v1.5 or OAEP with SHA-256) and ECDH (RFC 5753,
//! dhSinglePass-stdDH-sha256kdf-scheme with AES key wrap). With header protection the payload
//! carries the header copies with `hp="cipher"` and one HP-Outer per outer field (RFC 9788),
//! and the outer Subject becomes `[...]` (hcp_baseline).

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{
    EncryptedContentInfo, EnvelopedData, KeyAgreeRecipientIdentifier, KeyAgreeRecipientInfo,
    KeyTransRecipientInfo, OriginatorIdentifierOrKey, OriginatorPublicKey, RecipientEncryptedKey,
    RecipientIdentifier, RecipientInfo, RecipientInfos,
};
use der::asn1::{BitString, OctetString};
use der::{Any, Decode, Encode};
use openssl::bn::BigNumContext;
use openssl::ec::{EcKey, PointConversionForm};
use openssl::encrypt::Encrypter;
use openssl::hash::MessageDigest;
use openssl::pkey::{Id, PKey};
use openssl::rsa::Padding;
use openssl::symm;
use x509_cert::Certificate;
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::decrypt::{AuthEnvelopedData, ecdh, x963_kek};
use super::sign::build_payload;
use super::{Cipher, asn1, certs, is_pkcs7, oid};
use crate::message::eol::{Eol, to_crlf, to_eol};
use crate::mime::{self, Entity, transfer};
use crate::stream::{Content, Whole};
use crate::{Error, Result};

/// How to encrypt.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct EncryptOptions {
    /// Content cipher; AES-256-GCM by default.
    pub cipher: Option<Cipher>,
    /// RSAES-OAEP (SHA-256, MGF1-SHA-256) instead of PKCS#1 v1.5 for RSA recipients.
    pub oaep: bool,
    /// Time (Unix seconds) at which recipient certificates must be valid; 0 skips the check.
    pub now: i64,
    /// RFC 9788 header protection (default true).
    pub header_protection: bool,
}

impl Default for EncryptOptions {
    fn default() -> Self {
        EncryptOptions {
            cipher: None,
            oaep: false,
            now: 0,
            header_protection: true,
        }
    }
}

fn crypto(e: impl std::fmt::Display) -> Error {
    Error::Crypto(e.to_string())
}

/// Encrypts a whole message for `recipients`. A message that is already S/MIME-signed is
/// encrypted as is (sign-then-encrypt: its signed part carries the protected header copies).
///
/// Fails with [`Error::NoKey`] when there is no recipient, [`Error::Key`] when a recipient certificate cannot be used (RSA < 2048 bits,
/// unsupported key type, not valid at `now`) and [`Error::Message`] when the input has no
/// header section.
pub fn encrypt(
    message: &[u8],
    recipients: &[Certificate],
    opts: &EncryptOptions,
) -> Result<Vec<u8>> {
    encrypt_with(message, recipients, opts, &Whole)
}

/// [`encrypt`] of a message whose content `content` reads: a large message's bodies stand as
/// holes ([`crate::stream::Splice`]), and so does the ciphertext in the output.
pub(crate) fn encrypt_with(
    message: &[u8],
    recipients: &[Certificate],
    opts: &EncryptOptions,
    content: &dyn Content,
) -> Result<Vec<u8>> {
    if recipients.is_empty() {
        return Err(Error::NoKey(
            "the message (no recipient certificate given)".into(),
        ));
    }
    let eol = Eol::detect(message);
    let raw = to_crlf(message);
    let ent = Entity::message(&raw).map_err(|e| Error::Message(e.to_string()))?;
    let ct = ent.content_type();
    let signed = ct.mime == "multipart/signed" || is_pkcs7(&ct.mime, "mime");
    let hp = opts.header_protection && !signed;

    if opts.now > 0 {
        check_validity(recipients, opts.now)?;
    }
    // hcp_baseline (RFC 9788 §3.2.1): Subject obscured, Comments/Keywords removed. An mbox
    // envelope line stays first.
    let mut outer = raw[..ent.start].to_vec();
    let mut hp_outer = Vec::new();
    for f in ent.fields.iter().filter(|f| !mime::is_structural(&f.name)) {
        let lname = f.name.to_ascii_lowercase();
        if hp && (lname == "comments" || lname == "keywords") {
            continue;
        }
        // Bcc stays outside only: no protected copy, no HP-Outer record.
        if lname == "bcc" {
            outer.extend_from_slice(&raw[f.span.clone()]);
            outer.extend_from_slice(b"\r\n");
            continue;
        }
        if hp && lname == "subject" {
            outer.extend_from_slice(format!("{}: [...]\r\n", f.name).as_bytes());
            hp_outer.extend_from_slice(format!("HP-Outer: {}: [...]\r\n", f.name).as_bytes());
            continue;
        }
        outer.extend_from_slice(&raw[f.span.clone()]);
        outer.extend_from_slice(b"\r\n");
        if hp {
            hp_outer.extend_from_slice(
                format!(
                    "HP-Outer: {}: {}\r\n",
                    f.name,
                    mime::normalize(&raw[f.value.clone()])
                )
                .as_bytes(),
            );
        }
    }
    let payload = build_payload(&raw, &ent, hp.then_some("cipher"), &hp_outer)?;
    let cipher = opts.cipher.unwrap_or(Cipher::Aes256Gcm);
    // A large payload is encrypted as it is read, into a spool (BER with indefinite lengths,
    // as `openssl cms -stream` writes); one held whole, into DER.
    let b64 = match content.spool()? {
        None => transfer::base64_lines(&envelope(&payload, recipients, cipher, opts.oaep)?),
        Some(spool) => {
            let mut lines = super::seal::Base64Lines::new(spool);
            let sealing = sealing(recipients, cipher, opts.oaep)?;
            super::seal::write_enveloped((&payload, content), &sealing, &mut lines)?;
            content.place(lines.finish()?)?
        }
    };
    let smime_type = match cipher {
        Cipher::Aes128Gcm | Cipher::Aes256Gcm => "authEnveloped-data",
        _ => "enveloped-data",
    };
    outer.extend_from_slice(
        format!("MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type={smime_type};\r\n name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n").as_bytes(),
    );
    outer.extend(b64);
    Ok(to_eol(&outer, eol).into_owned())
}

/// Refuses recipient certificates outside their validity at `now`.
fn check_validity(recipients: &[Certificate], now: i64) -> Result<()> {
    let t = openssl::asn1::Asn1Time::from_unix(now as _).map_err(crypto)?;
    for r in recipients {
        let x = certs::to_openssl(r)?;
        let expired = x.not_after().compare(&t).map_err(crypto)? == std::cmp::Ordering::Less;
        let early = x.not_before().compare(&t).map_err(crypto)? == std::cmp::Ordering::Greater;
        if expired || early {
            let who = certs::addresses(&x).join(", ");
            return Err(Error::Key(format!(
                "recipient certificate for {who} is not valid at the given time"
            )));
        }
    }
    Ok(())
}

pub(crate) fn alg(o: &str, params: Option<&[u8]>) -> Result<AlgorithmIdentifierOwned> {
    Ok(AlgorithmIdentifierOwned {
        oid: oid(o),
        parameters: params.map(Any::from_der).transpose().map_err(crypto)?,
    })
}

fn oaep_sha256_params() -> Vec<u8> {
    let null = asn1::tlv(asn1::NULL, &[]);
    let sha = asn1::cons(
        asn1::SEQUENCE,
        &[&asn1::oid(super::OID_SHA256).unwrap_or_default(), &null],
    );
    let mgf = asn1::cons(
        asn1::SEQUENCE,
        &[&asn1::oid(super::OID_MGF1).unwrap_or_default(), &sha],
    );
    asn1::cons(
        asn1::SEQUENCE,
        &[&asn1::tlv(0xa0, &sha), &asn1::tlv(0xa1, &mgf)],
    )
}

/// What sealing content for recipients takes, whichever way it is written: the cipher, a
/// fresh content-encryption key, and that key for each recipient.
pub(crate) struct Sealing {
    pub sc: symm::Cipher,
    pub oid_c: &'static str,
    pub gcm: bool,
    pub cek: Vec<u8>,
    pub recip_infos: RecipientInfos,
    /// Some recipient is a key agreement one (EnvelopedData version 2).
    pub kari: bool,
}

/// A fresh content-encryption key for `cipher`, transported to each of `recipients` (RSA
/// PKCS#1 v1.5 or OAEP, or ECDH, see the module docs).
pub(crate) fn sealing(recipients: &[Certificate], cipher: Cipher, oaep: bool) -> Result<Sealing> {
    let (sc, oid_c, gcm) = match cipher {
        Cipher::Aes128Cbc => (symm::Cipher::aes_128_cbc(), super::OID_AES128_CBC, false),
        Cipher::Aes256Cbc => (symm::Cipher::aes_256_cbc(), super::OID_AES256_CBC, false),
        Cipher::Aes128Gcm => (symm::Cipher::aes_128_gcm(), super::OID_AES128_GCM, true),
        Cipher::Aes256Gcm => (symm::Cipher::aes_256_gcm(), super::OID_AES256_GCM, true),
    };
    let mut cek = vec![0u8; sc.key_len()];
    openssl::rand::rand_bytes(&mut cek).map_err(crypto)?;
    let mut infos = Vec::new();
    let mut kari = false;
    for r in recipients {
        let x = certs::to_openssl(r)?;
        let pk = x.public_key().map_err(crypto)?;
        let ias = IssuerAndSerialNumber {
            issuer: r.tbs_certificate.issuer.clone(),
            serial_number: r.tbs_certificate.serial_number.clone(),
        };
        match pk.id() {
            Id::RSA => {
                if pk.bits() < 2048 {
                    return Err(Error::Key(format!(
                        "recipient RSA key of {} bits is below the 2048-bit minimum",
                        pk.bits()
                    )));
                }
                let mut enc = Encrypter::new(&pk).map_err(crypto)?;
                let key_alg = if oaep {
                    enc.set_rsa_padding(Padding::PKCS1_OAEP).map_err(crypto)?;
                    enc.set_rsa_oaep_md(MessageDigest::sha256())
                        .map_err(crypto)?;
                    enc.set_rsa_mgf1_md(MessageDigest::sha256())
                        .map_err(crypto)?;
                    alg(super::OID_RSA_OAEP, Some(&oaep_sha256_params()))?
                } else {
                    enc.set_rsa_padding(Padding::PKCS1).map_err(crypto)?;
                    alg(super::OID_RSA, Some(&[5, 0]))?
                };
                let mut out = vec![0; enc.encrypt_len(&cek).map_err(crypto)?];
                let n = enc.encrypt(&cek, &mut out).map_err(crypto)?;
                out.truncate(n);
                infos.push(RecipientInfo::Ktri(KeyTransRecipientInfo {
                    version: CmsVersion::V0,
                    rid: RecipientIdentifier::IssuerAndSerialNumber(ias),
                    key_enc_alg: key_alg,
                    enc_key: OctetString::new(out).map_err(crypto)?,
                }));
            }
            Id::EC => {
                kari = true;
                let theirs = pk.ec_key().map_err(crypto)?;
                let eph = EcKey::generate(theirs.group()).map_err(crypto)?;
                let mut bn = BigNumContext::new().map_err(crypto)?;
                let point = eph
                    .public_key()
                    .to_bytes(eph.group(), PointConversionForm::UNCOMPRESSED, &mut bn)
                    .map_err(crypto)?;
                let eph = PKey::from_ec_key(eph).map_err(crypto)?;
                let z = ecdh(&eph, &pk)?;
                let (wrap_oid, klen) = if cek.len() == 16 {
                    ("2.16.840.1.101.3.4.1.5", 16)
                } else {
                    ("2.16.840.1.101.3.4.1.45", 32)
                };
                let kek = x963_kek(&z, MessageDigest::sha256(), wrap_oid, None, klen)?;
                let aes = openssl::aes::AesKey::new_encrypt(&kek)
                    .map_err(|_| Error::Crypto("bad KEK".into()))?;
                let mut wrapped = vec![0u8; cek.len() + 8];
                openssl::aes::wrap_key(&aes, None, &mut wrapped, &cek)
                    .map_err(|_| Error::Crypto("AES key wrap failed".into()))?;
                let wrap_alg =
                    asn1::cons(asn1::SEQUENCE, &[&asn1::oid(wrap_oid).unwrap_or_default()]);
                infos.push(RecipientInfo::Kari(KeyAgreeRecipientInfo {
                    version: CmsVersion::V3,
                    originator: OriginatorIdentifierOrKey::OriginatorKey(OriginatorPublicKey {
                        algorithm: alg(super::OID_EC_PUBLIC_KEY, None)?,
                        public_key: BitString::from_bytes(&point).map_err(crypto)?,
                    }),
                    ukm: None,
                    // dhSinglePass-stdDH-sha256kdf-scheme (RFC 5753 §7.1.4).
                    key_enc_alg: alg("1.3.132.1.11.1", Some(&wrap_alg))?,
                    recipient_enc_keys: vec![RecipientEncryptedKey {
                        rid: KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(ias),
                        enc_key: OctetString::new(wrapped).map_err(crypto)?,
                    }],
                }));
            }
            _ => return Err(Error::Key("recipient key type not supported".into())),
        }
    }
    let recip_infos = RecipientInfos::try_from(infos).map_err(crypto)?;
    Ok(Sealing {
        sc,
        oid_c,
        gcm,
        cek,
        recip_infos,
        kari,
    })
}

/// A CMS ContentInfo with (auth)EnvelopedData of `content` for `recipients`, DER.
pub(crate) fn envelope(
    content: &[u8],
    recipients: &[Certificate],
    cipher: Cipher,
    oaep: bool,
) -> Result<Vec<u8>> {
    let Sealing {
        sc,
        oid_c,
        gcm,
        cek,
        recip_infos,
        kari,
    } = sealing(recipients, cipher, oaep)?;
    let (ct_oid, inner) = if gcm {
        let mut nonce = [0u8; 12];
        openssl::rand::rand_bytes(&mut nonce).map_err(crypto)?;
        let mut tag = [0u8; 16];
        let data =
            symm::encrypt_aead(sc, &cek, Some(&nonce), &[], content, &mut tag).map_err(crypto)?;
        let params = asn1::cons(
            asn1::SEQUENCE,
            &[
                &asn1::tlv(asn1::OCTET_STRING, &nonce),
                &asn1::int(asn1::INTEGER, 16),
            ],
        );
        let aed = AuthEnvelopedData {
            version: CmsVersion::V0,
            originator_info: None,
            recip_infos,
            auth_encrypted_content: EncryptedContentInfo {
                content_type: oid(super::OID_DATA),
                content_enc_alg: alg(oid_c, Some(&params))?,
                encrypted_content: Some(OctetString::new(data).map_err(crypto)?),
            },
            auth_attrs: None,
            mac: OctetString::new(tag.to_vec()).map_err(crypto)?,
            unauth_attrs: None,
        };
        (
            super::OID_AUTH_ENVELOPED_DATA,
            aed.to_der().map_err(crypto)?,
        )
    } else {
        let mut iv = [0u8; 16];
        openssl::rand::rand_bytes(&mut iv).map_err(crypto)?;
        let data = symm::encrypt(sc, &cek, Some(&iv), content).map_err(crypto)?;
        let ed = EnvelopedData {
            version: if kari { CmsVersion::V2 } else { CmsVersion::V0 },
            originator_info: None,
            recip_infos,
            encrypted_content: EncryptedContentInfo {
                content_type: oid(super::OID_DATA),
                content_enc_alg: alg(oid_c, Some(&asn1::tlv(asn1::OCTET_STRING, &iv)))?,
                encrypted_content: Some(OctetString::new(data).map_err(crypto)?),
            },
            unprotected_attrs: None,
        };
        (super::OID_ENVELOPED_DATA, ed.to_der().map_err(crypto)?)
    };
    let ci = ContentInfo {
        content_type: oid(ct_oid),
        content: Any::from_der(&inner).map_err(crypto)?,
    };
    ci.to_der().map_err(crypto)
}

/// The e-mail addresses the recipient certificates name (SAN rfc822Names, else the subject
/// emailAddress), lower-cased: who can read what is encrypted to `recipients`.
pub fn recipient_addresses(recipients: &[Certificate]) -> Result<Vec<String>> {
    let mut named = Vec::new();
    for r in recipients {
        named.extend(certs::addresses(&certs::to_openssl(r)?));
    }
    Ok(named)
}
