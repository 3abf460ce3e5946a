//! r10 (issue 10, point 2): OpenPGP keys that stay in gpg-agent. `--key` takes a fingerprint
//! or an address; the certificate comes from the GnuPG keyring of `$GNUPGHOME` and every
//! secret-key operation goes through a REAL gpg-agent (2.2), whose passphrase cache is preset
//! with `gpg-preset-passphrase` or fed through its loopback pinentry. The agent unreachable is
//! exit 75, the agent refusing (no passphrase cached, pinentry unavailable, wrong passphrase)
//! 77, a key the keyring or the agent does not have 67 — each with one line on stderr and
//! nothing on stdout.
//!
//! Every test has its own GNUPGHOME under /tmp (socket paths are limited to 108 bytes) and its
//! own agent, stopped on drop. The agent's pinentry is a program that does not exist, so a
//! passphrase the cache lacks can never be typed in, whatever terminal or display the test
//! runs under.

#![allow(clippy::unwrap_used)]

use crate::support::pgp;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::support::pgp::{part_body, split_parts};

/// OpenPGP tests run at this instant (testdata/keys/pgp/README.md); the key is made before it.
const PGP_NOW: &str = "2026-06-01T00:00:00Z";
/// When gpg makes the key and peers sign.
const KEY_TIME: &str = "20250101T000000!";
/// Distinctive, with a space and shell metacharacters, so a leak is easy to grep for.
const PASS: &str = "r10 agent&s3cret;pass";

/// A GnuPG home with carol's passphrase-protected Ed25519 signing key and Cv25519 encryption
/// subkey, and an agent that may take preset passphrases but has no usable pinentry.
struct Home {
    dir: tempfile::TempDir,
    fpr: String,
    grips: Vec<String>,
}

impl Home {
    fn new() -> Home {
        let dir = tempfile::Builder::new()
            .prefix("xa")
            .tempdir_in("/tmp")
            .unwrap();
        std::fs::write(
            dir.path().join("gpg-agent.conf"),
            "allow-preset-passphrase\npinentry-program /nonexistent/pinentry\n",
        )
        .unwrap();
        let mut h = Home {
            dir,
            fpr: String::new(),
            grips: Vec::new(),
        };
        h.gpg(&[
            "--quick-gen-key",
            "Carol <carol@example.org>",
            "ed25519",
            "sign,cert",
            "never",
        ]);
        h.fpr = h.listing("fpr").remove(0);
        h.gpg(&["--quick-add-key", &h.fpr, "cv25519", "encr", "never"]);
        h.grips = h.listing("grp");
        assert_eq!(h.grips.len(), 2, "primary and subkey grips");
        // Forget whatever the agent cached while gpg made the key.
        h.kill_agent();
        h
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Runs gpg in this home as the key's owner (loopback passphrase, at KEY_TIME).
    fn gpg(&self, args: &[&str]) -> Vec<u8> {
        let o = Command::new("gpg")
            .args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                PASS,
                "--faked-system-time",
                KEY_TIME,
                "--ignore-time-conflict",
            ])
            .args(args)
            .env("GNUPGHOME", self.path())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    }

    /// The `fpr` or `grp` fields of carol's secret key listing, primary first.
    fn listing(&self, record: &str) -> Vec<String> {
        let out = self.gpg(&[
            "--with-colons",
            "--with-keygrip",
            "--list-secret-keys",
            "carol@example.org",
        ]);
        String::from_utf8(out)
            .unwrap()
            .lines()
            .filter_map(|l| l.strip_prefix(&format!("{record}:")))
            .map(|l| l.trim_matches(':').to_owned())
            .collect()
    }

    /// Carol's public certificate, armored, in `dir`.
    fn export(&self, dir: &Path) -> String {
        let p = dir.join("carol.cert");
        std::fs::write(&p, self.gpg(&["--armor", "--export", &self.fpr])).unwrap();
        p.display().to_string()
    }

    /// Puts PASS into the agent's cache for both keys, as a user's login script might.
    fn preset(&self) {
        gpgconf(self.path(), &["--launch", "gpg-agent"]);
        let libexec = gpgconf(self.path(), &["--list-dirs", "libexecdir"]);
        let tool =
            PathBuf::from(String::from_utf8(libexec).unwrap().trim()).join("gpg-preset-passphrase");
        for grip in &self.grips {
            let o = Command::new(&tool)
                .args(["--preset", "-P", PASS, grip])
                .env("GNUPGHOME", self.path())
                .output()
                .unwrap();
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
    }

    fn kill_agent(&self) {
        gpgconf(self.path(), &["--kill", "gpg-agent"]);
    }
}

