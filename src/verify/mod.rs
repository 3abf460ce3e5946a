//! Header-level verification: a message checked against its XIMF instance (design.md §5,
//! spec §2.6, recommended).
//!
//! Unlike Trustedbird, which reads past the header section and looks `X-XIMF-NAME` up
//! case-sensitively (traps 16, 19), we parse only the header section, match names
//! case-insensitively and warn where Trustedbird would not have recognised the message.

pub mod batch;
pub mod mbox;

use crate::check::{self, Assigned, Problem};
use crate::message::Message;
use crate::policy;
use crate::profile::{Instance, Profile};
use crate::report::{ProfileInfo, Report, Severity};
use crate::stamp::{NAME_FIELD, VERSION_FIELD, compat_fields, is_ximf_field};

/// Header fields in the X-XIMF namespace that no instance declares but ximf itself knows.
const KNOWN_FIELDS: [&str; 5] = [
    NAME_FIELD,
    VERSION_FIELD,
    "X-XIMF-Correspondance-Type",
    "X-XIMF-Correspondence-Type",
    "X-XIMF-Verify",
];

/// How to verify.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Check against this instance instead of the one `X-XIMF-NAME` names.
    pub instance: Option<String>,
    /// The agent the command acts as, for rule scoping (`mda` by default).
    pub agent: String,
    /// The correspondence model to enforce; none = the instance's own `custom` rules.
    pub model: Option<crate::policy::Model>,
    /// Envelope recipients known to the caller, checked with To/Cc/Bcc.
    pub envelope: Vec<String>,
    /// Keys for signature verification and decryption; none = verify with no trust anchors
    /// (every signature is then at best `untrusted`).
    pub keys: Option<std::sync::Arc<crate::secure::Keys>>,
    /// Verification time (Unix seconds) for certificate and key validity.
    pub now: i64,
    /// A correspondence type the verifying agent demands at least (selected from its own usage
    /// and context).
    pub floor: Option<String>,
    /// Bounds on what protection layers may expand into (plaintext size, MIME parts).
    pub limits: crate::secure::Limits,
}

impl Default for VerifyOptions {
    fn default() -> Self {
        VerifyOptions {
            instance: None,
            agent: "mda".to_owned(),
            model: None,
            envelope: Vec::new(),
            keys: None,
            now: 0,
            floor: None,
            limits: crate::secure::Limits::default(),
        }
    }
}

/// Checks the XIMF header fields of `message` against `profile`. Never fails: every problem is a
/// finding in the report.
pub fn verify(message: &Message, profile: &Profile, opts: &VerifyOptions) -> Report {
    check_all(message, profile, opts, &mut None)
}

/// [`verify`], except that gpg-agent failing to open an encryption layer — unreachable or too
/// slow ([`crate::Error::TempFail`], 75) or refusing the key ([`crate::Error::KeyRefused`],
/// 77) — is that error instead of a finding: it says nothing about the message, and a mail
/// filter must be able to try again later rather than file the message as bad.
pub fn try_verify(
    message: &Message,
    profile: &Profile,
    opts: &VerifyOptions,
) -> crate::Result<Report> {
    let mut failure = None;
    let report = check_all(message, profile, opts, &mut failure);
    match failure {
        Some(e) => Err(e),
        None => Ok(report),
    }
}

