//! OpenPGP: PGP/MIME (RFC 3156) signing, encryption, verification and decryption with Sequoia,
//! RFC 9788 header protection, and reading inline (cleartext-signed) PGP.
//!
//! - [`sign`]: a whole RFC 5322 message → `multipart/signed`; the first part is the canonical
//!   (CRLF, 7-bit) payload, carrying copies of the header fields and `hp="clear"` unless header
//!   protection is off.
//! - [`encrypt`]: → `multipart/encrypted`, signed inside (nested `multipart/signed`, RFC 3156
//!   §6.1) or in the same OpenPGP message (combined, §6.2); payload with `hp="cipher"`,
//!   `HP-Outer` and the `hcp_baseline` confidentiality policy (Subject → `[...]`).
//! - [`verify_detached`], [`verify_inline`], [`open`]: the backend of the secure-message engine
//!   ([`crate::secure`]), which decides what the results mean for the message.
//! - `stream_open::open_stream`: [`open`] for a message of any size, read front to back and
//!   its plaintext written out as it is decrypted, in bounded memory (issue 13); `open` is it
//!   over memory.
//!
//! - `seipd`, `armor::Armor`: encryption's packets (PKESK, SEIPD v1, literal data) and ASCII
//!   armor written by ximf in pieces of 64 KiB around Sequoia's cryptography, so that a message
//!   of any size is encrypted in bounded memory (Sequoia's own framing holds 4 MiB per packet).
//!
//! - [`Agent`], [`SigningKey::Agent`]: signing and decryption with secret keys that stay in
//!   gpg-agent (the library is given the agent's socket; it never reads `$GNUPGHOME`).
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
//! - Header protection, the From rule and partial signatures are judged by the engine, the
//!   same for S/MIME (crate::secure).

mod agent;
pub(crate) mod armor;
mod encrypt;
pub(crate) mod keys;
mod policy;
mod seipd;
mod sign;
pub(crate) mod stream_open;
mod verify;

pub(crate) use agent::AgentKeys;
pub use agent::{Agent, DEFAULT_TIMEOUT as AGENT_TIMEOUT, SigningKey};
pub(crate) use encrypt::encrypt_with;
pub use encrypt::{EncryptOptions, encrypt, recipient_addresses};
pub use keys::load_keys;
pub use sequoia_openpgp::types::HashAlgorithm;
pub(crate) use sign::sign_with;
pub use sign::{SignOptions, sign};
#[cfg(test)]
pub(crate) use verify::hash_canonical;
pub(crate) use verify::open_with;
pub use verify::{Opened, open, panic_is_caught, verify_detached, verify_inline};

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Unix seconds → `SystemTime` (negative values clamp to the epoch).
pub(crate) fn system_time(now: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(now.max(0) as u64)
}

/// Maps a Sequoia error to [`crate::Error::Crypto`] naming `what` failed.
pub(crate) fn crypto<E: std::fmt::Display>(what: &'static str) -> impl Fn(E) -> crate::Error {
    move |e| crate::Error::Crypto(format!("{what}: {e}"))
}