impl Drop for Home {
    fn drop(&mut self) {
        self.kill_agent();
    }
}

fn gpgconf(home: &Path, args: &[&str]) -> Vec<u8> {
    let o = Command::new("gpgconf")
        .args(args)
        .env("GNUPGHOME", home)
        .output()
        .unwrap();
    o.stdout
}

/// `ximf ARGS` with `stdin`, GNUPGHOME `home`, and nothing from the user's environment: no
/// config, no terminal or display for a pinentry.
/// `ximf verify` of `msg` with bob's key and `keyring` trusted: the text report (exit 0 asserted).
fn verify_as_bob(home: &Path, scratch: &Path, keyring: &str, msg: &[u8]) -> String {
    let bob_key = pgp::key_path("bob", "key").display().to_string();
    let args = [
        "--now",
        PGP_NOW,
        "verify",
        "--key",
        &bob_key,
        "--keyring",
        keyring,
    ];
    String::from_utf8_lossy(&ok(&ximf(home, scratch, &args, msg))).into_owned()
}

fn ximf(home: &Path, scratch: &Path, args: &[&str], stdin: &[u8]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ximf"));
    cmd.args(args);
    run(home, scratch, &mut cmd, stdin)
}

fn run(home: &Path, scratch: &Path, cmd: &mut Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    let user_home = scratch.join("home");
    std::fs::create_dir_all(&user_home).unwrap();
    let mut child = cmd
        .env("GNUPGHOME", home)
        .env("HOME", &user_home)
        .env("XDG_CONFIG_HOME", user_home.join(".config"))
        .env_remove("XIMF_CONFIG")
        .env_remove("XIMF_CONTEXT")
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .env_remove("GPG_TTY")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let o = child.wait_with_output().unwrap();
    for (what, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        assert!(
            !bytes.windows(PASS.len()).any(|w| w == PASS.as_bytes()),
            "the passphrase leaked to {what}"
        );
    }
    o
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn ok(o: &Output) -> Vec<u8> {
    assert_eq!(o.status.code(), Some(0), "{}", stderr(o));
    o.stdout.clone()
}

/// Exit `status`, stdout empty, one line on stderr from `cmd` containing `what` (and at most
/// one `hint:` line after it).
#[track_caller]
fn failed(o: &Output, status: i32, cmd: &str, what: &str) -> String {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(status), "{e}");
    assert!(o.stdout.is_empty(), "stdout must stay empty");
    let lines: Vec<&str> = e.lines().collect();
    assert!(
        lines.len() == 1 || (lines.len() == 2 && lines[1].starts_with("hint: ")),
        "one line and a hint at most: {e}"
    );
    assert!(lines[0].starts_with(&format!("ximf {cmd}: ")), "{e}");
    assert!(lines[0].contains(what), "{what:?} in {e}");
    e
}

fn message(to: &str) -> Vec<u8> {
    format!(
        "From: Carol <carol@example.org>\nTo: {to}\nSubject: r10 agent\nDate: Mon, 01 Jun 2026 00:00:00 +0000\nMessage-ID: <r10-agent@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nHello from carol's agent.\n"
    )
    .into_bytes()
}

fn sign_args(key: &str) -> Vec<&str> {
    vec![
        "--now",
        PGP_NOW,
        "protect",
        "--sign",
        "--mechanism",
        "openpgp",
        "--key",
        key,
    ]
}

/// A message to carol, encrypted by ximf with her public certificate alone.
fn encrypted_to_carol(h: &Home, scratch: &Path, cert: &str) -> Vec<u8> {
    ok(&ximf(
        h.path(),
        scratch,
        &[
            "--now",
            PGP_NOW,
            "protect",
            "--encrypt",
            "--mechanism",
            "openpgp",
            "--recipient",
            cert,
        ],
        &message("Carol <carol@example.org>"),
    ))
}

