//! Verification: unwrap every S/MIME layer of a message (multipart/signed, opaque signed-data,
//! enveloped/authEnveloped-data, the RFC 8551 §3.1 message/rfc822 wrapper), check each
//! signature (digest, signature, path to the anchors at `now`, key usage, weak algorithms,
//! signer address vs From), then compare the outer header with the protected copies (RFC 9788
//! injected headers, RFC 7508 SecureHeaderFields, the ESS label).
//!
//! Every cryptographic problem becomes a status and a finding; only input that is not a message
//! at all is an error. Signed bytes are taken from the raw buffer and hashed in place.

use std::borrow::Cow;

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::{Decode, Encode};
use openssl::hash::{Hasher, MessageDigest};
use openssl::pkey::{PKey, Public};
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Verifier};
use openssl::x509::X509;
use x509_cert::Certificate;
use x509_cert::attr::Attributes;

use super::certs::{self, Credentials, PathStatus};
use super::label::{self, EssLabel, HeaderStatus, SecureHeaders};
use super::mime::{self, Entity};
use super::{asn1, decrypt, is_pkcs7};
use crate::report::{EncryptionReport, Finding, LabelReport, Severity, SignatureReport};
use crate::{Error, Result};

/// What to verify against.
#[non_exhaustive]
#[derive(Debug, Default)]
pub struct VerifyOptions {
    /// Trust anchors (`--ca`).
    pub anchors: Vec<Certificate>,
    /// More certificates to build paths with (`--cert`).
    pub extra_certs: Vec<Certificate>,
    /// Verification time, Unix seconds.
    pub now: i64,
    /// Keys to decrypt with.
    pub keys: Vec<Credentials>,
    /// The address the signer must have; by default the (protected, else outer) From.
    pub from: Option<String>,
    /// Fill [`Verification::content`] (costs a copy of the payload).
    pub extract: bool,
}

/// The result of [`verify`].
#[derive(Debug, Clone, Default)]
pub struct Verification {
    /// Signature status (design.md §5).
    pub signature: SignatureReport,
    /// Encryption status.
    pub encryption: EncryptionReport,
    /// The ESS security label of the signature, if any.
    pub label: Option<LabelReport>,
    /// Findings, in check order.
    pub findings: Vec<Finding>,
    /// Protected header copies (RFC 9788 injected fields or the RFC 8551 §3.1 wrapped header),
    /// as (name, unfolded value).
    pub inner_headers: Vec<(String, String)>,
    /// The innermost message, decrypted and unwrapped (only with [`VerifyOptions::extract`]).
    pub content: Vec<u8>,
}

impl Verification {
    fn push(&mut self, code: &'static str, sev: Severity, header: Option<&str>, msg: String) {
        self.findings.push(Finding {
            code,
            severity: sev,
            header: header.map(str::to_owned),
            message: msg,
        });
    }
}

const MAX_LAYERS: usize = 8;

