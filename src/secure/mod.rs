//! The one secure-message engine: the same verdict for S/MIME and OpenPGP, every layer
//! checked.
//!
//! [`walk`] descends once through any mix of signed and encrypted layers (either mechanism,
//! MIME or inline, opaque or detached, in any order) and asks the backends ([`crate::smime`],
//! [`crate::pgp`]) only what is about CMS or OpenPGP bytes: does this signature verify over
//! these bytes, and who made it; what is the plaintext of this ciphertext. Everything else —
//! which From counts, what a layer may wrap, content outside the signed part, how protected
//! headers compare, which finding has which severity — is decided here, once
//! ([`checks`], [`header_protection`], [`codes`]).

pub mod checks;
pub mod classify;
pub mod codes;
mod decrypt;
pub mod header_protection;
mod keys;
pub mod lookup;
pub mod outcome;
pub mod walk;

pub use decrypt::{Decrypted, decrypt, decrypt_source, decrypt_with};
pub use keys::{KeyFile, KeySources, Keys, Passphrase, is_openpgp};
pub use outcome::{Form, Limits, Mechanism, SignatureStatus};

use crate::error::{Error, Result};
use crate::mime::Entity;
use crate::report::{EncryptionReport, Finding, LabelReport, LayerReport, SignatureReport};
use walk::{Layer, Walk};

/// What the engine found, typed, plus the report's view of it.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// The layers, outermost first.
    pub layers: Vec<Layer>,
    /// The report's signature object (status = the worst layer, signer = the outermost).
    pub signature: SignatureReport,
    /// The report's encryption object.
    pub encryption: EncryptionReport,
    /// The ESS security label of the author's signature.
    pub label: Option<LabelReport>,
    /// Every finding, in check order.
    pub findings: Vec<Finding>,
    /// The protected copies of header fields (RFC 9788), as (name, unfolded value).
    pub inner_headers: Vec<(String, String)>,
    /// True when the message carries header protection (RFC 9788 or its forms, or RFC 7508).
    pub header_protection: bool,
}

impl Outcome {
    /// The signature layers, outermost first.
    pub fn signatures(&self) -> impl Iterator<Item = &outcome::SignatureLayer> {
        walk::signatures(&self.layers)
    }

    /// The encryption layers, outermost first.
    pub fn encryptions(&self) -> impl Iterator<Item = &outcome::EncryptionLayer> {
        walk::encryptions(&self.layers)
    }
}

/// Verifies (and, with keys, decrypts) whatever protection the message carries.
///
/// Fails with [`Error::Message`] when the input has no header section, and, when gpg-agent was
/// needed to open an encryption layer, with [`Error::TempFail`] (agent unreachable or too slow)
/// or [`Error::KeyRefused`] (it refused the key): neither says anything about the message.
/// Every other cryptographic or structural problem is a status or a finding.
pub fn verify(message: &[u8], keys: &Keys, now: i64) -> Result<Outcome> {
    verify_with(message, keys, now, Limits::default())
}

/// [`verify`] within `limits`.
pub fn verify_with(message: &[u8], keys: &Keys, now: i64, limits: Limits) -> Result<Outcome> {
    let top = Entity::message(message).map_err(|e| Error::Message(e.to_string()))?;
    let mut walk = Walk::new(keys, now, limits, false);
    walk.message(&top);
    if let Some(e @ (Error::TempFail(_) | Error::KeyRefused(_))) = walk.key_failure.take() {
        return Err(e);
    }
    Ok(judge(&top, walk))
}

