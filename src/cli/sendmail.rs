//! `ximf sendmail`: the drop-in `$sendmail` (design.md §2, §6).
//!
//! Its argument vector is sendmail's, not ours, so it is intercepted before clap and parsed by
//! hand ([`ximf::sendmail::argv`]). The clap [`Args`] below only documents it, for `--help`, the
//! man page and completions; a test holds the two in step.
//!
//! Fail-closed: on any failure nothing is sent, one stderr line says why (ending with where the
//! message was kept), the exit status tells the caller, and the original message is appended
//! to the dead-letter file — mutt in batch mode, cron and scripts keep no copy of their own.

use super::keys::{KeyArgs, PolicyArgs};
use clap::CommandFactory;
use std::ffi::OsString;
use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::time::Duration;
use ximf::config::Config;
use ximf::sendmail::argv::{self, Invocation};
use ximf::sendmail::deliver::{self, DeliverOptions, Handoff};
use ximf::sendmail::{Request, dead_letter};
use ximf::{Error, Result};

/// The real sendmail when neither `--sendmail-command` nor the config names one.
pub const DEFAULT_SENDMAIL: &str = "/usr/sbin/sendmail";
/// Set in the real sendmail's environment: if it is ximf again, we would loop.
const DEPTH_VAR: &str = "XIMF_SENDMAIL_DEPTH";

