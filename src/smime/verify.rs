//! Verification: unwrap every S/MIME layer of a message (multipart/signed, opaque signed-data,
//! enveloped/authEnveloped-data, the RFC 8551 §3.1 message/rfc822 wrapper), check each
//! signature (digest, signature, path to the anchors at `now`, key usage, weak algorithms,
//! signer address vs From), then compare the outer header with the protected copies (RFC 9788
//! injected headers, RFC 7508 SecureHeaderFields, the ESS label).
//!
//! Every cryptographic problem becomes a status and a finding; only input that is not a message
//! at all is an error. Signed bytes are taken from the raw buffer and hashed in place.

//! The S/MIME backend of the secure-message engine ([`crate::secure`]): verify the
//! SignerInfos of a SignedData over given bytes (digest, signature, path to the anchors at
//! `now`, key usage, weak algorithms) and say who signed; read the CMS type of a body. What a
//! signature means for the message is the engine's business.
//!
//! Signed bytes are taken from the caller's buffer and hashed in place.

use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier, SignerInfo};
use der::{Decode, Encode};
use openssl::hash::{Hasher, MessageDigest};
use openssl::md::Md;
use openssl::pkey::{PKey, Public};
use openssl::pkey_ctx::PkeyCtx;
use openssl::rsa::Padding;
use openssl::sign::{RsaPssSaltlen, Verifier};
use openssl::x509::X509;
use x509_cert::Certificate;
use x509_cert::attr::Attributes;

use super::asn1;
use super::certs::{self, PathStatus};
use super::label::{self, EssLabel, SecureHeaders};
use super::stream_open::{self, Streamed};
use crate::report::Severity;
use crate::secure::codes;
use crate::secure::outcome::{SignatureStatus, SignedAttributes, Signer, finding};

/// Trust anchors and extra certificates, converted to OpenSSL once per message.
pub struct Trust {
    anchors: certs::Anchors,
    extra: Vec<X509>,
    now: i64,
}

impl Trust {
    /// The anchors (`--ca`, plus the system CA store when `keys.system_ca`) and extra
    /// certificates (`--cert`) of `keys`, at time `now`.
    pub fn new(keys: &crate::secure::Keys, now: i64) -> Trust {
        let conv = |cs: &[Certificate]| -> Vec<X509> {
            cs.iter()
                .filter_map(|c| certs::to_openssl(c).ok())
                .collect()
        };
        Trust {
            anchors: certs::Anchors {
                certs: conv(&keys.smime_anchors),
                system: keys.system_ca,
            },
            extra: conv(&keys.smime_extra),
            now,
        }
    }
}

/// What a CMS body is.
pub enum CmsKind {
    /// SignedData.
    Signed,
    /// EnvelopedData or AuthEnvelopedData.
    Enveloped,
    /// Anything else (compressed-data, certs-only...), by OID.
    Other(String),
}

/// The kind of `ci`, from its content type OID (never from `smime-type`).
pub fn cms_kind(ci: &ContentInfo) -> CmsKind {
    let oid = ci.content_type.to_string();
    match oid.as_str() {
        super::OID_SIGNED_DATA => CmsKind::Signed,
        super::OID_ENVELOPED_DATA | super::OID_AUTH_ENVELOPED_DATA => CmsKind::Enveloped,
        _ => CmsKind::Other(oid),
    }
}

/// Reads a CMS body (DER or BER).
pub fn read_cms(data: &[u8]) -> Option<ContentInfo> {
    parse_content_info(data)
}

/// Verifies the detached SignedData `sig` over `content` (canonicalized to CRLF as it is
/// hashed, RFC 8551 §3.1.1): one [`Signer`] per SignerInfo.
pub fn verify_detached(trust: &Trust, content: &[u8], sig: &[u8]) -> Vec<Signer> {
    let Some(sd) = parse_content_info(sig).and_then(|ci| signed_data(&ci)) else {
        return vec![Signer::broken(
            codes::SIGNATURE_INVALID,
            "the signature part is not CMS SignedData",
        )];
    };
    let certs = sd
        .certificates
        .iter()
        .flat_map(|s| s.0.iter())
        .filter_map(|c| match c {
            cms::cert::CertificateChoices::Certificate(c) => Some(c.clone()),
            _ => None,
        })
        .collect();
    check_signers(
        sd.signer_infos.0.as_slice(),
        &sd.encap_content_info.econtent_type.to_string(),
        certs,
        &mut |md| content_digest(md, content),
        trust,
    )
}

