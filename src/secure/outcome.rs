//! Typed outcomes: what a backend says about one signature, what a layer is, and the one rule
//! that merges layers into the report's statuses.

use crate::report::{Finding, Severity};

/// Bounds on what the engine produces from a message: an input within `--max-size` must not
/// expand into more (design.md §8, no amplification without a bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest plaintext or signed content a layer may yield (decrypted, decompressed or
    /// decoded), checked while it is produced. Default: 64 MiB, the default `--max-size`.
    pub max_output: u64,
    /// The most MIME parts the walk splits out of one message. Default: 10,000.
    pub max_parts: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_output: 64 << 20,
            max_parts: 10_000,
        }
    }
}

impl Limits {
    /// Limits whose output bound is `max_size` (the caller's `--max-size`).
    pub fn with_max_output(max_size: u64) -> Limits {
        Limits {
            max_output: max_size,
            ..Limits::default()
        }
    }
}

/// A protection mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mechanism {
    /// S/MIME 4.0 (RFC 8551) on CMS.
    Smime,
    /// OpenPGP (RFC 3156 PGP/MIME, or inline).
    OpenPgp,
}

impl Mechanism {
    /// The report and policy name: `smime` or `openpgp`.
    pub fn name(self) -> &'static str {
        match self {
            Mechanism::Smime => "smime",
            Mechanism::OpenPgp => "openpgp",
        }
    }

    /// Parses `smime` / `openpgp`.
    pub fn parse(s: &str) -> Option<Mechanism> {
        match s.trim().to_ascii_lowercase().as_str() {
            "smime" | "s/mime" => Some(Mechanism::Smime),
            "openpgp" | "pgp" => Some(Mechanism::OpenPgp),
            _ => None,
        }
    }
}

/// A signature's standing, best first: the derived order makes the worst the maximum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SignatureStatus {
    /// Good, trusted, in date, strong.
    Valid,
    /// Good but made with a weak algorithm or key.
    Weak,
    /// A key, certificate or the signature itself is out of date.
    Expired,
    /// Good mathematics, no trust path / not in the keyring.
    Untrusted,
    /// Does not verify, or cannot be read.
    Invalid,
}

impl SignatureStatus {
    /// The report word.
    pub fn as_str(self) -> &'static str {
        match self {
            SignatureStatus::Valid => "valid",
            SignatureStatus::Weak => "weak",
            SignatureStatus::Expired => "expired",
            SignatureStatus::Untrusted => "untrusted",
            SignatureStatus::Invalid => "invalid",
        }
    }
}

/// What a backend found for one signature (an S/MIME SignerInfo, an OpenPGP signature packet).
#[derive(Debug, Clone)]
pub struct Signer {
    /// The verdict on this signature.
    pub status: SignatureStatus,
    /// A printable name: the first address, else a fingerprint or subject.
    pub display: Option<String>,
    /// The e-mail addresses the signer vouches for, lower-cased: an X.509 certificate's SAN
    /// rfc822Names (else its subject emailAddress); an OpenPGP certificate's User IDs that are
    /// bound and not revoked at the signature time. Empty: the signer matches no From.
    pub addresses: Vec<String>,
    /// The digest used (`sha256`, ...).
    pub digest: Option<String>,
    /// The public-key algorithm and size (`rsa`, 3072), for the policy's minimum size.
    pub key: Option<(String, u32)>,
    /// Problems of this signature.
    pub findings: Vec<Finding>,
    /// S/MIME signed attributes the engine compares with the header (ESS label, RFC 7508).
    pub attributes: Option<SignedAttributes>,
}

impl Signer {
    /// A signature that cannot be judged at all: invalid with one finding.
    pub fn broken(code: &'static str, message: impl Into<String>) -> Signer {
        Signer {
            status: SignatureStatus::Invalid,
            display: None,
            addresses: Vec::new(),
            digest: None,
            key: None,
            findings: vec![finding(code, Severity::Error, message)],
            attributes: None,
        }
    }
}

