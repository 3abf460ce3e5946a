//! What a message's protection must be: from the correspondence type, from the instance's
//! `secureHeaders`/`securityLabel` rules (which force S/MIME signing, spec §2.5), and from the
//! command-line flags, which may add demands but never weaken them (design.md §2).

use super::{Keys, Mechanism};
use crate::error::{Error, Result};
use crate::message::Message;
use crate::pgp::HashAlgorithm;
use crate::policy::{CorrespondenceType, Use};
use crate::profile::{Instance, RuleKind};
use crate::smime::{Cipher, Credentials, Digest, EssLabel};
use sequoia_openpgp::Cert;
use sequoia_openpgp::types::PublicKeyAlgorithm;

/// Protection demands.
#[derive(Debug, Clone)]
pub struct Demands {
    /// Sign.
    pub sign: bool,
    /// Encrypt.
    pub encrypt: bool,
    /// Signing is forbidden (a `--sign` conflicts).
    pub sign_forbidden: bool,
    /// Encryption is forbidden.
    pub encrypt_forbidden: bool,
    /// Allowed mechanisms; empty = any.
    pub mechanisms: Vec<Mechanism>,
    /// Allowed digests (`sha256`, ...); empty = the default.
    pub digests: Vec<String>,
    /// Allowed ciphers (`aes256-gcm`, ...); empty = the default.
    pub ciphers: Vec<String>,
    /// Minimum RSA key size.
    pub min_rsa_bits: Option<u32>,
    /// RFC 9788 header protection (the default).
    pub header_protection: bool,
    /// RFC 7508 secure header fields (S/MIME).
    pub secure_headers: Vec<String>,
    /// ESS security label (S/MIME).
    pub label: Option<EssLabel>,
    /// OpenPGP signing with encryption in one OpenPGP message (RFC 3156 §6.2) instead of an
    /// encrypted `multipart/signed` (§6.1, the default).
    pub pgp_combined: bool,
    /// Where the demands come from, for messages.
    pub origin: String,
}

impl Default for Demands {
    fn default() -> Self {
        Demands {
            sign: false,
            encrypt: false,
            sign_forbidden: false,
            encrypt_forbidden: false,
            mechanisms: Vec::new(),
            digests: Vec::new(),
            ciphers: Vec::new(),
            min_rsa_bits: None,
            header_protection: true,
            secure_headers: Vec::new(),
            label: None,
            pgp_combined: false,
            origin: "the command line".into(),
        }
    }
}

fn norm(s: &str) -> String {
    s.trim().to_ascii_lowercase().replace(['-', '_'], "")
}

impl Demands {
    /// The demands of a correspondence type, for `agent`.
    pub fn from_type(t: &CorrespondenceType, agent: &str) -> Demands {
        let mut d = Demands {
            origin: format!("correspondence {} ({})", t.name, t.origin),
            ..Demands::default()
        };
        let applies = |a: &Option<String>| crate::check::rule_applies(a.as_deref(), agent);
        if let Some(s) = t.sign.as_ref().filter(|s| applies(&s.agent)) {
            d.sign = s.value.r#use == Use::Required;
            d.sign_forbidden = s.value.r#use == Use::Forbidden;
            d.digests = s.value.algorithms.clone();
            d.min_rsa_bits = s.value.min_rsa_bits;
            d.mechanisms = s
                .value
                .mechanisms
                .iter()
                .filter_map(|m| Mechanism::parse(m))
                .collect();
            if let Some(hp) = &s.value.header_protection {
                d.header_protection =
                    hp.eq_ignore_ascii_case("rfc9788") || hp.eq_ignore_ascii_case("rfc7508");
                if hp.eq_ignore_ascii_case("rfc7508") {
                    d.secure_headers = s.value.secure_headers.clone();
                }
            }
        }
        if let Some(e) = t.encrypt.as_ref().filter(|e| applies(&e.agent)) {
            d.encrypt = e.value.r#use == Use::Required;
            d.encrypt_forbidden = e.value.r#use == Use::Forbidden;
            d.ciphers = e.value.algorithms.clone();
            let m: Vec<Mechanism> = e
                .value
                .mechanisms
                .iter()
                .filter_map(|m| Mechanism::parse(m))
                .collect();
            if !m.is_empty() {
                d.mechanisms = if d.mechanisms.is_empty() {
                    m
                } else {
                    d.mechanisms
                        .iter()
                        .copied()
                        .filter(|x| m.contains(x))
                        .collect()
                };
            }
            if let Some(bits) = e.value.min_rsa_bits {
                d.min_rsa_bits = Some(d.min_rsa_bits.map_or(bits, |b| b.max(bits)));
            }
        }
        d
    }

