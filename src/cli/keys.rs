//! The KEYS flags every crypto-capable command takes (design.md §2).

use std::path::PathBuf;

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
    /// Configuration file mapping addresses to keys [env: XIMF_CONFIG]
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
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
    /// Until a profile carries a correspondence policy, asking for a usage or context cannot be
    /// satisfied: say so (78) rather than silently ignore the request.
    pub fn require_none(&self, profile: &ximf::profile::Profile) -> ximf::Result<()> {
        let has_policy = profile.instances.iter().any(|i| {
            i.rules.iter().flat_map(|r| &r.kinds).any(|k| {
                matches!(k, ximf::profile::RuleKind::Custom { provider, .. }
                    if provider == "urn:ximf:correspondence:1")
            })
        });
        match &self.usage {
            Some(u) if !has_policy => Err(ximf::Error::Config(format!(
                "usage '{u}': no correspondence type fits: the profile defines no correspondence policy"
            ))),
            _ => Ok(()),
        }
    }
}
