//! The policy language → [`Model`]. Reads `cm:correspondence` elements from an instance's
//! `custom` rules (provider `urn:ximf:correspondence:1`) and from standalone `cm:model` files.
//! Parsing goes through the profile engine's bounded XML reader (no DTD, no entity expansion).

use super::{
    Clearances, Condition, CorrespondenceType, HeaderRequirement, Model, NAMESPACE, Protection,
    Recipients, Scoped, TimeWindow, Use,
};
use crate::error::{Error, Location, Result};
use crate::profile::xml::{self, Element, Ns};
use crate::profile::{Instance, RuleKind};
use std::path::{Path, PathBuf};

/// A standalone model file read: the catalog it names and, per instance name (none = every
/// instance), its model.
pub type ModelFile = (PathBuf, Vec<(Option<String>, Model)>);

/// The correspondence types of an instance, from its `custom` rules in document order.
/// `base` is where relative files (clearance lists) are resolved; none = the instance's files'
/// directories.
pub fn from_instance(instance: &Instance) -> Result<Model> {
    let mut model = Model::default();
    let dirs: Vec<PathBuf> = instance
        .files
        .iter()
        .filter_map(|f| f.parent().map(Path::to_path_buf))
        .collect();
    for rule in &instance.rules {
        for kind in &rule.kinds {
            let RuleKind::Custom { provider, raw, .. } = kind else {
                continue;
            };
            if provider != NAMESPACE {
                continue;
            }
            // The fragment may rely on a prefix declared higher up: bind `cm` by default.
            let wrapped = format!("<cm-fragment xmlns:cm=\"{NAMESPACE}\">{raw}</cm-fragment>");
            let path = rule.location.path.clone();
            let doc =
                xml::parse(&path, wrapped.as_bytes()).map_err(|e| shift(e, &rule.location))?;
            let origin = format!("rule {}", rule.id.as_deref().unwrap_or("-"));
            for el in doc.root.children.iter().filter(|c| is_cm(c)) {
                if el.local != "correspondence" {
                    return Err(at(
                        &rule.location,
                        format!("unexpected cm:{} in a custom rule", el.local),
                    ));
                }
                let mut t = correspondence(el, &dirs, &rule.location)?;
                t.agent = rule.agent.clone();
                t.origin = origin.clone();
                push(&mut model, t, &rule.location)?;
            }
        }
    }
    Ok(model)
}

/// A standalone model file: root `cm:model` with `@catalog` (a profile path relative to the file)
/// and optional `@instance`; each `cm:correspondence` may name its `@instance` too. Returns the
/// catalog path and, per instance name, its model.
pub fn model_file(path: &Path, bytes: &[u8]) -> Result<ModelFile> {
    let doc = xml::parse(path, bytes)?;
    let root = &doc.root;
    let loc = root.loc.clone();
    if !is_cm(root) || root.local != "model" {
        return Err(at(
            &loc,
            "not a correspondence model (root cm:model expected)",
        ));
    }
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let catalog = root
        .attr("catalog")
        .ok_or_else(|| at(&loc, "cm:model needs a catalog attribute"))?;
    // The administrator writes both files: the catalog may live anywhere (relative to the model).
    let catalog_path = dir.join(catalog.trim());
    let default_instance = root.attr("instance").map(str::to_owned);
    let mut out: Vec<(Option<String>, Model)> = Vec::new();
    for el in root.children.iter().filter(|c| is_cm(c)) {
        if el.local != "correspondence" {
            return Err(at(&el.loc, format!("unexpected cm:{}", el.local)));
        }
        let mut t = correspondence(el, std::slice::from_ref(&dir), &el.loc)?;
        t.agent = el.attr("agent").map(str::to_owned);
        t.origin = format!("{}", path.display());
        let inst = el
            .attr("instance")
            .map(str::to_owned)
            .or(default_instance.clone());
        match out.iter_mut().find(|(i, _)| *i == inst) {
            Some((_, m)) => push(m, t, &el.loc)?,
            None => {
                let mut m = Model::default();
                push(&mut m, t, &el.loc)?;
                out.push((inst, m));
            }
        }
    }
    Ok((catalog_path, out))
}

