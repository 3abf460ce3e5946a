//! Header protection, written once for both mechanisms: RFC 9788 (`hp="clear"|"cipher"`,
//! `HP-Outer`), its predecessors (`protected-headers="v1"`, the RFC 8551 §3.1
//! `message/rfc822` wrapper) and the obscured Subject placeholders of encrypted mail; RFC 7508
//! SecureHeaderFields; the ESS security label against the classification fields.

use std::collections::HashMap;

use super::codes;
use crate::mime::{self, Entity};
use crate::report::{Finding, LabelReport, Severity};
use crate::smime::{EssLabel, HeaderStatus, SecureHeaders};

/// How the payload protects the header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// RFC 9788 `hp="clear"`.
    Clear,
    /// RFC 9788 `hp="cipher"`: outer fields may be obscured, explained by `HP-Outer`.
    Cipher,
    /// `protected-headers="v1"` (the draft RFC 9788 grew from).
    V1,
    /// RFC 8551 §3.1: the payload is a wrapped `message/rfc822`.
    Wrapped,
}

/// The mode a payload header announces.
pub fn mode(payload: &Entity<'_>, wrapped: bool) -> Option<Mode> {
    if wrapped {
        return Some(Mode::Wrapped);
    }
    let ct = payload.content_type();
    match ct.param("hp").map(str::to_ascii_lowercase).as_deref() {
        Some("cipher") => Some(Mode::Cipher),
        Some(_) => Some(Mode::Clear),
        None => ct
            .param("protected-headers")
            .filter(|v| v.eq_ignore_ascii_case("v1"))
            .map(|_| Mode::V1),
    }
}

/// Subjects that encrypted mail puts outside instead of the real one (RFC 9788 §4.3 and the
/// older protected-headers convention).
const OBSCURED_SUBJECTS: [&str; 2] = ["...", "[...]"];

/// Trace and verdict fields relays add or rewrite: never expected among protected fields.
pub fn is_trace(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "received"
            | "return-path"
            | "delivered-to"
            | "x-original-to"
            | "envelope-to"
            | "dkim-signature"
            | "authentication-results"
            | "received-spf"
            | "x-ximf-verify"
    ) || n.starts_with("arc-")
        || n.starts_with("x-spam-")
        || n.starts_with("x-virus-")
}

/// What the header comparison found.
#[derive(Debug, Default)]
pub struct Protection {
    /// Names of the fields a signature or the encryption covers.
    pub names: Vec<String>,
    /// The same names lower-cased, for lookups in constant time (a header may have 10,000).
    covered: std::collections::HashSet<String>,
    /// The protected copies (RFC 9788), as (name, unfolded value).
    pub inner: Vec<(String, String)>,
    /// Findings.
    pub findings: Vec<Finding>,
}

impl Protection {
    fn push(&mut self, code: &'static str, severity: Severity, header: &str, message: String) {
        self.findings.push(Finding {
            code,
            severity,
            header: Some(header.to_owned()),
            message,
        });
    }

    fn cover(&mut self, name: &str) {
        if self.covered.insert(name.to_ascii_lowercase()) {
            self.names.push(name.to_owned());
        }
    }

    fn covers(&self, name: &str) -> bool {
        self.covered.contains(&name.to_ascii_lowercase())
    }
}

fn outer_values(outer: &Entity<'_>, name: &str) -> Vec<String> {
    outer.all(name).map(|f| outer.text(f)).collect()
}

