//! The correspondence model (design.md §1, §3.2): the sender's *usage* and *context* select a
//! *correspondence type*, and the type fixes what a message needs — protection, algorithms,
//! size, recipients, header values. Each agent on the path enforces its part.
//!
//! Types are written in namespace `urn:ximf:correspondence:1`, either inside an instance's
//! extension point `<ximf:rule><ximf:custom provider="urn:ximf:correspondence:1">` or in a
//! standalone `<cm:model catalog="...">` file (`schemas/ximf-correspondence.xsd`).
//!
//! - [`parse`]: XML → [`Model`].
//! - [`select`]: usage × context → the first matching type, with the reasons.
//! - [`enforce`]: a type's requirements checked against a message, per agent; the no-downgrade
//!   rule for verification.

pub mod enforce;
pub mod parse;
pub mod select;

use serde::Serialize;

/// The namespace of the policy language.
pub const NAMESPACE: &str = "urn:ximf:correspondence:1";

/// The header that names the chosen type on the wire (Trustedbird's spelling).
pub const TYPE_FIELD: &str = "X-XIMF-Correspondance-Type";
/// The English spelling, also read.
pub const TYPE_FIELD_ALT: &str = "X-XIMF-Correspondence-Type";

/// All correspondence types of an instance, in document order (order decides selection).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Model {
    /// The types.
    pub types: Vec<CorrespondenceType>,
}

/// Whether a protection is demanded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Use {
    /// Must be applied.
    Required,
    /// May be applied.
    Optional,
    /// Must not be applied.
    Forbidden,
}

/// `cm:sign` / `cm:encrypt`.
#[derive(Debug, Clone, Serialize)]
pub struct Protection {
    /// Required, optional or forbidden.
    pub r#use: Use,
    /// Allowed mechanisms (`smime`, `openpgp`); empty = any.
    pub mechanisms: Vec<String>,
    /// Allowed digests (sign) or ciphers (encrypt); empty = the defaults.
    pub algorithms: Vec<String>,
    /// Minimum RSA key size.
    pub min_rsa_bits: Option<u32>,
    /// Header protection scheme (`rfc9788`, `rfc7508`).
    pub header_protection: Option<String>,
    /// Header fields to protect.
    pub secure_headers: Vec<String>,
}

/// A condition on one context key.
#[derive(Debug, Clone, Serialize)]
pub struct Condition {
    /// The context key (`network`, `location`, `device`, `os`, `time`, ...).
    pub key: String,
    /// The value must be one of these (case-insensitive); empty = no list.
    pub any_of: Vec<String>,
    /// The value must not be one of these.
    pub none_of: Vec<String>,
    /// For `time`: a daily window and days of the week in a fixed UTC offset.
    pub window: Option<TimeWindow>,
}

/// A time window: weekdays, minutes of the day `[from, to)` (wrapping past midnight when
/// `from > to`), in a fixed offset from UTC.
#[derive(Debug, Clone, Serialize)]
pub struct TimeWindow {
    /// Allowed weekdays, 0 = Monday.
    pub days: Vec<u8>,
    /// Start, minutes after midnight (inclusive).
    pub from: u32,
    /// End, minutes after midnight (exclusive).
    pub to: u32,
    /// Offset from UTC in minutes (the stated time zone).
    pub offset_minutes: i32,
}

/// A header value the type fixes.
#[derive(Debug, Clone, Serialize)]
pub struct HeaderRequirement {
    /// The field name.
    pub name: String,
    /// Allowed values (case-insensitive); empty = any value, but present.
    pub values: Vec<String>,
}

/// Who may receive.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Recipients {
    /// Every recipient's domain must be one of these (or a subdomain); empty = any.
    pub allow_domains: Vec<String>,
    /// No recipient's domain may be one of these (or a subdomain).
    pub deny_domains: Vec<String>,
    /// At most this many recipients.
    pub max: Option<u32>,
}

/// A requirement element may be scoped to one agent.
#[derive(Debug, Clone, Serialize)]
pub struct Scoped<T> {
    /// The agent it applies to; none = every agent the type applies to.
    pub agent: Option<String>,
    /// The requirement.
    pub value: T,
}

