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
//! - [`verify`]: a message checked against its instance → a [`report::Report`] of findings;
//!   mailboxes (mbox) judged message by message ([`verify::mbox`]).
//! - [`mime`]: the one MIME reader — entities as byte ranges, Content-Type parameters,
//!   multipart splitting, transfer encodings and the 7-bit rules.
//! - [`secure`]: the one secure-message engine — one walk through any mix of S/MIME and
//!   OpenPGP layers, typed outcomes, and every mechanism-neutral rule (From vs signer, content
//!   outside the signature, header protection, finding codes) written once.
//! - [`smime`], [`pgp`]: the two thin crypto backends under the engine (CMS with OpenSSL for
//!   every key operation; Sequoia), which also sign and encrypt. A CMS object of any size is
//!   opened in one pass with bounded memory ([`smime::open_stream`], over a streaming BER
//!   reader); the in-memory `smime::open`/`verify_opaque` walk the same code. OpenPGP secret
//!   keys may stay in gpg-agent ([`pgp::Agent`]): the caller names its socket, every agent
//!   call is bounded by a timeout and keeps its exit class (75 unreachable, 67 no such key,
//!   77 refused).
//! - [`protect`]: signing and encrypting as demanded — which mechanism, which keys
//!   ([`secure::Keys`], sorted by content), and what must be done ([`protect::Demands`], from the
//!   correspondence type, the instance's rules and the flags).
//! - [`policy`]: the correspondence model — usage × context selects a type
//!   ([`policy::select`]), whose requirements each agent enforces ([`policy::enforce`]); the
//!   no-downgrade rule on verification.
//! - [`config`]: the one configuration file every command reads (profile, identities, trust,
//!   certificate directory, sendmail settings), where it is looked for, `~`/`$HOME` in paths,
//!   and the effective settings with their sources (`ximf config show`).
//! - [`milter`]: `ximf milter`'s engine — one SMTP transaction collected into a bounded buffer,
//!   verified as `verify` would, and turned into milter actions (header changes, hold, reject,
//!   tempfail); the protocol itself lives in the binary (`src/cli/milter.rs`).
//! - [`secure::lookup`]: recipients' certificates found by address (pure; the CLI lists the
//!   certificate directory and asks gpg).
//! - [`sendmail`]: the mutt `$sendmail` drop-in — sendmail argv, dead letter, handing the
//!   finished message to the real sendmail.
//! - [`report`]: the verification report, rendered as text, JSON or annotation headers.
//! - [`error`]: the one error type, whose [`error::ErrorClass`] decides the exit status.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod check;
pub mod clock;
pub mod config;
pub mod error;
pub mod message;
pub mod milter;
pub mod mime;
pub mod pgp;
pub mod policy;
pub mod profile;
pub mod protect;
pub mod report;
pub mod secure;
pub mod sendmail;
pub mod smime;
pub mod stamp;
pub mod stream;
pub mod verify;

pub use error::{Error, ErrorClass, Result};
