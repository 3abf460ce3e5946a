//! The old per-mechanism verification API, expressed through the one engine
//! (`ximf::secure`), so the S/MIME and OpenPGP interop and tamper tests keep their assertions
//! while both mechanisms are judged by the same code.
#![allow(clippy::unwrap_used)]

use ximf::report::{EncryptionReport, Finding, LabelReport, SignatureReport};
use ximf::secure::{self, Keys};

/// What the tests read of a verification.
#[derive(Debug, Clone)]
pub struct Verification {
    pub signature: SignatureReport,
    pub encryption: EncryptionReport,
    pub label: Option<LabelReport>,
    pub findings: Vec<Finding>,
    pub inner_headers: Vec<(String, String)>,
    /// The decrypted entity, else the signed part (empty when neither).
    pub content: Vec<u8>,
    /// True when a signature layer is an inline cleartext signature.
    pub inline: bool,
}

pub fn verify_with(msg: &[u8], keys: &Keys, now: i64) -> ximf::Result<Verification> {
    let o = secure::verify(msg, keys, now)?;
    let content = secure::extract(msg, keys, now)?.unwrap_or_default();
    let inline = o.signature.layers.iter().any(|l| l.form == "inline");
    Ok(Verification {
        inline,
        signature: o.signature,
        encryption: o.encryption,
        label: o.label,
        findings: o.findings,
        inner_headers: o.inner_headers,
        content,
    })
}

pub mod pgp {
    pub use super::Verification;
    pub use ximf::pgp::*;
    use ximf::secure::Keys;

    /// Verification inputs, as the old OpenPGP API took them.
    #[derive(Clone, Default)]
    pub struct VerifyOptions {
        pub keyring: Vec<Cert>,
        pub keys: Vec<Cert>,
        pub now: i64,
    }
    use sequoia_openpgp::Cert;

    impl VerifyOptions {
        pub fn new(now: i64, keyring: Vec<Cert>) -> Self {
            VerifyOptions {
                keyring,
                keys: Vec::new(),
                now,
            }
        }
        pub fn with_keys(mut self, keys: Vec<Cert>) -> Self {
            self.keys = keys;
            self
        }
    }

    pub fn verify(msg: &[u8], o: &VerifyOptions) -> ximf::Result<super::Verification> {
        let keys = Keys {
            pgp_keyring: o.keyring.clone(),
            pgp_secret: o.keys.clone(),
            ..Default::default()
        };
        super::verify_with(msg, &keys, o.now)
    }

    pub fn decrypt(msg: &[u8], keys: &[Cert], now: i64) -> ximf::Result<Vec<u8>> {
        let keys = Keys {
            pgp_secret: keys.to_vec(),
            ..Default::default()
        };
        ximf::secure::decrypt(msg, &keys, now)
    }
}

pub mod smime {
    pub use super::Verification;
    use ximf::secure::Keys;
    pub use ximf::smime::*;

    /// Verification inputs, as the old S/MIME API took them.
    #[derive(Default)]
    pub struct VerifyOptions {
        pub anchors: Vec<Certificate>,
        pub extra_certs: Vec<Certificate>,
        pub now: i64,
        pub keys: Vec<Credentials>,
        pub extract: bool,
    }

    pub fn verify(msg: &[u8], o: &VerifyOptions) -> ximf::Result<super::Verification> {
        let keys = Keys {
            smime_anchors: o.anchors.clone(),
            smime_extra: o.extra_certs.clone(),
            smime_signers: o.keys.clone(),
            ..Default::default()
        };
        super::verify_with(msg, &keys, o.now)
    }

    pub fn decrypt(msg: &[u8], keys: &[Credentials], now: i64) -> ximf::Result<Vec<u8>> {
        let keys = Keys {
            smime_signers: keys.to_vec(),
            ..Default::default()
        };
        ximf::secure::decrypt(msg, &keys, now)
    }
}
