//! `ximf protect` and `ximf decrypt` (design.md §2, §4).

use super::io::Large;
use super::keys::{KeyArgs, PolicyArgs};
use super::{Ctx, Outcome};
use std::path::{Path, PathBuf};
use ximf::message::{Eol, Message};
use ximf::protect::Mechanism;
use ximf::stream::{Content, Splice, Whole};
use ximf::{Error, Result};

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
    /// With --sign --encrypt and OpenPGP: sign inside the encrypted OpenPGP message (RFC 3156
    /// §6.2) instead of encrypting a multipart/signed (§6.1). Hidden: for tests and benches.
    #[arg(long, hide = true)]
    pgp_combined: bool,
    /// Messages over this size stay in the input file (or a spool of the pipe) and are
    /// protected from there, their large bodies never held (ximf::stream). Hidden: tests set
    /// it low to protect small messages both ways.
    #[arg(long, hide = true, value_name = "BYTES", default_value_t = ximf::stream::THRESHOLD)]
    stream_threshold: u64,
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
///
/// A message over the streaming threshold stays in its file (or a spool of the pipe): its
/// large bodies stand as holes ([`ximf::stream::Splice`]) through the same planning and
/// protecting code, and are copied from the input into the output.
pub fn run_protect(args: ProtectArgs, ctx: &Ctx) -> Result<Outcome> {
    super::io::check_distinct(args.file.as_deref(), args.output.as_deref())?;
    let loaded = ctx.load(None)?;
    let max = ctx.max_size;
    let first = max.min(args.stream_threshold);
    let mut opened = super::io::open_input(args.file.as_deref(), first).map_err(|e| match e {
        // Reading stdin fails as an I/O error (74), as it always has for protect.
        Error::Input { path, source } if path == Path::new("-") => Error::Io(source),
        e => e,
    })?;
    if !opened.over {
        let message = Message::parse(std::mem::take(&mut opened.head))?;
        let (out, _) = protect((&args, ctx, &loaded), message, &Whole)?;
        super::emit_message(args.output.as_deref(), &out)?;
        return Ok(Outcome::Done);
    }
    let (source, skeleton) = match opened.large(first, max, args.stream_threshold)? {
        Large::Skeleton {
            source, skeleton, ..
        } => (source, skeleton),
        Large::Whole(bytes) => {
            let (out, _) = protect((&args, ctx, &loaded), Message::parse(bytes)?, &Whole)?;
            super::emit_message(args.output.as_deref(), &out)?;
            return Ok(Outcome::Done);
        }
    };
    let size = source.len();
    let name = opened.name.display().to_string();
    let (splice, bytes) = Splice::new(source, skeleton)
        .map_err(|e| Error::Io(std::io::Error::new(e.kind(), format!("{name}: {e}"))))?;
    let (out, eol) = protect(
        (&args, ctx, &loaded),
        Message::standing_for(bytes, size)?,
        &splice,
    )?;
    let sink = super::io::Sink::new(args.output.as_deref());
    sink.write_with(&mut |w| splice.write(&out, eol, w))?;
    Ok(Outcome::Done)
}

/// Plans and protects `message`, whose content `content` reads: the protected message, and
/// the line-ending convention it is in (`None`: the message as it came, nothing demanded).
fn protect(
    (args, ctx, loaded): (&ProtectArgs, &Ctx, &super::Loaded),
    message: Message,
    content: &dyn Content,
) -> Result<(Vec<u8>, Option<Eol>)> {
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
    let eol = Eol::detect(message.bytes());
    let (message, mut demands) = ximf::protect::plan(
        message,
        instance,
        &model,
        selected,
        (sign, encrypt, mechanism),
    )?;
    demands.pgp_combined = args.pgp_combined;
    let lookup = super::lookup::lookup(config, &args.keys.recipient);
    let out = ximf::protect::protect_content(
        &message,
        &demands,
        &keys,
        ctx.now,
        (&[], Some(&lookup)),
        content,
    )?;
    Ok((out, (demands.sign || demands.encrypt).then_some(eol)))
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
    match opened.large(first, max, args.stream_threshold)? {
        Large::Whole(bytes) => decrypt(&bytes, None),
        Large::Skeleton {
            source,
            skeleton,
            min_elide,
        } => {
            let origin = std::sync::Arc::new(ximf::stream::Origin {
                source,
                elisions: skeleton.elisions,
                min_elide,
                digests: skeleton.digests,
            });
            decrypt(&skeleton.bytes, Some(&origin))
        }
    }
}
