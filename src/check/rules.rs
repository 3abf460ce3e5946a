//! Whole-instance checks over the values assigned to its headers.

use super::{
    Problem, Resolved, check_item_syntax, header_facets, max_items, resolve_items, rule_applies,
};
use crate::profile::{HeaderBody, HeaderDef, Instance, Item, RuleKind};
use std::collections::BTreeMap;

/// Values assigned to the headers of an instance: what a stamp request sets, or what a received
/// message carries. Items are in wire form, already split on the header's separator.
#[derive(Debug, Default)]
pub struct Assigned<'i> {
    /// Header definition → its items, in assignment order.
    pub entries: Vec<(&'i HeaderDef, Vec<String>)>,
}

/// The outcome for one header: the items that resolved, in order.
#[derive(Debug)]
pub struct Outcome<'i> {
    /// The header definition.
    pub header: &'i HeaderDef,
    /// Items resolved to profile values (unresolvable ones are left out and reported).
    pub resolved: Vec<Resolved>,
}

impl Outcome<'_> {
    /// The display value: resolved items joined by the header's separator.
    pub fn value(&self) -> String {
        self.resolved
            .iter()
            .map(|r| r.content.as_str())
            .collect::<Vec<_>>()
            .join(&super::separator(self.header))
    }

    /// The technical value: technical contents joined by `technicalSeparator` (default `,`);
    /// none when no chosen value has one (spec §1.4: the technical header is then not emitted).
    pub fn technical(&self) -> Option<String> {
        let techs: Vec<&str> = self
            .resolved
            .iter()
            .filter_map(|r| r.technical.as_deref())
            .collect();
        if techs.is_empty() {
            return None;
        }
        let sep = header_facets(self.header)
            .technical_separator
            .clone()
            .unwrap_or_else(|| ",".to_owned());
        Some(techs.join(&sep))
    }
}

/// Checks assigned values against the instance acting as `agent`: membership, counts, lengths,
/// date and address syntax, `linkedValue`, mandatory headers, and the `association` and
/// `constraint` rules that apply to `agent`.
pub fn check_rules<'i>(
    instance: &'i Instance,
    assigned: &Assigned<'i>,
    agent: &str,
) -> (Vec<Outcome<'i>>, Vec<Problem>) {
    let mut problems = Vec::new();
    let mut outcomes = Vec::new();
    for (h, items) in &assigned.entries {
        check_counts(h, items, &mut problems);
        let mut resolved = Vec::new();
        for (item, r) in items
            .iter()
            .zip(resolve_items(h, items, None, &instance.dictionary))
        {
            match r {
                Ok(r) => {
                    check_item_syntax(h, &r.content, &mut problems);
                    resolved.push(r);
                }
                Err(allowed) => problems.push(Problem::error(
                    "invalid-value",
                    &h.name,
                    format!("'{item}' is not allowed; allowed: {}", allowed.join(", ")),
                )),
            }
        }
        outcomes.push(Outcome {
            header: h,
            resolved,
        });
    }
    check_mandatory(instance, assigned, &mut problems);
    check_links(instance, &mut outcomes, &mut problems);
    for rule in &instance.rules {
        if !rule_applies(rule.agent.as_deref(), agent) {
            continue;
        }
        for kind in &rule.kinds {
            match kind {
                RuleKind::Association { aliases } => {
                    for a in aliases {
                        check_association(a, &outcomes, &mut problems);
                    }
                }
                RuleKind::Constraint {
                    left,
                    operator,
                    right,
                } => check_constraint(instance, left, operator, right, &outcomes, &mut problems),
                _ => {}
            }
        }
    }
    (outcomes, problems)
}

