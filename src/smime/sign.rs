//! Signing: RFC 8551 multipart/signed (detached, the default) or application/pkcs7-mime
//! signed-data (opaque), with RFC 9788 injected header copies (`hp="clear"`), and the optional
//! RFC 7508 SecureHeaderFields and RFC 2634 ESS label signed attributes.

use std::time::Duration;

use cms::cert::IssuerAndSerialNumber;
use cms::content_info::{CmsVersion, ContentInfo};
use cms::signed_data::{
    CertificateSet, EncapsulatedContentInfo, SignedData, SignerIdentifier, SignerInfo, SignerInfos,
};
use der::asn1::{GeneralizedTime, OctetString, SetOfVec, UtcTime};
use der::{Any, Decode, Encode};
use openssl::hash::hash;
use openssl::pkey::Id;
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Signer};
use x509_cert::attr::Attribute;
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::certs::Credentials;
use super::label::{self, EssLabel, HeaderStatus, SecureHeaders};
use super::{Digest, asn1, oid};
use crate::message::eol::{Eol, to_crlf, to_eol};
use crate::mime::{self, Entity, transfer};
use crate::stream::{Content, Whole};
use crate::{Error, Result};

/// How to sign.
#[non_exhaustive]
#[derive(Debug, Clone)]
pub struct SignOptions {
    /// The digest; by default SHA-384 for P-384 keys, SHA-512 for P-521, else SHA-256.
    pub digest: Option<Digest>,
    /// application/pkcs7-mime signed-data instead of multipart/signed.
    pub opaque: bool,
    /// RSASSA-PSS instead of PKCS#1 v1.5 for RSA keys.
    pub rsa_pss: bool,
    /// Signing time (Unix seconds), written as the signingTime attribute.
    pub now: i64,
    /// RFC 9788: copy the non-structural header fields into the signed part with `hp="clear"`
    /// (default true).
    pub header_protection: bool,
    /// RFC 7508 SecureHeaderFields: (relaxed canonicalization, [(field name, status 0|1|2)]).
    pub secure_headers: Option<(bool, Vec<(String, u8)>)>,
    /// RFC 2634 ESS security label.
    pub label: Option<EssLabel>,
}

impl Default for SignOptions {
    fn default() -> Self {
        SignOptions {
            digest: None,
            opaque: false,
            rsa_pss: false,
            now: 0,
            header_protection: true,
            secure_headers: None,
            label: None,
        }
    }
}

/// Signs a whole RFC 5322 message and returns the whole signed message, in the input's line-ending
/// convention. Header fields other than `Content-*`/`MIME-Version` stay on the outside.
///
/// Fails with [`Error::Message`] when the input has no header section, [`Error::Key`] when the
/// key cannot sign (RSA < 2048 bits, unsupported type) and [`Error::Crypto`] when a label or
/// secure-header list cannot be encoded.
pub fn sign(message: &[u8], creds: &Credentials, opts: &SignOptions) -> Result<Vec<u8>> {
    sign_with(message, creds, opts, &Whole)
}

/// [`sign`] of a message whose content `content` reads: a large message's bodies stand as
/// holes ([`crate::stream::Splice`]), and the output holds them too.
pub(crate) fn sign_with(
    message: &[u8],
    creds: &Credentials,
    opts: &SignOptions,
    content: &dyn Content,
) -> Result<Vec<u8>> {
    let eol = Eol::detect(message);
    let raw = to_crlf(message);
    let ent = Entity::message(&raw).map_err(|e| Error::Message(e.to_string()))?;
    let hp = opts.header_protection.then_some("clear");
    let payload = build_payload(&raw, &ent, hp, &[])?;

    let mut extra = Vec::new();
    if let Some((relaxed, names)) = &opts.secure_headers {
        let shf = secure_headers(&raw, &ent, *relaxed, names)?;
        extra.push(attribute(label::OID_SECURE_HEADERS, &shf)?);
    }
    if let Some(l) = &opts.label {
        let der = l.to_der().map_err(Error::Crypto)?;
        extra.push(attribute(label::OID_SECURITY_LABEL, &der)?);
    }
    let digest = choose_digest(creds, opts.digest)?;
    // One pass over the payload gives the digest the signature covers and the SHA-256 the
    // boundary is made of: a large payload is read from its source once.
    let mut md = openssl::hash::Hasher::new(digest.md()).map_err(crypto)?;
    let mut sha = openssl::sha::Sha256::new();
    let mut encapsulated = Vec::new();
    content.feed(&payload, &mut |c| {
        md.update(c).map_err(crypto)?;
        sha.update(c);
        if opts.opaque {
            encapsulated.extend_from_slice(c);
        }
        Ok(())
    })?;
    let md = md.finish().map_err(crypto)?;
    let ci = signed_data_over(
        &md,
        opts.opaque.then_some(&encapsulated[..]),
        creds,
        digest,
        (opts.rsa_pss, opts.now),
        extra,
    )?;

    let mut out = outer_header(&raw, &ent);
    if opts.opaque {
        out.extend_from_slice(
            b"MIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type=signed-data;\r\n name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n",
        );
        out.extend(transfer::base64_lines(&ci));
    } else {
        let b = boundary_from(&sha.finish());
        out.extend_from_slice(
            format!(
                "MIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n micalg={}; boundary=\"{b}\"\r\n\r\nThis is an S/MIME signed message.\r\n\r\n--{b}\r\n",
                digest.micalg()
            )
            .as_bytes(),
        );
        out.extend_from_slice(&payload);
        out.extend_from_slice(
            format!("\r\n--{b}\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\nContent-Transfer-Encoding: base64\r\nContent-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n").as_bytes(),
        );
        out.extend(transfer::base64_lines(&ci));
        out.extend_from_slice(format!("\r\n--{b}--\r\n").as_bytes());
    }
    Ok(to_eol(&out, eol).into_owned())
}

