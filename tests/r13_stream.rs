//! Large messages in bounded memory (issue 13): a message over the streaming threshold is
//! judged as a skeleton, its large leaf bodies hashed from the input file or a spool of the
//! pipe, never held whole. Memory bounds, not timings: the peak RSS of the real binary under
//! GNU time, and a run under `ulimit -v` that holding the message whole could not pass.
#![allow(clippy::unwrap_used)]

use crate::support::serial::{Resource, lock};
use crate::support::{fixtures, measure, pgp, root};
use std::path::{Path, PathBuf};
use std::process::Command;

pub const NOW: &str = "2026-11-30T00:00:00Z";
pub const MIB: usize = 1 << 20;
/// What a 64 MiB message may cost over a 16 KiB one. The absolute bound (16 MiB peak
/// RSS) is for the release build and is shown by benches/stream.sh; the test binary is a
/// debug build whose own pages take about 12 MiB more, so the test bounds the growth.
pub const GROWTH_KIB: u64 = 4 * 1024;

pub fn smime_key(name: &str) -> String {
    root()
        .join("testdata/keys/smime")
        .join(name)
        .to_string_lossy()
        .into_owned()
}

/// A text/plain entity of about `size` bytes of printable lines, CRLF.
pub fn text_entity(size: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(size + 100);
    v.extend_from_slice(b"Content-Type: text/plain; charset=us-ascii\r\n\r\n");
    let line = b"The quick brown fox jumps over the lazy dog, 0123456789 times over.";
    let mut i = 0usize;
    while v.len() < size {
        let cut = 20 + i % 40;
        v.extend_from_slice(&line[..cut]);
        v.extend_from_slice(b"\r\n");
        i += 1;
    }
    v
}