/// Turns a finished walk into the outcome: header protection, the From rule, the statuses.
fn judge(top: &Entity<'_>, walk: Walk<'_>) -> Outcome {
    let mut out = Outcome {
        findings: walk.findings,
        ..Default::default()
    };
    let layers = walk.layers;
    let encrypted = layers
        .iter()
        .any(|l| matches!(l, Layer::Encryption(e) if e.decrypted));
    let signed = layers.iter().any(|l| matches!(l, Layer::Signature(_)));

    // The author's layer: the innermost signature over the plaintext carries the S/MIME
    // attributes (label, RFC 7508 secure headers) that describe the header.
    let author_attrs = layers.iter().rev().find_map(|l| match l {
        Layer::Signature(s)
            if s.covers_plaintext && s.signer.status != SignatureStatus::Invalid =>
        {
            s.signer.attributes.clone()
        }
        _ => None,
    });

    let mut p = header_protection::Protection::default();
    let payload = walk.payload_header.as_deref().map(Entity::part);
    let mode = payload
        .as_ref()
        .and_then(|pe| header_protection::mode(pe, walk.wrapped));
    if let (Some(pe), Some(mode)) = (&payload, mode) {
        header_protection::compare_injected(&mut p, top, pe, mode, encrypted);
    }
    let mut shf = false;
    if let Some(attrs) = &author_attrs {
        if let Some(label) = &attrs.label {
            out.label = header_protection::compare_label(&mut p, top, label);
        }
        match &attrs.secure_headers {
            Some(Ok(s)) => {
                shf = true;
                header_protection::compare_secure_headers(&mut p, top, s);
            }
            Some(Err(why)) => p.findings.push(outcome::finding(
                codes::SECURE_HEADERS_MALFORMED,
                crate::report::Severity::Error,
                why.clone(),
            )),
            None => {}
        }
    }
    if signed || encrypted {
        header_protection::unprotected(&mut p, top, mode.is_some());
    }
    out.header_protection = mode.is_some() || shf;

    // The author: the protected From when the header is protected, else the outer one.
    let author = match (&payload, mode) {
        (Some(pe), Some(_)) if pe.count("From") > 0 => checks::author(pe),
        _ => checks::author(top),
    };
    let mut rules = Vec::new();
    // Under header protection only the layers above the protected header vouch for its From;
    // without it no layer covers From and every signature over the plaintext is a candidate.
    let vouching = if mode.is_some() {
        walk.header_layers.min(layers.len())
    } else {
        layers.len()
    };
    checks::signer_matches_from(&layers, vouching, author, &mut rules);
    checks::unauthenticated(&layers, &mut rules);
    checks::duplicates(&walk.duplicates, &p.names, &mut rules);

    for l in &layers {
        if let Layer::Signature(s) = l {
            out.findings.extend(s.signer.findings.iter().cloned());
        }
    }
    out.findings.extend(p.findings);
    out.findings.extend(rules);
    out.inner_headers = p.inner;
    out.signature = signature_report(&layers, p.names);
    out.encryption = encryption_report(&layers);
    out.layers = layers;
    out
}

fn signature_report(layers: &[Layer], protected: Vec<String>) -> SignatureReport {
    let sigs: Vec<_> = walk::signatures(layers).collect();
    let Some(outermost) = sigs.first() else {
        return SignatureReport {
            status: "absent".into(),
            ..Default::default()
        };
    };
    let worst = sigs
        .iter()
        .map(|s| s.signer.status)
        .max()
        .unwrap_or(SignatureStatus::Invalid);
    SignatureReport {
        mechanism: Some(outermost.mechanism.name().into()),
        status: worst.as_str().into(),
        signer: outermost.signer.display.clone(),
        digest: outermost.signer.digest.clone(),
        protected_headers: protected,
        layers: sigs
            .iter()
            .map(|s| LayerReport {
                mechanism: s.mechanism.name(),
                status: s.signer.status.as_str(),
                signer: s.signer.display.clone(),
                digest: s.signer.digest.clone(),
                covers: if s.covers_plaintext {
                    "plaintext"
                } else {
                    "ciphertext"
                },
                form: s.form.as_str(),
            })
            .collect(),
    }
}

fn encryption_report(layers: &[Layer]) -> EncryptionReport {
    let encs: Vec<_> = walk::encryptions(layers).collect();
    let Some(outermost) = encs.first() else {
        return EncryptionReport {
            status: "absent".into(),
            ..Default::default()
        };
    };
    let failed = encs.iter().any(|e| !e.decrypted);
    EncryptionReport {
        mechanism: Some(outermost.mechanism.name().into()),
        status: if failed { "failed" } else { "decrypted" }.into(),
        cipher: outermost.cipher.clone(),
    }
}

/// The innermost content a reader gets: the plaintext of the outermost encryption layer, else
/// the content of the outermost detached signature, else nothing (what `decrypt` and an
/// extracting `verify` hand on).
pub fn extract(message: &[u8], keys: &Keys, now: i64) -> Result<Option<Vec<u8>>> {
    let top = Entity::message(message).map_err(|e| Error::Message(e.to_string()))?;
    let mut walk = Walk::new(keys, now, Limits::default(), true);
    walk.message(&top);
    let plaintext = walk.plaintext.map(|p| p.into_bytes()).transpose()?;
    Ok(plaintext.or(walk.signed_content))
}