/// Verifies (and, given keys, decrypts) an S/MIME message.
///
/// Fails only with [`Error::Message`] when the input has no header section; every
/// cryptographic problem is a status or a finding in the [`Verification`].
pub fn verify(message: &[u8], opts: &VerifyOptions) -> Result<Verification> {
    let top = Entity::parse(message)
        .ok_or_else(|| Error::Message("not an RFC 5322 message: no header section".into()))?;
    let mut v = Verification {
        signature: SignatureReport {
            status: "absent".into(),
            ..Default::default()
        },
        encryption: EncryptionReport {
            status: "absent".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let anchors: Vec<X509> = opts
        .anchors
        .iter()
        .filter_map(|c| certs::to_openssl(c).ok())
        .collect();
    let extra: Vec<X509> = opts
        .extra_certs
        .iter()
        .filter_map(|c| certs::to_openssl(c).ok())
        .collect();
    let ctx = Ctx {
        anchors: &anchors,
        extra: &extra,
        now: opts.now,
    };

    let mut buf: Cow<'_, [u8]> = Cow::Borrowed(message);
    let mut range = 0..message.len();
    let mut crypto_layer = false;
    let mut wrapped = false;
    let mut signers: Vec<SignerResult> = Vec::new();
    for depth in 0..=MAX_LAYERS {
        if depth == MAX_LAYERS {
            v.push(
                "nesting-too-deep",
                Severity::Error,
                None,
                format!("more than {MAX_LAYERS} S/MIME layers"),
            );
            break;
        }
        let slice = &buf[range.clone()];
        let ent = if depth == 0 {
            top.clone()
        } else {
            Entity::parse_part(slice)
        };
        let ct = ent.content_type(slice);
        // A multipart/signed for another protocol (PGP/MIME, RFC 3156) is not ours to judge.
        let foreign = ct
            .param("protocol")
            .is_some_and(|p| !is_pkcs7(&p.to_ascii_lowercase(), "signature"));
        if ct.mime == "multipart/signed" && foreign {
            break;
        }
        if ct.mime == "multipart/signed" {
            v.signature.mechanism = Some("smime".into());
            let Some(boundary) = ct.param("boundary") else {
                v.push(
                    "signature-invalid",
                    Severity::Error,
                    None,
                    "multipart/signed without a boundary".into(),
                );
                v.signature.status = "invalid".into();
                break;
            };
            let (parts, _) = mime::split_multipart(slice, ent.body..slice.len(), boundary);
            if parts.len() > 2 {
                // Unsigned content beside the signed part: never a signed message (RFC 1847
                // §2.1 allows exactly two parts).
                v.signature.status = "invalid".into();
                v.push(
                    "partially-signed",
                    Severity::Error,
                    None,
                    format!(
                        "multipart/signed with {} parts: only the first would be signed",
                        parts.len()
                    ),
                );
                break;
            }
            let sig = parts.get(1).map(|p| {
                let pe = Entity::parse_part(&slice[p.clone()]);
                (pe.clone(), pe.content_type(&slice[p.clone()]), p.clone())
            });
            let first = parts.first().cloned();
            match (first, sig) {
                (Some(first), Some((pe, pct, p))) if is_pkcs7(&pct.mime, "signature") => {
                    let part = &slice[p];
                    let body = &part[pe.body..];
                    let der = decode_body(&pe, part, body);
                    let content = &slice[first.clone()];
                    let r = match der.and_then(|d| parse_content_info(&d)) {
                        Some(ci) => check_content_info(&ci, Signed::Detached(content), &ctx),
                        None => SignerResult::broken("the signature part is not CMS SignedData"),
                    };
                    signers.push(r);
                    range = range.start + first.start..range.start + first.end;
                    crypto_layer = true;
                    continue;
                }
                (first, _) => {
                    v.signature.status = "invalid".into();
                    v.push(
                        "signature-removed",
                        Severity::Error,
                        None,
                        "multipart/signed without its application/pkcs7-signature part".into(),
                    );
                    if let Some(first) = first {
                        range = range.start + first.start..range.start + first.end;
                    }
                    break;
                }
            }
        }
        let p7m = is_pkcs7(&ct.mime, "mime")
            || (ct.mime == "application/octet-stream"
                && ct
                    .param("name")
                    .is_some_and(|n| n.to_ascii_lowercase().ends_with(".p7m")));
        if p7m {
            let body = &slice[ent.body..];
            let Some(ci) = decode_body(&ent, slice, body).and_then(|d| parse_content_info(&d))
            else {
                v.push(
                    "cms-malformed",
                    Severity::Error,
                    None,
                    "application/pkcs7-mime body is not CMS".into(),
                );
                if v.signature.status == "absent" && !signers.is_empty() {
                    v.signature.status = "invalid".into();
                }
                break;
            };
            let ct_oid = ci.content_type.to_string();
            if ct_oid == super::OID_SIGNED_DATA {
                v.signature.mechanism = Some("smime".into());
                let econtent = SignedData::from_der(&ci.content.to_der().unwrap_or_default())
                    .ok()
                    .and_then(|sd| sd.encap_content_info.econtent)
                    .and_then(|a| der::asn1::OctetString::from_der(&a.to_der().ok()?).ok())
                    .map(|o| o.into_bytes());
                let Some(inner) = econtent else {
                    signers.push(SignerResult::broken("opaque signed-data without content"));
                    break;
                };
                signers.push(check_content_info(&ci, Signed::Attached(&inner), &ctx));
                range = 0..inner.len();
                buf = Cow::Owned(inner);
                crypto_layer = true;
                continue;
            }
            if ct_oid == super::OID_ENVELOPED_DATA || ct_oid == super::OID_AUTH_ENVELOPED_DATA {
                v.encryption.mechanism = Some("smime".into());
                if opts.keys.is_empty() {
                    v.encryption.status = "failed".into();
                    v.push(
                        "decryption-failed",
                        Severity::Error,
                        None,
                        "the message is encrypted and no key was given".into(),
                    );
                    break;
                }
                match decrypt::open(&ci, &opts.keys) {
                    Ok(opened) => {
                        v.encryption.status = "decrypted".into();
                        v.encryption.cipher = Some(opened.cipher.to_owned());
                        if opened.weak {
                            v.push(
                                "weak-algorithm",
                                Severity::Error,
                                None,
                                format!("content encrypted with {}", opened.cipher),
                            );
                        }
                        range = 0..opened.content.len();
                        buf = Cow::Owned(opened.content);
                        crypto_layer = true;
                        continue;
                    }
                    Err(e) => {
                        v.encryption.status = "failed".into();
                        v.push("decryption-failed", Severity::Error, None, e.to_string());
                        break;
                    }
                }
            }
            v.push(
                "unsupported-cms-type",
                Severity::Warning,
                None,
                format!("CMS content type {ct_oid} is not supported"),
            );
            break;
        }
        if ct.mime == "message/rfc822" && crypto_layer && !wrapped {
            // RFC 8551 §3.1: a protected message/rfc822 is a header-protection wrapper.
            wrapped = true;
            range = range.start + ent.body..range.end;
            continue;
        }
        break;
    }

    let outer_from = top.first_from(message);
    let root = &buf[range.clone()];
    let root_ent = Entity::parse_part(root);
    let hp = if wrapped {
        Some("wrapped".to_owned())
    } else if crypto_layer {
        root_ent
            .content_type(root)
            .param("hp")
            .map(|s| s.to_ascii_lowercase())
    } else {
        None
    };
    let mut inner_from = None;
    if let Some(hp) = &hp {
        inner_from = root_ent.first_from(root);
        compare_protected(&mut v, message, &top, root, &root_ent, hp);
    }

    let want_from = opts
        .from
        .clone()
        .map(|s| s.to_ascii_lowercase())
        .or(inner_from)
        .or(outer_from);
    finish_signature(&mut v, signers, want_from.as_deref(), message, &top);

    if v.signature.status == "absent" && v.encryption.status == "absent" {
        find_nested_signatures(&mut v, message);
    }
    if opts.extract {
        v.content = if hp.is_some() || !crypto_layer {
            root.to_vec()
        } else {
            let mut c = crate::smime::sign::outer_header(message, &top);
            c.extend_from_slice(root);
            c
        };
    }
    Ok(v)
}

struct Ctx<'a> {
    anchors: &'a [X509],
    extra: &'a [X509],
    now: i64,
}

enum Signed<'a> {
    /// multipart/signed first part: canonicalized to CRLF while hashing.
    Detached(&'a [u8]),
    /// eContent of signed-data: hashed as is.
    Attached(&'a [u8]),
}

/// The outcome for one SignerInfo.
struct SignerResult {
    status: &'static str,
    signer: Option<String>,
    addresses: Vec<String>,
    digest: Option<String>,
    findings: Vec<Finding>,
    attrs: Option<Attributes>,
}

impl SignerResult {
    fn broken(msg: &str) -> SignerResult {
        SignerResult {
            status: "invalid",
            signer: None,
            addresses: Vec::new(),
            digest: None,
            findings: vec![finding(
                "signature-invalid",
                Severity::Error,
                msg.to_owned(),
            )],
            attrs: None,
        }
    }
}

fn finding(code: &'static str, severity: Severity, message: String) -> Finding {
    Finding {
        code,
        severity,
        header: None,
        message,
    }
}

/// Base64 unless the part says otherwise.
fn decode_body(ent: &Entity, part: &[u8], body: &[u8]) -> Option<Vec<u8>> {
    let cte = ent
        .values(part, "Content-Transfer-Encoding")
        .next()
        .map(|v| String::from_utf8_lossy(v).trim().to_ascii_lowercase())
        .unwrap_or_default();
    match cte.as_str() {
        "binary" | "8bit" | "7bit" if body.first() == Some(&0x30) => Some(body.to_vec()),
        _ => mime::base64_decode(body),
    }
}

/// Parses a ContentInfo; BER (indefinite lengths, constructed strings, as `openssl cms` writes)
/// is normalized to DER through OpenSSL's own CMS codec first.
pub(crate) fn parse_content_info(data: &[u8]) -> Option<ContentInfo> {
    if let Ok(ci) = ContentInfo::from_der(data) {
        return Some(ci);
    }
    let der = openssl::cms::CmsContentInfo::from_der(data)
        .ok()?
        .to_der()
        .ok()?;
    ContentInfo::from_der(&der).ok()
}

pub(crate) use crate::message::eol::feed_crlf as feed_canonical;

fn content_digest(md: MessageDigest, content: &Signed<'_>) -> Option<Vec<u8>> {
    let mut h = Hasher::new(md).ok()?;
    match content {
        Signed::Detached(d) => feed_canonical(d, |c| h.update(c)).ok()?,
        Signed::Attached(d) => h.update(d).ok()?,
    }
    h.finish().ok().map(|d| d.to_vec())
}

fn check_content_info(ci: &ContentInfo, content: Signed<'_>, ctx: &Ctx<'_>) -> SignerResult {
    let Some(sd) = ci
        .content
        .to_der()
        .ok()
        .and_then(|d| SignedData::from_der(&d).ok())
    else {
        return SignerResult::broken("the CMS structure is not SignedData");
    };
    let Some(si) = sd.signer_infos.0.iter().next() else {
        return SignerResult::broken("SignedData without any SignerInfo");
    };
    let mut msg_certs: Vec<(Certificate, X509)> = Vec::new();
    for c in sd.certificates.iter().flat_map(|s| s.0.iter()) {
        if let cms::cert::CertificateChoices::Certificate(c) = c
            && let Ok(x) = certs::to_openssl(c)
        {
            msg_certs.push((c.clone(), x));
        }
    }
    for x in ctx.extra {
        if let Ok(c) = certs::from_openssl(x) {
            msg_certs.push((c, x.clone()));
        }
    }
    let mut r = check_signer(si, &sd, &content, &msg_certs, ctx);
    if sd.signer_infos.0.len() > 1 {
        r.findings.push(finding(
            "multiple-signers",
            Severity::Warning,
            format!(
                "{} SignerInfos; only the first one is evaluated",
                sd.signer_infos.0.len()
            ),
        ));
    }
    r
}

fn find_cert<'a>(sid: &SignerIdentifier, certs: &'a [(Certificate, X509)]) -> Option<&'a X509> {
    certs.iter().find_map(|(c, x)| match sid {
        SignerIdentifier::IssuerAndSerialNumber(ias) => (ias.issuer == c.tbs_certificate.issuer
            && ias.serial_number == c.tbs_certificate.serial_number)
            .then_some(x),
        SignerIdentifier::SubjectKeyIdentifier(ski) => x
            .subject_key_id()
            .is_some_and(|k| k.as_slice() == ski.0.as_bytes())
            .then_some(x),
    })
}

