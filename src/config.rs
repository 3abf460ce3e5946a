//! The one configuration file (TOML, design.md §2) every command reads: what a user would
//! otherwise repeat on every command line — profile, instance, default values, identities
//! (address → key and certificate), trust, the certificate directory, the real sendmail and the
//! dead-letter file.
//!
//! ```toml
//! profile = "/etc/ximf/profile"          # -p
//! instance = "Example"                   # --instance (the message's X-XIMF-NAME wins)
//! sendmail_command = "/usr/sbin/sendmail" # or ["/usr/sbin/sendmail", "-C", "/etc/postfix-out"]
//! dead_letter = "~/dead.letter"
//! timeout = 300                          # seconds the real sendmail may take
//! cert_dir = "~/.ximf/certs"             # X.509 certificates of correspondents, by address
//!
//! [set]                                  # values used when neither the message nor --set has one
//! "X-XIMF-Primary-Precedence" = "routine"
//! "X-XIMF-Subject-Indicator-Codes" = ["A1", "B2"]
//!
//! [identities."alice@example.org"]
//! key = "~/.ximf/alice.key"
//! cert = "~/.ximf/alice.pem"
//!
//! [trust]
//! ca = ["/etc/ximf/ca.pem"]
//! keyring = ["/etc/ximf/keyring.pgp"]
//! system_ca = true                       # false: only `ca` anchors S/MIME paths
//! ```
//!
//! Which file: `--config FILE`, else `$XIMF_CONFIG`, else `$XDG_CONFIG_HOME/ximf/config.toml`
//! (`~/.config/ximf/config.toml`), else `/etc/ximf/config.toml` — the first that applies, never
//! a merge, so what `ximf config show` prints is all there is. A file named by the flag or the
//! variable must exist; a default location may be empty ([`Search::load`]). The caller reads
//! the flag and the environment: the library reads no variables.
//!
//! Unknown keys are refused (exit 78), so a typo never silently drops a setting. Relative paths
//! are relative to the file's directory, and `~`, `~/…`, `$HOME` and `${HOME}` at the start of a
//! path are the home directory ([`expand`]), so one file works from mutt, cron and a shell.

use crate::{Error, Result};
use serde::Deserialize;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The system-wide configuration file, read when no other applies.
pub const SYSTEM_PATH: &str = "/etc/ximf/config.toml";

/// A parsed configuration file; every field is optional.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Config {
    /// The profile (`-p`).
    pub profile: Option<PathBuf>,
    /// The instance used when the message names none and `--instance` is not given.
    pub instance: Option<String>,
    /// The sender's usage (`--usage`).
    pub usage: Option<String>,
    /// Context facts (`--context K=V`).
    #[serde(default)]
    pub context: BTreeMap<String, String>,
    /// Default values: header → value (or list of values for a multi-valued header).
    #[serde(default)]
    pub set: BTreeMap<String, Values>,
    /// Always sign (`--sign`); `None` when the file does not say.
    pub sign: Option<bool>,
    /// Always encrypt (`--encrypt`); `None` when the file does not say.
    pub encrypt: Option<bool>,
    /// The protection mechanism (`--mechanism`).
    pub mechanism: Option<String>,
    /// The real sendmail: a command line split at white space, or a list of words.
    pub sendmail_command: Option<Words>,
    /// Where a message that could not be sent is appended (mbox).
    pub dead_letter: Option<PathBuf>,
    /// Seconds the real sendmail may run before it is killed (exit 75).
    pub timeout: Option<u64>,
    /// A directory of correspondents' X.509 certificates: every `*.pem`, `*.crt`, `*.cer` and
    /// `*.der` file in it, searched by address for recipients named by address.
    pub cert_dir: Option<PathBuf>,
    /// Addresses ximf signs as or encrypts to, with their key material.
    #[serde(default)]
    pub identities: BTreeMap<String, Identity>,
    /// Trust anchors for verification.
    #[serde(default)]
    pub trust: Trust,
}

