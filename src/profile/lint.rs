//! `ximf profile lint`: every diagnostic of every profile, in compiler style.
//!
//! Output lines look like `file:line:col: warning: [code] message` so editors and CI annotate
//! them without configuration; the code is stable and documented in the README.

use super::source::Source;
use super::{Diagnostic, load_inner};
use std::path::PathBuf;

/// Loads each path (catalog, instance file or directory, as [`load`](super::load) does) and
/// collects all diagnostics, in path order. A path that cannot be loaded at all contributes one
/// error diagnostic (code `unreadable`, `xml`, `wrong-root` or `no-instance`) instead of failing
/// the whole run; so does a profile that yields no usable instance.
pub fn lint(paths: &[PathBuf]) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for path in paths {
        match load_inner(Source::Disk, path) {
            Ok(profile) => {
                let no_instance = profile.instances.is_empty()
                    && !profile.diagnostics.iter().any(|d| d.code == "no-instance");
                out.extend(profile.diagnostics);
                if no_instance {
                    out.push(Diagnostic::error(
                        super::xml::file_location(path),
                        "no-instance",
                        "no usable instance in this profile",
                    ));
                }
            }
            Err(e) => out.push(Diagnostic::error(e.location, e.code, e.message)),
        }
    }
    out
}

/// One diagnostic as `file:line:col: error|warning: [code] message`.
pub fn render(d: &Diagnostic) -> String {
    format!("{}: {}: [{}] {}", d.location, d.severity, d.code, d.message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Location;

    #[test]
    fn render_is_compiler_style() {
        let d = Diagnostic::error(
            Location {
                path: "p/h.xml".into(),
                line: 7,
                col: 3,
            },
            "dangling-ref",
            "linkedValue ref \"x\" names no id of the instance",
        );
        assert_eq!(
            render(&d),
            "p/h.xml:7:3: error: [dangling-ref] linkedValue ref \"x\" names no id of the instance"
        );
    }

    #[test]
    fn unreadable_path_is_one_error() {
        let d = lint(&[PathBuf::from("/nonexistent/ximf/profile.xml")]);
        assert_eq!(d.len(), 1);
        assert!(d[0].is_error());
        assert_eq!(d[0].code, "unreadable");
    }
}