/// If `path` is a standalone model file (root `cm:model`), its catalog and models; else none.
pub fn sniff_model_file(path: &Path) -> Result<Option<ModelFile>> {
    if !path.is_file() {
        return Ok(None);
    }
    let bytes = std::fs::read(path).map_err(|source| Error::Input {
        path: path.to_owned(),
        source,
    })?;
    // Cheap sniff before a full parse: a model file declares the policy namespace and a model
    // element near the top.
    let head = String::from_utf8_lossy(&bytes[..bytes.len().min(4096)]).into_owned();
    if !(head.contains(NAMESPACE) && head.contains(":model")) {
        return Ok(None);
    }
    model_file(path, &bytes).map(Some)
}

fn push(model: &mut Model, t: CorrespondenceType, loc: &Location) -> Result<()> {
    if model.get(&t.name).is_some() {
        return Err(at(
            loc,
            format!("correspondence type '{}' is defined twice", t.name),
        ));
    }
    model.types.push(t);
    Ok(())
}

fn is_cm(el: &Element) -> bool {
    match &el.ns {
        Ns::Other(u) => u == NAMESPACE,
        Ns::Unbound(p) => p == "cm",
        _ => false,
    }
}

fn at(loc: &Location, msg: impl Into<String>) -> Error {
    Error::profile(loc.clone(), msg)
}

/// Errors inside a custom fragment are reported at the rule (the fragment was re-parsed alone).
fn shift(e: Error, loc: &Location) -> Error {
    match e {
        Error::Profile { message, .. } => {
            at(loc, format!("in the correspondence policy: {message}"))
        }
        other => other,
    }
}

fn list(v: Option<&str>) -> Vec<String> {
    v.map(|s| s.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn number<T: std::str::FromStr>(el: &Element, name: &str) -> Result<Option<T>> {
    match el.attr(name) {
        None => Ok(None),
        Some(v) => v.trim().parse().map(Some).map_err(|_| {
            at(
                &el.loc,
                format!("cm:{} @{name}: '{v}' is not a number", el.local),
            )
        }),
    }
}

fn scoped<T>(el: &Element, value: T) -> Scoped<T> {
    Scoped {
        agent: el.attr("agent").map(|a| a.trim().to_owned()),
        value,
    }
}

fn correspondence(el: &Element, dirs: &[PathBuf], loc: &Location) -> Result<CorrespondenceType> {
    let name = el
        .attr("name")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| at(&el.loc, "cm:correspondence needs a name"))?;
    let usage = el
        .attr("usage")
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| at(&el.loc, format!("cm:correspondence '{name}' needs a usage")))?;
    if !name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
    {
        return Err(at(
            &el.loc,
            format!("correspondence name '{name}' must be a token (letters, digits, - _ .)"),
        ));
    }
    let mut t = CorrespondenceType {
        name: name.to_owned(),
        usage: usage.to_owned(),
        agent: None,
        origin: String::new(),
        when: Vec::new(),
        sign: None,
        encrypt: None,
        label_from: None,
        max_size: None,
        recipients: None,
        clearances: None,
        archive: None,
        privacy: None,
        headers: Vec::new(),
    };
    for c in el.children.iter().filter(|c| is_cm(c)) {
        match c.local.as_str() {
            "when" => t.when.push(condition(c)?),
            "sign" => t.sign = Some(scoped(c, protection(c, "digest")?)),
            "encrypt" => t.encrypt = Some(scoped(c, protection(c, "cipher")?)),
            "label" => {
                t.label_from = Some(
                    c.attr("from-header")
                        .unwrap_or("X-XIMF-Security-Classification")
                        .trim()
                        .to_owned(),
                )
            }
            "max-size" => {
                let bytes = number::<u64>(c, "bytes")?
                    .ok_or_else(|| at(&c.loc, "cm:max-size needs bytes"))?;
                t.max_size = Some(scoped(c, bytes));
            }
            "recipients" => {
                t.recipients = Some(scoped(
                    c,
                    Recipients {
                        allow_domains: list(c.attr("allow-domains")),
                        deny_domains: list(c.attr("deny-domains")),
                        max: number(c, "max")?,
                    },
                ))
            }
            "need-to-know" => t.clearances = Some(scoped(c, clearances(c, dirs)?)),
            "archive" => {
                let a = c
                    .attr("address")
                    .map(str::trim)
                    .filter(|a| a.contains('@'))
                    .ok_or_else(|| at(&c.loc, "cm:archive needs an address"))?;
                t.archive = Some(scoped(c, a.to_owned()));
            }
            "privacy" => t.privacy = Some(scoped(c, ())),
            "header" => {
                let name = c
                    .attr("name")
                    .map(str::trim)
                    .filter(|n| !n.is_empty())
                    .ok_or_else(|| at(&c.loc, "cm:header needs a name"))?;
                t.headers.push(scoped(
                    c,
                    HeaderRequirement {
                        name: name.to_owned(),
                        values: list(c.attr("values")),
                    },
                ));
            }
            other => {
                return Err(at(
                    &c.loc,
                    format!("unknown element cm:{other} in correspondence '{}'", t.name),
                ));
            }
        }
    }
    let _ = loc;
    Ok(t)
}

