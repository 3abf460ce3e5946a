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

/// The input without the verdict fields a sender may have forged for `authserv_id`
/// (`Authentication-Results` and `X-XIMF-Verify` that claim it, or whose id cannot be read),
/// read from the raw header block, whether or not the input parses as a message.
///
/// Lines are split at LF, CRLF *and* a bare CR: some clients break a header line at a bare CR,
/// so `Subject: hi<CR>X-XIMF-Verify: pass` shows them a verdict field that a strict parser
/// reads as part of the Subject. Such a hidden field is cut out from its CR to the end of its
/// line. The header block ends at the first empty line. Everything else stays byte for byte.
pub fn scrub_forged_verdicts<'a>(bytes: &'a [u8], authserv_id: &str) -> std::borrow::Cow<'a, [u8]> {
    // (start of line, end of content, end with terminator, line began after a bare CR)
    let mut lines: Vec<(usize, usize, usize, bool)> = Vec::new();
    let mut pos = 0;
    let mut after_bare_cr = false;
    while pos < bytes.len() {
        let mut end = pos;
        while end < bytes.len() && bytes[end] != b'\n' && bytes[end] != b'\r' {
            end += 1;
        }
        let (next, bare) = match bytes.get(end) {
            Some(b'\r') if bytes.get(end + 1) == Some(&b'\n') => (end + 2, false),
            Some(b'\r') => (end + 1, true),
            Some(_) => (end + 1, false),
            None => (end, false),
        };
        if end == pos && !after_bare_cr {
            break; // the empty line: end of the header block
        }
        lines.push((pos, end, next, after_bare_cr));
        after_bare_cr = bare;
        pos = next;
    }
    let mut cut: Vec<std::ops::Range<usize>> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let (start, end, _, bare) = lines[i];
        let line = &bytes[start..end];
        let name_end = line.iter().position(|&b| b == b':');
        let name = name_end.map(|n| String::from_utf8_lossy(&line[..n]).trim_end().to_owned());
        let verdict = name.as_deref().is_some_and(|n| {
            n.eq_ignore_ascii_case("Authentication-Results") || n.eq_ignore_ascii_case(VERIFY_FIELD)
        });
        // The field's continuation lines (starting with WSP) belong to it.
        let mut j = i + 1;
        while j < lines.len() && matches!(bytes.get(lines[j].0), Some(b' ' | b'\t')) {
            j += 1;
        }
        if verdict && let (Some(name), Some(colon)) = (name, name_end) {
            let value_end = lines[j - 1].1;
            let value = String::from_utf8_lossy(&bytes[start + colon + 1..value_end]);
            let ours = claimed_authserv_id(&name, &value)
                .is_none_or(|id| id.eq_ignore_ascii_case(authserv_id));
            if ours {
                // A hidden field goes from the bare CR before it; a real one with its line end.
                let from = if bare { start - 1 } else { start };
                let to = if bare { lines[j - 1].1 } else { lines[j - 1].2 };
                cut.push(from..to);
            }
        }
        i = j;
    }
    if cut.is_empty() {
        return std::borrow::Cow::Borrowed(bytes);
    }
    let mut out = Vec::with_capacity(bytes.len());
    let mut last = 0;
    for r in cut {
        out.extend_from_slice(&bytes[last..r.start]);
        last = r.end;
    }
    out.extend_from_slice(&bytes[last..]);
    std::borrow::Cow::Owned(out)
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

#[cfg(test)]
mod scrub {
    use super::scrub_forged_verdicts as scrub;

    fn s(input: &str) -> String {
        String::from_utf8(scrub(input.as_bytes(), "mx.example.org").into_owned())
            .unwrap_or_default()
    }

    #[test]
    fn forged_verdicts_go_whatever_the_line_ending() {
        assert_eq!(
            s(
                "X-XIMF-Verify: pass (authserv-id=mx.example.org)\nSubject: a\n\nbody\nX-XIMF-Verify: pass\n"
            ),
            "Subject: a\n\nbody\nX-XIMF-Verify: pass\n"
        );
        assert_eq!(
            s("Subject: a\r\nAuthentication-Results: mx.example.org;\r\n smime=pass\r\n\r\nb"),
            "Subject: a\r\n\r\nb"
        );
        // Hidden behind a bare CR inside another field.
        assert_eq!(
            s("Subject: hi\rX-XIMF-Verify: pass (authserv-id=mx.example.org)\nTo: b\n\n"),
            "Subject: hi\nTo: b\n\n"
        );
        // Not a message at all: still scrubbed.
        assert_eq!(
            s("garbage line\nX-XIMF-Verify: pass\n\nbody"),
            "garbage line\n\nbody"
        );
        // Someone else's verdict stays.
        let other = "Authentication-Results: other.example; smime=pass\n\n";
        assert_eq!(s(other), other);
    }
}
