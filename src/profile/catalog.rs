//! Catalogs (`ximfmail-profile.xml`, spec §1.1) and how their file names resolve.
//!
//! A catalog has no namespace and no schema. Trustedbird reads the first `theme` and, for each
//! `instance`, the first descendant named `schema`, `dictionary`, `ihm` and `rule`; we do the
//! same (taking every `rule`, since we accept several rules files). The `directory` attribute is
//! written relative to Thunderbird's `extensions/` folder (`{GUID}/chrome/content/Amoco/`), so it
//! is resolved against the catalog's own directory by [`candidates`].

use super::compile::{self, FileSet, Identity};
use super::parse;
use super::source::{Source, confined};
use super::xml::{self, Document, Element};
use super::{Catalog, Diagnostic, Instance, InstanceRef, LoadError, Profile};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Where a file named by a catalog entry may be, in the order of spec §1.1: (1) below the
/// catalog's directory with the leading `{...}/chrome/content/` of `directory` stripped;
/// (2) below the catalog's directory with `directory` as is; (3) the bare file name next to the
/// catalog. Duplicates are removed.
///
/// # Errors
///
/// A message when `directory` or `file` is absolute or climbs out with `..`: a profile must not
/// make us read files outside its own tree.
pub fn candidates(catalog_dir: &Path, directory: &str, file: &str) -> Result<Vec<PathBuf>, String> {
    let file_rel = confined(file)?;
    let dir_rel = confined(directory)?;
    let mut out = Vec::new();
    if let Some(stripped) = strip_addon_prefix(directory) {
        out.push(catalog_dir.join(confined(stripped)?).join(&file_rel));
    }
    out.push(catalog_dir.join(dir_rel).join(&file_rel));
    if let Some(name) = file_rel.file_name() {
        out.push(catalog_dir.join(name));
    }
    let mut seen = HashSet::new();
    out.retain(|p| seen.insert(p.clone()));
    Ok(out)
}

/// `{E255643F-...}/chrome/content/AmocoCorporation/` → `AmocoCorporation/`.
fn strip_addon_prefix(directory: &str) -> Option<&str> {
    let rest = directory.strip_prefix('{')?;
    let close = rest.find('}')?;
    let rest = &rest[close + 1..];
    rest.strip_prefix("/chrome/content/")
        .or_else(|| rest.strip_prefix("\\chrome\\content\\"))
}

/// Loads a catalog or a single instance file.
pub(crate) fn load_file(
    source: Source,
    path: &Path,
    record_path: bool,
) -> Result<Profile, LoadError> {
    load_file_only(source, path, record_path, &|_| true)
}

/// [`load_file`], compiling only the catalog entries `keep` selects; the others are left out of
/// [`Profile::instances`] without a diagnostic. (A single instance file is always compiled.)
pub(crate) fn load_file_only(
    source: Source,
    path: &Path,
    record_path: bool,
    keep: &dyn Fn(&InstanceRef) -> bool,
) -> Result<Profile, LoadError> {
    let doc = parse::read_doc(source, path)?;
    let root = &doc.root;
    if root.local == "profile" {
        return Ok(load_catalog(source, path, &doc, record_path, keep));
    }
    if root.local == "instance" && (root.is_ximf() || root.ns == xml::Ns::None) {
        return Ok(load_single(
            source,
            path,
            &doc,
            FileSet::default(),
            Vec::new(),
        ));
    }
    Err(LoadError::new(
        "wrong-root",
        root.loc.clone(),
        format!(
            "<{}> is neither an XIMF catalog (<profile>) nor an instance (<ximf:instance>)",
            root.qname
        ),
    ))
}

/// Loads `headers` as an instance together with its same-suffix siblings
/// (`headers-x.xml` → `dictionary-x.xml`, `ihm-x.xml`, `rules-x.xml`).
pub(crate) fn load_instance_dir(source: Source, headers: &Path) -> Result<Profile, LoadError> {
    let doc = parse::read_doc(source, headers)?;
    let root = &doc.root;
    if root.local != "instance" {
        return Err(LoadError::new(
            "wrong-root",
            root.loc.clone(),
            format!("expected ximf:instance, found <{}>", root.qname),
        ));
    }
    let name = headers
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let suffix = name.strip_prefix("headers-").unwrap_or(name);
    let dir = headers.parent().unwrap_or(Path::new(""));
    let mut diags = Vec::new();
    let mut sibling = |prefix: &str| {
        let p = dir.join(format!("{prefix}{suffix}"));
        if !source.is_file(&p) {
            return None;
        }
        // Found by name, not written in a profile, but the same escape as a ref's: a link in
        // the directory must not make us read (and quote in diagnostics) a file elsewhere.
        if let Some(real) = source.escapes(dir, &p) {
            diags.push(Diagnostic::error(
                xml::file_location(&p),
                "path-escape",
                format!(
                    "{} resolves to {} through a symbolic link, outside the instance's directory",
                    p.display(),
                    real.display()
                ),
            ));
            return None;
        }
        Some(p)
    };
    let siblings = FileSet {
        headers: headers.to_path_buf(),
        dictionary: sibling("dictionary-"),
        ihm: sibling("ihm-"),
        rules: sibling("rules-").into_iter().collect(),
    };
    Ok(load_single(source, headers, &doc, siblings, diags))
}

