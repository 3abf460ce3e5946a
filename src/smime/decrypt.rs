//! Decryption of enveloped-data (AES-CBC, legacy 3DES) and authEnveloped-data (AES-GCM, RFC
//! 5083/5084) for RSA key transport (PKCS#1 v1.5, OAEP) and ECDH key agreement (RFC 5753,
//! X9.63 KDF, AES key wrap). Every private-key operation runs in OpenSSL. A failed
//! authenticated decryption is an error: no partial output.

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{
    EncryptedContentInfo, EnvelopedData, KeyAgreeRecipientIdentifier, OriginatorIdentifierOrKey,
    OriginatorInfo, RecipientIdentifier, RecipientInfo, RecipientInfos,
};
use der::asn1::OctetString;
use der::{Decode, Encode};
use openssl::bn::BigNumContext;
use openssl::derive::Deriver;
use openssl::ec::{EcKey, EcPoint};
use openssl::encrypt::Decrypter;
use openssl::hash::{Hasher, MessageDigest};
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Padding;
use openssl::symm;
use x509_cert::attr::Attributes;

use super::certs::Credentials;
use super::mime::Entity;
use super::verify::parse_content_info;
use super::{asn1, is_pkcs7};
use crate::message::eol::{Eol, to_crlf, to_eol};
use crate::{Error, Result};

/// AuthEnvelopedData (RFC 5083 §2.1); the `cms` crate does not model it.
#[derive(Clone, Debug, Eq, PartialEq, der::Sequence)]
pub(crate) struct AuthEnvelopedData {
    pub version: CmsVersion,
    #[asn1(
        context_specific = "0",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub originator_info: Option<OriginatorInfo>,
    pub recip_infos: RecipientInfos,
    pub auth_encrypted_content: EncryptedContentInfo,
    #[asn1(
        context_specific = "1",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub auth_attrs: Option<Attributes>,
    pub mac: OctetString,
    #[asn1(
        context_specific = "2",
        tag_mode = "IMPLICIT",
        constructed = "true",
        optional = "true"
    )]
    pub unauth_attrs: Option<Attributes>,
}

/// A decrypted CMS layer.
pub(crate) struct Opened {
    pub content: Vec<u8>,
    pub cipher: &'static str,
    pub weak: bool,
}

/// Decrypts an encrypted S/MIME message and returns the decrypted message in the input's
/// line-ending convention: the decrypted entity, preceded by the outer header fields unless the
/// entity carries its own protected copies (RFC 9788 `hp`).
///
/// Fails with [`Error::Message`] when the input is not an encrypted S/MIME message,
/// [`Error::NoKey`] when no key is for a recipient, [`Error::Crypto`] when decryption or
/// authentication fails (never partial output). `now` is reserved for recipient-certificate
/// checks and currently unused.
pub fn decrypt(message: &[u8], keys: &[Credentials], now: i64) -> Result<Vec<u8>> {
    let _ = now;
    let eol = Eol::detect(message);
    let top = Entity::parse(message)
        .ok_or_else(|| Error::Message("not an RFC 5322 message: no header section".into()))?;
    let ct = top.content_type(message);
    let not_enc = || Error::Message("not an S/MIME encrypted message".into());
    if !is_pkcs7(&ct.mime, "mime") {
        return Err(not_enc());
    }
    let body = &message[top.body..];
    let ci = super::mime::base64_decode(body)
        .and_then(|d| parse_content_info(&d))
        .ok_or_else(not_enc)?;
    let opened = open(&ci, keys)?;
    let plain = to_crlf(&opened.content).into_owned();
    let pe = Entity::parse_part(&plain);
    let mut out = if pe.content_type(&plain).param("hp").is_some() {
        Vec::new()
    } else {
        super::sign::outer_header(&to_crlf(message), &top)
    };
    out.extend_from_slice(&plain);
    Ok(to_eol(&out, eol).into_owned())
}

