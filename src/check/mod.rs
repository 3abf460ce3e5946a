//! The conformance rules of an instance, shared by `stamp` (which refuses) and `verify` (which
//! reports): which values a header accepts, how items are split and joined, the technical value
//! that goes with a display value, and the cross-header rules — `linkedValue`, `association`
//! and `constraint` (spec §1.5, §1.9.1, §1.9.6).
//!
//! Values are compared with profile `content` case-insensitively (Trustedbird does, spec §2.6
//! step 5) and split on the *exact* separator string, never as a regex character class (trap 8).

mod address;
mod resolve;
mod rules;

pub use address::is_mailbox;
pub use resolve::{Resolved, header_facets, resolve_items};
pub use rules::{Assigned, Outcome, allowed_values, check_rules};

use crate::profile::{HeaderDef, HeaderKind};

/// Something wrong with the values of a message or a stamp request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Stable kebab-case finding code (README, "Finding codes").
    pub code: &'static str,
    /// True for a warning, false for an error.
    pub warning: bool,
    /// The header field concerned.
    pub header: String,
    /// A sentence for the user.
    pub message: String,
}

impl Problem {
    /// An error-level problem.
    pub fn error(code: &'static str, header: &str, message: impl Into<String>) -> Self {
        Problem {
            code,
            warning: false,
            header: header.to_owned(),
            message: message.into(),
        }
    }

    /// A warning-level problem.
    pub fn warning(code: &'static str, header: &str, message: impl Into<String>) -> Self {
        Problem {
            warning: true,
            ..Problem::error(code, header, message)
        }
    }
}

/// True when a rule with this `agent` attribute applies to a command acting as `agent`.
pub fn rule_applies(rule_agent: Option<&str>, agent: &str) -> bool {
    rule_agent.is_none_or(|a| a.trim().eq_ignore_ascii_case(agent))
}

/// The separator that joins the items of a header (Trustedbird's default is `,`).
pub fn separator(h: &HeaderDef) -> String {
    header_facets(h)
        .separator
        .clone()
        .unwrap_or_else(|| ",".to_owned())
}

/// The most items a header takes: `maxItem`, 1 when absent; unbounded for multisets and
/// address headers without one (an address header is a mailbox list by nature, spec §2.3).
pub fn max_items(h: &HeaderDef) -> Option<u32> {
    let f = header_facets(h);
    match (&h.body, f.max_item) {
        (_, Some(n)) => Some(n.max(1)),
        (crate::profile::HeaderBody::Multisets(_), None) => None,
        _ if h.kind == HeaderKind::Address => None,
        _ => Some(1),
    }
}

/// Splits a wire value into items on the exact separator; a single-item header is one item.
pub fn split_items(h: &HeaderDef, value: &str) -> Vec<String> {
    let value = value.trim();
    if value.is_empty() {
        return Vec::new();
    }
    if max_items(h) == Some(1) {
        return vec![value.to_owned()];
    }
    let sep = separator(h);
    // A separator made only of spaces would split on whitespace noise; compare trimmed.
    value
        .split(sep.as_str())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .collect()
}

/// Checks one item's syntax for date and address headers and its length facets.
pub fn check_item_syntax(h: &HeaderDef, item: &str, out: &mut Vec<Problem>) {
    let f = header_facets(h);
    let chars = item.chars().count() as u32;
    if let Some(max) = f.max_length
        && chars > max
    {
        out.push(Problem::error(
            "value-too-long",
            &h.name,
            format!("'{item}' has {chars} characters, at most {max} allowed"),
        ));
    }
    if let Some(min) = f.min_length
        && chars < min
    {
        out.push(Problem::error(
            "value-too-short",
            &h.name,
            format!("'{item}' has {chars} characters, at least {min} required"),
        ));
    }
    match h.kind {
        HeaderKind::Date if crate::clock::parse_rfc5322(item).is_none() => {
            out.push(Problem::error(
                "invalid-date",
                &h.name,
                format!("'{item}' is not an RFC 5322 date-time"),
            ));
        }
        HeaderKind::Address if !is_mailbox(item) => {
            out.push(Problem::error(
                "invalid-address",
                &h.name,
                format!("'{item}' is not a mailbox (local@domain)"),
            ));
        }
        _ => {}
    }
}
