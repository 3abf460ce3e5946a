//! Keys and certificates: loading credentials, parsing certificate bundles, and the checks a
//! verifier makes on a signer's certificate (path to the anchors, validity at `now`, key usage,
//! addresses). Path validation is OpenSSL's `X509_verify_cert` with the S/MIME signing purpose,
//! which checks keyUsage digitalSignature/nonRepudiation and EKU emailProtection when present.

use der::{Decode, Encode};
use openssl::nid::Nid;
use openssl::pkey::{PKey, Private};
use openssl::stack::Stack;
use openssl::x509::store::{X509Store, X509StoreBuilder};
use openssl::x509::verify::X509VerifyParam;
use openssl::x509::{X509, X509PurposeId, X509StoreContext};
use x509_cert::Certificate;

use super::keyfile;
use crate::secure::Passphrase;
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
    /// Loads a private key (PEM or DER; PKCS#8, PKCS#1 or SEC1, detected; or an unencrypted
    /// PKCS#12) and the certificates (each a PEM bundle, one DER certificate or a PKCS#7
    /// bundle). The certificate whose public key matches the key becomes the signer/decryption
    /// certificate; the others form the chain.
    ///
    /// Fails with [`Error::Key`] when the key cannot be read or matches no certificate, and
    /// with [`Error::NeedPassphrase`] when it is encrypted (see [`crate::secure::Keys`] for
    /// loading with a passphrase).
    pub fn load(key: &[u8], certs: &[&[u8]]) -> Result<Self> {
        let mut all = Vec::new();
        for c in certs {
            all.extend(parse_certs(c)?);
        }
        Self::unlock("the private key", key, &all, None)
    }

    /// [`Credentials::load`] for a key file called `name` in errors, unlocked with
    /// `passphrase` when it is encrypted (PKCS#8, legacy PEM, PKCS#12). A PKCS#12 file brings
    /// its certificate and chain, a combined PEM file its `CERTIFICATE` blocks; `certs` (the
    /// `--cert` files) are added to them.
    ///
    /// Fails with [`Error::NeedPassphrase`] or [`Error::WrongPassphrase`] (77) when the key
    /// stays locked, [`Error::Key`] (78) when it is unreadable or no certificate matches.
    pub(crate) fn unlock(
        name: &str,
        key: &[u8],
        certs: &[Certificate],
        passphrase: Option<&Passphrase>,
    ) -> Result<Self> {
        let items = keyfile::read(key);
        let unlocked = keyfile::private_key(name, &items, passphrase)?;
        let key = unlocked.key;
        let mut pool: Vec<X509> = unlocked.leaf.into_iter().chain(unlocked.certs).collect();
        for c in certs {
            pool.push(to_openssl(c)?);
        }
        // One copy of each certificate: a SignedData's certificates are a DER SET OF, which
        // forbids duplicates, and a PKCS#12 chain often repeats what --cert gives.
        let mut seen: Vec<Vec<u8>> = Vec::new();
        pool.retain(|x| {
            let der = x.to_der().unwrap_or_default();
            let new = !seen.contains(&der);
            seen.push(der);
            new
        });
        let Some(i) = pool
            .iter()
            .position(|x| x.public_key().map(|p| p.public_eq(&key)).unwrap_or(false))
        else {
            return Err(Error::Key(format!(
                "{name}: no certificate matches the private key\nhint: give the key's \
                 certificate with --cert (or a PKCS#12 file holding both with --key)"
            )));
        };
        let cert = pool.remove(i);
        Ok(Credentials {
            key,
            cert_x509: from_openssl(&cert)?,
            cert,
            chain: pool.iter().map(from_openssl).collect::<Result<_>>()?,
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

/// Parses a PEM bundle (every `CERTIFICATE` block), one DER certificate, or the certificates of
/// a PKCS#7 bundle (`.p7b`, PEM or DER).
///
/// Fails with [`Error::Key`] when it holds no certificate, naming what it holds instead.
pub fn parse_certs(pem_or_der: &[u8]) -> Result<Vec<Certificate>> {
    let items = keyfile::read(pem_or_der);
    match keyfile::certificates(&items) {
        Some(xs) => xs.iter().map(from_openssl).collect(),
        None => Err(Error::Key(format!(
            "no certificate found: the data is {}",
            keyfile::principal(&items)
        ))),
    }
}

/// One X509 object per distinct certificate and thread: OpenSSL caches a certificate's decoded
/// public key inside the object, and decoding goes through OpenSSL 3's locked decoder registry
/// (OpenSSL 3.0 builds a decoder context for every `d2i_X509`, some 1.1 M instructions), which
/// dominated verifying many messages from the same signers. The key is the exact DER, so a
/// cached object is always the same certificate. Bounded: a batch has few signers; anything
/// beyond is simply decoded again.
mod x509_cache {
    use openssl::x509::X509;
    use std::cell::RefCell;

    const MAX: usize = 64;

    thread_local! {
        static CACHE: RefCell<Vec<(Vec<u8>, X509)>> = const { RefCell::new(Vec::new()) };
    }

    pub(super) fn get(der: &[u8]) -> Option<X509> {
        CACHE.with(|c| {
            c.borrow()
                .iter()
                .find(|(d, _)| d == der)
                .map(|(_, x)| x.clone())
        })
    }

    pub(super) fn put(der: Vec<u8>, x: &X509) {
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            if c.iter().any(|(d, _)| *d == der) {
                return;
            }
            if c.len() >= MAX {
                c.clear();
            }
            c.push((der, x.clone()));
        });
    }
}

pub(crate) fn to_openssl(c: &Certificate) -> Result<X509> {
    let der = c
        .to_der()
        .map_err(|e| Error::Key(format!("bad certificate: {e}")))?;
    if let Some(x) = x509_cache::get(&der) {
        return Ok(x);
    }
    let x = X509::from_der(&der).map_err(|e| Error::Key(format!("bad certificate: {e}")))?;
    x509_cache::put(der, &x);
    Ok(x)
}

/// The certificate of `x`. The OpenSSL object is remembered for [`to_openssl`] under the DER
/// it re-encodes to: an anchor or `--cert` file read once is not decoded a second time when a
/// message is verified against it (a whole d2i_X509 per certificate on every start-up).
pub(crate) fn from_openssl(x: &X509) -> Result<Certificate> {
    let der = x
        .to_der()
        .map_err(|e| Error::Key(format!("bad certificate: {e}")))?;
    let c = Certificate::from_der(&der).map_err(|e| Error::Key(format!("bad certificate: {e}")))?;
    // `to_openssl` looks up `c.to_der()`: the same octets for a DER certificate, and for one
    // that does not re-encode identically the entry is simply never found.
    x509_cache::put(der, x);
    Ok(c)
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

/// What a signer's path may end at: the anchors given (`--ca`, config `trust.ca`) and, when
/// `system` is set, OpenSSL's default store (`X509_STORE_set_default_paths`: the file and the
/// hashed directory under OPENSSLDIR, or `$SSL_CERT_FILE` / `$SSL_CERT_DIR` when set).
#[derive(Debug, Clone, Default)]
pub(crate) struct Anchors {
    pub(crate) certs: Vec<X509>,
    pub(crate) system: bool,
}

/// Validates `leaf` up to one of `anchors` through `intermediates` at time `now`, for S/MIME
/// signing (`sign`) or encryption.
pub(crate) fn check_path(
    leaf: &X509,
    intermediates: &[X509],
    anchors: &Anchors,
    now: i64,
    sign: bool,
) -> PathStatus {
    if anchors.certs.is_empty() && !anchors.system {
        return PathStatus::Untrusted(
            "no trust anchors were given and the system CA store is off".into(),
        );
    }
    // The answer is a function of the certificates, the anchors, the time and the purpose, so
    // it is remembered per thread: a batch from a few signers checks the same path over and
    // over, and each check is two or three RSA signature verifications (about half of a small
    // S/MIME message's verify time). Keyed by the exact DER of every input.
    type Key = (Vec<u8>, Vec<Vec<u8>>, Vec<Vec<u8>>, bool, i64, bool);
    thread_local! {
        static PATHS: std::cell::RefCell<Vec<(Key, PathStatus)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    let ders = |xs: &[X509]| {
        xs.iter()
            .map(|x| x.to_der().ok())
            .collect::<Option<Vec<_>>>()
    };
    let key = match (
        leaf.to_der().ok(),
        ders(intermediates),
        ders(&anchors.certs),
    ) {
        (Some(l), Some(i), Some(a)) => Some((l, i, a, anchors.system, now, sign)),
        _ => None,
    };
    if let Some(k) = &key
        && let Some(status) = PATHS.with(|p| {
            p.borrow()
                .iter()
                .find(|(pk, _)| pk == k)
                .map(|(_, s)| s.clone())
        })
    {
        return status;
    }
    let status = check_path_uncached(leaf, intermediates, anchors, now, sign);
    if let Some(k) = key {
        PATHS.with(|p| {
            let mut p = p.borrow_mut();
            if p.len() >= 256 {
                p.clear();
            }
            p.push((k, status.clone()));
        });
    }
    status
}

fn check_path_uncached(
    leaf: &X509,
    intermediates: &[X509],
    anchors: &Anchors,
    now: i64,
    sign: bool,
) -> PathStatus {
    let run = |system: bool| {
        classify(verify_with_store(
            leaf,
            intermediates,
            &anchors.certs,
            system,
            now,
            sign,
        ))
    };
    // The given anchors first, alone: loading the system store parses every certificate of its
    // bundle (some 15 ms for the ~150 roots of a distribution), which a signer anchored by
    // `--ca` does not need. Only a path that found no anchor there is tried again with the
    // store; an expired or misused certificate on a path to a given anchor is the answer.
    if anchors.system && !anchors.certs.is_empty() {
        match run(false) {
            PathStatus::Untrusted(_) => run(true),
            status => status,
        }
    } else {
        run(anchors.system)
    }
}

fn classify(r: std::result::Result<(bool, i32, String), openssl::error::ErrorStack>) -> PathStatus {
    match r {
        Ok((true, _, _)) => PathStatus::Valid,
        // X509_V_ERR_CERT_NOT_YET_VALID 9, _HAS_EXPIRED 10, CRL dates 11/12 not used.
        Ok((false, 9 | 10, why)) => PathStatus::Expired(why),
        // X509_V_ERR_INVALID_PURPOSE 26, _KEYUSAGE_NO_CERTSIGN 32.
        Ok((false, 26, why)) => PathStatus::Usage(why),
        Ok((false, _, why)) => PathStatus::Untrusted(why),
        Err(e) => PathStatus::Untrusted(e.to_string()),
    }
}

/// `X509_verify_cert` of `leaf` against a store of `certs` (plus OpenSSL's default paths when
/// `system`): (verified, error code, error text).
fn verify_with_store(
    leaf: &X509,
    intermediates: &[X509],
    certs: &[X509],
    system: bool,
    now: i64,
    sign: bool,
) -> std::result::Result<(bool, i32, String), openssl::error::ErrorStack> {
    // Stores are kept per thread and per (anchors, system store, time, purpose), a few at a
    // time: a batch verifies thousands of messages against the same one or two.
    type Key = (Vec<Vec<u8>>, bool, i64, bool);
    thread_local! {
        static STORES: std::cell::RefCell<Vec<(Key, X509Store)>> =
            const { std::cell::RefCell::new(Vec::new()) };
    }
    let ders = certs
        .iter()
        .map(|a| a.to_der())
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let key: Key = (ders, system, now, sign);
    STORES.with(|cell| {
        let mut stores = cell.borrow_mut();
        let i = match stores.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                let mut store = X509StoreBuilder::new()?;
                if system {
                    store.set_default_paths()?;
                }
                for a in certs {
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
                if stores.len() >= 4 {
                    stores.remove(0);
                }
                stores.push((key, store.build()));
                stores.len() - 1
            }
        };
        let mut chain = Stack::new()?;
        for c in intermediates {
            chain.push(c.clone())?;
        }
        let mut ctx = X509StoreContext::new()?;
        ctx.init(&stores[i].1, leaf, &chain, |c| {
            let ok = c.verify_cert()?;
            let err = c.error();
            Ok((ok, err.as_raw(), err.error_string().to_owned()))
        })
    })
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