/// Decrypts enveloped-data or authEnveloped-data with the first key that is a recipient.
pub(crate) fn open(ci: &ContentInfo, keys: &[Credentials]) -> Result<Opened> {
    let inner = ci
        .content
        .to_der()
        .map_err(|e| Error::Crypto(e.to_string()))?;
    let ct = ci.content_type.to_string();
    let (recips, eci, mac, aad) = if ct == super::OID_AUTH_ENVELOPED_DATA {
        let a = AuthEnvelopedData::from_der(&inner)
            .map_err(|e| Error::Crypto(format!("bad authEnvelopedData: {e}")))?;
        let aad = match &a.auth_attrs {
            // RFC 5083 §2.2: the AAD is the DER of authAttrs with a SET OF tag.
            Some(attrs) => attrs.to_der().map_err(|e| Error::Crypto(e.to_string()))?,
            None => Vec::new(),
        };
        (
            a.recip_infos,
            a.auth_encrypted_content,
            Some(a.mac.into_bytes()),
            aad,
        )
    } else if ct == super::OID_ENVELOPED_DATA {
        let e = EnvelopedData::from_der(&inner)
            .map_err(|e| Error::Crypto(format!("bad envelopedData: {e}")))?;
        (e.recip_infos, e.encrypted_content, None, Vec::new())
    } else {
        return Err(Error::Crypto(format!(
            "CMS content type {ct} is not encrypted"
        )));
    };

    let mut last_err = None;
    let mut cek = None;
    'outer: for key in keys {
        for ri in recips.0.iter() {
            match recipient_key(ri, key) {
                Some(Ok(k)) => {
                    cek = Some(k);
                    break 'outer;
                }
                Some(Err(e)) => last_err = Some(e),
                None => {}
            }
        }
    }
    let Some(cek) = cek else {
        return Err(last_err.unwrap_or_else(|| {
            Error::NoKey(format!(
                "any recipient of this message (keys given: {})",
                keys.iter()
                    .flat_map(|k| k.addresses())
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        }));
    };
    let data = eci
        .encrypted_content
        .as_ref()
        .map(|o| o.as_bytes())
        .ok_or_else(|| Error::Crypto("no encrypted content".into()))?;
    let alg = eci.content_enc_alg.oid.to_string();
    let params = eci
        .content_enc_alg
        .parameters
        .as_ref()
        .and_then(|p| p.to_der().ok())
        .unwrap_or_default();
    let fail = |what: &str| Error::Crypto(format!("decryption failed: {what}"));
    let (cipher, name, weak, gcm) = match alg.as_str() {
        super::OID_AES128_CBC => (symm::Cipher::aes_128_cbc(), "aes128-cbc", false, false),
        super::OID_AES192_CBC => (symm::Cipher::aes_192_cbc(), "aes192-cbc", false, false),
        super::OID_AES256_CBC => (symm::Cipher::aes_256_cbc(), "aes256-cbc", false, false),
        super::OID_DES_EDE3_CBC => (symm::Cipher::des_ede3_cbc(), "3des-cbc", true, false),
        super::OID_AES128_GCM => (symm::Cipher::aes_128_gcm(), "aes128-gcm", false, true),
        super::OID_AES192_GCM => (symm::Cipher::aes_192_gcm(), "aes192-gcm", false, true),
        super::OID_AES256_GCM => (symm::Cipher::aes_256_gcm(), "aes256-gcm", false, true),
        super::OID_DES_CBC | super::OID_RC2_CBC => {
            return Err(Error::Crypto(format!(
                "content cipher {alg} is obsolete and not supported"
            )));
        }
        _ => return Err(Error::Crypto(format!("unsupported content cipher {alg}"))),
    };
    if cek.len() != cipher.key_len() {
        return Err(fail("content key has the wrong length"));
    }
    let content = if gcm {
        // GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen INTEGER DEFAULT 12 }
        let (seq, _) = asn1::read(&params).ok_or_else(|| fail("bad GCM parameters"))?;
        let kids = asn1::children(seq.content).ok_or_else(|| fail("bad GCM parameters"))?;
        let nonce = kids
            .first()
            .filter(|t| t.tag == asn1::OCTET_STRING)
            .ok_or_else(|| fail("bad GCM nonce"))?
            .content;
        let mac = mac.ok_or_else(|| fail("no MAC"))?;
        if mac.len() < 12 {
            return Err(fail("authentication tag too short"));
        }
        symm::decrypt_aead(cipher, &cek, Some(nonce), &aad, data, &mac)
            .map_err(|_| fail("authentication failed (tampered or wrong key)"))?
    } else {
        let (iv, _) = asn1::read(&params).ok_or_else(|| fail("bad IV"))?;
        symm::decrypt(cipher, &cek, Some(iv.content), data)
            .map_err(|_| fail("bad padding (wrong key or corrupted)"))?
    };
    Ok(Opened {
        content,
        cipher: name,
        weak,
    })
}

fn ias_matches(ias: &IssuerAndSerialNumber, key: &Credentials) -> bool {
    let tbs = &key.cert_x509.tbs_certificate;
    ias.issuer == tbs.issuer && ias.serial_number == tbs.serial_number
}

fn ski_matches(ski: &[u8], key: &Credentials) -> bool {
    key.cert
        .subject_key_id()
        .is_some_and(|k| k.as_slice() == ski)
}

/// The content-encryption key from one RecipientInfo, `None` when it is not for `key`.
fn recipient_key(ri: &RecipientInfo, key: &Credentials) -> Option<Result<Vec<u8>>> {
    match ri {
        RecipientInfo::Ktri(k) => {
            let mine = match &k.rid {
                RecipientIdentifier::IssuerAndSerialNumber(ias) => ias_matches(ias, key),
                RecipientIdentifier::SubjectKeyIdentifier(s) => ski_matches(s.0.as_bytes(), key),
            };
            if !mine {
                return None;
            }
            Some(rsa_decrypt(
                &key.key,
                &k.key_enc_alg.oid.to_string(),
                k.key_enc_alg
                    .parameters
                    .as_ref()
                    .and_then(|p| p.to_der().ok())
                    .as_deref(),
                k.enc_key.as_bytes(),
            ))
        }
        RecipientInfo::Kari(k) => {
            let rek = k.recipient_enc_keys.iter().find(|r| match &r.rid {
                KeyAgreeRecipientIdentifier::IssuerAndSerialNumber(ias) => ias_matches(ias, key),
                KeyAgreeRecipientIdentifier::RKeyId(id) => {
                    ski_matches(id.subject_key_identifier.0.as_bytes(), key)
                }
            })?;
            let OriginatorIdentifierOrKey::OriginatorKey(opk) = &k.originator else {
                return Some(Err(Error::Crypto(
                    "key agreement without an ephemeral originator key".into(),
                )));
            };
            let params = k
                .key_enc_alg
                .parameters
                .as_ref()
                .and_then(|p| p.to_der().ok())
                .unwrap_or_default();
            Some(ecdh_unwrap(
                &key.key,
                opk.public_key.raw_bytes(),
                &k.key_enc_alg.oid.to_string(),
                &params,
                k.ukm.as_ref().map(|u| u.as_bytes()),
                rek.enc_key.as_bytes(),
            ))
        }
        _ => None,
    }
}

fn rsa_decrypt(
    key: &PKey<Private>,
    alg: &str,
    params: Option<&[u8]>,
    enc: &[u8],
) -> Result<Vec<u8>> {
    let run = || -> std::result::Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut d = Decrypter::new(key)?;
        if alg == super::OID_RSA_OAEP {
            let (hash, mgf) = oaep_params(params.unwrap_or_default());
            d.set_rsa_padding(Padding::PKCS1_OAEP)?;
            d.set_rsa_oaep_md(hash)?;
            d.set_rsa_mgf1_md(mgf)?;
        } else {
            d.set_rsa_padding(Padding::PKCS1)?;
        }
        let mut out = vec![0; d.decrypt_len(enc)?];
        let n = d.decrypt(enc, &mut out)?;
        out.truncate(n);
        Ok(out)
    };
    if alg != super::OID_RSA && alg != super::OID_RSA_OAEP {
        return Err(Error::Crypto(format!("unsupported key transport {alg}")));
    }
    run()
        .map_err(|_| Error::Crypto("decryption failed: the content key cannot be unwrapped".into()))
}