/// A single instance file becomes a catalog of one, named after the root's `@name`. `diags`
/// holds what was found while looking for its files.
fn load_single(
    source: Source,
    path: &Path,
    doc: &Document,
    mut files: FileSet,
    mut diags: Vec<Diagnostic>,
) -> Profile {
    let root = &doc.root;
    let file_name = |p: &Option<PathBuf>| {
        p.as_ref()
            .and_then(|p| p.file_name())
            .map(|n| n.to_string_lossy().into_owned())
    };
    let name = root.attr("name").map_or_else(
        || {
            path.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default()
        },
        |n| n.trim().to_owned(),
    );
    files.headers = path.to_path_buf();
    let iref = InstanceRef {
        id: name.clone(),
        name: name.clone(),
        label: None,
        ximf_version: root.attr("ximfVersion").unwrap_or("2.0").trim().to_owned(),
        version: root.attr("version").unwrap_or_default().trim().to_owned(),
        author: root.attr("author").map(str::to_owned),
        directory: String::new(),
        headers: file_name(&Some(path.to_path_buf())),
        dictionary: file_name(&files.dictionary),
        ihm: file_name(&files.ihm),
        rules: files
            .rules
            .iter()
            .filter_map(|p| file_name(&Some(p.clone())))
            .collect(),
        acl: None,
        plain: name.eq_ignore_ascii_case("smtp"),
        location: root.loc.clone(),
    };
    let identity = Identity {
        name: iref.name.clone(),
        version: iref.version.clone(),
        ximf_version: iref.ximf_version.clone(),
        plain: iref.plain,
    };
    let mut budget = compile::Budget::default();
    let instances = compile::compile(source, &files, &identity, &mut budget, &mut diags)
        .into_iter()
        .collect();
    Profile {
        catalog: Catalog {
            path: Some(path.to_path_buf()),
            theme: String::new(),
            default_acl: None,
            instances: vec![iref],
        },
        instances,
        diagnostics: finish(diags),
    }
}

fn load_catalog(
    source: Source,
    path: &Path,
    doc: &Document,
    record_path: bool,
    keep: &dyn Fn(&InstanceRef) -> bool,
) -> Profile {
    let mut diags = Vec::new();
    if doc.had_bom {
        diags.push(Diagnostic::warning(
            xml::file_location(path),
            "bom",
            "file starts with a UTF-8 byte order mark (ignored)",
        ));
    }
    let mut catalog = parse_catalog(doc, &mut diags);
    if record_path {
        catalog.path = Some(path.to_path_buf());
    }
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut instances = Vec::new();
    // One value budget for the whole catalog: instances naming the same big files count each
    // time, so a catalog cannot multiply a file past the limit either.
    let mut budget = compile::Budget::default();
    for iref in catalog.instances.iter().filter(|i| keep(i)) {
        let identity = Identity {
            name: iref.name.clone(),
            version: iref.version.clone(),
            ximf_version: iref.ximf_version.clone(),
            plain: iref.plain,
        };
        if iref.plain {
            // The plain-message entry has no files (spec §1.11 item 2) and stamps nothing.
            instances.push(Instance {
                name: identity.name,
                version: identity.version,
                ximf_version: identity.ximf_version,
                plain: true,
                ..Instance::default()
            });
            continue;
        }
        if budget.refused() {
            diags.push(Diagnostic::error(
                iref.location.clone(),
                compile::EXPANSION_LIMIT,
                format!(
                    "instance {:?} not loaded: the profile reached its limit of {} values",
                    iref.name,
                    compile::MAX_MODEL_VALUES
                ),
            ));
            continue;
        }
        let Some(headers_file) = &iref.headers else {
            diags.push(Diagnostic::error(
                iref.location.clone(),
                "missing-file",
                format!("instance {:?} names no headers (schema) file", iref.name),
            ));
            continue;
        };
        let mut resolve =
            |file: &str| -> Option<PathBuf> { resolve_file(source, dir, iref, file, &mut diags) };
        let Some(headers) = resolve(headers_file) else {
            continue;
        };
        let files = FileSet {
            headers,
            dictionary: iref.dictionary.as_deref().and_then(&mut resolve),
            ihm: iref.ihm.as_deref().and_then(&mut resolve),
            rules: iref.rules.iter().filter_map(|r| resolve(r)).collect(),
        };
        if let Some(inst) = compile::compile(source, &files, &identity, &mut budget, &mut diags) {
            instances.push(inst);
        }
    }
    if catalog.instances.is_empty() {
        diags.push(Diagnostic::error(
            doc.root.loc.clone(),
            "no-instance",
            "catalog declares no instance",
        ));
    }
    Profile {
        catalog,
        instances,
        diagnostics: finish(diags),
    }
}