/// One correspondence type.
#[derive(Debug, Clone, Serialize)]
pub struct CorrespondenceType {
    /// `@name`, the wire value of `X-XIMF-Correspondance-Type`.
    pub name: String,
    /// `@usage` (`private`, `professional`, ...).
    pub usage: String,
    /// The agent of the enclosing `ximf:rule` (none = every agent).
    pub agent: Option<String>,
    /// Where it came from (rule id or file), for messages.
    pub origin: String,
    /// All must hold for the type to be selected.
    pub when: Vec<Condition>,
    /// Signing demand.
    pub sign: Option<Scoped<Protection>>,
    /// Encryption demand.
    pub encrypt: Option<Scoped<Protection>>,
    /// The header an ESS label is built from.
    pub label_from: Option<String>,
    /// Largest message in bytes.
    pub max_size: Option<Scoped<u64>>,
    /// Recipient domains and count.
    pub recipients: Option<Scoped<Recipients>>,
    /// Need-to-know: recipient address or domain → clearance level.
    pub clearances: Option<Scoped<Clearances>>,
    /// A copy must go to this address (archive).
    pub archive: Option<Scoped<String>>,
    /// No extra recipient: no Bcc and none of the archive addresses of the other types.
    pub privacy: Option<Scoped<()>>,
    /// Header values the type fixes.
    pub headers: Vec<Scoped<HeaderRequirement>>,
}

/// A clearance list (`cm:need-to-know`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Clearances {
    /// The header whose value's `aclLevel` the recipients must reach.
    pub header: String,
    /// (address or `@domain`, level), in file order.
    pub entries: Vec<(String, u32)>,
}

impl Clearances {
    /// The level of `addr`: its own entry, else the most specific domain entry covering it
    /// (its domain or a parent domain, as `cm:recipients` domains match), else none.
    pub fn level(&self, addr: &str) -> Option<u32> {
        let addr = addr.to_ascii_lowercase();
        let domain = addr.rsplit_once('@').map(|(_, d)| d).unwrap_or("");
        let covers = |d: &str| {
            domain == d
                || (domain.len() > d.len()
                    && domain.ends_with(d)
                    && domain.as_bytes()[domain.len() - d.len() - 1] == b'.')
        };
        self.entries
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(&addr))
            .or_else(|| {
                self.entries
                    .iter()
                    .filter(|(a, _)| {
                        a.strip_prefix('@')
                            .is_some_and(|d| covers(&d.to_ascii_lowercase()))
                    })
                    .max_by_key(|(a, _)| a.len())
            })
            .map(|(_, l)| *l)
    }
}

impl CorrespondenceType {
    /// How strict the type is, for the no-downgrade rule: required encryption weighs most, then
    /// required signing, then the number of other requirements.
    pub fn strictness(&self) -> u32 {
        let req = |p: &Option<Scoped<Protection>>| {
            p.as_ref().is_some_and(|p| p.value.r#use == Use::Required)
        };
        let mut s = 0;
        if req(&self.encrypt) {
            s += 100;
        }
        if req(&self.sign) {
            s += 50;
        }
        s += self.max_size.is_some() as u32
            + self.recipients.is_some() as u32
            + self.clearances.is_some() as u32
            + self.archive.is_some() as u32
            + self.privacy.is_some() as u32
            + self.headers.len() as u32;
        s
    }
}

impl Model {
    /// The type named `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&CorrespondenceType> {
        self.types
            .iter()
            .find(|t| t.name.eq_ignore_ascii_case(name.trim()))
    }

    /// The strictest type (the first of equals, in document order).
    pub fn strictest(&self) -> Option<&CorrespondenceType> {
        let max = self.types.iter().map(|t| t.strictness()).max()?;
        self.types.iter().find(|t| t.strictness() == max)
    }

    /// True when the instance defines no correspondence type.
    pub fn is_empty(&self) -> bool {
        self.types.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::Clearances;

    #[test]
    fn clearance_lookup_most_specific_first() {
        let c = Clearances {
            header: String::new(),
            entries: vec![
                ("@example.org".into(), 30),
                ("@lab.example.org".into(), 60),
                ("alice@example.org".into(), 90),
            ],
        };
        assert_eq!(c.level("Alice@Example.org"), Some(90));
        assert_eq!(c.level("bob@example.org"), Some(30));
        assert_eq!(c.level("carol@lab.example.org"), Some(60));
        assert_eq!(c.level("dave@deep.lab.example.org"), Some(60));
        assert_eq!(c.level("eve@badexample.org"), None);
    }
}
