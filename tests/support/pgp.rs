//! Shared helpers for the OpenPGP integration tests: test keys, a temporary GNUPGHOME, running
//! the real `gpg` and `sq`, and an RFC 3156 part splitter written independently of the library.
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sequoia_openpgp::Cert;

pub use super::fixtures::to_crlf;

/// The tests' fixed verification time: 2026-06-01T00:00:00Z (testdata/keys/pgp/README.md).
pub const NOW: i64 = 1_780_272_000;
/// When peers sign: 2026-05-01, before NOW, after the keys' creation.
pub const PEER_TIME: &str = "20260501T000000";

pub fn key_path(name: &str, ext: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/keys/pgp")
        .join(format!("{name}.{ext}"))
}

/// The TSK `name.key`.
pub fn tsk(name: &str) -> Cert {
    let data = std::fs::read(key_path(name, "key")).expect("test key");
    ximf::pgp::load_keys(&data).expect("parse key").remove(0)
}

/// The public cert `name.cert`.
pub fn cert(name: &str) -> Cert {
    let data = std::fs::read(key_path(name, "cert")).expect("test cert");
    ximf::pgp::load_keys(&data).expect("parse cert").remove(0)
}

/// A sample message in LF convention, with 8-bit text, a `From ` line and trailing blanks.
pub fn sample(from: &str) -> Vec<u8> {
    format!(
        "From: Sender <{from}>\n\
         To: Bob <bob@example.org>\n\
         Subject: Quarterly plan\n\
         Date: Mon, 01 Jun 2026 08:00:00 +0000\n\
         Message-ID: <plan-1@example.org>\n\
         X-XIMF-Security-Classification: confidential\n\
         Content-Type: text/plain; charset=utf-8\n\
         Content-Transfer-Encoding: 8bit\n\
         \n\
         Bonjour, voil\u{e0} le caf\u{e9}.\n\
         From here on, a line that mbox would mangle.\n\
         Trailing blanks here   \n\
         -- \n\
         Sender\n"
    )
    .into_bytes()
}

/// The value of parameter `name` in the first Content-Type of `msg` (simple, test-only).
pub fn top_param(msg: &[u8], name: &str) -> String {
    let text = String::from_utf8_lossy(msg);
    let header = text
        .split("\r\n\r\n")
        .next()
        .unwrap_or_default()
        .to_string();
    let needle = format!("{name}=\"");
    let at = header.find(&needle).expect("parameter present") + needle.len();
    let rest = &header[at..];
    rest[..rest.find('"').expect("closing quote")].to_string()
}

/// The parts of the top-level multipart of `msg` per RFC 2046 §5.1.1 (after CRLF conversion):
/// each part excludes the CRLF that precedes the next delimiter.
pub fn split_parts(msg: &[u8]) -> Vec<Vec<u8>> {
    let msg = to_crlf(msg);
    let boundary = top_param(&msg, "boundary");
    let delim = format!("\r\n--{boundary}");
    let text = msg.as_slice();
    let mut positions = Vec::new();
    let mut i = 0;
    while let Some(p) = find(&text[i..], delim.as_bytes()) {
        positions.push(i + p);
        i += p + delim.len();
    }
    let mut parts = Vec::new();
    for w in positions.windows(2) {
        let line_end = w[0] + find(&text[w[0] + 2..], b"\r\n").expect("eol") + 4;
        parts.push(text[line_end..w[1]].to_vec());
    }
    parts
}

pub fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

/// The body of a MIME part (after its blank line).
pub fn part_body(part: &[u8]) -> Vec<u8> {
    let at = find(part, b"\r\n\r\n").expect("blank line") + 4;
    part[at..].to_vec()
}

/// A temporary GNUPGHOME with the given TSKs and certs imported.
pub struct Gpg {
    pub home: tempfile::TempDir,
}

impl Gpg {
    pub fn new(keys: &[&str], certs: &[&str]) -> Self {
        let home = tempfile::tempdir().expect("tempdir");
        let g = Gpg { home };
        for k in keys {
            g.run(
                &["--import", key_path(k, "key").to_str().expect("path")],
                b"",
            );
        }
        for c in certs {
            g.run(
                &["--import", key_path(c, "cert").to_str().expect("path")],
                b"",
            );
        }
        g
    }

    /// Runs gpg with `args` and `stdin`; returns (success, stdout, stderr).
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> (bool, Vec<u8>, String) {
        let mut cmd = Command::new("gpg");
        cmd.arg("--homedir")
            .arg(self.home.path())
            .args([
                "--batch",
                "--yes",
                "--trust-model",
                "always",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ])
            .args(args);
        run(cmd, stdin)
    }

    /// Runs gpg as if at PEER_TIME (for signatures and encryption made by the peer).
    pub fn run_at_peer_time(&self, args: &[&str], stdin: &[u8]) -> (bool, Vec<u8>, String) {
        let t = format!("{PEER_TIME}!");
        let mut all = vec!["--faked-system-time", t.as_str(), "--ignore-time-conflict"];
        all.extend_from_slice(args);
        self.run(&all, stdin)
    }
}

pub fn run(mut cmd: Command, stdin: &[u8]) -> (bool, Vec<u8>, String) {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn peer");
    // Fed from a thread: a peer writes its output while it reads, and a large input would
    // otherwise fill both pipes and wait for ever.
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || input.write_all(&data));
    let out = child.wait_with_output().expect("wait");
    // A peer may stop reading early (and fail): its output says why, not a broken pipe.
    let _ = writer.join().expect("stdin writer");
    (
        out.status.success(),
        out.stdout,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Runs `sq` with `args`.
pub fn sq(args: &[&str], stdin: &[u8]) -> (bool, Vec<u8>, String) {
    let mut cmd = Command::new("sq");
    cmd.args(args);
    run(cmd, stdin)
}

/// Writes `data` to a file in `dir`.
pub fn write(dir: &Path, name: &str, data: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, data).expect("write temp file");
    p
}

/// A multipart/signed message around a canonical `part` and an armored detached `sig`.
pub fn assemble_signed(part: &[u8], sig: &[u8], micalg: &str, from: &str) -> Vec<u8> {
    let mut m = format!(
        "From: <{from}>\r\nTo: <alice@example.org>\r\nSubject: from a peer\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/signed; micalg={micalg};\r\n \
         protocol=\"application/pgp-signature\"; boundary=\"peer-b\"\r\n\r\n--peer-b\r\n"
    )
    .into_bytes();
    m.extend_from_slice(part);
    m.extend_from_slice(b"\r\n--peer-b\r\nContent-Type: application/pgp-signature\r\n\r\n");
    m.extend_from_slice(&to_crlf(sig));
    m.extend_from_slice(b"\r\n--peer-b--\r\n");
    m
}

/// A multipart/encrypted message around an armored OpenPGP message.
pub fn assemble_encrypted(armored: &[u8], from: &str) -> Vec<u8> {
    let mut m = format!(
        "From: <{from}>\r\nTo: <alice@example.org>\r\nSubject: secret from a peer\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/encrypted;\r\n \
         protocol=\"application/pgp-encrypted\"; boundary=\"peer-e\"\r\n\r\n\
         --peer-e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n\
         --peer-e\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
    .into_bytes();
    m.extend_from_slice(&to_crlf(armored));
    m.extend_from_slice(b"\r\n--peer-e--\r\n");
    m
}
