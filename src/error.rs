//! The one error type every domain returns, and its classes.
//!
//! Domain code returns [`Error`]; only the binary's `cli/exit.rs` turns an [`ErrorClass`] into a
//! process exit status (design.md §2). Keeping the class on the error (rather than erasing it, as
//! `anyhow` would) is what lets a Postfix `pipe(8)` or a procmail recipe act on our exit code.

use std::path::PathBuf;

/// What kind of failure an [`Error`] is; maps one-to-one onto the sysexits table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Bad flags or arguments (64).
    Usage,
    /// Input is not a message we can parse, exceeds the size bound, or breaks the profile (65).
    Data,
    /// Input file missing or unreadable (66).
    NoInput,
    /// No key or certificate for a signer or recipient address (67).
    NoUser,
    /// A program we must run could not be run (69).
    Unavailable,
    /// A bug (70).
    Software,
    /// The output file cannot be created (73).
    CantCreate,
    /// Read or write failure (74).
    Io,
    /// May succeed later (75).
    TempFail,
    /// A private key cannot be used: it needs a passphrase and none was given, or the
    /// passphrase is wrong (77, EX_NOPERM).
    KeyLocked,
    /// Profile, key material or configuration unusable (78).
    Config,
}

/// A position in a profile file, 1-based.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// The file the position is in.
    pub path: PathBuf,
    /// Line, 1-based (0 when unknown).
    pub line: u32,
    /// Column, 1-based (0 when unknown).
    pub col: u32,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}:{}", self.path.display(), self.line, self.col)
    }
}

/// Every failure ximf reports.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A command-line argument is wrong.
    #[error("{0}")]
    Usage(String),
    /// A profile file cannot be read or is broken beyond repair.
    #[error("{location}: {message}")]
    Profile {
        /// Where in the profile.
        location: Location,
        /// What is wrong.
        message: String,
    },
    /// The configuration (profile choice, policy, config file) does not allow the operation.
    #[error("{0}")]
    Config(String),
    /// The input is not a parseable message.
    #[error("{0}")]
    Message(String),
    /// The input exceeds `--max-size`.
    #[error("message exceeds the size limit of {limit} bytes")]
    TooLarge {
        /// The bound in bytes.
        limit: u64,
    },
    /// A header value given to `stamp` is missing or not allowed by the profile.
    #[error("{header}: {message}")]
    Value {
        /// The header field concerned.
        header: String,
        /// What is wrong, with the allowed values.
        message: String,
    },
    /// An input file cannot be opened or read.
    #[error("{}: {source}", path.display())]
    Input {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The output file cannot be created.
    #[error("{}: {source}", path.display())]
    Output {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// Reading or writing a stream failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// No key or certificate for an address.
    #[error("no key or certificate for {0}")]
    NoKey(String),
    /// Key material is present but unusable.
    #[error("{0}")]
    Key(String),
    /// A private key is passphrase-protected and no passphrase was given. Carries the name of
    /// the file (as the caller named it), so a terminal front end can ask for that key.
    #[error(
        "{0}: the private key is passphrase-protected and no passphrase was given\nhint: give \
         the passphrase with --passphrase-file FILE or --passphrase-fd N, or run ximf on a \
         terminal to be asked for it"
    )]
    NeedPassphrase(String),
    /// The passphrase given does not unlock a private key (the file's name).
    #[error("{0}: the passphrase does not unlock the private key (wrong passphrase)")]
    WrongPassphrase(String),
    /// A key agent refused to use a private key: its pinentry was cancelled or could not
    /// run, or the passphrase was wrong (77, like a wrong passphrase of a key file).
    #[error("{0}")]
    KeyRefused(String),
    /// A cryptographic operation failed on the input.
    #[error("{0}")]
    Crypto(String),
    /// A program we hand off to cannot be run.
    #[error("{0}")]
    Unavailable(String),
    /// A temporary failure; the caller may retry.
    #[error("{0}")]
    TempFail(String),
    /// A bug in ximf.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The class that decides the exit status.
    pub fn class(&self) -> ErrorClass {
        match self {
            Error::Usage(_) => ErrorClass::Usage,
            Error::Profile { .. } | Error::Config(_) | Error::Key(_) => ErrorClass::Config,
            Error::Message(_) | Error::TooLarge { .. } | Error::Value { .. } | Error::Crypto(_) => {
                ErrorClass::Data
            }
            Error::Input { .. } => ErrorClass::NoInput,
            Error::Output { .. } => ErrorClass::CantCreate,
            Error::Io(_) => ErrorClass::Io,
            Error::NoKey(_) => ErrorClass::NoUser,
            Error::Unavailable(_) => ErrorClass::Unavailable,
            Error::TempFail(_) => ErrorClass::TempFail,
            Error::NeedPassphrase(_) | Error::WrongPassphrase(_) | Error::KeyRefused(_) => {
                ErrorClass::KeyLocked
            }
            Error::Internal(_) => ErrorClass::Software,
        }
    }

    /// Shorthand for a profile error at a location.
    pub fn profile(location: Location, message: impl Into<String>) -> Self {
        Error::Profile {
            location,
            message: message.into(),
        }
    }
}

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;
