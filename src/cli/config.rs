//! `ximf config show`, and the CLI's side of the one configuration file: which file (flag and
//! environment, read here because the library reads no variables) and `~`/`$HOME` in path
//! flags.

use super::{Ctx, Format, Outcome};
use serde_json::Value;
use std::path::{Path, PathBuf};
use ximf::Result;
use ximf::config::{Effective, Located, SYSTEM_PATH, Search, Source};

/// Hidden: replaces /etc/ximf/config.toml, so tests can exercise the system-wide file without
/// writing to /etc. Not documented for users: `$XIMF_CONFIG` is the user-facing override.
const SYSTEM_VAR: &str = "XIMF_SYSTEM_CONFIG";

#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Print the effective configuration and where each value came from
    ///
    /// One `key = value  # from SOURCE` line per setting (--format json: one object). SOURCE is
    /// a flag, an environment variable, the configuration file's path, or `default`. The file
    /// is --config FILE, else $XIMF_CONFIG, else $XDG_CONFIG_HOME/ximf/config.toml
    /// (~/.config/ximf/config.toml), else /etc/ximf/config.toml.
    Show,
}

/// A non-empty environment variable.
fn var(k: &str) -> Option<PathBuf> {
    std::env::var_os(k)
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
}

/// `$HOME`, when set and not empty.
pub fn home() -> Option<PathBuf> {
    var("HOME")
}

/// Where the configuration is looked for: `flag` (`--config`), `$XIMF_CONFIG`,
/// `$XDG_CONFIG_HOME/ximf/config.toml` (`$HOME/.config/...` when unset), the system file.
pub fn search(flag: Option<&Path>) -> Search {
    let home = home();
    let mut s = Search::default();
    s.flag = flag.map(Path::to_owned);
    s.env = var("XIMF_CONFIG");
    s.user = var("XDG_CONFIG_HOME")
        .or_else(|| home.as_ref().map(|h| h.join(".config")))
        .map(|d| d.join("ximf/config.toml"));
    s.system = Some(var(SYSTEM_VAR).unwrap_or_else(|| PathBuf::from(SYSTEM_PATH)));
    s.home = home;
    s
}

/// Loads the configuration for `flag` ([`search`]).
pub fn load(flag: Option<&Path>) -> Result<Located> {
    search(flag).load()
}

/// clap value parser for every path flag: `~` and `$HOME` at the start are the home directory
/// (mutt runs `$sendmail` without a shell, and `--key=~/k` is not expanded by one).
pub fn path(s: &str) -> std::result::Result<PathBuf, String> {
    ximf::config::expand(Path::new(s), home().as_deref())
}

/// Runs `config show`.
pub fn run(cmd: Command, ctx: &Ctx) -> Result<Outcome> {
    let Command::Show = cmd;
    let mut e = Effective::new(&ctx.config);
    if let Some(p) = &ctx.profile {
        e.set(
            &["profile"],
            p.display().to_string().into(),
            Source::Flag("-p".into()),
        );
    }
    // $XIMF_CONTEXT overrides the file's [context] (as `--context` would override both).
    if let Ok(env) = std::env::var("XIMF_CONTEXT") {
        for (k, v) in env.split(',').filter_map(|i| i.split_once('=')) {
            let k = k.trim().to_ascii_lowercase();
            if !k.is_empty() {
                e.set(
                    &["context", &k],
                    v.trim().into(),
                    Source::Env("XIMF_CONTEXT".into()),
                );
            }
        }
    }
    let home_file = |name: &str| home().map(|h| h.join(name).display().to_string());
    e.fallback(&["profile"], "built-in".into());
    e.fallback(&["sign"], false.into());
    e.fallback(&["encrypt"], false.into());
    e.fallback(&["trust", "ca"], Value::Array(Vec::new()));
    e.fallback(&["trust", "keyring"], Value::Array(Vec::new()));
    e.fallback(&["trust", "system_ca"], true.into());
    e.fallback(
        &["sendmail_command"],
        super::sendmail::DEFAULT_SENDMAIL.into(),
    );
    e.fallback(&["dead_letter"], home_file("dead.letter").into());
    e.fallback(
        &["timeout"],
        ximf::sendmail::deliver::DEFAULT_TIMEOUT_SECS.into(),
    );
    let out = match ctx.format {
        Format::Text => e.text(),
        Format::Json => e.json(),
    };
    super::emit_report(&out)?;
    Ok(Outcome::Done)
}
