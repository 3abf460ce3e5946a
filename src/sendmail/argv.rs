//! The argument vector of `ximf sendmail`, parsed by hand (style.md §4): sendmail's own options
//! (`-oi`, `-B8BITMIME`, `-odi`) are clustered getopt options that a derive parser fits badly,
//! and every one of them must reach the real sendmail exactly as it was written.
//!
//! Two kinds of option share the vector:
//!
//! - ximf's own: `-p FILE`/`--profile FILE` and long options (`--set H=V`, `--config FILE`, ...),
//!   given before `--`. They are consumed here and never passed on.
//! - sendmail's: the options mutt passes to `$sendmail` (`-B8BITMIME -f addr -N dsn -R ret`)
//!   and those of `sendmail -oi -t` users. They are passed on verbatim, in order, with `--` and
//!   the recipients, so the real sendmail sees exactly what the caller gave it minus ximf's part.
//!
//! As with glibc's getopt (which Postfix's and Sendmail's `sendmail` use), options and recipients
//! may be interleaved before `--`; everything after `--` is a recipient. Options that make
//! sendmail do something other than take one message from stdin (`-bs`, `-bp`, `-q`, `-I`, ...)
//! are refused: ximf could not check what it never sees.

use crate::{Error, Result};
use std::ffi::{OsStr, OsString};
use std::path::PathBuf;

/// Sendmail options that take a value, attached (`-oi`) or in the next argument (`-f addr`).
///
/// `B` body type, `C` config file/dir, `F` full name, `f`/`r` envelope sender, `h` hop count,
/// `L` syslog label, `N` DSN notify, `O`/`o` option, `R` DSN return, `V` envelope id.
pub const SENDMAIL_WITH_VALUE: &str = "BCFfhLNOoRrV";

/// Sendmail options without a value; they may be clustered (`-ti`).
///
/// `G` gateway submission, `i` dots are data, `m` me too, `n` no aliasing, `t` recipients from
/// the header, `U` initial submission, `v` verbose.
pub const SENDMAIL_FLAGS: &str = "GimntUv";

/// How a ximf long option is used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Takes {
    /// `--flag`.
    Nothing,
    /// `--name VALUE` or `--name=VALUE`.
    Value,
}

/// ximf's own long options, accepted before `--`. Kept as a table so the CLI can prove its
/// documentation (the man page, completions) lists exactly these.
pub const LONG_OPTIONS: &[(&str, Takes)] = &[
    ("profile", Takes::Value),
    ("instance", Takes::Value),
    ("usage", Takes::Value),
    ("context", Takes::Value),
    ("set", Takes::Value),
    ("no-compat", Takes::Nothing),
    ("sign", Takes::Nothing),
    ("encrypt", Takes::Nothing),
    ("mechanism", Takes::Value),
    ("key", Takes::Value),
    ("cert", Takes::Value),
    ("recipient", Takes::Value),
    ("ca", Takes::Value),
    ("keyring", Takes::Value),
    ("passphrase-file", Takes::Value),
    ("passphrase-fd", Takes::Value),
    ("no-system-ca", Takes::Nothing),
    ("config", Takes::Value),
    ("sendmail-command", Takes::Value),
    ("dead-letter", Takes::Value),
    ("timeout", Takes::Value),
    ("max-size", Takes::Value),
    ("quiet", Takes::Nothing),
    ("now", Takes::Value),
    ("help", Takes::Nothing),
];