/// gpg checks the detached signature over the exact signed part.
#[track_caller]
fn gpg_verifies(h: &Home, scratch: &Path, signed: &[u8]) {
    let parts = split_parts(signed);
    assert_eq!(parts.len(), 2, "multipart/signed has two parts");
    let data = scratch.join("signed-part");
    let sig = scratch.join("signature.asc");
    std::fs::write(&data, &parts[0]).unwrap();
    std::fs::write(&sig, part_body(&parts[1])).unwrap();
    let o = Command::new("gpg")
        .args(["--batch", "--ignore-time-conflict", "--verify"])
        .arg(&sig)
        .arg(&data)
        .env("GNUPGHOME", h.path())
        .output()
        .unwrap();
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success() && e.contains("Good signature"),
        "gpg: {e}"
    );
    assert!(e.contains("carol@example.org"), "{e}");
}

#[test]
fn r10_agent_signs_with_a_preset_passphrase() {
    let h = Home::new();
    let scratch = tempfile::tempdir().unwrap();
    let s = scratch.path();
    let cert = h.export(s);
    h.preset();
    let spaced = h
        .fpr
        .as_bytes()
        .chunks(4)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect::<Vec<_>>()
        .join(" ");
    let prefixed = format!("0x{}", h.fpr.to_ascii_lowercase());
    for key in [h.fpr.as_str(), &prefixed, &spaced, "carol@example.org"] {
        let signed = ok(&ximf(
            h.path(),
            s,
            &sign_args(key),
            &message("Bob <bob@example.org>"),
        ));
        gpg_verifies(&h, s, &signed);
        let v = ximf(
            h.path(),
            s,
            &["--now", PGP_NOW, "verify", "--keyring", &cert],
            &signed,
        );
        let report = String::from_utf8_lossy(&ok(&v)).into_owned();
        assert!(
            report.contains("signature=openpgp:valid signer=carol@example.org"),
            "{key}: {report}"
        );
    }

    // Signed and encrypted: the agent signs inside the encryption.
    let bob = pgp::key_path("bob", "cert").display().to_string();
    let both = ok(&ximf(
        h.path(),
        s,
        &[
            "--now",
            PGP_NOW,
            "protect",
            "--sign",
            "--encrypt",
            "--mechanism",
            "openpgp",
            "--key",
            &h.fpr,
            "--recipient",
            &bob,
        ],
        &message("Bob <bob@example.org>"),
    ));
    let report = verify_as_bob(h.path(), s, &cert, &both);
    assert!(
        report.contains("signature=openpgp:valid signer=carol@example.org"),
        "{report}"
    );
}

#[test]
fn r10_agent_signs_for_sendmail() {
    let h = Home::new();
    let scratch = tempfile::tempdir().unwrap();
    let s = scratch.path();
    let cert = h.export(s);
    h.preset();
    let rec = s.join("rec").display().to_string();
    let fake = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/bin/fake-sendmail")
        .display()
        .to_string();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ximf"));
    cmd.args([
        "--now",
        PGP_NOW,
        "sendmail",
        "--set",
        "X-XIMF-Security-Classification=example-restricted",
        "--set",
        "X-XIMF-Primary-Precedence=routine",
        "--sign",
        "--mechanism",
        "openpgp",
        "--key",
        "carol@example.org",
        "--sendmail-command",
        &fake,
        "--",
        "bob@example.org",
    ])
    .env("FAKE_SENDMAIL_RECORD", &rec);
    ok(&run(
        h.path(),
        s,
        &mut cmd,
        &message("Bob <bob@example.org>"),
    ));
    let sent = std::fs::read(format!("{rec}.msg")).unwrap();
    gpg_verifies(&h, s, &sent);
    let v = ximf(
        h.path(),
        s,
        &["--now", PGP_NOW, "verify", "--keyring", &cert],
        &sent,
    );
    assert!(String::from_utf8_lossy(&ok(&v)).contains("signature=openpgp:valid"));
}

