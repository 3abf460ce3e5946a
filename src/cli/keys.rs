//! The KEYS flags every crypto-capable command takes (design.md §2).

use std::path::PathBuf;
use ximf::policy::select::{Context, select};
use ximf::policy::{CorrespondenceType, Model};

/// Keys and certificates; type is detected from content.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct KeyArgs {
    /// Signer or decryption private key (PKCS#8/PKCS#1/SEC1 PEM or DER, or an OpenPGP TSK)
    #[arg(long, value_name = "FILE")]
    pub key: Vec<PathBuf>,
    /// The signer's X.509 certificate and chain
    #[arg(long, value_name = "FILE")]
    pub cert: Vec<PathBuf>,
    /// A recipient's X.509 certificate or OpenPGP cert
    #[arg(long, value_name = "FILE")]
    pub recipient: Vec<PathBuf>,
    /// X.509 trust anchors (PEM bundle)
    #[arg(long, value_name = "FILE")]
    pub ca: Vec<PathBuf>,
    /// Trusted OpenPGP certs
    #[arg(long, value_name = "FILE")]
    pub keyring: Vec<PathBuf>,
    /// Configuration file: its identities' keys and certificates and its trust anchors are
    /// used too (default: $XIMF_CONFIG, when set)
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

impl KeyArgs {
    /// Reads every file and sorts the material by kind (detected from content). A config file
    /// (`--config`, else `$XIMF_CONFIG`) adds its identities' keys and certificates (own keys,
    /// for signing and decryption; recipients are never taken from it here) and its anchors.
    pub fn load(&self) -> ximf::Result<ximf::protect::Keys> {
        self.load_for(&[])
    }

    /// [`KeyArgs::load`], and the config's identity certificate of each of `recipients` is a
    /// recipient certificate too, as in `ximf sendmail`.
    pub fn load_for(&self, recipients: &[String]) -> ximf::Result<ximf::protect::Keys> {
        let (mut key, mut cert) = (self.key.clone(), self.cert.clone());
        let mut recipient = self.recipient.clone();
        let (mut ca, mut keyring) = (self.ca.clone(), self.keyring.clone());
        let config = self.config.clone().or_else(|| {
            std::env::var_os("XIMF_CONFIG")
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        });
        if let Some(path) = config {
            let home = std::env::var_os("HOME").map(PathBuf::from);
            let c = ximf::sendmail::config::Config::load(&path, home.as_deref())?;
            for id in c.identities.values() {
                key.extend(id.key.iter().cloned());
                cert.extend(id.cert.iter().cloned());
            }
            for r in recipients {
                if let Some(id) = c.identity(r) {
                    recipient.extend(id.cert.iter().cloned());
                }
            }
            ca.extend(c.trust.ca.iter().cloned());
            keyring.extend(c.trust.keyring.iter().cloned());
        }
        let read = |v: &[PathBuf]| -> ximf::Result<Vec<Vec<u8>>> {
            v.iter().map(|p| super::io::read_file(p)).collect()
        };
        ximf::protect::Keys::load(
            &read(&key)?,
            &read(&cert)?,
            &read(&recipient)?,
            &read(&ca)?,
            &read(&keyring)?,
        )
    }
}

/// Correspondence selection flags (usage × context, design.md §3.2).
#[derive(Debug, Clone, Default, clap::Args)]
pub struct PolicyArgs {
    /// The sender's usage (private, professional, official, ...)
    #[arg(long, value_name = "USAGE")]
    pub usage: Option<String>,
    /// A context fact, KEY=VALUE (repeat); $XIMF_CONTEXT gives defaults
    #[arg(long, value_name = "K=V")]
    pub context: Vec<String>,
}

impl PolicyArgs {
    /// The context: `$XIMF_CONTEXT`, then `--context` flags, then automatic `time` and `os`.
    pub fn context(&self, now: i64) -> ximf::Result<Context> {
        let env = std::env::var("XIMF_CONTEXT").ok();
        Ok(Context::build(env.as_deref(), &self.context)?.with_defaults(now, std::env::consts::OS))
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
