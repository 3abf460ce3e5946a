//! Rendering a [`Report`]: text for people, JSON for scripts, and the two annotation fields that
//! `verify --annotate` adds for procmail, Sieve and Postfix (design.md §5).

use super::{Report, Severity};

/// The report as text: a verdict line, then one line per finding.
pub fn text(report: &Report) -> String {
    let mut out = report.verdict.to_string();
    if let Some(i) = &report.profile.instance {
        out.push_str(&format!(" instance={i}"));
    }
    if let Some(c) = &report.profile.correspondence {
        out.push_str(&format!(" correspondence={c}"));
    }
    if let Some(sig) = report.signature.as_ref().filter(|s| s.status != "absent") {
        out.push_str(&format!(
            " signature={}:{}",
            sig.mechanism.as_deref().unwrap_or("?"),
            sig.status
        ));
        if let Some(signer) = &sig.signer {
            out.push_str(&format!(" signer={signer}"));
        }
    }
    if let Some(enc) = report.encryption.as_ref().filter(|e| e.status != "absent") {
        out.push_str(&format!(" encryption={}", enc.status));
    }
    out.push('\n');
    for f in &report.findings {
        let sev = match f.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        match &f.header {
            Some(h) => out.push_str(&format!("{sev}: [{}] {h}: {}\n", f.code, f.message)),
            None => out.push_str(&format!("{sev}: [{}] {}\n", f.code, f.message)),
        }
    }
    out
}

/// The report as one JSON object followed by a newline.
pub fn json(report: &Report) -> String {
    // Serializing plain structs of strings cannot fail; fall back to a minimal object anyway.
    let mut s = serde_json::to_string_pretty(report)
        .unwrap_or_else(|_| format!("{{\"verdict\":\"{}\"}}", report.verdict));
    s.push('\n');
    s
}

/// The name of the verdict field `--annotate` adds.
pub const VERIFY_FIELD: &str = "X-XIMF-Verify";

/// The fields `--annotate` adds, in order: `Authentication-Results` when an S/MIME signature was
/// examined (RFC 8601 with the RFC 7281 `smime` method, ptype `body`), then `X-XIMF-Verify`.
pub fn annotation(report: &Report, authserv_id: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Some(sig) = &report.signature
        && sig.mechanism.as_deref() == Some("smime")
    {
        let result = match sig.status.as_str() {
            "valid" => "pass",
            "absent" => "none",
            "untrusted" | "expired" | "weak" => "policy",
            _ => "fail",
        };
        let mut v = format!("{authserv_id}; smime={result}");
        if let Some(s) = &sig.signer {
            v.push_str(&format!(" body.smime-identifier={s}"));
        }
        out.push(("Authentication-Results".to_owned(), v));
    }
    let mut codes: Vec<&str> = report.findings.iter().map(|f| f.code).collect();
    codes.dedup();
    out.push((
        VERIFY_FIELD.to_owned(),
        format!(
            "{} (authserv-id={authserv_id}; instance={}; correspondence={}; codes={})",
            report.verdict,
            report.profile.instance.as_deref().unwrap_or("none"),
            report.profile.correspondence.as_deref().unwrap_or("none"),
            if codes.is_empty() {
                "none".to_owned()
            } else {
                codes.join(",")
            }
        ),
    ));
    out
}

/// The authserv-id an existing `Authentication-Results` or `X-XIMF-Verify` value claims, with
/// comments skipped and quotes removed (RFC 8601 §2.2 allows CFWS and a quoted-string there, and
/// a forger may use either to slip past a plain comparison). None when there is none to read.
pub fn claimed_authserv_id(field_name: &str, value: &str) -> Option<String> {
    let rest = if field_name.eq_ignore_ascii_case(VERIFY_FIELD) {
        let start = value.find("authserv-id=")? + "authserv-id=".len();
        &value[start..]
    } else {
        value
    };
    let rest = skip_cfws(rest);
    let id = match rest.strip_prefix('"') {
        Some(q) => {
            let mut out = String::new();
            let mut chars = q.chars();
            loop {
                match chars.next()? {
                    '"' => break,
                    '\\' => out.push(chars.next()?),
                    c => out.push(c),
                }
            }
            out
        }
        None => rest
            .split(|c: char| c == ';' || c == ')' || c == '(' || c.is_whitespace())
            .next()
            .unwrap_or_default()
            .to_owned(),
    };
    (!id.is_empty()).then_some(id)
}

/// `s` without leading whitespace and (nested) comments.
fn skip_cfws(mut s: &str) -> &str {
    loop {
        s = s.trim_start();
        let Some(inner) = s.strip_prefix('(') else {
            return s;
        };
        let mut depth = 1;
        let mut end = inner.len();
        let mut escaped = false;
        for (i, c) in inner.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        end = i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        s = &inner[end.min(inner.len())..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Report, SignatureReport};

    #[test]
    fn annotation_without_signature_has_only_verdict() {
        let mut r = Report::default();
        r.push("invalid-value", Severity::Error, Some("X"), "bad");
        r.finish();
        let a = annotation(&r, "mx.example.org");
        assert_eq!(a.len(), 1);
        assert_eq!(
            a[0].1,
            "fail (authserv-id=mx.example.org; instance=none; correspondence=none; codes=invalid-value)"
        );
    }

    #[test]
    fn annotation_with_smime_signature() {
        let mut r = Report {
            signature: Some(SignatureReport {
                mechanism: Some("smime".into()),
                status: "valid".into(),
                signer: Some("alice@example.org".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        r.finish();
        let a = annotation(&r, "mx");
        assert_eq!(a[0].0, "Authentication-Results");
        assert_eq!(
            a[0].1,
            "mx; smime=pass body.smime-identifier=alice@example.org"
        );
    }

    #[test]
    fn reads_claimed_ids() {
        assert_eq!(
            claimed_authserv_id("Authentication-Results", "mx.example.org; smime=pass").as_deref(),
            Some("mx.example.org")
        );
        assert_eq!(
            claimed_authserv_id("x-ximf-verify", "pass (authserv-id=mx; instance=A)").as_deref(),
            Some("mx")
        );
        assert_eq!(
            claimed_authserv_id("X-XIMF-Verify", "pass (instance=A)"),
            None
        );
        // r7: comments and quoted-strings must not hide the id.
        for (name, value) in [
            ("Authentication-Results", "(c) mx.example.org; smime=pass"),
            ("Authentication-Results", "\"mx.example.org\"; smime=pass"),
            (
                "Authentication-Results",
                " (a (nested) comment)\"mx.example.org\" ; smime=pass",
            ),
            ("X-XIMF-Verify", "pass (authserv-id=\"mx.example.org\")"),
        ] {
            assert_eq!(
                claimed_authserv_id(name, value).as_deref(),
                Some("mx.example.org"),
                "{value}"
            );
        }
    }
}