#[test]
fn r10_agent_decrypts() {
    let h = Home::new();
    let scratch = tempfile::tempdir().unwrap();
    let s = scratch.path();
    let cert = h.export(s);
    let encrypted = encrypted_to_carol(&h, s, &cert);
    h.preset();
    for key in [h.fpr.as_str(), "carol@example.org"] {
        let clear = ok(&ximf(
            h.path(),
            s,
            &["--now", PGP_NOW, "decrypt", "--key", key],
            &encrypted,
        ));
        let text = String::from_utf8_lossy(&clear);
        assert!(text.contains("Hello from carol's agent."), "{text}");
        assert!(text.contains("Subject: r10 agent"), "{text}");
    }
    let v = ximf(
        h.path(),
        s,
        &["--now", PGP_NOW, "verify", "--key", &h.fpr],
        &encrypted,
    );
    let report = String::from_utf8_lossy(&v.stdout).into_owned();
    assert!(report.contains("encryption=decrypted"), "{report}");

    // A message gpg itself encrypted to carol (as a peer would) opens the same way.
    let entity = s.join("entity");
    std::fs::write(
        &entity,
        "Content-Type: text/plain\r\n\r\nSealed by a peer.\r\n",
    )
    .unwrap();
    let armored = h.gpg(&[
        "--armor",
        "--trust-model",
        "always",
        "--encrypt",
        "--recipient",
        &h.fpr,
        "--output",
        "-",
        entity.to_str().unwrap(),
    ]);
    let peer = pgp::assemble_encrypted(&armored, "bob@example.org");
    let clear = ok(&ximf(
        h.path(),
        s,
        &["--now", PGP_NOW, "decrypt", "--key", &h.fpr],
        &peer,
    ));
    assert!(String::from_utf8_lossy(&clear).contains("Sealed by a peer."));
}

#[test]
fn r10_agent_refusal_is_77() {
    let h = Home::new();
    let scratch = tempfile::tempdir().unwrap();
    let s = scratch.path();
    let cert = h.export(s);
    let encrypted = encrypted_to_carol(&h, s, &cert);
    let msg = message("Bob <bob@example.org>");
    // Nothing cached and no pinentry: the agent refuses, ximf never asks.
    failed(
        &ximf(h.path(), s, &sign_args(&h.fpr), &msg),
        77,
        "protect",
        "gpg-agent refused",
    );
    let decrypt = ["--now", PGP_NOW, "decrypt", "--key", h.fpr.as_str()];
    failed(
        &ximf(h.path(), s, &decrypt, &encrypted),
        77,
        "decrypt",
        "gpg-agent refused",
    );
    let verify = ["--now", PGP_NOW, "verify", "--key", h.fpr.as_str()];
    failed(
        &ximf(h.path(), s, &verify, &encrypted),
        77,
        "verify",
        "gpg-agent refused",
    );

    // A passphrase file goes to the agent's loopback pinentry: a wrong one is refused...
    let wrong = s.join("wrong");
    std::fs::write(&wrong, "not the passphrase\n").unwrap();
    let wrong = wrong.display().to_string();
    let mut a = sign_args(&h.fpr);
    a.extend(["--passphrase-file", &wrong]);
    failed(
        &ximf(h.path(), s, &a, &msg),
        77,
        "protect",
        "Bad passphrase",
    );
    let mut d = decrypt.to_vec();
    d.extend(["--passphrase-file", &wrong]);
    failed(
        &ximf(h.path(), s, &d, &encrypted),
        77,
        "decrypt",
        "Bad passphrase",
    );

    // ... and the right one unlocks the key.
    let pass = s.join("pass");
    std::fs::write(&pass, format!("{PASS}\n")).unwrap();
    let pass = pass.display().to_string();
    let mut a = sign_args(&h.fpr);
    a.extend(["--passphrase-file", &pass]);
    gpg_verifies(&h, s, &ok(&ximf(h.path(), s, &a, &msg)));
    let mut d = decrypt.to_vec();
    d.extend(["--passphrase-file", &pass]);
    assert!(String::from_utf8_lossy(&ok(&ximf(h.path(), s, &d, &encrypted))).contains("Hello"));
}