/// One value or several (a multi-valued header).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Values {
    /// `"routine"`.
    One(String),
    /// `["A1", "B2"]`.
    Many(Vec<String>),
}

/// A command line: one string split as a POSIX shell would split it (quotes and backslashes,
/// no expansion), or a list of words.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Words {
    /// `"/usr/sbin/sendmail -C '/etc/postfix out'"`.
    Line(String),
    /// `["/opt/My Mail/sendmail", "-C", "/etc/postfix-out"]`.
    List(Vec<String>),
}

impl Words {
    /// The words; fails with [`Error::Config`] when there are none or the line's quotes do not
    /// close.
    pub fn to_vec(&self) -> Result<Vec<String>> {
        let words: Vec<String> = match self {
            Words::Line(s) => {
                split_command(s).map_err(|e| Error::Config(format!("sendmail_command: {e}")))?
            }
            Words::List(v) => v.clone(),
        };
        if words.first().is_none_or(|w| w.is_empty()) {
            return Err(Error::Config("sendmail_command: empty command".into()));
        }
        Ok(words)
    }
}

/// Splits a command line as `sh` would (single and double quotes, backslashes), without any
/// expansion: `/usr/sbin/sendmail -C '/etc/postfix out'` is three words. mutt and the config
/// file hand us the line without a shell, so a path with a space needs quoting of its own.
///
/// Fails with a message naming the problem when a quote is not closed.
pub fn split_command(line: &str) -> std::result::Result<Vec<String>, String> {
    shell_words::split(line).map_err(|e| format!("'{line}': {e}"))
}

/// Key material of one address.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Identity {
    /// Private key, used when sending as this address.
    pub key: Option<PathBuf>,
    /// X.509 certificate (and chain) or OpenPGP cert: signer chain when sending as this
    /// address, recipient certificate when sending to it.
    pub cert: Option<PathBuf>,
}

/// What verification trusts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Trust {
    /// X.509 trust anchors (PEM bundles), in addition to the system store.
    #[serde(default)]
    pub ca: Vec<PathBuf>,
    /// Trusted OpenPGP certs.
    #[serde(default)]
    pub keyring: Vec<PathBuf>,
    /// Whether OpenSSL's default CA store anchors S/MIME paths too; `None` (the file does not
    /// say) means yes.
    pub system_ca: Option<bool>,
}

