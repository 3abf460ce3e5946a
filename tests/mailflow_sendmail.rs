//! `ximf sendmail` against the recording stand-in sendmail (testdata/bin/fake-sendmail): the
//! argv reaches the real sendmail verbatim, the message is stamped and conforms, its status is
//! passed through, and every fault leaves the message in the dead-letter file (design.md §2,
//! §8: nothing sent on failure, nothing lost).

use crate::support::fixtures::to_crlf;
use crate::support::mailflow::*;
use std::path::Path;
use std::process::{Command, Output};

/// Runs `ximf sendmail ARGS` with HOME in `s` (so the default dead letter is `s/dead.letter`)
/// and no configuration from the environment.
fn sendmail(s: &Scratch, args: &[&str], env: &[(&str, &str)], msg: &[u8]) -> Output {
    sendmail_in(s)
        .args(args)
        .envs(env.iter().copied())
        .stdin(msg)
        .run()
}

fn fake() -> String {
    fake_sendmail().display().to_string()
}

fn calls(s: &Scratch) -> usize {
    std::fs::read_to_string(s.join("rec.calls"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

fn recorded_argv(s: &Scratch) -> Vec<String> {
    std::fs::read_to_string(s.join("rec.argv"))
        .expect("argv recorded")
        .lines()
        .map(str::to_owned)
        .collect()
}

fn dead_letter(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// One stderr line `ximf sendmail: ...` saying nothing was sent and where the message is.
fn assert_refusal(o: &Output, want_code: i32, dead: &Path, msg: &str) {
    let e = err(o);
    assert_eq!(code(o), want_code, "stderr: {e}");
    assert!(o.stdout.is_empty(), "stdout: {}", out(o));
    // The real sendmail may have said something first; ximf says one line of its own.
    let ours: Vec<&str> = e
        .lines()
        .filter(|l| l.starts_with("ximf sendmail: "))
        .collect();
    assert_eq!(ours.len(), 1, "{e}");
    let first = ours[0];
    assert!(first.contains("nothing sent"), "{e}");
    assert!(
        first.contains(&format!("kept in {}", dead.display())),
        "{e}"
    );
    let kept = dead_letter(dead);
    assert!(kept.starts_with("From "), "{kept}");
    // mboxrd: the body's "From " line is quoted once, everything else is as it came.
    let unquoted = kept.replace("\n>From the figures", "\nFrom the figures");
    assert!(
        unquoted.contains(msg),
        "dead letter lacks the message:\n{kept}"
    );
}

const MUTT_ARGV: &[&str] = &[
    "-B8BITMIME",
    "-f",
    "alice@example.org",
    "-N",
    "failure,delay",
    "-R",
    "hdrs",
    "--",
    "bob@example.org",
    "carol@example.org",
];

#[test]
fn stamps_and_passes_mutts_argv_verbatim() {
    let s = Scratch::new();
    let fake = fake();
    let profile = root().join("profiles/builtin").display().to_string();
    let mut args = vec![
        "-p",
        &profile,
        "--sendmail-command",
        &fake,
        "--set",
        "X-XIMF-Security-Classification=example-restricted",
        "--set",
        "X-XIMF-Primary-Precedence=routine",
    ];
    args.extend(MUTT_ARGV);
    let o = sendmail(&s, &args, &[], PLAIN.as_bytes());
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(o.stdout.is_empty() && o.stderr.is_empty(), "{o:?}");
    assert_eq!(recorded_argv(&s), MUTT_ARGV);
    let sent = std::fs::read(s.join("rec.msg")).expect("message recorded");
    let h = header(&sent);
    assert!(h.contains("X-XIMF-NAME: Example"), "{h}");
    assert!(h.contains("X-XIMF-Primary-Precedence: routine"), "{h}");
    assert!(
        h.contains("X-XIMF-Security-Classification-Identifier: 2"),
        "{h}"
    );
    assert!(
        String::from_utf8_lossy(&sent).ends_with("\n\nHello Bob,\nFrom the figures: all good.\n")
    );
    let (c, report) = verify(&sent);
    assert_eq!(c, 0, "{report}");
    assert!(!s.join("dead.letter").exists());
}

#[test]
fn values_in_the_message_are_kept_and_flags_and_config_fill_the_rest() {
    let s = Scratch::new();
    let config = s.write(
        "config.toml",
        format!(
            "sendmail_command = [\"{}\"]\n[set]\n\"X-XIMF-Primary-Precedence\" = \"routine\"\n\
             \"X-XIMF-Copy-Precedence\" = \"routine\"\n\"X-XIMF-Subject-Indicator-Codes\" = \
             [\"ABC\", \"DEF\"]\n",
            fake()
        ),
    );
    // As mutt's my_hdr puts them: the user's own choice of classification and precedence.
    let msg = PLAIN.replacen(
        "Subject:",
        "X-XIMF-Security-Classification: example-confidential\n\
         X-XIMF-Primary-Precedence: flash\nSubject:",
        1,
    );
    let o = sendmail(
        &s,
        &[
            "--config",
            config.to_str().expect("utf8"),
            "--set",
            "X-XIMF-Primary-Precedence=priority",
            "--set",
            "X-XIMF-Privacy-Mark=example-staff-only",
            "-oi",
            "-t",
        ],
        &[],
        msg.as_bytes(),
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_eq!(recorded_argv(&s), ["-oi", "-t"]);
    let sent = std::fs::read(s.join("rec.msg")).expect("sent");
    let h = header(&sent);
    assert!(
        h.contains("X-XIMF-Security-Classification: example-confidential"),
        "{h}"
    );
    assert!(h.contains("X-XIMF-Primary-Precedence: flash"), "{h}");
    assert!(
        !h.contains("priority") && !h.contains("X-XIMF-Primary-Precedence: routine"),
        "{h}"
    );
    assert!(h.contains("X-XIMF-Privacy-Mark: example-staff-only"), "{h}");
    assert!(h.contains("X-XIMF-Copy-Precedence: routine"), "{h}");
    assert!(h.contains("X-XIMF-Subject-Indicator-Codes: ABC;DEF"), "{h}");
    // Exactly one of each: the user's fields were replaced by stamp's, not duplicated.
    assert_eq!(h.matches("X-XIMF-Primary-Precedence:").count(), 1, "{h}");
    let (c, report) = verify(&sent);
    assert_eq!(c, 0, "{report}");
}

#[test]
fn a_message_that_breaks_the_profile_is_not_sent() {
    let s = Scratch::new();
    let msg = PLAIN.replacen(
        "Subject:",
        "X-XIMF-Security-Classification: top-secret\nSubject:",
        1,
    );
    let o = sendmail(
        &s,
        &[
            "--sendmail-command",
            &fake(),
            "--set",
            "X-XIMF-Primary-Precedence=routine",
        ],
        &[],
        msg.as_bytes(),
    );
    let args_with_rcpt = sendmail(
        &s,
        &[
            "--sendmail-command",
            &fake(),
            "--set",
            "X-XIMF-Primary-Precedence=routine",
            "--",
            "bob@example.org",
        ],
        &[],
        msg.as_bytes(),
    );
    // Without recipients: a usage error (64), with them: the bad value (65). Both keep it.
    assert_refusal(&o, 64, &s.join("dead.letter"), &msg);
    assert_refusal(&args_with_rcpt, 65, &s.join("dead.letter"), &msg);
    assert!(err(&args_with_rcpt).contains("X-XIMF-Security-Classification"));
    assert_eq!(calls(&s), 0, "the real sendmail must never be called");
    assert_eq!(
        dead_letter(&s.join("dead.letter"))
            .matches("\nFrom ")
            .count()
            + 1,
        2
    );
}

/// r7: a small message fits in the pipe buffer, so a real sendmail that exits 0 without reading
/// it breaks no pipe; ximf still notices and keeps the message (74).
#[test]
fn r7_small_message_ignored_by_the_real_sendmail_is_kept() {
    let s = Scratch::new();
    let dead = s.join("kept.mbox");
    let o = sendmail(
        &s,
        &[
            "--sendmail-command",
            &fake(),
            "--dead-letter",
            dead.to_str().expect("utf8"),
            "--set",
            "X-XIMF-Security-Classification=example-restricted",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
            "--",
            "bob@example.org",
        ],
        &[
            ("FAKE_SENDMAIL_MODE", "noread"),
            ("FAKE_SENDMAIL_EXIT", "0"),
        ],
        PLAIN.as_bytes(),
    );
    assert!(
        err(&o).contains("without reading the whole message"),
        "{}",
        err(&o)
    );
    assert_refusal(&o, 74, &dead, PLAIN);
}

#[test]
fn faults_keep_the_message() {
    // (mode, exit status of the stand-in, expected exit status of ximf, stderr mentions)
    let cases: &[(&str, &str, i32, &str)] = &[
        ("read", "75", 75, "exited with status 75"),
        ("read", "1", 1, "exited with status 1"),
        ("kill", "0", 75, "killed by signal 9"),
        ("full", "0", 74, "exited with status 74"),
        ("noread", "0", 74, "without reading the whole message"),
        ("noread", "69", 69, "exited with status 69"),
        ("hang", "0", 75, "no answer within 2 s"),
    ];
    // Larger than a pipe buffer, so a stand-in that reads nothing breaks the pipe.
    let big = format!("{PLAIN}{}", "All good, truly.\n".repeat(100_000));
    for (mode, status, want, says) in cases {
        let s = Scratch::new();
        let dead = s.join("kept.mbox");
        let o = sendmail(
            &s,
            &[
                "--sendmail-command",
                &fake(),
                "--dead-letter",
                dead.to_str().expect("utf8"),
                "--timeout",
                "2",
                "--set",
                "X-XIMF-Security-Classification=example-restricted",
                "--set",
                "X-XIMF-Primary-Precedence=routine",
                "-f",
                "alice@example.org",
                "--",
                "bob@example.org",
            ],
            &[("FAKE_SENDMAIL_MODE", mode), ("FAKE_SENDMAIL_EXIT", status)],
            big.as_bytes(),
        );
        assert!(err(&o).contains(says), "{mode}/{status}: {}", err(&o));
        assert_refusal(&o, *want, &dead, &big);
        assert!(dead_letter(&dead).starts_with("From alice@example.org "));
        assert_eq!(calls(&s), 1, "{mode}");
    }
}

#[test]
fn a_missing_real_sendmail_is_69() {
    let s = Scratch::new();
    let o = sendmail(
        &s,
        &[
            "--sendmail-command",
            "/nonexistent/sendmail",
            "--set",
            "X-XIMF-Security-Classification=example-restricted",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
            "-t",
        ],
        &[],
        PLAIN.as_bytes(),
    );
    assert_refusal(&o, 69, &s.join("dead.letter"), PLAIN);
    assert!(
        err(&o).contains("/nonexistent/sendmail: cannot run"),
        "{}",
        err(&o)
    );
    // Not executable is the same answer.
    let not_exec = s.write("not-exec", "#!/bin/sh\nexit 0\n");
    let o = sendmail(
        &s,
        &["--sendmail-command", not_exec.to_str().expect("utf8"), "-t"],
        &[],
        PLAIN
            .replacen("Subject:", "X-XIMF-NAME: smtp\nSubject:", 1)
            .as_bytes(),
    );
    assert_eq!(code(&o), 69, "{}", err(&o));
}

#[test]
fn protection_without_keys_is_67_and_nothing_is_sent() {
    let s = Scratch::new();
    for flag in ["--sign", "--encrypt"] {
        let o = sendmail(
            &s,
            &[
                "--sendmail-command",
                &fake(),
                flag,
                "--set",
                "X-XIMF-Security-Classification=example-restricted",
                "--set",
                "X-XIMF-Primary-Precedence=routine",
                "--",
                "bob@example.org",
            ],
            &[],
            PLAIN.as_bytes(),
        );
        assert_refusal(&o, 67, &s.join("dead.letter"), PLAIN);
        assert!(err(&o).contains("no key or certificate"), "{}", err(&o));
    }
    assert_eq!(calls(&s), 0);
}

fn key(rel: &str) -> String {
    root().join("testdata/keys").join(rel).display().to_string()
}

/// Signed and encrypted with S/MIME on the way out: the recorded message verifies and decrypts
/// with the real openssl, and with ximf.
#[test]
fn protected_message_goes_out_and_verifies_with_openssl() {
    let s = Scratch::new();
    let o = sendmail(
        &s,
        &[
            "--sendmail-command",
            &fake(),
            "--now",
            "2026-11-29T00:00:00Z",
            "--sign",
            "--encrypt",
            "--mechanism",
            "smime",
            "--key",
            &key("smime/alice.key"),
            "--cert",
            &key("smime/alice.chain.pem"),
            "--recipient",
            &key("smime/bob.crt"),
            "--set",
            "X-XIMF-Security-Classification=example-restricted",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
            "--",
            "bob@example.org",
        ],
        &[],
        PLAIN.as_bytes(),
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let sent = std::fs::read(s.join("rec.msg")).expect("sent");
    let text = String::from_utf8_lossy(&sent);
    assert!(text.contains("application/pkcs7-mime"), "{text}");
    assert!(
        text.contains("X-XIMF-NAME: Example"),
        "routing fields stay outside"
    );
    // openssl decrypts with Bob's key, then verifies Alice's signature against the test root.
    let enc = s.write("enc.eml", &sent);
    let dec = s.join("dec.eml");
    let d = run(
        Command::new("openssl")
            .args(["cms", "-decrypt", "-in"])
            .arg(&enc)
            .args([
                "-recip",
                &key("smime/bob.crt"),
                "-inkey",
                &key("smime/bob.key"),
                "-out",
            ])
            .arg(&dec),
        b"",
    );
    assert_eq!(code(&d), 0, "{}", err(&d));
    let v = run(
        Command::new("openssl")
            .args(["cms", "-verify", "-in"])
            .arg(&dec)
            .args(["-CAfile", &key("smime/root.crt"), "-out", "/dev/null"]),
        b"",
    );
    assert_eq!(code(&v), 0, "openssl cms -verify: {}", err(&v));
    // ximf decrypts and verifies it too.
    let x = run(
        Command::new(ximf_bin()).args([
            "--now",
            "2026-11-29T00:00:00Z",
            "verify",
            "--format",
            "json",
            "--ca",
            &key("smime/root.crt"),
            "--key",
            &key("smime/bob.key"),
            "--cert",
            &key("smime/bob.crt"),
            "-",
        ]),
        &sent,
    );
    assert_eq!(code(&x), 0, "{}", out(&x));
    assert!(out(&x).contains("\"status\": \"decrypted\""), "{}", out(&x));
    assert!(out(&x).contains("\"status\": \"valid\""), "{}", out(&x));
}

/// The config names the sender's OpenPGP key: no key flags needed; gpg-compatible output that
/// ximf verifies against the sender's cert.
#[test]
fn config_identities_sign_with_openpgp() {
    let s = Scratch::new();
    let cfg = s.write(
        "config.toml",
        format!(
            "sign = true\nmechanism = \"openpgp\"\n[identities.\"alice@example.org\"]\nkey = \"{}\"\n",
            key("pgp/alice.key")
        ),
    );
    let o = sendmail(
        &s,
        &[
            "--config",
            &cfg.display().to_string(),
            "--sendmail-command",
            &fake(),
            "--set",
            "X-XIMF-Security-Classification=example-restricted",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
            "-f",
            "alice@example.org",
            "--",
            "bob@example.org",
        ],
        &[],
        PLAIN.as_bytes(),
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let sent = std::fs::read(s.join("rec.msg")).expect("sent");
    assert!(String::from_utf8_lossy(&sent).contains("application/pgp-signature"));
    let x = run(
        Command::new(ximf_bin()).args(["verify", "--keyring", &key("pgp/alice.cert"), "-"]),
        &sent,
    );
    assert_eq!(code(&x), 0, "{}", out(&x));
}

#[test]
fn the_dead_letter_on_a_full_disk_is_reported_and_the_status_kept() {
    let s = Scratch::new();
    let o = sendmail(
        &s,
        &[
            "--sendmail-command",
            &fake(),
            "--dead-letter",
            "/dev/full",
            "--",
            "bob@example.org",
        ],
        &[],
        PLAIN.as_bytes(),
    );
    // Missing mandatory values: 65 stays the answer; the line says the copy failed too.
    assert_eq!(code(&o), 65, "{}", err(&o));
    assert!(err(&o).contains("message NOT kept"), "{}", err(&o));
    assert_eq!(calls(&s), 0);
}

#[test]
fn oversized_messages_are_kept_whole() {
    let s = Scratch::new();
    let o = sendmail(
        &s,
        &["--max-size", "100", "--sendmail-command", &fake(), "-t"],
        &[],
        PLAIN.as_bytes(),
    );
    assert_refusal(&o, 65, &s.join("dead.letter"), PLAIN);
    assert_eq!(calls(&s), 0);
}

#[test]
fn config_errors_and_loops_are_78() {
    let s = Scratch::new();
    let bad = s.write("bad.toml", "sendmail_comand = \"/bin/true\"\n");
    let o = sendmail(
        &s,
        &["--config", bad.to_str().expect("utf8"), "-t"],
        &[],
        PLAIN.as_bytes(),
    );
    assert_refusal(&o, 78, &s.join("dead.letter"), PLAIN);
    assert!(err(&o).contains("bad.toml:1:1"), "{}", err(&o));
    // $XIMF_CONFIG is read when --config is absent; a missing explicit file is an error.
    let o = sendmail(
        &s,
        &["-t"],
        &[("XIMF_CONFIG", "/nonexistent/ximf.toml")],
        PLAIN.as_bytes(),
    );
    assert_eq!(code(&o), 78, "{}", err(&o));
    // A real sendmail that is ximf sendmail again would loop: the inner one refuses (78) and
    // the outer passes that status through.
    let again = s.script(
        "again",
        &format!("#!/bin/sh\nexec {} sendmail \"$@\"\n", ximf_bin().display()),
    );
    let o = sendmail(
        &s,
        &[
            "--sendmail-command",
            again.to_str().expect("utf8"),
            "--set",
            "X-XIMF-Security-Classification=example-restricted",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
            "-t",
        ],
        &[],
        PLAIN.as_bytes(),
    );
    assert_eq!(code(&o), 78, "{}", err(&o));
    assert!(err(&o).contains("XIMF_SENDMAIL_DEPTH"), "{}", err(&o));
}

#[test]
fn sendmail_modes_other_than_delivery_are_usage_errors() {
    let s = Scratch::new();
    for args in [&["-bs"][..], &["-q"], &["-bp"], &["--bogus", "-t"]] {
        let o = sendmail(&s, args, &[], PLAIN.as_bytes());
        assert_eq!(code(&o), 64, "{args:?}: {}", err(&o));
    }
    assert_eq!(calls(&s), 0);
    let o = sendmail(&s, &["--help"], &[], b"");
    assert_eq!(code(&o), 0);
    assert!(out(&o).contains("--sendmail-command"), "{}", out(&o));
}

#[test]
fn crlf_messages_go_out_crlf() {
    let s = Scratch::new();
    let crlf = to_crlf(PLAIN.as_bytes());
    let o = sendmail(
        &s,
        &[
            "--sendmail-command",
            &fake(),
            "--set",
            "X-XIMF-Security-Classification=example-restricted",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
            "-t",
        ],
        &[],
        &crlf,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let sent = std::fs::read(s.join("rec.msg")).expect("sent");
    assert!(String::from_utf8_lossy(&sent).contains("X-XIMF-NAME: Example\r\n"));
    assert_eq!(
        sent.iter().filter(|&&b| b == b'\n').count(),
        sent.windows(2).filter(|w| w == b"\r\n").count()
    );
}