// The command's help is the one-line doc of its variant in cli/mod.rs, applied last. This
// text is a comment, not a doc comment: subcommands are built deferred, which would apply a
// doc comment here after the variant's and change `--help`.
//
// Stamp, check and send a message through the real sendmail (a drop-in $sendmail for mutt)
//
// Reads one message from stdin. XIMF fields the message already has (mutt's my_hdr) are kept
// and checked; --set and the config's [set] fill only what is missing. The message is stamped,
// checked, protected when asked, and piped to the real sendmail with every sendmail option and
// recipient given here, in order; its exit status is passed through. On any failure nothing is
// sent, one stderr line says why, and the original message is appended to the dead-letter file
// (mbox). ximf's own options go before `--`; -p is the profile, not sendmail's protocol.
#[derive(Debug, clap::Args)]
#[command(
    disable_version_flag = true,
    after_help = "Examples:\n  mutt: set sendmail=\"ximf sendmail -p /etc/ximf --config ~/.config/ximf/config.toml\"\n  \
    ximf sendmail --set X-XIMF-Primary-Precedence=routine -oi -t < msg.eml\n\n\
    Config: --config FILE, else $XIMF_CONFIG, else $XDG_CONFIG_HOME/ximf/config.toml \
    (~/.config/ximf/config.toml), else /etc/ximf/config.toml. Dead letter: --dead-letter, else the config's dead_letter, \
    else ~/dead.letter."
)]
// Documentation only: the hand parser fills ximf::sendmail::argv::Options instead.
#[allow(dead_code)]
pub struct Args {
    /// The instance when the message names none [default: config, then the profile's first]
    #[arg(long, value_name = "NAME")]
    instance: Option<String>,
    /// A header value for a header the message has no field for, HEADER=VALUE (repeat)
    #[arg(long = "set", value_name = "HEADER=VALUE")]
    sets: Vec<String>,
    /// Do not write compatibility aliases (X-P772-*, MMHS-*)
    #[arg(long)]
    no_compat: bool,
    /// Sign the message (keys from --key/--cert or the config's identity of the sender)
    #[arg(long)]
    sign: bool,
    /// Encrypt the message: every recipient (To, Cc, Bcc, arguments) needs a certificate, from
    /// --recipient, the config's identities, or, when no --recipient is given, found by address
    /// (cert_dir, GnuPG keyring)
    #[arg(long)]
    encrypt: bool,
    /// The protection mechanism
    #[arg(long, value_parser = ["smime", "openpgp"])]
    mechanism: Option<String>,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    keys: KeyArgs,
    /// The real sendmail, a command line split as sh would, quotes kept together (no
    /// expansion) [default: /usr/sbin/sendmail]
    #[arg(long, value_name = "CMD")]
    sendmail_command: Option<String>,
    /// Append a message that was not sent to this mbox [default: ~/dead.letter]
    #[arg(long, value_name = "FILE")]
    dead_letter: Option<PathBuf>,
    /// Kill the real sendmail after this many seconds and exit 75
    #[arg(long, value_name = "SECONDS", default_value_t = deliver::DEFAULT_TIMEOUT_SECS)]
    timeout: u64,
    /// Envelope sender (passed on)
    #[arg(short = 'f', value_name = "ADDR")]
    from: Option<String>,
    /// Envelope sender, old spelling (passed on)
    #[arg(short = 'r', value_name = "ADDR")]
    return_path: Option<String>,
    /// Full name of the sender (passed on)
    #[arg(short = 'F', value_name = "NAME")]
    full_name: Option<String>,
    /// Body type, 7BIT or 8BITMIME (passed on)
    #[arg(short = 'B', value_name = "TYPE")]
    body_type: Option<String>,
    /// DSN notify: never, or success,failure,delay (passed on)
    #[arg(short = 'N', value_name = "DSN")]
    notify: Option<String>,
    /// DSN return: hdrs or full (passed on)
    #[arg(short = 'R', value_name = "RET")]
    ret: Option<String>,
    /// DSN envelope id (passed on)
    #[arg(short = 'V', value_name = "ENVID")]
    envid: Option<String>,
    /// A sendmail option such as -oi or -odi (passed on)
    #[arg(short = 'o', value_name = "OPTION")]
    option: Vec<String>,
    /// A sendmail option NAME=VALUE (passed on)
    #[arg(short = 'O', value_name = "OPTION")]
    long_option: Vec<String>,
    /// The real sendmail's configuration (passed on)
    #[arg(short = 'C', value_name = "FILE")]
    sendmail_config: Option<String>,
    /// Syslog label (passed on)
    #[arg(short = 'L', value_name = "LABEL")]
    label: Option<String>,
    /// Mode: only m, deliver one message, is accepted (passed on)
    #[arg(short = 'b', value_name = "MODE")]
    mode: Option<String>,
    /// Take the recipients from To, Cc and Bcc (passed on)
    #[arg(short = 't')]
    header_recipients: bool,
    /// A line with a single dot does not end the message (passed on)
    #[arg(short = 'i')]
    dots: bool,
    /// Gateway submission (passed on)
    #[arg(short = 'G')]
    gateway: bool,
    /// Initial user submission (passed on)
    #[arg(short = 'U')]
    initial: bool,
    /// Send to me too (passed on)
    #[arg(short = 'm')]
    me_too: bool,
    /// No aliasing (passed on)
    #[arg(short = 'n')]
    no_alias: bool,
    /// Verbose (passed on)
    #[arg(short = 'v')]
    verbose: bool,
    /// Recipients (after --; passed on)
    #[arg(value_name = "RECIPIENT")]
    recipients: Vec<String>,
}

/// Runs `ximf [GLOBAL...] sendmail ARGS...` when `argv` is that; `None` otherwise (clap then
/// parses `argv`). Global flags before `sendmail` are accepted and come before its own.
pub fn intercept(argv: &[OsString]) -> Option<u8> {
    let mut globals: Vec<OsString> = Vec::new();
    let mut i = 1;
    while let Some(word) = argv.get(i) {
        let w = word.to_str()?;
        match w {
            "sendmail" => {
                globals.extend(argv[i + 1..].iter().cloned());
                return Some(run(&globals));
            }
            "-p" | "--profile" | "--config" | "--max-size" | "--now" => {
                globals.push(word.clone());
                globals.push(argv.get(i + 1)?.clone());
                i += 2;
            }
            "--format" => i += 2, // reports only; sendmail has none
            "-q" | "--quiet" => {
                globals.push("--quiet".into());
                i += 1;
            }
            _ if w.starts_with("--format=") => i += 1,
            _ if ["--profile=", "--config=", "--max-size=", "--now="]
                .iter()
                .any(|p| w.starts_with(p))
                || (w.starts_with("-p") && !w.starts_with("--")) =>
            {
                globals.push(word.clone());
                i += 1;
            }
            _ => return None,
        }
    }
    None
}