/// A boundary derived from the content whose SHA-256 is `sha256` (no hidden RNG, style.md §2);
/// a part cannot contain a hash of itself.
fn boundary_from(sha256: &[u8; 32]) -> String {
    let h: String = sha256.iter().take(12).map(|b| format!("{b:02x}")).collect();
    format!("----ximf-{h}")
}

fn crypto(e: openssl::error::ErrorStack) -> Error {
    Error::Crypto(e.to_string())
}

/// The non-structural header fields of the message, raw, in order.
pub(crate) fn outer_header(raw: &[u8], ent: &Entity<'_>) -> Vec<u8> {
    // An mbox envelope line stays first.
    let mut out = raw[..ent.start].to_vec();
    out.extend(outer_fields(raw, ent));
    out
}

/// The non-structural header fields, raw, in order, without any envelope line.
fn outer_fields(raw: &[u8], ent: &Entity<'_>) -> Vec<u8> {
    fields(raw, ent, |f| !mime::is_structural(&f.name))
}

/// The fields copied into the cryptographic payload (RFC 9788 §2.1): the non-structural ones
/// except Bcc, which stays on the outside only (the submission server removes it; inside, every
/// recipient would read it).
pub(crate) fn protected_fields(raw: &[u8], ent: &Entity<'_>) -> Vec<u8> {
    fields(raw, ent, |f| {
        !mime::is_structural(&f.name) && !f.name.eq_ignore_ascii_case("Bcc")
    })
}

