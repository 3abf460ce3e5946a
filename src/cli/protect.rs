//! `ximf protect` and `ximf decrypt` (design.md §2, §4).

use super::keys::{KeyArgs, PolicyArgs};
use super::{Ctx, Outcome};
use std::path::PathBuf;
use ximf::Result;
use ximf::message::Message;
use ximf::protect::Mechanism;

// The command's help is the one-line doc of its variant in cli/mod.rs, applied last. This
// text is a comment, not a doc comment: subcommands are built deferred, which would apply a
// doc comment here after the variant's and change `--help`.
//
// Sign and/or encrypt a message as its correspondence type demands
//
// --sign, --encrypt and --mechanism add demands for profiles without a policy; they never
// weaken one. The config's sign, encrypt, mechanism, usage and [context] count as these flags.
#[derive(Debug, clap::Args)]
pub struct ProtectArgs {
    /// Sign the message
    #[arg(long)]
    sign: bool,
    /// Encrypt the message: to every To, Cc and Bcc recipient, each needing a certificate
    /// (--recipient, the config's identity, or, with no --recipient, found by address in the
    /// config's cert_dir and the GnuPG keyring)
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
    #[arg(short, long, value_name = "OUT", value_parser = super::config::path)]
    output: Option<PathBuf>,
    /// The message (default: stdin)
    #[arg(value_parser = super::config::path)]
    file: Option<PathBuf>,
}

/// Decrypt an S/MIME or PGP/MIME message
#[derive(Debug, clap::Args)]
pub struct DecryptArgs {
    #[command(flatten)]
    keys: KeyArgs,
    /// Messages over this size are read as a skeleton and their plaintext spooled, never held
    /// whole (ximf::stream). Hidden: a test sets 0 to decrypt every message both ways.
    #[arg(long, hide = true, value_name = "BYTES", default_value_t = ximf::stream::THRESHOLD)]
    stream_threshold: u64,
    /// Write the decrypted message here instead of stdout (atomically)
    #[arg(short, long, value_name = "OUT", value_parser = super::config::path)]
    output: Option<PathBuf>,
    /// The message (default: stdin)
    #[arg(value_parser = super::config::path)]
    file: Option<PathBuf>,
}

/// Runs `protect`: the demands of the correspondence type (selected by `--usage`, or named by
/// the message), of the instance's secureHeaders/securityLabel rules, and of the flags.
pub fn run_protect(args: ProtectArgs, ctx: &Ctx) -> Result<Outcome> {
    super::io::check_distinct(args.file.as_deref(), args.output.as_deref())?;
    let loaded = ctx.load(None)?;
    let bytes = super::io::read_input(args.file.as_deref(), ctx.max_size)?;
    let message = Message::parse(bytes)?;
    let recipients = ximf::policy::enforce::Recipients::of(&message, &[]).addresses;
    let config = &ctx.config.config;
    let keys = args.keys.load_for(config, &recipients)?;
    let instance = match message.value(ximf::stamp::NAME_FIELD).as_deref() {
        Some(n) => Some(super::verify::pick_instance(&loaded.profile, Some(n))?),
        None => None,
    };
    let model = match instance {
        Some(i) => loaded.model(i)?,
        None => ximf::policy::Model::default(),
    };
    let policy = args.policy.clone().with_config(config);
    let selected = policy.select(&model, ctx.now, "mua")?;
    let mechanism = (args.mechanism.as_deref())
        .or(config.mechanism.as_deref())
        .and_then(Mechanism::parse);
    let sign = args.sign || config.sign == Some(true);
    let encrypt = args.encrypt || config.encrypt == Some(true);
    let (message, demands) = ximf::protect::plan(
        message,
        instance,
        &model,
        selected,
        (sign, encrypt, mechanism),
    )?;
    let lookup = super::lookup::lookup(config, &args.keys.recipient);
    let out = ximf::protect::protect_with(&message, &demands, &keys, ctx.now, &[], Some(&lookup))?;
    super::emit_message(args.output.as_deref(), &out)?;
    Ok(Outcome::Done)
}

/// Runs `decrypt`. A message over the streaming threshold is left where it is (the file, or a
/// spool of the pipe) and read as a skeleton; its plaintext goes to a spool and is copied out
/// from there (ximf::stream): memory holds headers and small parts, whatever the size.
pub fn run_decrypt(args: DecryptArgs, ctx: &Ctx) -> Result<Outcome> {
    super::io::check_distinct(args.file.as_deref(), args.output.as_deref())?;
    let keys = args.keys.load(&ctx.config.config)?;
    let limits = ximf::secure::Limits::with_max_output(ctx.max_size);
    let max = ctx.max_size;
    let first = max.min(args.stream_threshold.max(1024));
    let mut opened = super::io::open_input(args.file.as_deref(), first)?;
    let decrypt = |bytes: &[u8], origin| {
        // The engine reads the message itself (an mbox `From ` line included, as verify does).
        let d = ximf::secure::decrypt_source(bytes, origin, &keys, ctx.now, limits)?;
        super::emit_message_stream(args.output.as_deref(), &[&d.head], &mut d.rest())?;
        Ok(Outcome::Done)
    };
    if !opened.over {
        return decrypt(&opened.head, None);
    }
    if first >= max {
        return Err(ximf::Error::TooLarge { limit: max });
    }
    let source = opened.source(max)?;
    if source.len() > max {
        return Err(ximf::Error::TooLarge { limit: max });
    }
    let unreadable = |e: std::io::Error| {
        ximf::Error::Io(std::io::Error::new(
            e.kind(),
            format!("{}: {e}", opened.name.display()),
        ))
    };
    let min_elide = ximf::stream::MIN_ELIDE.min(args.stream_threshold);
    let skeleton = ximf::stream::skeleton::build(&source, min_elide).map_err(unreadable)?;
    let Some(skeleton) = skeleton.filter(|s| !s.elisions.is_empty()) else {
        let bytes = source.read_range(0..source.len()).map_err(unreadable)?;
        return decrypt(&bytes, None);
    };
    let origin = std::sync::Arc::new(ximf::stream::Origin {
        source,
        elisions: skeleton.elisions,
        min_elide,
        digests: skeleton.digests,
    });
    decrypt(&skeleton.bytes, Some(&origin))
}
