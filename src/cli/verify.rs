//! `ximf verify`.

use super::keys::{KeyArgs, PolicyArgs};
use super::{Ctx, Format, Outcome};
use std::path::PathBuf;
use ximf::message::{Message, Placement};
use ximf::profile::{Instance, Profile};
use ximf::report::render;
use ximf::verify::VerifyOptions;
use ximf::{Error, Result};

/// Check a message against its XIMF profile
///
/// The instance is matched from the message's X-XIMF-NAME field (or --instance). Checks
/// mandatory fields, values against sets and external lists, item counts, lengths, date and
/// address syntax, technical headers, linkedValue, association and constraint rules. Exit 0 when
/// the message conforms, 1 when it does not. With --annotate the message is written out with an
/// X-XIMF-Verify field (and Authentication-Results for S/MIME) and the exit status is 0 whatever
/// the verdict, so a filter never loses mail.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  ximf verify -p ximfmail-profile.xml msg.eml\n  \
    ximf verify --format json < msg.eml\n  procmail: :0 fw\n            | ximf verify --annotate -p /etc/ximf"
)]
pub struct Args {
    /// Check against this instance instead of the one the message names
    #[arg(long, value_name = "NAME")]
    instance: Option<String>,
    /// The agent ximf acts as: rules scoped to other agents are skipped
    #[arg(long, value_name = "AGENT", default_value = "mda",
          value_parser = ["mua", "msa", "mta", "mda", "gateway"])]
    agent: String,
    /// Write the message with verdict fields added, and exit 0 whatever the verdict
    #[arg(long)]
    annotate: bool,
    /// The authserv-id of the added fields [default: /etc/mailname or the host name]
    #[arg(long, value_name = "ID", requires = "annotate")]
    authserv_id: Option<String>,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    keys: KeyArgs,
    /// Write the annotated message here instead of stdout (atomically)
    #[arg(short, long, value_name = "OUT", requires = "annotate", value_parser = super::config::path)]
    output: Option<PathBuf>,
    /// The message (default: stdin); several files, a directory or a maildir are verified in
    /// one process on every core, one report line (or JSON object) per message
    #[arg(value_parser = super::config::path)]
    files: Vec<PathBuf>,
}

/// The instance named, or the profile's default one.
pub fn pick_instance<'p>(profile: &'p Profile, name: Option<&str>) -> Result<&'p Instance> {
    match name {
        Some(n) => profile.instance(n).ok_or_else(|| {
            Error::Config(format!(
                "instance '{n}' is not in the profile; known: {}",
                profile.names()
            ))
        }),
        None => profile
            .default_instance()
            .ok_or_else(|| Error::Config("the profile has no instance".into())),
    }
}

pub(super) fn default_authserv_id() -> String {
    ["/etc/mailname", "/proc/sys/kernel/hostname"]
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .map(|s| s.trim().to_owned())
        .find(|s| !s.is_empty() && !s.contains(char::is_whitespace))
        .unwrap_or_else(|| "localhost".to_owned())
}

/// Verifies the input; prints the report or writes the annotated message.
pub fn run(args: Args, ctx: &Ctx) -> Result<Outcome> {
    let batch = args.files.len() > 1 || args.files.first().is_some_and(|f| f.is_dir());
    if batch {
        return run_batch(args, ctx);
    }
    let file = args.files.first().cloned();
    super::io::check_distinct(file.as_deref(), args.output.as_deref())?;
    let loaded = ctx.load(None)?;
    if let Some(n) = &args.instance {
        pick_instance(&loaded.profile, Some(n))?;
    }
    let keys = std::sync::Arc::new(args.keys.load(&ctx.config.config)?);
    let bytes = super::io::read_input(file.as_deref(), ctx.max_size)?;
    let authserv_id = args.authserv_id.clone().unwrap_or_else(default_authserv_id);
    // procmail as a delivery agent hands its filters the mbox `From ` line it keeps in front of
    // the header: that is envelope, not header. Check what follows it; write it back in front.
    let (envelope, bytes) = split_envelope(bytes);
    // Forged verdicts go before anything else reads the input, parsable or not, bare CR
    // included (issue 12): what we write must never carry a verdict we did not make.
    let scrubbed = match args.annotate {
        true => match render::scrub_forged_verdicts(&bytes, &authserv_id) {
            std::borrow::Cow::Owned(v) => Some(v),
            std::borrow::Cow::Borrowed(_) => None,
        },
        false => None,
    };
    let bytes = scrubbed.unwrap_or(bytes);
    // Kept only in filter mode, where input that is not a message must still come out.
    let original = args.annotate.then(|| bytes.clone());
    let message = match (Message::parse(bytes), original) {
        (Ok(m), _) => m,
        (Err(Error::Message(why)), Some(original)) => {
            return annotate_unparsable(&args, &envelope, &original, why, &authserv_id);
        }
        (Err(e), _) => return Err(e),
    };
    let report = check(&message, &loaded, &args, &keys, ctx)?;
    if args.annotate {
        let add = render::annotation(&report, &authserv_id);
        let bytes = message.bytes();
        // Drop verdicts that claim our authserv-id: a sender must not pre-forge them (§5).
        let forged = |f: &ximf::message::Field| {
            let ours = f.name_is("Authentication-Results") || f.name_is(render::VERIFY_FIELD);
            // One whose id cannot be read cannot be attributed to anyone else: it goes too.
            ours && render::claimed_authserv_id(&f.name, &f.value(bytes))
                .is_none_or(|id| id.eq_ignore_ascii_case(&authserv_id))
        };
        let out = message.edit(&forged, &add, Placement::Top)?;
        let out = if envelope.is_empty() {
            out
        } else {
            [envelope, out].concat()
        };
        super::emit_message(args.output.as_deref(), &out)?;
        return Ok(Outcome::Done);
    }
    let text = match ctx.format {
        Format::Json => render::json(&report),
        Format::Text => render::text(&report),
    };
    super::emit_report(&text)?;
    Ok(if report.passes() {
        Outcome::Done
    } else {
        Outcome::Negative
    })
}