fn fields(raw: &[u8], ent: &Entity<'_>, keep: impl Fn(&mime::Field) -> bool) -> Vec<u8> {
    let mut out = Vec::new();
    for f in ent.fields.iter().filter(|f| keep(f)) {
        out.extend_from_slice(&raw[f.span.clone()]);
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The cryptographic payload (RFC 9788 §2): the message's structural fields and body, every
/// part brought to 7 bit ([`transfer::to_seven_bit`]), with copies of the non-structural
/// fields except Bcc and the `hp` parameter when `hp` is set, and `extra` header lines
/// (HP-Outer) appended.
pub(crate) fn build_payload(
    raw: &[u8],
    ent: &Entity<'_>,
    hp: Option<&str>,
    extra: &[u8],
) -> Result<Vec<u8>> {
    let seven = transfer::to_seven_bit(ent)
        .map_err(|e| Error::Message(format!("cannot sign the message as 7 bit: {e}")))?;
    let mut out = Vec::with_capacity(seven.body.len() + 1024);
    let ct_value: Vec<u8> = match ent.first("Content-Type") {
        Some(f) => raw[f.value.clone()].trim_ascii_end().to_vec(),
        None if !ent.body().is_ascii() => b" text/plain; charset=\"utf-8\"".to_vec(),
        None => b" text/plain; charset=\"us-ascii\"".to_vec(),
    };
    out.extend_from_slice(b"Content-Type:");
    out.extend_from_slice(&ct_value);
    if let Some(hp) = hp {
        out.extend_from_slice(format!(";\r\n hp=\"{hp}\"").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    for f in ent.fields.iter().filter(|f| mime::is_structural(&f.name)) {
        let n = f.name.to_ascii_lowercase();
        if n == "content-type"
            || n == "mime-version"
            || (seven.cte.is_some() && n == "content-transfer-encoding")
        {
            continue;
        }
        out.extend_from_slice(&raw[f.span.clone()]);
        out.extend_from_slice(b"\r\n");
    }
    if let Some(cte) = seven.cte {
        out.extend_from_slice(format!("Content-Transfer-Encoding: {cte}\r\n").as_bytes());
    }
    if hp.is_some() {
        out.extend(protected_fields(raw, ent));
    }
    out.extend_from_slice(extra);
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&seven.body);
    Ok(out)
}

fn secure_headers(
    raw: &[u8],
    ent: &Entity<'_>,
    relaxed: bool,
    names: &[(String, u8)],
) -> Result<Vec<u8>> {
    let mut fields = Vec::new();
    for (name, status) in names {
        let status = match status {
            0 => HeaderStatus::Duplicated,
            1 => HeaderStatus::Deleted,
            2 => HeaderStatus::Modified,
            s => return Err(Error::Crypto(format!("bad secure header status {s}"))),
        };
        // Every instance of a listed name, absent names skipped (RFC 7508 §4.5.1, spec §4.3.4).
        // Bcc never: every recipient could read it from the signed attributes.
        for f in ent
            .fields
            .iter()
            .filter(|f| f.name.eq_ignore_ascii_case(name) && !f.name.eq_ignore_ascii_case("Bcc"))
        {
            let v = &raw[f.value.clone()];
            let (n, v) = if relaxed {
                label::relaxed(&f.name, v)
            } else {
                (f.name.clone(), String::from_utf8_lossy(v).into_owned())
            };
            fields.push((n, v, status));
        }
    }
    SecureHeaders {
        relaxed,
        fields,
        legacy: false,
    }
    .to_der()
    .map_err(Error::Crypto)
}

pub(crate) fn attribute(oid_str: &str, value_der: &[u8]) -> Result<Attribute> {
    let value = Any::from_der(value_der).map_err(|e| Error::Crypto(e.to_string()))?;
    let values = SetOfVec::try_from(vec![value]).map_err(|e| Error::Crypto(e.to_string()))?;
    Ok(Attribute {
        oid: oid(oid_str),
        values,
    })
}

fn choose_digest(creds: &Credentials, asked: Option<Digest>) -> Result<Digest> {
    let key = &creds.key;
    match key.id() {
        Id::RSA => {
            if key.bits() < 2048 {
                return Err(Error::Key(format!(
                    "RSA key of {} bits is below the 2048-bit minimum",
                    key.bits()
                )));
            }
            Ok(asked.unwrap_or(Digest::Sha256))
        }
        Id::EC => Ok(asked.unwrap_or(match key.bits() {
            0..=256 => Digest::Sha256,
            257..=384 => Digest::Sha384,
            _ => Digest::Sha512,
        })),
        _ => Err(Error::Key("only RSA and ECDSA keys can sign".into())),
    }
}

fn der_err(e: der::Error) -> Error {
    Error::Crypto(format!("DER encoding failed: {e}"))
}

fn alg(oid_str: &str, params: Option<&[u8]>) -> Result<AlgorithmIdentifierOwned> {
    Ok(AlgorithmIdentifierOwned {
        oid: oid(oid_str),
        parameters: params.map(Any::from_der).transpose().map_err(der_err)?,
    })
}

/// RSASSA-PSS-params (RFC 4055 §3.1) for `d`, MGF1 with the same hash, salt = hash length.
pub(crate) fn pss_params(d: Digest) -> Vec<u8> {
    let null = asn1::tlv(asn1::NULL, &[]);
    let hash_alg = asn1::cons(
        asn1::SEQUENCE,
        &[&asn1::oid(d.oid()).unwrap_or_default(), &null],
    );
    let mgf = asn1::cons(
        asn1::SEQUENCE,
        &[&asn1::oid(super::OID_MGF1).unwrap_or_default(), &hash_alg],
    );
    asn1::cons(
        asn1::SEQUENCE,
        &[
            &asn1::tlv(0xa0, &hash_alg),
            &asn1::tlv(0xa1, &mgf),
            &asn1::tlv(0xa2, &asn1::int(asn1::INTEGER, d.len() as i64)),
        ],
    )
}

/// A CMS ContentInfo holding SignedData over `content` (encapsulated when `attach`), with
/// contentType, signingTime and messageDigest plus `extra` signed attributes.
#[cfg(test)]
pub(crate) fn signed_data(
    content: &[u8],
    attach: bool,
    creds: &Credentials,
    digest: Digest,
    pss: bool,
    now: i64,
    extra: Vec<Attribute>,
) -> Result<Vec<u8>> {
    let md = hash(digest.md(), content).map_err(crypto)?;
    signed_data_over(
        &md,
        attach.then_some(content),
        creds,
        digest,
        (pss, now),
        extra,
    )
}

/// [`signed_data`] of content whose `digest` is `md`, encapsulating `attached` when given.
fn signed_data_over(
    md: &[u8],
    attached: Option<&[u8]>,
    creds: &Credentials,
    digest: Digest,
    (pss, now): (bool, i64),
    extra: Vec<Attribute>,
) -> Result<Vec<u8>> {
    let t = Duration::from_secs(now.max(0) as u64);
    // RFC 5652 §11.3: UTCTime through 2049, GeneralizedTime after.
    let time = match UtcTime::from_unix_duration(t) {
        Ok(u) => u.to_der(),
        Err(_) => GeneralizedTime::from_unix_duration(t)
            .map_err(der_err)?
            .to_der(),
    }
    .map_err(der_err)?;
    // RFC 5035 signingCertificateV2 (id-aa 47): binds the signer certificate (SHA-256, the
    // DEFAULT hash, so no hashAlgorithm), per spec §4.6 [REC].
    let cert_der = creds.cert_x509.to_der().map_err(der_err)?;
    let cert_hash = hash(openssl::hash::MessageDigest::sha256(), &cert_der).map_err(crypto)?;
    let ess_cert_id = asn1::tlv(asn1::SEQUENCE, &asn1::tlv(asn1::OCTET_STRING, &cert_hash));
    let signing_cert = asn1::tlv(asn1::SEQUENCE, &asn1::tlv(asn1::SEQUENCE, &ess_cert_id));
    let mut attrs = vec![
        attribute("1.2.840.113549.1.9.16.2.47", &signing_cert)?,
        attribute(
            super::OID_CONTENT_TYPE,
            &asn1::oid(super::OID_DATA).unwrap_or_default(),
        )?,
        attribute(super::OID_SIGNING_TIME, &time)?,
        attribute(
            super::OID_MESSAGE_DIGEST,
            &asn1::tlv(asn1::OCTET_STRING, md),
        )?,
    ];
    attrs.extend(extra);
    let signed_attrs = SetOfVec::try_from(attrs).map_err(der_err)?;
    // RFC 5652 §5.4: the signature covers the DER of the attributes as a SET OF (tag 0x31).
    let to_sign = signed_attrs.to_der().map_err(der_err)?;

    let is_rsa = creds.key.id() == Id::RSA;
    let mut signer = Signer::new(digest.md(), &creds.key).map_err(crypto)?;
    if is_rsa && pss {
        signer.set_rsa_padding(Padding::PKCS1_PSS).map_err(crypto)?;
        signer.set_rsa_mgf1_md(digest.md()).map_err(crypto)?;
        signer
            .set_rsa_pss_saltlen(RsaPssSaltlen::DIGEST_LENGTH)
            .map_err(crypto)?;
    }
    signer.update(&to_sign).map_err(crypto)?;
    let sig = signer.sign_to_vec().map_err(crypto)?;
    let sig_alg = if is_rsa && pss {
        alg(super::OID_RSA_PSS, Some(&pss_params(digest)))?
    } else if is_rsa {
        alg(super::OID_RSA, Some(&[5, 0]))?
    } else {
        alg(
            match digest {
                Digest::Sha256 => "1.2.840.10045.4.3.2",
                Digest::Sha384 => "1.2.840.10045.4.3.3",
                Digest::Sha512 => "1.2.840.10045.4.3.4",
            },
            None,
        )?
    };
    let tbs = &creds.cert_x509.tbs_certificate;
    let si = SignerInfo {
        version: CmsVersion::V1,
        sid: SignerIdentifier::IssuerAndSerialNumber(IssuerAndSerialNumber {
            issuer: tbs.issuer.clone(),
            serial_number: tbs.serial_number.clone(),
        }),
        digest_alg: alg(digest.oid(), None)?,
        signed_attrs: Some(signed_attrs),
        signature_algorithm: sig_alg,
        signature: OctetString::new(sig).map_err(der_err)?,
        unsigned_attrs: None,
    };
    let mut cert_list = vec![cms::cert::CertificateChoices::Certificate(
        creds.cert_x509.clone(),
    )];
    for c in &creds.chain {
        cert_list.push(cms::cert::CertificateChoices::Certificate(c.clone()));
    }
    let econtent = match attached {
        Some(content) => {
            Some(Any::from_der(&asn1::tlv(asn1::OCTET_STRING, content)).map_err(der_err)?)
        }
        None => None,
    };
    let sd = SignedData {
        version: CmsVersion::V1,
        digest_algorithms: SetOfVec::try_from(vec![alg(digest.oid(), None)?]).map_err(der_err)?,
        encap_content_info: EncapsulatedContentInfo {
            econtent_type: oid(super::OID_DATA),
            econtent,
        },
        certificates: Some(CertificateSet::try_from(cert_list).map_err(der_err)?),
        crls: None,
        signer_infos: SignerInfos::try_from(vec![si]).map_err(der_err)?,
    };
    let ci = ContentInfo {
        content_type: oid(super::OID_SIGNED_DATA),
        content: Any::encode_from(&sd).map_err(der_err)?,
    };
    ci.to_der().map_err(der_err)
}
