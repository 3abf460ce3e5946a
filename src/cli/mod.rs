//! The command line: flags → library calls, results → exit status. Handlers stay thin; the
//! logic lives in the library (style.md §4).

mod config;
mod exit;
mod generate;
mod gnupg;
mod io;
mod keys;
mod lookup;
mod milter;
mod passphrase;
mod profile;
mod protect;
mod sendmail;
mod stamp;
mod verify;

use clap::{Parser, Subcommand, ValueEnum};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use ximf::{Error, Result};

/// Stamp, protect and verify XIMF-profiled e-mail
///
/// ximf reads XIMF 2.0 profiles (Trustedbird's format), stamps outgoing messages with the
/// correspondence headers a profile defines, and verifies incoming messages against it. Every
/// command reads a message from FILE or stdin and is quiet on success.
#[derive(Debug, Parser)]
#[command(name = "ximf", version, propagate_version = true, after_help = EXIT_HELP)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Profile: an XIMF instance file, a catalog, or a directory holding one [default: built-in]
    #[arg(short = 'p', long, global = true, value_name = "PROFILE", value_parser = config::path)]
    profile: Option<PathBuf>,
    /// Configuration file [default: $XIMF_CONFIG, else $XDG_CONFIG_HOME/ximf/config.toml,
    /// else /etc/ximf/config.toml]
    #[arg(long, global = true, value_name = "FILE", value_parser = config::path)]
    config: Option<PathBuf>,
    /// Output format of reports
    #[arg(long, global = true, value_enum, default_value_t = Format::Text)]
    format: Format,
    /// Print no hints, only the one error line
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Largest message accepted, in bytes
    #[arg(long, global = true, value_name = "BYTES", default_value_t = 64 << 20)]
    max_size: u64,
    /// Fix the clock (RFC 3339), for reproducible output
    #[arg(long, global = true, hide = true, value_name = "RFC3339")]
    now: Option<String>,
}

const EXIT_HELP: &str = "Exit status: 0 done/conforming, 1 not conforming, 64 usage, 65 bad input \
message or value, 66 no input, 67 no key, 69 sendmail unavailable, 70 internal error, 73 cannot \
create output, 74 I/O error, 75 temporary failure, 77 private key locked (no or wrong \
passphrase), 78 profile or configuration error.";

/// Report formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Lines for people
    Text,
    /// One JSON object
    Json,
}

// Deferred: a subcommand's flags are built only when it is the one run (or for help, man pages
// and completions, which build the whole tree), not the 200-odd flags of every command on every
// start-up (issue 13). Deferred, a subcommand's `Args` struct is applied *after* the variant's
// doc below, so neither it nor a group it flattens may carry a doc comment (clap would make it
// the command's about); `deferred_subcommands_keep_their_about` holds that.
#[derive(Debug, Subcommand)]
#[command(defer = true)]
enum Command {
    /// Check, show and list XIMF profiles
    #[command(subcommand)]
    Profile(profile::Command),
    /// Add the XIMF header fields of a profile instance to a message
    Stamp(stamp::Args),
    /// Sign and/or encrypt a message as its correspondence type demands
    Protect(protect::ProtectArgs),
    /// Check a message against its XIMF profile
    Verify(verify::Args),
    /// Decrypt an S/MIME or PGP/MIME message
    Decrypt(protect::DecryptArgs),
    /// Stamp, check and send a message through the real sendmail (a drop-in $sendmail for mutt)
    Sendmail(Box<sendmail::Args>),
    /// Serve as a milter: verify, annotate, hold or refuse mail at SMTP time
    Milter(Box<milter::Args>),
    /// Show the effective configuration
    #[command(subcommand)]
    Config(config::Command),
    /// Generate the man pages or a shell completion script
    #[command(subcommand, hide = true)]
    Generate(generate::Command),
}

/// What a command tells its caller besides success.
pub enum Outcome {
    /// Done, conforming.
    Done,
    /// Ran fine, but the answer is "no" (verify, lint): exit 1.
    Negative,
}

/// Settings every handler sees.
pub struct Ctx {
    /// The `-p` profile path, if given.
    pub profile: Option<PathBuf>,
    /// The configuration file in use (empty for `profile` and `generate`, which read none).
    pub config: ximf::config::Located,
    /// Report format.
    pub format: Format,
    /// Unix time standing for "now".
    pub now: i64,
    /// `--max-size`.
    pub max_size: u64,
}

