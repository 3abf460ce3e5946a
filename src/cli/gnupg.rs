//! `--key` values that name a key in the user's GnuPG keyring instead of a file (issue 10): a
//! fingerprint or an address. The public certificate comes from `gpg --export`, the secret
//! stays in gpg-agent, whose socket `gpgconf` names. Both programs run with the caller's
//! environment, so `$GNUPGHOME` chooses the keyring and the agent, as it does for gpg.
//!
//! A value that is an existing file is always a file; only a value that names no file and
//! reads as a fingerprint or an address goes to GnuPG. Every program run here is bounded by
//! [`TIMEOUT`] (style.md §7).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use ximf::pgp::Agent;
use ximf::secure::KeyFile;
use ximf::{Error, Result};

/// The bound on each `gpg`/`gpgconf` run.
const TIMEOUT: Duration = Duration::from_secs(10);

/// A key in the GnuPG keyring, as `--key` named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spec {
    /// The value as given, for errors.
    pub given: String,
    /// What gpg is asked for: the fingerprint's hex, or `<address>` (an exact address match,
    /// not gpg's default substring search).
    query: String,
}

/// Sorts `--key` values into files and keys named in the GnuPG keyring.
pub fn split(values: &[PathBuf]) -> (Vec<PathBuf>, Vec<Spec>) {
    let mut files = Vec::new();
    let mut specs = Vec::new();
    for v in values {
        match spec(v) {
            Some(s) => specs.push(s),
            None => files.push(v.clone()),
        }
    }
    (files, specs)
}

/// `value` as a key in the GnuPG keyring: a v4 or v6 fingerprint (hex, optionally `0x`-prefixed
/// and spaced as gpg prints it) or an e-mail address (optionally in angle brackets), and not
/// the name of an existing file.
fn spec(value: &Path) -> Option<Spec> {
    if value.exists() {
        return None;
    }
    let given = value.to_str()?.trim();
    let hex = given
        .strip_prefix("0x")
        .or_else(|| given.strip_prefix("0X"))
        .unwrap_or(given);
    let hex: String = hex.chars().filter(|c| *c != ' ').collect();
    if matches!(hex.len(), 40 | 64) && hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Some(Spec {
            given: given.to_owned(),
            query: hex.to_ascii_uppercase(),
        });
    }
    let addr = given
        .strip_prefix('<')
        .and_then(|a| a.strip_suffix('>'))
        .unwrap_or(given);
    let (local, domain) = addr.split_once('@')?;
    let plain = |s: &str| {
        !s.is_empty() && !s.contains(['@', '/', '<', '>']) && !s.contains(char::is_whitespace)
    };
    (plain(local) && plain(domain)).then(|| Spec {
        given: given.to_owned(),
        query: format!("<{addr}>"),
    })
}

/// Where GnuPG's files are, for messages.
fn home() -> String {
    match std::env::var_os("GNUPGHOME") {
        Some(h) => h.to_string_lossy().into_owned(),
        None => "~/.gnupg".into(),
    }
}

/// The public certificates of `specs` from the GnuPG keyring, and the agent holding their
/// secrets.
///
/// Fails with [`Error::NoKey`] (67) when the keyring has no certificate for one of them,
/// [`Error::Unavailable`] (69) when gpg or gpgconf cannot be run, and [`Error::TempFail`] (75)
/// when they do not finish in time or gpgconf cannot name the agent's socket.
pub fn agent_keys(specs: &[Spec]) -> Result<(Vec<KeyFile>, Agent)> {
    let mut certs = Vec::with_capacity(specs.len());
    for s in specs {
        let out = run(
            "gpg",
            &["--batch", "--no-tty", "--export", "--", &s.query],
            true,
        )?;
        if out.stdout.is_empty() {
            return Err(Error::NoKey(format!(
                "{} (not in the GnuPG keyring at {})",
                s.given,
                home()
            )));
        }
        certs.push(KeyFile::new(
            format!("--key {} (GnuPG keyring)", s.given),
            out.stdout,
        ));
    }
    let out = run("gpgconf", &["--list-dirs", "agent-socket"], true)?;
    let socket = unescape(String::from_utf8_lossy(&out.stdout).trim());
    if !out.success || socket.is_empty() {
        return Err(Error::TempFail(format!(
            "gpgconf does not name gpg-agent's socket: {}",
            out.stderr_line()
        )));
    }
    // Start the agent if it is not running, as gpg does; if that fails, using the key fails
    // with the agent's own error (75).
    let _ = run("gpgconf", &["--launch", "gpg-agent"], false);
    Ok((certs, Agent::new(PathBuf::from(socket))))
}

