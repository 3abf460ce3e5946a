//! Where profile files come from: the disk, or the files built into the binary.
//!
//! Catalog resolution (spec §1.1) probes several candidate paths; doing it through [`Source`]
//! lets the built-in profiles go through exactly the same code as files on disk.

use super::xml::MAX_FILE_SIZE;
use std::io::Read;
use std::path::{Component, Path, PathBuf};

/// A set of readable files.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Source {
    /// The file system.
    Disk,
    /// Files held in memory, keyed by their path (`<builtin>/example/headers-example.xml`).
    Memory(&'static [(&'static str, &'static str)]),
}

impl Source {
    /// True when `path` names a readable regular file.
    pub(crate) fn is_file(&self, path: &Path) -> bool {
        match self {
            Source::Disk => path.is_file(),
            Source::Memory(files) => {
                let want = normalize(path);
                files.iter().any(|(k, _)| normalize(Path::new(k)) == want)
            }
        }
    }

    /// Reads `path`, refusing files over [`MAX_FILE_SIZE`] without reading them whole.
    pub(crate) fn read(&self, path: &Path) -> std::io::Result<Vec<u8>> {
        match self {
            Source::Disk => {
                let file = std::fs::File::open(path)?;
                let mut buf = Vec::new();
                // One byte more than the bound, so the parser can tell "too large" apart.
                file.take(MAX_FILE_SIZE as u64 + 1).read_to_end(&mut buf)?;
                Ok(buf)
            }
            Source::Memory(files) => {
                let want = normalize(path);
                files
                    .iter()
                    .find(|(k, _)| normalize(Path::new(k)) == want)
                    .map(|(_, v)| v.as_bytes().to_vec())
                    .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
            }
        }
    }
}

/// Lexical normalisation (drops `.` components) so `a/./b` and `a/b` compare equal in memory.
fn normalize(path: &Path) -> PathBuf {
    path.components()
        .filter(|c| !matches!(c, Component::CurDir))
        .collect()
}

/// Checks that a path written in a profile stays below the directory it is resolved against:
/// relative, and without `..`. Backslashes count as separators, since the field profiles come
/// from Windows. Returns the cleaned relative path.
pub(crate) fn confined(written: &str) -> Result<PathBuf, String> {
    let cleaned = written.replace('\\', "/");
    let looks_like_drive = cleaned.len() >= 2 && cleaned.as_bytes()[1] == b':';
    if cleaned.starts_with('/') || looks_like_drive {
        return Err(format!("absolute path {written:?} not allowed"));
    }
    let mut out = PathBuf::new();
    for c in Path::new(&cleaned).components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir => {}
            Component::ParentDir | Component::RootDir | Component::Prefix(_) => {
                return Err(format!("path {written:?} escapes its directory"));
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confinement() {
        assert_eq!(confined("a/b.xml").ok(), Some(PathBuf::from("a/b.xml")));
        assert_eq!(confined("./a\\b.xml").ok(), Some(PathBuf::from("a/b.xml")));
        assert!(confined("../x.xml").is_err());
        assert!(confined("a/../../x.xml").is_err());
        assert!(confined("/etc/passwd").is_err());
        assert!(confined("C:\\x.xml").is_err());
        assert_eq!(confined("").ok(), Some(PathBuf::new()));
    }

    #[test]
    fn memory_lookup_normalizes() {
        static FILES: &[(&str, &str)] = &[("<builtin>/a/b.xml", "<x/>")];
        let s = Source::Memory(FILES);
        assert!(s.is_file(Path::new("<builtin>/./a/b.xml")));
        assert!(s.read(Path::new("<builtin>/a/c.xml")).is_err());
    }
}