fn protection(el: &Element, algo_attr: &str) -> Result<Protection> {
    let r#use = match el.attr("use").map(str::trim).unwrap_or("required") {
        "required" => Use::Required,
        "optional" => Use::Optional,
        "forbidden" => Use::Forbidden,
        other => {
            return Err(at(
                &el.loc,
                format!(
                    "cm:{} @use: '{other}' (required, optional or forbidden)",
                    el.local
                ),
            ));
        }
    };
    let mechanisms = list(el.attr("mechanism"));
    if let Some(m) = mechanisms.iter().find(|m| *m != "smime" && *m != "openpgp") {
        return Err(at(&el.loc, format!("mechanism '{m}' (smime or openpgp)")));
    }
    Ok(Protection {
        r#use,
        mechanisms,
        algorithms: list(el.attr(algo_attr)),
        min_rsa_bits: number(el, "min-rsa-bits")?,
        header_protection: el.attr("header-protection").map(|s| s.trim().to_owned()),
        secure_headers: list(el.attr("secure-headers")),
    })
}

/// `cm:when`: `in` / `not-in` value lists, or for `context="time"` a window
/// (`days="mon-fri"`, `from="08:00"`, `to="18:00"`, `tz="+01:00"`).
fn condition(el: &Element) -> Result<Condition> {
    let key = el
        .attr("context")
        .map(|k| k.trim().to_ascii_lowercase())
        .filter(|k| !k.is_empty())
        .ok_or_else(|| at(&el.loc, "cm:when needs a context"))?;
    let has_window = ["days", "from", "to", "tz"]
        .iter()
        .any(|a| el.attr(a).is_some());
    let window = if has_window {
        let minutes = |a: &str, default: u32| -> Result<u32> {
            match el.attr(a) {
                None => Ok(default),
                Some(v) => parse_hhmm(v)
                    .ok_or_else(|| at(&el.loc, format!("cm:when @{a}: '{v}' is not HH:MM"))),
            }
        };
        Some(TimeWindow {
            days: match el.attr("days") {
                None => (0..7).collect(),
                Some(d) => parse_days(d).ok_or_else(|| {
                    at(
                        &el.loc,
                        format!("cm:when @days: '{d}' (e.g. mon-fri or sat sun)"),
                    )
                })?,
            },
            from: minutes("from", 0)?,
            to: minutes("to", 24 * 60)?,
            offset_minutes: match el.attr("tz") {
                None => 0,
                Some(z) => parse_offset(z).ok_or_else(|| {
                    at(
                        &el.loc,
                        format!("cm:when @tz: '{z}' (UTC or an offset such as +01:00)"),
                    )
                })?,
            },
        })
    } else {
        None
    };
    let any_of = list(el.attr("in"));
    let none_of = list(el.attr("not-in"));
    if window.is_none() && any_of.is_empty() && none_of.is_empty() {
        return Err(at(
            &el.loc,
            format!("cm:when context=\"{key}\" says nothing (in, not-in or a time window)"),
        ));
    }
    Ok(Condition {
        key,
        any_of,
        none_of,
        window,
    })
}

fn parse_hhmm(v: &str) -> Option<u32> {
    let (h, m) = v.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

fn parse_days(v: &str) -> Option<Vec<u8>> {
    let day = |s: &str| {
        DAY_NAMES
            .iter()
            .position(|d| d.eq_ignore_ascii_case(s.trim()))
            .map(|p| p as u8)
    };
    let mut out = Vec::new();
    for part in v.split([' ', ',']).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b) = (day(a)?, day(b)?);
                let mut d = a;
                loop {
                    out.push(d);
                    if d == b {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => out.push(day(part)?),
        }
    }
    (!out.is_empty()).then_some(out)
}

