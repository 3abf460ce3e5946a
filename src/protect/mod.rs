//! Protection as a whole: which mechanism (S/MIME or OpenPGP), which keys, and what the
//! correspondence type demands. [`protect`] signs and/or encrypts, [`verify`] and [`decrypt`]
//! dispatch on the message's own structure. The mechanisms themselves live in [`crate::smime`]
//! and [`crate::pgp`].

mod demands;
mod keys;

pub use demands::Demands;
pub use keys::{Keys, is_openpgp};

use crate::error::{Error, Result};
use crate::message::Message;
use crate::report::{EncryptionReport, Finding, LabelReport, SignatureReport};
use crate::{pgp, smime};

/// A protection mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// S/MIME 4.0 (RFC 8551) on CMS.
    Smime,
    /// PGP/MIME (RFC 3156).
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

/// The mechanism a message's top-level structure announces (RFC 8551 §3, RFC 3156 §4–5), or an
/// inline cleartext signature; none for anything else.
pub fn detect(message: &Message) -> Option<Mechanism> {
    let ct = message
        .get("Content-Type")
        .map(|f| f.value(message.bytes()).to_ascii_lowercase())
        .unwrap_or_default();
    let protocol_pgp =
        ct.contains("application/pgp-signature") || ct.contains("application/pgp-encrypted");
    if ct.starts_with("multipart/signed") || ct.starts_with("multipart/encrypted") {
        return Some(if protocol_pgp {
            Mechanism::OpenPgp
        } else {
            Mechanism::Smime
        });
    }
    if ct.starts_with("application/pkcs7-mime") || ct.starts_with("application/x-pkcs7-mime") {
        return Some(Mechanism::Smime);
    }
    let body = message.body();
    let head = &body[..body.len().min(256)];
    if head
        .windows(34)
        .any(|w| w == b"-----BEGIN PGP SIGNED MESSAGE-----")
    {
        return Some(Mechanism::OpenPgp);
    }
    None
}

/// What the mechanisms found, in report terms.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Signature status.
    pub signature: SignatureReport,
    /// Encryption status.
    pub encryption: EncryptionReport,
    /// ESS security label (S/MIME).
    pub label: Option<LabelReport>,
    /// Findings of the mechanism.
    pub findings: Vec<Finding>,
    /// The protected (signed or encrypted) copies of header fields, RFC 9788, as
    /// (name, unfolded value).
    pub inner_headers: Vec<(String, String)>,
}

