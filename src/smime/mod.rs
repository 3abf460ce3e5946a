//! S/MIME 4.0 (RFC 8551) on CMS (RFC 5652): sign, encrypt, verify and decrypt whole RFC 5322
//! messages, with RFC 9788 header protection, RFC 7508 SecureHeaderFields and RFC 2634 ESS
//! security labels (spec Part C).
//!
//! CMS structures come from RustCrypto's `cms`/`x509-cert`; every private-key operation (RSA
//! sign/decrypt, ECDSA sign, ECDH) and every public-key verification runs in OpenSSL, never in
//! the `rsa` crate (RUSTSEC-2023-0071). Verification takes the signed bytes from the raw input
//! buffer and hashes them in place, canonicalizing LF to CRLF on the fly (design.md §7).
//!
//! Opaque signed-data and enveloped/authEnveloped data are opened in one pass over a reader
//! ([`open_stream`], issue 13): a streaming BER reader (`ber`) walks the structure, the small
//! parts are buffered under caps and the content is deciphered or hashed piece by piece on its
//! way out. [`open`] and [`verify_opaque`] are that walk over a DER buffer, so the recipient,
//! cipher and signer rules exist once (`decrypt::content_key`, `decrypt::ContentDecrypter`,
//! `verify::check_signers`).
//!
//! This is the S/MIME backend of the secure-message engine ([`crate::secure`]): it answers
//! questions about CMS bytes only; the finding codes are in [`crate::secure::codes`].

mod asn1;
mod ber;
mod certs;
mod decrypt;
mod encrypt;
pub(crate) mod keyfile;
mod label;
mod seal;
mod sign;
mod stream_open;
mod verify;

pub(crate) use certs::from_openssl;
pub use certs::{Credentials, parse_certs};
pub use decrypt::{Opened, open};
pub(crate) use encrypt::encrypt_with;
pub use encrypt::{EncryptOptions, encrypt, recipient_addresses};
pub use keyfile::FileKind;
pub use label::{EssLabel, HeaderStatus, SecureHeaders};
pub(crate) use sign::sign_with;
pub use sign::{SignOptions, sign};
pub use stream_open::{StreamError, Streamed, open_stream};
pub use verify::{CmsKind, Trust, cms_kind, read_cms, verify_detached, verify_opaque};
pub use x509_cert::Certificate;

use openssl::hash::MessageDigest;

/// A message digest for signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Digest {
    /// SHA-256 (`micalg=sha-256`).
    Sha256,
    /// SHA-384 (`micalg=sha-384`).
    Sha384,
    /// SHA-512 (`micalg=sha-512`).
    Sha512,
}

impl Digest {
    /// The RFC 8551 §3.5.3.2 `micalg` name.
    pub fn micalg(self) -> &'static str {
        match self {
            Digest::Sha256 => "sha-256",
            Digest::Sha384 => "sha-384",
            Digest::Sha512 => "sha-512",
        }
    }

    pub(crate) fn oid(self) -> &'static str {
        match self {
            Digest::Sha256 => OID_SHA256,
            Digest::Sha384 => OID_SHA384,
            Digest::Sha512 => OID_SHA512,
        }
    }

    pub(crate) fn md(self) -> MessageDigest {
        match self {
            Digest::Sha256 => MessageDigest::sha256(),
            Digest::Sha384 => MessageDigest::sha384(),
            Digest::Sha512 => MessageDigest::sha512(),
        }
    }

    pub(crate) fn len(self) -> usize {
        match self {
            Digest::Sha256 => 32,
            Digest::Sha384 => 48,
            Digest::Sha512 => 64,
        }
    }
}

/// A content-encryption algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cipher {
    /// AES-128-CBC, enveloped-data.
    Aes128Cbc,
    /// AES-256-CBC, enveloped-data.
    Aes256Cbc,
    /// AES-128-GCM, authEnveloped-data (RFC 5083/5084).
    Aes128Gcm,
    /// AES-256-GCM, authEnveloped-data (RFC 5083/5084).
    Aes256Gcm,
}

