//! Enforcement: a correspondence type's requirements checked against a message by one agent,
//! and the no-downgrade rule for verification (design.md §3.2).

use super::{CorrespondenceType, Model, Scoped, TYPE_FIELD, TYPE_FIELD_ALT, Use};
use crate::check::{Problem, rule_applies};
use crate::message::Message;
use crate::profile::{HeaderBody, Instance, Item};
use crate::secure::{Mechanism, Outcome};

/// The recipients of a message: To, Cc and Bcc mailboxes, plus envelope recipients a caller
/// knows (sendmail's argv).
#[derive(Debug, Clone, Default)]
pub struct Recipients {
    /// Addresses, lower-cased, deduplicated, in order.
    pub addresses: Vec<String>,
    /// True when the message has a Bcc field with addresses.
    pub bcc: bool,
}

impl Recipients {
    /// Reads To, Cc and Bcc, and adds `envelope`.
    pub fn of(message: &Message, envelope: &[String]) -> Recipients {
        let mut r = Recipients::default();
        let bytes = message.bytes();
        for name in ["To", "Cc", "Bcc"] {
            for f in message.get_all(name) {
                let found = mailboxes(&f.value(bytes));
                if name == "Bcc" && !found.is_empty() {
                    r.bcc = true;
                }
                r.add(found);
            }
        }
        r.add(envelope.iter().map(|a| a.to_ascii_lowercase()).collect());
        r
    }

    fn add(&mut self, list: Vec<String>) {
        for a in list {
            if !self.addresses.contains(&a) {
                self.addresses.push(a);
            }
        }
    }
}

/// The addr-specs of an address list: `<...>` contents, or bare words containing `@`. Enough for
/// policy checks; quoted local parts with commas are not split correctly (none in practice).
pub fn mailboxes(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in list.split(',') {
        let addr = match (part.rfind('<'), part.rfind('>')) {
            (Some(a), Some(b)) if a < b => &part[a + 1..b],
            _ => part,
        };
        let addr = addr
            .split_whitespace()
            .find(|w| w.contains('@'))
            .unwrap_or("")
            .trim_matches(|c| c == '"' || c == ';' || c == ':');
        if addr.contains('@') {
            out.push(addr.to_ascii_lowercase());
        }
    }
    out
}

fn domain(addr: &str) -> &str {
    addr.rsplit_once('@').map(|(_, d)| d).unwrap_or("")
}

fn in_domains(addr: &str, domains: &[String]) -> bool {
    let d = domain(addr);
    domains.iter().any(|x| {
        let x = x.trim_start_matches('.');
        d.eq_ignore_ascii_case(x)
            || (d.len() > x.len()
                && d[d.len() - x.len()..].eq_ignore_ascii_case(x)
                && d.as_bytes()[d.len() - x.len() - 1] == b'.')
    })
}

fn on<'a, T>(s: &'a Option<Scoped<T>>, agent: &str) -> Option<&'a T> {
    s.as_ref()
        .filter(|s| rule_applies(s.agent.as_deref(), agent))
        .map(|s| &s.value)
}

