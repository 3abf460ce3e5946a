//! XIMF profiles: loading, compiling and linting (spec Part A).
//!
//! A profile reaches us as one of three shapes, all handled by [`load`]:
//!
//! - a Trustedbird catalog (`ximfmail-profile.xml`, root `profile`) naming instances, each
//!   split over four files (headers, dictionary, ihm, rules) that are merged into one
//!   [`Instance`] (spec §1.1–§1.2);
//! - a single XIMF instance file (root `ximf:instance`), which becomes a catalog of one;
//! - a directory holding either of the above.
//!
//! The field writes these files loosely (BOM, CRLF, undeclared elements, missing required
//! attributes, `set ref` naming a file). We load all of that and record each deviation as a
//! [`Diagnostic`] of severity [`Severity::Warning`]; things that change the meaning of the profile
//! (dangling references, duplicate ids, unparsable referenced files) are
//! [`Severity::Error`] diagnostics. Only a top-level file that cannot be read or parsed at all is
//! an [`Error::Profile`] (exit 78).
//!
//! Layout: `xml` reads a file into a bounded tree with line:col; `source` abstracts disk versus
//! the built-in files; `parse` turns trees into model pieces; `catalog` resolves a catalog's
//! files; `compile` merges an instance and checks its cross-references; `lint` renders it all.

pub mod catalog;
mod compile;
pub mod lint;
pub mod model;
pub mod parse;
mod source;
pub(crate) mod xml;

pub use model::*;

use crate::error::{Error, Location};
use serde::{Serialize, Serializer};
use source::Source;
use std::path::{Path, PathBuf};

/// How bad a [`Diagnostic`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The profile is broken: a reference dangles, an id repeats, a file cannot be read.
    Error,
    /// The profile deviates from the XIMF 2.0 schema but ximf reads it unambiguously.
    Warning,
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// A diagnostic from loading or linting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Diagnostic {
    /// Error or warning.
    pub severity: Severity,
    /// Where (file, 1-based line and column).
    #[serde(serialize_with = "serialize_location")]
    pub location: Location,
    /// A stable kebab-case code (`dangling-ref`, `missing-attribute`, ...), listed in the README.
    pub code: &'static str,
    /// What is wrong, in English.
    pub message: String,
}

impl Diagnostic {
    /// A warning.
    pub fn warning(location: Location, code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Warning,
            location,
            code,
            message: message.into(),
        }
    }

    /// An error.
    pub fn error(location: Location, code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic {
            severity: Severity::Error,
            location,
            code,
            message: message.into(),
        }
    }

    /// True for [`Severity::Error`].
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&lint::render(self))
    }
}

/// `Location` lives in `error.rs` without serde; JSON output wants `{path, line, col}`.
fn serialize_location<S: Serializer>(loc: &Location, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct Loc<'a> {
        path: std::borrow::Cow<'a, str>,
        line: u32,
        col: u32,
    }
    Loc {
        path: loc.path.to_string_lossy(),
        line: loc.line,
        col: loc.col,
    }
    .serialize(s)
}

/// A loaded profile: a catalog and its compiled instances.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Profile {
    /// The catalog (synthesised with one entry when a single instance file was loaded).
    pub catalog: Catalog,
    /// The compiled instances, in catalog order. An entry whose headers file cannot be read or
    /// parsed is left out; an error diagnostic says why.
    pub instances: Vec<Instance>,
    /// Everything noticed while loading, warnings and errors, ordered by file, line, column.
    pub diagnostics: Vec<Diagnostic>,
}

impl Profile {
    /// The instance whose wire name (`X-XIMF-NAME`) is `name`, compared case-insensitively after
    /// trimming, as Trustedbird matches received mail (spec §0.1).
    pub fn instance(&self, name: &str) -> Option<&Instance> {
        let name = name.trim();
        self.instances
            .iter()
            .find(|i| i.name.trim().eq_ignore_ascii_case(name))
    }

