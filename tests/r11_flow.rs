//! Issue 11, points 4-6, through the real binary: `verify` judges every message of an mbox and
//! `--annotate` writes it back as an mbox; an empty mailbox or maildir is reported (66); an
//! oversize message passes a filter unchanged below a `none (too large)` verdict, in bounded
//! memory; `sendmail` holds every envelope recipient to the correspondence type's rules and
//! takes a shell-quoted `--sendmail-command`; `stamp` and `sendmail` name every missing field.

use crate::support::mailflow::*;
use crate::support::{Ximf, measure};
use std::process::{Command, Output};

const ID: &str = "mx.example.org";

fn ximf_run(args: &[&str], stdin: &[u8]) -> Output {
    Ximf::new()
        .args(args)
        .no_config_env()
        .env("HOME", "/nonexistent")
        .stdin(stdin)
        .run()
}

/// A message conforming to the built-in profile, with `subject`.
fn stamped(subject: &str) -> Vec<u8> {
    let o = ximf_run(
        &[
            "stamp",
            "--set",
            "X-XIMF-Security-Classification=example-restricted",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
        ],
        PLAIN.replace("Quarterly figures", subject).as_bytes(),
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    o.stdout
}

fn postmark(n: u32) -> String {
    format!("From alice@example.org Mon Nov 30 10:0{n}:00 2026\n")
}

/// Three messages; the second has a classification the profile does not allow. The first
/// body holds a quoted `>From ` line and an unquoted `From the figures` line.
fn mailbox() -> (Vec<u8>, usize) {
    let first = String::from_utf8(stamped("one"))
        .expect("utf8")
        .replace("Hello Bob,\n", "Hello Bob,\n>From the archive\n");
    let second = String::from_utf8(stamped("two"))
        .expect("utf8")
        .replace("example-restricted", "example-tampered");
    let third = String::from_utf8(stamped("three")).expect("utf8");
    let mut m = format!("{}{first}\n", postmark(1));
    let offset = m.len();
    m.push_str(&format!(
        "{}{second}\n{}{third}\n",
        postmark(2),
        postmark(3)
    ));
    (m.into_bytes(), offset)
}

#[test]
fn mbox_every_message_is_judged() {
    let s = Scratch::new();
    let (mbox, offset) = mailbox();
    let path = s.write("mailbox.mbox", &mbox);
    let p = path.display().to_string();
    let o = ximf_run(&["verify", &p], b"");
    assert_eq!(code(&o), 1, "{}{}", out(&o), err(&o));
    let text = out(&o);
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].starts_with(&format!("{p}: message 1 at byte 0: pass")),
        "{text}"
    );
    assert!(
        lines[1].starts_with(&format!("{p}: message 2 at byte {offset}: fail")),
        "{text}"
    );
    assert!(
        lines[2].contains(": message 3 at byte ") && lines[2].contains(": pass"),
        "{text}"
    );
    assert!(text.contains("example-tampered"), "{text}");

    let o = ximf_run(&["--format", "json", "verify", &p], b"");
    assert_eq!(code(&o), 1, "{}", err(&o));
    let objs: Vec<serde_json::Value> = out(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(objs.len(), 3);
    assert_eq!(objs[1]["index"], 2);
    assert_eq!(objs[1]["offset"], offset);
    assert_eq!(objs[1]["verdict"], "fail");
    assert_eq!(objs[0]["verdict"], "pass");
    assert_eq!(objs[1]["file"], p.as_str());
}