fn check_counts(h: &HeaderDef, items: &[String], out: &mut Vec<Problem>) {
    let n = items.len() as u32;
    if let Some(max) = max_items(h)
        && n > max
    {
        out.push(Problem::error(
            "too-many-items",
            &h.name,
            format!("{n} items, at most {max} allowed"),
        ));
    }
    if let Some(min) = header_facets(h).min_item
        && n > 0
        && n < min
    {
        // Trustedbird only warns here ("not enough items") and still sends.
        out.push(Problem::warning(
            "too-few-items",
            &h.name,
            format!("{n} items, at least {min} expected"),
        ));
    }
    if !matches!(h.body, HeaderBody::Multisets(_)) {
        for (i, a) in items.iter().enumerate() {
            if items[..i].iter().any(|b| b.eq_ignore_ascii_case(a)) {
                out.push(Problem::error(
                    "duplicate-item",
                    &h.name,
                    format!("'{a}' is given twice; only a multiset repeats values"),
                ));
            }
        }
    }
}

fn check_mandatory(instance: &Instance, assigned: &Assigned<'_>, out: &mut Vec<Problem>) {
    for h in &instance.headers {
        // A value that is present but not allowed is reported as invalid, not as missing.
        let present = assigned
            .entries
            .iter()
            .any(|(d, items)| std::ptr::eq(*d, h) && !items.is_empty());
        if h.mandatory && !present {
            out.push(Problem::error(
                "missing-mandatory-header",
                &h.name,
                format!("mandatory; allowed: {}", allowed_values(h).join(", ")),
            ));
        }
    }
}

/// The wire values a header offers, for error messages.
pub fn allowed_values(h: &HeaderDef) -> Vec<String> {
    let from_items = |items: &[Item]| -> Vec<String> {
        items
            .iter()
            .map(|i| match i {
                Item::String(s) => s.content.clone().unwrap_or_else(|| "(free text)".into()),
                Item::Compstring(c) => format!("{}...", c.content.clone().unwrap_or_default()),
            })
            .collect()
    };
    match &h.body {
        HeaderBody::Sets(l) | HeaderBody::Multisets(l) => {
            l.iter().flat_map(|l| from_items(&l.items)).collect()
        }
        HeaderBody::String(s) => vec![s.content.clone().unwrap_or_else(|| match h.kind {
            crate::profile::HeaderKind::Date => "(a date)".into(),
            crate::profile::HeaderKind::Address => "(addresses)".into(),
            _ => "(free text)".into(),
        })],
        HeaderBody::Compstrings(c) => c
            .iter()
            .map(|c| format!("{}...", c.content.clone().unwrap_or_default()))
            .collect(),
        HeaderBody::Empty => vec!["(any)".into()],
    }
}

/// `linkedValue`: a chosen value activates lists of other headers; their values must come from
/// the active lists (Whirlpool: a public classification offers only the "other" privacy marks).
fn check_links(instance: &Instance, outcomes: &mut [Outcome<'_>], out: &mut Vec<Problem>) {
    // header id -> (active list ids, the choice that activated them)
    let mut active: BTreeMap<&str, (Vec<String>, String)> = BTreeMap::new();
    for o in outcomes.iter() {
        for r in &o.resolved {
            for link in &r.links {
                if let Some(target) = header_with_list(instance, link) {
                    let e = active.entry(target.id.as_str()).or_insert_with(|| {
                        (Vec::new(), format!("{}={}", o.header.name, r.content))
                    });
                    e.0.push(link.clone());
                }
            }
        }
    }
    for o in outcomes.iter_mut() {
        let Some((lists, because)) = active.get(o.header.id.as_str()) else {
            continue;
        };
        let items: Vec<String> = o.resolved.iter().map(|r| r.content.clone()).collect();
        let again = resolve_items(o.header, &items, Some(lists), &instance.dictionary);
        let mut kept = Vec::new();
        for (r, item) in again.into_iter().zip(items) {
            match r {
                Ok(r) => kept.push(r),
                Err(allowed) => out.push(Problem::error(
                    "linked-value-mismatch",
                    &o.header.name,
                    format!(
                        "'{item}' is not offered when {because}; allowed: {}",
                        allowed.join(", ")
                    ),
                )),
            }
        }
        o.resolved = kept;
    }
}

fn header_with_list<'i>(instance: &'i Instance, list_id: &str) -> Option<&'i HeaderDef> {
    instance.headers.iter().find(|h| match &h.body {
        HeaderBody::Sets(l) | HeaderBody::Multisets(l) => {
            l.iter().any(|l| l.id.as_deref() == Some(list_id))
        }
        _ => false,
    })
}

