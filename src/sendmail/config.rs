//! The configuration file of `ximf sendmail` (TOML, design.md §2): what a mutt user would
//! otherwise repeat on every `$sendmail` line — profile, instance, default values, identities
//! (address → key and certificate), trust anchors, the real sendmail and the dead-letter file.
//!
//! ```toml
//! profile = "/etc/ximf/profile"          # -p
//! instance = "Example"                   # --instance (the message's X-XIMF-NAME wins)
//! sendmail_command = "/usr/sbin/sendmail" # or ["/usr/sbin/sendmail", "-C", "/etc/postfix-out"]
//! dead_letter = "~/dead.letter"
//! timeout = 300                          # seconds the real sendmail may take
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
//! ```
//!
//! Unknown keys are refused (exit 78), so a typo never silently drops a setting. Relative paths
//! are relative to the file's directory and `~/` is the home directory, so one file works from
//! mutt, cron and a shell alike.

use crate::{Error, Result};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
    /// Always sign (`--sign`).
    #[serde(default)]
    pub sign: bool,
    /// Always encrypt (`--encrypt`).
    #[serde(default)]
    pub encrypt: bool,
    /// The protection mechanism (`--mechanism`).
    pub mechanism: Option<String>,
    /// The real sendmail: a command line split at white space, or a list of words.
    pub sendmail_command: Option<Words>,
    /// Where a message that could not be sent is appended (mbox).
    pub dead_letter: Option<PathBuf>,
    /// Seconds the real sendmail may run before it is killed (exit 75).
    pub timeout: Option<u64>,
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

/// A command line: one string split at white space (no shell quoting), or a list of words.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Words {
    /// `"/usr/sbin/sendmail -C /etc/postfix-out"`.
    Line(String),
    /// `["/opt/My Mail/sendmail", "-C", "/etc/postfix-out"]`.
    List(Vec<String>),
}

impl Words {
    /// The words; fails with [`Error::Config`] when there are none.
    pub fn to_vec(&self) -> Result<Vec<String>> {
        let words: Vec<String> = match self {
            Words::Line(s) => s.split_whitespace().map(str::to_owned).collect(),
            Words::List(v) => v.clone(),
        };
        if words.first().is_none_or(|w| w.is_empty()) {
            return Err(Error::Config("sendmail_command: empty command".into()));
        }
        Ok(words)
    }
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

/// Trust anchors.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
#[non_exhaustive]
pub struct Trust {
    /// X.509 trust anchors (PEM bundles).
    #[serde(default)]
    pub ca: Vec<PathBuf>,
    /// Trusted OpenPGP certs.
    #[serde(default)]
    pub keyring: Vec<PathBuf>,
}

impl Config {
    /// Parses `text`, the content of the file at `path`; relative paths are resolved against
    /// `path`'s directory and a leading `~/` against `home`.
    ///
    /// Fails with [`Error::Config`] (exit 78) naming the file, line and column when the text is
    /// not TOML, has an unknown key or a value of the wrong type, or uses `~/` without a home.
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
        for p in c.profile.iter_mut().chain(c.dead_letter.iter_mut()) {
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

    /// The identity of `address`, compared case-insensitively (the domain is; local parts
    /// are in practice too).
    pub fn identity(&self, address: &str) -> Option<&Identity> {
        self.identities
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(address.trim()))
            .map(|(_, i)| i)
    }
}

/// `~/x` → `home/x`; a relative path → `base/path`; an absolute path unchanged.
pub fn resolve(p: &Path, base: &Path, home: Option<&Path>) -> std::result::Result<PathBuf, String> {
    if let Ok(rest) = p.strip_prefix("~") {
        return match home {
            Some(h) => Ok(h.join(rest)),
            None => Err(format!("{}: no home directory for ~", p.display())),
        };
    }
    Ok(if p.is_absolute() {
        p.to_owned()
    } else {
        base.join(p)
    })
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
timeout = 30
[set]
"X-XIMF-Primary-Precedence" = "routine"
"X-XIMF-Subject-Indicator-Codes" = ["A1", "B2"]
[identities."Alice@Example.org"]
key = "alice.key"
cert = "/etc/ximf/alice.pem"
[trust]
ca = ["ca.pem"]
"#;
        let c = Config::parse(
            text,
            Path::new("/etc/ximf/config.toml"),
            Some(Path::new("/h")),
        )
        .expect("parses");
        assert_eq!(c.profile, Some(PathBuf::from("/etc/ximf/profiles")));
        assert_eq!(c.dead_letter, Some(PathBuf::from("/h/dead.letter")));
        assert_eq!(
            c.sendmail_command.as_ref().map(|w| w.to_vec().ok()),
            Some(Some(vec![
                "/usr/sbin/sendmail".to_owned(),
                "-C".to_owned(),
                "/etc/postfix-out".to_owned()
            ]))
        );
        assert_eq!(c.set_pairs().len(), 3);
        let id = c.identity("alice@example.org").expect("identity");
        assert_eq!(id.key, Some(PathBuf::from("/etc/ximf/alice.key")));
        assert_eq!(c.trust.ca, [PathBuf::from("/etc/ximf/ca.pem")]);
    }

    #[test]
    fn mistakes_are_config_errors_with_a_position() {
        for (text, want) in [
            ("profle = \"x\"", "config.toml:1:1"),
            ("timeout = \"soon\"", "config.toml:1:11"),
            ("\n[identities.a]\nkee = \"x\"", "config.toml:3:1"),
            ("sendmail_command = \"  \"", "empty command"),
            ("mechanism = \"rot13\"", "rot13"),
            ("dead_letter = \"~/x\"", "no home"),
        ] {
            let e = Config::parse(text, Path::new("/c/config.toml"), None)
                .expect_err(text)
                .to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }
}
