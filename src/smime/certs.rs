//! Keys and certificates: loading credentials, parsing certificate bundles, and the checks a
//! verifier makes on a signer's certificate (path to the anchors, validity at `now`, key usage,
//! addresses). Path validation is OpenSSL's `X509_verify_cert` with the S/MIME signing purpose,
//! which checks keyUsage digitalSignature/nonRepudiation and EKU emailProtection when present.

use der::{Decode, Encode};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::store::X509StoreBuilder;
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509, X509PurposeId, X509StoreContext};
use x509_cert::Certificate;

use crate::{Error, Result};

/// A private key with its certificate and chain.
#[derive(Clone)]
pub struct Credentials {
    pub(crate) key: PKey<Private>,
    pub(crate) cert: X509,
    pub(crate) cert_x509: Certificate,
    pub(crate) chain: Vec<Certificate>,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("subject", &self.cert.subject_name())
            .finish_non_exhaustive()
    }
}

impl Credentials {
    /// Loads a private key (PEM or DER; PKCS#8, PKCS#1 or SEC1, detected) and the certificates
    /// (each a PEM bundle or one DER certificate). The certificate whose public key matches the
    /// key becomes the signer/decryption certificate; the others form the chain.
    ///
    /// Fails with [`Error::Key`] when the key cannot be read, is encrypted, or matches no
    /// certificate.
    pub fn load(key: &[u8], certs: &[&[u8]]) -> Result<Self> {
        let key = load_key(key)?;
        let mut all = Vec::new();
        for c in certs {
            all.extend(parse_certs(c).map_err(|e| Error::Key(e.to_string()))?);
        }
        let mut found = None;
        for (i, c) in all.iter().enumerate() {
            let x = to_openssl(c)?;
            if x.public_key().map(|p| p.public_eq(&key)).unwrap_or(false) {
                found = Some((i, x));
                break;
            }
        }
        let Some((i, cert)) = found else {
            return Err(Error::Key(
                "no certificate matches the private key".to_owned(),
            ));
        };
        let cert_x509 = all.remove(i);
        Ok(Credentials {
            key,
            cert,
            cert_x509,
            chain: all,
        })
    }

    /// The addresses the certificate names (SAN rfc822Name, subject emailAddress), lowercased.
    pub fn addresses(&self) -> Vec<String> {
        addresses(&self.cert)
    }

    /// The certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.cert_x509
    }
}

fn load_key(data: &[u8]) -> Result<PKey<Private>> {
    let text = String::from_utf8_lossy(data);
    if text.contains("ENCRYPTED PRIVATE KEY") || text.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(Error::Key(
            "the private key is encrypted; give an unencrypted key file".into(),
        ));
    }
    if text.contains("-----BEGIN") {
        // OpenSSL 3's decoders accept PKCS#8, PKCS#1 ("RSA PRIVATE KEY") and SEC1 ("EC
        // PRIVATE KEY") PEM here.
        return PKey::private_key_from_pem(data)
            .map_err(|e| Error::Key(format!("cannot read the private key: {e}")));
    }
    PKey::private_key_from_der(data)
        .or_else(|_| PKey::private_key_from_pkcs8(data))
        .map_err(|e| Error::Key(format!("cannot read the private key: {e}")))
}

/// Parses a PEM bundle (every `CERTIFICATE` block) or one DER certificate.
///
/// Fails with [`Error::Key`] when nothing parses.
pub fn parse_certs(pem_or_der: &[u8]) -> Result<Vec<Certificate>> {
    let xs = if pem_or_der.starts_with(b"0") || !pem_or_der.windows(5).any(|w| w == b"-----") {
        vec![X509::from_der(pem_or_der).map_err(|e| Error::Key(format!("bad certificate: {e}")))?]
    } else {
        X509::stack_from_pem(pem_or_der)
            .map_err(|e| Error::Key(format!("bad certificate bundle: {e}")))?
    };
    if xs.is_empty() {
        return Err(Error::Key("no certificate found".into()));
    }
    xs.iter().map(from_openssl).collect()
}