/// `openssl cms` with `op` (its operation and options, `-in` and `-out` aside) over a
/// text/plain entity of about `size` bytes: the S/MIME message it writes to `dir/NAME.eml`.
/// Made in `dir`, which the test removes: hundreds of MiB must not stay behind.
pub fn openssl_cms(dir: &Path, name: &str, size: usize, op: &[&str]) -> PathBuf {
    let out = dir.join(format!("{name}.eml"));
    let input = dir.join(format!("{name}.txt"));
    // Hundreds of MiB load the machine: not while another test's bounds are measured.
    let _turn = lock(Resource::Measured);
    std::fs::write(&input, text_entity(size)).unwrap();
    let st = Command::new("openssl")
        .arg("cms")
        .args(op)
        .arg("-in")
        .arg(&input)
        .arg("-out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(st.success(), "openssl cms {op:?}");
    std::fs::remove_file(input).unwrap();
    out
}

/// An S/MIME multipart/signed message of about `size` bytes, made by openssl.
fn smime_signed(dir: &Path, size: usize) -> PathBuf {
    openssl_cms(
        dir,
        &format!("smime-{size}"),
        size,
        &[
            "-sign",
            "-md",
            "sha256",
            "-signer",
            &smime_key("alice.crt"),
            "-inkey",
            &smime_key("alice.key"),
            "-certfile",
            &smime_key("inter.crt"),
            "-from",
            "alice@example.org",
            "-to",
            "bob@example.org",
            "-subject",
            "big",
        ],
    )
}

/// A PGP/MIME multipart/signed message of about `size` bytes, signed by gpg.
fn pgp_signed(dir: &Path, size: usize) -> PathBuf {
    let out = dir.join(format!("pgp-{size}.eml"));
    let _turn = lock(Resource::Measured);
    let part = text_entity(size);
    let g = pgp::Gpg::new(&["alice"], &[]);
    let (ok, sig, err) = g.run_at_peer_time(
        &[
            "--armor",
            "--detach-sign",
            "--digest-algo",
            "SHA256",
            "-u",
            "alice@example.org",
        ],
        &part,
    );
    assert!(ok, "gpg --detach-sign: {err}");
    let msg = pgp::assemble_signed(&part, &sig, "pgp-sha256", "alice@example.org");
    std::fs::write(&out, msg).unwrap();
    out
}

fn smime_args(file: Option<&Path>) -> Vec<String> {
    let mut a: Vec<String> = ["--max-size", "600000000", "--now", NOW, "verify", "--ca"]
        .map(String::from)
        .to_vec();
    a.push(smime_key("root.crt"));
    a.extend(file.map(|f| f.to_string_lossy().into_owned()));
    a
}

fn pgp_args(file: Option<&Path>) -> Vec<String> {
    let cert = pgp::key_path("alice", "cert")
        .to_string_lossy()
        .into_owned();
    let mut a: Vec<String> = ["--max-size", "600000000", "--now", "2026-06-01T00:00:00Z"]
        .map(String::from)
        .to_vec();
    a.extend(["verify".into(), "--keyring".into(), cert]);
    a.extend(file.map(|f| f.to_string_lossy().into_owned()));
    a
}

/// Runs ximf with `args` under `ulimit -v` of `limit_kib` (its own turn: no other measured run
/// meanwhile).
pub fn under_ulimit_v(limit_kib: u64, args: &[String]) -> std::process::Output {
    let _turn = lock(Resource::Measured);
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {limit_kib}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_ximf"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs ximf with `args` under `ulimit -v` of `limit_kib`, where it must succeed, and again
/// holding the message whole (the streaming threshold past it), where it must not: the limit
/// means something. The streamed run's output.
pub fn only_streamed_fits(limit_kib: u64, mut args: Vec<String>) -> std::process::Output {
    let streamed = under_ulimit_v(limit_kib, &args);
    assert_eq!(
        streamed.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&streamed.stderr)
    );
    args.extend(["--stream-threshold".into(), "600000000".into()]);
    let whole = under_ulimit_v(limit_kib, &args);
    assert_ne!(
        whole.status.code(),
        Some(0),
        "holding it whole fit the limit"
    );
    streamed
}

pub fn run(args: &[String], stdin: &[u8]) -> measure::Measured {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    measure::run(&args, stdin)
}

/// Verifies `file` from the file and from a pipe: pass, in no more memory than `small` takes
/// plus [`GROWTH_KIB`].
fn passes_in_bounded_memory(file: &Path, small: &Path, args: fn(Option<&Path>) -> Vec<String>) {
    let base = run(&args(Some(small)), b"");
    assert_eq!(base.code, 0, "{}", base.stderr);
    let bound = base.rss_kib + GROWTH_KIB;
    let from_file = run(&args(Some(file)), b"");
    let data = std::fs::read(file).unwrap();
    let from_pipe = run(&args(None), &data);
    drop(data);
    for (how, m) in [("file", &from_file), ("pipe", &from_pipe)] {
        let out = String::from_utf8_lossy(&m.stdout);
        assert_eq!(m.code, 0, "{how}: {out} {}", m.stderr);
        assert!(out.starts_with("pass"), "{how}: {out}");
        assert!(
            m.rss_kib < bound,
            "{how}: peak RSS {} KiB for {} MiB (bound {bound} KiB)",
            m.rss_kib,
            std::fs::metadata(file).unwrap().len() >> 20
        );
    }
}

/// The message with one byte deep inside the left-out body changed: the hash read from the
/// source must see it.
fn tampered(file: &Path) -> PathBuf {
    let _turn = lock(Resource::Measured);
    let mut d = std::fs::read(file).unwrap();
    let i = d.len() / 2;
    let i = i + d[i..].iter().position(|b| b.is_ascii_lowercase()).unwrap();
    d[i] = d[i].to_ascii_uppercase();
    let out = file.with_extension("tampered.eml");
    std::fs::write(&out, d).unwrap();
    out
}

fn lf(file: &Path) -> PathBuf {
    let _turn = lock(Resource::Measured);
    let d = fixtures::to_lf(&std::fs::read(file).unwrap());
    let out = file.with_extension("lf.eml");
    std::fs::write(&out, d).unwrap();
    out
}

fn fails_as_modified(file: &Path, args: fn(Option<&Path>) -> Vec<String>) {
    let m = run(&args(Some(file)), b"");
    let out = String::from_utf8_lossy(&m.stdout);
    assert_eq!(m.code, 1, "{out} {}", m.stderr);
    assert!(out.contains("signature-invalid"), "{out}");
}

#[test]
fn smime_64_mib_in_bounded_memory_crlf_lf_and_tampered() {
    let dir = tempfile::tempdir().unwrap();
    let f = smime_signed(dir.path(), 64 * MIB);
    let small = smime_signed(dir.path(), 16 << 10);
    passes_in_bounded_memory(&f, &small, smime_args);
    passes_in_bounded_memory(&lf(&f), &small, smime_args);
    fails_as_modified(&tampered(&f), smime_args);
}

#[test]
fn pgp_64_mib_in_bounded_memory_crlf_lf_and_tampered() {
    let dir = tempfile::tempdir().unwrap();
    let f = pgp_signed(dir.path(), 64 * MIB);
    let small = pgp_signed(dir.path(), 16 << 10);
    passes_in_bounded_memory(&f, &small, pgp_args);
    passes_in_bounded_memory(&lf(&f), &small, pgp_args);
    fails_as_modified(&tampered(&f), pgp_args);
}

#[test]
fn annotate_streams_the_message_below_its_verdict() {
    let annotate = |f: &Path, out: &Path| {
        let mut args = smime_args(Some(f));
        args.extend([
            "--annotate".into(),
            "-o".into(),
            out.to_string_lossy().into_owned(),
        ]);
        let m = run(&args, b"");
        assert_eq!(m.code, 0, "{}", m.stderr);
        m.rss_kib
    };
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    let f = smime_signed(w, 32 * MIB);
    let out = w.join("annotated.eml");
    let base = annotate(&smime_signed(w, 16 << 10), &w.join("small-annotated.eml"));
    let rss = annotate(&f, &out);
    assert!(
        rss < base + GROWTH_KIB,
        "peak RSS {rss} KiB, {base} KiB for 16 KiB"
    );
    let written = std::fs::read(&out).unwrap();
    let original = std::fs::read(&f).unwrap();
    assert!(
        written.ends_with(&original),
        "the message follows its verdict unchanged"
    );
    let added = String::from_utf8_lossy(&written[..written.len() - original.len()]);
    assert!(added.contains("X-XIMF-Verify: pass"), "{added}");
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
}

#[test]
fn over_max_size_from_a_pipe_still_passes_through() {
    let dir = tempfile::tempdir().unwrap();
    let f = smime_signed(dir.path(), 3 * MIB);
    let data = std::fs::read(&f).unwrap();
    let mut args = smime_args(None);
    args[1] = (2 * MIB).to_string();
    let m = run(&args, &data);
    assert_eq!(m.code, 65, "too large: {}", m.stderr);
    args.push("--annotate".into());
    let m = run(&args, &data);
    assert_eq!(m.code, 0, "{}", m.stderr);
    let out = String::from_utf8_lossy(&m.stdout[..200]);
    assert!(out.starts_with("X-XIMF-Verify: none"), "{out}");
    assert!(m.stdout.len() > data.len());
    assert!(m.stdout.ends_with(&data[data.len() - 1000..]));
}

/// Under an address-space limit below the message's size, verify of a 256 MiB message still
/// passes; the same binary holding the message whole (the streaming threshold set past it)
/// cannot, which shows the limit means something.
#[test]
fn verify_of_256_mib_under_ulimit_v() {
    let dir = tempfile::tempdir().unwrap();
    let f = smime_signed(dir.path(), 256 * MIB);
    let streamed = only_streamed_fits(160 * 1024, smime_args(Some(&f)));
    assert!(String::from_utf8_lossy(&streamed.stdout).starts_with("pass"));
}

/// What procmail hands its filters: a large message behind the mbox `From ` line. It is
/// judged as a skeleton too (bounded memory, from a file and a pipe), and `--annotate` writes
/// the line back first, the verdict below it, the message unchanged; an mbox of two messages
/// is still judged message by message.
#[test]
fn a_large_message_behind_procmails_from_line_streams() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    let from = b"From alice@example.org Mon Nov 30 12:00:00 2026\n".to_vec();
    let with_envelope = |f: &Path| {
        let _turn = lock(Resource::Measured);
        let mut d = from.clone();
        d.extend(std::fs::read(f).unwrap());
        let out = f.with_extension("mbox");
        std::fs::write(&out, d).unwrap();
        out
    };
    let f = with_envelope(&smime_signed(w, 32 * MIB));
    let small = with_envelope(&smime_signed(w, 16 << 10));
    passes_in_bounded_memory(&f, &small, smime_args);
    let out = w.join("annotated.eml");
    let mut args = smime_args(Some(&f));
    args.extend([
        "--annotate".into(),
        "-o".into(),
        out.to_string_lossy().into_owned(),
    ]);
    let m = run(&args, b"");
    assert_eq!(m.code, 0, "{}", m.stderr);
    let written = std::fs::read(&out).unwrap();
    let original = std::fs::read(&f).unwrap();
    assert!(written.starts_with(&from), "the From line first");
    assert!(
        written.ends_with(&original[from.len()..]),
        "the message follows its verdict unchanged"
    );
    let added =
        String::from_utf8_lossy(&written[from.len()..written.len() + from.len() - original.len()]);
    assert!(added.contains("X-XIMF-Verify: pass"), "{added}");
    // Two messages: an mbox, one report line each.
    let two = w.join("two.mbox");
    let mut d = original.clone();
    d.extend_from_slice(b"\n");
    d.extend_from_slice(&std::fs::read(&small).unwrap());
    std::fs::write(&two, d).unwrap();
    let m = run(&smime_args(Some(&two)), b"");
    let report = String::from_utf8_lossy(&m.stdout);
    assert_eq!(report.lines().count(), 2, "{report} {}", m.stderr);
}