/// A fixed offset: `UTC`, `Z`, `+01:00`, `-0500`. Named zones would need a tz database; the
/// schema documents offsets only.
pub fn parse_offset(z: &str) -> Option<i32> {
    let z = z.trim();
    if z.eq_ignore_ascii_case("utc") || z.eq_ignore_ascii_case("z") || z.eq_ignore_ascii_case("gmt")
    {
        return Some(0);
    }
    let sign = match z.as_bytes().first()? {
        b'+' => 1,
        b'-' => -1,
        _ => return None,
    };
    let digits: String = z[1..].chars().filter(|c| *c != ':').collect();
    if digits.len() != 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (i32, i32) = (digits[..2].parse().ok()?, digits[2..].parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 60 + m))
}

/// A clearance list: inline `cm:clearance` children and/or a `clearances` file of the same shape
/// (root `cm:clearances`), entries `address="a@b"` or `domain="b"`, `level="N"`.
fn clearances(el: &Element, dirs: &[PathBuf]) -> Result<Clearances> {
    let mut c = Clearances {
        header: el
            .attr("header")
            .unwrap_or("X-XIMF-Security-Classification")
            .trim()
            .to_owned(),
        entries: Vec::new(),
    };
    read_entries(el, &mut c)?;
    if let Some(file) = el.attr("clearances") {
        let path = dirs
            .iter()
            .filter_map(|d| safe_join(d, file))
            .find(|p| p.is_file())
            .ok_or_else(|| {
                at(
                    &el.loc,
                    format!("clearance list '{file}' not found next to the profile"),
                )
            })?;
        let bytes =
            std::fs::read(&path).map_err(|e| at(&el.loc, format!("{}: {e}", path.display())))?;
        let doc = xml::parse(&path, &bytes)?;
        if !is_cm(&doc.root) || doc.root.local != "clearances" {
            return Err(at(
                &doc.root.loc,
                "not a clearance list (root cm:clearances expected)",
            ));
        }
        read_entries(&doc.root, &mut c)?;
    }
    Ok(c)
}

fn read_entries(el: &Element, c: &mut Clearances) -> Result<()> {
    for e in el
        .children
        .iter()
        .filter(|x| is_cm(x) && x.local == "clearance")
    {
        let level =
            number::<u32>(e, "level")?.ok_or_else(|| at(&e.loc, "cm:clearance needs a level"))?;
        let who = match (e.attr("address"), e.attr("domain")) {
            (Some(a), None) => a.trim().to_ascii_lowercase(),
            (None, Some(d)) => format!("@{}", d.trim().to_ascii_lowercase()),
            _ => {
                return Err(at(
                    &e.loc,
                    "cm:clearance needs exactly one of address or domain",
                ));
            }
        };
        c.entries.push((who, level));
    }
    Ok(())
}

/// `dir/rel` when `rel` is relative and stays inside `dir`.
fn safe_join(dir: &Path, rel: &str) -> Option<PathBuf> {
    let p = Path::new(rel.trim());
    let inside = p.components().all(|c| {
        matches!(
            c,
            std::path::Component::Normal(_) | std::path::Component::CurDir
        )
    });
    inside.then(|| dir.join(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_times() {
        assert_eq!(parse_days("mon-fri"), Some(vec![0, 1, 2, 3, 4]));
        assert_eq!(parse_days("sat sun"), Some(vec![5, 6]));
        assert_eq!(parse_days("fri-mon"), Some(vec![4, 5, 6, 0]));
        assert_eq!(parse_days("funday"), None);
        assert_eq!(parse_hhmm("08:30"), Some(510));
        assert_eq!(parse_hhmm("24:00"), Some(1440));
        assert_eq!(parse_hhmm("25:00"), None);
        assert_eq!(parse_offset("+01:00"), Some(60));
        assert_eq!(parse_offset("-0530"), Some(-330));
        assert_eq!(parse_offset("UTC"), Some(0));
        assert_eq!(parse_offset("Europe/Paris"), None);
    }

    #[test]
    fn safe_join_refuses_escapes() {
        assert!(safe_join(Path::new("/p"), "c.xml").is_some());
        assert!(safe_join(Path::new("/p"), "../c.xml").is_none());
        assert!(safe_join(Path::new("/p"), "/etc/passwd").is_none());
    }
}