/// What the process environment says; read once, here, because the library never reads it.
struct Env {
    home: Option<PathBuf>,
    looping: bool,
}

impl Env {
    fn read() -> Env {
        Env {
            home: super::config::home(),
            looping: std::env::var_os(DEPTH_VAR).is_some(),
        }
    }

    /// The one configuration every command reads ([`super::config::load`]).
    fn load_config(&self, flag: Option<&Path>) -> Result<Config> {
        Ok(super::config::load(flag)?.config)
    }
}

/// `~` and `$HOME` in the path options, as clap's value parser does for the other commands:
/// mutt runs `$sendmail` without a shell.
fn expand_paths(mut inv: Invocation, home: Option<&Path>) -> Result<Invocation> {
    let o = &mut inv.options;
    let fix = |p: &mut PathBuf| -> Result<()> {
        *p = ximf::config::expand(p, home).map_err(Error::Usage)?;
        Ok(())
    };
    let singles = [&mut o.profile, &mut o.config, &mut o.dead_letter];
    for p in singles.into_iter().flatten() {
        fix(p)?;
    }
    let lists = [
        &mut o.key,
        &mut o.cert,
        &mut o.recipient,
        &mut o.ca,
        &mut o.keyring,
    ];
    for p in lists.into_iter().flatten() {
        fix(p)?;
    }
    Ok(inv)
}

fn run(args: &[OsString]) -> u8 {
    let env = Env::read();
    let parsed = argv::parse(args).and_then(|inv| expand_paths(inv, env.home.as_deref()));
    if let Ok(inv) = &parsed
        && inv.options.help
    {
        return print_help();
    }
    let options = parsed
        .as_ref()
        .map(|i| i.options.clone())
        .unwrap_or_default();
    let config = parsed
        .as_ref()
        .map_err(|_| ())
        .map(|_| env.load_config(options.config.as_deref()));
    let dead = options
        .dead_letter
        .clone()
        .or_else(|| match &config {
            Ok(Ok(c)) => c.dead_letter.clone(),
            _ => None,
        })
        .or_else(|| env.home.as_ref().map(|h| h.join("dead.letter")));
    let now = options
        .now
        .as_deref()
        .and_then(ximf::clock::parse_rfc3339)
        .unwrap_or_else(|| ximf::clock::Clock::now(&ximf::clock::SystemClock));

    // Read the message before judging anything else: whatever fails, it must be kept.
    let limit = options.max_size.unwrap_or(64 << 20);
    let stdin = std::io::stdin();
    let mut input = stdin.lock();
    let mut head = Vec::new();
    // Except from a terminal after a usage error: there is nothing to keep, and waiting for
    // end-of-file there would only look like a hang.
    let read = if parsed.is_err() && input.is_terminal() {
        Ok(0)
    } else {
        (&mut input)
            .take(limit.saturating_add(1))
            .read_to_end(&mut head)
    };
    let overflow = head.len() as u64 > limit;

    let outcome = (|| -> Result<Handoff> {
        let inv = parsed?;
        let config = config.map_err(|()| Error::Internal("config without argv".into()))??;
        read?;
        if overflow {
            return Err(Error::TooLarge { limit });
        }
        send(&inv, &config, &env, &head, now)
    })();
    let (code, why) = match outcome {
        Ok(Handoff::Exited(0)) => return 0,
        // The real sendmail said why on its own stderr; we add where the message went.
        Ok(Handoff::Exited(c)) => (c, format!("the real sendmail exited with status {c}")),
        Err(e) => (super::exit::code(e.class()), e.to_string()),
    };
    let sender = parsed_sender(args);
    let kept = match &dead {
        // Nothing came in (a usage error typed at a terminal, an empty pipe): nothing to keep.
        _ if head.is_empty() => "no message was read".to_owned(),
        Some(p) => match dead_letter::append(p, sender.as_deref(), now, &head, &mut input) {
            Ok(()) => format!("message kept in {}", p.display()),
            Err(e @ Error::Output { .. }) => format!("message NOT kept: {e}"),
            Err(e) => format!("message NOT kept: {}: {e}", p.display()),
        },
        None => "message NOT kept: no dead-letter file (set --dead-letter or $HOME)".to_owned(),
    };
    let mut lines = why.lines();
    eprintln!(
        "ximf sendmail: {}; nothing sent, {kept}",
        lines.next().unwrap_or("failed")
    );
    if !options.quiet {
        for l in lines.filter(|l| l.starts_with("hint: ")) {
            eprintln!("{l}");
        }
    }
    code
}

