//! Decryption of enveloped-data (AES-CBC, legacy 3DES) and authEnveloped-data (AES-GCM, RFC
//! 5083/5084) for RSA key transport (PKCS#1 v1.5, OAEP) and ECDH key agreement (RFC 5753,
//! X9.63 KDF, AES key wrap). Every private-key operation runs in OpenSSL. A failed
//! authenticated decryption is an error: no partial output.
//!
//! The rules live here once: which RecipientInfo is ours and how its key is unwrapped
//! ([`content_key`]), and how the content is deciphered piece by piece ([`ContentDecrypter`]).
//! The CMS structure around them is walked by [`super::stream_open`], for a whole
//! [`ContentInfo`] ([`open`]) as for a stream.

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::enveloped_data::{
    EncryptedContentInfo, KeyAgreeRecipientIdentifier, OriginatorIdentifierOrKey, OriginatorInfo,
    RecipientIdentifier, RecipientInfo, RecipientInfos,
};
use der::Encode;
use der::asn1::OctetString;
use openssl::bn::BigNumContext;
use openssl::derive::Deriver;
use openssl::ec::{EcKey, EcPoint};
use openssl::encrypt::Decrypter;
use openssl::hash::{Hasher, MessageDigest};
use openssl::pkey::{PKey, Private, Public};
use openssl::rsa::Padding;
use openssl::symm;
use x509_cert::attr::Attributes;
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::asn1;
use super::certs::Credentials;
use super::stream_open::{self, Fail, Streamed};
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
pub struct Opened {
    /// The plaintext.
    pub content: Vec<u8>,
    /// The content cipher (`aes256-gcm`, ...).
    pub cipher: &'static str,
    /// True for DES, 3DES and RC2.
    pub weak: bool,
}

/// Decrypts enveloped-data or authEnveloped-data with the first key that is a recipient.
///
/// The same walk as [`super::open_stream`], over the DER of `ci`, into memory.
pub fn open(ci: &ContentInfo, keys: &[Credentials]) -> Result<Opened> {
    let ct = ci.content_type.to_string();
    let what = match ct.as_str() {
        super::OID_AUTH_ENVELOPED_DATA => "authEnvelopedData",
        super::OID_ENVELOPED_DATA => "envelopedData",
        _ => {
            return Err(Error::Crypto(format!(
                "CMS content type {ct} is not encrypted"
            )));
        }
    };
    let der = ci.to_der().map_err(|e| Error::Crypto(e.to_string()))?;
    let mut content = Vec::new();
    match stream_open::run(&mut der.as_slice(), None, keys, u64::MAX, &mut content) {
        Ok((Streamed::Enveloped { cipher, weak }, _)) => Ok(Opened {
            content,
            cipher,
            weak,
        }),
        Ok(_) => Err(Error::Crypto(format!("bad {what}: not encrypted"))),
        Err(Fail::Malformed(m)) => Err(Error::Crypto(format!("bad {what}: {m}"))),
        Err(Fail::Crypto(e)) => Err(e),
        Err(Fail::Io(e)) => Err(Error::Io(e)),
    }
}

/// The content-encryption key: the first of `recips` that is for one of `keys` (tried in the
/// order of `keys`) and unwraps.
///
/// Fails with the last unwrapping error when a RecipientInfo was ours but did not open, else
/// with [`Error::NoKey`].
pub(crate) fn content_key(recips: &[RecipientInfo], keys: &[Credentials]) -> Result<Vec<u8>> {
    let mut last_err = None;
    for key in keys {
        for ri in recips {
            match recipient_key(ri, key) {
                Some(Ok(k)) => return Ok(k),
                Some(Err(e)) => last_err = Some(e),
                None => {}
            }
        }
    }
    Err(last_err.unwrap_or_else(|| {
        Error::NoKey(format!(
            "any recipient of this message (keys given: {})",
            keys.iter()
                .flat_map(|k| k.addresses())
                .collect::<Vec<_>>()
                .join(", ")
        ))
    }))
}

fn fail(what: &str) -> Error {
    Error::Crypto(format!("decryption failed: {what}"))
}

/// Deciphers encryptedContent as it arrives, in OpenSSL (`EVP_Cipher*`): CBC with its padding
/// checked at the end, or GCM with its tag checked at the end.
///
/// Pieces come out before the tag (or the padding) is checked, because CMS puts the mac after
/// the content: whoever writes them somewhere must be able to throw them away when
/// [`finish`](Self::finish) fails, since plaintext that fails authentication must never reach
/// the reader.
pub(crate) struct ContentDecrypter {
    crypter: symm::Crypter,
    block: usize,
    /// The report name (`aes256-gcm`, ...).
    pub name: &'static str,
    /// True for 3DES.
    pub weak: bool,
    /// GCM: the hash key H = AES-K(0¹²⁸) and the ciphertext length, for authAttrs.
    gcm: Option<([u8; 16], u64)>,
}