/// Verifies opaque signed-data: its signers, and the encapsulated content when there is one.
///
/// The same walk as [`super::open_stream`], over the DER of `ci`, into memory.
pub fn verify_opaque(trust: &Trust, ci: &ContentInfo) -> (Vec<Signer>, Option<Vec<u8>>) {
    let broken = |why: &str| (vec![Signer::broken(codes::SIGNATURE_INVALID, why)], None);
    if ci.content_type.to_string() != super::OID_SIGNED_DATA {
        return broken("the CMS structure is not SignedData");
    }
    let Ok(der) = ci.to_der() else {
        return broken("the CMS structure is not SignedData");
    };
    let mut content = Vec::new();
    match stream_open::run(
        &mut der.as_slice(),
        Some(trust),
        &[],
        u64::MAX,
        &mut content,
    ) {
        Ok((Streamed::Signed { signers }, true)) => (signers, Some(content)),
        Ok((Streamed::Signed { signers }, false)) => (signers, None),
        _ => broken("the CMS structure is not SignedData"),
    }
}

fn signed_data(ci: &ContentInfo) -> Option<SignedData> {
    SignedData::from_der(&ci.content.to_der().ok()?).ok()
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

// A skeleton's signed content comes from its source (crate::stream).
pub(crate) use crate::stream::feed_crlf as feed_canonical;

/// The digest of detached content, canonicalized to CRLF as it is hashed.
fn content_digest(md: MessageDigest, content: &[u8]) -> Option<Vec<u8>> {
    // A large message's digest may have been taken as its structure was read.
    if let Some(v) = crate::stream::precomputed_crlf(content, md.type_()) {
        return Some(v);
    }
    let mut h = Hasher::new(md).ok()?;
    feed_canonical(content, |c| h.update(c)).ok()?;
    h.finish().ok().map(|d| d.to_vec())
}

/// Checks every SignerInfo of a SignedData whose encapsulated content has type
/// `econtent_type` and, hashed with a digest, the value `digest` gives (`None`: not
/// available); `certs` are the message's certificates. One [`Signer`] per SignerInfo.
///
/// The one place where a CMS signature is judged, for detached signatures (digests computed
/// on demand over the signed part) and for streamed signed-data (digests computed while the
/// content went by, [`super::stream_open`]).
pub(crate) fn check_signers(
    infos: &[SignerInfo],
    econtent_type: &str,
    certs: Vec<Certificate>,
    digest: &mut dyn FnMut(MessageDigest) -> Option<Vec<u8>>,
    trust: &Trust,
) -> Vec<Signer> {
    if infos.is_empty() {
        return vec![Signer::broken(
            codes::SIGNATURE_INVALID,
            "SignedData without any SignerInfo",
        )];
    }
    let mut msg_certs: Vec<(Certificate, X509)> = Vec::new();
    for c in certs {
        if let Ok(x) = certs::to_openssl(&c) {
            msg_certs.push((c, x));
        }
    }
    for x in &trust.extra {
        if let Ok(c) = certs::from_openssl(x) {
            msg_certs.push((c, x.clone()));
        }
    }
    infos
        .iter()
        .map(|si| check_signer(si, econtent_type, digest, &msg_certs, trust))
        .collect()
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
    // Compared as OIDs: formatting every attribute's OID as text cost more than the rest of
    // the attribute handling of a small message.
    let oid = der::oid::ObjectIdentifier::new(oid_str).ok()?;
    attrs
        .iter()
        .find(|a| a.oid == oid)
        .and_then(|a| a.values.iter().next())
        .and_then(|v: &'a der::Any| v.to_der().ok())
}

fn check_signer(
    si: &SignerInfo,
    econtent_type: &str,
    digest: &mut dyn FnMut(MessageDigest) -> Option<Vec<u8>>,
    certs: &[(Certificate, X509)],
    trust: &Trust,
) -> Signer {
    let mut r = Signer {
        status: SignatureStatus::Valid,
        display: None,
        addresses: Vec::new(),
        digest: None,
        key: None,
        findings: Vec::new(),
        attributes: si.signed_attrs.as_ref().and_then(header_attributes),
    };
    let Some(cert) = find_cert(&si.sid, certs) else {
        r.status = SignatureStatus::Invalid;
        r.findings.push(finding(
            codes::SIGNER_CERTIFICATE_MISSING,
            Severity::Error,
            "the signer's certificate is neither in the message nor given",
        ));
        return r;
    };
    r.addresses = certs::addresses(cert);
    r.display = r
        .addresses
        .first()
        .cloned()
        .or_else(|| Some(certs::subject(cert)));
    r.key = certs::key_size(cert);
    let digest_oid = si.digest_alg.oid.to_string();
    let Some((md, dname, dweak)) = super::digest_by_oid(&digest_oid) else {
        r.status = SignatureStatus::Invalid;
        r.findings.push(finding(
            codes::UNSUPPORTED_ALGORITHM,
            Severity::Error,
            format!("digest algorithm {digest_oid}"),
        ));
        return r;
    };
    r.digest = Some(dname.to_owned());
    let Ok(pkey) = cert.public_key() else {
        return Signer::broken(
            codes::SIGNATURE_INVALID,
            "the signer's public key cannot be read",
        );
    };

    // RFC 5652 §5.4: with signed attributes, the content digest is checked against
    // messageDigest and the signature covers the attributes' DER as a SET OF.
    let sig_ok = match &si.signed_attrs {
        Some(attrs) => {
            let want = attr_value(attrs, super::OID_MESSAGE_DIGEST)
                .and_then(|d| asn1::read(&d).map(|(t, _)| t.content.to_vec()));
            let got = digest(md);
            let ct_ok = attr_value(attrs, super::OID_CONTENT_TYPE)
                .and_then(|d| asn1::read(&d).and_then(|(t, _)| asn1::oid_string(t.content)))
                .is_some_and(|o| o == econtent_type);
            if !ct_ok {
                r.findings.push(finding(
                    codes::SIGNATURE_INVALID,
                    Severity::Error,
                    "the contentType attribute is missing or differs from the content",
                ));
            }
            if got.is_none() {
                // Streamed content is hashed with the digests SignedData announces up front.
                r.findings.push(finding(
                    codes::SIGNATURE_INVALID,
                    Severity::Error,
                    format!(
                        "the content was not hashed with {dname}: not among the SignedData \
                         digestAlgorithms"
                    ),
                ));
                false
            } else if want.is_none() || want != got {
                r.findings.push(finding(
                    codes::SIGNATURE_INVALID,
                    Severity::Error,
                    "the content does not match the signed digest (modified in transit)",
                ));
                false
            } else {
                let tbs = attrs.to_der().unwrap_or_default();
                ct_ok && verify_sig(&pkey, si, md, Tbs::Attributes(&tbs))
            }
        }
        None => verify_sig(&pkey, si, md, Tbs::Content(digest)),
    };
    if !sig_ok {
        r.status = SignatureStatus::Invalid;
        if !r
            .findings
            .iter()
            .any(|f| f.code == codes::SIGNATURE_INVALID)
        {
            r.findings.push(finding(
                codes::SIGNATURE_INVALID,
                Severity::Error,
                "the signature does not verify with the signer's key",
            ));
        }
        return r;
    }

    // Certificate path: intermediates from the message and the extra certificates.
    let inter: Vec<X509> = certs.iter().map(|(_, x)| x.clone()).collect();
    match certs::check_path(cert, &inter, &trust.anchors, trust.now, true) {
        PathStatus::Valid => {}
        PathStatus::Expired(why) => {
            r.status = SignatureStatus::Expired;
            r.findings.push(finding(
                codes::CERTIFICATE_EXPIRED,
                Severity::Error,
                format!("signer certificate path: {why}"),
            ));
        }
        PathStatus::Untrusted(why) => {
            r.status = SignatureStatus::Untrusted;
            r.findings.push(finding(
                codes::SIGNATURE_UNTRUSTED,
                Severity::Error,
                format!("no path to a trust anchor: {why}"),
            ));
        }
        PathStatus::Usage(why) => {
            r.status = SignatureStatus::Untrusted;
            r.findings.push(finding(
                codes::CERTIFICATE_USAGE,
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
        if r.status == SignatureStatus::Valid {
            r.status = SignatureStatus::Weak;
        }
        r.findings.push(finding(
            codes::WEAK_ALGORITHM,
            Severity::Error,
            format!("signature uses {}", weak.join(" and ")),
        ));
    }
    r
}

/// What a signature covers (RFC 5652 §5.4).
enum Tbs<'a, 'd> {
    /// The DER of the signed attributes.
    Attributes(&'a [u8]),
    /// The content itself, as its digest with a given hash.
    Content(&'a mut (dyn FnMut(MessageDigest) -> Option<Vec<u8>> + 'd)),
}

/// Verifies `si.signature` over `tbs`, per the signature algorithm. Without signed attributes
/// the signature is checked against the content's digest (`EVP_PKEY_verify`), so that the
/// content need not be at hand twice.
fn verify_sig(pkey: &PKey<Public>, si: &SignerInfo, md: MessageDigest, tbs: Tbs<'_, '_>) -> bool {
    let oid_s = si.signature_algorithm.oid.to_string();
    let pss = (oid_s == super::OID_RSA_PSS).then(|| {
        let params = si
            .signature_algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.to_der().ok())
            .unwrap_or_default();
        pss_params(&params).unwrap_or((MessageDigest::sha1(), 20))
    });
    let hash = pss.map_or(md, |(h, _)| h);
    let sig = si.signature.as_bytes();
    let run = || -> std::result::Result<bool, openssl::error::ErrorStack> {
        match tbs {
            Tbs::Attributes(data) => {
                let mut v = Verifier::new(hash, pkey)?;
                if let Some((_, salt)) = pss {
                    v.set_rsa_padding(Padding::PKCS1_PSS)?;
                    v.set_rsa_mgf1_md(hash)?;
                    v.set_rsa_pss_saltlen(RsaPssSaltlen::custom(salt))?;
                }
                v.update(data)?;
                v.verify(sig)
            }
            Tbs::Content(digest) => {
                let (Some(d), Some(m)) = (digest(hash), Md::from_nid(hash.type_())) else {
                    return Ok(false);
                };
                let mut ctx = PkeyCtx::new(pkey)?;
                ctx.verify_init()?;
                ctx.set_signature_md(m)?;
                if let Some((_, salt)) = pss {
                    ctx.set_rsa_padding(Padding::PKCS1_PSS)?;
                    ctx.set_rsa_mgf1_md(m)?;
                    ctx.set_rsa_pss_saltlen(RsaPssSaltlen::custom(salt))?;
                }
                ctx.verify(&d, sig)
            }
        }
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

/// The signed attributes that describe the header: the ESS security label (RFC 2634) and
/// RFC 7508 SecureHeaderFields (or Trustedbird's legacy id-aa 80 form); none when neither.
fn header_attributes(attrs: &Attributes) -> Option<SignedAttributes> {
    let count = |oid: &str| attrs.iter().filter(|a| a.oid.to_string() == oid).count();
    let label = match count(label::OID_SECURITY_LABEL) {
        0 => None,
        1 => Some(
            attr_value(attrs, label::OID_SECURITY_LABEL)
                .and_then(|d| EssLabel::from_der(&d))
                .ok_or_else(|| {
                    "the ESS security label is not a well-formed ESSSecurityLabel".into()
                }),
        ),
        _ => Some(Err("more than one ESS security label".into())),
    };
    let secure_headers = match attr_value(attrs, label::OID_SECURE_HEADERS) {
        Some(d) => Some((d, false)),
        None => attr_value(attrs, label::OID_SECURE_HEADERS_LEGACY).map(|d| (d, true)),
    }
    .map(|(d, legacy)| {
        SecureHeaders::from_der(&d, legacy)
            .ok_or_else(|| "SecureHeaderFields cannot be decoded".to_owned())
    });
    (label.is_some() || secure_headers.is_some()).then_some(SignedAttributes {
        label,
        secure_headers,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::mime::transfer;
    use crate::smime::Credentials;
    use crate::smime::sign::{attribute, signed_data};
    use crate::smime::{Digest, asn1};

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
        m.extend(transfer::base64_lines(&ci));
        m.extend_from_slice(b"--b--\r\n");
        m
    }

    fn verify(m: &[u8]) -> crate::secure::Outcome {
        let keys = crate::secure::Keys {
            smime_anchors: crate::smime::parse_certs(&key_file("root.crt")).unwrap(),
            ..Default::default()
        };
        crate::secure::verify(m, &keys, NOW).unwrap()
    }

    #[test]
    fn legacy_trustedbird_secure_headers_are_read() {
        let v = verify(&legacy_signed("Q3 plan"));
        assert_eq!(v.signature.status, "valid", "{:#?}", v.findings);
        assert!(v.findings.iter().any(|f| f.code == "legacy-trustedbird"));
        assert!(!v.findings.iter().any(|f| f.severity == Severity::Error));
        assert_eq!(v.signature.protected_headers, vec!["subject".to_owned()]);
        let v = verify(&legacy_signed("Q4 plan"));
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
