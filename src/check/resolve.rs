//! Resolving a wire item to the profile value it stands for.

use crate::profile::{
    Comp, CompChild, Dictionary, Facets, HeaderBody, HeaderDef, Item, StringValue, ValueList,
};

/// What a wire item resolved to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The canonical wire form (the profile's `content`, or the free text as given).
    pub content: String,
    /// The technical value, when the profile defines one.
    pub technical: Option<String>,
    /// The value id, when it has one (for constraint rules).
    pub id: Option<String>,
    /// Rank for constraint rules: `index`, else position in its list.
    pub rank: Option<u32>,
    /// Ids of the lists this choice activates (`linkedValue`).
    pub links: Vec<String>,
    /// The id of the list the item came from.
    pub list: Option<String>,
    /// True when the item is free text (an editable string).
    pub free: bool,
}

/// The facets governing how a header's items are split, counted and measured: those of its first
/// list, or of its single string.
pub fn header_facets(h: &HeaderDef) -> &Facets {
    static NONE: Facets = Facets {
        max_length: None,
        min_length: None,
        max_item: None,
        min_item: None,
        separator: None,
        technical_separator: None,
    };
    match &h.body {
        HeaderBody::Sets(l) | HeaderBody::Multisets(l) => l.first().map_or(&NONE, |l| &l.facets),
        HeaderBody::String(s) => &s.facets,
        HeaderBody::Compstrings(_) | HeaderBody::Empty => &NONE,
    }
}

/// Resolves each item of a header. `active` restricts set-valued headers to the lists a
/// `linkedValue` activated. An item that matches nothing yields `Err(allowed values)`.
pub fn resolve_items(
    h: &HeaderDef,
    items: &[String],
    active: Option<&[String]>,
    dict: &Dictionary,
) -> Vec<Result<Resolved, Vec<String>>> {
    items
        .iter()
        .map(|item| resolve_one(h, item, active, dict))
        .collect()
}

fn resolve_one(
    h: &HeaderDef,
    item: &str,
    active: Option<&[String]>,
    dict: &Dictionary,
) -> Result<Resolved, Vec<String>> {
    let mut allowed = Vec::new();
    match &h.body {
        HeaderBody::Sets(lists) | HeaderBody::Multisets(lists) => {
            for list in lists {
                let on = active.is_none_or(|a| list.id.as_ref().is_some_and(|id| a.contains(id)));
                if !on {
                    continue;
                }
                if let Some(r) = match_list(list, item, dict, &mut allowed) {
                    return Ok(r);
                }
            }
        }
        HeaderBody::Compstrings(comps) => {
            for (pos, c) in comps.iter().enumerate() {
                if let Some(r) = match_comp(c, item, pos as u32, dict, &mut allowed) {
                    return Ok(r);
                }
            }
        }
        HeaderBody::String(s) => {
            if let Some(r) = match_string(s, item, 0, dict, &mut allowed) {
                return Ok(r);
            }
        }
        HeaderBody::Empty => return Ok(free(item)),
    }
    Err(allowed)
}

fn free(item: &str) -> Resolved {
    Resolved {
        content: item.to_owned(),
        technical: None,
        id: None,
        rank: None,
        links: Vec::new(),
        list: None,
        free: true,
    }
}

fn match_list(
    list: &ValueList,
    item: &str,
    dict: &Dictionary,
    allowed: &mut Vec<String>,
) -> Option<Resolved> {
    for (pos, it) in list.items.iter().enumerate() {
        let found = match it {
            Item::String(s) => match_string(s, item, pos as u32, dict, allowed),
            Item::Compstring(c) => match_comp(c, item, pos as u32, dict, allowed),
        };
        if let Some(mut r) = found {
            r.list = list.id.clone();
            return Some(r);
        }
    }
    None
}

/// True when `item` names this value: its content, its id, or its label in any locale.
fn names(
    s_content: &str,
    id: Option<&str>,
    ilk: Option<&str>,
    item: &str,
    dict: &Dictionary,
) -> bool {
    if s_content.eq_ignore_ascii_case(item) || id.is_some_and(|i| i == item) {
        return true;
    }
    ilk.is_some_and(|ilk| {
        ilk.eq_ignore_ascii_case(item)
            || dict
                .langs()
                .any(|l| dict.label(ilk, l).eq_ignore_ascii_case(item))
    })
}

fn match_string(
    s: &StringValue,
    item: &str,
    pos: u32,
    dict: &Dictionary,
    allowed: &mut Vec<String>,
) -> Option<Resolved> {
    match &s.content {
        Some(c) => {
            allowed.push(c.clone());
            names(c, s.id.as_deref(), s.ilk.as_deref(), item, dict).then(|| Resolved {
                content: c.clone(),
                technical: s.technical_content.clone(),
                id: s.id.clone(),
                rank: Some(s.index.unwrap_or(pos)),
                links: s.links.clone(),
                list: None,
                free: false,
            })
        }
        None if s.editable => {
            allowed.push("(free text)".to_owned());
            Some(Resolved {
                id: s.id.clone(),
                ..free(item)
            })
        }
        None => None,
    }
}

/// A compstring item: `master<sep>child`, or `child<sep>master` with `contentPositionEnd`; the
/// bare master when the child is optional.
fn match_comp(
    c: &Comp,
    item: &str,
    pos: u32,
    dict: &Dictionary,
    allowed: &mut Vec<String>,
) -> Option<Resolved> {
    let master = c.content.clone().unwrap_or_default();
    let sep = c.facets.separator.clone().unwrap_or_else(|| ",".to_owned());
    allowed.push(if c.position_end {
        format!("...{sep}{master}")
    } else {
        format!("{master}{sep}...")
    });
    let base = Resolved {
        content: master.clone(),
        technical: c.technical_content.clone(),
        id: c.id.clone(),
        rank: Some(c.index.unwrap_or(pos)),
        links: Vec::new(),
        list: None,
        free: false,
    };
    if !master.is_empty()
        && names(&master, c.id.as_deref(), c.ilk.as_deref(), item, dict)
        && !c.require_child
    {
        return Some(base);
    }
    let child = if c.position_end {
        strip_suffix_ci(item, &format!("{sep}{master}"))
    } else {
        strip_prefix_ci(item, &format!("{master}{sep}"))
    }?;
    let child = child.trim();
    if child.is_empty() {
        return None;
    }
    let mut sink = Vec::new();
    let child_r = match &c.child {
        CompChild::None => None,
        CompChild::String(s) => match_string(s, child, 0, dict, &mut sink),
        CompChild::List(l) => match_list(l, child, dict, &mut sink),
        CompChild::Nested(cs) => cs
            .iter()
            .enumerate()
            .find_map(|(i, n)| match_comp(n, child, i as u32, dict, &mut sink)),
    }?;
    let tsep = c
        .facets
        .technical_separator
        .clone()
        .unwrap_or_else(|| ",".to_owned());
    let technical = match (&c.technical_content, &child_r.technical) {
        (Some(m), Some(t)) => Some(format!("{m}{tsep}{t}")),
        (Some(m), None) => Some(m.clone()),
        (None, t) => t.clone(),
    };
    let content = if c.position_end {
        format!("{}{sep}{master}", child_r.content)
    } else {
        format!("{master}{sep}{}", child_r.content)
    };
    Some(Resolved {
        content,
        technical,
        ..base
    })
}

fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

fn strip_suffix_ci<'a>(s: &'a str, suffix: &str) -> Option<&'a str> {
    let at = s.len().checked_sub(suffix.len())?;
    let tail = s.get(at..)?;
    tail.eq_ignore_ascii_case(suffix).then(|| &s[..at])
}