fn check_all(
    message: &Message,
    profile: &Profile,
    opts: &VerifyOptions,
    failure: &mut Option<crate::Error>,
) -> Report {
    let mut report = Report::default();
    let bytes = message.bytes();
    let names: Vec<_> = message.get_all(NAME_FIELD).collect();
    if names.len() > 1 {
        report.push(
            "duplicate-header",
            Severity::Error,
            Some(NAME_FIELD),
            format!(
                "{} {NAME_FIELD} fields; the instance is ambiguous",
                names.len()
            ),
        );
    }
    if let Some(f) = names.first()
        && f.name != NAME_FIELD
    {
        report.push(
            "field-name-case",
            Severity::Warning,
            Some(&f.name),
            format!(
                "spelled '{}'; Trustedbird only recognises '{NAME_FIELD}'",
                f.name
            ),
        );
    }
    let named = names.first().map(|f| f.value(bytes));
    let wanted = opts.instance.clone().or(named.clone());
    let instance = match &wanted {
        Some(name) => match profile.instance(name) {
            Some(i) => Some(i),
            None => {
                report.push(
                    "unknown-instance",
                    Severity::Error,
                    Some(NAME_FIELD),
                    format!(
                        "instance '{name}' is not in the profile; known: {}",
                        profile.names()
                    ),
                );
                None
            }
        },
        None => match profile.instances.iter().find(|i| i.plain) {
            // A catalog with a plain `smtp` entry accepts plain mail; one without does not.
            Some(plain) => Some(plain),
            None => {
                report.push(
                    "missing-instance-name",
                    Severity::Error,
                    Some(NAME_FIELD),
                    "no X-XIMF-NAME field and the profile has no plain instance",
                );
                None
            }
        },
    };
    if let (Some(i), Some(n)) = (instance, &named)
        && opts.instance.is_some()
        && !i.name.eq_ignore_ascii_case(n.trim())
    {
        report.push(
            "instance-mismatch",
            Severity::Error,
            Some(NAME_FIELD),
            format!("message names instance '{n}', checked against '{}'", i.name),
        );
    }
    let outcome = check_protection(message, opts, &mut report, failure).unwrap_or_default();
    if let Some(i) = instance {
        report.profile = ProfileInfo {
            instance: Some(i.name.clone()),
            version: Some(i.ximf_version.clone()),
            correspondence: None,
        };
        check_instance(message, i, opts, &mut report);
        check_policy(message, i, opts, &outcome, &mut report);
    }
    report.finish();
    report
}

fn check_instance(
    message: &Message,
    instance: &Instance,
    opts: &VerifyOptions,
    report: &mut Report,
) {
    let bytes = message.bytes();
    if !instance.plain {
        check_version(message, instance, report);
    }
    let mut assigned = Assigned::default();
    for h in &instance.headers {
        let fields: Vec<_> = message.get_all(&h.name).collect();
        if fields.len() > 1 {
            report.push(
                "duplicate-header",
                Severity::Error,
                Some(&h.name),
                format!("{} fields; XIMF never repeats a field", fields.len()),
            );
        }
        if let Some(f) = fields.first() {
            let items = check::split_items(h, &f.value(bytes));
            if !items.is_empty() {
                assigned.entries.push((h, items));
            }
        }
    }
    let (outcomes, problems) = check::check_rules(instance, &assigned, &opts.agent);
    add(report, problems);
    // Technical headers must carry the technical values of the display values (spec §1.4).
    for h in &instance.headers {
        let Some(tn) = &h.technical_name else {
            continue;
        };
        let expected = outcomes
            .iter()
            .find(|o| std::ptr::eq(o.header, h))
            .and_then(|o| o.technical());
        let actual = message.get(tn).map(|f| f.value(bytes));
        let bad = |msg: String| Problem::error("technical-mismatch", tn, msg);
        match (expected, actual) {
            (Some(e), None) => add(
                report,
                vec![Problem::error(
                    "missing-technical-header",
                    tn,
                    format!("expected '{e}' for the value of {}", h.name),
                )],
            ),
            (Some(e), Some(a)) if !same_items(&e, &a) => add(
                report,
                vec![bad(format!(
                    "'{a}' does not match {} (expected '{e}')",
                    h.name
                ))],
            ),
            (None, Some(a)) if assigned.entries.iter().all(|(d, _)| !std::ptr::eq(*d, h)) => add(
                report,
                vec![bad(format!("'{a}' present without {}", h.name))],
            ),
            _ => {}
        }
    }
    // Compatibility aliases present on the message must agree with the XIMF values.
    for (name, expected) in compat_fields(instance, &outcomes, &opts.agent) {
        if let Some(f) = message.get(&name) {
            let actual = f.value(bytes);
            if !same_items(&expected, &actual) {
                report.push(
                    "compat-mismatch",
                    Severity::Warning,
                    Some(&name),
                    format!("'{actual}' does not match the XIMF value (expected '{expected}')"),
                );
            }
        }
    }
    for f in message.fields() {
        let declared = instance.headers.iter().any(|h| {
            f.name_is(&h.name) || h.technical_name.as_deref().is_some_and(|t| f.name_is(t))
        });
        if is_ximf_field(&f.name) && !declared && !KNOWN_FIELDS.iter().any(|k| f.name_is(k)) {
            report.push(
                "undeclared-header",
                Severity::Warning,
                Some(&f.name),
                format!("not declared by instance {}", instance.name),
            );
        }
    }
}