fn resolve_file(
    source: Source,
    dir: &Path,
    iref: &InstanceRef,
    file: &str,
    diags: &mut Vec<Diagnostic>,
) -> Option<PathBuf> {
    let tried = match candidates(dir, &iref.directory, file) {
        Ok(c) => c,
        Err(msg) => {
            diags.push(Diagnostic::error(
                iref.location.clone(),
                "path-escape",
                format!("instance {:?}: {msg}", iref.name),
            ));
            return None;
        }
    };
    if let Some(found) = tried.iter().find(|p| source.is_file(p)) {
        if let Some(real) = source.escapes(dir, found) {
            diags.push(Diagnostic::error(
                iref.location.clone(),
                "path-escape",
                format!(
                    "instance {:?}: file {file:?} resolves to {} through a symbolic link, outside the catalog's directory",
                    iref.name,
                    real.display()
                ),
            ));
            return None;
        }
        return Some(found.clone());
    }
    let list: Vec<String> = tried.iter().map(|p| p.display().to_string()).collect();
    diags.push(Diagnostic::error(
        iref.location.clone(),
        "missing-file",
        format!(
            "instance {:?}: file {file:?} not found (looked for {})",
            iref.name,
            list.join(", ")
        ),
    ));
    None
}

/// Removes repeated diagnostics (a list file shared by two instances is read twice) and orders
/// them by file, line and column.
pub(crate) fn finish(diags: Vec<Diagnostic>) -> Vec<Diagnostic> {
    let mut seen = HashSet::new();
    let mut out: Vec<Diagnostic> = diags
        .into_iter()
        .filter(|d| {
            seen.insert((
                d.location.path.clone(),
                d.location.line,
                d.location.col,
                d.code,
                d.message.clone(),
            ))
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.location.path, a.location.line, a.location.col).cmp(&(
            &b.location.path,
            b.location.line,
            b.location.col,
        ))
    });
    out
}

fn unknown_attrs(el: &Element, allowed: &[&str], diags: &mut Vec<Diagnostic>) {
    for a in &el.attrs {
        if !a.is_infrastructure() && !allowed.contains(&a.local.as_str()) {
            diags.push(Diagnostic::warning(
                a.loc.clone(),
                "unknown-attribute",
                format!("unknown attribute {} on <{}> (ignored)", a.qname, el.qname),
            ));
        }
    }
}

fn parse_catalog(doc: &Document, diags: &mut Vec<Diagnostic>) -> Catalog {
    let root = &doc.root;
    let mut catalog = Catalog::default();
    let mut themes = Vec::new();
    root.descendants_named("theme", &mut themes);
    let Some(theme) = themes.first() else {
        return catalog;
    };
    for extra in themes.iter().skip(1) {
        diags.push(Diagnostic::warning(
            extra.loc.clone(),
            "ignored-element",
            "only the first theme of a catalog is read",
        ));
    }
    unknown_attrs(theme, &["name", "defaultacl"], diags);
    catalog.theme = theme.attr("name").unwrap_or_default().to_owned();
    catalog.default_acl = int_attr(theme, "defaultacl", diags);
    let mut names = HashSet::new();
    for el in &theme.children {
        if el.local != "instance" {
            diags.push(Diagnostic::warning(
                el.loc.clone(),
                "unknown-element",
                format!("unknown element <{}> in theme (ignored)", el.qname),
            ));
            continue;
        }
        let Some(iref) = instance_ref(el, diags) else {
            continue;
        };
        if !names.insert(iref.name.to_ascii_lowercase()) {
            // Received mail is matched by name only, so two entries with one name are ambiguous.
            diags.push(Diagnostic::error(
                iref.location.clone(),
                "duplicate-instance",
                format!("instance name {:?} is declared twice", iref.name),
            ));
            continue;
        }
        catalog.instances.push(iref);
    }
    catalog
}