fn attr_value<'a>(attrs: &'a Attributes, oid_str: &str) -> Option<Vec<u8>> {
    attrs
        .iter()
        .find(|a| a.oid.to_string() == oid_str)
        .and_then(|a| a.values.iter().next())
        .and_then(|v: &'a der::Any| v.to_der().ok())
}

fn check_signer(
    si: &SignerInfo,
    sd: &SignedData,
    content: &Signed<'_>,
    certs: &[(Certificate, X509)],
    ctx: &Ctx<'_>,
) -> SignerResult {
    let mut r = SignerResult {
        status: "valid",
        signer: None,
        addresses: Vec::new(),
        digest: None,
        findings: Vec::new(),
        attrs: si.signed_attrs.clone(),
    };
    let Some(cert) = find_cert(&si.sid, certs) else {
        r.status = "invalid";
        r.findings.push(finding(
            "signer-certificate-missing",
            Severity::Error,
            "the signer's certificate is neither in the message nor given".into(),
        ));
        return r;
    };
    r.addresses = certs::addresses(cert);
    r.signer = r.addresses.first().cloned();
    let digest_oid = si.digest_alg.oid.to_string();
    let Some((md, dname, dweak)) = super::digest_by_oid(&digest_oid) else {
        r.status = "invalid";
        r.findings.push(finding(
            "unsupported-algorithm",
            Severity::Error,
            format!("digest algorithm {digest_oid}"),
        ));
        return r;
    };
    r.digest = Some(dname.to_owned());
    let Ok(pkey) = cert.public_key() else {
        return SignerResult::broken("the signer's public key cannot be read");
    };

    // RFC 5652 §5.4: with signed attributes, the content digest is checked against
    // messageDigest and the signature covers the attributes' DER as a SET OF.
    let sig_ok = match &si.signed_attrs {
        Some(attrs) => {
            let want = attr_value(attrs, super::OID_MESSAGE_DIGEST)
                .and_then(|d| asn1::read(&d).map(|(t, _)| t.content.to_vec()));
            let got = content_digest(md, content);
            let ct_ok = attr_value(attrs, super::OID_CONTENT_TYPE)
                .and_then(|d| asn1::read(&d).and_then(|(t, _)| asn1::oid_string(t.content)))
                .is_some_and(|o| o == sd.encap_content_info.econtent_type.to_string());
            if !ct_ok {
                r.findings.push(finding(
                    "signature-invalid",
                    Severity::Error,
                    "the contentType attribute is missing or differs from the content".into(),
                ));
            }
            if want.is_none() || want != got {
                r.findings.push(finding(
                    "signature-invalid",
                    Severity::Error,
                    "the content does not match the signed digest (modified in transit)".into(),
                ));
                false
            } else {
                let tbs = attrs.to_der().unwrap_or_default();
                ct_ok && verify_sig(&pkey, si, md, |v| v.update(&tbs))
            }
        }
        None => verify_sig(&pkey, si, md, |v| match content {
            Signed::Detached(d) => feed_canonical(d, |c| v.update(c)),
            Signed::Attached(d) => v.update(d),
        }),
    };
    if !sig_ok {
        r.status = "invalid";
        if !r.findings.iter().any(|f| f.code == "signature-invalid") {
            r.findings.push(finding(
                "signature-invalid",
                Severity::Error,
                "the signature does not verify with the signer's key".into(),
            ));
        }
        return r;
    }

    // Certificate path: intermediates from the message and the extra certificates.
    let inter: Vec<X509> = certs.iter().map(|(_, x)| x.clone()).collect();
    match certs::check_path(cert, &inter, ctx.anchors, ctx.now, true) {
        PathStatus::Valid => {}
        PathStatus::Expired(why) => {
            r.status = "expired";
            r.findings.push(finding(
                "certificate-expired",
                Severity::Error,
                format!("signer certificate path: {why}"),
            ));
        }
        PathStatus::Untrusted(why) => {
            r.status = "untrusted";
            r.findings.push(finding(
                "signature-untrusted",
                Severity::Error,
                format!("no path to a trust anchor: {why}"),
            ));
        }
        PathStatus::Usage(why) => {
            r.status = "untrusted";
            r.findings.push(finding(
                "certificate-usage",
                Severity::Error,
                format!("the certificate may not sign e-mail: {why}"),
            ));
        }
    }

    let sig_oid = si.signature_algorithm.oid.to_string();
    let sig_weak = matches!(
        sig_oid.as_str(),
        "1.2.840.113549.1.1.4" | "1.2.840.113549.1.1.5" | "1.2.840.10045.4.1"
    );
    let mut weak = Vec::new();
    if dweak || sig_weak {
        weak.push(format!("digest {dname}"));
    }
    if let Some(bits) = certs::rsa_bits(cert)
        && bits < 2048
    {
        weak.push(format!("RSA key of {bits} bits"));
    }
    if !weak.is_empty() {
        if r.status == "valid" {
            r.status = "weak";
        }
        r.findings.push(finding(
            "weak-algorithm",
            Severity::Error,
            format!("signature uses {}", weak.join(" and ")),
        ));
    }
    r
}

/// Verifies `si.signature` over what `feed` supplies, per the signature algorithm.
fn verify_sig(
    pkey: &PKey<Public>,
    si: &SignerInfo,
    md: MessageDigest,
    feed: impl FnOnce(&mut Verifier<'_>) -> std::result::Result<(), openssl::error::ErrorStack>,
) -> bool {
    let oid_s = si.signature_algorithm.oid.to_string();
    let run = || -> std::result::Result<bool, openssl::error::ErrorStack> {
        let mut v;
        if oid_s == super::OID_RSA_PSS {
            let params = si
                .signature_algorithm
                .parameters
                .as_ref()
                .and_then(|p| p.to_der().ok())
                .unwrap_or_default();
            let (hash, salt) = pss_params(&params).unwrap_or((MessageDigest::sha1(), 20));
            v = Verifier::new(hash, pkey)?;
            v.set_rsa_padding(Padding::PKCS1_PSS)?;
            v.set_rsa_mgf1_md(hash)?;
            v.set_rsa_pss_saltlen(RsaPssSaltlen::custom(salt))?;
        } else {
            v = Verifier::new(md, pkey)?;
        }
        feed(&mut v)?;
        v.verify(si.signature.as_bytes())
    };
    run().unwrap_or(false)
}

/// (hash, salt length) of RSASSA-PSS-params; MGF1 is assumed to use the same hash.
fn pss_params(der: &[u8]) -> Option<(MessageDigest, i32)> {
    let (seq, _) = asn1::read(der)?;
    let mut hash = MessageDigest::sha1();
    let mut salt = 20;
    for c in asn1::children(seq.content)? {
        match c.tag {
            0xa0 => {
                let (alg, _) = asn1::read(c.content)?;
                let (o, _) = asn1::read(alg.content)?;
                hash = super::digest_by_oid(&asn1::oid_string(o.content)?)?.0;
            }
            0xa2 => {
                let (i, _) = asn1::read(c.content)?;
                salt = asn1::parse_int(i.content)? as i32;
            }
            _ => {}
        }
    }
    Some((hash, salt))
}

fn finish_signature(
    v: &mut Verification,
    signers: Vec<SignerResult>,
    from: Option<&str>,
    message: &[u8],
    top: &Entity,
) {
    if signers.is_empty() {
        return;
    }
    v.signature.mechanism = Some("smime".into());
    let rank = |s: &str| match s {
        "invalid" => 5,
        "expired" => 4,
        "untrusted" => 3,
        "weak" => 2,
        "valid" => 1,
        _ => 0,
    };
    let mut status = if v.signature.status == "invalid" {
        "invalid"
    } else {
        "valid"
    };
    for s in &signers {
        if rank(s.status) > rank(status) {
            status = s.status;
        }
    }
    v.signature.status = status.into();
    // The innermost signature (the last one unwrapped) names the signer and carries the label.
    let Some(inner) = signers.last() else { return };
    v.signature.signer = inner.signer.clone();
    v.signature.digest = inner.digest.clone();
    for s in &signers {
        v.findings.extend(s.findings.iter().cloned());
    }
    if let Some(from) = from
        && inner.status != "invalid"
        && !inner.addresses.is_empty()
        && !inner.addresses.iter().any(|a| a == from)
    {
        v.push(
            "signer-mismatch",
            Severity::Error,
            Some("From"),
            format!(
                "From is {from} but the certificate names {}",
                inner.addresses.join(", ")
            ),
        );
    }
    if inner.status == "invalid" {
        return;
    }
    if let Some(attrs) = &inner.attrs {
        check_label(v, attrs, message, top);
        check_secure_headers(v, attrs, message, top);
    }
}

fn outer_values(message: &[u8], top: &Entity, name: &str) -> Vec<String> {
    top.values(message, name).map(mime::normalize).collect()
}

fn check_label(v: &mut Verification, attrs: &Attributes, message: &[u8], top: &Entity) {
    let n = attrs
        .iter()
        .filter(|a| a.oid.to_string() == label::OID_SECURITY_LABEL)
        .count();
    if n == 0 {
        return;
    }
    let label = attr_value(attrs, label::OID_SECURITY_LABEL).and_then(|d| EssLabel::from_der(&d));
    let Some(label) = label.filter(|_| n == 1) else {
        v.push(
            "label-malformed",
            Severity::Error,
            None,
            "the ESS security label is not one well-formed ESSSecurityLabel".into(),
        );
        return;
    };
    v.label = Some(LabelReport {
        policy: Some(label.policy.clone()),
        classification: label.classification,
        privacy_mark: label.privacy_mark.clone(),
    });
    let checks: [(&str, Option<String>); 3] = [
        (
            "X-XIMF-Security-Policy-Identifier",
            Some(label.policy.clone()),
        ),
        (
            "X-XIMF-Security-Classification-Identifier",
            label.classification.map(|c| c.to_string()),
        ),
        ("X-XIMF-Privacy-Mark", label.privacy_mark.clone()),
    ];
    for (name, signed) in checks {
        for outer in outer_values(message, top, name) {
            if signed.as_deref() != Some(outer.as_str()) {
                v.push(
                    "label-mismatch",
                    Severity::Error,
                    Some(name),
                    format!(
                        "{name} is {outer:?} but the signed label says {}",
                        signed.as_deref().unwrap_or("nothing")
                    ),
                );
            }
        }
    }
}

fn check_secure_headers(v: &mut Verification, attrs: &Attributes, message: &[u8], top: &Entity) {
    let (der, legacy) = match attr_value(attrs, label::OID_SECURE_HEADERS) {
        Some(d) => (d, false),
        None => match attr_value(attrs, label::OID_SECURE_HEADERS_LEGACY) {
            Some(d) => (d, true),
            None => return,
        },
    };
    let Some(shf) = SecureHeaders::from_der(&der, legacy) else {
        v.push(
            "secure-headers-malformed",
            Severity::Error,
            None,
            "SecureHeaderFields cannot be decoded".into(),
        );
        return;
    };
    if legacy {
        v.push(
            "legacy-trustedbird",
            Severity::Warning,
            None,
            "secure headers use Trustedbird's unregistered id-aa 80 encoding".into(),
        );
    }
    // Match each signed entry with the outer instances of its name, in order (spec §4.3.5).
    let mut used: Vec<usize> = Vec::new();
    for (name, value, status) in &shf.fields {
        let canon = |f: &mime::Field| -> (String, String) {
            let raw = &message[f.value.clone()];
            if shf.relaxed {
                label::relaxed(&f.name, raw)
            } else {
                (f.name.clone(), String::from_utf8_lossy(raw).into_owned())
            }
        };
        let same_name = |f: &mime::Field| {
            if shf.relaxed {
                f.name.eq_ignore_ascii_case(name)
            } else {
                f.name == *name
            }
        };
        let next = top
            .fields
            .iter()
            .enumerate()
            .find(|(i, f)| !used.contains(i) && same_name(f));
        if !v
            .signature
            .protected_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            v.signature.protected_headers.push(name.clone());
        }
        match (next, status) {
            (Some((i, f)), HeaderStatus::Duplicated) => {
                used.push(i);
                let (_, outer) = canon(f);
                let (a, b) = if legacy {
                    (outer.trim().to_owned(), value.trim().to_owned())
                } else {
                    (outer, value.clone())
                };
                if a != b {
                    v.push(
                        "secure-header-mismatch",
                        Severity::Error,
                        Some(name),
                        format!("{name} was modified in transit: signed {b:?}, found {a:?}"),
                    );
                }
            }
            (None, HeaderStatus::Duplicated) => v.push(
                "secure-header-missing",
                Severity::Error,
                Some(name),
                format!("{name} is signed but missing from the header"),
            ),
            (Some((i, f)), HeaderStatus::Deleted) => {
                // Deleted fields are normally gone (RFC 7508 §4.6.1); one still present with
                // another value conflicts with the signed one.
                used.push(i);
                let (_, outer) = canon(f);
                if outer.trim() != value.trim() {
                    v.push(
                        "secure-header-mismatch",
                        Severity::Error,
                        Some(name),
                        format!(
                            "{name} was deleted by the signer but is present with another value"
                        ),
                    );
                }
            }
            (Some((i, _)), HeaderStatus::Modified) => {
                // The outer value differs by design (RFC 7508 §4.6).
                used.push(i);
            }
            (None, _) => {}
        }
    }
}

/// RFC 9788 §4 (and RFC 8551 §3.1 wrapping): every outer non-structural field must equal its
/// protected copy, unless `hp="cipher"` and an HP-Outer record explains the difference.
fn compare_protected(
    v: &mut Verification,
    message: &[u8],
    top: &Entity,
    root: &[u8],
    root_ent: &Entity,
    hp: &str,
) {
    let mut inner: Vec<(String, String)> = Vec::new();
    let mut hp_outer: Vec<(String, String)> = Vec::new();
    for f in root_ent
        .fields
        .iter()
        .filter(|f| !mime::is_structural(&f.name))
    {
        let value = mime::normalize(&root[f.value.clone()]);
        if f.name.eq_ignore_ascii_case("HP-Outer") {
            if let Some((n, val)) = value.split_once(':') {
                hp_outer.push((n.trim().to_owned(), val.trim().to_owned()));
            }
        } else {
            inner.push((f.name.clone(), value));
        }
    }
    for (name, _) in &inner {
        if !v
            .signature
            .protected_headers
            .iter()
            .any(|h| h.eq_ignore_ascii_case(name))
        {
            v.signature.protected_headers.push(name.clone());
        }
    }
    let cipher = hp == "cipher";
    let mut seen: Vec<String> = Vec::new();
    for (name, _) in &inner {
        let lname = name.to_ascii_lowercase();
        if seen.contains(&lname) {
            continue;
        }
        seen.push(lname);
        let ins: Vec<&String> = inner
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .collect();
        let outs = outer_values(message, top, name);
        let records: Vec<&String> = hp_outer
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v)
            .collect();
        for o in &outs {
            let explained = ins.contains(&o) || (cipher && records.contains(&o));
            if !explained {
                v.push(
                    "protected-header-mismatch",
                    Severity::Error,
                    Some(name),
                    format!("outer {name} {o:?} differs from its protected copy"),
                );
            }
        }
    }
    // Outer fields with no protected copy: unsigned additions.
    for f in top.fields.iter().filter(|f| !mime::is_structural(&f.name)) {
        let n = f.name.to_ascii_lowercase();
        if inner.iter().any(|(i, _)| i.eq_ignore_ascii_case(&n)) || is_trace(&n) {
            continue;
        }
        let ximf = n.starts_with("x-ximf-");
        let key = matches!(
            n.as_str(),
            "from" | "to" | "cc" | "reply-to" | "sender" | "subject" | "date"
        );
        if ximf || key {
            v.push(
                "unprotected-header",
                if ximf {
                    Severity::Error
                } else {
                    Severity::Warning
                },
                Some(&f.name),
                format!(
                    "{} is outside the signed part and has no protected copy",
                    f.name
                ),
            );
        }
    }
    v.inner_headers = inner;
}

