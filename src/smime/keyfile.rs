//! What an X.509-world key or certificate file holds, told from its content, and unlocking the
//! private keys in it (encrypted PKCS#8, legacy encrypted PEM, PKCS#12).
//!
//! Every file is sorted *before* OpenSSL decodes it: PEM blocks by their label, DER by the
//! shape of its outer ASN.1 structure. Two reasons. An encrypted key must never reach an
//! OpenSSL reader without an explicit passphrase, because OpenSSL's PEM readers then fall back
//! to their default callback, which prompts on `/dev/tty` (the library never prompts,
//! style.md §1). And a file given to the wrong flag should be named for what it is (a
//! certificate given as `--key`, a PKCS#12 given as `--ca`), not answered with an ASN.1
//! error stack.

use std::sync::OnceLock;

use base64::Engine;
use openssl::error::ErrorStack;
use openssl::pkcs7::Pkcs7;
use openssl::pkcs12::Pkcs12;
use openssl::pkey::{PKey, Private};
use openssl::provider::Provider;
use openssl::x509::X509;

use super::asn1;
use crate::secure::Passphrase;
use crate::{Error, Result};

/// What a key or certificate file (or one PEM block of it) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A PKCS#12 (`.p12`/`.pfx`) file: private key, certificate and chain.
    Pkcs12,
    /// An X.509 certificate.
    Certificate,
    /// A bare public key (SubjectPublicKeyInfo or PKCS#1 RSAPublicKey).
    PublicKey,
    /// An unencrypted private key (PKCS#8, PKCS#1 or SEC1).
    PrivateKey,
    /// A passphrase-protected private key (encrypted PKCS#8 or legacy encrypted PEM).
    EncryptedPrivateKey,
    /// A PKCS#10 certificate signing request.
    Csr,
    /// A PKCS#7/CMS structure (a `.p7b` certificate bundle or a signed message).
    Pkcs7,
    /// A certificate revocation list.
    Crl,
    /// An OpenSSH private key.
    OpenSshKey,
    /// An OpenPGP certificate with no secret key material.
    PgpCert,
    /// An OpenPGP secret key (TSK).
    PgpSecret,
    /// Nothing we recognise.
    Unknown,
}

impl std::fmt::Display for FileKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            FileKind::Pkcs12 => "a PKCS#12 file (private key and certificate)",
            FileKind::Certificate => "an X.509 certificate",
            FileKind::PublicKey => "a public key",
            FileKind::PrivateKey => "a private key",
            FileKind::EncryptedPrivateKey => "an encrypted private key",
            FileKind::Csr => "a certificate signing request (CSR)",
            FileKind::Pkcs7 => "a PKCS#7/CMS structure",
            FileKind::Crl => "a certificate revocation list",
            FileKind::OpenSshKey => "an OpenSSH private key",
            FileKind::PgpCert => "an OpenPGP certificate without secret key material",
            FileKind::PgpSecret => "an OpenPGP secret key",
            FileKind::Unknown => "unrecognised content",
        })
    }
}

/// One object of a file: a PEM block, or the whole of a DER file.
#[derive(Clone)]
pub(crate) struct Item {
    pub kind: FileKind,
    /// The DER bytes (a PEM block's decoded body).
    pub der: Vec<u8>,
    /// The PEM block's text, kept for legacy encrypted PEM (`Proc-Type: 4,ENCRYPTED`), whose
    /// decryption needs its `DEK-Info` header.
    pub pem: Option<Vec<u8>>,
}

/// Sorts the objects in `data`: every PEM block when it is PEM, else the one DER structure.
/// Never empty: unrecognised content is one [`FileKind::Unknown`] item.
pub(crate) fn read(data: &[u8]) -> Vec<Item> {
    let items = if contains(data, b"-----BEGIN ") {
        pem_blocks(data)
    } else {
        vec![Item {
            kind: sniff_der(data),
            der: data.to_vec(),
            pem: None,
        }]
    };
    if items.is_empty() {
        vec![Item {
            kind: FileKind::Unknown,
            der: Vec::new(),
            pem: None,
        }]
    } else {
        items
    }
}