fn check_version(message: &Message, instance: &Instance, report: &mut Report) {
    match message.get(VERSION_FIELD) {
        None => report.push(
            "missing-version",
            Severity::Warning,
            Some(VERSION_FIELD),
            "no X-XIMF-Version field",
        ),
        Some(f) => {
            let v = f.value(message.bytes());
            // Informational only: senders in the field put the profile revision there too.
            if v.trim() != instance.ximf_version {
                report.push(
                    "version-mismatch",
                    Severity::Warning,
                    Some(VERSION_FIELD),
                    format!(
                        "'{v}', the instance's ximfVersion is '{}'",
                        instance.ximf_version
                    ),
                );
            }
        }
    }
}

/// Signature, encryption and label from the secure-message engine (design.md §5). Returns the
/// typed outcome for the policy check (none when the message could not be read).
fn check_protection(
    message: &Message,
    opts: &VerifyOptions,
    report: &mut Report,
    failure: &mut Option<crate::Error>,
) -> Option<crate::secure::Outcome> {
    let none = crate::secure::Keys::default();
    let keys = opts.keys.as_deref().unwrap_or(&none);
    let judged = crate::stream::with_origin(message.bytes(), message.origin(), || {
        crate::secure::verify_with(message.bytes(), keys, opts.now, opts.limits)
    });
    let judged = match judged {
        Ok(j) => j,
        // The message could not be read again to hash it: no verdict rests on that.
        Err(e) => {
            report.push(
                "structure-malformed",
                Severity::Error,
                None,
                format!("the message could not be read: {e}"),
            );
            *failure = Some(crate::Error::Io(e));
            return None;
        }
    };
    match judged {
        Ok(o) => {
            report.signature = Some(o.signature.clone());
            report.encryption = Some(o.encryption.clone());
            report.label = o.label.clone();
            report.findings.extend(o.findings.iter().cloned());
            Some(o)
        }
        Err(e @ (crate::Error::TempFail(_) | crate::Error::KeyRefused(_))) => {
            let line = e.to_string().lines().next().unwrap_or_default().to_owned();
            report.push("decryption-failed", Severity::Error, None, line);
            *failure = Some(e);
            None
        }
        Err(e) => {
            report.push("structure-malformed", Severity::Error, None, e.to_string());
            None
        }
    }
}

/// The correspondence type the message names, and whether a valid signature covers it. The
/// signed copy wins: an outer field (either spelling) that disagrees with it, or two outer
/// fields that disagree, are an error, since only the signed value can be trusted.
fn named_correspondence(
    message: &Message,
    inner: &[(String, String)],
    report: &mut Report,
) -> (Option<String>, bool) {
    let is_type = |n: &str| {
        n.eq_ignore_ascii_case(policy::TYPE_FIELD) || n.eq_ignore_ascii_case(policy::TYPE_FIELD_ALT)
    };
    let outer: Vec<String> = message
        .fields()
        .iter()
        .filter(|f| is_type(&f.name))
        .map(|f| f.value(message.bytes()).trim().to_owned())
        .collect();
    let signed = report
        .signature
        .as_ref()
        .is_some_and(|s| s.status == "valid");
    let inner_value = inner
        .iter()
        .find(|(n, _)| is_type(n))
        .map(|(_, v)| v.trim().to_owned())
        .filter(|_| signed);
    let (named, protected) = match inner_value {
        Some(v) => (Some(v), true),
        None => (outer.first().cloned(), false),
    };
    if let Some(n) = &named
        && let Some(other) = outer.iter().find(|o| !o.eq_ignore_ascii_case(n))
    {
        report.push(
            "correspondence-conflict",
            Severity::Error,
            Some(policy::TYPE_FIELD),
            format!(
                "the message names correspondence '{n}'{} and also '{other}'",
                if protected {
                    " under its signature"
                } else {
                    ""
                }
            ),
        );
    }
    (named, protected)
}