/// (hash, MGF1 hash) of RSAES-OAEP-params (RFC 4055 §4.1); SHA-1 by default.
fn oaep_params(der: &[u8]) -> (MessageDigest, MessageDigest) {
    let mut hash = MessageDigest::sha1();
    let mut mgf = MessageDigest::sha1();
    let alg_md = |alg: &[u8]| -> Option<MessageDigest> {
        let (seq, _) = asn1::read(alg)?;
        let (o, rest) = asn1::read(seq.content)?;
        let name = asn1::oid_string(o.content)?;
        if name == super::OID_MGF1 {
            let (inner, _) = asn1::read(rest)?;
            let (o2, _) = asn1::read(inner.content)?;
            return super::digest_by_oid(&asn1::oid_string(o2.content)?).map(|d| d.0);
        }
        super::digest_by_oid(&name).map(|d| d.0)
    };
    if let Some((seq, _)) = asn1::read(der)
        && let Some(kids) = asn1::children(seq.content)
    {
        for k in kids {
            match k.tag {
                0xa0 => hash = alg_md(k.content).unwrap_or(hash),
                0xa1 => mgf = alg_md(k.content).unwrap_or(mgf),
                _ => {}
            }
        }
    }
    (hash, mgf)
}

/// KDF hash of an RFC 5753 key-agreement scheme.
pub(crate) fn kdf_hash(alg: &str) -> Option<MessageDigest> {
    Some(match alg {
        "1.3.133.16.840.63.0.2" => MessageDigest::sha1(),
        "1.3.132.1.11.0" => MessageDigest::sha224(),
        "1.3.132.1.11.1" => MessageDigest::sha256(),
        "1.3.132.1.11.2" => MessageDigest::sha384(),
        "1.3.132.1.11.3" => MessageDigest::sha512(),
        _ => return None,
    })
}

