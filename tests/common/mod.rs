//! Shared test helpers: run the real `ximf` binary, locate the field profiles.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The fixed clock every golden test runs under.
pub const NOW: &str = "2026-11-29T00:00:00Z";

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/profiles/trustedbird`, the real field profiles (never copied into the repo).
pub fn trustedbird() -> PathBuf {
    let p = root().join("../shared/profiles/trustedbird");
    assert!(
        p.join("ximfmail-profile.xml").is_file(),
        "the field profiles are missing at {}",
        p.display()
    );
    p
}

/// The catalog of the field profiles.
pub fn tb_catalog() -> PathBuf {
    trustedbird().join("ximfmail-profile.xml")
}

/// Runs `ximf` with `args`, feeding `stdin`.
pub fn ximf(args: &[&str], stdin: &[u8]) -> Output {
    ximf_in(args, stdin, &root())
}

/// Runs `ximf` in `dir`.
pub fn ximf_in(args: &[&str], stdin: &[u8], dir: &Path) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ximf"))
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ximf");
    let mut input = child.stdin.take().expect("stdin");
    // A command may exit before reading everything (usage errors): ignore EPIPE here.
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().expect("wait ximf")
}

/// The exit code (panics on a signal).
pub fn code(o: &Output) -> i32 {
    o.status.code().expect("exited by signal")
}

/// stderr as text.
pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout as text.
pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// LF → CRLF.
pub fn crlf(b: &[u8]) -> Vec<u8> {
    let mut v = Vec::with_capacity(b.len() + b.len() / 20);
    for (i, &c) in b.iter().enumerate() {
        if c == b'\n' && (i == 0 || b[i - 1] != b'\r') {
            v.push(b'\r');
        }
        v.push(c);
    }
    v
}
