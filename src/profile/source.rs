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

    /// Where `path` really is, when following its symbolic links leads out of the directory
    /// tree `root` (the catalog's or the instance's directory); `None` when it stays inside,
    /// for memory files (no links), and when either cannot be resolved (a missing file is
    /// reported by whoever looks for it).
    ///
    /// [`confined`] rules out `..` and absolute paths in what the profile wrote; this rules out
    /// the same escape made through a link in the tree (`list.xml -> /etc/...`), so a profile
    /// cannot make us read, and echo in diagnostics, files its author could not name.
    pub(crate) fn escapes(&self, root: &Path, path: &Path) -> Option<PathBuf> {
        match self {
            Source::Disk => {
                let root = if root.as_os_str().is_empty() {
                    Path::new(".")
                } else {
                    root
                };
                let root = std::fs::canonicalize(root).ok()?;
                let real = std::fs::canonicalize(path).ok()?;
                (!real.starts_with(&root)).then_some(real)
            }
            Source::Memory(_) => None,
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
        assert_eq!(s.escapes(Path::new("<builtin>/a"), Path::new("/etc")), None);
    }

    #[test]
    fn links_out_of_the_tree_escape() -> std::io::Result<()> {
        let dir = tempfile::tempdir()?;
        let tree = dir.path().join("tree");
        std::fs::create_dir_all(tree.join("sub"))?;
        std::fs::write(dir.path().join("outside.xml"), "<x/>")?;
        std::fs::write(tree.join("sub/inside.xml"), "<x/>")?;
        std::os::unix::fs::symlink("../outside.xml", tree.join("out.xml"))?;
        std::os::unix::fs::symlink("sub/inside.xml", tree.join("in.xml"))?;
        let d = Source::Disk;
        assert_eq!(
            d.escapes(&tree, &tree.join("out.xml")),
            Some(std::fs::canonicalize(dir.path().join("outside.xml"))?)
        );
        assert_eq!(d.escapes(&tree, &tree.join("in.xml")), None);
        assert_eq!(d.escapes(&tree, &tree.join("sub/inside.xml")), None);
        assert_eq!(d.escapes(&tree, &tree.join("missing.xml")), None);
        // The tree may itself be reached through a link.
        std::os::unix::fs::symlink(&tree, dir.path().join("alias"))?;
        let alias = dir.path().join("alias");
        assert_eq!(d.escapes(&alias, &alias.join("in.xml")), None);
        assert!(d.escapes(&alias, &alias.join("out.xml")).is_some());
        Ok(())
    }
}
