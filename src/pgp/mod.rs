//! OpenPGP: PGP/MIME (RFC 3156) signing, encryption, verification and decryption with Sequoia,
//! RFC 9788 header protection, and reading inline (cleartext-signed) PGP.
//!
//! - [`sign`]: a whole RFC 5322 message → `multipart/signed`; the first part is the canonical
//!   (CRLF, 7-bit) payload, carrying copies of the header fields and `hp="clear"` unless header
//!   protection is off.
//! - [`encrypt`]: → `multipart/encrypted`, signed inside (nested `multipart/signed`, RFC 3156
//!   §6.1) or in the same OpenPGP message (combined, §6.2); payload with `hp="cipher"`,
//!   `HP-Outer` and the `hcp_baseline` confidentiality policy (Subject → `[...]`).
//! - [`verify`]: any of these, as well as gpg's and sq's output, inline PGP included → statuses
//!   and findings for the report (design.md §5). Crypto problems are statuses, never errors.
//! - [`decrypt`]: → the plaintext message, or an error and no output at all.
//!
//! Times are unix seconds given by the caller (style.md §2: no hidden clock).

mod decrypt;
mod encrypt;
mod keys;
mod mime;
mod policy;
mod sign;
mod verify;

pub use decrypt::decrypt;
pub use encrypt::{EncryptOptions, encrypt};
pub use keys::load_keys;
pub use sequoia_openpgp::types::HashAlgorithm;
pub use sign::{SignOptions, sign};
pub use verify::{Verification, VerifyOptions, verify};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Unix seconds → `SystemTime` (negative values clamp to the epoch).
pub(crate) fn system_time(now: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(now.max(0) as u64)
}

/// Finding codes this module emits (stable; documented in the README).
pub mod codes {
    /// The signature does not match the signed content, or is malformed.
    pub const SIGNATURE_INVALID: &str = "signature-invalid";
    /// The signer is not in the keyring.
    pub const SIGNATURE_UNTRUSTED: &str = "signature-untrusted";
    /// The signature itself has expired, or was made after the verification time.
    pub const SIGNATURE_EXPIRED: &str = "signature-expired";
    /// The signing key or certificate had expired at the verification time.
    pub const KEY_EXPIRED: &str = "key-expired";
    /// The signing key or certificate was revoked at the verification time.
    pub const KEY_REVOKED: &str = "key-revoked";
    /// The signing key is not valid (no binding, not signing-capable) at the verification time.
    pub const KEY_INVALID: &str = "key-invalid";
    /// SHA-1/MD5, RSA < 2048 bits, or anything Sequoia's StandardPolicy rejects.
    pub const WEAK_ALGORITHM: &str = "weak-algorithm";
    /// No User ID of the signer carries the From address.
    pub const SIGNER_MISMATCH: &str = "signer-mismatch";
    /// A `multipart/signed` lost its signature part.
    pub const SIGNATURE_REMOVED: &str = "signature-removed";
    /// A signed part stands beside unsigned parts: not a signed message.
    pub const PARTIALLY_SIGNED: &str = "partially-signed";
    /// `micalg` names another hash than the signature used (warning).
    pub const MICALG_MISMATCH: &str = "micalg-mismatch";
    /// An outer header field differs from its protected copy (RFC 9788).
    pub const PROTECTED_HEADER_MISMATCH: &str = "protected-header-mismatch";
    /// An outer header field has no protected copy although the message uses header protection (warning).
    pub const UNPROTECTED_HEADER: &str = "unprotected-header";
    /// A protected header field is missing outside (warning, signed-only messages).
    pub const PROTECTED_HEADER_MISSING: &str = "protected-header-missing";
    /// The message could not be decrypted (no key, or integrity failure).
    pub const DECRYPTION_FAILED: &str = "decryption-failed";
    /// Inline PGP: the signature covers the body text only, no header field (warning).
    pub const INLINE_PGP: &str = "inline-pgp";
}

/// Maps a Sequoia error to [`crate::Error::Crypto`] with some context.
pub(crate) fn crypto<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> crate::Error {
    move |e| crate::Error::Crypto(format!("{what}: {e}"))
}