/// AES key-wrap algorithm → key length.
pub(crate) fn wrap_len(alg: &str) -> Option<usize> {
    Some(match alg {
        "2.16.840.1.101.3.4.1.5" => 16,
        "2.16.840.1.101.3.4.1.25" => 24,
        "2.16.840.1.101.3.4.1.45" => 32,
        _ => return None,
    })
}

/// ECC-CMS-SharedInfo (RFC 5753 §7.2) and the ANSI X9.63 KDF → the key-encryption key.
pub(crate) fn x963_kek(
    z: &[u8],
    md: MessageDigest,
    wrap_oid: &str,
    ukm: Option<&[u8]>,
    len: usize,
) -> Result<Vec<u8>> {
    let alg = asn1::cons(asn1::SEQUENCE, &[&asn1::oid(wrap_oid).unwrap_or_default()]);
    let mut parts = vec![alg];
    if let Some(u) = ukm {
        parts.push(asn1::tlv(0xa0, &asn1::tlv(asn1::OCTET_STRING, u)));
    }
    let bits = ((len * 8) as u32).to_be_bytes();
    parts.push(asn1::tlv(0xa2, &asn1::tlv(asn1::OCTET_STRING, &bits)));
    let shared = asn1::tlv(asn1::SEQUENCE, &parts.concat());
    let mut out = Vec::new();
    let mut counter: u32 = 1;
    let e = |e: openssl::error::ErrorStack| Error::Crypto(e.to_string());
    while out.len() < len {
        let mut h = Hasher::new(md).map_err(e)?;
        h.update(z).map_err(e)?;
        h.update(&counter.to_be_bytes()).map_err(e)?;
        h.update(&shared).map_err(e)?;
        out.extend_from_slice(&h.finish().map_err(e)?);
        counter += 1;
    }
    out.truncate(len);
    Ok(out)
}

pub(crate) fn ecdh(ours: &PKey<Private>, theirs: &PKey<Public>) -> Result<Vec<u8>> {
    let mut d = Deriver::new(ours).map_err(|e| Error::Crypto(e.to_string()))?;
    d.set_peer(theirs)
        .map_err(|e| Error::Crypto(e.to_string()))?;
    d.derive_to_vec().map_err(|e| Error::Crypto(e.to_string()))
}

fn ecdh_unwrap(
    key: &PKey<Private>,
    point: &[u8],
    alg: &str,
    params: &[u8],
    ukm: Option<&[u8]>,
    enc: &[u8],
) -> Result<Vec<u8>> {
    let fail = |w: &str| Error::Crypto(format!("key agreement failed: {w}"));
    let md = kdf_hash(alg).ok_or_else(|| fail("unsupported key-agreement scheme"))?;
    let (wrap, _) = asn1::read(params).ok_or_else(|| fail("no key-wrap algorithm"))?;
    let (o, _) = asn1::read(wrap.content).ok_or_else(|| fail("no key-wrap algorithm"))?;
    let wrap_oid = asn1::oid_string(o.content).ok_or_else(|| fail("bad key-wrap OID"))?;
    let klen = wrap_len(&wrap_oid).ok_or_else(|| fail("unsupported key wrap"))?;
    let ec = key.ec_key().map_err(|_| fail("the key is not an EC key"))?;
    let group = ec.group();
    let mut ctx = BigNumContext::new().map_err(|e| Error::Crypto(e.to_string()))?;
    let pt = EcPoint::from_bytes(group, point, &mut ctx).map_err(|_| fail("bad ephemeral key"))?;
    let peer = EcKey::from_public_key(group, &pt)
        .and_then(PKey::from_ec_key)
        .map_err(|_| fail("bad ephemeral key"))?;
    let z = ecdh(key, &peer)?;
    let kek = x963_kek(&z, md, &wrap_oid, ukm, klen)?;
    let aes = openssl::aes::AesKey::new_decrypt(&kek).map_err(|_| fail("bad KEK"))?;
    if enc.len() < 24 {
        return Err(fail("wrapped key too short"));
    }
    let mut out = vec![0u8; enc.len() - 8];
    let n = openssl::aes::unwrap_key(&aes, None, &mut out, enc)
        .map_err(|_| fail("the content key cannot be unwrapped"))?;
    out.truncate(n);
    Ok(out)
}