#[test]
fn r10_agent_unreachable_is_75() {
    let h = Home::new();
    let scratch = tempfile::tempdir().unwrap();
    let s = scratch.path();
    let cert = h.export(s);
    let encrypted = encrypted_to_carol(&h, s, &cert);
    // Carol's keyring without a working agent: the socket is an Assuan redirect to a
    // directory that does not exist, so no agent can be reached or started.
    let dead = tempfile::Builder::new()
        .prefix("xd")
        .tempdir_in("/tmp")
        .unwrap();
    std::fs::copy(
        h.path().join("pubring.kbx"),
        dead.path().join("pubring.kbx"),
    )
    .unwrap();
    let socket = String::from_utf8(gpgconf(dead.path(), &["--list-dirs", "agent-socket"])).unwrap();
    std::fs::write(
        socket.trim(),
        "%Assuan%\nsocket=/nonexistent/ximf-r10/S.gpg-agent\n",
    )
    .unwrap();
    let msg = message("Bob <bob@example.org>");
    failed(
        &ximf(dead.path(), s, &sign_args(&h.fpr), &msg),
        75,
        "protect",
        "gpg-agent",
    );
    for cmd in ["decrypt", "verify"] {
        failed(
            &ximf(
                dead.path(),
                s,
                &["--now", PGP_NOW, cmd, "--key", "carol@example.org"],
                &encrypted,
            ),
            75,
            cmd,
            "not available",
        );
    }
    gpgconf(dead.path(), &["--kill", "gpg-agent"]);
}

#[test]
fn r10_agent_without_the_key_is_67() {
    let h = Home::new();
    let scratch = tempfile::tempdir().unwrap();
    let s = scratch.path();
    let cert = h.export(s);
    let encrypted = encrypted_to_carol(&h, s, &cert);
    let msg = message("Bob <bob@example.org>");
    // Not in the keyring at all, by address or by fingerprint.
    failed(
        &ximf(h.path(), s, &sign_args("dave@example.org"), &msg),
        67,
        "protect",
        "dave@example.org",
    );
    let nobody = "0123456789ABCDEF0123456789ABCDEF01234567";
    failed(
        &ximf(h.path(), s, &sign_args(nobody), &msg),
        67,
        "protect",
        nobody,
    );
    // In the keyring, but the agent holds no secret for it (another user's certificate).
    let other = tempfile::Builder::new()
        .prefix("xo")
        .tempdir_in("/tmp")
        .unwrap();
    let o = Command::new("gpg")
        .args(["--batch", "--import", &cert])
        .env("GNUPGHOME", other.path())
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    failed(
        &ximf(other.path(), s, &sign_args(&h.fpr), &msg),
        67,
        "protect",
        "holds no secret",
    );
    failed(
        &ximf(
            other.path(),
            s,
            &["--now", PGP_NOW, "decrypt", "--key", &h.fpr],
            &encrypted,
        ),
        67,
        "decrypt",
        "holds no secret",
    );
    gpgconf(other.path(), &["--kill", "gpg-agent"]);
}

/// The library API: a [`ximf::pgp::SigningKey::Agent`] with the socket the caller found signs
/// inside the encryption (RFC 3156 §6.2 combined), which the CLI never asks for.
#[test]
fn r10_agent_library_signs_combined() {
    use ximf::pgp::{Agent, EncryptOptions, SigningKey};
    let h = Home::new();
    let scratch = tempfile::tempdir().unwrap();
    let s = scratch.path();
    let cert_path = h.export(s);
    h.preset();
    let socket = String::from_utf8(gpgconf(h.path(), &["--list-dirs", "agent-socket"])).unwrap();
    let carol = ximf::pgp::load_keys(&std::fs::read(&cert_path).unwrap())
        .unwrap()
        .remove(0);
    assert!(!carol.is_tsk(), "only the public certificate");
    let signer = SigningKey::Agent(carol, Agent::new(socket.trim()));
    let opts = EncryptOptions::new(pgp::NOW).signed_by(signer, true);
    let sealed = ximf::pgp::encrypt(
        &message("Bob <bob@example.org>"),
        &[pgp::cert("bob")],
        &opts,
    )
    .unwrap();
    let report = verify_as_bob(h.path(), s, &cert_path, &sealed);
    assert!(
        report.contains("signature=openpgp:valid signer=carol@example.org"),
        "{report}"
    );
}