/// The kind a file as a whole is named by in errors: its private key or PKCS#12 when it has
/// one, else its first recognised object.
pub(crate) fn principal(items: &[Item]) -> FileKind {
    let has = |k: FileKind| items.iter().any(|i| i.kind == k);
    [
        FileKind::Pkcs12,
        FileKind::EncryptedPrivateKey,
        FileKind::PrivateKey,
    ]
    .into_iter()
    .find(|k| has(*k))
    .or_else(|| {
        items
            .iter()
            .map(|i| i.kind)
            .find(|k| *k != FileKind::Unknown)
    })
    .unwrap_or(FileKind::Unknown)
}

/// The certificates among `items`: PEM `CERTIFICATE` blocks, a DER certificate, and the
/// certificates of a PKCS#7 bundle. `None` when the file holds none.
pub(crate) fn certificates(items: &[Item]) -> Option<Vec<X509>> {
    let mut out = Vec::new();
    for i in items {
        match i.kind {
            FileKind::Certificate => out.push(X509::from_der(&i.der).ok()?),
            FileKind::Pkcs7 => {
                let p7 = Pkcs7::from_der(&i.der).ok()?;
                let certs = p7.signed().and_then(|s| s.certificates());
                out.extend(certs.into_iter().flatten().map(|c| c.to_owned()));
            }
            _ => {}
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A private key read from a file: the key, and the certificates that came with it (a
/// PKCS#12's certificate and chain, or the `CERTIFICATE` blocks of a combined PEM file).
pub(crate) struct Unlocked {
    pub key: PKey<Private>,
    /// The certificate a PKCS#12 file names as the key's own.
    pub leaf: Option<X509>,
    pub certs: Vec<X509>,
}

/// Reads the one private key of a file (`name` is how errors call it), unlocking it with
/// `passphrase` when it is encrypted.
///
/// Fails with [`Error::NeedPassphrase`] when it is encrypted and no passphrase was given,
/// [`Error::WrongPassphrase`] when the passphrase does not unlock it, and [`Error::Key`] when
/// the file holds no private key, several, or a damaged one.
pub(crate) fn private_key(
    name: &str,
    items: &[Item],
    passphrase: Option<&Passphrase>,
) -> Result<Unlocked> {
    // OpenSSL takes passphrases as C strings (the openssl crate would panic on a NUL).
    let needs = items
        .iter()
        .any(|i| matches!(i.kind, FileKind::Pkcs12 | FileKind::EncryptedPrivateKey));
    if needs && passphrase.is_some_and(|p| p.as_str().contains('\0')) {
        return Err(Error::Key(format!(
            "{name}: the passphrase contains a NUL character, which OpenSSL cannot take"
        )));
    }
    if let Some(p12) = items.iter().find(|i| i.kind == FileKind::Pkcs12) {
        return pkcs12(name, &p12.der, passphrase);
    }
    let keys: Vec<&Item> = items
        .iter()
        .filter(|i| matches!(i.kind, FileKind::PrivateKey | FileKind::EncryptedPrivateKey))
        .collect();
    let item = match keys.as_slice() {
        [one] => *one,
        [] => {
            return Err(Error::Key(format!(
                "{name}: {}, not a private key",
                principal(items)
            )));
        }
        more => {
            return Err(Error::Key(format!(
                "{name}: holds {} private keys; give one key per --key",
                more.len()
            )));
        }
    };
    let key = if item.kind == FileKind::PrivateKey {
        plain_key(&item.der)
            .map_err(|e| Error::Key(format!("{name}: cannot read the private key: {}", why(&e))))?
    } else {
        let Some(pass) = passphrase else {
            return Err(Error::NeedPassphrase(name.to_owned()));
        };
        encrypted_key(name, item, pass)?
    };
    let certs = certificates(items).unwrap_or_default();
    Ok(Unlocked {
        key,
        leaf: None,
        certs,
    })
}

/// An unencrypted PKCS#8, PKCS#1 or SEC1 key in DER. OpenSSL 3's "auto" DER reader takes all
/// three; PKCS#8 is tried on its own as well for keys of types the auto reader guesses wrong.
fn plain_key(der: &[u8]) -> std::result::Result<PKey<Private>, ErrorStack> {
    PKey::private_key_from_der(der).or_else(|_| PKey::private_key_from_pkcs8(der))
}

/// Decrypts an encrypted PKCS#8 key (PBES2 with AES, PBES1 such as PBE-SHA1-3DES) or a legacy
/// encrypted PEM key. A cipher only OpenSSL 3's legacy provider has (RC2, DES, RC4 PBEs) is
/// retried with that provider loaded.
fn encrypted_key(name: &str, item: &Item, pass: &Passphrase) -> Result<PKey<Private>> {
    let attempt = || match &item.pem {
        Some(pem) => PKey::private_key_from_pem_passphrase(pem, pass.as_str().as_bytes()),
        None => PKey::private_key_from_pkcs8_passphrase(&item.der, pass.as_str().as_bytes()),
    };
    let first = match attempt() {
        Ok(k) => return Ok(k),
        Err(e) => e,
    };
    let err = if legacy_provider() {
        match attempt() {
            Ok(k) => return Ok(k),
            Err(e) => e,
        }
    } else {
        first
    };
    if unsupported(&err) {
        return Err(Error::Key(format!(
            "{name}: the key is encrypted with a cipher this OpenSSL cannot use: {}\nhint: \
             re-encrypt it with 'openssl pkcs8 -topk8 -v2 aes-256-cbc'",
            why(&err)
        )));
    }
    // No integrity check tells a wrong passphrase from damage: a failed decryption (bad
    // padding) or a decrypted blob that is not a key is, in practice, a wrong passphrase.
    Err(Error::WrongPassphrase(name.to_owned()))
}

/// Reads a PKCS#12 file. One without a passphrase given is tried with the empty password
/// (exports made with `-passout pass:`), which OpenSSL also tries as "no password".
fn pkcs12(name: &str, der: &[u8], passphrase: Option<&Passphrase>) -> Result<Unlocked> {
    let p12 = Pkcs12::from_der(der)
        .map_err(|e| Error::Key(format!("{name}: cannot read the PKCS#12 file: {}", why(&e))))?;
    let pass = passphrase.map(Passphrase::as_str).unwrap_or("");
    let locked = || match passphrase {
        None => Error::NeedPassphrase(name.to_owned()),
        Some(_) => Error::WrongPassphrase(name.to_owned()),
    };
    // The MAC is checked first, with the default provider: its failure is a wrong
    // passphrase. A failure after it is a cipher of the bags: legacy exports (`-legacy`,
    // Windows, older OpenSSL) use RC2-40 or 3DES, RC2 being in the legacy provider only.
    let parsed = match p12.parse2(pass) {
        Ok(p) => p,
        Err(e) if mac_failure(&e) => return Err(locked()),
        Err(e) => {
            if !legacy_provider() {
                return Err(Error::Key(format!(
                    "{name}: cannot read the PKCS#12 file: {} (OpenSSL's legacy provider, \
                     needed for RC2/3DES exports, is not available)",
                    why(&e)
                )));
            }
            match p12.parse2(pass) {
                Ok(p) => p,
                Err(e) if mac_failure(&e) || !unsupported(&e) => return Err(locked()),
                Err(e) => {
                    return Err(Error::Key(format!(
                        "{name}: cannot read the PKCS#12 file: {}",
                        why(&e)
                    )));
                }
            }
        }
    };
    let Some(key) = parsed.pkey else {
        return Err(Error::Key(format!(
            "{name}: the PKCS#12 file holds no private key\nhint: give a PKCS#12 file with its \
             key, or the certificates with --cert"
        )));
    };
    Ok(Unlocked {
        key,
        leaf: parsed.cert,
        certs: parsed.ca.into_iter().flatten().collect(),
    })
}

/// Loads OpenSSL 3's legacy provider once, keeping the default one (`retain_fallbacks`), and
/// keeps it loaded for the life of the process. False when it cannot be loaded.
fn legacy_provider() -> bool {
    static LEGACY: OnceLock<Option<Provider>> = OnceLock::new();
    LEGACY
        .get_or_init(|| Provider::try_load(None, "legacy", true).ok())
        .is_some()
}

fn reasons(e: &ErrorStack) -> impl Iterator<Item = &str> {
    e.errors().iter().filter_map(|x| x.reason())
}

fn mac_failure(e: &ErrorStack) -> bool {
    reasons(e).any(|r| r.contains("mac verify failure"))
}

fn unsupported(e: &ErrorStack) -> bool {
    reasons(e).any(|r| r.contains("unsupported"))
}

/// One short reason from an OpenSSL error stack, never the whole stack (one error line).
pub(crate) fn why(e: &ErrorStack) -> String {
    reasons(e)
        .next()
        .map(str::to_owned)
        .unwrap_or_else(|| "malformed".to_owned())
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// Every `-----BEGIN X-----` ... `-----END X-----` block, decoded. RFC 7468 text with RFC 1421
/// headers (`Proc-Type`, `DEK-Info`) allowed before the base64 body.
fn pem_blocks(data: &[u8]) -> Vec<Item> {
    let text = String::from_utf8_lossy(data);
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        let line = line.trim();
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut raw = format!("{line}\n");
        let (mut body, mut encrypted, mut closed) = (String::new(), false, false);
        for l in lines.by_ref() {
            let l = l.trim();
            raw.push_str(l);
            raw.push('\n');
            if l == end {
                closed = true;
                break;
            }
            if l.contains(':') {
                encrypted |= l.starts_with("Proc-Type:") && l.contains("ENCRYPTED");
                continue;
            }
            body.push_str(l);
        }
        let der = base64::engine::general_purpose::STANDARD.decode(body.as_bytes());
        let (kind, der) = match der {
            Ok(d) if closed => (pem_kind(label, encrypted), d),
            _ => (FileKind::Unknown, Vec::new()),
        };
        let pem = (kind == FileKind::EncryptedPrivateKey && encrypted).then(|| raw.into_bytes());
        out.push(Item { kind, der, pem });
    }
    out
}

fn pem_kind(label: &str, encrypted: bool) -> FileKind {
    match label {
        "CERTIFICATE" | "X509 CERTIFICATE" | "TRUSTED CERTIFICATE" => FileKind::Certificate,
        "PRIVATE KEY" => FileKind::PrivateKey,
        "ENCRYPTED PRIVATE KEY" => FileKind::EncryptedPrivateKey,
        "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "DSA PRIVATE KEY" if encrypted => {
            FileKind::EncryptedPrivateKey
        }
        "RSA PRIVATE KEY" | "EC PRIVATE KEY" | "DSA PRIVATE KEY" => FileKind::PrivateKey,
        "PUBLIC KEY" | "RSA PUBLIC KEY" => FileKind::PublicKey,
        "CERTIFICATE REQUEST" | "NEW CERTIFICATE REQUEST" => FileKind::Csr,
        "PKCS7" | "CMS" => FileKind::Pkcs7,
        "X509 CRL" => FileKind::Crl,
        "OPENSSH PRIVATE KEY" => FileKind::OpenSshKey,
        "PKCS12" => FileKind::Pkcs12,
        l if l.starts_with("PGP ") => FileKind::PgpCert,
        _ => FileKind::Unknown,
    }
}

/// The kind of a DER structure, from the tags of its outer SEQUENCE (RFC 5280, 5208/5958,
/// 7292, 2986, 5652, 8017, SEC1).
fn sniff_der(data: &[u8]) -> FileKind {
    use asn1::{INTEGER, OCTET_STRING, OID, SEQUENCE};
    const BIT_STRING: u8 = 0x03;
    const CONTEXT_0: u8 = 0xa0;
    let Some((top, rest)) = asn1::read(data) else {
        return FileKind::Unknown;
    };
    // Trailing bytes are tolerated only as a line ending (a DER file fed through a text tool).
    if top.tag != SEQUENCE || rest.iter().any(|b| !b.is_ascii_whitespace()) {
        return FileKind::Unknown;
    }
    let Some(c) = asn1::children(top.content) else {
        return FileKind::Unknown;
    };
    let tags: Vec<u8> = c.iter().map(|t| t.tag).collect();
    let small_int = |t: &asn1::Tlv<'_>, v: u8| t.tag == INTEGER && t.content == [v];
    match tags.as_slice() {
        // PFX: version 3, authSafe ContentInfo, optional MacData.
        [INTEGER, SEQUENCE, ..] if small_int(&c[0], 3) => FileKind::Pkcs12,
        // EncryptedPrivateKeyInfo: algorithm, encrypted data.
        [SEQUENCE, OCTET_STRING] => FileKind::EncryptedPrivateKey,
        // SubjectPublicKeyInfo: algorithm, key bits.
        [SEQUENCE, BIT_STRING] => FileKind::PublicKey,
        // RSAPublicKey: modulus, exponent.
        [INTEGER, INTEGER] => FileKind::PublicKey,
        // PrivateKeyInfo / OneAsymmetricKey: version 0|1, algorithm, key.
        [INTEGER, SEQUENCE, OCTET_STRING, ..] => FileKind::PrivateKey,
        // RSAPrivateKey (version, n, e, d, p, q, ...) or DSA (version, p, q, g, y, x).
        [INTEGER, INTEGER, INTEGER, INTEGER, INTEGER, INTEGER, ..] if small_int(&c[0], 0) => {
            FileKind::PrivateKey
        }
        // ECPrivateKey: version 1, private key, [0] parameters, [1] public key.
        [INTEGER, OCTET_STRING, ..] if small_int(&c[0], 1) => FileKind::PrivateKey,
        // ContentInfo: content type, [0] content.
        [OID, CONTEXT_0] => FileKind::Pkcs7,
        // Certificate, CertificationRequest and CertificateList all are (tbs, alg, signature).
        [SEQUENCE, SEQUENCE, BIT_STRING] => signed_kind(c[0].content),
        _ => FileKind::Unknown,
    }
}

/// Tells a certificate's TBSCertificate from a CSR's CertificationRequestInfo and a CRL's
/// TBSCertList.
fn signed_kind(tbs: &[u8]) -> FileKind {
    use asn1::{INTEGER, SEQUENCE};
    const UTC_TIME: u8 = 0x17;
    const GENERALIZED_TIME: u8 = 0x18;
    let Some(c) = asn1::children(tbs) else {
        return FileKind::Unknown;
    };
    let tags: Vec<u8> = c.iter().map(|t| t.tag).collect();
    match tags.as_slice() {
        // version [0] EXPLICIT (v2/v3 certificates).
        [0xa0, INTEGER, SEQUENCE, ..] => FileKind::Certificate,
        // CSR: version 0, subject, subjectPKInfo, [0] attributes.
        [INTEGER, SEQUENCE, SEQUENCE, 0xa0, ..] => FileKind::Csr,
        // CRL: [version,] signature, issuer, thisUpdate.
        [INTEGER, SEQUENCE, SEQUENCE, UTC_TIME | GENERALIZED_TIME, ..]
        | [SEQUENCE, SEQUENCE, UTC_TIME | GENERALIZED_TIME, ..] => FileKind::Crl,
        // v1 certificate: serial, signature, issuer, validity, subject, subjectPublicKeyInfo.
        [
            INTEGER,
            SEQUENCE,
            SEQUENCE,
            SEQUENCE,
            SEQUENCE,
            SEQUENCE,
            ..,
        ] => FileKind::Certificate,
        _ => FileKind::Unknown,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key_file(name: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/testdata/keys/smime/{name}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    fn der_of(name: &str) -> Vec<u8> {
        read(&key_file(name)).remove(0).der
    }

    #[test]
    fn sorts_pem_and_der_by_content() {
        assert_eq!(read(&key_file("alice.crt"))[0].kind, FileKind::Certificate);
        assert_eq!(read(&key_file("alice.key"))[0].kind, FileKind::PrivateKey);
        assert_eq!(read(&key_file("carol.key"))[0].kind, FileKind::PrivateKey);
        assert_eq!(read(&key_file("alice.p12"))[0].kind, FileKind::Pkcs12);
        assert_eq!(sniff_der(&der_of("alice.crt")), FileKind::Certificate);
        assert_eq!(sniff_der(&der_of("alice.key")), FileKind::PrivateKey);
        assert_eq!(sniff_der(&der_of("carol.key")), FileKind::PrivateKey);
        let chain = read(&key_file("alice.chain.pem"));
        assert_eq!(chain.len(), 2);
        assert_eq!(certificates(&chain).unwrap().len(), 2);
        assert_eq!(principal(&read(b"garbage")), FileKind::Unknown);
        assert_eq!(principal(&read(b"")), FileKind::Unknown);
        assert_eq!(
            principal(&read(
                b"-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n"
            )),
            FileKind::Unknown
        );
    }

    #[test]
    fn public_keys_requests_and_encrypted_keys_are_named() {
        let key = plain_key(&der_of("alice.key")).unwrap();
        let spki = key.public_key_to_der().unwrap();
        assert_eq!(sniff_der(&spki), FileKind::PublicKey);
        let pem = key.public_key_to_pem().unwrap();
        assert_eq!(read(&pem)[0].kind, FileKind::PublicKey);
        let enc = key
            .private_key_to_pem_pkcs8_passphrase(
                openssl::symm::Cipher::aes_256_cbc(),
                b"correct horse",
            )
            .unwrap();
        let items = read(&enc);
        assert_eq!(items[0].kind, FileKind::EncryptedPrivateKey);
        assert_eq!(sniff_der(&items[0].der), FileKind::EncryptedPrivateKey);
        assert!(matches!(
            private_key("k", &items, None),
            Err(Error::NeedPassphrase(n)) if n == "k"
        ));
        assert!(matches!(
            private_key("k", &items, Some(&Passphrase::new("wrong"))),
            Err(Error::WrongPassphrase(_))
        ));
        let ok = private_key("k", &items, Some(&Passphrase::new("correct horse"))).unwrap();
        assert!(ok.key.public_eq(&key));
        let mut req = openssl::x509::X509ReqBuilder::new().unwrap();
        req.set_pubkey(&key).unwrap();
        req.sign(&key, openssl::hash::MessageDigest::sha256())
            .unwrap();
        let req = req.build();
        assert_eq!(sniff_der(&req.to_der().unwrap()), FileKind::Csr);
        assert_eq!(read(&req.to_pem().unwrap())[0].kind, FileKind::Csr);
    }

    #[test]
    fn committed_pkcs12_opens_with_its_password() {
        let items = read(&key_file("alice.p12"));
        assert!(matches!(
            private_key("alice.p12", &items, None),
            Err(Error::NeedPassphrase(_))
        ));
        assert!(matches!(
            private_key("alice.p12", &items, Some(&Passphrase::new("nope"))),
            Err(Error::WrongPassphrase(_))
        ));
        let u = private_key("alice.p12", &items, Some(&Passphrase::new("test"))).unwrap();
        assert!(u.leaf.is_some());
    }
}