/// RFC 9788 §4: the protected copies are authoritative; an outer copy that differs is
/// tampering unless the message is encrypted and the difference is explained (an `HP-Outer`
/// record, or an obscured Subject).
pub fn compare_injected(
    p: &mut Protection,
    outer: &Entity<'_>,
    payload: &Entity<'_>,
    mode: Mode,
    encrypted: bool,
) {
    let mut hp_outer: Vec<(String, String)> = Vec::new();
    for f in payload
        .fields
        .iter()
        .filter(|f| !mime::is_structural(&f.name))
    {
        let value = payload.text(f);
        if f.name.eq_ignore_ascii_case("HP-Outer") {
            if let Some((n, v)) = value.split_once(':') {
                hp_outer.push((n.trim().to_ascii_lowercase(), v.trim().to_owned()));
            }
        } else {
            p.inner.push((f.name.clone(), value));
        }
    }
    let names: Vec<String> = p.inner.iter().map(|(n, _)| n.clone()).collect();
    for n in &names {
        p.cover(n);
    }
    // Grouped by lower-cased name once: comparing name by name would be quadratic in the
    // number of fields.
    let mut inner_by: HashMap<String, Vec<String>> = HashMap::new();
    for (n, v) in &p.inner {
        inner_by
            .entry(n.to_ascii_lowercase())
            .or_default()
            .push(v.clone());
    }
    let mut records_by: HashMap<&str, Vec<&String>> = HashMap::new();
    for (n, v) in &hp_outer {
        records_by.entry(n.as_str()).or_default().push(v);
    }
    let mut outer_by: HashMap<String, Vec<String>> = HashMap::new();
    for f in &outer.fields {
        outer_by
            .entry(f.name.to_ascii_lowercase())
            .or_default()
            .push(outer.text(f));
    }
    // Inside encryption the real Subject is protected whatever the mode: a placeholder outside
    // is the sender hiding it, not tampering.
    let obscurable = encrypted;
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    for name in &names {
        let lower = name.to_ascii_lowercase();
        if !seen.insert(lower.clone()) {
            continue;
        }
        let empty = Vec::new();
        let ins = inner_by.get(&lower).unwrap_or(&empty);
        let no_records = Vec::new();
        let records = records_by.get(lower.as_str()).unwrap_or(&no_records);
        let outs = outer_by.get(&lower).unwrap_or(&empty);
        if outs.is_empty() {
            // hp="cipher" removes a field from the outside by leaving no HP-Outer record.
            if !(encrypted && mode == Mode::Cipher && records.is_empty()) {
                let msg = format!("{name} is protected but missing from the outer header");
                p.push(
                    codes::PROTECTED_HEADER_MISSING,
                    Severity::Warning,
                    name,
                    msg,
                );
            }
            continue;
        }
        for o in outs.iter() {
            // HP-Outer may explain an obscured field, never another author: the outer From
            // is what every reader shows (mutt, the index, procmail, Sieve).
            let explained = ins.contains(o)
                || (encrypted && mode == Mode::Cipher && records.contains(&o) && lower != "from")
                || (obscurable && lower == "subject" && OBSCURED_SUBJECTS.contains(&o.as_str()));
            if !explained {
                let msg = format!("the outer {name} {o:?} differs from its protected copy");
                p.push(codes::PROTECTED_HEADER_MISMATCH, Severity::Error, name, msg);
            }
        }
    }
}

/// RFC 7508 §4: each signed entry is matched with the next outer field of its name. Values are
/// compared with leading and trailing white space trimmed in both canonicalizations, as
/// Trustedbird does (spec §4.3.5); relaxed also unfolds and collapses white space.
pub fn compare_secure_headers(p: &mut Protection, outer: &Entity<'_>, shf: &SecureHeaders) {
    if shf.legacy {
        p.findings.push(Finding {
            code: codes::LEGACY_TRUSTEDBIRD,
            severity: Severity::Warning,
            header: None,
            message: "secure headers use Trustedbird's unregistered id-aa 80 encoding".into(),
        });
    }
    let canon = |f: &mime::Field| -> String {
        let raw = outer.raw_value(f);
        if shf.relaxed {
            mime::normalize(raw)
        } else {
            String::from_utf8_lossy(mime::trim_eol(raw))
                .trim()
                .to_owned()
        }
    };
    let mut used: Vec<usize> = Vec::new();
    for (name, value, status) in &shf.fields {
        p.cover(name);
        let signed = if shf.relaxed {
            mime::normalize(value.as_bytes())
        } else {
            value.trim().to_owned()
        };
        let next = outer
            .fields
            .iter()
            .enumerate()
            .find(|(i, f)| !used.contains(i) && f.name.eq_ignore_ascii_case(name));
        match (next, status) {
            (Some((i, f)), HeaderStatus::Duplicated) => {
                used.push(i);
                let found = canon(f);
                if found != signed {
                    let msg = format!(
                        "{name} was modified in transit: signed {signed:?}, found {found:?}"
                    );
                    p.push(codes::SECURE_HEADER_MISMATCH, Severity::Error, name, msg);
                }
            }
            (None, HeaderStatus::Duplicated) => {
                let msg = format!("{name} is signed but missing from the header");
                p.push(codes::SECURE_HEADER_MISSING, Severity::Error, name, msg);
            }
            (Some((i, f)), HeaderStatus::Deleted) => {
                // Deleted fields are normally gone (RFC 7508 §4.6.1); one still present with
                // another value conflicts with the signed one.
                used.push(i);
                if canon(f) != signed {
                    let msg = format!(
                        "{name} was deleted by the signer but is present with another value"
                    );
                    p.push(codes::SECURE_HEADER_MISMATCH, Severity::Error, name, msg);
                }
            }
            // The outer value of a modified field differs by design (RFC 7508 §4.6).
            (Some((i, _)), HeaderStatus::Modified) => used.push(i),
            (None, _) => {}
        }
    }
}

/// Outer fields no protection covers. Under RFC 9788 protection (`injected`: the sender
/// copies the whole header) an `X-XIMF-*` field outside it could change what is checked (the
/// instance, the correspondence type): an error; other fields are warnings. Without it — no
/// header protection, or RFC 7508 over a chosen list of fields — every X-XIMF field the
/// signature does not cover is reported as a warning (the correspondence type may demand
/// header protection; the policy check makes that an error).
pub fn unprotected(p: &mut Protection, outer: &Entity<'_>, injected: bool) {
    let mut warned: std::collections::HashSet<String> = std::collections::HashSet::new();
    for f in &outer.fields {
        let lower = f.name.to_ascii_lowercase();
        let ximf = lower.starts_with("x-ximf-") && lower != "x-ximf-verify";
        // Bcc is never protected (it must not reach the other recipients, design.md §8).
        if mime::is_structural(&f.name)
            || lower == "bcc"
            || is_trace(&f.name)
            || p.covers(&f.name)
            || warned.contains(lower.as_str())
            || (!injected && !ximf)
        {
            continue;
        }
        warned.insert(lower);
        let severity = if ximf && injected {
            Severity::Error
        } else {
            Severity::Warning
        };
        let msg = if injected {
            format!("{} is outside the protected header copy", f.name)
        } else {
            format!("{} is not covered by the signature", f.name)
        };
        p.push(codes::UNPROTECTED_HEADER, severity, &f.name, msg);
    }
}