impl Ctx {
    /// Loads the `-p` profile (or `path`), or the built-in one. A standalone correspondence model
    /// (`cm:model`) loads the catalog it names.
    pub fn load_profile(&self, path: Option<&Path>) -> Result<ximf::profile::Profile> {
        Ok(self.load(path)?.profile)
    }

    /// Loads the profile (`path`, else `-p`, else the config's `profile`) and the
    /// correspondence models that stand beside it.
    pub fn load(&self, path: Option<&Path>) -> Result<Loaded> {
        let configured = self.config.config.profile.as_deref();
        let Some(p) = path.or(self.profile.as_deref()).or(configured) else {
            return Ok(Loaded {
                profile: ximf::profile::builtin(),
                models: Vec::new(),
                whole: None,
            });
        };
        match ximf::policy::parse::sniff_model_file(p)? {
            Some((catalog, models)) => Ok(Loaded {
                profile: ximf::profile::load(&catalog)?,
                models,
                whole: None,
            }),
            None => Ok(Loaded {
                profile: ximf::profile::load(p)?,
                models: Vec::new(),
                whole: None,
            }),
        }
    }

    /// [`Ctx::load`] for a command that looks its instance up per message (`verify`): the
    /// built-in profile comes with its plain instance only, and the rest is compiled the first
    /// time a message (or `--instance`) needs it, through [`Loaded::for_instance`]. Plain mail
    /// is most of what a filter sees, and compiling the worked example costs more than the
    /// rest of a small verify besides the cryptography (issue 13).
    pub fn load_lazily(&self) -> Result<Loaded> {
        let configured = self.config.config.profile.as_deref();
        if self.profile.is_some() || configured.is_some() {
            return self.load(None);
        }
        Ok(Loaded {
            profile: ximf::profile::builtin_plain(),
            models: Vec::new(),
            whole: Some(std::sync::OnceLock::new()),
        })
    }
}

/// A profile and its standalone correspondence models.
pub struct Loaded {
    /// The profile.
    pub profile: ximf::profile::Profile,
    /// (instance name or none for every instance, model) from a `cm:model` file.
    pub models: Vec<(Option<String>, ximf::policy::Model)>,
    /// From [`Ctx::load_lazily`]: `profile` is the built-in one with only its plain instance,
    /// and this is the whole of it, once something needs more.
    whole: Option<std::sync::OnceLock<ximf::profile::Profile>>,
}

impl Loaded {
    /// The profile to judge a message with when it (or `--instance`) names `wanted`, or names
    /// no instance. The same answers as the whole profile: a lazily loaded built-in profile
    /// serves from its plain instance only when that is the instance the name finds (or the
    /// one a message naming none is held to); any other name, unknown ones included (whose
    /// error lists every instance), is looked up in the whole profile.
    pub fn for_instance(&self, wanted: Option<&str>) -> &ximf::profile::Profile {
        let Some(whole) = &self.whole else {
            return &self.profile;
        };
        let served = match wanted {
            Some(n) => self.profile.instance(n).is_some(),
            None => self.profile.instances.iter().any(|i| i.plain),
        };
        match served {
            true => &self.profile,
            false => whole.get_or_init(ximf::profile::builtin),
        }
    }

    /// The correspondence model of `instance`: its own `custom` rules plus the standalone ones.
    pub fn model(&self, instance: &ximf::profile::Instance) -> Result<ximf::policy::Model> {
        let mut m = ximf::policy::parse::from_instance(instance)?;
        for (name, extra) in &self.models {
            if name
                .as_deref()
                .is_none_or(|n| n.eq_ignore_ascii_case(&instance.name))
            {
                m.types.extend(extra.types.iter().cloned());
            }
        }
        Ok(m)
    }
}

/// Runs the program and returns its exit status; panics become 70.
pub fn main() -> ExitCode {
    std::panic::set_hook(Box::new(|info| {
        if ximf::pgp::panic_is_caught() {
            // Sequoia gave up on hostile input under the library's guard: it becomes an error.
            return;
        }
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        // One line, as every error: logs and bounces keep only the start.
        let what = what.lines().next().unwrap_or_default().to_owned();
        eprintln!("ximf: internal error: panic: {what}");
    }));
    match std::panic::catch_unwind(run) {
        Ok(code) => ExitCode::from(code),
        Err(_) => ExitCode::from(exit::SOFTWARE),
    }
}

