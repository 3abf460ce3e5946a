//! What the test modules share: running the real `ximf` binary ([`Ximf`], [`ximf`]), where the
//! repository's files are, LF/CRLF twins of fixtures ([`fixtures`]), the locks for resources
//! tests must not share at the same time ([`serial`]), and per-area helpers: the engine's old
//! verification API ([`engine`]), GNU time ([`measure`]), OpenPGP peers ([`pgp`]), S/MIME and
//! OpenPGP message makers for the matrix ([`matrix`]), the mail-flow scaffolding
//! ([`mailflow`]) and a child's private HOME and configuration ([`world`]).

pub mod engine;
pub mod fixtures;
pub mod mailflow;
pub mod matrix;
pub mod measure;
pub mod pgp;
pub mod serial;
pub mod world;

mod command;

pub use command::{Ximf, ximf};

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// The fixed clock every golden test runs under (and the S/MIME test PKI's "now").
pub const NOW: &str = "2026-11-29T00:00:00Z";

/// The OpenPGP tests' clock (testdata/keys/pgp/README.md).
pub const NOW_PGP: &str = "2026-06-01T00:00:00Z";

/// `verify` flags that judge a message as a skeleton (ximf::stream) with everything it may
/// leave out left out, whatever its size (the flag is hidden; it exists for these tests). The
/// matrix and attack suites judge every message both ways and require the same report: the
/// streaming path is not a second engine.
pub const AS_SKELETON: [&str; 2] = ["--stream-threshold", "0"];

/// The built-in Example instance's two mandatory fields, as `stamp --set` arguments.
pub const EXAMPLE_FIELDS: [&str; 4] = [
    "--set",
    "X-XIMF-Security-Classification=example-restricted",
    "--set",
    "X-XIMF-Primary-Precedence=routine",
];

/// The repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The `ximf` binary under test.
pub fn ximf_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ximf"))
}

/// A committed test key or certificate: `keys("smime/alice.key")`, `keys("pgp/bob.cert")`.
pub fn keys(rel: &str) -> String {
    root().join("testdata/keys").join(rel).display().to_string()
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

/// The exit code (fails the test on a signal).
pub fn code(o: &Output) -> i32 {
    o.status
        .code()
        .unwrap_or_else(|| panic!("killed by a signal: {o:?}"))
}

/// stderr as text.
pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// stdout as text.
pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Every program a test starts gets this long before it is killed and the test fails: far more
/// than any of them needs, so a slow (or busy: every module's tests share this process) machine
/// never fails a test, but a hang cannot last.
pub const LIMIT: Duration = Duration::from_secs(120);

/// Runs `cmd` with `stdin`, killing it (and failing the test) after [`LIMIT`]. stdin is fed
/// from a thread, so a large input cannot deadlock against a full stdout pipe, and a program
/// that exits without reading all of it (a usage error) is its business, not an error here.
pub fn run(cmd: &mut Command, stdin: &[u8]) -> Output {
    let shown = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{shown}: {e}"));
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    let waiter = std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(LIMIT) {
        Ok(r) => r.unwrap_or_else(|e| panic!("{shown}: {e}")),
        Err(_) => {
            let _ = Command::new("kill")
                .args(["-KILL", &pid.to_string()])
                .status();
            panic!("{shown}: still running after {} s", LIMIT.as_secs());
        }
    };
    let _ = writer.join();
    let _ = waiter.join();
    out
}

/// Waits until `cond` holds, polling; fails the test after [`LIMIT`] with `what`.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `program` on PATH (or in /usr/sbin, /sbin), else None.
pub fn find_program(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Fails the test unless `program` is installed: these tests prove ximf with the real peers,
/// and `scripts/setup.sh` installs them.
pub fn require(program: &str) -> PathBuf {
    find_program(program)
        .unwrap_or_else(|| panic!("{program} is not installed: run scripts/setup.sh"))
}

/// Whether we run as root; Postfix and the unprivileged sieve-test need it.
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}