pub(crate) fn to_openssl(c: &Certificate) -> Result<X509> {
    let der = c
        .to_der()
        .map_err(|e| Error::Key(format!("bad certificate: {e}")))?;
    // One X509 object per distinct certificate and thread: OpenSSL caches a certificate's
    // decoded public key inside the object, and decoding goes through OpenSSL 3's locked
    // decoder registry, which dominated verifying many messages from the same signers. The
    // key is the exact DER, so a cached object is always the same certificate.
    thread_local! {
        static CACHE: std::cell::RefCell<Vec<(Vec<u8>, X509)>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    if let Some(x) = CACHE.with(|c| {
        c.borrow()
            .iter()
            .find(|(d, _)| *d == der)
            .map(|(_, x)| x.clone())
    }) {
        return Ok(x);
    }
    let x = X509::from_der(&der).map_err(|e| Error::Key(format!("bad certificate: {e}")))?;
    CACHE.with(|c| {
        let mut c = c.borrow_mut();
        // Bounded: a batch has few signers; anything beyond is simply decoded again.
        if c.len() >= 64 {
            c.clear();
        }
        c.push((der, x.clone()));
    });
    Ok(x)
}

pub(crate) fn from_openssl(x: &X509) -> Result<Certificate> {
    let der = x
        .to_der()
        .map_err(|e| Error::Key(format!("bad certificate: {e}")))?;
    Certificate::from_der(&der).map_err(|e| Error::Key(format!("bad certificate: {e}")))
}

/// The e-mail addresses a certificate names, lowercased.
pub(crate) fn addresses(x: &X509) -> Vec<String> {
    let mut out = Vec::new();
    if let Some(sans) = x.subject_alt_names() {
        for n in sans.iter() {
            if let Some(e) = n.email() {
                out.push(e.to_ascii_lowercase());
            }
        }
    }
    for e in x.subject_name().entries_by_nid(Nid::PKCS9_EMAILADDRESS) {
        if let Ok(s) = std::str::from_utf8(e.data().as_slice()) {
            let s = s.to_ascii_lowercase();
            if !out.contains(&s) {
                out.push(s);
            }
        }
    }
    out
}

/// Outcome of checking a signer certificate's path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathStatus {
    Valid,
    /// No path to an anchor (code, reason).
    Untrusted(String),
    /// A certificate on the path is outside its validity at `now`.
    Expired(String),
    /// Key usage / extended key usage forbid S/MIME signing.
    Usage(String),
}

/// Validates `leaf` up to one of `anchors` through `intermediates` at time `now`, for S/MIME
/// signing (`sign`) or encryption.
pub(crate) fn check_path(
    leaf: &X509,
    intermediates: &[X509],
    anchors: &[X509],
    now: i64,
    sign: bool,
) -> PathStatus {
    if anchors.is_empty() {
        return PathStatus::Untrusted("no trust anchors were given".into());
    }
    let run = || -> std::result::Result<(bool, i32, String), openssl::error::ErrorStack> {
        let mut store = X509StoreBuilder::new()?;
        for a in anchors {
            store.add_cert(a.clone())?;
        }
        let mut param = X509VerifyParam::new()?;
        param.set_time(now as _);
        param.set_purpose(if sign {
            X509PurposeId::SMIME_SIGN
        } else {
            X509PurposeId::SMIME_ENCRYPT
        })?;
        store.set_param(&param)?;
        let store = store.build();
        let mut chain = Stack::new()?;
        for c in intermediates {
            chain.push(c.clone())?;
        }
        let mut ctx = X509StoreContext::new()?;
        ctx.init(&store, leaf, &chain, |c| {
            let ok = c.verify_cert()?;
            let err = c.error();
            Ok((ok, err.as_raw(), err.error_string().to_owned()))
        })
    };
    match run() {
        Ok((true, _, _)) => PathStatus::Valid,
        // X509_V_ERR_CERT_NOT_YET_VALID 9, _HAS_EXPIRED 10, CRL dates 11/12 not used.
        Ok((false, 9 | 10, why)) => PathStatus::Expired(why),
        // X509_V_ERR_INVALID_PURPOSE 26, _KEYUSAGE_NO_CERTSIGN 32.
        Ok((false, 26, why)) => PathStatus::Usage(why),
        Ok((false, _, why)) => PathStatus::Untrusted(why),
        Err(e) => PathStatus::Untrusted(e.to_string()),
    }
}

/// The bit size of an RSA key, `None` for other key types.
pub(crate) fn rsa_bits(x: &X509) -> Option<u32> {
    let pk = x.public_key().ok()?;
    pk.rsa().ok().map(|_| pk.bits())
}

/// The public-key algorithm and size of `x`: (`rsa`, bits) or (`ec`, bits), for the policy's
/// minimum key size.
pub(crate) fn key_size(x: &X509) -> Option<(String, u32)> {
    let pk = x.public_key().ok()?;
    let algo = if pk.rsa().is_ok() {
        "rsa"
    } else if pk.ec_key().is_ok() {
        "ec"
    } else {
        "other"
    };
    Some((algo.to_owned(), pk.bits()))
}

/// The subject of `x` in one line, to name a signer whose certificate carries no address.
pub(crate) fn subject(x: &X509) -> String {
    x.subject_name()
        .entries()
        .filter_map(|e| {
            let v = String::from_utf8_lossy(e.data().as_slice());
            Some(format!("{}={v}", e.object().nid().short_name().ok()?))
        })
        .collect::<Vec<_>>()
        .join(", ")
}