/// Several files in one batch: each mbox among them is judged message by message, as when it
/// is named alone (stop 17: only the first message of each was judged).
#[test]
fn mboxes_in_a_batch_are_judged_message_by_message() {
    let s = Scratch::new();
    let (mbox, offset) = mailbox();
    let a = s.write("a.mbox", &mbox);
    // The second mailbox: the tampered message first, CRLF.
    let second = String::from_utf8(mbox.clone()).expect("utf8");
    let second = second
        .replacen(&postmark(1), &postmark(4), 1)
        .replace('\n', "\r\n");
    let b = s.write("b.mbox", second.as_bytes());
    let single = s.write("single.eml", stamped("alone"));
    let (pa, pb, ps) = (
        a.display().to_string(),
        b.display().to_string(),
        single.display().to_string(),
    );
    let o = ximf_run(&["verify", &pa, &pb, &ps], b"");
    assert_eq!(code(&o), 1, "{}{}", out(&o), err(&o));
    let text = out(&o);
    let lines: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).collect();
    assert_eq!(lines.len(), 7, "{text}");
    for (file, crlf) in [(&pa, 0), (&pb, 1)] {
        let mine: Vec<&&str> = lines
            .iter()
            .filter(|l| l.starts_with(&format!("{file}: message ")))
            .collect();
        assert_eq!(mine.len(), 3, "{text}");
        let off = offset + crlf * mbox[..offset].iter().filter(|&&c| c == b'\n').count();
        assert!(
            mine[1].starts_with(&format!("{file}: message 2 at byte {off}: fail")),
            "{text}"
        );
        assert!(
            mine[0].contains(": pass") && mine[2].contains(": pass"),
            "{text}"
        );
    }
    assert!(
        lines.iter().any(|l| l.starts_with(&format!("{ps}: pass"))),
        "{text}"
    );

    let o = ximf_run(&["--format", "json", "verify", &pa, &ps], b"");
    let objs: Vec<serde_json::Value> = out(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(objs.len(), 4, "{}", out(&o));
    let second = objs.iter().find(|v| v["index"] == 2).expect("message 2");
    assert_eq!(second["file"], pa.as_str());
    assert_eq!(second["offset"], offset);
    assert_eq!(second["verdict"], "fail");
    // A message of a mailbox in a batch is held to --max-size like any.
    let o = ximf_run(&["--max-size", "200", "verify", &pa, &ps], b"");
    assert_eq!(code(&o), 1, "{}", err(&o));
    let text = out(&o);
    assert_eq!(text.matches("exceeds the size limit").count(), 4, "{text}");
}

#[test]
fn mbox_annotated_is_the_same_mbox_with_verdicts() {
    let (mbox, _) = mailbox();
    let o = ximf_run(&["verify", "--annotate", "--authserv-id", ID, "-"], &mbox);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let text = out(&o);
    assert!(text.starts_with(&postmark(1)), "{text}");
    let verdicts: Vec<&str> = text
        .lines()
        .filter(|l| l.starts_with("X-XIMF-Verify: "))
        .map(|l| &l[15..19])
        .collect();
    assert_eq!(verdicts, ["pass", "fail", "pass"], "{text}");
    // Without the added fields, byte for byte what came in: From_ lines, the `>From` quoting
    // and the unquoted body line that is no postmark.
    let mut without = String::new();
    let mut in_verdict = false;
    for l in text.split_inclusive('\n') {
        // A verdict field and its folded continuation lines.
        in_verdict = l.starts_with("X-XIMF-Verify: ") || (in_verdict && l.starts_with(' '));
        if !in_verdict {
            without.push_str(l);
        }
    }
    assert_eq!(without.as_bytes(), mbox.as_slice());
    assert!(text.contains("\n>From the archive\n"), "{text}");
    // Each annotated message sits right below its From_ line.
    assert!(
        text.contains(&format!("{}X-XIMF-Verify: fail", postmark(2))),
        "{text}"
    );
}

#[test]
fn empty_mailbox_and_maildir_are_reported() {
    let s = Scratch::new();
    let empty = s.write("empty.mbox", b"");
    let o = ximf_run(&["verify", &empty.display().to_string()], b"");
    assert_eq!(code(&o), 66, "{}", err(&o));
    assert!(o.stdout.is_empty());
    let e = err(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.starts_with("ximf verify: ") && e.contains("no message"),
        "{e}"
    );

    let maildir = s.join("Maildir");
    for d in ["cur", "new", "tmp", ".Sent/cur", ".Sent/new"] {
        std::fs::create_dir_all(maildir.join(d)).expect("mkdir");
    }
    let o = ximf_run(&["verify", &maildir.display().to_string()], b"");
    assert_eq!(code(&o), 66, "{}", err(&o));
    let e = err(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("Maildir") && e.contains("no message"), "{e}");
    // A Maildir++ folder's message counts.
    std::fs::write(maildir.join(".Sent/cur/1.eml"), stamped("sent")).expect("write");
    let o = ximf_run(&["verify", &maildir.display().to_string()], b"");
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    assert!(out(&o).contains(".Sent/cur/1.eml: pass"), "{}", out(&o));
}

