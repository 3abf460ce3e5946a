//! Message-level rules over the typed layers, the same for every mechanism: who the author is
//! and whether a signature vouches for them, signatures over ciphertext, unauthenticated
//! encryption, repeated fields.

use super::codes;
use super::outcome::{SignatureStatus, finding};
use super::walk::{Duplicate, Layer};
use crate::mime::Entity;
use crate::report::{Finding, Severity};

/// The author: the one mailbox of the one From field, parsed as RFC 5322 (comments, groups,
/// quoted strings, encoded words) by mail-parser; an error when there is not exactly one.
pub fn author(ent: &Entity<'_>) -> Result<String, String> {
    let n = ent.count("From");
    if n != 1 {
        return Err(format!("{n} From fields"));
    }
    let parsed = mail_parser::MessageParser::new()
        .parse_headers(ent.header())
        .ok_or("the header does not parse")?;
    let from = parsed.from().ok_or("From holds no address")?;
    let list = match from {
        mail_parser::Address::List(l) => l,
        mail_parser::Address::Group(_) => return Err("From holds a group".into()),
    };
    match list.as_slice() {
        [one] => one
            .address()
            .filter(|a| a.contains('@'))
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| "From holds no mailbox".into()),
        [] => Err("From holds no mailbox".into()),
        more => Err(format!("From holds {} mailboxes", more.len())),
    }
}

/// RFC 8551 §2.5 / RFC 3156: the From mailbox must be an address of the signer of at least one
/// layer that covers the plaintext, among the first `vouching` layers (those that cover the
/// header the From was read from). A signature over ciphertext only is reported and is never
/// the author's. Layers that did not verify are judged by their own findings.
pub fn signer_matches_from(
    layers: &[Layer],
    vouching: usize,
    author: Result<String, String>,
    out: &mut Vec<Finding>,
) {
    let sigs: Vec<_> = super::walk::signatures(layers).collect();
    if sigs.is_empty() {
        return;
    }
    for s in sigs.iter().filter(|s| !s.covers_plaintext) {
        out.push(finding(
            codes::SIGNATURE_OVER_CIPHERTEXT,
            Severity::Warning,
            format!(
                "the {} signature of {} covers only ciphertext: it does not vouch for the content",
                s.mechanism.name(),
                s.signer.display.as_deref().unwrap_or("an unknown signer")
            ),
        ));
    }
    let author = match author {
        Ok(a) => a,
        Err(why) => {
            out.push(Finding {
                code: codes::FROM_AMBIGUOUS,
                severity: Severity::Error,
                header: Some("From".into()),
                message: format!("a signed message needs exactly one From mailbox: {why}"),
            });
            return;
        }
    };
    let vouchers: Vec<_> = super::walk::signatures(&layers[..vouching.min(layers.len())]).collect();
    let candidates: Vec<_> = vouchers
        .iter()
        .filter(|s| s.covers_plaintext && s.signer.status != SignatureStatus::Invalid)
        .collect();
    let covering = vouchers.iter().any(|s| s.covers_plaintext);
    if !covering && sigs.iter().any(|s| s.covers_plaintext) {
        out.push(Finding {
            code: codes::SIGNER_MISMATCH,
            severity: Severity::Error,
            header: Some("From".into()),
            message: format!(
                "From is {author} but no signature covers the header it is read from (only content inside it is signed)"
            ),
        });
        return;
    }
    if covering && candidates.is_empty() {
        // Every covering signature failed: its own finding says why.
        return;
    }
    if candidates
        .iter()
        .any(|s| s.signer.addresses.contains(&author))
    {
        return;
    }
    let named: Vec<String> = candidates
        .iter()
        .flat_map(|s| s.signer.addresses.iter().cloned())
        .collect();
    let message = if !covering {
        format!("From is {author} but no signature covers the content")
    } else if named.is_empty() {
        format!("From is {author} but the signer's certificate names no e-mail address")
    } else {
        format!("From is {author} but the signer is {}", named.join(", "))
    };
    out.push(Finding {
        code: codes::SIGNER_MISMATCH,
        severity: Severity::Error,
        header: Some("From".into()),
        message,
    });
}

/// CBC has no integrity of its own (RFC 5652 enveloped-data): only a valid signature below the
/// encryption vouches for the plaintext.
pub fn unauthenticated(layers: &[Layer], out: &mut Vec<Finding>) {
    for (i, l) in layers.iter().enumerate() {
        let Layer::Encryption(e) = l else { continue };
        let Some(cipher) = e.cipher.as_deref().filter(|c| c.ends_with("-cbc")) else {
            continue;
        };
        let vouched = layers[i + 1..]
            .iter()
            .any(|l| matches!(l, Layer::Signature(s) if s.signer.status == SignatureStatus::Valid));
        if e.decrypted && !vouched {
            out.push(finding(
                codes::UNAUTHENTICATED_ENCRYPTION,
                Severity::Warning,
                format!("{cipher} has no integrity protection and no valid signature vouches for the content"),
            ));
        }
    }
}

/// Repeated once-only fields: a warning, an error when the field is protected and the copies
/// differ (which copy the signer meant cannot be told).
pub fn duplicates(dups: &[Duplicate], protected: &[String], out: &mut Vec<Finding>) {
    for d in dups {
        let is_protected = protected.iter().any(|p| p.eq_ignore_ascii_case(d.name));
        let severity = if d.differ && is_protected {
            Severity::Error
        } else {
            Severity::Warning
        };
        let how = if d.differ {
            "with different values"
        } else {
            "with the same value"
        };
        out.push(Finding {
            code: codes::DUPLICATE_FIELD,
            severity,
            header: Some(d.name.to_owned()),
            message: format!("{} appears more than once, {how}", d.name),
        });
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn from(v: &str) -> Result<String, String> {
        let raw = format!("From: {v}\nSubject: x\n\n");
        author(&Entity::message(raw.as_bytes()).unwrap())
    }

    #[test]
    fn author_is_one_mailbox_parsed_as_rfc5322() {
        assert_eq!(from("Alice <ALICE@x.org>").unwrap(), "alice@x.org");
        assert_eq!(
            from("Alice <alice@x.org> (<bob@x.org>)").unwrap(),
            "alice@x.org"
        );
        assert_eq!(
            from("\"Bob <bob@x.org>\" <alice@x.org>").unwrap(),
            "alice@x.org"
        );
        assert_eq!(
            from("=?utf-8?q?B=C3=B6b?= <bob@x.org>").unwrap(),
            "bob@x.org"
        );
        assert!(from("alice@x.org, bob@x.org").is_err());
        assert!(from("friends: alice@x.org, bob@x.org;").is_err());
        assert!(from("undisclosed").is_err());
        let two = Entity::message(b"From: a@x.org\nFrom: b@x.org\n\n").unwrap();
        assert!(author(&two).is_err());
    }
}
