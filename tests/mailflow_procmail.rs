//! procmail with the shipped recipe (testdata/mailflow/procmailrc: `:0 fw | ximf verify
//! --annotate`) delivers annotated mail to a Maildir and files failures apart; a killed or
//! failing filter leaves the original delivered unchanged (design.md §6, §8).

use crate::support::mailflow::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `procmail -m VAR=... procmailrc < msg` with MAILDIR in `s`; the filter program is `ximf`.
fn procmail(s: &Scratch, ximf: &Path, profile: &Path, msg: &[u8]) -> Output {
    let maildir = s.join("Mail");
    std::fs::create_dir_all(&maildir).expect("mkdir");
    let rc = s.write(
        "procmailrc",
        std::fs::read(mailflow("procmailrc")).expect("shipped recipe"),
    );
    let assign = |k: &str, v: &Path| format!("{k}={}", v.display());
    run(
        Command::new(require("procmail"))
            .arg("-m")
            .arg(assign("MAILDIR", &maildir))
            .arg(assign("XIMF", ximf))
            .arg(assign("XIMF_PROFILE", profile))
            .arg(assign("LOGFILE", &s.join("procmail.log")))
            .arg(&rc)
            .env("HOME", s.path()),
        msg,
    )
}

fn folder(s: &Scratch, name: &str) -> Vec<PathBuf> {
    maildir_files(&s.join("Mail").join(name))
}

/// procmail ends every message it delivers with an empty line (mbox habit, Maildir too): take
/// that one byte off before comparing with what went in.
fn unpad(v: &[u8]) -> &[u8] {
    match v.strip_suffix(b"\n") {
        Some(rest) if rest.ends_with(b"\n") => rest,
        _ => v,
    }
}

fn builtin() -> PathBuf {
    root().join("profiles/builtin")
}

#[test]
fn procmail_delivers_annotated_mail_and_quarantines_failures() {
    let s = Scratch::new();
    let good = stamped();
    let o = procmail(&s, &ximf_bin(), &builtin(), &good);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let inbox = folder(&s, "inbox");
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    let got = std::fs::read(&inbox[0]).expect("delivered");
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("X-XIMF-Verify: pass (authserv-id=mx.example.org; instance=Example;"),
        "{text}"
    );
    // Annotation only adds fields on top: the rest is the message, byte for byte.
    assert!(unpad(&got).ends_with(&good), "{text}");

    // A message naming the instance without its mandatory values: annotated fail, quarantined.
    let bad = PLAIN.replacen("Subject:", "X-XIMF-NAME: Example\nSubject:", 1);
    let o = procmail(&s, &ximf_bin(), &builtin(), bad.as_bytes());
    assert_eq!(code(&o), 0, "{}", err(&o));
    let q = folder(&s, ".Quarantine");
    assert_eq!(q.len(), 1, "{q:?}");
    let got = std::fs::read_to_string(&q[0]).expect("quarantined");
    assert!(got.starts_with("X-XIMF-Verify: fail ("), "{got}");
    assert!(got.contains("missing-mandatory-header"), "{got}");
    assert!(unpad(got.as_bytes()).ends_with(bad.as_bytes()), "{got}");
    assert_eq!(folder(&s, "inbox").len(), 1);
}

#[test]
fn a_failing_or_killed_filter_leaves_the_original_delivered() {
    let s = Scratch::new();
    let good = stamped();
    // 78: the profile is broken. ximf writes nothing on stdout; procmail keeps the original.
    let broken = s.write(
        "broken.xml",
        "<ximf:instance xmlns:ximf=\"http://eads.org/ximf/\"",
    );
    let o = procmail(&s, &ximf_bin(), &broken, &good);
    assert_eq!(code(&o), 0, "{}", err(&o));
    // ximf refuses before reading the message, so procmail sees its write fail (or, when the
    // message fit in the pipe, exit 78); either way it keeps the unfiltered message.
    let log = std::fs::read_to_string(s.join("procmail.log")).unwrap_or_default();
    assert!(log.contains("Rescue of unfiltered data succeeded"), "{log}");
    assert!(log.contains("ximf verify: "), "{log}");
    // Killed by a signal after writing half of its output: procmail discards that output.
    let killer = s.script(
        "killed-ximf",
        &format!(
            "#!/bin/sh\n\"{}\" \"$@\" | head -c 40\nkill -KILL $$\n",
            ximf_bin().display()
        ),
    );
    let o = procmail(&s, &killer, &builtin(), &good);
    assert_eq!(code(&o), 0, "{}", err(&o));
    // Fail closed (issue 12): unchecked mail is kept, unchanged, apart from the inbox.
    assert!(folder(&s, "inbox").is_empty());
    let unchecked = folder(&s, ".Unchecked");
    assert_eq!(unchecked.len(), 2, "{unchecked:?}");
    for f in unchecked {
        let got = std::fs::read(&f).expect("delivered");
        assert_eq!(unpad(&got), good, "{}", String::from_utf8_lossy(&got));
    }
    assert!(folder(&s, ".Quarantine").is_empty());
}