/// Verifies (and, with keys, decrypts) whatever protection the message carries. A message with
/// none gives status `absent` for both. Multipart messages are searched by both mechanisms so
/// that a signed part beside unsigned ones is reported (`partially-signed`), never as signed.
pub fn verify(message: &Message, keys: &Keys, now: i64) -> Result<Outcome> {
    let absent = || Outcome {
        signature: SignatureReport {
            status: "absent".into(),
            ..Default::default()
        },
        encryption: EncryptionReport {
            status: "absent".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let is_multipart = message.get("Content-Type").is_some_and(|f| {
        f.value(message.bytes())
            .to_ascii_lowercase()
            .starts_with("multipart/")
    });
    let mechanisms: Vec<Mechanism> = match detect(message) {
        Some(m) => vec![m],
        None if is_multipart => vec![Mechanism::Smime, Mechanism::OpenPgp],
        None => return Ok(absent()),
    };
    let mut out = absent();
    for m in mechanisms {
        let (sig, enc, label, findings) = match m {
            Mechanism::Smime => {
                let o = smime::VerifyOptions {
                    anchors: keys.smime_anchors.clone(),
                    extra_certs: keys.smime_extra.clone(),
                    keys: keys.smime_signers.clone(),
                    now,
                    ..Default::default()
                };
                let v = smime::verify(message.bytes(), &o)?;
                out.inner_headers.extend(v.inner_headers);
                (v.signature, v.encryption, v.label, v.findings)
            }
            Mechanism::OpenPgp => {
                let mut o = pgp::VerifyOptions::new(now, keys.pgp_keyring.clone())
                    .with_keys(keys.pgp_secret.clone());
                o.skip_content = true;
                let v = pgp::verify(message.bytes(), &o)?;
                out.inner_headers.extend(v.inner_headers);
                (v.signature, v.encryption, None, v.findings)
            }
        };
        if sig.status != "absent" || out.signature.mechanism.is_none() && sig.mechanism.is_some() {
            out.signature = sig;
        }
        if enc.status != "absent" {
            out.encryption = enc;
        }
        if label.is_some() {
            out.label = label;
        }
        out.findings.extend(findings);
    }
    // CBC has no integrity of its own (RFC 5652 enveloped-data): only a valid signature inside
    // vouches for the plaintext.
    let cbc = out
        .encryption
        .cipher
        .as_deref()
        .is_some_and(|c| c.ends_with("-cbc"));
    if out.encryption.status == "decrypted" && cbc && out.signature.status != "valid" {
        out.findings.push(Finding {
            code: "unauthenticated-encryption",
            severity: crate::report::Severity::Warning,
            header: None,
            message: format!(
                "{} has no integrity protection and no valid signature vouches for the content",
                out.encryption.cipher.as_deref().unwrap_or("the cipher")
            ),
        });
    }
    Ok(out)
}

/// Decrypts an S/MIME or PGP/MIME message; no partial output on failure.
pub fn decrypt(message: &Message, keys: &Keys, now: i64) -> Result<Vec<u8>> {
    match detect(message) {
        Some(Mechanism::Smime) => smime::decrypt(message.bytes(), &keys.smime_signers, now),
        Some(Mechanism::OpenPgp) => pgp::decrypt(message.bytes(), &keys.pgp_secret, now),
        None => Err(Error::Message(
            "not an encrypted message (no S/MIME or PGP/MIME structure)".into(),
        )),
    }
}

/// What to protect and how: the message (with `X-XIMF-Correspondance-Type` added when the type
/// was selected by usage and the message named none, so the signature covers it) and the
/// demands of the type, of the instance's secureHeaders/securityLabel rules and of the flags.
///
/// `selected` is the type `--usage` selected; without it the type the message names applies.
/// A selected type that contradicts the named one, a named type the model lacks, a message
/// breaking the type's header-level rules, or a flag the type forbids: [`Error::Config`] (78).
pub fn plan(
    message: Message,
    instance: Option<&crate::profile::Instance>,
    model: &crate::policy::Model,
    selected: Option<&crate::policy::CorrespondenceType>,
    flags: (bool, bool, Option<Mechanism>),
) -> Result<(Message, Demands)> {
    use crate::policy::{TYPE_FIELD, enforce};
    let mut message = message;
    let named = enforce::named_type(&message);
    let chosen = match (selected, named.as_deref()) {
        (Some(s), Some(n)) if !s.name.eq_ignore_ascii_case(n) => {
            return Err(Error::Config(format!(
                "the message is stamped as correspondence '{n}' but usage '{}' selects '{}'",
                s.usage, s.name
            )));
        }
        (Some(s), None) => {
            let add = [(TYPE_FIELD.to_owned(), s.name.clone())];
            message =
                Message::parse(message.edit(&|_| false, &add, crate::message::Placement::End)?)?;
            Some(s)
        }
        (Some(s), Some(_)) => Some(s),
        (None, Some(n)) => Some(model.get(n).ok_or_else(|| {
            Error::Config(format!("correspondence type '{n}' is not in the profile"))
        })?),
        (None, None) => None,
    };
    let mut demands = match chosen {
        Some(t) => Demands::from_type(t, "mua"),
        None => Demands::default(),
    };
    if let Some(i) = instance {
        demands.add_instance_rules(i, &message)?;
        if let Some(t) = chosen {
            enforce::refuse(t, model, i, &message, "mua")?;
            if t.label_from.is_some() && demands.label.is_none() {
                demands.add_label_from_headers(&message);
            }
        }
    }
    demands.add_flags(flags.0, flags.1, flags.2)?;
    Ok((message, demands))
}

/// Signs and/or encrypts `message` as `demands` say, with `keys`. Nothing demanded: the message
/// comes back unchanged.
pub fn protect(message: &Message, demands: &Demands, keys: &Keys, now: i64) -> Result<Vec<u8>> {
    if !demands.sign && !demands.encrypt {
        return Ok(message.bytes().to_vec());
    }
    let mechanism = demands.mechanism_for(keys)?;
    let from = crate::policy::enforce::mailboxes(&message.value("From").unwrap_or_default());
    match mechanism {
        Mechanism::Smime => protect_smime(message, demands, keys, now, &from),
        Mechanism::OpenPgp => protect_pgp(message, demands, keys, now, &from),
    }
}

fn protect_smime(
    message: &Message,
    d: &Demands,
    keys: &Keys,
    now: i64,
    from: &[String],
) -> Result<Vec<u8>> {
    let mut bytes = message.bytes().to_vec();
    if d.sign {
        let signer = keys.smime_signer(from)?;
        d.check_smime_key(signer)?;
        let o = smime::SignOptions {
            digest: Some(d.smime_digest()?),
            now,
            header_protection: d.header_protection,
            secure_headers: (!d.secure_headers.is_empty()).then(|| {
                (
                    true,
                    d.secure_headers.iter().map(|h| (h.clone(), 0)).collect(),
                )
            }),
            label: d.label.clone(),
            ..Default::default()
        };
        bytes = smime::sign(&bytes, signer, &o)?;
    }
    if d.encrypt {
        if keys.smime_recipients.is_empty() {
            return Err(Error::NoKey(
                "S/MIME recipients (give --recipient certificates)".into(),
            ));
        }
        let o = smime::EncryptOptions {
            cipher: Some(d.smime_cipher()?),
            now,
            header_protection: d.header_protection,
            ..Default::default()
        };
        bytes = smime::encrypt(&bytes, &keys.smime_recipients, &o)?;
    }
    Ok(bytes)
}

fn protect_pgp(
    message: &Message,
    d: &Demands,
    keys: &Keys,
    now: i64,
    from: &[String],
) -> Result<Vec<u8>> {
    let signer = if d.sign {
        let s = keys.pgp_signer(from)?;
        d.check_pgp_key(s)?;
        Some(s.clone())
    } else {
        None
    };
    if d.encrypt {
        if keys.pgp_recipients.is_empty() {
            return Err(Error::NoKey(
                "OpenPGP recipients (give --recipient certs)".into(),
            ));
        }
        let mut o = pgp::EncryptOptions::new(now);
        o.header_protection = d.header_protection;
        if let Some(s) = signer {
            o = o.signed_by(s, false);
        }
        return pgp::encrypt(message.bytes(), &keys.pgp_recipients, &o);
    }
    let Some(s) = signer else {
        return Ok(message.bytes().to_vec());
    };
    let mut o = pgp::SignOptions::new(now);
    o.header_protection = d.header_protection;
    if let Some(h) = d.pgp_hash()? {
        o = o.with_hash(h);
    }
    pgp::sign(message.bytes(), &s, &o)
}