/// The correspondence policy: the type the message names, never below the strictest type of the
/// instance unless the signature covers the correspondence field (design.md §3.2).
fn check_policy(
    message: &Message,
    instance: &Instance,
    opts: &VerifyOptions,
    outcome: &crate::secure::Outcome,
    report: &mut Report,
) {
    let inner = &outcome.inner_headers;
    let derived;
    let model = match &opts.model {
        Some(m) => m,
        None => match policy::parse::from_instance(instance) {
            Ok(m) => {
                derived = m;
                &derived
            }
            Err(e) => {
                report.push("policy-error", Severity::Error, None, e.to_string());
                return;
            }
        },
    };
    if model.is_empty() {
        return;
    }
    let (named, protected) = named_correspondence(message, inner, report);
    if let Some(n) = &named
        && model.get(n).is_none()
    {
        report.push(
            "unknown-correspondence-type",
            Severity::Error,
            Some(policy::TYPE_FIELD),
            format!(
                "'{n}' is not a correspondence type of {}; known: {}",
                instance.name,
                model
                    .types
                    .iter()
                    .map(|t| t.name.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        );
    }
    let Some(mut t) = policy::enforce::effective(model, named.as_deref(), protected) else {
        return;
    };
    match &named {
        None => report.push(
            "missing-correspondence-type",
            Severity::Warning,
            Some(policy::TYPE_FIELD),
            format!("no correspondence type named; checked against the strictest, {}", t.name),
        ),
        Some(n) if !n.eq_ignore_ascii_case(&t.name) => report.push(
            "correspondence-not-protected",
            Severity::Warning,
            Some(policy::TYPE_FIELD),
            format!(
                "'{n}' is not covered by a valid signature and cannot lower the requirements; checked against {}",
                t.name
            ),
        ),
        _ => {}
    }
    if let Some(f) = opts.floor.as_deref().and_then(|f| model.get(f))
        && f.strictness() > t.strictness()
    {
        report.push(
            "correspondence-below-floor",
            Severity::Warning,
            Some(policy::TYPE_FIELD),
            format!(
                "{} is below what this agent's usage and context demand; checked against {}",
                t.name, f.name
            ),
        );
        t = f;
    }
    report.profile.correspondence = Some(t.name.clone());
    let recipients = policy::enforce::Recipients::of(message, &opts.envelope);
    add(
        report,
        policy::enforce::check_message(t, model, instance, message, &recipients, &opts.agent),
    );
    add(
        report,
        policy::enforce::check_protection(t, outcome, &opts.agent),
    );
}

/// Compares two joined values item by item, ignoring case and whitespace around separators.
fn same_items(a: &str, b: &str) -> bool {
    let norm = |s: &str| -> String {
        s.split([',', ';'])
            .map(|p| {
                p.split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
                    .to_ascii_lowercase()
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    norm(a) == norm(b)
}

fn add(report: &mut Report, problems: Vec<Problem>) {
    for p in problems {
        let sev = if p.warning {
            Severity::Warning
        } else {
            Severity::Error
        };
        // Message-wide problems (size, recipients, protection) name no header: null, not "".
        let header = Some(p.header.as_str()).filter(|h| !h.is_empty());
        report.push(p.code, sev, header, p.message);
    }
}