    /// The first instance that is not the plain `smtp` entry, else the first instance.
    pub fn default_instance(&self) -> Option<&Instance> {
        self.instances
            .iter()
            .find(|i| !i.plain)
            .or_else(|| self.instances.first())
    }

    /// The instance names, comma-separated, for messages that list what is known.
    pub fn names(&self) -> String {
        self.instances
            .iter()
            .map(|i| i.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// True when any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// A failure to load anything usable, with the diagnostic code lint reports for it.
#[derive(Debug)]
pub(crate) struct LoadError {
    pub code: &'static str,
    pub location: Location,
    pub message: String,
}

impl LoadError {
    pub(crate) fn new(code: &'static str, location: Location, message: impl Into<String>) -> Self {
        LoadError {
            code,
            location,
            message: message.into(),
        }
    }

    fn from_xml(e: Error) -> Self {
        match e {
            Error::Profile { location, message } => LoadError::new("xml", location, message),
            other => LoadError::new("xml", Location::default(), other.to_string()),
        }
    }
}

impl From<LoadError> for Error {
    fn from(e: LoadError) -> Self {
        Error::profile(e.location, e.message)
    }
}

/// Loads a profile from `path`: an XIMF instance file (a headers file whose root is
/// `ximf:instance`; it becomes a catalog of one instance named after its `@name`), a catalog
/// file (root `profile`), or a directory holding `ximfmail-profile.xml` (else exactly one
/// `headers-*.xml`, merged with its `dictionary-*`, `ihm-*` and `rules-*` siblings of the same
/// suffix).
///
/// Deviations from the schema are warnings and broken references are errors, both in
/// [`Profile::diagnostics`]; loading still succeeds when a usable model exists.
///
/// # Errors
///
/// [`Error::Profile`] (exit 78) when the file cannot be read, is not well-formed XML (with
/// line:col), is neither a catalog nor an instance, or yields no usable instance.
pub fn load(path: &Path) -> crate::Result<Profile> {
    let profile = load_inner(Source::Disk, path)?;
    if profile.instances.is_empty() {
        let first = profile.diagnostics.iter().find(|d| d.is_error());
        let (location, message) = match first {
            Some(d) => (
                d.location.clone(),
                format!("no usable instance: {}", d.message),
            ),
            None => (
                xml::file_location(path),
                "no instance in profile".to_owned(),
            ),
        };
        return Err(Error::profile(location, message));
    }
    Ok(profile)
}

/// The catalog name Trustedbird probes for (spec §1.1).
pub(crate) const CATALOG_FILE: &str = "ximfmail-profile.xml";

/// `load` without the "at least one instance" check, so lint sees every diagnostic.
pub(crate) fn load_inner(source: Source, path: &Path) -> Result<Profile, LoadError> {
    if matches!(source, Source::Disk) && path.is_dir() {
        let catalog = path.join(CATALOG_FILE);
        if catalog.is_file() {
            return catalog::load_file(source, &catalog, true);
        }
        let headers = single_headers_file(path)?;
        return catalog::load_instance_dir(source, &headers);
    }
    catalog::load_file(source, path, matches!(source, Source::Disk))
}

/// The one `headers-*.xml` of a directory without a catalog.
fn single_headers_file(dir: &Path) -> Result<PathBuf, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        LoadError::new(
            "unreadable",
            xml::file_location(dir),
            format!("cannot read: {e}"),
        )
    })?;
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("headers-") && n.ends_with(".xml"))
        })
        .collect();
    found.sort();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(LoadError::new(
            "no-instance",
            xml::file_location(dir),
            format!("no {CATALOG_FILE} and no headers-*.xml in the directory"),
        )),
        n => Err(LoadError::new(
            "no-instance",
            xml::file_location(dir),
            format!("no {CATALOG_FILE} and {n} headers-*.xml files; name one"),
        )),
    }
}

