//! The profile loader: XML, catalogs, instance file sets and `ref`s between files.
//!
//! The input is a small file tree: `NAME\0CONTENT\0NAME\0CONTENT...` (an input without a NUL is
//! one file, `profile.xml`). Names are made relative and safe (at most three components, no
//! `..`). The tree is written to a scratch directory and loaded twice, as ximf's users do:
//! through its first file (a catalog or an instance file) and through the directory (catalog
//! or single `headers-*.xml`), and linted. Each loaded instance then stamps with no values and
//! verifies a message that names it, which runs the compiled rules.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ximf::message::Message;
use ximf::profile;
use ximf::stamp::{self, StampOptions};
use ximf::verify::{self, VerifyOptions};

/// Larger inputs are skipped: the loader's own limits are far above, and the fuzzer's
/// throughput matters more.
const MAX_INPUT: usize = 128 << 10;
const MAX_FILES: usize = 16;

fn scratch() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        std::env::temp_dir().join(format!("ximf-fuzz-profile-{}", std::process::id()))
    })
}

/// A relative path of at most three safe components, or `None`.
fn safe_name(raw: &[u8]) -> Option<PathBuf> {
    let text = String::from_utf8_lossy(raw);
    let mut p = PathBuf::new();
    let mut n = 0;
    for c in text.split(['/', '\\']) {
        let c: String = c
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
            .take(48)
            .collect();
        if c.is_empty() || c == "." || c == ".." {
            continue;
        }
        p.push(c);
        n += 1;
        if n == 3 {
            break;
        }
    }
    (n > 0).then_some(p)
}

/// Writes the tree; returns the path of the first file.
fn write_tree(root: &Path, data: &[u8]) -> Option<PathBuf> {
    let _ = std::fs::remove_dir_all(root);
    std::fs::create_dir_all(root).ok()?;
    if !data.contains(&0) {
        let p = root.join("profile.xml");
        std::fs::write(&p, data).ok()?;
        return Some(p);
    }
    let pieces = ximf_fuzz::split_nul(data, 2 * MAX_FILES);
    let mut first = None;
    for (i, pair) in pieces.chunks(2).enumerate() {
        let name = safe_name(pair[0]).unwrap_or_else(|| PathBuf::from(format!("f{i}.xml")));
        let content = pair.get(1).copied().unwrap_or_default();
        let path = root.join(&name);
        if let Some(dir) = path.parent() {
            // A name that is also a directory of an earlier file: skip it.
            if std::fs::create_dir_all(dir).is_err() {
                continue;
            }
        }
        if path.is_dir() || std::fs::write(&path, content).is_err() {
            continue;
        }
        first.get_or_insert(path);
    }
    first
}

fn exercise(p: &profile::Profile) {
    let _ = p.default_instance();
    let _ = p.names();
    let _ = p.has_errors();
    for inst in p.instances.iter().take(4) {
        let _ = stamp::fields(inst, &[], &StampOptions::default());
        let _ = stamp::alias_names(inst);
        let name = inst.name.replace(['\r', '\n', '\0'], " ");
        let msg = format!(
            "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: fuzz\r\n\
             X-XIMF-NAME: {name}\r\nX-XIMF-Version: 2.0\r\n\
             X-XIMF-Primary-Precedence: routine\r\n\r\nbody\r\n"
        );
        if let Ok(m) = Message::parse(msg.into_bytes()) {
            let _ = verify::verify(&m, p, &VerifyOptions::default());
        }
    }
}

fuzz_target!(|data: &[u8]| {
    ximf_fuzz::init();
    if data.len() > MAX_INPUT {
        return;
    }
    let root = scratch();
    let Some(first) = write_tree(root, data) else {
        return;
    };
    if let Ok(p) = profile::load(&first) {
        exercise(&p);
    }
    if let Ok(p) = profile::load(root) {
        exercise(&p);
    }
    let _ = profile::lint::lint(&[first]);
});