fn is_trace(lname: &str) -> bool {
    matches!(
        lname,
        "received"
            | "return-path"
            | "delivered-to"
            | "x-original-to"
            | "dkim-signature"
            | "authentication-results"
            | "x-ximf-verify"
    ) || lname.starts_with("arc-")
}

/// A signed part somewhere inside an unsigned message: never report it as signed (design.md
/// §8), but say so.
fn find_nested_signatures(v: &mut Verification, message: &[u8]) {
    let Some(m) = mail_parser::MessageParser::new().parse(message) else {
        return;
    };
    if has_signed_part(&m, true, 0) {
        v.push(
            "partially-signed",
            Severity::Warning,
            None,
            "a signed part sits inside an unsigned message; the message is not signed".into(),
        );
    }
}

fn has_signed_part(m: &mail_parser::Message<'_>, top: bool, depth: usize) -> bool {
    use mail_parser::{MimeHeaders, PartType};
    if depth > 8 {
        return false;
    }
    m.parts.iter().enumerate().any(|(i, p)| {
        let signed = p.content_type().is_some_and(|ct| {
            let mime = format!(
                "{}/{}",
                ct.ctype().to_ascii_lowercase(),
                ct.subtype().unwrap_or("").to_ascii_lowercase()
            );
            mime == "multipart/signed"
                || is_pkcs7(&mime, "signature")
                || (is_pkcs7(&mime, "mime")
                    && ct
                        .attribute("smime-type")
                        .is_none_or(|t| t.eq_ignore_ascii_case("signed-data")))
        });
        // The root of the top-level message was already looked at by the caller.
        (signed && !(top && i == 0))
            || match &p.body {
                PartType::Message(inner) => has_signed_part(inner, false, depth + 1),
                _ => false,
            }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::smime::sign::{attribute, signed_data};
    use crate::smime::{Digest, asn1, mime};

    const NOW: i64 = 1_795_910_400;

    fn key_file(name: &str) -> Vec<u8> {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/keys/smime")
            .join(name);
        std::fs::read(p).unwrap()
    }

    /// A message signed with Trustedbird's legacy id-aa 80 secure-headers attribute (spec §4.4).
    fn legacy_signed(subject_outer: &str) -> Vec<u8> {
        let creds =
            Credentials::load(&key_file("alice.key"), &[&key_file("alice.chain.pem")]).unwrap();
        let field = asn1::cons(
            asn1::SEQUENCE,
            &[
                &asn1::tlv(asn1::IA5_STRING, b"subject"),
                &asn1::tlv(asn1::IA5_STRING, b"Q3 plan"),
                &asn1::tlv(asn1::INTEGER, &[0, 0, 0, 0]),
            ],
        );
        let shf = asn1::cons(
            asn1::SET,
            &[
                &asn1::tlv(asn1::ENUMERATED, &[0, 0, 0, 1]),
                &asn1::tlv(asn1::SET, &field),
            ],
        );
        let payload = b"Content-Type: text/plain\r\n\r\nbody\r\n";
        let attr = attribute(label::OID_SECURE_HEADERS_LEGACY, &shf).unwrap();
        let ci = signed_data(
            payload,
            false,
            &creds,
            Digest::Sha256,
            false,
            NOW,
            vec![attr],
        )
        .unwrap();
        let mut m = format!("From: alice@example.org\r\nSubject: {subject_outer}\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"b\"\r\n\r\n--b\r\n").into_bytes();
        m.extend_from_slice(payload);
        m.extend_from_slice(b"\r\n--b\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n");
        m.extend(mime::base64_lines(&ci));
        m.extend_from_slice(b"--b--\r\n");
        m
    }

    fn opts() -> VerifyOptions {
        VerifyOptions {
            anchors: crate::smime::parse_certs(&key_file("root.crt")).unwrap(),
            now: NOW,
            ..Default::default()
        }
    }

    #[test]
    fn legacy_trustedbird_secure_headers_are_read() {
        let v = verify(&legacy_signed("Q3 plan"), &opts()).unwrap();
        assert_eq!(v.signature.status, "valid", "{:#?}", v.findings);
        assert!(v.findings.iter().any(|f| f.code == "legacy-trustedbird"));
        assert!(!v.findings.iter().any(|f| f.severity == Severity::Error));
        assert_eq!(v.signature.protected_headers, vec!["subject".to_owned()]);
        let v = verify(&legacy_signed("Q4 plan"), &opts()).unwrap();
        assert!(
            v.findings
                .iter()
                .any(|f| f.code == "secure-header-mismatch")
        );
    }

    #[test]
    fn canonical_feed_matches_copy() {
        for input in [&b"a\nb\r\nc"[..], b"\n\n", b"no eol", b"x\r\n", b""] {
            let mut got = Vec::new();
            feed_canonical::<()>(input, |c| {
                got.extend_from_slice(c);
                Ok(())
            })
            .unwrap();
            assert_eq!(got, crate::message::eol::to_crlf(input).into_owned());
        }
        let big: Vec<u8> = (0..200_000)
            .map(|i| if i % 70 == 0 { b'\n' } else { b'a' })
            .collect();
        let mut got = Vec::new();
        feed_canonical::<()>(&big, |c| {
            got.extend_from_slice(c);
            Ok(())
        })
        .unwrap();
        assert_eq!(got, crate::message::eol::to_crlf(&big).into_owned());
    }
}