fn run() -> u8 {
    // Lets the test suite prove that a panic anywhere becomes exit 70 with one stderr line.
    if std::env::var_os("XIMF_TEST_PANIC").is_some() {
        panic!("XIMF_TEST_PANIC is set");
    }
    // sendmail's argv is sendmail's, not ours: it is parsed by hand before clap sees it.
    if let Some(code) = sendmail::intercept(&std::env::args_os().collect::<Vec<_>>()) {
        return code;
    }
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => return clap_error(e),
    };
    let name = command_name(&cli.command);
    let now = match cli.now.as_deref() {
        Some(s) => match ximf::clock::parse_rfc3339(s) {
            Some(t) => t,
            None => {
                eprintln!("ximf {name}: --now: '{s}' is not an RFC 3339 time");
                return exit::USAGE;
            }
        },
        None => ximf::clock::Clock::now(&ximf::clock::SystemClock),
    };
    // Every command that can use the configuration reads it, so a broken file fails them
    // alike (78); `profile` takes its `profile` when no path or -p is given; generate works on
    // what it is given.
    let config = match &cli.command {
        Command::Generate(_) => Ok(ximf::config::Located::default()),
        _ => config::load(cli.config.as_deref()),
    };
    let config = match config {
        Ok(c) => c,
        Err(e) => {
            report_error(name, &e, cli.quiet);
            return exit::code(e.class());
        }
    };
    let ctx = Ctx {
        profile: cli.profile,
        config,
        format: cli.format,
        now,
        max_size: cli.max_size,
    };
    let result = match cli.command {
        Command::Profile(c) => profile::run(c, &ctx),
        Command::Stamp(a) => stamp::run(a, &ctx),
        Command::Protect(a) => protect::run_protect(a, &ctx),
        Command::Verify(a) => verify::run(a, &ctx),
        Command::Decrypt(a) => protect::run_decrypt(a, &ctx),
        // Only reached when a flag clap knows precedes `sendmail` but intercept does not.
        Command::Sendmail(_) => Err(Error::Usage(
            "put ximf's flags after 'sendmail'\nhint: ximf sendmail -p PROFILE ... -- RECIPIENT"
                .into(),
        )),
        Command::Milter(a) => milter::run(*a, &ctx, cli.now.is_some()),
        Command::Config(c) => config::run(c, &ctx),
        Command::Generate(c) => generate::run(c),
    };
    match result {
        Ok(Outcome::Done) => 0,
        Ok(Outcome::Negative) => exit::NONCONFORMING,
        Err(e) => {
            report_error(name, &e, cli.quiet);
            exit::code(e.class())
        }
    }
}

fn command_name(c: &Command) -> &'static str {
    match c {
        Command::Profile(_) => "profile",
        Command::Stamp(_) => "stamp",
        Command::Protect(_) => "protect",
        Command::Verify(_) => "verify",
        Command::Decrypt(_) => "decrypt",
        Command::Sendmail(_) => "sendmail",
        Command::Milter(_) => "milter",
        Command::Config(_) => "config",
        Command::Generate(_) => "generate",
    }
}

/// One line `ximf <command>: <what>: <why>`, then an optional `hint:` line.
fn report_error(name: &str, e: &Error, quiet: bool) {
    let text = e.to_string();
    let mut lines = text.lines();
    eprintln!("ximf {name}: {}", lines.next().unwrap_or("failed"));
    if !quiet {
        for l in lines.filter(|l| l.starts_with("hint: ")) {
            eprintln!("{l}");
        }
    }
}

/// clap's help and version go to stdout with 0; its usage errors become one line and 64.
fn clap_error(e: clap::Error) -> u8 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) {
                let _ = e.print();
                return exit::USAGE;
            }
            let _ = e.print();
            0
        }
        _ => {
            let rendered = e.render().to_string();
            let first = rendered
                .lines()
                .next()
                .unwrap_or("bad arguments")
                .trim_start_matches("error: ");
            // Name the command, as every other error line does: `ximf verify: ...`.
            match command_in_argv() {
                Some(c) => eprintln!("ximf {c}: {first}"),
                None => eprintln!("ximf: {first}"),
            }
            eprintln!("hint: try 'ximf --help'");
            exit::USAGE
        }
    }
}