impl Config {
    /// Parses `text`, the content of the file at `path`; relative paths are resolved against
    /// `path`'s directory and `~`/`$HOME` against `home` ([`resolve`]).
    ///
    /// Fails with [`Error::Config`] (exit 78) naming the file, line and column when the text is
    /// not TOML, has an unknown key or a value of the wrong type, or uses `~` without a home.
    pub fn parse(text: &str, path: &Path, home: Option<&Path>) -> Result<Config> {
        let mut c: Config = toml::from_str(text).map_err(|e| {
            let (line, col) = e.span().map(|s| line_col(text, s.start)).unwrap_or((0, 0));
            Error::Config(format!(
                "{}:{line}:{col}: {}",
                path.display(),
                e.message().trim()
            ))
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        let fix = |p: &mut PathBuf| -> Result<()> {
            *p = resolve(p, base, home)
                .map_err(|why| Error::Config(format!("{}: {why}", path.display())))?;
            Ok(())
        };
        let singles = [&mut c.profile, &mut c.dead_letter, &mut c.cert_dir];
        for p in singles.into_iter().flatten() {
            fix(p)?;
        }
        for id in c.identities.values_mut() {
            for p in id.key.iter_mut().chain(id.cert.iter_mut()) {
                fix(p)?;
            }
        }
        for p in c.trust.ca.iter_mut().chain(c.trust.keyring.iter_mut()) {
            fix(p)?;
        }
        if let Some(m) = &c.mechanism
            && m != "smime"
            && m != "openpgp"
        {
            return Err(Error::Config(format!(
                "{}: mechanism '{m}' is not smime or openpgp",
                path.display()
            )));
        }
        if let Some(w) = &c.sendmail_command {
            w.to_vec()
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
        }
        Ok(c)
    }

    /// Reads and parses the file at `path` ([`Config::parse`]).
    ///
    /// Fails with [`Error::Config`] when the file cannot be read (a configuration the user
    /// asked for and that is not there is a configuration error, not a missing message).
    pub fn load(path: &Path, home: Option<&Path>) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("config {}: {e}", path.display())))?;
        Config::parse(&text, path, home)
    }

    /// The `[set]` table as `(header, value)` pairs, a list giving one pair per item.
    pub fn set_pairs(&self) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for (h, v) in &self.set {
            match v {
                Values::One(s) => out.push((h.clone(), s.clone())),
                Values::Many(items) => out.extend(items.iter().map(|s| (h.clone(), s.clone()))),
            }
        }
        out
    }

    /// The `[context]` table as `KEY=VALUE` items, the form `--context` takes.
    pub fn context_items(&self) -> Vec<String> {
        self.context
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect()
    }

    /// The identity of `address`, compared case-insensitively (the domain is; local parts
    /// are in practice too).
    pub fn identity(&self, address: &str) -> Option<&Identity> {
        self.identities
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(address.trim()))
            .map(|(_, i)| i)
    }

    /// Whether the system CA store anchors S/MIME paths (`trust.system_ca`, default true).
    pub fn system_ca(&self) -> bool {
        self.trust.system_ca.unwrap_or(true)
    }

    /// Every key the file sets, as (key path, value), paths already resolved; keys the file
    /// leaves out are not listed.
    pub fn entries(&self) -> Vec<(Vec<String>, Value)> {
        let mut out: Vec<(Vec<String>, Value)> = Vec::new();
        let mut put = |key: &[&str], v: Value| {
            out.push((key.iter().map(|s| (*s).to_owned()).collect(), v));
        };
        let path = |p: &Path| Value::from(p.display().to_string());
        let paths = |ps: &[PathBuf]| Value::from(ps.iter().map(|p| path(p)).collect::<Vec<_>>());
        if let Some(p) = &self.profile {
            put(&["profile"], path(p));
        }
        for (k, v) in [
            ("instance", &self.instance),
            ("usage", &self.usage),
            ("mechanism", &self.mechanism),
        ] {
            if let Some(v) = v {
                put(&[k], v.as_str().into());
            }
        }
        for (k, v) in [("sign", self.sign), ("encrypt", self.encrypt)] {
            if let Some(v) = v {
                put(&[k], v.into());
            }
        }
        for (k, v) in &self.context {
            put(&["context", k], v.as_str().into());
        }
        for (h, v) in &self.set {
            let v = match v {
                Values::One(s) => Value::from(s.as_str()),
                Values::Many(items) => Value::from(items.clone()),
            };
            put(&["set", h], v);
        }
        for (addr, id) in &self.identities {
            for (k, p) in [("key", &id.key), ("cert", &id.cert)] {
                if let Some(p) = p {
                    put(&["identities", addr, k], path(p));
                }
            }
        }
        if let Some(p) = &self.cert_dir {
            put(&["cert_dir"], path(p));
        }
        if !self.trust.ca.is_empty() {
            put(&["trust", "ca"], paths(&self.trust.ca));
        }
        if !self.trust.keyring.is_empty() {
            put(&["trust", "keyring"], paths(&self.trust.keyring));
        }
        if let Some(b) = self.trust.system_ca {
            put(&["trust", "system_ca"], b.into());
        }
        if let Some(w) = &self.sendmail_command {
            let v = match w {
                Words::Line(s) => Value::from(s.as_str()),
                Words::List(v) => Value::from(v.clone()),
            };
            put(&["sendmail_command"], v);
        }
        if let Some(p) = &self.dead_letter {
            put(&["dead_letter"], path(p));
        }
        if let Some(t) = self.timeout {
            put(&["timeout"], t.into());
        }
        out
    }
}

