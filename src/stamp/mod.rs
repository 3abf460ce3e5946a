//! Stamping: the values a user chose → the XIMF header fields an instance defines (design.md §4,
//! spec §2.1–§2.3).
//!
//! Emission order is the profile's (spec §2.2, recommended): `X-XIMF-NAME`, `X-XIMF-Version`, then every
//! header with a value in headers-file order, each technical header right after its display
//! header, then compatibility aliases. Existing XIMF fields are removed first, so re-stamping
//! never duplicates a field (trap 20).

use crate::check::{self, Assigned, Outcome, Problem};
use crate::clock;
use crate::error::{Error, Result};
use crate::message::{Field, Message, Placement};
use crate::profile::{HeaderBody, HeaderDef, HeaderKind, Instance, RuleKind};

/// The wire name of the instance-name field, in Trustedbird's exact casing (trap 16).
pub const NAME_FIELD: &str = "X-XIMF-NAME";
/// The wire name of the format-version field.
pub const VERSION_FIELD: &str = "X-XIMF-Version";

/// How to stamp.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct StampOptions {
    /// Emit the aliases of `compatibility` rules (X-P772-*, MMHS-*).
    pub compat: bool,
    /// The agent the command acts as, for rule scoping (`mua` for stamp).
    pub agent: String,
    /// The correspondence type chosen by usage × context, written in
    /// `X-XIMF-Correspondance-Type`.
    pub correspondence: Option<String>,
}

impl Default for StampOptions {
    fn default() -> Self {
        StampOptions {
            compat: true,
            agent: "mua".to_owned(),
            correspondence: None,
        }
    }
}

/// The header fields for `sets` (`Header=value` pairs; a header repeated or a value holding the
/// header's separator gives several items), checked against the instance.
///
/// Fails with [`Error::Value`] (exit 65) naming the header and the allowed values when a value is
/// not allowed, a mandatory header has none, or a rule is broken.
pub fn fields(
    instance: &Instance,
    sets: &[(String, String)],
    opts: &StampOptions,
) -> Result<Vec<(String, String)>> {
    if instance.plain {
        if let Some((h, _)) = sets.first() {
            return Err(Error::Value {
                header: h.clone(),
                message: format!(
                    "instance {} is a plain message and takes no values",
                    instance.name
                ),
            });
        }
        return Ok(Vec::new());
    }
    let (assigned, mut wrong) = assign(instance, sets);
    let (outcomes, problems) = check::check_rules(instance, &assigned, &opts.agent);
    // Every problem at once: a user who retries through mutt pays a failed send per round.
    wrong.extend(problems.iter().filter(|p| !p.warning).map(described));
    if let Some(e) = joined_error(wrong) {
        return Err(e);
    }
    let mut out = vec![
        (NAME_FIELD.to_owned(), instance.name.clone()),
        (VERSION_FIELD.to_owned(), instance.ximf_version.clone()),
    ];
    if let Some(t) = &opts.correspondence {
        out.push((crate::policy::TYPE_FIELD.to_owned(), t.clone()));
    }
    for h in &instance.headers {
        let Some(o) = outcomes.iter().find(|o| std::ptr::eq(o.header, h)) else {
            continue;
        };
        let value = o.value();
        if value.is_empty() {
            continue;
        }
        out.push((h.name.clone(), value));
        if let (Some(tn), Some(tv)) = (&h.technical_name, o.technical()) {
            out.push((tn.clone(), tv));
        }
    }
    if opts.compat {
        out.extend(compat_fields(instance, &outcomes, &opts.agent));
    }
    Ok(out)
}

/// [`stamp`] without the body: the new header section, to be followed by
/// [`Message::rest`] (a writer then sends a large body straight from the input buffer).
pub fn stamp_header(
    message: &Message,
    instance: &Instance,
    sets: &[(String, String)],
    opts: &StampOptions,
) -> Result<Vec<u8>> {
    let add = fields(instance, sets, opts)?;
    if instance.plain {
        return Ok(message.bytes()[..message.bytes().len() - message.rest().len()].to_vec());
    }
    let aliases = alias_names(instance);
    let remove = |f: &Field| {
        is_ximf_field(&f.name)
            || instance.headers.iter().any(|h| {
                f.name_is(&h.name) || h.technical_name.as_deref().is_some_and(|t| f.name_is(t))
            })
            || aliases.iter().any(|a| f.name_is(a))
    };
    message.edit_header(&remove, &add, Placement::End)
}

/// Stamps `message`: removes the XIMF fields (and this instance's compatibility aliases) it
/// carries, then appends the new ones at the end of its header section. Every other byte stays.
pub fn stamp(
    message: &Message,
    instance: &Instance,
    sets: &[(String, String)],
    opts: &StampOptions,
) -> Result<Vec<u8>> {
    let mut out = stamp_header(message, instance, sets, opts)?;
    out.extend_from_slice(message.rest());
    Ok(out)
}

/// True for a field in the XIMF namespace of names (`X-XIMF-*`, any case).
pub fn is_ximf_field(name: &str) -> bool {
    name.len() > 7 && name[..7].eq_ignore_ascii_case("x-ximf-")
}

/// The correspondence type's refusal at the MUA: one [`Error::Config`] (exit 78) naming every
/// error of `problems` (`HEADER: what (code)`, or `what (code)` for a rule about no field),
/// joined by `; ` on one line, or `None` when there are only warnings.
pub fn refusal(problems: &[Problem]) -> Option<Error> {
    let lines: Vec<String> = problems
        .iter()
        .filter(|p| !p.warning)
        .map(|p| match p.header.is_empty() {
            true => format!("{} ({})", p.message, p.code),
            false => format!("{}: {} ({})", p.header, p.message, p.code),
        })
        .collect();
    (!lines.is_empty()).then(|| Error::Config(lines.join("; ")))
}