/// The report for one message: its instance's policy (its own rules plus a standalone model)
/// and, with `--usage`, the type the receiving agent's context selects as a floor under what
/// the message names.
fn check(
    message: &Message,
    loaded: &super::Loaded,
    args: &Args,
    keys: &std::sync::Arc<ximf::protect::Keys>,
    ctx: &Ctx,
) -> Result<ximf::report::Report> {
    let profile = &loaded.profile;
    let mut opts = VerifyOptions::default();
    opts.instance = args.instance.clone();
    opts.agent = args.agent.clone();
    opts.keys = Some(keys.clone());
    opts.now = ctx.now;
    // What a layer may expand into is bounded like the input (issue 12).
    opts.limits = ximf::secure::Limits::with_max_output(ctx.max_size);
    let instance = match &args.instance {
        Some(n) => profile.instance(n),
        None => message
            .get(ximf::stamp::NAME_FIELD)
            .and_then(|f| profile.instance(&f.value(message.bytes()))),
    };
    if let Some(i) = instance {
        let model = loaded.model(i)?;
        opts.floor = args
            .policy
            .select(&model, ctx.now, &args.agent)?
            .map(|t| t.name.clone());
        opts.model = Some(model);
    } else if args.policy.usage.is_some() {
        return Err(Error::Config(
            "--usage: the message names no instance with a correspondence policy".into(),
        ));
    }
    // An agent that could not be asked or refused the key is the exit status (75, 77).
    ximf::verify::try_verify(message, profile, &opts)
}

/// Many messages in one process: every file named, every file of a directory, or a maildir's
/// `cur/` and `new/`, verified on all cores. One line per message (`FILE: pass ...`, findings
/// indented below) or one JSON object per line with a `file` member; a message that cannot be
/// read or parsed is reported with `error`. Exit 0 when every message conforms, else 1.
fn run_batch(args: Args, ctx: &Ctx) -> Result<Outcome> {
    if args.annotate {
        return Err(Error::Usage(
            "--annotate takes one message\nhint: run one ximf per message in a filter".into(),
        ));
    }
    let loaded = ctx.load(None)?;
    if let Some(n) = &args.instance {
        pick_instance(&loaded.profile, Some(n))?;
    }
    let keys = std::sync::Arc::new(args.keys.load(&ctx.config.config)?);
    let files = super::io::expand_inputs(&args.files)?;
    let workers = std::thread::available_parallelism().map_or(1, usize::from);
    let results = ximf::verify::batch::parallel_map(&files, workers, |path| {
        let report = super::io::read_input(Some(path), ctx.max_size)
            .and_then(Message::parse)
            .and_then(|m| check(&m, &loaded, &args, &keys, ctx));
        (path.clone(), report)
    });
    let mut all_pass = true;
    let mut out = String::new();
    for (path, r) in results {
        let name = path.display().to_string();
        match (r, ctx.format) {
            (Ok(report), Format::Json) => {
                all_pass &= report.passes();
                let mut v = serde_json::to_value(&report).unwrap_or_default();
                if let serde_json::Value::Object(m) = &mut v {
                    m.insert("file".into(), name.into());
                }
                out.push_str(&format!("{v}\n"));
            }
            (Ok(report), Format::Text) => {
                all_pass &= report.passes();
                let text = render::text(&report);
                let mut lines = text.lines();
                out.push_str(&format!("{name}: {}\n", lines.next().unwrap_or_default()));
                for l in lines {
                    out.push_str(&format!("  {l}\n"));
                }
            }
            (Err(e), Format::Json) => {
                all_pass = false;
                let v = serde_json::json!({"file": name, "error": e.to_string()});
                out.push_str(&format!("{v}\n"));
            }
            (Err(e), Format::Text) => {
                all_pass = false;
                out.push_str(&format!("{name}: error: {e}\n"));
            }
        }
    }
    super::emit_report(&out)?;
    Ok(if all_pass {
        Outcome::Done
    } else {
        Outcome::Negative
    })
}

/// Splits a leading mbox `From ` line (with its line ending) off the input.
fn split_envelope(mut bytes: Vec<u8>) -> (Vec<u8>, Vec<u8>) {
    if !bytes.starts_with(b"From ") {
        return (Vec::new(), bytes);
    }
    let end = bytes
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |i| i + 1);
    let rest = bytes.split_off(end);
    (bytes, rest)
}

/// `--annotate` on input that is not a message: it still passes through, unchanged, below a
/// `fail` verdict with code `not-a-message`, and the exit status is 0 (design.md §2: exit 0
/// whenever the message was written). Exiting non-zero would make procmail and Sieve keep it
/// with no verdict at all, so a quarantine rule keyed on `fail` would let exactly the malformed
/// (possibly hostile) mail through, and Postfix's pipe(8) would bounce it.
fn annotate_unparsable(
    args: &Args,
    envelope: &[u8],
    original: &[u8],
    why: String,
    authserv_id: &str,
) -> Result<Outcome> {
    let mut report = ximf::report::Report::default();
    report.push("not-a-message", ximf::report::Severity::Error, None, why);
    report.finish();
    let eol = ximf::message::Eol::detect(original);
    let mut out = envelope.to_vec();
    for (name, value) in render::annotation(&report, authserv_id) {
        out.extend(ximf::message::encode::encode_field(&name, &value, eol)?);
    }
    out.extend_from_slice(original);
    super::emit_message(args.output.as_deref(), &out)?;
    Ok(Outcome::Done)
}