/// The envelope sender for the dead letter's `From ` line, even when the rest of argv is bad.
fn parsed_sender(args: &[OsString]) -> Option<String> {
    argv::parse(args).ok().and_then(|i| i.sender)
}

/// Stamps, checks and hands the message to the real sendmail.
fn send(inv: &Invocation, config: &Config, env: &Env, message: &[u8], now: i64) -> Result<Handoff> {
    let o = &inv.options;
    if env.looping {
        return Err(Error::Config(format!(
            "the real sendmail runs ximf sendmail again (${DEPTH_VAR} is set)\nhint: point \
             --sendmail-command or sendmail_command at the real sendmail"
        )));
    }
    let profile = match o.profile.as_deref().or(config.profile.as_deref()) {
        Some(p) => ximf::profile::load(p)?,
        None => ximf::profile::builtin(),
    };
    let message = ximf::message::Message::parse(message.to_vec())?;
    let mut req = Request::default();
    req.instance = o.instance.clone();
    req.default_instance = config.instance.clone();
    req.sets = super::stamp::parse_sets(&o.sets)?;
    req.default_sets = config.set_pairs();
    req.compat = !o.no_compat;
    req.usage = o.usage.clone().or_else(|| config.usage.clone());
    req.sign = o.sign || config.sign == Some(true);
    req.encrypt = o.encrypt || config.encrypt == Some(true);
    req.mechanism = o.mechanism.clone().or_else(|| config.mechanism.clone());
    req.now = now;
    // Context: the config's [context], then $XIMF_CONTEXT, then --context; time and os last.
    let mut ctx_items: Vec<String> = config
        .context
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    ctx_items.extend(
        std::env::var("XIMF_CONTEXT")
            .ok()
            .into_iter()
            .flat_map(|e| e.split(',').map(str::to_owned).collect::<Vec<_>>()),
    );
    ctx_items.extend(o.context.iter().cloned());
    req.context = ximf::policy::select::Context::build(None, &ctx_items)?
        .with_defaults(now, std::env::consts::OS);
    req.keys = keys_for(inv, config, &message)?;
    req.lookup = Some(super::lookup::lookup(config, &o.recipient));
    req.envelope = inv.recipients.clone();
    let out = ximf::sendmail::prepare(&message, &profile, &req)?;
    let command: Vec<OsString> = match (&o.sendmail_command, &config.sendmail_command) {
        (Some(c), _) => ximf::config::split_command(c)
            .map_err(|e| Error::Usage(format!("--sendmail-command: {e}")))?
            .into_iter()
            .map(OsString::from)
            .collect(),
        (None, Some(w)) => w.to_vec()?.into_iter().map(OsString::from).collect(),
        (None, None) => vec![DEFAULT_SENDMAIL.into()],
    };
    if command.is_empty() {
        return Err(Error::Usage("--sendmail-command: empty".into()));
    }
    let mut opts = DeliverOptions::default();
    opts.timeout = Duration::from_secs(
        o.timeout
            .or(config.timeout)
            .unwrap_or(opts.timeout.as_secs()),
    );
    opts.env = vec![(DEPTH_VAR.into(), "1".into())];
    deliver::deliver(&command, &inv.passthrough, &out, &opts)
}

