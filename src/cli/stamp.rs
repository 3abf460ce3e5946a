//! `ximf stamp`.

use super::keys::PolicyArgs;
use super::{Ctx, Outcome};
use std::path::PathBuf;
use ximf::message::Message;
use ximf::stamp::{StampOptions, stamp_header};
use ximf::{Error, Result};

// The command's help is the one-line doc of its variant in cli/mod.rs, applied last. This
// text is a comment, not a doc comment: subcommands are built deferred, which would apply a
// doc comment here after the variant's and change `--help`.
//
// Add the XIMF header fields of a profile instance to a message
//
// Values come from --set 'Header=value' (the wire content or a dictionary label; repeat a
// header, or join items with its separator, for multi-valued headers). Writes X-XIMF-NAME and
// X-XIMF-Version, every header with a value, technical headers, fixed headers and compatibility
// aliases; existing XIMF fields are replaced. Every other byte of the message is kept.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Example:\n  ximf stamp -p ximfmail-profile.xml --instance Amoco \\\n    \
    --set X-XIMF-Security-Classification=amoco-confidential \\\n    \
    --set X-XIMF-Privacy-Mark=amoco-maximum --set X-XIMF-Primary-Precedence=routine msg.eml"
)]
pub struct Args {
    /// The instance to stamp with [default: the config's instance, else the profile's first
    /// non-plain instance]
    #[arg(long, value_name = "NAME")]
    instance: Option<String>,
    /// A header value, HEADER=VALUE (repeat)
    #[arg(long = "set", value_name = "HEADER=VALUE")]
    sets: Vec<String>,
    /// Do not write compatibility aliases (X-P772-*, MMHS-*)
    #[arg(long)]
    no_compat: bool,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Write the stamped message here instead of stdout (atomically)
    #[arg(short, long, value_name = "OUT", value_parser = super::config::path)]
    output: Option<PathBuf>,
    /// The message (default: stdin)
    #[arg(value_parser = super::config::path)]
    file: Option<PathBuf>,
}

/// Parses `Header=value` pairs.
pub fn parse_sets(sets: &[String]) -> Result<Vec<(String, String)>> {
    sets.iter()
        .map(|s| match s.split_once('=') {
            Some((h, v)) if !h.trim().is_empty() => Ok((h.trim().to_owned(), v.to_owned())),
            _ => Err(Error::Usage(format!(
                "--set '{s}': expected HEADER=VALUE\nhint: --set X-XIMF-Primary-Precedence=routine"
            ))),
        })
        .collect()
}

/// Stamps the input and writes it out.
pub fn run(args: Args, ctx: &Ctx) -> Result<Outcome> {
    let sets = parse_sets(&args.sets)?;
    super::io::check_distinct(args.file.as_deref(), args.output.as_deref())?;
    let loaded = ctx.load(None)?;
    let config = &ctx.config.config;
    let name = args.instance.as_deref().or(config.instance.as_deref());
    let instance = super::verify::pick_instance(&loaded.profile, name)?;
    let model = loaded.model(instance)?;
    let policy = args.policy.clone().with_config(config);
    let chosen = policy.select(&model, ctx.now, "mua")?;
    let bytes = super::io::read_input(args.file.as_deref(), ctx.max_size)?;
    let message = Message::parse(bytes)?;
    let mut opts = StampOptions::default();
    opts.compat = !args.no_compat;
    opts.correspondence = chosen.map(|t| t.name.clone());
    // The new header section only: the body goes out straight from the input buffer.
    let head = stamp_header(&message, instance, &sets, &opts)?;
    if let Some(t) = chosen {
        // The chosen type's header-level demands (recipients, size, need-to-know, archive,
        // privacy, header values) are refused here, at the MUA, not discovered downstream.
        // Every violation at once, as for the values above.
        let stamped = Message::parse([head.as_slice(), message.rest()].concat())?;
        let recipients = ximf::policy::enforce::Recipients::of(&stamped, &[]);
        let problems =
            ximf::policy::enforce::check_message(t, &model, instance, &stamped, &recipients, "mua");
        if let Some(e) = ximf::stamp::refusal(&problems) {
            return Err(e);
        }
    }
    super::emit_message_parts(args.output.as_deref(), &[&head, message.rest()])?;
    Ok(Outcome::Done)
}
