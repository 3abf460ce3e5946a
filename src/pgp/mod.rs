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
//!
//! # Decisions
//!
//! - Statuses: `valid`; `weak` (SHA-1/MD5/RIPEMD-160, RSA/DSA/ElGamal < 2048 bits, or anything
//!   Sequoia's StandardPolicy rejects at `now`); `expired` (key, certificate or signature expired
//!   at `now`); `untrusted` (signer not in the keyring); `invalid` (bad or malformed signature,
//!   revoked or unbound key, signature part removed); `absent`. Several signatures: the best
//!   decides, worse ones add warnings. Revocation and expiry are judged at `now`, not at signing
//!   time, as the issue asks.
//! - Header protection (RFC 9788 §4): an outer field that differs from its protected copy is an
//!   error (`protected-header-mismatch`) unless, for `hp="cipher"`, an `HP-Outer` record says it
//!   was sent that way. An outer field with no protected copy is a *warning*
//!   (`unprotected-header`), except trace fields relays add (Received, Return-Path, DKIM-Signature,
//!   ARC-*, Authentication-Results, ...), which give no finding. Without header protection no
//!   outer field is covered, `protected_headers` is empty, and no finding is raised: whether
//!   protected fields were required is for the profile layer to decide.
//! - Signer vs From: the protected From when there is one, else the outer From (or
//!   [`VerifyOptions::from`]); no User ID e-mail equal to it is an error (`signer-mismatch`).
//! - A `multipart/signed` with more than two parts, a PGP-protected part inside a
//!   `multipart/mixed` (or alike), or text around an inline signed block: `partially-signed`,
//!   and the message is not reported as signed.

mod decrypt;
mod encrypt;
pub(crate) mod keys;
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
