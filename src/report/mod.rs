//! The verification report (design.md §5).

pub mod render;

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The message does not conform.
    Error,
    /// Worth knowing; the message still conforms.
    Warning,
}

/// One thing verification found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Stable kebab-case code, documented in the README.
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// The header field concerned, if any.
    pub header: Option<String>,
    /// A human-readable sentence.
    pub message: String,
}

/// Which profile the message was checked against.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ProfileInfo {
    /// Instance name, when one matched.
    pub instance: Option<String>,
    /// The instance's `ximfVersion`.
    pub version: Option<String>,
    /// The correspondence type, when the policy work names one.
    pub correspondence: Option<String>,
}

/// The signature part of the report (filled by the S/MIME and OpenPGP work).
#[derive(Debug, Clone, Default, Serialize)]
pub struct SignatureReport {
    /// `smime`, `openpgp` or none.
    pub mechanism: Option<String>,
    /// `valid`, `invalid`, `untrusted`, `expired`, `weak` or `absent`.
    pub status: String,
    /// The signer address.
    pub signer: Option<String>,
    /// The digest used.
    pub digest: Option<String>,
    /// Header fields the signature covers.
    pub protected_headers: Vec<String>,
    /// Every signature layer, outermost first (design.md §5).
    pub layers: Vec<LayerReport>,
}

/// One signature layer of the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LayerReport {
    /// `smime` or `openpgp`.
    pub mechanism: &'static str,
    /// `valid`, `invalid`, `untrusted`, `expired` or `weak`.
    pub status: &'static str,
    /// The signer (an address, else a fingerprint or subject).
    pub signer: Option<String>,
    /// The digest used.
    pub digest: Option<String>,
    /// `plaintext`, or `ciphertext` for a signature made over an encrypted layer.
    pub covers: &'static str,
    /// `detached`, `opaque`, `inline` or `combined`.
    pub form: &'static str,
}

/// The encryption part of the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EncryptionReport {
    /// `smime`, `openpgp` or none.
    pub mechanism: Option<String>,
    /// `decrypted`, `failed` or `absent`.
    pub status: String,
    /// The content cipher.
    pub cipher: Option<String>,
}

/// The ESS security label part of the report.
#[derive(Debug, Clone, Default, Serialize)]
pub struct LabelReport {
    /// Security policy identifier.
    pub policy: Option<String>,
    /// Classification number.
    pub classification: Option<i64>,
    /// Privacy mark.
    pub privacy_mark: Option<String>,
}

/// The whole verification result.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// `pass` when no finding has severity error.
    pub verdict: &'static str,
    /// Which instance and correspondence type applied.
    pub profile: ProfileInfo,
    /// Signature status; null until a mechanism checks it.
    pub signature: Option<SignatureReport>,
    /// Encryption status; null until a mechanism checks it.
    pub encryption: Option<EncryptionReport>,
    /// Security label; null when none.
    pub label: Option<LabelReport>,
    /// What was found, in check order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// True when no finding is an error.
    pub fn passes(&self) -> bool {
        !self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// Records a finding.
    pub fn push(
        &mut self,
        code: &'static str,
        severity: Severity,
        header: Option<&str>,
        message: impl Into<String>,
    ) {
        self.findings.push(Finding {
            code,
            severity,
            header: header.map(str::to_owned),
            message: message.into(),
        });
    }

    /// Sets `verdict` from the findings.
    pub fn finish(&mut self) {
        self.verdict = if self.passes() { "pass" } else { "fail" };
    }
}