#[test]
fn oversize_message_passes_through_annotate_in_bounded_memory() {
    let s = Scratch::new();
    let forged = format!("X-XIMF-Verify: pass (authserv-id={ID}; instance=Example)\n");
    let head = format!(
        "{forged}{}",
        String::from_utf8(stamped("big")).expect("utf8")
    );
    let mut input = head.into_bytes();
    let line = b"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789\n";
    while input.len() < 100 << 20 {
        input.extend_from_slice(line);
    }
    let path = s.write("big.eml", &input);
    let outfile = s.join("out.eml");
    let (outfile_arg, path_arg) = (outfile.display().to_string(), path.display().to_string());
    let m = measure::run(
        &[
            "--max-size",
            "1048576",
            "verify",
            "--annotate",
            "--authserv-id",
            ID,
            "-o",
            &outfile_arg,
            &path_arg,
        ],
        b"",
    );
    assert_eq!(m.code, 0, "{}", m.stderr);
    let rss_kib = m.rss_kib;
    assert!(rss_kib > 0, "max RSS: {}", m.stderr);
    assert!(
        rss_kib < 40 * 1024,
        "max RSS {rss_kib} KiB for a 100 MiB message"
    );
    let got = std::fs::read(&outfile).expect("output");
    let (field, rest) = first_field(&got);
    assert_eq!(
        field,
        format!("X-XIMF-Verify: none (authserv-id={ID}; too large: over 1048576 bytes)")
    );
    let want = &input[forged.len()..];
    assert!(
        rest == want,
        "output differs (len {} vs {})",
        rest.len(),
        want.len()
    );

    // On stdout too, and without -o.
    let o = ximf_run(
        &[
            "--max-size",
            "1000",
            "verify",
            "--annotate",
            "--authserv-id",
            ID,
        ],
        &input[..200_000],
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let (field, rest) = first_field(&o.stdout);
    assert!(field.starts_with("X-XIMF-Verify: none ("), "{}", err(&o));
    assert_eq!(rest, &input[forged.len()..200_000]);
    // Without --annotate, the limit is still exit 65.
    let o = ximf_run(&["--max-size", "1000", "verify"], &input[..200_000]);
    assert_eq!(code(&o), 65, "{}", err(&o));
}

/// The first field of `message`, unfolded, and the bytes after it.
fn first_field(message: &[u8]) -> (String, &[u8]) {
    let mut end = 0;
    for line in message.split_inclusive(|&b| b == b'\n') {
        if end > 0 && !line.starts_with(b" ") && !line.starts_with(b"\t") {
            break;
        }
        end += line.len();
    }
    let field = String::from_utf8_lossy(&message[..end])
        .replace("\n ", " ")
        .replace("\n\t", " ")
        .trim_end()
        .to_owned();
    (field, &message[end..])
}

fn corporate() -> String {
    root()
        .join("schemas/examples/corporate.xml")
        .display()
        .to_string()
}

/// Monday 2026-11-30 10:00 at +01:00: office hours for corporate.xml.
const MONDAY: &str = "2026-11-30T09:00:00Z";

fn corporate_message(to: &str, cc: Option<&str>) -> Vec<u8> {
    let mut m = format!("From: Alice <alice@example.org>\nTo: {to}\n");
    if let Some(cc) = cc {
        m.push_str(&format!("Cc: {cc}\n"));
    }
    m.push_str("Subject: figures\nDate: Mon, 30 Nov 2026 09:00:00 +0000\n\nbody\n");
    m.into_bytes()
}

/// `ximf sendmail` with the recording stand-in; (output, calls of the stand-in).
fn sendmail(s: &Scratch, args: &[&str], msg: &[u8]) -> (Output, usize) {
    let rec = s.join("rec");
    let dead = s.join("dead.letter").display().to_string();
    let fake = fake_sendmail().display().to_string();
    let mut all = vec![
        "sendmail",
        "--sendmail-command",
        fake.as_str(),
        "--dead-letter",
        dead.as_str(),
    ];
    all.extend_from_slice(args);
    let o = run(
        Command::new(ximf_bin())
            .args(&all)
            .env("HOME", s.path())
            .env("FAKE_SENDMAIL_RECORD", &rec)
            .env_remove("XIMF_CONFIG")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XIMF_CONTEXT")
            .env_remove("XIMF_SENDMAIL_DEPTH"),
        msg,
    );
    let calls = std::fs::read_to_string(s.join("rec.calls"))
        .map(|t| t.lines().count())
        .unwrap_or(0);
    (o, calls)
}

#[test]
fn sendmail_holds_argv_recipients_to_the_type() {
    let s = Scratch::new();
    let p = corporate();
    let (o, calls) = sendmail(
        &s,
        &[
            "-p",
            &p,
            "--now",
            MONDAY,
            "--usage",
            "professional",
            "--context",
            "network=office",
            "--set",
            "X-XIMF-Security-Classification=corp-internal",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
            "-f",
            "alice@example.org",
            "--",
            "bob@example.org",
            "archive@example.org",
            "eve@attacker.example",
        ],
        &corporate_message("Bob <bob@example.org>", Some("archive@example.org")),
    );
    let e = err(&o);
    assert_eq!(code(&o), 78, "{e}");
    assert_eq!(calls, 0, "nothing may be handed over: {e}");
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(e.contains("eve@attacker.example"), "{e}");
    assert!(e.contains("recipient-domain-not-allowed"), "{e}");
    assert!(e.contains("nothing sent"), "{e}");
}

#[test]
fn sendmail_privacy_rule_sees_bcc_on_argv() {
    let s = Scratch::new();
    let p = corporate();
    let (o, calls) = sendmail(
        &s,
        &[
            "-p",
            &p,
            "--now",
            MONDAY,
            "--usage",
            "private",
            "--set",
            "X-XIMF-Security-Classification=corp-public",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
            "--",
            "bob@example.org",
            "carol@example.net",
        ],
        &corporate_message("Bob <bob@example.org>", None),
    );
    let e = err(&o);
    assert_eq!(code(&o), 78, "{e}");
    assert_eq!(calls, 0, "{e}");
    assert!(e.contains("privacy-violation"), "{e}");
    assert!(e.contains("carol@example.net"), "{e}");
}

#[test]
fn sendmail_command_is_shell_quoted() {
    let s = Scratch::new();
    let rec = s.join("rec");
    let fake = fake_sendmail().display().to_string();
    let command = format!("'{fake}' -C '/etc/postfix out' -o \"a b\"");
    let o = run(
        Command::new(ximf_bin())
            .args([
                "sendmail",
                "--sendmail-command",
                &command,
                "--set",
                "X-XIMF-Security-Classification=example-restricted",
                "--set",
                "X-XIMF-Primary-Precedence=routine",
                "--",
                "bob@example.org",
            ])
            .env("HOME", s.path())
            .env("FAKE_SENDMAIL_RECORD", &rec)
            .env_remove("XIMF_CONFIG")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XIMF_SENDMAIL_DEPTH"),
        PLAIN.as_bytes(),
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let argv: Vec<String> = std::fs::read_to_string(s.join("rec.argv"))
        .expect("argv")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        &argv[..4],
        ["-C", "/etc/postfix out", "-o", "a b"],
        "{argv:?}"
    );
    assert!(argv.contains(&"bob@example.org".to_owned()), "{argv:?}");
}

#[test]
fn stamp_and_sendmail_name_every_missing_field() {
    let o = ximf_run(&["stamp"], PLAIN.as_bytes());
    let e = err(&o);
    assert_eq!(code(&o), 65, "{e}");
    let first = e.lines().next().unwrap_or_default();
    assert!(first.starts_with("ximf stamp: "), "{e}");
    for h in [
        "X-XIMF-Security-Classification",
        "X-XIMF-Primary-Precedence",
    ] {
        assert!(first.contains(h), "{h} not named: {e}");
    }

    let s = Scratch::new();
    let (o, calls) = sendmail(&s, &["--", "bob@example.org"], PLAIN.as_bytes());
    let e = err(&o);
    assert_eq!(code(&o), 65, "{e}");
    assert_eq!(calls, 0);
    let first = e.lines().next().unwrap_or_default();
    for h in [
        "X-XIMF-Security-Classification",
        "X-XIMF-Primary-Precedence",
    ] {
        assert!(first.contains(h), "{h} not named: {e}");
    }
}