/// The header-level requirements of `t` for a message acting as `agent`: size, recipients,
/// need-to-know, archive, privacy, header values. `model` gives the other types' archive
/// addresses for the privacy rule.
pub fn check_message(
    t: &CorrespondenceType,
    model: &Model,
    instance: &Instance,
    message: &Message,
    recipients: &Recipients,
    agent: &str,
) -> Vec<Problem> {
    let mut out = Vec::new();
    if !rule_applies(t.agent.as_deref(), agent) {
        return out;
    }
    let ctx = format!("correspondence {} ({})", t.name, t.origin);
    if let Some(max) = on(&t.max_size, agent)
        && message.size() > *max
    {
        out.push(Problem::error(
            "message-too-large",
            "",
            format!("{} bytes, {ctx} allows {max}", message.size()),
        ));
    }
    if let Some(r) = on(&t.recipients, agent) {
        for a in &recipients.addresses {
            if !r.allow_domains.is_empty() && !in_domains(a, &r.allow_domains) {
                out.push(Problem::error(
                    "recipient-domain-not-allowed",
                    "",
                    format!("{a}: {ctx} allows only {}", r.allow_domains.join(" ")),
                ));
            }
            if in_domains(a, &r.deny_domains) {
                out.push(Problem::error(
                    "recipient-domain-denied",
                    "",
                    format!("{a}: {ctx} denies {}", r.deny_domains.join(" ")),
                ));
            }
        }
        if let Some(max) = r.max
            && recipients.addresses.len() as u32 > max
        {
            out.push(Problem::error(
                "too-many-recipients",
                "",
                format!(
                    "{} recipients, {ctx} allows {max}",
                    recipients.addresses.len()
                ),
            ));
        }
    }
    if let Some(c) = on(&t.clearances, agent) {
        need_to_know(c, instance, message, recipients, &ctx, &mut out);
    }
    if let Some(a) = on(&t.archive, agent)
        && !recipients
            .addresses
            .iter()
            .any(|x| x.eq_ignore_ascii_case(a))
    {
        out.push(Problem::error(
            "archive-missing",
            "",
            format!("{ctx} requires a copy to {a}"),
        ));
    }
    if on(&t.privacy, agent).is_some() {
        if recipients.bcc {
            out.push(Problem::error(
                "privacy-violation",
                "Bcc",
                format!("{ctx} forbids hidden recipients"),
            ));
        }
        for other in model.types.iter().filter_map(|o| o.archive.as_ref()) {
            let a = &other.value;
            if recipients
                .addresses
                .iter()
                .any(|x| x.eq_ignore_ascii_case(a))
            {
                out.push(Problem::error(
                    "privacy-violation",
                    "",
                    format!("{ctx} forbids the archive copy to {a}"),
                ));
            }
        }
    }
    let bytes = message.bytes();
    for h in t
        .headers
        .iter()
        .filter(|h| rule_applies(h.agent.as_deref(), agent))
    {
        let req = &h.value;
        match message.get(&req.name).map(|f| f.value(bytes)) {
            None => out.push(Problem::error(
                "policy-header-missing",
                &req.name,
                format!("{ctx} requires this field"),
            )),
            Some(v)
                if !req.values.is_empty()
                    && !req.values.iter().any(|x| x.eq_ignore_ascii_case(v.trim())) =>
            {
                out.push(Problem::error(
                    "policy-header-value",
                    &req.name,
                    format!("'{v}': {ctx} allows {}", req.values.join(" ")),
                ))
            }
            _ => {}
        }
    }
    out
}

/// `check_message` as a refusal: the first error becomes [`crate::Error::Config`] (exit 78),
/// naming the field, the type and the rule.
pub fn refuse(
    t: &CorrespondenceType,
    model: &Model,
    instance: &Instance,
    message: &Message,
    agent: &str,
) -> crate::Result<()> {
    let recipients = Recipients::of(message, &[]);
    match check_message(t, model, instance, message, &recipients, agent)
        .into_iter()
        .find(|p| !p.warning)
    {
        None => Ok(()),
        Some(p) if p.header.is_empty() => {
            Err(crate::Error::Config(format!("{} ({})", p.message, p.code)))
        }
        Some(p) => Err(crate::Error::Config(format!(
            "{}: {} ({})",
            p.header, p.message, p.code
        ))),
    }
}

/// Need-to-know: every recipient's clearance must reach the `aclLevel` of the value the message
/// carries in the clearance header (the classification).
fn need_to_know(
    c: &super::Clearances,
    instance: &Instance,
    message: &Message,
    recipients: &Recipients,
    ctx: &str,
    out: &mut Vec<Problem>,
) {
    let Some(value) = message.get(&c.header).map(|f| f.value(message.bytes())) else {
        return;
    };
    let Some(required) = acl_level(instance, &c.header, value.trim()) else {
        return;
    };
    for a in &recipients.addresses {
        match c.level(a) {
            Some(l) if l >= required => {}
            Some(l) => out.push(Problem::error(
                "need-to-know",
                &c.header,
                format!("{a} is cleared to {l}, '{value}' needs {required} ({ctx})"),
            )),
            None => out.push(Problem::error(
                "need-to-know",
                &c.header,
                format!("{a} has no clearance, '{value}' needs {required} ({ctx})"),
            )),
        }
    }
}