impl ContentDecrypter {
    /// The decrypter for contentEncryptionAlgorithm `alg` with key `cek`.
    ///
    /// Fails on ciphers other than AES-CBC/GCM and 3DES, bad parameters, or a key of the wrong
    /// length.
    pub(crate) fn new(alg: &AlgorithmIdentifierOwned, cek: &[u8]) -> Result<ContentDecrypter> {
        let oid = alg.oid.to_string();
        let params = alg
            .parameters
            .as_ref()
            .and_then(|p| p.to_der().ok())
            .unwrap_or_default();
        let (cipher, ecb, name, weak) = match oid.as_str() {
            super::OID_AES128_CBC => (symm::Cipher::aes_128_cbc(), None, "aes128-cbc", false),
            super::OID_AES192_CBC => (symm::Cipher::aes_192_cbc(), None, "aes192-cbc", false),
            super::OID_AES256_CBC => (symm::Cipher::aes_256_cbc(), None, "aes256-cbc", false),
            super::OID_DES_EDE3_CBC => (symm::Cipher::des_ede3_cbc(), None, "3des-cbc", true),
            super::OID_AES128_GCM => {
                let ecb = symm::Cipher::aes_128_ecb();
                (symm::Cipher::aes_128_gcm(), Some(ecb), "aes128-gcm", false)
            }
            super::OID_AES192_GCM => {
                let ecb = symm::Cipher::aes_192_ecb();
                (symm::Cipher::aes_192_gcm(), Some(ecb), "aes192-gcm", false)
            }
            super::OID_AES256_GCM => {
                let ecb = symm::Cipher::aes_256_ecb();
                (symm::Cipher::aes_256_gcm(), Some(ecb), "aes256-gcm", false)
            }
            super::OID_DES_CBC | super::OID_RC2_CBC => {
                return Err(Error::Crypto(format!(
                    "content cipher {oid} is obsolete and not supported"
                )));
            }
            _ => return Err(Error::Crypto(format!("unsupported content cipher {oid}"))),
        };
        if cek.len() != cipher.key_len() {
            return Err(fail("content key has the wrong length"));
        }
        let iv = if ecb.is_some() {
            // GCMParameters ::= SEQUENCE { aes-nonce OCTET STRING, aes-ICVlen INTEGER DEFAULT 12 }
            let (seq, _) = asn1::read(&params).ok_or_else(|| fail("bad GCM parameters"))?;
            let kids = asn1::children(seq.content).ok_or_else(|| fail("bad GCM parameters"))?;
            kids.first()
                .filter(|t| t.tag == asn1::OCTET_STRING && (1..=64).contains(&t.content.len()))
                .ok_or_else(|| fail("bad GCM nonce"))?
                .content
        } else {
            // Checked here: OpenSSL's Crypter asserts on an IV of the wrong length.
            let (iv, _) = asn1::read(&params).ok_or_else(|| fail("bad IV"))?;
            if Some(iv.content.len()) != cipher.iv_len() {
                return Err(fail("bad IV"));
            }
            iv.content
        };
        let err = || fail("the content cipher cannot be set up");
        let crypter =
            symm::Crypter::new(cipher, symm::Mode::Decrypt, cek, Some(iv)).map_err(|_| err())?;
        let gcm = match ecb {
            Some(ecb) => {
                let mut c =
                    symm::Crypter::new(ecb, symm::Mode::Encrypt, cek, None).map_err(|_| err())?;
                c.pad(false);
                let mut h = [0u8; 32];
                let n = c.update(&[0u8; 16], &mut h).map_err(|_| err())?;
                let mut key = [0u8; 16];
                key.copy_from_slice(h.get(..16).filter(|_| n == 16).ok_or_else(err)?);
                Some((key, 0))
            }
            None => None,
        };
        Ok(ContentDecrypter {
            crypter,
            block: cipher.block_size(),
            name,
            weak,
            gcm,
        })
    }

    /// Deciphers the next piece of ciphertext into `out` (replacing its contents).
    pub(crate) fn update(&mut self, data: &[u8], out: &mut Vec<u8>) -> Result<()> {
        out.resize(data.len() + self.block, 0);
        let n = self
            .crypter
            .update(data, out)
            .map_err(|_| fail("the content cannot be deciphered"))?;
        out.truncate(n);
        if let Some((_, len)) = &mut self.gcm {
            *len += data.len() as u64;
        }
        Ok(())
    }