/// `~`, `~/x`, `$HOME`, `$HOME/x`, `${HOME}` and `${HOME}/x` → under `home`; any other path
/// unchanged (`~user` and a `$HOME` later in the path are taken literally).
///
/// Fails, naming the path, when it needs the home directory and `home` is `None`.
pub fn expand(p: &Path, home: Option<&Path>) -> std::result::Result<PathBuf, String> {
    let Some(s) = p.to_str() else {
        return Ok(p.to_owned());
    };
    let rest = ["~", "${HOME}", "$HOME"].iter().find_map(|prefix| {
        let r = s.strip_prefix(prefix)?;
        match r.strip_prefix('/') {
            Some(r) => Some(r),
            None if r.is_empty() => Some(r),
            None => None,
        }
    });
    let Some(rest) = rest else {
        return Ok(p.to_owned());
    };
    match home {
        Some(h) if rest.is_empty() => Ok(h.to_owned()),
        Some(h) => Ok(h.join(rest)),
        None => Err(format!("{s}: no home directory ($HOME is not set)")),
    }
}

/// [`expand`], then a relative path → `base/path`; an absolute path unchanged.
pub fn resolve(p: &Path, base: &Path, home: Option<&Path>) -> std::result::Result<PathBuf, String> {
    let p = expand(p, home)?;
    Ok(if p.is_absolute() { p } else { base.join(p) })
}

/// How the file in use was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// `--config FILE`.
    Flag,
    /// `$XIMF_CONFIG`.
    Env,
    /// The user's file (`$XDG_CONFIG_HOME/ximf/config.toml`).
    User,
    /// The system-wide file ([`SYSTEM_PATH`]).
    System,
}

/// Where a configuration file is looked for, in order; the caller fills it from its flags and
/// environment.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Search {
    /// `--config FILE`: must exist.
    pub flag: Option<PathBuf>,
    /// `$XIMF_CONFIG` (empty counts as unset): must exist.
    pub env: Option<PathBuf>,
    /// `$XDG_CONFIG_HOME/ximf/config.toml`, or `$HOME/.config/ximf/config.toml`: may be missing.
    pub user: Option<PathBuf>,
    /// Normally [`SYSTEM_PATH`]: may be missing.
    pub system: Option<PathBuf>,
    /// The home directory, for `~` and `$HOME` in the file's paths.
    pub home: Option<PathBuf>,
}

/// A configuration and the file it came from (none: every default).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Located {
    /// The settings.
    pub config: Config,
    /// The file read and how it was found.
    pub file: Option<(PathBuf, Origin)>,
}

impl Search {
    /// Reads the first file that applies: the flag's, else the variable's, else the first
    /// default location that exists; none at all gives the empty configuration.
    ///
    /// Fails with [`Error::Config`] (exit 78) when the file named by the flag or the variable
    /// cannot be read, when a default file exists but cannot be read, or when the file read is
    /// invalid ([`Config::parse`]).
    pub fn load(&self) -> Result<Located> {
        let home = self.home.as_deref();
        let explicit = [(&self.flag, Origin::Flag), (&self.env, Origin::Env)];
        if let Some((p, origin)) = explicit
            .into_iter()
            .find_map(|(p, o)| p.as_ref().map(|p| (p, o)))
        {
            let config = Config::load(p, home).map_err(|e| match (e, origin) {
                (Error::Config(m), Origin::Env) => {
                    Error::Config(format!("{m}\nhint: $XIMF_CONFIG names this file"))
                }
                (e, _) => e,
            })?;
            return Ok(Located {
                config,
                file: Some((p.clone(), origin)),
            });
        }
        let defaults = [(&self.user, Origin::User), (&self.system, Origin::System)];
        for (p, origin) in defaults {
            let Some(p) = p else { continue };
            match std::fs::read_to_string(p) {
                Ok(text) => {
                    return Ok(Located {
                        config: Config::parse(&text, p, home)?,
                        file: Some((p.clone(), origin)),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::Config(format!("config {}: {e}", p.display()))),
            }
        }
        Ok(Located::default())
    }
}

/// Where an effective setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A command-line flag, e.g. `-p`.
    Flag(String),
    /// An environment variable, e.g. `XIMF_CONFIG`.
    Env(String),
    /// The configuration file at this path.
    File(PathBuf),
    /// Built in.
    Default,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::Flag(n) => write!(f, "flag {n}"),
            Source::Env(n) => write!(f, "env {n}"),
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Default => f.write_str("default"),
        }
    }
}

