//! The one place an error class becomes an exit status (design.md §2, sysexits.h).

use ximf::ErrorClass;

/// Verify or lint found the input non-conforming.
pub const NONCONFORMING: u8 = 1;
/// Bad flags.
pub const USAGE: u8 = 64;
/// A panic.
pub const SOFTWARE: u8 = 70;

/// The exit status for an error class.
pub fn code(class: ErrorClass) -> u8 {
    match class {
        ErrorClass::Usage => USAGE,
        ErrorClass::Data => 65,
        ErrorClass::NoInput => 66,
        ErrorClass::NoUser => 67,
        ErrorClass::Unavailable => 69,
        ErrorClass::Software => SOFTWARE,
        ErrorClass::CantCreate => 73,
        ErrorClass::Io => 74,
        ErrorClass::TempFail => 75,
        ErrorClass::KeyLocked => 77,
        ErrorClass::Config => 78,
    }
}

/// The EXIT STATUS table, for the man page and `--help`.
pub const TABLE: &[(u8, &str)] = &[
    (0, "done; for verify and profile lint: conforming"),
    (
        1,
        "verify: the message does not conform; lint: errors found",
    ),
    (64, "usage error (bad flags)"),
    (
        65,
        "input is not a message we can parse, exceeds --max-size, or a value breaks the profile",
    ),
    (66, "input file missing or unreadable"),
    (
        67,
        "no key or certificate for a signer or recipient address",
    ),
    (69, "sendmail: the real sendmail could not be run"),
    (70, "internal error"),
    (73, "cannot create the output file (-o)"),
    (74, "I/O error on output"),
    (75, "temporary failure (a caller may retry)"),
    (
        77,
        "a private key cannot be used: no passphrase was given for an encrypted key, or it is wrong",
    ),
    (78, "profile or configuration error"),
];
