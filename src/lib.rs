//! ximf — XIMF-profiled e-mail as Unix filters.
//!
//! # Architecture
//!
//! The library does the work; the `ximf` binary (`src/main.rs`, `src/cli/`) only turns flags
//! into library calls and results into exit codes. The library never prints, never exits,
//! never reads environment variables and never reads the clock behind the caller's back:
//! time comes in through [`clock::Clock`].
//!
//! - [`profile`]: XIMF 2.0 profiles as the field writes them — catalogs, instance file sets
//!   (headers, dictionary, ihm, rules), external value lists — compiled into plain structs
//!   ([`profile::model`]), plus lint diagnostics and the profiles built into the binary.
//! - [`message`]: the raw message bytes and a parsed view; header-section edits that keep every
//!   other byte and the input's line endings ([`message::eol`]).
//! - [`check`]: the conformance rules shared by stamp and verify: value membership, counts,
//!   syntax, `linkedValue`, `association`, `constraint`.
//! - [`stamp`]: values chosen by the user → the XIMF header fields a profile defines.
//! - [`verify`]: a message checked against its instance → a [`report::Report`] of findings.
//! - [`pgp`]: OpenPGP with Sequoia — RFC 3156 PGP/MIME sign, encrypt, verify, decrypt, RFC 9788
//!   header protection, inline PGP; signatures are hashed straight from the raw buffer.
//! - [`smime`]: S/MIME 4.0 sign/encrypt/verify/decrypt on CMS (RustCrypto `cms` for the
//!   structures, OpenSSL for every key operation), with RFC 9788 header protection, RFC 7508
//!   secure headers and RFC 2634 ESS labels.
//! - [`protect`]: the dispatcher over both mechanisms — which one, which keys
//!   ([`protect::Keys`], sorted by content), and what must be done ([`protect::Demands`], from the
//!   correspondence type, the instance's rules and the flags).
//! - [`policy`]: the correspondence model — usage × context selects a type
//!   ([`policy::select`]), whose requirements each agent enforces ([`policy::enforce`]); the
//!   no-downgrade rule on verification.
//! - [`sendmail`]: the mutt `$sendmail` drop-in — sendmail argv, config, dead letter, handing the
//!   finished message to the real sendmail.
//! - [`report`]: the verification report, rendered as text, JSON or annotation headers.
//! - [`error`]: the one error type, whose [`error::ErrorClass`] decides the exit status.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod check;
pub mod clock;
pub mod error;
pub mod message;
pub mod pgp;
pub mod policy;
pub mod profile;
pub mod protect;
pub mod report;
pub mod sendmail;
pub mod smime;
pub mod stamp;
pub mod verify;

pub use error::{Error, ErrorClass, Result};
