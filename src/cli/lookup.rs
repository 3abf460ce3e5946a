//! Where recipients' certificates are looked for by address (issue 10 point 3): the config's
//! `cert_dir` (X.509) and the user's GnuPG keyring (OpenPGP, through `gpg --export`). The
//! library picks the one certificate ([`ximf::secure::lookup`]); this side lists files and runs
//! gpg, which the library never does (style.md §1).
//!
//! `--recipient` takes a file, as always, or an address: a value with an `@` that is not an
//! existing file. With no `--recipient` at all, encryption looks up every recipient of the
//! message ([`Lookup::recipients`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use ximf::config::Config;
use ximf::protect::{Lookup, Mechanism};
use ximf::secure::lookup::{Candidate, Candidates, Directory};
use ximf::smime::Certificate;
use ximf::{Error, Result};

/// The file names of certificates in `cert_dir`, by extension (case-insensitive).
const CERT_EXTENSIONS: [&str; 4] = ["pem", "crt", "cer", "der"];

/// True when a `--recipient` value is an address to look up: it has an `@` and is not the path
/// of an existing file (a file wins, so `./bob@example.org.pem` still works).
pub fn is_address(p: &Path) -> bool {
    p.to_str().is_some_and(|s| s.contains('@')) && !p.exists()
}

/// The `--recipient` values that are files (loaded as certificates) and those that are
/// addresses (looked up).
pub fn split(recipients: &[PathBuf]) -> (Vec<PathBuf>, Vec<String>) {
    let (mut files, mut addresses) = (Vec::new(), Vec::new());
    for r in recipients {
        if is_address(r) {
            addresses.push(r.to_string_lossy().trim().to_owned());
        } else {
            files.push(r.clone());
        }
    }
    (files, addresses)
}

/// The lookup for a command given `recipients` (`--recipient` values, files and addresses):
/// its addresses, and every recipient of the message when none was given at all.
pub fn lookup(config: &Config, recipients: &[PathBuf]) -> Lookup {
    let (_, addresses) = split(recipients);
    Lookup::new(
        Arc::new(Sources::new(config)),
        addresses,
        recipients.is_empty(),
    )
}

/// The places searched: the certificate directory, read once per run, and the GnuPG home.
#[derive(Debug)]
struct Sources {
    cert_dir: Option<PathBuf>,
    gnupg_home: Option<PathBuf>,
    certs: OnceLock<std::result::Result<Vec<Candidate<Certificate>>, String>>,
}

impl Sources {
    fn new(config: &Config) -> Sources {
        // Where gpg itself looks: $GNUPGHOME, else ~/.gnupg (as --key does, cli/gnupg.rs).
        let env = std::env::var_os("GNUPGHOME")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let home = super::config::home().map(|h| h.join(".gnupg"));
        Sources {
            cert_dir: config.cert_dir.clone(),
            gnupg_home: env.or(home),
            certs: OnceLock::new(),
        }
    }

    /// Every certificate of every `*.pem`/`*.crt`/`*.cer`/`*.der` file in `dir`, sorted by
    /// name; a file that holds no certificate (a key, a CSR) is skipped.
    fn read_dir(dir: &Path) -> Result<Vec<Candidate<Certificate>>> {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            // Not made yet: nothing to find there, and the error says where was searched.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => {
                return Err(Error::Input {
                    path: dir.to_owned(),
                    source: e,
                });
            }
        };
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                p.extension()
                    .and_then(|x| x.to_str())
                    .is_some_and(|x| CERT_EXTENSIONS.iter().any(|c| x.eq_ignore_ascii_case(c)))
                    && p.is_file()
            })
            .collect();
        paths.sort();
        let mut out = Vec::new();
        for p in paths {
            let data = super::io::read_file(&p)?;
            if let Ok(certs) = ximf::smime::parse_certs(&data) {
                let origin = p.display().to_string();
                out.extend(certs.into_iter().map(|c| Candidate::new(c, origin.clone())));
            }
        }
        Ok(out)
    }

    /// `gpg --export ADDRESS` in the GnuPG home: the certificates whose User IDs contain the
    /// address (gpg's substring match; the library keeps exact matches). `Ok(None)` when there
    /// is no GnuPG home or no gpg: nothing to search, quietly.
    fn gpg_export(home: &Path, address: &str) -> Result<Option<Vec<u8>>> {
        if !home.is_dir() {
            // gpg would create it: a lookup must not set up a keyring the user never made.
            return Ok(None);
        }
        let home_arg = home.to_string_lossy();
        let args = [
            "--homedir",
            home_arg.as_ref(),
            "--batch",
            "--no-tty",
            "--quiet",
            "--no-autostart",
            "--no-permission-warning",
            "--export",
            "--",
            address,
        ];
        // The one bounded runner of GnuPG programs (cli/gnupg.rs); gpg that cannot be run is
        // nothing to search, quietly.
        let out = match super::gnupg::run("gpg", &args, true) {
            Ok(o) => o.stdout,
            Err(Error::Unavailable(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        // gpg exits 0 with nothing for an unknown address; a failing keyring is treated the
        // same way: whatever it printed is all there is.
        Ok(Some(out))
    }
}

impl Directory for Sources {
    fn candidates(&self, address: &str, kinds: &[Mechanism]) -> Result<Candidates> {
        let mut c = Candidates::default();
        if kinds.contains(&Mechanism::Smime) {
            match &self.cert_dir {
                Some(dir) => {
                    let certs = self
                        .certs
                        .get_or_init(|| Sources::read_dir(dir).map_err(|e| e.to_string()));
                    c.x509 = certs.clone().map_err(Error::Key)?;
                    c.searched
                        .push(format!("searched cert_dir {}", dir.display()));
                }
                None => c.searched.push("no cert_dir in the config".into()),
            }
        }
        if kinds.contains(&Mechanism::OpenPgp) {
            let exported = match &self.gnupg_home {
                Some(home) => Sources::gpg_export(home, address)?.map(|d| (home, d)),
                None => None,
            };
            match exported {
                Some((home, data)) => {
                    let origin = format!("the GnuPG keyring in {}", home.display());
                    c.searched.push(format!("searched {origin}"));
                    if let Ok(certs) = ximf::pgp::load_keys(&data) {
                        (c.pgp).extend(certs.into_iter().map(|k| Candidate::new(k, &origin)));
                    }
                }
                None => c
                    .searched
                    .push("no GnuPG keyring (no gpg or no GnuPG home)".into()),
            }
        }
        Ok(c)
    }
}