/// One effective setting.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Setting {
    /// The key path, e.g. `["identities", "alice@example.org", "key"]`.
    pub key: Vec<String>,
    /// The value (`null`: none).
    pub value: Value,
    /// Where it came from.
    pub source: Source,
}

/// The effective settings with their sources (`ximf config show`): defaults, then the file's
/// values, then what the caller's flags and environment say.
#[derive(Debug, Clone, Default)]
pub struct Effective {
    settings: Vec<Setting>,
}

/// The order settings are shown in: the first-level keys in the order of the example above.
const ORDER: &[&str] = &[
    "config",
    "profile",
    "instance",
    "usage",
    "mechanism",
    "sign",
    "encrypt",
    "context",
    "set",
    "identities",
    "cert_dir",
    "trust",
    "sendmail_command",
    "dead_letter",
    "timeout",
];

impl Effective {
    /// The settings of `located`: the file in use (`config`, null when none) and every key it
    /// sets.
    pub fn new(located: &Located) -> Effective {
        let mut e = Effective::default();
        match &located.file {
            Some((p, origin)) => {
                let source = match origin {
                    Origin::Flag => Source::Flag("--config".into()),
                    Origin::Env => Source::Env("XIMF_CONFIG".into()),
                    Origin::User | Origin::System => Source::Default,
                };
                e.set(&["config"], p.display().to_string().into(), source);
                for (key, value) in located.config.entries() {
                    let key: Vec<&str> = key.iter().map(String::as_str).collect();
                    e.set(&key, value, Source::File(p.clone()));
                }
            }
            None => e.set(&["config"], Value::Null, Source::Default),
        }
        e
    }

    /// Sets `key` to `value` from `source`, replacing what was there.
    pub fn set(&mut self, key: &[&str], value: Value, source: Source) {
        let key: Vec<String> = key.iter().map(|s| (*s).to_owned()).collect();
        let setting = Setting { key, value, source };
        match self.settings.iter_mut().find(|s| s.key == setting.key) {
            Some(s) => *s = setting,
            None => self.settings.push(setting),
        }
    }

    /// Sets `key` to a built-in `value` unless something set it already.
    pub fn fallback(&mut self, key: &[&str], value: Value) {
        if !self.settings.iter().any(|s| s.key == key) {
            self.set(key, value, Source::Default);
        }
    }

    /// The settings, in a stable order (top-level keys as in a config file, then by key).
    pub fn settings(&self) -> Vec<&Setting> {
        let rank = |s: &Setting| {
            let first = s.key.first().map(String::as_str).unwrap_or_default();
            ORDER
                .iter()
                .position(|k| *k == first)
                .unwrap_or(ORDER.len())
        };
        let mut v: Vec<&Setting> = self.settings.iter().collect();
        v.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.key.cmp(&b.key)));
        v
    }

    /// One `key = value  # from SOURCE` line per setting; keys are TOML dotted keys, values
    /// TOML values (`none` for a null value).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for s in self.settings() {
            let value = match &s.value {
                Value::Null => "none".to_owned(),
                v => toml_value(v),
            };
            out.push_str(&format!(
                "{} = {value}  # from {}\n",
                dotted(&s.key),
                s.source
            ));
        }
        out
    }

    /// One JSON object: dotted key → `{"value": ..., "source": "..."}`, ending in a newline.
    pub fn json(&self) -> String {
        let mut m = serde_json::Map::new();
        for s in self.settings() {
            m.insert(
                dotted(&s.key),
                serde_json::json!({"value": s.value, "source": s.source.to_string()}),
            );
        }
        format!("{}\n", Value::Object(m))
    }
}