/// The `aclLevel` of the value `value` of header `name`.
pub fn acl_level(instance: &Instance, name: &str, value: &str) -> Option<u32> {
    let h = instance
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(name))?;
    let lists = match &h.body {
        HeaderBody::Sets(l) | HeaderBody::Multisets(l) => l,
        _ => return None,
    };
    lists.iter().flat_map(|l| &l.items).find_map(|it| match it {
        Item::String(s)
            if s.content
                .as_deref()
                .is_some_and(|c| c.eq_ignore_ascii_case(value)) =>
        {
            s.acl_level
        }
        Item::Compstring(c)
            if c.content
                .as_deref()
                .is_some_and(|x| x.eq_ignore_ascii_case(value)) =>
        {
            c.acl_level
        }
        _ => None,
    })
}

/// Signature and encryption demands against the engine's typed outcome: required or
/// forbidden, and for every layer the mechanism, digest, cipher and minimum RSA size the type
/// allows, and header protection when the type demands it — the same lists `protect` picks from.
pub fn check_protection(t: &CorrespondenceType, outcome: &Outcome, agent: &str) -> Vec<Problem> {
    let mut out = Vec::new();
    if !rule_applies(t.agent.as_deref(), agent) {
        return out;
    }
    let signed = outcome.signatures().next().is_some();
    let encrypted = outcome.encryptions().any(|e| e.decrypted);
    let ctx = format!("correspondence {}", t.name);
    if let Some(s) = on(&t.sign, agent) {
        match (s.r#use, signed) {
            (Use::Required, false) => out.push(Problem::error(
                "signature-required",
                "",
                format!("{ctx} requires a signature ({})", mechanisms(&s.mechanisms)),
            )),
            (Use::Forbidden, true) => out.push(Problem::error(
                "signature-forbidden",
                "",
                format!("{ctx} forbids signing"),
            )),
            _ => {}
        }
        for l in outcome.signatures() {
            let m = l.mechanism.name();
            if !allowed(&s.mechanisms, m) {
                out.push(Problem::error(
                    "mechanism-not-allowed",
                    "",
                    format!(
                        "{ctx} allows signing with {}, not {m}",
                        mechanisms(&s.mechanisms)
                    ),
                ));
            }
            if let Some(d) = &l.signer.digest
                && !s.algorithms.is_empty()
                && !s.algorithms.iter().any(|a| same_algorithm(a, d))
            {
                out.push(Problem::error(
                    "digest-not-allowed",
                    "",
                    format!(
                        "{ctx} allows the digests {}, not {d}",
                        s.algorithms.join(" ")
                    ),
                ));
            }
            if let (Some(min), Some((algo, bits))) = (s.min_rsa_bits, &l.signer.key)
                && algo == "rsa"
                && *bits < min
            {
                out.push(Problem::error(
                    "key-too-small",
                    "",
                    format!(
                        "{ctx} requires RSA keys of at least {min} bits; the signer's has {bits}"
                    ),
                ));
            }
        }
        if s.header_protection.is_some() && signed && !outcome.header_protection {
            out.push(Problem::error(
                "header-protection-required",
                "",
                format!(
                    "{ctx} requires header protection ({}); the signature covers no header field",
                    s.header_protection.as_deref().unwrap_or_default()
                ),
            ));
        }
    }
    if let Some(e) = on(&t.encrypt, agent) {
        match (e.r#use, encrypted) {
            (Use::Required, false) => out.push(Problem::error(
                "encryption-required",
                "",
                format!("{ctx} requires encryption ({})", mechanisms(&e.mechanisms)),
            )),
            (Use::Forbidden, true) => out.push(Problem::error(
                "encryption-forbidden",
                "",
                format!("{ctx} forbids encryption"),
            )),
            _ => {}
        }
        for l in outcome.encryptions().filter(|l| l.decrypted) {
            let m = l.mechanism.name();
            if !allowed(&e.mechanisms, m) {
                out.push(Problem::error(
                    "mechanism-not-allowed",
                    "",
                    format!(
                        "{ctx} allows encrypting with {}, not {m}",
                        mechanisms(&e.mechanisms)
                    ),
                ));
            }
            if let Some(c) = &l.cipher
                && !e.algorithms.is_empty()
                && !e
                    .algorithms
                    .iter()
                    .any(|a| cipher_allowed(a, c, l.mechanism))
            {
                out.push(Problem::error(
                    "cipher-not-allowed",
                    "",
                    format!(
                        "{ctx} allows the ciphers {}, not {c}",
                        e.algorithms.join(" ")
                    ),
                ));
            }
        }
    }
    out
}

