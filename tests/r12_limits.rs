//! Every amplification the secure-message engine could suffer is bounded (issue 12, design.md
//! §8): each test feeds an input just past a limit and asserts a clean refusal — a finding or
//! an exit code, never a crash — within a generous time and memory bound measured around the
//! real binary (GNU time's maximum resident set size). These are bounds, not benchmarks.
#![allow(clippy::unwrap_used)]

use crate::support::measure;

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Runs `ximf args` on `input` under GNU time: (exit code, stdout, stderr without GNU time's
/// lines, max RSS in KiB, wall time).
fn run(args: &[&str], input: &[u8]) -> (i32, String, String, u64, Duration) {
    let m = measure::run(args, input);
    let out = String::from_utf8_lossy(&m.stdout).into_owned();
    (m.code, out, m.stderr, m.rss_kib, m.took)
}

fn codes(json: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(json).unwrap();
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["code"].as_str().unwrap().to_owned())
        .collect()
}

/// Generous: a clean refusal takes well under this on any machine we run on.
const TIME: Duration = Duration::from_secs(20);

#[test]
fn mime_parts_past_the_limit_are_refused() {
    let mut m =
        b"From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
            .to_vec();
    for _ in 0..10_001 {
        m.extend_from_slice(b"--b\n\n");
    }
    m.extend_from_slice(b"--b--\n");
    let (code, out, err, rss, took) = run(&["verify", "--format", "json"], &m);
    assert_eq!(code, 1, "{err}");
    assert!(codes(&out).contains(&"limit-exceeded".to_owned()), "{out}");
    assert!(took < TIME, "{took:?}");
    assert!(rss < 200 * 1024, "max RSS {rss} KiB");
    // Just under the limit: no limit finding.
    let mut m =
        b"From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
            .to_vec();
    for _ in 0..9_999 {
        m.extend_from_slice(b"--b\n\n");
    }
    m.extend_from_slice(b"--b--\n");
    let (_, out, _, _, _) = run(&["verify", "--format", "json"], &m);
    assert!(!codes(&out).contains(&"limit-exceeded".to_owned()), "{out}");
}

#[test]
fn millions_of_empty_parts_cost_bounded_memory() {
    // The case: 11 million empty MIME parts in 64 MiB (1.95 GB before).
    let mut m =
        b"From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n"
            .to_vec();
    while m.len() < 60 << 20 {
        m.extend_from_slice(b"--b\n\n");
    }
    let (code, out, err, rss, took) = run(&["verify", "--format", "json"], &m);
    assert_eq!(code, 1, "{err}");
    assert!(codes(&out).contains(&"limit-exceeded".to_owned()), "{out}");
    assert!(took < TIME, "{took:?}");
    assert!(rss < 400 * 1024, "max RSS {rss} KiB for a 60 MiB input");
}

#[test]
fn header_fields_past_the_limit_are_refused() {
    // In a body part, where the top-level header reader does not look.
    let mut part = Vec::new();
    for i in 0..10_001 {
        part.extend_from_slice(format!("X-F{i}: v\n").as_bytes());
    }
    let mut m = b"From: a@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\n".to_vec();
    m.extend_from_slice(&part);
    m.extend_from_slice(b"\nbody\n--b--\n");
    let (code, out, err, rss, took) = run(&["verify", "--format", "json"], &m);
    assert_eq!(code, 1, "{err}");
    assert!(codes(&out).contains(&"limit-exceeded".to_owned()), "{out}");
    assert!(took < TIME && rss < 200 * 1024, "{took:?} {rss} KiB");
}

fn gpg_bomb(dir: &Path, zeros: usize) -> Vec<u8> {
    // A PGP/MIME message to bob whose plaintext is `zeros` bytes of zeros, compressed by gpg.
    let home = dir.join("gnupg");
    std::fs::create_dir_all(&home).unwrap();
    let keys = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/keys/pgp");
    let gpg = |args: &[&str], input: Option<&[u8]>| {
        let mut c = Command::new("gpg")
            .env("GNUPGHOME", &home)
            .args(["--batch", "--yes", "--quiet", "--no-tty"])
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut stdin = c.stdin.take().unwrap();
        let data = input.map(<[u8]>::to_vec).unwrap_or_default();
        let w = std::thread::spawn(move || {
            let _ = stdin.write_all(&data);
        });
        let o = c.wait_with_output().unwrap();
        w.join().unwrap();
        assert!(
            o.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    };
    gpg(&["--import", keys.join("bob.cert").to_str().unwrap()], None);
    let mut plain = b"Content-Type: application/octet-stream\r\n\r\n".to_vec();
    plain.resize(zeros, 0);
    let armored = gpg(
        &[
            "--trust-model",
            "always",
            "--compress-algo",
            "zlib",
            "-z",
            "9",
            "--encrypt",
            "--armor",
            "--recipient",
            "bob@example.org",
        ],
        Some(&plain),
    );
    let mut m = b"From: alice@example.org\r\nTo: bob@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=\"e\"\r\n\r\n--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n--e\r\nContent-Type: application/octet-stream\r\n\r\n".to_vec();
    m.extend_from_slice(&armored);
    m.extend_from_slice(b"\r\n--e--\r\n");
    m
}

#[test]
fn a_compression_bomb_is_refused_within_its_limit() {
    let dir = tempfile::tempdir().unwrap();
    // 300 MB of zeros in well under 1 MB of message.
    let bomb = gpg_bomb(dir.path(), 300 << 20);
    assert!(bomb.len() < 1 << 20, "{} bytes", bomb.len());
    let now = ["--now", "2026-06-01T00:00:00Z"];
    let key = ["--key", "testdata/keys/pgp/bob.key"];
    let args: Vec<&str> = now
        .iter()
        .chain(&["verify", "--format", "json"])
        .chain(key.iter())
        .copied()
        .collect();
    let (code, out, err, rss, took) = run(&args, &bomb);
    assert_eq!(code, 1, "{err}");
    assert!(
        codes(&out).contains(&"decryption-failed".to_owned()),
        "{out}"
    );
    assert!(out.contains("output limit"), "{out}");
    assert!(took < TIME, "{took:?}");
    // The default output limit is 64 MiB: never the 300 MB the bomb holds.
    assert!(rss < 200 * 1024, "max RSS {rss} KiB");
    let args: Vec<&str> = now
        .iter()
        .chain(&["decrypt"])
        .chain(key.iter())
        .copied()
        .collect();
    let (code, out, err, rss, _) = run(&args, &bomb);
    assert_ne!(code, 0, "{err}");
    assert_ne!(code, 70, "{err}");
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(rss < 200 * 1024, "max RSS {rss} KiB");
}

#[test]
fn the_output_limit_follows_max_size() {
    // A 2 MiB plaintext is fine by default and refused under --max-size 1 MiB, although the
    // compressed message itself is far smaller than either.
    let dir = tempfile::tempdir().unwrap();
    let bomb = gpg_bomb(dir.path(), 2 << 20);
    for (max, refused) in [(None, false), (Some("1048576"), true)] {
        let mut args = vec!["--now", "2026-06-01T00:00:00Z"];
        if let Some(m) = max {
            args.extend(["--max-size", m]);
        }
        args.extend(["decrypt", "--key", "testdata/keys/pgp/bob.key"]);
        let (code, out, err, _, _) = run(&args, &bomb);
        assert_eq!(code != 0, refused, "{max:?}: {err}");
        assert_eq!(out.is_empty(), refused, "{max:?}");
    }
}