    /// Ends the ciphertext: the last plaintext bytes go to `out` (replacing its contents).
    /// For GCM, `auth` is (the DER of authAttrs as a SET OF or empty, the mac).
    ///
    /// Fails on bad CBC padding, or a GCM tag that does not match (tampered or wrong key).
    pub(crate) fn finish(mut self, auth: Option<(&[u8], &[u8])>, out: &mut Vec<u8>) -> Result<()> {
        out.resize(2 * self.block, 0);
        let Some((h, ct_len)) = self.gcm else {
            let n = self
                .crypter
                .finalize(out)
                .map_err(|_| fail("bad padding (wrong key or corrupted)"))?;
            out.truncate(n);
            return Ok(());
        };
        let (aad, mac) = auth.ok_or_else(|| fail("no MAC"))?;
        if mac.len() < 12 {
            return Err(fail("authentication tag too short"));
        }
        let bad_tag = || fail("authentication failed (tampered or wrong key)");
        if mac.len() > 16 {
            return Err(bad_tag());
        }
        // authAttrs follow the ciphertext (RFC 5083 §2.1), but GCM wants its AAD first: the
        // ciphertext went through OpenSSL without AAD, and the tag it must have without AAD
        // is the one sent with the AAD's GHASH terms taken out (see `gcm_aad_delta`).
        let mut tag = mac.to_vec();
        if !aad.is_empty() {
            let delta = gcm_aad_delta(&h, aad, ct_len);
            tag.iter_mut().zip(delta).for_each(|(t, d)| *t ^= d);
        }
        self.crypter.set_tag(&tag).map_err(|_| bad_tag())?;
        let n = self.crypter.finalize(out).map_err(|_| bad_tag())?;
        out.truncate(n);
        Ok(())
    }
}

/// Multiplication in GF(2¹²⁸) with GCM's bit order (NIST SP 800-38D §6.3, Algorithm 1).
fn gf_mul(x: u128, y: u128) -> u128 {
    const R: u128 = 0xe1 << 120;
    let mut z = 0;
    let mut v = y;
    for i in 0..128 {
        if (x >> (127 - i)) & 1 == 1 {
            z ^= v;
        }
        v = if v & 1 == 1 { (v >> 1) ^ R } else { v >> 1 };
    }
    z
}

/// What AAD `aad` adds to a GCM tag over `ct_len` ciphertext bytes (SP 800-38D §7.1): the tag
/// is E(K, J0) ⊕ GHASH_H(A ‖ C ‖ [len A]₆₄ ‖ [len C]₆₄), and GHASH is linear in its blocks, so
/// with a blocks of A and c of C, tag(A) ⊕ tag(∅) = (Σ Aᵢ·H^(a+1−i))·H^(c+1) ⊕ ([len A]₆₄ ‖ 0⁶⁴)·H.
/// The tag itself is still computed and compared by OpenSSL.
fn gcm_aad_delta(h: &[u8; 16], aad: &[u8], ct_len: u64) -> [u8; 16] {
    let h = u128::from_be_bytes(*h);
    let mut s = 0u128;
    for chunk in aad.chunks(16) {
        let mut block = [0u8; 16];
        block[..chunk.len()].copy_from_slice(chunk);
        s = gf_mul(s ^ u128::from_be_bytes(block), h);
    }
    // H^(c+1) by square and multiply.
    let mut pow = 1u128 << 127;
    let mut base = h;
    let mut e = ct_len.div_ceil(16) + 1;
    while e > 0 {
        if e & 1 == 1 {
            pow = gf_mul(pow, base);
        }
        base = gf_mul(base, base);
        e >>= 1;
    }
    let lens = u128::from(aad.len() as u64 * 8) << 64;
    (gf_mul(s, pow) ^ gf_mul(lens, h)).to_be_bytes()
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
    if alg != super::OID_RSA && alg != super::OID_RSA_OAEP {
        return Err(Error::Crypto(format!("unsupported key transport {alg}")));
    }
    // Parameters that are present but not understood are an error, never a silent SHA-1.
    let oaep = if alg == super::OID_RSA_OAEP {
        Some(oaep_params(params)?)
    } else {
        None
    };
    let run = || -> std::result::Result<Vec<u8>, openssl::error::ErrorStack> {
        let mut d = Decrypter::new(key)?;
        match &oaep {
            Some(p) => {
                d.set_rsa_padding(Padding::PKCS1_OAEP)?;
                d.set_rsa_oaep_md(p.hash)?;
                d.set_rsa_mgf1_md(p.mgf1)?;
                // OPENSSL_malloc(0) fails: an empty label is OpenSSL's default anyway.
                if !p.label.is_empty() {
                    d.set_rsa_oaep_label(&p.label)?;
                }
            }
            None => d.set_rsa_padding(Padding::PKCS1)?,
        }
        let mut out = vec![0; d.decrypt_len(enc)?];
        let n = d.decrypt(enc, &mut out)?;
        out.truncate(n);
        Ok(out)
    };
    run()
        .map_err(|_| Error::Crypto("decryption failed: the content key cannot be unwrapped".into()))
}