/// ximf's own settings from the argument vector; `None`/empty means "not given" (the config file
/// or a default fills it).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Options {
    /// `-p/--profile`.
    pub profile: Option<PathBuf>,
    /// `--instance`.
    pub instance: Option<String>,
    /// `--usage`.
    pub usage: Option<String>,
    /// `--context K=V`, repeated.
    pub context: Vec<String>,
    /// `--set HEADER=VALUE`, repeated.
    pub sets: Vec<String>,
    /// `--no-compat`.
    pub no_compat: bool,
    /// `--sign`.
    pub sign: bool,
    /// `--encrypt`.
    pub encrypt: bool,
    /// `--mechanism`.
    pub mechanism: Option<String>,
    /// `--key`.
    pub key: Vec<PathBuf>,
    /// `--cert`.
    pub cert: Vec<PathBuf>,
    /// `--recipient`.
    pub recipient: Vec<PathBuf>,
    /// `--ca`.
    pub ca: Vec<PathBuf>,
    /// `--keyring`.
    pub keyring: Vec<PathBuf>,
    /// `--passphrase-file`: the first line unlocks encrypted private keys.
    pub passphrase_file: Option<PathBuf>,
    /// `--passphrase-fd`: a file descriptor to read the passphrase from.
    pub passphrase_fd: Option<u32>,
    /// `--no-system-ca`.
    pub no_system_ca: bool,
    /// `--config`.
    pub config: Option<PathBuf>,
    /// `--sendmail-command`.
    pub sendmail_command: Option<String>,
    /// `--dead-letter`.
    pub dead_letter: Option<PathBuf>,
    /// `--timeout SECONDS`.
    pub timeout: Option<u64>,
    /// `--max-size BYTES`.
    pub max_size: Option<u64>,
    /// `--quiet`.
    pub quiet: bool,
    /// `--now RFC3339` (hidden).
    pub now: Option<String>,
    /// `--help`.
    pub help: bool,
}

/// A parsed `ximf sendmail` command line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Invocation {
    /// ximf's own settings.
    pub options: Options,
    /// Everything for the real sendmail, verbatim and in the caller's order: its options, `--`
    /// when given, and the recipients.
    pub passthrough: Vec<OsString>,
    /// The recipients given as arguments (lossily decoded for messages and key lookup).
    pub recipients: Vec<String>,
    /// `-t`: the real sendmail takes the recipients from To, Cc and Bcc.
    pub header_recipients: bool,
    /// The envelope sender (`-f` or `-r`).
    pub sender: Option<String>,
}

/// Parses the arguments that follow `sendmail` (the program name and the word `sendmail`
/// excluded).
///
/// Fails with [`Error::Usage`] (exit 64) on an unknown option, an option without its value, a
/// value ximf cannot read (`--timeout x`), a sendmail mode other than delivering one message
/// (`-bs`, `-bp`, `-q`, `-I`, ...), or no recipients and no `-t`; `--help` is never an error.
pub fn parse(args: &[OsString]) -> Result<Invocation> {
    let mut inv = Invocation::default();
    let mut i = 0;
    while i < args.len() {
        let token = &args[i];
        i += 1;
        let Some(text) = token.to_str() else {
            // Not UTF-8: only a recipient can be that (an option never is); pass it on as is.
            if token.as_encoded_bytes().first() == Some(&b'-') {
                return Err(usage(format!(
                    "{}: an option that is not UTF-8",
                    token.to_string_lossy()
                )));
            }
            add_recipient(&mut inv, token);
            continue;
        };
        if text == "--" {
            inv.passthrough.push(token.clone());
            for rest in &args[i..] {
                add_recipient(&mut inv, rest);
            }
            break;
        }
        if let Some(long) = text.strip_prefix("--") {
            let (name, attached) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v.to_owned())),
                None => (long, None),
            };
            let Some(&(_, takes)) = LONG_OPTIONS.iter().find(|(n, _)| *n == name) else {
                return Err(usage(format!("--{name}: unknown option")));
            };
            let value = match (takes, attached) {
                (Takes::Nothing, Some(_)) => {
                    return Err(usage(format!("--{name}: takes no value")));
                }
                (Takes::Nothing, None) => None,
                (Takes::Value, Some(v)) => Some(v),
                (Takes::Value, None) => Some(next_value(args, &mut i, &format!("--{name}"))?),
            };
            set_long(&mut inv.options, name, value)?;
            continue;
        }
        if text == "-" || !text.starts_with('-') {
            add_recipient(&mut inv, token);
            continue;
        }
        if let Some(p) = text.strip_prefix("-p") {
            // ximf's profile, not sendmail's -p protocol: mutt never passes -p, and the design
            // (§2) gives -p to the profile on every command.
            inv.options.profile = Some(PathBuf::from(if p.is_empty() {
                next_value(args, &mut i, "-p")?
            } else {
                p.to_owned()
            }));
            continue;
        }
        inv.passthrough.push(token.clone());
        short_cluster(&mut inv, text, args, &mut i)?;
    }
    if !inv.options.help && inv.recipients.is_empty() && !inv.header_recipients {
        return Err(usage(
            "no recipients\nhint: give RECIPIENT... after the options, or -t to read them from \
             To, Cc and Bcc"
                .to_owned(),
        ));
    }
    Ok(inv)
}