/// The header-related signed attributes of an S/MIME signature, decoded by the backend.
#[derive(Debug, Clone, Default)]
pub struct SignedAttributes {
    /// The ESS security label (RFC 2634), or why it could not be read.
    pub label: Option<Result<crate::smime::EssLabel, String>>,
    /// RFC 7508 SecureHeaderFields (or Trustedbird's legacy form), or why they cannot be read.
    pub secure_headers: Option<Result<crate::smime::SecureHeaders, String>>,
}

/// How a signature is attached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `multipart/signed` (RFC 1847).
    Detached,
    /// The content inside the signature (S/MIME signed-data, an OpenPGP signed message).
    Opaque,
    /// An inline cleartext-signed block.
    Inline,
    /// Signed and encrypted in one OpenPGP message (RFC 3156 §6.2).
    Combined,
}

impl Form {
    /// The report word.
    pub fn as_str(self) -> &'static str {
        match self {
            Form::Detached => "detached",
            Form::Opaque => "opaque",
            Form::Inline => "inline",
            Form::Combined => "combined",
        }
    }
}

/// One signature layer: the signatures of one signed structure, merged.
#[derive(Debug, Clone)]
pub struct SignatureLayer {
    /// Which mechanism.
    pub mechanism: Mechanism,
    /// How it is attached.
    pub form: Form,
    /// False when the signed content is an encrypted layer (encrypt-then-sign): the signature
    /// then vouches for ciphertext, not for what the author wrote.
    pub covers_plaintext: bool,
    /// The signature that decides the layer (the best one).
    pub signer: Signer,
    /// How many signatures the layer carried.
    pub count: usize,
}

/// The content cipher of an encrypted layer.
#[derive(Debug, Clone)]
pub struct EncryptionLayer {
    /// Which mechanism.
    pub mechanism: Mechanism,
    /// Opened or not.
    pub decrypted: bool,
    /// The content cipher (`aes256-gcm`, `aes128-cbc`, `aes256-ocb`...), when opened.
    pub cipher: Option<String>,
}

/// Merges the signatures of one layer: the best decides (RFC 5652 §5.1 lets a recipient accept
/// any one good signer, and so does OpenPGP); the others' problems are kept as warnings.
pub fn merge_signers(mut signers: Vec<Signer>) -> Option<(Signer, usize)> {
    let count = signers.len();
    let best = (0..count).min_by_key(|&i| signers[i].status)?;
    let mut chosen = signers.swap_remove(best);
    if count > 1 {
        chosen.findings.push(finding(
            crate::secure::codes::MULTIPLE_SIGNERS,
            Severity::Warning,
            format!("{count} signatures in one layer; the best one decides"),
        ));
    }
    for other in signers {
        for f in other.findings {
            chosen
                .findings
                .push(finding(f.code, Severity::Warning, f.message));
        }
    }
    Some((chosen, count))
}

/// A finding without a header.
pub fn finding(code: &'static str, severity: Severity, message: impl Into<String>) -> Finding {
    Finding {
        code,
        severity,
        header: None,
        message: message.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer(status: SignatureStatus) -> Signer {
        Signer {
            status,
            display: None,
            addresses: vec![],
            digest: None,
            key: None,
            findings: vec![finding("x", Severity::Error, "x")],
            attributes: None,
        }
    }

    #[test]
    fn worst_is_max_and_best_signer_decides() {
        assert!(SignatureStatus::Invalid > SignatureStatus::Valid);
        let (s, n) = merge_signers(vec![
            signer(SignatureStatus::Invalid),
            signer(SignatureStatus::Valid),
        ])
        .expect("merged");
        assert_eq!((s.status, n), (SignatureStatus::Valid, 2));
        assert!(s.findings.iter().any(|f| f.code == "multiple-signers"));
        assert!(merge_signers(vec![]).is_none());
    }
}