/// A problem as (header, sentence with its code).
pub fn described(p: &Problem) -> (String, String) {
    (p.header.clone(), format!("{} ({})", p.message, p.code))
}

/// One [`Error::Value`] naming every (header, what is wrong) of `wrong`, or `None` when it is
/// empty. It displays as one line, `H1: what (code); H2: what (code)`, so the first stderr line
/// (`ximf stamp: ...`, all a log or a bounce keeps) lists them all; with one problem it reads
/// as it always did.
pub fn joined_error(wrong: Vec<(String, String)>) -> Option<Error> {
    let mut it = wrong.into_iter();
    let (header, mut message) = it.next()?;
    for (h, m) in it {
        message.push_str(&format!("; {h}: {m}"));
    }
    Some(Error::Value { header, message })
}

fn find_header<'i>(instance: &'i Instance, key: &str) -> Option<&'i HeaderDef> {
    let key = key.trim();
    instance
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case(key) || h.id == key)
}

/// Groups the user's values by header and adds the fixed values of hidden headers; every key
/// the instance does not define comes back as (key, why).
fn assign<'i>(
    instance: &'i Instance,
    sets: &[(String, String)],
) -> (Assigned<'i>, Vec<(String, String)>) {
    let mut assigned = Assigned::default();
    let mut unknown = Vec::new();
    for (key, value) in sets {
        let Some(h) = find_header(instance, key) else {
            let technical = instance.headers.iter().find(|h| {
                h.technical_name
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(key))
            });
            let message = match technical {
                Some(h) => format!("is a technical header: set {} instead", h.name),
                None => format!(
                    "not defined by instance {}; its headers: {}",
                    instance.name,
                    instance
                        .headers
                        .iter()
                        .filter(|h| !h.is_hidden())
                        .map(|h| h.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            if !unknown.iter().any(|(k, _): &(String, String)| k == key) {
                unknown.push((key.clone(), message));
            }
            continue;
        };
        let mut items = check::split_items(h, value);
        if h.kind == HeaderKind::Date {
            items = items.into_iter().map(normalize_date).collect();
        }
        match assigned
            .entries
            .iter_mut()
            .find(|(d, _)| std::ptr::eq(*d, h))
        {
            Some((_, v)) => v.extend(items),
            None => assigned.entries.push((h, items)),
        }
    }
    for h in instance.headers.iter().filter(|h| h.is_hidden()) {
        if assigned.entries.iter().any(|(d, _)| std::ptr::eq(*d, h)) {
            continue;
        }
        if let HeaderBody::String(s) = &h.body
            && let Some(c) = &s.content
        {
            assigned.entries.push((h, vec![c.clone()]));
        }
    }
    (assigned, unknown)
}

/// Dates go out as RFC 5322 date-times in UTC (spec §2.3, recommended); RFC 3339 input is accepted.
fn normalize_date(item: String) -> String {
    clock::parse_rfc3339(&item)
        .or_else(|| clock::parse_rfc5322(&item))
        .map(clock::format_rfc5322)
        .unwrap_or(item)
}

/// Every field name this instance's compatibility rules can emit.
pub fn alias_names(instance: &Instance) -> Vec<String> {
    instance
        .rules
        .iter()
        .flat_map(|r| &r.kinds)
        .filter_map(|k| match k {
            RuleKind::Compatibility { aliases, .. } => Some(aliases),
            _ => None,
        })
        .flatten()
        .map(|a| a.header_name.clone())
        .collect()
}

/// The compatibility aliases (spec §1.9.3): constants first per rule order, mapped headers
/// translated through their `aliasValue` table, copied unchanged when no entry matches. Every
/// header kind is translated, not only set-based ones as in Trustedbird.
pub fn compat_fields(
    instance: &Instance,
    outcomes: &[Outcome<'_>],
    agent: &str,
) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for rule in &instance.rules {
        if !check::rule_applies(rule.agent.as_deref(), agent) {
            continue;
        }
        for kind in &rule.kinds {
            let RuleKind::Compatibility { aliases, .. } = kind else {
                continue;
            };
            for a in aliases {
                let value = match &a.header_ref {
                    None => a.values.first().and_then(|v| v.value_name.clone()),
                    Some(r) => mapped_value(a, r, outcomes),
                };
                if let Some(v) = value.filter(|v| !v.is_empty()) {
                    out.push((a.header_name.clone(), v));
                }
            }
        }
    }
    out
}

fn mapped_value(
    a: &crate::profile::AliasHeader,
    header_ref: &str,
    outcomes: &[Outcome<'_>],
) -> Option<String> {
    let o = outcomes
        .iter()
        .find(|o| o.header.name.eq_ignore_ascii_case(header_ref));
    if let Some(o) = o {
        if o.resolved.is_empty() {
            return None;
        }
        let table: Vec<_> = a.values.iter().filter(|v| v.value_ref.is_some()).collect();
        if table.is_empty()
            && let Some(constant) = a.values.iter().find_map(|v| v.value_name.clone())
        {
            return Some(constant);
        }
        let items: Vec<String> = o
            .resolved
            .iter()
            .map(|r| {
                table
                    .iter()
                    .find(|v| {
                        v.value_ref
                            .as_deref()
                            .is_some_and(|x| x.eq_ignore_ascii_case(&r.content))
                    })
                    .and_then(|v| v.value_name.clone())
                    .unwrap_or_else(|| r.content.clone())
            })
            .collect();
        return Some(items.join(&check::separator(o.header)));
    }
    // The alias may name a technical header: copy its technical value.
    outcomes
        .iter()
        .find(|o| {
            o.header
                .technical_name
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(header_ref))
        })
        .and_then(Outcome::technical)
}