/// Key material: the KEYS flags, plus the config's identity of the sender (key and cert) and of
/// each recipient (cert), and its trust anchors.
fn keys_for(
    inv: &Invocation,
    config: &Config,
    message: &ximf::message::Message,
) -> Result<ximf::protect::Keys> {
    let o = &inv.options;
    let (mut key, mut cert) = (o.key.clone(), o.cert.clone());
    // Recipients named by address are looked up when encrypting (req.lookup).
    let mut recipient = super::lookup::split(&o.recipient).0;
    let (mut ca, mut keyring) = (o.ca.clone(), o.keyring.clone());
    ca.extend(config.trust.ca.iter().cloned());
    keyring.extend(config.trust.keyring.iter().cloned());
    let from = ximf::policy::enforce::mailboxes(&message.value("From").unwrap_or_default());
    let senders = from.iter().chain(inv.sender.iter());
    for s in senders {
        if let Some(id) = lookup(config, s) {
            key.extend(id.key.iter().cloned());
            cert.extend(id.cert.iter().cloned());
        }
    }
    let mut rcpts = inv.recipients.clone();
    rcpts.extend(ximf::policy::enforce::Recipients::of(message, &[]).addresses);
    for r in &rcpts {
        if let Some(id) = lookup(config, r) {
            recipient.extend(id.cert.iter().cloned());
        }
    }
    let paths = super::passphrase::Paths {
        key,
        config_key: Vec::new(),
        cert,
        recipient,
        ca,
        keyring,
    };
    let source = super::passphrase::Source {
        file: o.passphrase_file.clone(),
        fd: o.passphrase_fd,
    };
    let mut keys = super::passphrase::load_keys(&paths, &source)?;
    keys.system_ca = !o.no_system_ca && config.system_ca();
    Ok(keys)
}

fn lookup<'c>(config: &'c Config, addr: &str) -> Option<&'c ximf::config::Identity> {
    config
        .identities
        .iter()
        .find(|(a, _)| a.eq_ignore_ascii_case(addr.trim()))
        .map(|(_, id)| id)
}

fn print_help() -> u8 {
    let mut cmd = super::Cli::command();
    cmd.build();
    let text = match cmd.find_subcommand_mut("sendmail") {
        Some(s) => s.render_long_help().to_string(),
        None => String::new(),
    };
    match super::emit_report(&text) {
        Ok(()) => 0,
        Err(e) => super::exit::code(e.class()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ximf::sendmail::argv::{LONG_OPTIONS, SENDMAIL_FLAGS, SENDMAIL_WITH_VALUE, Takes};

    /// The documentation (clap) and the parser (hand-written) list the same options.
    #[test]
    fn documented_options_match_the_parser() {
        let mut cmd = super::super::Cli::command();
        cmd.build();
        let sub = cmd.find_subcommand("sendmail").expect("sendmail");
        for (name, takes) in LONG_OPTIONS {
            if *name == "help" {
                continue;
            }
            let arg = sub
                .get_arguments()
                .find(|a| a.get_long() == Some(name))
                .unwrap_or_else(|| panic!("--{name} is not documented"));
            assert_eq!(
                arg.get_action().takes_values(),
                *takes == Takes::Value,
                "--{name}"
            );
        }
        for a in sub.get_arguments() {
            if let Some(long) = a.get_long() {
                assert!(
                    ["help", "format"].contains(&long)
                        || LONG_OPTIONS.iter().any(|(n, _)| *n == long),
                    "--{long} is documented but not parsed"
                );
            }
            if let Some(c) = a.get_short()
                && !['p', 'q', 'h'].contains(&c)
            {
                let parsed = SENDMAIL_WITH_VALUE.contains(c) || c == 'b';
                let flag = SENDMAIL_FLAGS.contains(c);
                assert!(parsed || flag, "-{c} is documented but not parsed");
                assert_eq!(a.get_action().takes_values(), parsed, "-{c}");
            }
        }
    }

    #[test]
    fn globals_before_the_subcommand_are_recognised() {
        let v = |s: &[&str]| s.iter().map(OsString::from).collect::<Vec<_>>();
        // Not sendmail: clap's business.
        assert_eq!(intercept(&v(&["ximf", "verify", "x"])), None);
        assert_eq!(intercept(&v(&["ximf", "-p", "x", "stamp"])), None);
        assert_eq!(intercept(&v(&["ximf", "--bogus", "sendmail"])), None);
    }
}