fn outcome_by_name<'a, 'i>(outcomes: &'a [Outcome<'i>], name: &str) -> Option<&'a Outcome<'i>> {
    outcomes
        .iter()
        .find(|o| o.header.name.eq_ignore_ascii_case(name) || o.header.id == name)
}

/// `association`: when the controlling header (`headerRef`) holds `valueRef`, the dependent
/// header (`headerName`) may only hold the values listed in `valueName`. Lists are split on `,`
/// and compared as exact tokens, not substrings as Trustedbird does (trap 12).
fn check_association(
    a: &crate::profile::AliasHeader,
    outcomes: &[Outcome<'_>],
    out: &mut Vec<Problem>,
) {
    let Some(ctrl_name) = a.header_ref.as_deref() else {
        return;
    };
    let Some(dep) = outcome_by_name(outcomes, &a.header_name) else {
        return;
    };
    if dep.resolved.is_empty() {
        return;
    }
    let ctrl = outcome_by_name(outcomes, ctrl_name).filter(|o| !o.resolved.is_empty());
    let Some(ctrl) = ctrl else {
        out.push(Problem::error(
            "association-violation",
            &dep.header.name,
            format!("needs a value of {ctrl_name}"),
        ));
        return;
    };
    for c in &ctrl.resolved {
        let Some(row) = a.values.iter().find(|v| {
            v.value_ref
                .as_deref()
                .is_some_and(|r| r.trim().eq_ignore_ascii_case(&c.content))
        }) else {
            continue;
        };
        let allowed: Vec<&str> = row
            .value_name
            .as_deref()
            .unwrap_or("")
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        for d in &dep.resolved {
            if !allowed.iter().any(|x| x.eq_ignore_ascii_case(&d.content)) {
                out.push(Problem::error(
                    "association-violation",
                    &dep.header.name,
                    format!(
                        "'{}' is not allowed with {ctrl_name}={}; allowed: {}",
                        d.content,
                        c.content,
                        allowed.join(", ")
                    ),
                ));
            }
        }
    }
}

/// The rank of the value with id `id`: its `index`, else its position in its list.
fn rank_of(instance: &Instance, id: &str) -> Option<u32> {
    instance.headers.iter().find_map(|h| match &h.body {
        HeaderBody::Sets(ls) | HeaderBody::Multisets(ls) => ls.iter().find_map(|l| {
            l.items.iter().enumerate().find_map(|(pos, it)| match it {
                Item::String(s) if s.id.as_deref() == Some(id) => {
                    Some(s.index.unwrap_or(pos as u32))
                }
                Item::Compstring(c) if c.id.as_deref() == Some(id) => {
                    Some(c.index.unwrap_or(pos as u32))
                }
                _ => None,
            })
        }),
        _ => None,
    })
}

/// `constraint`: compares the rank of the value chosen for header `left` with the rank of value
/// `right` (spec §1.9.1; the XSD declares it, Trustedbird never enforced it).
fn check_constraint(
    instance: &Instance,
    left: &str,
    operator: &str,
    right: &str,
    outcomes: &[Outcome<'_>],
    out: &mut Vec<Problem>,
) {
    let Some(o) = outcome_by_name(outcomes, left) else {
        return;
    };
    let Some(bound) = rank_of(instance, right) else {
        return;
    };
    for r in &o.resolved {
        let Some(rank) = r.rank else { continue };
        let ok = match operator {
            "greaterThan" => rank > bound,
            "lowerThan" => rank < bound,
            "equalOrGreaterThan" => rank >= bound,
            "equalOrLowerThan" => rank <= bound,
            "equal" => rank == bound,
            _ => true,
        };
        if !ok {
            out.push(Problem::error(
                "constraint-violation",
                &o.header.name,
                format!("'{}' must be {operator} the value {right}", r.content),
            ));
        }
    }
}