/// The ESS label against the classification fields it is derived from.
pub fn compare_label(
    p: &mut Protection,
    outer: &Entity<'_>,
    label: &Result<EssLabel, String>,
) -> Option<LabelReport> {
    let label = match label {
        Ok(l) => l,
        Err(why) => {
            p.findings.push(Finding {
                code: codes::LABEL_MALFORMED,
                severity: Severity::Error,
                header: None,
                message: why.clone(),
            });
            return None;
        }
    };
    let checks: [(&str, Option<String>); 3] = [
        (
            "X-XIMF-Security-Policy-Identifier",
            Some(label.policy.clone()),
        ),
        (
            "X-XIMF-Security-Classification-Identifier",
            label.classification.map(|c| c.to_string()),
        ),
        ("X-XIMF-Privacy-Mark", label.privacy_mark.clone()),
    ];
    for (name, signed) in checks {
        for o in outer_values(outer, name) {
            if signed.as_deref() != Some(o.as_str()) {
                let msg = format!(
                    "{name} is {o:?} but the signed label says {}",
                    signed.as_deref().unwrap_or("nothing")
                );
                p.push(codes::LABEL_MISMATCH, Severity::Error, name, msg);
            }
        }
    }
    Some(LabelReport {
        policy: Some(label.policy.clone()),
        classification: label.classification,
        privacy_mark: label.privacy_mark.clone(),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn codes_of(p: &Protection) -> Vec<&'static str> {
        p.findings.iter().map(|f| f.code).collect()
    }

    #[test]
    fn obscured_subject_is_fine_only_when_encrypted() {
        let outer = Entity::message(b"From: a@x\nSubject: ...\n\n").unwrap();
        let payload = Entity::part(
            b"Content-Type: text/plain; protected-headers=\"v1\"\nFrom: a@x\nSubject: real\n\n",
        );
        let mut p = Protection::default();
        compare_injected(&mut p, &outer, &payload, Mode::V1, true);
        assert!(codes_of(&p).is_empty(), "{:?}", p.findings);
        let mut p = Protection::default();
        compare_injected(&mut p, &outer, &payload, Mode::V1, false);
        assert_eq!(codes_of(&p), vec![codes::PROTECTED_HEADER_MISMATCH]);
    }

    #[test]
    fn duplicate_outer_with_same_value_is_no_mismatch() {
        let outer = Entity::message(b"Subject: a\nSubject:  a\nFrom: x@y\n\n").unwrap();
        let payload =
            Entity::part(b"Content-Type: text/plain; hp=\"clear\"\nSubject: a\nFrom: x@y\n\n");
        let mut p = Protection::default();
        compare_injected(&mut p, &outer, &payload, Mode::Clear, false);
        assert!(codes_of(&p).is_empty(), "{:?}", p.findings);
        unprotected(&mut p, &outer, true);
        assert!(codes_of(&p).is_empty());
    }

    #[test]
    fn rfc7508_simple_mode_trims_like_trustedbird() {
        let outer = Entity::message(b"From:  Alice <a@x> \n\n").unwrap();
        let shf = SecureHeaders {
            relaxed: false,
            fields: vec![(
                "From".into(),
                "Alice <a@x>".into(),
                HeaderStatus::Duplicated,
            )],
            legacy: false,
        };
        let mut p = Protection::default();
        compare_secure_headers(&mut p, &outer, &shf);
        assert!(codes_of(&p).is_empty(), "{:?}", p.findings);
        let outer = Entity::message(b"From: Mallory <a@x>\n\n").unwrap();
        let mut p = Protection::default();
        compare_secure_headers(&mut p, &outer, &shf);
        assert_eq!(codes_of(&p), vec![codes::SECURE_HEADER_MISMATCH]);
    }

    #[test]
    fn ximf_fields_without_any_protection_are_warnings() {
        let outer = Entity::message(b"From: a@x\nX-XIMF-NAME: Example\nUser-Agent: m\n\n").unwrap();
        let mut p = Protection::default();
        unprotected(&mut p, &outer, false);
        assert_eq!(codes_of(&p), vec![codes::UNPROTECTED_HEADER]);
        assert_eq!(p.findings[0].severity, Severity::Warning);
        let mut p = Protection::default();
        unprotected(&mut p, &outer, true);
        assert_eq!(p.findings.len(), 3);
        assert_eq!(p.findings[1].severity, Severity::Error);
    }
}