/// Walks a cluster of sendmail short options (`-ti`, `-oi`, `-f addr`), recording what ximf
/// needs to know and passing the value argument on when it is separate.
fn short_cluster(inv: &mut Invocation, text: &str, args: &[OsString], i: &mut usize) -> Result<()> {
    let body = &text[1..];
    for (pos, c) in body.char_indices() {
        let rest = &body[pos + c.len_utf8()..];
        if SENDMAIL_FLAGS.contains(c) {
            if c == 't' {
                inv.header_recipients = true;
            }
            continue;
        }
        if SENDMAIL_WITH_VALUE.contains(c) {
            let value = if rest.is_empty() {
                let v = next_value(args, i, &format!("-{c}"))?;
                inv.passthrough.push(args[*i - 1].clone());
                v
            } else {
                rest.to_owned()
            };
            if c == 'f' || c == 'r' {
                inv.sender = Some(value);
            }
            return Ok(());
        }
        if c == 'b' {
            let mode = if rest.is_empty() {
                let v = next_value(args, i, "-b")?;
                inv.passthrough.push(args[*i - 1].clone());
                v
            } else {
                rest.to_owned()
            };
            // -bm is "deliver mail", the default; every other mode does not read one message.
            if mode != "m" {
                return Err(usage(format!(
                    "-b{mode}: not supported: ximf sendmail only delivers one message read from \
                     stdin"
                )));
            }
            return Ok(());
        }
        return Err(usage(format!(
            "-{c}: unknown or unsupported sendmail option\nhint: ximf sendmail accepts -B -C -F -f \
             -G -h -i -L -m -N -n -O -o -R -r -t -U -V -v -bm, and ximf's own long options"
        )));
    }
    Ok(())
}

fn add_recipient(inv: &mut Invocation, token: &OsStr) {
    inv.passthrough.push(token.to_owned());
    inv.recipients.push(token.to_string_lossy().into_owned());
}

fn next_value(args: &[OsString], i: &mut usize, what: &str) -> Result<String> {
    let Some(v) = args.get(*i) else {
        return Err(usage(format!("{what}: needs a value")));
    };
    *i += 1;
    v.to_str()
        .map(str::to_owned)
        .ok_or_else(|| usage(format!("{what}: the value is not UTF-8")))
}

fn set_long(o: &mut Options, name: &str, value: Option<String>) -> Result<()> {
    let v = value.unwrap_or_default();
    let number = |v: &str| {
        v.parse::<u64>()
            .map_err(|_| usage(format!("--{name}: '{v}' is not a whole number")))
    };
    match name {
        "profile" => o.profile = Some(v.into()),
        "instance" => o.instance = Some(v),
        "usage" => o.usage = Some(v),
        "context" => o.context.push(v),
        "set" => o.sets.push(v),
        "no-compat" => o.no_compat = true,
        "sign" => o.sign = true,
        "encrypt" => o.encrypt = true,
        "mechanism" => {
            if v != "smime" && v != "openpgp" {
                return Err(usage(format!("--mechanism: '{v}' is not smime or openpgp")));
            }
            o.mechanism = Some(v);
        }
        "key" => o.key.push(v.into()),
        "cert" => o.cert.push(v.into()),
        "recipient" => o.recipient.push(v.into()),
        "ca" => o.ca.push(v.into()),
        "keyring" => o.keyring.push(v.into()),
        "passphrase-file" => o.passphrase_file = Some(v.into()),
        "passphrase-fd" => {
            o.passphrase_fd =
                Some(v.parse::<u32>().map_err(|_| {
                    usage(format!("--passphrase-fd: '{v}' is not a file descriptor"))
                })?);
        }
        "no-system-ca" => o.no_system_ca = true,
        "config" => o.config = Some(v.into()),
        "sendmail-command" => o.sendmail_command = Some(v),
        "dead-letter" => o.dead_letter = Some(v.into()),
        "timeout" => o.timeout = Some(number(&v)?),
        "max-size" => o.max_size = Some(number(&v)?),
        "quiet" => o.quiet = true,
        "now" => o.now = Some(v),
        "help" => o.help = true,
        // LONG_OPTIONS and this match list the same names; a test holds them together.
        other => {
            return Err(Error::Internal(format!(
                "--{other}: option without a handler"
            )));
        }
    }
    Ok(())
}

