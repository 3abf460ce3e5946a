//! `ximf protect` and `ximf decrypt`: the flags of design.md §2. The S/MIME and OpenPGP engines
//! arrive with issues #3 and #4; until then these commands say so and exit 69.

use super::keys::{KeyArgs, PolicyArgs};
use super::{Ctx, Outcome};
use std::path::PathBuf;
use ximf::{Error, Result};

/// Sign and/or encrypt a message as its correspondence type demands
///
/// --sign, --encrypt and --mechanism add demands for profiles without a policy; they never
/// weaken one.
#[derive(Debug, clap::Args)]
pub struct ProtectArgs {
    /// Sign the message
    #[arg(long)]
    sign: bool,
    /// Encrypt the message
    #[arg(long)]
    encrypt: bool,
    /// The protection mechanism
    #[arg(long, value_parser = ["smime", "openpgp"])]
    mechanism: Option<String>,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    keys: KeyArgs,
    /// Write the protected message here instead of stdout (atomically)
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// The message (default: stdin)
    file: Option<PathBuf>,
}

/// Decrypt an S/MIME or PGP/MIME message
#[derive(Debug, clap::Args)]
pub struct DecryptArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// Write the decrypted message here instead of stdout (atomically)
    #[arg(short, long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// The message (default: stdin)
    file: Option<PathBuf>,
}

fn not_built(what: &str) -> Error {
    Error::Unavailable(format!(
        "{what}: S/MIME and OpenPGP protection are not in this build yet"
    ))
}

/// Runs `protect`.
pub fn run_protect(_args: ProtectArgs, _ctx: &Ctx) -> Result<Outcome> {
    Err(not_built("protect"))
}

/// Runs `decrypt`.
pub fn run_decrypt(_args: DecryptArgs, _ctx: &Ctx) -> Result<Outcome> {
    Err(not_built("decrypt"))
}