fn allowed(list: &[String], name: &str) -> bool {
    list.is_empty() || list.iter().any(|m| m.eq_ignore_ascii_case(name))
}

/// `sha-256`, `SHA256` and `pgp-sha256` name the same digest.
fn same_algorithm(a: &str, b: &str) -> bool {
    let norm = |s: &str| {
        s.to_ascii_lowercase()
            .trim_start_matches("pgp-")
            .replace('-', "")
    };
    norm(a) == norm(b)
}

/// A cipher matches an allowed entry exactly, or an entry `alg-*` by algorithm. OpenPGP's mode
/// (CFB with MDC, OCB, EAX, GCM) follows the recipients' features, not the sender's choice:
/// an OpenPGP cipher is allowed when its algorithm is that of an allowed entry.
fn cipher_allowed(entry: &str, cipher: &str, mech: Mechanism) -> bool {
    let entry = entry.to_ascii_lowercase();
    let cipher = cipher.to_ascii_lowercase();
    let alg = |s: &str| s.split('-').next().unwrap_or_default().to_owned();
    entry == cipher
        || entry.strip_suffix("-*").is_some_and(|p| alg(&cipher) == p)
        || (mech == Mechanism::OpenPgp && alg(&entry) == alg(&cipher))
}

fn mechanisms(m: &[String]) -> String {
    if m.is_empty() {
        "S/MIME or OpenPGP".into()
    } else {
        m.join(" or ")
    }
}

/// The type the message names in `X-XIMF-Correspondance-Type` (or the English spelling).
pub fn named_type(message: &Message) -> Option<String> {
    message
        .get(TYPE_FIELD)
        .or_else(|| message.get(TYPE_FIELD_ALT))
        .map(|f| f.value(message.bytes()).trim().to_owned())
}

/// No downgrade: the type to enforce on verification. The named type when the signature covers
/// the correspondence field; otherwise the strictest type of the instance (stripping or editing
/// an unsigned field must not lower what is checked), or the named one if it is stricter still.
pub fn effective<'m>(
    model: &'m Model,
    named: Option<&str>,
    protected: bool,
) -> Option<&'m CorrespondenceType> {
    let named = named.and_then(|n| model.get(n));
    match (named, protected) {
        (Some(t), true) => Some(t),
        (named, _) => {
            let strictest = model.strictest();
            match (named, strictest) {
                (Some(n), Some(s)) if n.strictness() >= s.strictness() => Some(n),
                (_, s) => s,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extracts_mailboxes() {
        assert_eq!(
            mailboxes("Alice <Alice@Example.org>, bob@example.net, \"X, Y\" <x@y.z>"),
            vec!["alice@example.org", "bob@example.net", "x@y.z"]
        );
        assert!(mailboxes("undisclosed-recipients:;").is_empty());
    }

    #[test]
    fn domain_matching_includes_subdomains_only_at_dots() {
        let d = vec!["example.org".to_owned()];
        assert!(in_domains("a@example.org", &d));
        assert!(in_domains("a@mail.example.org", &d));
        assert!(!in_domains("a@badexample.org", &d));
        assert!(!in_domains("a@example.org.evil", &d));
    }
}