    /// Adds what the instance's `secureHeaders` and `securityLabel` rules ask: S/MIME signing
    /// with RFC 7508 secure headers and an ESS label built from `message`'s fields.
    pub fn add_instance_rules(&mut self, instance: &Instance, message: &Message) -> Result<()> {
        for kind in instance.rules.iter().flat_map(|r| &r.kinds) {
            match kind {
                RuleKind::SecureHeaders { aliases, .. } => {
                    self.require_smime_signing(&format!(
                        "instance {} secureHeaders rule",
                        instance.name
                    ))?;
                    for a in aliases {
                        if !self
                            .secure_headers
                            .iter()
                            .any(|h| h.eq_ignore_ascii_case(&a.header_name))
                        {
                            self.secure_headers.push(a.header_name.clone());
                        }
                    }
                }
                RuleKind::SecurityLabel { aliases } => {
                    self.require_smime_signing(&format!(
                        "instance {} securityLabel rule",
                        instance.name
                    ))?;
                    let value = |component: &str| {
                        aliases
                            .iter()
                            .find(|a| a.header_name.eq_ignore_ascii_case(component))
                            .and_then(|a| a.header_ref.as_deref())
                            .and_then(|h| message.value(h))
                    };
                    self.label = label_from(
                        value("SecurityPolicyIdentifier"),
                        value("SecurityClassification"),
                        value("ESSPrivacyMark"),
                    );
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// The ESS label of a `cm:label` demand, from the usual XIMF fields (spec §4.5.3).
    pub fn add_label_from_headers(&mut self, message: &Message) {
        self.label = label_from(
            message.value("X-XIMF-Security-Policy-Identifier"),
            message.value("X-XIMF-Security-Classification-Identifier"),
            message.value("X-XIMF-Privacy-Mark"),
        );
    }

    fn require_smime_signing(&mut self, why: &str) -> Result<()> {
        if self.sign_forbidden {
            return Err(Error::Config(format!(
                "{why} forces S/MIME signing, which {} forbids",
                self.origin
            )));
        }
        self.sign = true;
        if !self.mechanisms.is_empty() && !self.mechanisms.contains(&Mechanism::Smime) {
            return Err(Error::Config(format!(
                "{why} forces S/MIME, which {} does not allow",
                self.origin
            )));
        }
        self.mechanisms = vec![Mechanism::Smime];
        Ok(())
    }

    /// Adds the demands of `--sign`, `--encrypt` and `--mechanism`. A flag the policy forbids is
    /// [`Error::Config`] (78) naming the rule.
    pub fn add_flags(
        &mut self,
        sign: bool,
        encrypt: bool,
        mechanism: Option<Mechanism>,
    ) -> Result<()> {
        if sign && self.sign_forbidden {
            return Err(Error::Config(format!(
                "--sign: {} forbids signing",
                self.origin
            )));
        }
        if encrypt && self.encrypt_forbidden {
            return Err(Error::Config(format!(
                "--encrypt: {} forbids encryption",
                self.origin
            )));
        }
        self.sign |= sign;
        self.encrypt |= encrypt;
        if let Some(m) = mechanism {
            if !self.mechanisms.is_empty() && !self.mechanisms.contains(&m) {
                return Err(Error::Config(format!(
                    "--mechanism {}: {} allows only {}",
                    m.name(),
                    self.origin,
                    self.mechanisms
                        .iter()
                        .map(|m| m.name())
                        .collect::<Vec<_>>()
                        .join(" ")
                )));
            }
            self.mechanisms = vec![m];
        }
        Ok(())
    }

    /// The mechanism to use: the only one allowed, else the first allowed one the keys serve.
    pub fn mechanism_for(&self, keys: &Keys) -> Result<Mechanism> {
        let allowed = if self.mechanisms.is_empty() {
            vec![Mechanism::Smime, Mechanism::OpenPgp]
        } else {
            self.mechanisms.clone()
        };
        let served = |m: &Mechanism| match m {
            Mechanism::Smime => keys.has_smime(self.sign, self.encrypt),
            Mechanism::OpenPgp => keys.has_pgp(self.sign, self.encrypt),
        };
        match (allowed.as_slice(), allowed.iter().find(|m| served(m))) {
            (_, Some(m)) => Ok(*m),
            // One mechanism allowed: let it name the missing key precisely.
            ([only], None) => Ok(*only),
            _ => Err(Error::NoKey(format!(
                "{}{}: no keys given for {}",
                if self.sign { "signer" } else { "" },
                if self.encrypt { " and recipients" } else { "" },
                allowed
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(" or ")
            ))),
        }
    }

    fn pick<'a>(
        &self,
        demanded: &[String],
        known: &'a [&'a str],
        weak: &[&str],
        what: &str,
    ) -> Result<Option<&'a str>> {
        if demanded.is_empty() {
            return Ok(None);
        }
        if let Some(w) = demanded.iter().find(|d| weak.contains(&norm(d).as_str())) {
            return Err(Error::Config(format!(
                "{what} {w} in {} is too weak and never used",
                self.origin
            )));
        }
        demanded
            .iter()
            .find_map(|d| known.iter().find(|k| norm(k) == norm(d)).copied())
            .map(Some)
            .ok_or_else(|| {
                Error::Config(format!(
                    "{what}: none of {} is supported ({} demands it)",
                    demanded.join(" "),
                    self.origin
                ))
            })
    }

    /// The S/MIME digest: the first demanded one ximf supports, else SHA-256.
    pub fn smime_digest(&self) -> Result<Digest> {
        Ok(
            match self.pick(
                &self.digests,
                &["sha256", "sha384", "sha512"],
                &["sha1", "md5"],
                "digest",
            )? {
                Some("sha384") => Digest::Sha384,
                Some("sha512") => Digest::Sha512,
                _ => Digest::Sha256,
            },
        )
    }

    /// The OpenPGP hash, when the demands name one.
    pub fn pgp_hash(&self) -> Result<Option<HashAlgorithm>> {
        Ok(
            match self.pick(
                &self.digests,
                &["sha256", "sha384", "sha512"],
                &["sha1", "md5"],
                "digest",
            )? {
                Some("sha256") => Some(HashAlgorithm::SHA256),
                Some("sha384") => Some(HashAlgorithm::SHA384),
                Some("sha512") => Some(HashAlgorithm::SHA512),
                _ => None,
            },
        )
    }

    /// The S/MIME content cipher: the first demanded one ximf supports, else AES-256-GCM.
    pub fn smime_cipher(&self) -> Result<Cipher> {
        let known = ["aes256-gcm", "aes128-gcm", "aes256-cbc", "aes128-cbc"];
        Ok(
            match self.pick(
                &self.ciphers,
                &known,
                &["des", "3des", "descbc", "des3", "rc2"],
                "cipher",
            )? {
                Some("aes128-gcm") => Cipher::Aes128Gcm,
                Some("aes256-cbc") => Cipher::Aes256Cbc,
                Some("aes128-cbc") => Cipher::Aes128Cbc,
                _ => Cipher::Aes256Gcm,
            },
        )
    }

    /// Refuses an S/MIME signing key below `min-rsa-bits`.
    pub fn check_smime_key(&self, c: &Credentials) -> Result<()> {
        let Some(min) = self.min_rsa_bits else {
            return Ok(());
        };
        use der::Encode;
        let bits = c
            .certificate()
            .to_der()
            .ok()
            .and_then(|d| openssl::x509::X509::from_der(&d).ok())
            .and_then(|x| x.public_key().ok())
            .and_then(|k| k.rsa().ok().map(|r| r.size() * 8));
        match bits {
            Some(b) if b < min => Err(Error::Config(format!(
                "signing key has {b} RSA bits; {} requires {min}",
                self.origin
            ))),
            _ => Ok(()),
        }
    }

    /// Refuses an OpenPGP signing key below `min-rsa-bits`.
    pub fn check_pgp_key(&self, c: &Cert) -> Result<()> {
        let Some(min) = self.min_rsa_bits else {
            return Ok(());
        };
        for k in c.keys() {
            let key = k.key();
            #[allow(deprecated)] // old keys still carry the sign-only and encrypt-only RSA ids
            let rsa = matches!(
                key.pk_algo(),
                PublicKeyAlgorithm::RSAEncryptSign
                    | PublicKeyAlgorithm::RSASign
                    | PublicKeyAlgorithm::RSAEncrypt
            );
            if rsa
                && let Some(bits) = key.mpis().bits()
                && (bits as u32) < min
            {
                return Err(Error::Config(format!(
                    "OpenPGP key has {bits} RSA bits; {} requires {min}",
                    self.origin
                )));
            }
        }
        Ok(())
    }
}

fn label_from(
    policy: Option<String>,
    class: Option<String>,
    mark: Option<String>,
) -> Option<EssLabel> {
    let policy = policy?.trim().to_owned();
    Some(EssLabel {
        policy,
        classification: class.and_then(|c| c.trim().parse().ok()),
        privacy_mark: mark.map(|m| m.trim().to_owned()).filter(|m| !m.is_empty()),
        categories: Vec::new(),
    })
}