fn int_attr(el: &Element, name: &str, diags: &mut Vec<Diagnostic>) -> Option<i64> {
    let a = el.attr_node(name)?;
    match a.value.trim().parse::<i64>() {
        Ok(v) => Some(v),
        Err(_) => {
            diags.push(Diagnostic::error(
                a.loc.clone(),
                "bad-attribute-value",
                format!("{name}={:?} is not an integer", a.value),
            ));
            None
        }
    }
}

fn instance_ref(el: &Element, diags: &mut Vec<Diagnostic>) -> Option<InstanceRef> {
    unknown_attrs(
        el,
        &[
            "id",
            "name",
            "ximfVersion",
            "version",
            "label",
            "directory",
            "author",
        ],
        diags,
    );
    let attr = |n: &str| el.attr(n).map(|v| v.trim().to_owned());
    let id = attr("id").unwrap_or_default();
    let name = match attr("name") {
        Some(n) if !n.is_empty() => n,
        _ if !id.is_empty() => {
            diags.push(Diagnostic::warning(
                el.loc.clone(),
                "missing-attribute",
                format!("instance lacks name; using its id {id:?}"),
            ));
            id.clone()
        }
        _ => {
            diags.push(Diagnostic::error(
                el.loc.clone(),
                "missing-attribute",
                "instance has neither name nor id (ignored)",
            ));
            return None;
        }
    };
    let ximf_version = attr("ximfVersion").unwrap_or_else(|| {
        diags.push(Diagnostic::warning(
            el.loc.clone(),
            "missing-attribute",
            format!("instance {name:?} lacks ximfVersion; using 2.0"),
        ));
        "2.0".to_owned()
    });
    if ximf_version != "2.0" {
        diags.push(Diagnostic::warning(
            el.loc.clone(),
            "ximf-version",
            format!("instance {name:?} has ximfVersion {ximf_version:?}; reading it as XIMF 2.0"),
        ));
    }
    let version = attr("version").unwrap_or_else(|| {
        diags.push(Diagnostic::warning(
            el.loc.clone(),
            "missing-attribute",
            format!("instance {name:?} lacks version"),
        ));
        String::new()
    });
    for c in &el.children {
        if !matches!(
            c.local.as_str(),
            "schema" | "dictionary" | "ihm" | "rule" | "acl"
        ) {
            diags.push(Diagnostic::warning(
                c.loc.clone(),
                "unknown-element",
                format!("unknown element <{}> in instance (ignored)", c.qname),
            ));
        }
    }
    let text = |n: &str| {
        el.first_descendant(n)
            .map(|c| c.trimmed_text().to_owned())
            .filter(|t| !t.is_empty())
    };
    let mut rules = Vec::new();
    el.descendants_named("rule", &mut rules);
    let acl = el.first_descendant("acl").and_then(|a| {
        let t = a.trimmed_text();
        match t.parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => {
                diags.push(Diagnostic::error(
                    a.loc.clone(),
                    "bad-attribute-value",
                    format!("acl {t:?} is not an integer"),
                ));
                None
            }
        }
    });
    let plain = id == "smtp" || name.eq_ignore_ascii_case("smtp");
    Some(InstanceRef {
        plain,
        label: attr("label"),
        author: attr("author"),
        directory: el.attr("directory").unwrap_or_default().to_owned(),
        headers: text("schema"),
        dictionary: text("dictionary"),
        ihm: text("ihm"),
        rules: rules
            .iter()
            .map(|r| r.trimmed_text().to_owned())
            .filter(|t| !t.is_empty())
            .collect(),
        acl,
        location: el.loc.clone(),
        id,
        name,
        ximf_version,
        version,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn directory_candidates_follow_spec_order() -> Result<(), String> {
        let c = candidates(
            Path::new("cat"),
            "{E255643F-7DCA-4cd8-B0C2-61EAADE39FCE}/chrome/content/Amoco/",
            "headers-amoco.xml",
        )?;
        assert_eq!(
            c,
            [
                PathBuf::from("cat/Amoco/headers-amoco.xml"),
                PathBuf::from(
                    "cat/{E255643F-7DCA-4cd8-B0C2-61EAADE39FCE}/chrome/content/Amoco/headers-amoco.xml"
                ),
                PathBuf::from("cat/headers-amoco.xml"),
            ]
        );
        assert_eq!(
            candidates(Path::new("cat"), "", "h.xml")?,
            [PathBuf::from("cat/h.xml")]
        );
        assert!(candidates(Path::new("cat"), "../up/", "h.xml").is_err());
        assert!(candidates(Path::new("cat"), "", "/etc/passwd").is_err());
        assert!(candidates(Path::new("cat"), "{X}/chrome/content/../../", "h.xml").is_err());
        Ok(())
    }
}