/// A TOML dotted key: bare segments as they are, others quoted.
fn dotted(key: &[String]) -> String {
    key.iter()
        .map(|k| {
            let bare = !k.is_empty()
                && k.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
            if bare {
                k.clone()
            } else {
                Value::from(k.as_str()).to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// A JSON value written as TOML: strings in basic-string quotes (JSON escapes are TOML's),
/// arrays with `, `.
fn toml_value(v: &Value) -> String {
    match v {
        Value::Array(items) => format!(
            "[{}]",
            items.iter().map(toml_value).collect::<Vec<_>>().join(", ")
        ),
        v => v.to_string(),
    }
}

fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
    (line, col)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_example_parses_and_resolves_paths() {
        let text = r#"
profile = "profiles"
instance = "Example"
sendmail_command = "/usr/sbin/sendmail -C /etc/postfix-out"
dead_letter = "~/dead.letter"
cert_dir = "$HOME/certs"
timeout = 30
[set]
"X-XIMF-Primary-Precedence" = "routine"
"X-XIMF-Subject-Indicator-Codes" = ["A1", "B2"]
[identities."Alice@Example.org"]
key = "alice.key"
cert = "/etc/ximf/alice.pem"
[trust]
ca = ["ca.pem"]
system_ca = false
"#;
        let c = Config::parse(
            text,
            Path::new("/etc/ximf/config.toml"),
            Some(Path::new("/h")),
        )
        .expect("parses");
        assert_eq!(c.profile, Some(PathBuf::from("/etc/ximf/profiles")));
        assert_eq!(c.dead_letter, Some(PathBuf::from("/h/dead.letter")));
        assert_eq!(c.cert_dir, Some(PathBuf::from("/h/certs")));
        assert_eq!(
            c.sendmail_command.as_ref().map(|w| w.to_vec().ok()),
            Some(Some(vec![
                "/usr/sbin/sendmail".to_owned(),
                "-C".to_owned(),
                "/etc/postfix-out".to_owned()
            ]))
        );
        assert_eq!(c.set_pairs().len(), 3);
        let quoted =
            Words::Line(r#"/usr/sbin/sendmail -C '/etc/postfix out' -o "a b" c\ d"#.into());
        assert_eq!(
            quoted.to_vec().ok(),
            Some(
                [
                    "/usr/sbin/sendmail",
                    "-C",
                    "/etc/postfix out",
                    "-o",
                    "a b",
                    "c d"
                ]
                .map(String::from)
                .to_vec()
            )
        );
        let id = c.identity("alice@example.org").expect("identity");
        assert_eq!(id.key, Some(PathBuf::from("/etc/ximf/alice.key")));
        assert_eq!(c.trust.ca, [PathBuf::from("/etc/ximf/ca.pem")]);
        assert!(!c.system_ca());
        assert!(Config::default().system_ca());
    }

    #[test]
    fn mistakes_are_config_errors_with_a_position() {
        for (text, want) in [
            ("profle = \"x\"", "config.toml:1:1"),
            ("timeout = \"soon\"", "config.toml:1:11"),
            ("\n[identities.a]\nkee = \"x\"", "config.toml:3:1"),
            ("sendmail_command = \"  \"", "empty command"),
            ("sendmail_command = \"/s -C 'x\"", "missing closing quote"),
            ("mechanism = \"rot13\"", "rot13"),
            ("dead_letter = \"~/x\"", "no home"),
            ("[trust]\nsystem_ca = \"no\"", "config.toml:2:13"),
        ] {
            let e = Config::parse(text, Path::new("/c/config.toml"), None)
                .expect_err(text)
                .to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn home_forms_expand_and_others_stay() {
        let h = Some(Path::new("/h"));
        for (given, want) in [
            ("~", "/h"),
            ("~/k", "/h/k"),
            ("$HOME", "/h"),
            ("$HOME/a/b", "/h/a/b"),
            ("${HOME}/k", "/h/k"),
            ("~bob/k", "~bob/k"),
            ("$HOMER/k", "$HOMER/k"),
            ("/x/~/k", "/x/~/k"),
            ("rel/k", "rel/k"),
        ] {
            assert_eq!(
                expand(Path::new(given), h),
                Ok(PathBuf::from(want)),
                "{given}"
            );
        }
        assert!(expand(Path::new("~/k"), None).is_err());
        assert_eq!(expand(Path::new("/k"), None), Ok(PathBuf::from("/k")));
    }

    #[test]
    fn search_order_and_missing_files() {
        let dir = tempfile::tempdir().expect("tmp");
        let write = |name: &str, text: &str| {
            let p = dir.path().join(name);
            std::fs::write(&p, text).expect("write");
            p
        };
        let (flag, env) = (
            write("f.toml", "usage = \"f\""),
            write("e.toml", "usage = \"e\""),
        );
        let (user, system) = (
            write("u.toml", "usage = \"u\""),
            write("s.toml", "usage = \"s\""),
        );
        let absent = dir.path().join("absent.toml");
        let usage = |s: &Search| s.load().expect("loads").config.usage;
        let mut s = Search {
            flag: Some(flag),
            env: Some(env),
            user: Some(user),
            system: Some(system),
            home: None,
        };
        assert_eq!(usage(&s).as_deref(), Some("f"));
        s.flag = None;
        assert_eq!(usage(&s).as_deref(), Some("e"));
        s.env = None;
        assert_eq!(usage(&s).as_deref(), Some("u"));
        s.user = Some(absent.clone());
        assert_eq!(usage(&s).as_deref(), Some("s"));
        s.system = Some(absent.clone());
        assert_eq!(usage(&s), None);
        s.env = Some(absent);
        let e = s.load().expect_err("a named file must exist");
        assert_eq!(e.class(), crate::ErrorClass::Config);
        assert!(e.to_string().contains("XIMF_CONFIG"), "{e}");
    }

    #[test]
    fn effective_settings_render_with_sources() {
        let located = Located {
            config: Config::parse(
                "profile = \"/p\"\n[identities.\"a@x\"]\nkey = \"/k\"\n[trust]\nca = [\"/c1\", \"/c2\"]\n",
                Path::new("/etc/ximf/config.toml"),
                None,
            )
            .expect("parses"),
            file: Some((PathBuf::from("/etc/ximf/config.toml"), Origin::System)),
        };
        let mut e = Effective::new(&located);
        e.set(&["profile"], "/q".into(), Source::Flag("-p".into()));
        e.fallback(&["trust", "system_ca"], true.into());
        e.fallback(&["profile"], "built-in".into());
        let text = e.text();
        assert_eq!(
            text,
            "config = \"/etc/ximf/config.toml\"  # from default\n\
             profile = \"/q\"  # from flag -p\n\
             identities.\"a@x\".key = \"/k\"  # from /etc/ximf/config.toml\n\
             trust.ca = [\"/c1\", \"/c2\"]  # from /etc/ximf/config.toml\n\
             trust.system_ca = true  # from default\n"
        );
        let json: Value = serde_json::from_str(&e.json()).expect("json");
        assert_eq!(json["profile"]["source"], "flag -p");
        assert_eq!(json["identities.\"a@x\".key"]["value"], "/k");
        let none = Effective::new(&Located::default()).text();
        assert_eq!(none, "config = none  # from default\n");
    }
}