/// id-pSpecified (RFC 4055 §4.1): the OAEP label is its OCTET STRING parameter.
const OID_P_SPECIFIED: &str = "1.2.840.113549.1.1.9";

/// RSAES-OAEP-params (RFC 4055 §4.1), every field resolved.
struct OaepParams {
    hash: MessageDigest,
    hash_name: &'static str,
    mgf1: MessageDigest,
    mgf1_name: &'static str,
    label: Vec<u8>,
}

/// Parses RSAES-OAEP-params (RFC 4055 §4.1):
///
/// ```text
/// RSAES-OAEP-params ::= SEQUENCE {
///   hashFunc    [0] AlgorithmIdentifier DEFAULT sha1Identifier,
///   maskGenFunc [1] AlgorithmIdentifier DEFAULT mgf1SHA1Identifier,
///   pSourceFunc [2] AlgorithmIdentifier DEFAULT pSpecifiedEmptyIdentifier }
/// ```
///
/// Absent parameters (`None`) and an empty SEQUENCE mean the defaults: SHA-1, MGF1 with SHA-1,
/// an empty label. Anything present that is not understood (bad DER, fields out of order or
/// repeated, unknown fields, hashes other than SHA-1/SHA-2, a mask generation function other
/// than MGF1, a label source other than id-pSpecified) is an [`Error::Crypto`]; explicitly
/// encoded defaults are accepted.
fn oaep_params(der: Option<&[u8]>) -> Result<OaepParams> {
    let mut p = OaepParams {
        hash: MessageDigest::sha1(),
        hash_name: "sha1",
        mgf1: MessageDigest::sha1(),
        mgf1_name: "sha1",
        label: Vec::new(),
    };
    let Some(der) = der else {
        return Ok(p);
    };
    let (seq, rest) = asn1::read(der).ok_or_else(|| oaep_bad("not DER"))?;
    if seq.tag != asn1::SEQUENCE || !rest.is_empty() {
        return Err(oaep_bad("not a SEQUENCE"));
    }
    let fields = asn1::children(seq.content).ok_or_else(|| oaep_bad("malformed SEQUENCE"))?;
    let mut last: Option<u8> = None;
    for f in fields {
        if last.is_some_and(|l| f.tag <= l) {
            return Err(oaep_bad("fields repeated or out of order"));
        }
        last = Some(f.tag);
        // Each field is an EXPLICIT tag around exactly one AlgorithmIdentifier.
        let alg = match asn1::read(f.content) {
            Some((alg, [])) => alg,
            _ => return Err(oaep_bad("malformed field")),
        };
        match f.tag {
            0xa0 => (p.hash, p.hash_name) = oaep_hash(alg, "hashFunc")?,
            0xa1 => {
                let (oid, param) = oaep_alg_id(alg, "maskGenFunc")?;
                if oid != super::OID_MGF1 {
                    return Err(oaep_bad(&format!(
                        "unsupported mask generation function {oid}"
                    )));
                }
                let param = param.ok_or_else(|| oaep_bad("MGF1 without a hash"))?;
                (p.mgf1, p.mgf1_name) = oaep_hash(param, "MGF1 hash")?;
            }
            0xa2 => {
                let (oid, param) = oaep_alg_id(alg, "pSourceFunc")?;
                if oid != OID_P_SPECIFIED {
                    return Err(oaep_bad(&format!("unsupported label source {oid}")));
                }
                match param {
                    Some(l) if l.tag == asn1::OCTET_STRING => p.label = l.content.to_vec(),
                    _ => return Err(oaep_bad("id-pSpecified without an OCTET STRING label")),
                }
            }
            t => return Err(oaep_bad(&format!("unknown field with tag {t:#04x}"))),
        }
    }
    Ok(p)
}

fn oaep_bad(what: &str) -> Error {
    Error::Crypto(format!("bad RSAES-OAEP parameters: {what}"))
}

/// AlgorithmIdentifier ::= SEQUENCE { algorithm OID, parameters ANY OPTIONAL } → (OID, parameters).
fn oaep_alg_id<'a>(alg: asn1::Tlv<'a>, what: &str) -> Result<(String, Option<asn1::Tlv<'a>>)> {
    let bad = || oaep_bad(&format!("malformed {what} AlgorithmIdentifier"));
    if alg.tag != asn1::SEQUENCE {
        return Err(bad());
    }
    let kids = asn1::children(alg.content).ok_or_else(bad)?;
    match kids.as_slice() {
        [o, rest @ ..] if o.tag == asn1::OID && rest.len() <= 1 => Ok((
            asn1::oid_string(o.content).ok_or_else(bad)?,
            rest.first().copied(),
        )),
        _ => Err(bad()),
    }
}

