//! Fixture messages in both line-ending conventions: one conversion each way, and the LF/CRLF
//! twins of a message, so a test that must hold for both forms says so once ([`twins`]).
//! Written independently of the library's own `ximf::message::eol`, which the tests check.

use std::path::Path;

/// A message's line-ending convention.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Eol {
    /// Bare LF, as mail is stored on Unix (mbox, Maildir, procmail, sendmail's stdin).
    Lf,
    /// CRLF, as mail travels (SMTP, RFC 5322) and as it is signed.
    Crlf,
}

/// Both conventions, LF first.
pub const BOTH_EOLS: [Eol; 2] = [Eol::Lf, Eol::Crlf];

impl Eol {
    /// "LF" or "CRLF", for assertion messages.
    pub fn name(self) -> &'static str {
        match self {
            Eol::Lf => "LF",
            Eol::Crlf => "CRLF",
        }
    }
}

/// Any mix of LF and CRLF -> LF.
pub fn to_lf(b: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(b.len());
    for (i, &c) in b.iter().enumerate() {
        if c == b'\r' && b.get(i + 1) == Some(&b'\n') {
            continue;
        }
        v.push(c);
    }
    v
}

/// Any mix of LF and CRLF -> CRLF (a CRLF stays one).
pub fn to_crlf(b: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(b.len() + b.len() / 20);
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' && (i == 0 || b[i - 1] != b'\r') {
            v.push(b'\r');
        }
        v.push(c);
    }
    v
}

/// `b` in convention `e`.
pub fn eol(b: &[u8], e: Eol) -> Vec<u8> {
    match e {
        Eol::Lf => to_lf(b),
        Eol::Crlf => to_crlf(b),
    }
}

/// The LF and CRLF twins of message `b` (whatever its own convention), LF first.
pub fn twins(b: &[u8]) -> [(Eol, Vec<u8>); 2] {
    [(Eol::Lf, to_lf(b)), (Eol::Crlf, to_crlf(b))]
}

/// The LF and CRLF twins of the fixture file at `path`, LF first.
pub fn twins_of(path: impl AsRef<Path>) -> [(Eol, Vec<u8>); 2] {
    let path = path.as_ref();
    let data = std::fs::read(path).unwrap_or_else(|e| panic!("fixture {}: {e}", path.display()));
    twins(&data)
}
