//! Reading the KEYS files and the passphrase that unlocks encrypted private keys (design.md
//! §2): `--passphrase-file FILE`, `--passphrase-fd N`, or, only when stdin and stderr are both
//! terminals, a prompt without echo. Never argv or the environment: both are visible to other
//! users of the machine (`ps`, `/proc/PID/environ` of a child).
//!
//! The library only takes the passphrase as a value; asking for it happens here, and only
//! after the library has said a key needs one, so unencrypted keys never cause a prompt.

use std::io::{BufRead, BufReader, IsTerminal, Read};
use std::path::{Path, PathBuf};
use ximf::secure::{KeyFile, KeySources, Keys, Passphrase};
use ximf::{Error, Result};

/// The longest passphrase line read; a file or descriptor that has no newline before it is
/// cut there rather than read without bound.
const MAX_LINE: u64 = 64 * 1024;

/// How many times a terminal user may type the passphrase.
const PROMPT_TRIES: usize = 3;

/// Where the passphrase comes from.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// `--passphrase-file`.
    pub file: Option<PathBuf>,
    /// `--passphrase-fd`.
    pub fd: Option<u32>,
}

/// The KEYS files of a command, by flag.
#[derive(Debug, Clone, Default)]
pub struct Paths {
    /// `--key`.
    pub key: Vec<PathBuf>,
    /// The config's identity keys: loaded by every command, needed by few runs.
    pub config_key: Vec<PathBuf>,
    /// `--cert`.
    pub cert: Vec<PathBuf>,
    /// `--recipient`.
    pub recipient: Vec<PathBuf>,
    /// `--ca`.
    pub ca: Vec<PathBuf>,
    /// `--keyring`.
    pub keyring: Vec<PathBuf>,
}

/// Reads every file of `paths` and sorts the material (ximf::secure::Keys::load_from), with
/// the passphrase from `source`; with no source, asks on the terminal when a key needs one
/// and a terminal is there. Errors name each file by the path given.
///
/// The config's identity keys are optional (a locked one is left out) unless they are all the
/// keys there are and the user can unlock them (a passphrase source, or a terminal to ask
/// on): `verify` in a procmail recipe, or `protect` with `--key`, must not fail because some
/// identity's key is encrypted.
pub fn load_keys(paths: &Paths, source: &Source) -> Result<Keys> {
    let read = |v: &[PathBuf]| -> Result<Vec<KeyFile>> {
        v.iter()
            .map(|p| {
                Ok(KeyFile::new(
                    p.display().to_string(),
                    super::io::read_file(p)?,
                ))
            })
            .collect()
    };
    let mut src = KeySources::default();
    let given = source.file.is_some() || source.fd.is_some();
    // `--key FINGERPRINT|ADDRESS`: the secret stays in gpg-agent (super::gnupg).
    let (key_files, in_agent) = super::gnupg::split(&paths.key);
    src.keys = read(&key_files)?;
    if !in_agent.is_empty() {
        let (certs, agent) = super::gnupg::agent_keys(&in_agent)?;
        src.agent_certs = certs;
        src.agent = Some(agent);
    }
    if paths.key.is_empty() && (given || can_prompt()) {
        src.keys = read(&paths.config_key)?;
    } else {
        src.optional_keys = read(&paths.config_key)?;
    }
    src.certs = read(&paths.cert)?;
    src.recipients = read(&paths.recipient)?;
    src.cas = read(&paths.ca)?;
    src.keyrings = read(&paths.keyring)?;
    src.passphrase = read_source(source)?;
    let mut tries = 0;
    loop {
        let r = Keys::load_from(&src);
        let name = match &r {
            Err(Error::NeedPassphrase(n)) if tries == 0 => n,
            Err(Error::WrongPassphrase(n)) if tries > 0 && tries < PROMPT_TRIES => n,
            _ => return r,
        };
        if given || !can_prompt() {
            return r;
        }
        // A terminal that cannot be opened after all: the library's error stands.
        let Some(p) = prompt(name, tries > 0) else {
            return r;
        };
        src.passphrase = Some(p);
        tries += 1;
    }
}

/// The passphrase from `--passphrase-file` or `--passphrase-fd`, if either was given.
fn read_source(source: &Source) -> Result<Option<Passphrase>> {
    if let Some(path) = &source.file {
        let f = std::fs::File::open(path).map_err(|e| Error::Input {
            path: path.clone(),
            source: e,
        })?;
        let line = first_line(f).map_err(|e| Error::Input {
            path: path.clone(),
            source: e,
        })?;
        return decode(line, &format!("--passphrase-file {}", path.display())).map(Some);
    }
    if let Some(fd) = source.fd {
        // Opening /dev/fd/N (a new description of the same file or pipe) keeps the crate free
        // of unsafe code, which taking ownership of a raw descriptor would need.
        let path = Path::new("/dev/fd").join(fd.to_string());
        let what = format!("--passphrase-fd {fd}");
        let f = std::fs::File::open(&path)
            .map_err(|e| Error::Usage(format!("{what}: cannot read the descriptor: {e}")))?;
        let line = first_line(f)
            .map_err(|e| Error::Usage(format!("{what}: cannot read the descriptor: {e}")))?;
        return decode(line, &what).map(Some);
    }
    Ok(None)
}

/// The first line of `r`, without its line ending (LF or CRLF). Reads no further than the
/// newline, so a writer keeping a pipe open does not make us wait for its end.
fn first_line(r: impl Read) -> std::io::Result<zeroize::Zeroizing<Vec<u8>>> {
    let mut line = zeroize::Zeroizing::new(Vec::new());
    BufReader::new(r.take(MAX_LINE)).read_until(b'\n', &mut line)?;
    if line.last() == Some(&b'\n') {
        line.pop();
        if line.last() == Some(&b'\r') {
            line.pop();
        }
    }
    Ok(line)
}

fn decode(line: zeroize::Zeroizing<Vec<u8>>, what: &str) -> Result<Passphrase> {
    match std::str::from_utf8(&line) {
        Ok(s) => Ok(Passphrase::new(s)),
        Err(_) => Err(Error::Usage(format!("{what}: the passphrase is not UTF-8"))),
    }
}

/// style.md §4: never prompt unless stdin and stderr are terminals (a filter in a pipeline, a
/// procmail recipe and mutt's `$sendmail` must fail instead of waiting for a user).
fn can_prompt() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// Asks on the terminal without echo (rpassword reads and writes `/dev/tty`).
fn prompt(name: &str, again: bool) -> Option<Passphrase> {
    let text = if again {
        format!("Wrong passphrase. Passphrase for {name}: ")
    } else {
        format!("Passphrase for {name}: ")
    };
    rpassword::prompt_password(text).ok().map(Passphrase::new)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_line_strips_lf_and_crlf_only() {
        let l = |b: &[u8]| first_line(b).map(|v| v.to_vec()).unwrap_or_default();
        assert_eq!(l(b"secret\nnext\n"), b"secret");
        assert_eq!(l(b"secret\r\n"), b"secret");
        assert_eq!(l(b" sp ace \n"), b" sp ace ");
        assert_eq!(l(b"no newline"), b"no newline");
        assert_eq!(l(b""), b"");
        assert_eq!(l(b"\n"), b"");
    }
}