/// The built-in profile files, keyed by their path under `<builtin>/`.
static BUILTIN_FILES: &[(&str, &str)] = &[
    (
        "<builtin>/ximfmail-profile.xml",
        include_str!("../../profiles/builtin/ximfmail-profile.xml"),
    ),
    (
        "<builtin>/example/headers-example.xml",
        include_str!("../../profiles/builtin/example/headers-example.xml"),
    ),
    (
        "<builtin>/example/dictionary-example.xml",
        include_str!("../../profiles/builtin/example/dictionary-example.xml"),
    ),
    (
        "<builtin>/example/ihm-example.xml",
        include_str!("../../profiles/builtin/example/ihm-example.xml"),
    ),
    (
        "<builtin>/example/rules-example.xml",
        include_str!("../../profiles/builtin/example/rules-example.xml"),
    ),
];

/// The profiles built into the binary: a catalog with the plain `smtp` instance and a worked
/// `Example` instance, loaded through the same code as files on disk (paths read
/// `<builtin>/...` in diagnostics).
pub fn builtin() -> Profile {
    let path = Path::new("<builtin>").join(CATALOG_FILE);
    match load_inner(Source::Memory(BUILTIN_FILES), &path) {
        Ok(p) => p,
        // Only reachable if a built-in file is broken; the unit tests keep that from shipping.
        Err(e) => Profile {
            diagnostics: vec![Diagnostic::error(e.location, e.code, e.message)],
            ..Profile::default()
        },
    }
}

/// The built-in profile with only its plain instance (`smtp`) compiled: what a command needs for
/// a message that names no instance or names `smtp`. The catalog is whole; the worked example's
/// four files, some 2.5 million instructions of XML parsing and compiling, are not read, which
/// is most of what a one-message verify does besides the cryptography (issue 13). Use
/// [`builtin`] for anything else, and whenever every instance must be listed
/// ([`Profile::names`]).
pub fn builtin_plain() -> Profile {
    let path = Path::new("<builtin>").join(CATALOG_FILE);
    match catalog::load_file_only(Source::Memory(BUILTIN_FILES), &path, false, &|i| i.plain) {
        Ok(p) => p,
        // As in `builtin`: only reachable if a built-in file is broken.
        Err(e) => Profile {
            diagnostics: vec![Diagnostic::error(e.location, e.code, e.message)],
            ..Profile::default()
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `builtin_plain` is `builtin` less the instances that have files: same catalog, same
    /// plain instance, no diagnostic of its own.
    #[test]
    fn builtin_plain_is_builtin_less_compiled_instances() {
        fn json(v: impl Serialize) -> String {
            serde_json::to_string(&v).expect("a profile serialises")
        }
        let full = builtin();
        let plain = builtin_plain();
        assert_eq!(json(&plain.catalog), json(&full.catalog));
        assert!(plain.diagnostics.is_empty());
        let full_plain: Vec<_> = full.instances.iter().filter(|i| i.plain).collect();
        let plain_all: Vec<_> = plain.instances.iter().collect();
        assert_eq!(json(&plain_all), json(&full_plain));
        assert!(!plain_all.is_empty());
    }

    #[test]
    fn builtin_loads_clean() {
        let p = builtin();
        let errors: Vec<_> = p.diagnostics.iter().filter(|d| d.is_error()).collect();
        assert!(errors.is_empty(), "{errors:#?}");
        assert!(p.instance("smtp").is_some_and(|i| i.plain));
        let ex = p.instance(" example ").expect("Example instance");
        assert!(!ex.plain);
        assert!(!ex.headers.is_empty());
        assert_eq!(
            p.default_instance().map(|i| i.name.as_str()),
            Some(ex.name.as_str())
        );
        assert!(p.catalog.path.is_none());
    }

    #[test]
    fn diagnostic_serializes_with_location() -> crate::Result<()> {
        let d = Diagnostic::warning(
            Location {
                path: "a.xml".into(),
                line: 3,
                col: 4,
            },
            "bom",
            "m",
        );
        let json = serde_json::to_string(&d).map_err(|e| Error::Internal(e.to_string()))?;
        assert_eq!(
            json,
            r#"{"severity":"warning","location":{"path":"a.xml","line":3,"col":4},"code":"bom","message":"m"}"#
        );
        Ok(())
    }
}