fn usage(message: String) -> Error {
    Error::Usage(message)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(v: &[&str]) -> Vec<OsString> {
        v.iter().map(OsString::from).collect()
    }

    fn parse_ok(v: &[&str]) -> Invocation {
        match parse(&os(v)) {
            Ok(i) => i,
            Err(e) => panic!("{v:?}: {e}"),
        }
    }

    #[test]
    fn mutt_argv_passes_through_verbatim() {
        let v = [
            "-B8BITMIME",
            "-f",
            "alice@example.org",
            "-N",
            "failure,delay",
            "-R",
            "hdrs",
            "--",
            "bob@example.org",
            "-carol@example.org",
        ];
        let inv = parse_ok(&v);
        assert_eq!(inv.passthrough, os(&v));
        assert_eq!(inv.recipients, ["bob@example.org", "-carol@example.org"]);
        assert_eq!(inv.sender.as_deref(), Some("alice@example.org"));
        assert!(!inv.header_recipients);
    }

    #[test]
    fn ximf_options_are_consumed() {
        let inv = parse_ok(&[
            "-p",
            "/etc/ximf",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
            "--instance=Example",
            "--sendmail-command",
            "/bin/true",
            "-oi",
            "--",
            "bob@example.org",
        ]);
        assert_eq!(inv.passthrough, os(&["-oi", "--", "bob@example.org"]));
        assert_eq!(inv.options.profile, Some(PathBuf::from("/etc/ximf")));
        assert_eq!(inv.options.sets, ["X-XIMF-Primary-Precedence=routine"]);
        assert_eq!(inv.options.instance.as_deref(), Some("Example"));
        assert_eq!(inv.options.sendmail_command.as_deref(), Some("/bin/true"));
        let inv = parse_ok(&["-p/etc/ximf", "-t"]);
        assert_eq!(inv.options.profile, Some(PathBuf::from("/etc/ximf")));
    }

    #[test]
    fn sendmail_oi_t_and_clusters() {
        let inv = parse_ok(&["-oi", "-t"]);
        assert!(inv.header_recipients);
        assert_eq!(inv.passthrough, os(&["-oi", "-t"]));
        let inv = parse_ok(&["-ti", "-odi", "-F", "Alice Example", "-falice@x", "bob@x"]);
        assert!(inv.header_recipients);
        assert_eq!(inv.sender.as_deref(), Some("alice@x"));
        assert_eq!(inv.recipients, ["bob@x"]);
        assert_eq!(
            inv.passthrough,
            os(&["-ti", "-odi", "-F", "Alice Example", "-falice@x", "bob@x"])
        );
        // Interleaved as glibc getopt allows.
        let inv = parse_ok(&["bob@x", "-oi", "carol@x", "-bm"]);
        assert_eq!(inv.recipients, ["bob@x", "carol@x"]);
    }

    #[test]
    fn refusals_are_usage_errors() {
        for v in [
            &["-bs"][..],
            &["-bp"],
            &["-q"],
            &["-I"],
            &["-X", "/tmp/log", "bob@x"],
            &["--bogus", "bob@x"],
            &["-f"],
            &["--timeout", "soon", "bob@x"],
            &["--sign=yes", "bob@x"],
            &["--mechanism", "rot13", "bob@x"],
            &["-oi"],
            &[],
        ] {
            let e = parse(&os(v)).expect_err(&format!("{v:?}"));
            assert_eq!(e.class(), crate::ErrorClass::Usage, "{v:?}: {e}");
        }
        assert!(parse_ok(&["--help"]).options.help);
    }

    #[test]
    fn every_long_option_has_a_handler() {
        for (name, takes) in LONG_OPTIONS {
            let mut o = Options::default();
            let value = match (takes, *name) {
                (Takes::Nothing, _) => None,
                (Takes::Value, "timeout" | "max-size" | "passphrase-fd") => Some("1".to_owned()),
                (Takes::Value, "mechanism") => Some("smime".to_owned()),
                (Takes::Value, _) => Some("x".to_owned()),
            };
            assert!(set_long(&mut o, name, value).is_ok(), "--{name}");
            assert_ne!(o, Options::default(), "--{name} sets nothing");
        }
    }
}