/// The subcommand named on the command line, skipping global flags and their values.
fn command_in_argv() -> Option<String> {
    const COMMANDS: [&str; 8] = [
        "profile", "stamp", "protect", "verify", "decrypt", "sendmail", "milter", "config",
    ];
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "-p" | "--profile" | "--config" | "--format" | "--max-size" | "--now" => {
                args.next();
            }
            s if s.starts_with('-') => {}
            s => return COMMANDS.contains(&s).then(|| s.to_owned()),
        }
    }
    None
}

/// Writes a payload that is a message: a closed pipe loses mail, so it is an I/O error (74).
pub fn emit_message(out: Option<&Path>, data: &[u8]) -> Result<()> {
    emit_message_parts(out, &[data])
}

/// [`emit_message`] for a message given as consecutive parts.
pub fn emit_message_parts(out: Option<&Path>, parts: &[&[u8]]) -> Result<()> {
    emit_message_stream(out, parts, &mut std::io::empty())
}

/// [`emit_message_parts`], then everything `rest` holds, copied in small blocks.
pub fn emit_message_stream(
    out: Option<&Path>,
    parts: &[&[u8]],
    rest: &mut dyn std::io::Read,
) -> Result<()> {
    io::Sink::new(out)
        .write_stream(parts, rest)
        .map_err(|e| match e {
            // Say what failed: "writing the message: No space left on device".
            Error::Io(io) => Error::Io(std::io::Error::new(
                io.kind(),
                format!("writing the message: {io}"),
            )),
            e => e,
        })
}

/// Writes a report: a reader that went away (`| head`) is not an error.
pub fn emit_report(data: &str) -> Result<()> {
    match io::Sink::Stdout.write(data.as_bytes()) {
        Err(Error::Io(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        r => r,
    }
}

#[cfg(test)]
mod tests {
    use super::Cli;
    use clap::CommandFactory;

    /// Each subcommand's help text is its variant's doc, built or not (see `Command`).
    #[test]
    fn deferred_subcommands_keep_their_about() {
        let unbuilt = Cli::command();
        let mut built = Cli::command();
        built.build();
        let text = |s: Option<&clap::builder::StyledStr>| s.map(|s| s.to_string());
        for u in unbuilt.get_subcommands() {
            let b = built
                .find_subcommand(u.get_name())
                .expect("the same subcommands");
            assert_eq!(text(b.get_about()), text(u.get_about()), "{}", u.get_name());
            assert_eq!(
                text(b.get_long_about()),
                text(u.get_long_about()),
                "{}",
                u.get_name()
            );
        }
    }

    #[test]
    fn clap_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    /// Help style (style.md §4): every command and flag has help whose first line is
    /// capitalised and has no trailing period.
    #[test]
    fn help_lint() {
        fn walk(cmd: &clap::Command, path: &str) {
            let about = cmd.get_about().map(|a| a.to_string()).unwrap_or_default();
            assert!(!about.is_empty(), "{path}: no about");
            assert!(
                about.chars().next().is_some_and(char::is_uppercase),
                "{path}: {about}"
            );
            assert!(!about.ends_with('.'), "{path}: trailing period: {about}");
            for a in cmd.get_arguments() {
                if a.is_hide_set() || a.get_id() == "help" || a.get_id() == "version" {
                    continue;
                }
                let h = a.get_help().map(|h| h.to_string()).unwrap_or_default();
                assert!(!h.is_empty(), "{path} --{}: no help", a.get_id());
                assert!(
                    !h.ends_with('.'),
                    "{path} --{}: trailing period",
                    a.get_id()
                );
            }
            for sub in cmd.get_subcommands() {
                if sub.get_name() != "help" {
                    walk(sub, &format!("{path} {}", sub.get_name()));
                }
            }
        }
        // Built first: the subcommands' flags are deferred until then.
        let mut cmd = Cli::command();
        cmd.build();
        walk(&cmd, "ximf");
    }
}