/// What a program printed.
pub(super) struct Output {
    success: bool,
    pub(super) stdout: Vec<u8>,
    stderr: Vec<u8>,
}

impl Output {
    fn stderr_line(&self) -> String {
        let s = String::from_utf8_lossy(&self.stderr);
        s.lines().next().unwrap_or("no message").trim().to_owned()
    }
}

/// Runs `program args` with no stdin, for at most [`TIMEOUT`]; `capture` collects its output
/// (without it, output goes nowhere: a daemon it starts must not hold our pipes open).
pub(super) fn run(program: &str, args: &[&str], capture: bool) -> Result<Output> {
    let pipe = || {
        if capture {
            Stdio::piped()
        } else {
            Stdio::null()
        }
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::null())
        .stdout(pipe())
        .stderr(pipe())
        .spawn()
        .map_err(|e| Error::Unavailable(format!("cannot run {program}: {e}")))?;
    let reader = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut r) = r {
                let _ = r.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = reader(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err = reader(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(Error::TempFail(format!(
                    "{program} {} did not finish within {} s",
                    args.join(" "),
                    TIMEOUT.as_secs()
                )));
            }
        }
    };
    Ok(Output {
        success: status.success(),
        stdout: out.join().unwrap_or_default(),
        stderr: err.join().unwrap_or_default(),
    })
}

/// gpgconf percent-escapes some bytes of the paths it prints (`%3a` for a colon).
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = b
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok());
        match (b[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            (c, _) => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Option<String> {
        spec(Path::new(s)).map(|s| s.query)
    }

    #[test]
    fn fingerprints_and_addresses_name_gnupg_keys() {
        let fpr = "0123456789ABCDEF0123456789abcdef01234567";
        assert_eq!(
            q(fpr).as_deref(),
            Some("0123456789ABCDEF0123456789ABCDEF01234567")
        );
        assert_eq!(q(&format!("0x{fpr}")), q(fpr));
        assert_eq!(
            q("0123 4567 89AB CDEF 0123  4567 89AB CDEF 0123 4567").as_deref(),
            Some("0123456789ABCDEF0123456789ABCDEF01234567")
        );
        assert_eq!(q(&"ab".repeat(32)).map(|s| s.len()), Some(64));
        assert_eq!(
            q("alice@example.org").as_deref(),
            Some("<alice@example.org>")
        );
        assert_eq!(
            q("<alice@example.org>").as_deref(),
            Some("<alice@example.org>")
        );
        for file in [
            "alice.key",
            "keys/alice@example.org/key.asc",
            "0123456789ABCDEF",
            "@example.org",
            "a@b@c",
            "a b@example.org",
        ] {
            assert_eq!(q(file), None, "{file}");
        }
        // An existing file is a file, whatever its name.
        assert_eq!(q("Cargo.toml"), None);
    }

    #[test]
    fn unescapes_gpgconf_paths() {
        assert_eq!(
            unescape("/run/user/0/gnupg/S.gpg-agent"),
            "/run/user/0/gnupg/S.gpg-agent"
        );
        assert_eq!(unescape("C%3a/x%25y"), "C:/x%y");
        assert_eq!(unescape("100%"), "100%");
    }
}