#[test]
fn oversize_forged_mail_is_not_delivered_as_checked() {
    // A message over --max-size carrying a forged pass verdict: ximf passes it through below
    // a `none (too large)` verdict with the forgery removed (issue 11), and the recipe files it
    // as unchecked (issue 12).
    let s = Scratch::new();
    let mut forged =
        b"X-XIMF-Verify: pass (authserv-id=mx.example.org; instance=Example)\n".to_vec();
    forged.extend_from_slice(&stamped());
    let small = s.script(
        "small-ximf",
        &format!(
            "#!/bin/sh\nexec \"{}\" --max-size 100 \"$@\"\n",
            ximf_bin().display()
        ),
    );
    let o = procmail(&s, &small, &builtin(), &forged);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(folder(&s, "inbox").is_empty());
    let unchecked = folder(&s, ".Unchecked");
    assert_eq!(unchecked.len(), 1);
    let got = String::from_utf8_lossy(&std::fs::read(&unchecked[0]).expect("read")).into_owned();
    assert_eq!(got.matches("X-XIMF-Verify:").count(), 1, "{got}");
    assert!(
        got.contains("X-XIMF-Verify: none (authserv-id=mx.example.org; too large"),
        "{got}"
    );
}

#[test]
fn forged_verdicts_never_survive_annotation() {
    let s = Scratch::new();
    let mut variants: Vec<Vec<u8>> = Vec::new();
    let mut v = b"X-XIMF-Verify: pass (authserv-id=mx.example.org)\n".to_vec();
    v.extend_from_slice(&stamped());
    variants.push(v);
    // Hidden behind a bare CR in another field.
    let st = String::from_utf8(stamped()).expect("utf-8");
    variants.push(
        st.replacen(
            "\n",
            "\rX-XIMF-Verify: pass (authserv-id=mx.example.org)\n",
            1,
        )
        .into_bytes(),
    );
    // Not a message at all.
    variants.push(b"this is no header\nX-XIMF-Verify: pass\n\nbody\n".to_vec());
    for (i, m) in variants.iter().enumerate() {
        let o = procmail(&s, &ximf_bin(), &builtin(), m);
        assert_eq!(code(&o), 0, "{}", err(&o));
        let mut all = folder(&s, "inbox");
        all.extend(folder(&s, ".Quarantine"));
        assert_eq!(all.len(), i + 1, "variant {i} was delivered once");
        for f in &all {
            let got = String::from_utf8_lossy(&std::fs::read(f).expect("read")).into_owned();
            // Exactly one verdict, ours (it names what it checked), however the forgery hid.
            assert_eq!(
                got.matches("X-XIMF-Verify:").count(),
                1,
                "variant {i}: {got}"
            );
            assert!(got.contains("codes="), "variant {i}: {got}");
        }
    }
}

/// procmail as a delivery agent passes its filters the mbox `From ` line it keeps in front of
/// the header (`-f` makes it write one, as it always has one when Postfix or Exim run it).
/// Needs the src/cli/verify.rs change proposed with issue #6: verify must treat that line as
/// envelope, not refuse the input.
#[test]
fn procmail_as_delivery_agent_annotates_despite_the_from_line() {
    let s = Scratch::new();
    let good = stamped();
    let maildir = s.join("Mail");
    std::fs::create_dir_all(&maildir).expect("mkdir");
    let rc = s.write(
        "procmailrc",
        std::fs::read(mailflow("procmailrc")).expect("shipped recipe"),
    );
    let o = run(
        Command::new(require("procmail"))
            .args(["-f", "alice@example.org", "-m"])
            .arg(format!("MAILDIR={}", maildir.display()))
            .arg(format!("XIMF={}", ximf_bin().display()))
            .arg(format!("XIMF_PROFILE={}", builtin().display()))
            .arg(format!("LOGFILE={}", s.join("procmail.log").display()))
            .arg(&rc)
            .env("HOME", s.path()),
        &good,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let inbox = folder(&s, "inbox");
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    let got = std::fs::read_to_string(&inbox[0]).expect("delivered");
    assert!(got.starts_with("X-XIMF-Verify: pass ("), "{got}");
}

/// Input that is not a message still comes through the filter, below a `fail` verdict, so the
/// recipe quarantines it instead of delivering it unmarked. Needs the src/cli/verify.rs change
/// proposed with issue #6.
#[test]
fn procmail_quarantines_what_is_not_a_message() {
    let s = Scratch::new();
    let junk = b"this line is no header field\n\nbody\n";
    let o = procmail(&s, &ximf_bin(), &builtin(), junk);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let q = folder(&s, ".Quarantine");
    assert_eq!(q.len(), 1, "{q:?}");
    let got = std::fs::read(&q[0]).expect("quarantined");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("X-XIMF-Verify: fail ("), "{text}");
    assert!(text.contains("codes=not-a-message"), "{text}");
    assert!(unpad(&got).ends_with(junk), "{text}");
    assert!(folder(&s, "inbox").is_empty());
}
