//! `ximf protect` and `ximf decrypt` (design.md §2, §4).

use super::keys::{KeyArgs, PolicyArgs};
use super::{Ctx, Outcome};
use std::path::PathBuf;
use ximf::message::{Message, Placement};
use ximf::protect::{Demands, Mechanism};
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

/// Runs `protect`: the demands of the correspondence type (selected by `--usage`, or named by
/// the message), of the instance's secureHeaders/securityLabel rules, and of the flags.
pub fn run_protect(args: ProtectArgs, ctx: &Ctx) -> Result<Outcome> {
    super::io::check_distinct(args.file.as_deref(), args.output.as_deref())?;
    let loaded = ctx.load(None)?;
    let keys = args.keys.load()?;
    let bytes = super::io::read_input(args.file.as_deref(), ctx.max_size)?;
    let mut message = Message::parse(bytes)?;
    let named_instance = message.value(ximf::stamp::NAME_FIELD);
    let instance = match named_instance.as_deref() {
        Some(n) => Some(super::verify::pick_instance(&loaded.profile, Some(n))?),
        None => None,
    };
    let model = match instance {
        Some(i) => loaded.model(i)?,
        None => ximf::policy::Model::default(),
    };
    let named = ximf::policy::enforce::named_type(&message);
    let selected = args.policy.select(&model, ctx.now, "mua")?;
    let chosen = match (selected, named.as_deref()) {
        (Some(s), Some(n)) if !s.name.eq_ignore_ascii_case(n) => {
            return Err(Error::Config(format!(
                "the message is stamped as correspondence '{n}' but usage '{}' selects '{}'",
                args.policy.usage.as_deref().unwrap_or_default(),
                s.name
            )));
        }
        (Some(s), None) => {
            // Name the type before signing, so the signature covers it (no downgrade later).
            let add = [(ximf::policy::TYPE_FIELD.to_owned(), s.name.clone())];
            message = Message::parse(message.edit(&|_| false, &add, Placement::End)?)?;
            Some(s)
        }
        (Some(s), Some(_)) => Some(s),
        (None, Some(n)) => Some(model.get(n).ok_or_else(|| {
            Error::Config(format!("correspondence type '{n}' is not in the profile"))
        })?),
        (None, None) => None,
    };
    let mut demands = match chosen {
        Some(t) => Demands::from_type(t, "mua"),
        None => Demands::default(),
    };
    if let Some(i) = instance {
        demands.add_instance_rules(i, &message)?;
        if let Some(t) = chosen {
            ximf::policy::enforce::refuse(t, &model, i, &message, "mua")?;
            if t.label_from.is_some() && demands.label.is_none() {
                demands.add_label_from_headers(&message);
            }
        }
    }
    let mechanism = args.mechanism.as_deref().and_then(Mechanism::parse);
    demands.add_flags(args.sign, args.encrypt, mechanism)?;
    let out = ximf::protect::protect(&message, &demands, &keys, ctx.now)?;
    super::emit_message(args.output.as_deref(), &out)?;
    Ok(Outcome::Done)
}

/// Runs `decrypt`.
pub fn run_decrypt(args: DecryptArgs, ctx: &Ctx) -> Result<Outcome> {
    super::io::check_distinct(args.file.as_deref(), args.output.as_deref())?;
    let keys = args.keys.load()?;
    let bytes = super::io::read_input(args.file.as_deref(), ctx.max_size)?;
    let message = Message::parse(bytes)?;
    let out = ximf::protect::decrypt(&message, &keys, ctx.now)?;
    super::emit_message(args.output.as_deref(), &out)?;
    Ok(Outcome::Done)
}
