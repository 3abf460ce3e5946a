//! The KEYS flags every crypto-capable command takes (design.md §2).

use std::path::PathBuf;
use ximf::config::Config;
use ximf::policy::select::{Context, select};
use ximf::policy::{CorrespondenceType, Model};

// Keys and certificates; type is detected from content. (A comment, not a doc comment: on a
// flattened group clap makes it the about of every command using it, and with deferred
// subcommands that would replace the command's own; see `Command` in cli/mod.rs.)
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeyArgs {
    /// Signer or decryption private key: PKCS#8/PKCS#1/SEC1 PEM or DER (encrypted or not),
    /// PKCS#12 (.p12/.pfx, key and certificate chain in one file) or an OpenPGP secret key;
    /// or the fingerprint or address of an OpenPGP key whose secret stays in gpg-agent
    ///
    /// A value that names no file and is a fingerprint (40 or 64 hex digits, `0x` and spaces
    /// allowed) or an e-mail address takes the certificate from the GnuPG keyring ($GNUPGHOME)
    /// and signs and decrypts through gpg-agent, which asks for the passphrase with its own
    /// pinentry (or takes --passphrase-file/--passphrase-fd through its loopback pinentry).
    #[arg(long, value_name = "KEY", value_parser = super::config::path)]
    pub key: Vec<PathBuf>,
    /// The signer's X.509 certificate and chain
    #[arg(long, value_name = "FILE", value_parser = super::config::path)]
    pub cert: Vec<PathBuf>,
    /// A recipient's X.509 certificate or OpenPGP cert, or their address to look up (in the
    /// config's cert_dir and the GnuPG keyring); without any, encryption looks up every To, Cc
    /// and Bcc address
    #[arg(long, value_name = "FILE|ADDRESS", value_parser = super::config::path)]
    pub recipient: Vec<PathBuf>,
    /// X.509 trust anchors (PEM bundle), in addition to the system CA store
    #[arg(long, value_name = "FILE", value_parser = super::config::path)]
    pub ca: Vec<PathBuf>,
    /// Trusted OpenPGP certs
    #[arg(long, value_name = "FILE", value_parser = super::config::path)]
    pub keyring: Vec<PathBuf>,
    /// Read the passphrase of encrypted private keys (PKCS#8, PKCS#12, OpenPGP) from the first
    /// line of FILE
    #[arg(
        long,
        value_name = "FILE",
        value_parser = super::config::path,
        conflicts_with = "passphrase_fd"
    )]
    pub passphrase_file: Option<PathBuf>,
    /// Read the passphrase of encrypted private keys from file descriptor N (first line)
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,
    /// Do not trust the system CA store: only --ca and the config's trust.ca anchor S/MIME
    /// signers
    #[arg(long)]
    pub no_system_ca: bool,
}

impl KeyArgs {
    /// Reads every file and sorts the material by kind (detected from content). The
    /// configuration `c` adds its identities' keys and certificates (own keys, for signing and
    /// decryption; recipients are never taken from it here) and its trust; the system CA store
    /// is used unless `--no-system-ca` or `trust.system_ca = false`.
    pub fn load(&self, c: &Config) -> ximf::Result<ximf::protect::Keys> {
        self.load_for(c, &[])
    }

    /// [`KeyArgs::load`], and the config's identity certificate of each of `recipients` is a
    /// recipient certificate too, as in `ximf sendmail`.
    pub fn load_for(&self, c: &Config, recipients: &[String]) -> ximf::Result<ximf::protect::Keys> {
        let (key, mut cert) = (self.key.clone(), self.cert.clone());
        // Recipients named by address are looked up when encrypting (cli/lookup.rs); only the
        // files are read here.
        let mut recipient = super::lookup::split(&self.recipient).0;
        let (mut ca, mut keyring) = (self.ca.clone(), self.keyring.clone());
        // The identities' keys are optional: see passphrase::load_keys.
        let mut config_key = Vec::new();
        for id in c.identities.values() {
            config_key.extend(id.key.iter().cloned());
            cert.extend(id.cert.iter().cloned());
        }
        for r in recipients {
            if let Some(id) = c.identity(r) {
                recipient.extend(id.cert.iter().cloned());
            }
        }
        ca.extend(c.trust.ca.iter().cloned());
        keyring.extend(c.trust.keyring.iter().cloned());
        let system_ca = !self.no_system_ca && c.system_ca();
        let paths = super::passphrase::Paths {
            key,
            config_key,
            cert,
            recipient,
            ca,
            keyring,
        };
        let source = super::passphrase::Source {
            file: self.passphrase_file.clone(),
            fd: self.passphrase_fd,
        };
        let mut keys = super::passphrase::load_keys(&paths, &source)?;
        keys.system_ca = system_ca;
        Ok(keys)
    }
}

// Correspondence selection flags (usage × context, design.md §3.2). (A comment for the same
// reason as `KeyArgs`'s.)
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PolicyArgs {
    /// The sender's usage (private, professional, official, ...)
    #[arg(long, value_name = "USAGE")]
    pub usage: Option<String>,
    /// A context fact, KEY=VALUE (repeat); $XIMF_CONTEXT gives defaults
    #[arg(long, value_name = "K=V")]
    pub context: Vec<String>,
    /// The config's `[context]`, below `$XIMF_CONTEXT` and `--context`.
    #[arg(skip)]
    pub defaults: Vec<String>,
}

impl PolicyArgs {
    /// The config's `usage` when `--usage` is not given, and its `[context]` as defaults.
    pub fn with_config(mut self, c: &Config) -> PolicyArgs {
        self.usage = self.usage.or_else(|| c.usage.clone());
        self.defaults = c.context_items();
        self
    }

    /// The context: the config's `[context]`, then `$XIMF_CONTEXT`, then `--context` flags,
    /// then automatic `time` and `os`.
    pub fn context(&self, now: i64) -> ximf::Result<Context> {
        let env = std::env::var("XIMF_CONTEXT").unwrap_or_default();
        let env = env.split(',').filter(|s| !s.trim().is_empty());
        let items: Vec<String> = (self.defaults.iter().map(String::as_str))
            .chain(env)
            .chain(self.context.iter().map(String::as_str))
            .map(str::to_owned)
            .collect();
        Ok(Context::build(None, &items)?.with_defaults(now, std::env::consts::OS))
    }

    /// The correspondence type selected by `--usage` and the context, acting as `agent`; none
    /// when no usage is given. A usage with no policy, or no fitting type, is exit 78.
    pub fn select<'m>(
        &self,
        model: &'m Model,
        now: i64,
        agent: &str,
    ) -> ximf::Result<Option<&'m CorrespondenceType>> {
        let Some(usage) = &self.usage else {
            if !self.context.is_empty() && model.is_empty() {
                return Err(ximf::Error::Usage(
                    "--context without --usage selects nothing".into(),
                ));
            }
            return Ok(None);
        };
        if model.is_empty() {
            return Err(ximf::Error::Config(format!(
                "usage '{usage}': no correspondence type fits: the profile defines no correspondence policy"
            )));
        }
        let ctx = self.context(now)?;
        select(model, usage, &ctx, agent).map(Some)
    }
}