/// A hash AlgorithmIdentifier (parameters absent or NULL): SHA-1 or SHA-2 only.
fn oaep_hash(alg: asn1::Tlv<'_>, what: &str) -> Result<(MessageDigest, &'static str)> {
    let (oid, param) = oaep_alg_id(alg, what)?;
    if param.is_some_and(|n| n.tag != asn1::NULL || !n.content.is_empty()) {
        return Err(oaep_bad(&format!("{what} {oid} with parameters")));
    }
    match super::digest_by_oid(&oid) {
        Some((md, name, _)) if oid != super::OID_MD5 => Ok((md, name)),
        _ => Err(oaep_bad(&format!("unsupported {what} {oid}"))),
    }
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use openssl::encrypt::Encrypter;

    use super::*;

    fn alg(oid: &str, params: Option<&[u8]>) -> Vec<u8> {
        let o = asn1::oid(oid).unwrap();
        match params {
            Some(p) => asn1::cons(asn1::SEQUENCE, &[&o, p]),
            None => asn1::cons(asn1::SEQUENCE, &[&o]),
        }
    }

    fn null() -> Vec<u8> {
        asn1::tlv(asn1::NULL, &[])
    }

    /// RSAES-OAEP-params from its optional fields, each already an AlgorithmIdentifier.
    fn params(hash: Option<&[u8]>, mgf: Option<&[u8]>, psrc: Option<&[u8]>) -> Vec<u8> {
        let mut fields = Vec::new();
        for (tag, f) in [(0xa0, hash), (0xa1, mgf), (0xa2, psrc)] {
            if let Some(f) = f {
                fields.push(asn1::tlv(tag, f));
            }
        }
        asn1::tlv(asn1::SEQUENCE, &fields.concat())
    }

    fn mgf1(hash_oid: &str) -> Vec<u8> {
        alg(super::super::OID_MGF1, Some(&alg(hash_oid, None)))
    }

    fn label(l: &[u8]) -> Vec<u8> {
        alg(OID_P_SPECIFIED, Some(&asn1::tlv(asn1::OCTET_STRING, l)))
    }

    /// SHA-256 / MGF1-SHA-256 / `l`, the way `openssl cms` encodes it (hash parameters absent).
    fn sha256_label(l: &[u8]) -> Vec<u8> {
        let sha = alg(super::super::OID_SHA256, None);
        params(
            Some(&sha),
            Some(&mgf1(super::super::OID_SHA256)),
            Some(&label(l)),
        )
    }

    fn names(p: &OaepParams) -> (&str, &str, &[u8]) {
        (p.hash_name, p.mgf1_name, &p.label)
    }

    fn bob() -> PKey<Private> {
        let pem = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/keys/smime/bob.key"
        ))
        .unwrap();
        PKey::private_key_from_pem(&pem).unwrap()
    }

    /// OAEP-encrypts `cek` to bob with OpenSSL itself.
    fn oaep_encrypt(
        key: &PKey<Private>,
        md: MessageDigest,
        mgf: MessageDigest,
        l: &[u8],
        cek: &[u8],
    ) -> Vec<u8> {
        let mut e = Encrypter::new(key).unwrap();
        e.set_rsa_padding(Padding::PKCS1_OAEP).unwrap();
        e.set_rsa_oaep_md(md).unwrap();
        e.set_rsa_mgf1_md(mgf).unwrap();
        if !l.is_empty() {
            e.set_rsa_oaep_label(l).unwrap();
        }
        let mut out = vec![0; e.encrypt_len(cek).unwrap()];
        let n = e.encrypt(cek, &mut out).unwrap();
        out.truncate(n);
        out
    }

    fn gcm_alg(nonce: &[u8]) -> AlgorithmIdentifierOwned {
        use der::Decode;
        let params = asn1::cons(asn1::SEQUENCE, &[&asn1::tlv(asn1::OCTET_STRING, nonce)]);
        AlgorithmIdentifierOwned {
            oid: super::super::oid(super::super::OID_AES256_GCM),
            parameters: Some(der::Any::from_der(&params).unwrap()),
        }
    }

    /// Deciphers `ct` in pieces of `step` bytes.
    fn decipher(
        alg: &AlgorithmIdentifierOwned,
        key: &[u8],
        ct: &[u8],
        step: usize,
        auth: Option<(&[u8], &[u8])>,
    ) -> Result<Vec<u8>> {
        let mut d = ContentDecrypter::new(alg, key)?;
        let (mut out, mut piece) = (Vec::new(), Vec::new());
        for c in ct.chunks(step.max(1)) {
            d.update(c, &mut piece)?;
            out.extend_from_slice(&piece);
        }
        d.finish(auth, &mut piece)?;
        out.extend_from_slice(&piece);
        Ok(out)
    }

    #[test]
    fn gcm_with_auth_attrs_after_the_content_opens_in_one_pass() {
        let key = [0x5au8; 32];
        let nonce = [7u8; 12];
        let alg = gcm_alg(&nonce);
        for (aad_len, pt_len, tag_len) in [
            (0, 100, 16),
            (45, 1000, 16),
            (16, 0, 16),
            (3, 17, 12),
            (200, 4096, 14),
        ] {
            let aad: Vec<u8> = (0..aad_len).map(|i| i as u8).collect();
            let pt: Vec<u8> = (0..pt_len).map(|i| (i * 7) as u8).collect();
            let mut tag = vec![0; tag_len];
            let ct = symm::encrypt_aead(
                symm::Cipher::aes_256_gcm(),
                &key,
                Some(&nonce),
                &aad,
                &pt,
                &mut tag,
            )
            .unwrap();
            for step in [1, 16, 33, 5000] {
                let got = decipher(&alg, &key, &ct, step, Some((&aad, &tag))).unwrap();
                assert_eq!(got, pt, "aad {aad_len} pt {pt_len} step {step}");
            }
            // Another AAD, another tag or another ciphertext do not open.
            let mut other = aad.clone();
            other.push(1);
            assert!(decipher(&alg, &key, &ct, 64, Some((&other, &tag))).is_err());
            let mut t = tag.clone();
            t[0] ^= 1;
            assert!(decipher(&alg, &key, &ct, 64, Some((&aad, &t))).is_err());
            if !ct.is_empty() {
                let mut c = ct.clone();
                c[ct.len() / 2] ^= 0x80;
                assert!(decipher(&alg, &key, &c, 64, Some((&aad, &tag))).is_err());
            }
        }
        assert!(decipher(&alg, &key, b"", 1, None).is_err());
        assert!(decipher(&alg, &key, b"", 1, Some((b"", &[0; 11]))).is_err());
    }

    #[test]
    fn bad_cipher_parameters_are_errors_not_panics() {
        use der::Decode;
        let cbc = |params: &[u8]| AlgorithmIdentifierOwned {
            oid: super::super::oid(super::super::OID_AES128_CBC),
            parameters: der::Any::from_der(params).ok(),
        };
        for params in [&b"\x04\x00"[..], b"\x04\x08abcdefgh", b"\x05\x00", b""] {
            assert!(ContentDecrypter::new(&cbc(params), &[0; 16]).is_err());
        }
        assert!(
            ContentDecrypter::new(&cbc(&asn1::tlv(asn1::OCTET_STRING, &[0; 16])), &[0; 15])
                .is_err()
        );
        assert!(ContentDecrypter::new(&gcm_alg(b""), &[0; 32]).is_err());
        assert!(ContentDecrypter::new(&gcm_alg(&[1; 65]), &[0; 32]).is_err());
        assert!(ContentDecrypter::new(&gcm_alg(&[1; 16]), &[0; 32]).is_ok());
    }

    #[test]
    fn oaep_params_absent_or_empty_are_the_sha1_defaults() {
        let p = oaep_params(None).unwrap();
        assert_eq!(names(&p), ("sha1", "sha1", &b""[..]));
        assert!(p.hash == MessageDigest::sha1() && p.mgf1 == MessageDigest::sha1());
        let p = oaep_params(Some(&params(None, None, None))).unwrap();
        assert_eq!(names(&p), ("sha1", "sha1", &b""[..]));
        // Explicitly encoded defaults (BER, not DER) are the same thing.
        let sha1 = alg(super::super::OID_SHA1, Some(&null()));
        let p = oaep_params(Some(&params(
            Some(&sha1),
            Some(&mgf1(super::super::OID_SHA1)),
            Some(&label(b"")),
        )))
        .unwrap();
        assert_eq!(names(&p), ("sha1", "sha1", &b""[..]));
    }

    #[test]
    fn oaep_params_every_field_is_read() {
        let p = oaep_params(Some(&sha256_label(b"\x00\x11\x22\x33"))).unwrap();
        assert_eq!(names(&p), ("sha256", "sha256", &b"\x00\x11\x22\x33"[..]));
        assert!(p.hash == MessageDigest::sha256() && p.mgf1 == MessageDigest::sha256());
        // ximf's own encoding (encrypt.rs): NULL hash parameters, no pSourceFunc.
        let sha = alg(super::super::OID_SHA256, Some(&null()));
        let ximf = params(
            Some(&sha),
            Some(&alg(super::super::OID_MGF1, Some(&sha))),
            None,
        );
        let p = oaep_params(Some(&ximf)).unwrap();
        assert_eq!(names(&p), ("sha256", "sha256", &b""[..]));
        // Each field alone; the others keep their defaults.
        let sha384 = alg(super::super::OID_SHA384, Some(&null()));
        let p = oaep_params(Some(&params(Some(&sha384), None, None))).unwrap();
        assert_eq!(names(&p), ("sha384", "sha1", &b""[..]));
        let p = oaep_params(Some(&params(
            None,
            Some(&mgf1(super::super::OID_SHA512)),
            None,
        )))
        .unwrap();
        assert_eq!(names(&p), ("sha1", "sha512", &b""[..]));
        let p = oaep_params(Some(&params(None, None, Some(&label(b"ximf"))))).unwrap();
        assert_eq!(names(&p), ("sha1", "sha1", &b"ximf"[..]));
        // Hash and MGF1 hash may differ.
        let sha224 = alg(super::super::OID_SHA224, None);
        let p = oaep_params(Some(&params(
            Some(&sha224),
            Some(&mgf1(super::super::OID_SHA256)),
            None,
        )))
        .unwrap();
        assert_eq!(names(&p), ("sha224", "sha256", &b""[..]));
    }

    #[test]
    fn oaep_params_garbage_is_an_error_not_sha1() {
        let sha256 = alg(super::super::OID_SHA256, None);
        let md5 = alg(super::super::OID_MD5, None);
        let unknown_hash = alg("1.2.3.4", None);
        let mgf_unknown = alg("1.2.840.113549.1.1.99", Some(&sha256));
        let mgf_no_hash = alg(super::super::OID_MGF1, None);
        let mgf_bad_hash = alg(
            super::super::OID_MGF1,
            Some(&asn1::tlv(asn1::OCTET_STRING, b"x")),
        );
        let psrc_other = alg(
            "1.2.840.113549.1.1.10",
            Some(&asn1::tlv(asn1::OCTET_STRING, b"")),
        );
        let psrc_no_label = alg(OID_P_SPECIFIED, None);
        let psrc_int_label = alg(OID_P_SPECIFIED, Some(&asn1::int(asn1::INTEGER, 7)));
        let hash_with_params = alg(super::super::OID_SHA256, Some(&asn1::int(asn1::INTEGER, 1)));
        let hash_three_kids = asn1::cons(
            asn1::SEQUENCE,
            &[
                &asn1::oid(super::super::OID_SHA256).unwrap(),
                &null(),
                &null(),
            ],
        );
        let hash_not_oid = asn1::cons(asn1::SEQUENCE, &[&null()]);
        let good = sha256_label(b"l");
        let mut trailing = good.clone();
        trailing.push(0);
        let mut truncated = good.clone();
        truncated.pop();
        let cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("NULL", null()),
            ("not a sequence", asn1::tlv(asn1::OCTET_STRING, &good)),
            ("trailing data", trailing),
            ("truncated", truncated),
            ("unknown hash", params(Some(&unknown_hash), None, None)),
            ("md5", params(Some(&md5), None, None)),
            (
                "hash with parameters",
                params(Some(&hash_with_params), None, None),
            ),
            (
                "hash with two parameters",
                params(Some(&hash_three_kids), None, None),
            ),
            ("hash without OID", params(Some(&hash_not_oid), None, None)),
            ("hash not a sequence", params(Some(&null()), None, None)),
            ("unknown MGF", params(None, Some(&mgf_unknown), None)),
            ("MGF1 without hash", params(None, Some(&mgf_no_hash), None)),
            ("MGF1 bad hash", params(None, Some(&mgf_bad_hash), None)),
            (
                "MGF1 md5",
                params(None, Some(&mgf1(super::super::OID_MD5)), None),
            ),
            ("unknown pSource", params(None, None, Some(&psrc_other))),
            (
                "pSpecified without label",
                params(None, None, Some(&psrc_no_label)),
            ),
            ("INTEGER label", params(None, None, Some(&psrc_int_label))),
            (
                "unknown field [3]",
                asn1::tlv(asn1::SEQUENCE, &asn1::tlv(0xa3, &sha256)),
            ),
            (
                "IMPLICIT instead of EXPLICIT",
                asn1::tlv(
                    asn1::SEQUENCE,
                    &asn1::tlv(0xa0, &asn1::oid(super::super::OID_SHA256).unwrap()),
                ),
            ),
            (
                "two algorithms in one field",
                asn1::tlv(
                    asn1::SEQUENCE,
                    &asn1::tlv(0xa0, &[sha256.clone(), sha256.clone()].concat()),
                ),
            ),
            (
                "out of order",
                asn1::tlv(
                    asn1::SEQUENCE,
                    &[
                        asn1::tlv(0xa1, &mgf1(super::super::OID_SHA256)),
                        asn1::tlv(0xa0, &sha256),
                    ]
                    .concat(),
                ),
            ),
            (
                "repeated",
                asn1::tlv(
                    asn1::SEQUENCE,
                    &[asn1::tlv(0xa0, &sha256), asn1::tlv(0xa0, &sha256)].concat(),
                ),
            ),
        ];
        for (what, der) in cases {
            match oaep_params(Some(&der)) {
                Err(Error::Crypto(m)) => assert!(m.contains("RSAES-OAEP"), "{what}: {m}"),
                Err(e) => panic!("{what}: wrong error {e}"),
                Ok(p) => panic!("{what}: accepted as {:?}", names(&p)),
            }
        }
    }

    #[test]
    fn oaep_params_never_panic_on_mangled_input() {
        let good = sha256_label(b"a label");
        for i in 0..good.len() {
            // Every truncation, and every byte replaced by a few interesting values.
            let _ = oaep_params(Some(&good[..i]));
            for v in [0x00, 0x01, 0x30, 0x7f, 0x80, 0x81, 0x84, 0x85, 0xa0, 0xff] {
                let mut m = good.clone();
                m[i] = v;
                let _ = oaep_params(Some(&m));
                let mut m = good.clone();
                m.insert(i, v);
                let _ = oaep_params(Some(&m));
            }
        }
    }

    #[test]
    fn rsa_decrypt_oaep_with_label_sha256() {
        let key = bob();
        let cek = [0x42u8; 32];
        let l = b"\x00\x11\x22\x33\x44\x55\x66\x77";
        let enc = oaep_encrypt(
            &key,
            MessageDigest::sha256(),
            MessageDigest::sha256(),
            l,
            &cek,
        );
        let oaep = super::super::OID_RSA_OAEP;
        let out = rsa_decrypt(&key, oaep, Some(&sha256_label(l)), &enc).unwrap();
        assert_eq!(out, cek);
        // Another label, or none, does not open it.
        assert!(rsa_decrypt(&key, oaep, Some(&sha256_label(b"other")), &enc).is_err());
        let no_label = params(
            Some(&alg(super::super::OID_SHA256, None)),
            Some(&mgf1(super::super::OID_SHA256)),
            None,
        );
        assert!(rsa_decrypt(&key, oaep, Some(&no_label), &enc).is_err());
    }

    #[test]
    fn rsa_decrypt_oaep_label_with_sha1_defaults_and_mixed_hashes() {
        let key = bob();
        let cek = [7u8; 16];
        let oaep = super::super::OID_RSA_OAEP;
        let enc = oaep_encrypt(
            &key,
            MessageDigest::sha1(),
            MessageDigest::sha1(),
            b"L",
            &cek,
        );
        let p = params(None, None, Some(&label(b"L")));
        assert_eq!(rsa_decrypt(&key, oaep, Some(&p), &enc).unwrap(), cek);
        let enc = oaep_encrypt(
            &key,
            MessageDigest::sha384(),
            MessageDigest::sha1(),
            b"",
            &cek,
        );
        let sha384 = alg(super::super::OID_SHA384, Some(&null()));
        let p = params(Some(&sha384), None, None);
        assert_eq!(rsa_decrypt(&key, oaep, Some(&p), &enc).unwrap(), cek);
        // Plain SHA-1 OAEP with absent parameters still works.
        let enc = oaep_encrypt(
            &key,
            MessageDigest::sha1(),
            MessageDigest::sha1(),
            b"",
            &cek,
        );
        assert_eq!(rsa_decrypt(&key, oaep, None, &enc).unwrap(), cek);
    }

    #[test]
    fn rsa_decrypt_unparsable_params_fail_instead_of_defaulting() {
        // A SHA-1 OAEP ciphertext would open with the defaults: garbage parameters must not.
        let key = bob();
        let cek = [9u8; 24];
        let enc = oaep_encrypt(
            &key,
            MessageDigest::sha1(),
            MessageDigest::sha1(),
            b"",
            &cek,
        );
        let oaep = super::super::OID_RSA_OAEP;
        for garbage in [&b""[..], b"\x05\x00", b"\x30\x03\xa0\x01", b"\xff\xff\xff"] {
            match rsa_decrypt(&key, oaep, Some(garbage), &enc) {
                Err(Error::Crypto(m)) => assert!(m.contains("RSAES-OAEP"), "{m}"),
                other => panic!("{garbage:?}: {:?}", other.map_err(|e| e.to_string())),
            }
        }
        assert!(rsa_decrypt(&key, "1.2.3.4", None, &enc).is_err());
    }
}