impl Cipher {
    /// The report name (`aes256-gcm`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Cipher::Aes128Cbc => "aes128-cbc",
            Cipher::Aes256Cbc => "aes256-cbc",
            Cipher::Aes128Gcm => "aes128-gcm",
            Cipher::Aes256Gcm => "aes256-gcm",
        }
    }
}

// Algorithm identifiers (RFC 5754, RFC 3565, RFC 5084, RFC 4055, RFC 5753, RFC 5480).
pub(crate) const OID_MD5: &str = "1.2.840.113549.2.5";
pub(crate) const OID_SHA1: &str = "1.3.14.3.2.26";
pub(crate) const OID_SHA224: &str = "2.16.840.1.101.3.4.2.4";
pub(crate) const OID_SHA256: &str = "2.16.840.1.101.3.4.2.1";
pub(crate) const OID_SHA384: &str = "2.16.840.1.101.3.4.2.2";
pub(crate) const OID_SHA512: &str = "2.16.840.1.101.3.4.2.3";
pub(crate) const OID_RSA: &str = "1.2.840.113549.1.1.1";
pub(crate) const OID_RSA_OAEP: &str = "1.2.840.113549.1.1.7";
pub(crate) const OID_MGF1: &str = "1.2.840.113549.1.1.8";
pub(crate) const OID_RSA_PSS: &str = "1.2.840.113549.1.1.10";
pub(crate) const OID_EC_PUBLIC_KEY: &str = "1.2.840.10045.2.1";
pub(crate) const OID_DATA: &str = "1.2.840.113549.1.7.1";
pub(crate) const OID_SIGNED_DATA: &str = "1.2.840.113549.1.7.2";
pub(crate) const OID_ENVELOPED_DATA: &str = "1.2.840.113549.1.7.3";
pub(crate) const OID_AUTH_ENVELOPED_DATA: &str = "1.2.840.113549.1.9.16.1.23";
pub(crate) const OID_CONTENT_TYPE: &str = "1.2.840.113549.1.9.3";
pub(crate) const OID_MESSAGE_DIGEST: &str = "1.2.840.113549.1.9.4";
pub(crate) const OID_SIGNING_TIME: &str = "1.2.840.113549.1.9.5";
pub(crate) const OID_AES128_CBC: &str = "2.16.840.1.101.3.4.1.2";
pub(crate) const OID_AES192_CBC: &str = "2.16.840.1.101.3.4.1.22";
pub(crate) const OID_AES256_CBC: &str = "2.16.840.1.101.3.4.1.42";
pub(crate) const OID_AES128_GCM: &str = "2.16.840.1.101.3.4.1.6";
pub(crate) const OID_AES192_GCM: &str = "2.16.840.1.101.3.4.1.26";
pub(crate) const OID_AES256_GCM: &str = "2.16.840.1.101.3.4.1.46";
pub(crate) const OID_DES_EDE3_CBC: &str = "1.2.840.113549.3.7";
pub(crate) const OID_DES_CBC: &str = "1.3.14.3.2.7";
pub(crate) const OID_RC2_CBC: &str = "1.2.840.113549.3.2";

/// The digest named by an OID, and whether it is weak (design.md §3.2 defaults).
pub(crate) fn digest_by_oid(oid: &str) -> Option<(MessageDigest, &'static str, bool)> {
    Some(match oid {
        OID_SHA256 => (MessageDigest::sha256(), "sha256", false),
        OID_SHA384 => (MessageDigest::sha384(), "sha384", false),
        OID_SHA512 => (MessageDigest::sha512(), "sha512", false),
        OID_SHA224 => (MessageDigest::sha224(), "sha224", false),
        OID_SHA1 => (MessageDigest::sha1(), "sha1", true),
        OID_MD5 => (MessageDigest::md5(), "md5", true),
        _ => return None,
    })
}

pub(crate) fn oid(s: &str) -> der::oid::ObjectIdentifier {
    // Only called with the constants above, all valid.
    der::oid::ObjectIdentifier::new_unwrap(s)
}

/// `application/pkcs7-*` or the legacy `application/x-pkcs7-*` (RFC 8551 §3.2.1).
pub(crate) fn is_pkcs7(mime: &str, sub: &str) -> bool {
    mime == format!("application/pkcs7-{sub}") || mime == format!("application/x-pkcs7-{sub}")
}
