//! mutt, in batch mode with its own muttrc, sends through `ximf sendmail` (design.md §6): to
//! the recording stand-in sendmail, and to a real Postfix on this machine. A message that
//! breaks the profile is not sent, mutt reports the error, and the dead letter holds it.

use crate::support::mailflow::*;
use std::path::Path;
use std::process::{Command, Output};

/// A muttrc sending as alice with every option mutt turns into a sendmail flag (-B8BITMIME,
/// -f, -N, -R) and a my_hdr XIMF field, through `sendmail`.
fn muttrc(s: &Scratch, sendmail: &str, classification: &str) -> std::path::PathBuf {
    s.write(
        "muttrc",
        format!(
            "set sendmail=\"{sendmail}\"\n\
             set from=\"alice@example.org\"\n\
             set realname=\"Alice Example\"\n\
             set use_from=yes\n\
             set envelope_from=yes\n\
             set use_8bitmime=yes\n\
             set send_charset=\"utf-8\"\n\
             set dsn_notify=\"failure,delay\"\n\
             set dsn_return=\"hdrs\"\n\
             set record=\"\"\n\
             set copy=no\n\
             set tmpdir=\"{tmp}\"\n\
             set hostname=\"example.org\"\n\
             my_hdr X-XIMF-Security-Classification: {classification}\n",
            tmp = s.path().display()
        ),
    )
}

/// `mutt -n -F muttrc -s SUBJECT RCPT... < body`, with HOME in `s`.
fn mutt(s: &Scratch, rc: &Path, subject: &str, rcpts: &[&str]) -> Output {
    run(
        Command::new(require("mutt"))
            .arg("-n")
            .arg("-F")
            .arg(rc)
            .args(["-s", subject])
            .args(rcpts)
            .env("HOME", s.path())
            .env("FAKE_SENDMAIL_RECORD", s.join("rec"))
            .env_remove("XIMF_CONFIG")
            .env_remove("XDG_CONFIG_HOME")
            .env_remove("XIMF_SENDMAIL_DEPTH"),
        // 8-bit text, so that mutt passes -B8BITMIME.
        "Grüße, Bob.\nFrom the figures: all good.\n".as_bytes(),
    )
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn mutt_sends_through_ximf_to_the_recorder() {
    let s = Scratch::new();
    let rcpts = ["bob@example.org", "carol@example.org"];

    // What mutt itself passes to $sendmail, recorded without ximf in between.
    let rc = muttrc(
        &s,
        &fake_sendmail().display().to_string(),
        "example-restricted",
    );
    let o = mutt(&s, &rc, "Quarterly figures", &rcpts);
    assert_eq!(code(&o), 0, "{}", err(&o));
    let direct = lines(&s.join("rec.argv"));
    assert_eq!(
        direct,
        [
            "-B8BITMIME",
            "-f",
            "alice@example.org",
            "-N",
            "failure,delay",
            "-R",
            "hdrs",
            "--",
            "bob@example.org",
            "carol@example.org"
        ]
    );
    std::fs::remove_file(s.join("rec.argv")).expect("rm");
    std::fs::remove_file(s.join("rec.msg")).expect("rm");

    // The same through ximf sendmail: the real sendmail sees exactly mutt's argv.
    let dead = s.join("dead.letter");
    let via = format!(
        "{} sendmail --set X-XIMF-Primary-Precedence=routine --sendmail-command {} \
         --dead-letter {}",
        ximf_bin().display(),
        fake_sendmail().display(),
        dead.display()
    );
    let rc = muttrc(&s, &via, "example-restricted");
    let o = mutt(&s, &rc, "Quarterly figures", &rcpts);
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    assert_eq!(lines(&s.join("rec.argv")), direct);
    let sent = std::fs::read(s.join("rec.msg")).expect("recorded message");
    let h = header(&sent);
    // my_hdr's value is kept; stamp adds the rest.
    assert!(
        h.contains("X-XIMF-Security-Classification: example-restricted"),
        "{h}"
    );
    assert!(
        h.contains("X-XIMF-Security-Classification-Identifier: 2"),
        "{h}"
    );
    assert!(h.contains("X-XIMF-NAME: Example"), "{h}");
    assert!(h.contains("X-XIMF-Primary-Precedence: routine"), "{h}");
    assert!(h.contains("Subject: Quarterly figures"), "{h}");
    let (c, report) = verify(&sent);
    assert_eq!(c, 0, "{report}");
    assert!(!dead.exists());

    // A my_hdr value outside the profile: not sent, mutt says so, the dead letter has it.
    std::fs::remove_file(s.join("rec.calls")).expect("rm");
    let rc = muttrc(&s, &via, "top-secret");
    let o = mutt(&s, &rc, "Not for the wire", &rcpts);
    assert_ne!(code(&o), 0, "mutt must report the failure");
    let said = out(&o) + &err(&o);
    assert!(said.contains("child exited 65"), "{said}");
    assert!(
        said.contains("ximf sendmail: X-XIMF-Security-Classification"),
        "{said}"
    );
    assert!(
        !s.join("rec.calls").exists(),
        "the real sendmail was called"
    );
    let kept = std::fs::read_to_string(&dead).expect("dead letter");
    assert!(kept.starts_with("From alice@example.org "), "{kept}");
    assert!(kept.contains("Subject: Not for the wire"), "{kept}");
    assert!(
        kept.contains("X-XIMF-Security-Classification: top-secret"),
        "{kept}"
    );
}

/// mutt → ximf sendmail → Postfix's sendmail/postdrop → pickup → cleanup → qmgr → virtual(8)
/// → Maildir, on a private Postfix instance. Needs root (Postfix's master and postdrop).
#[test]
fn mutt_sends_through_ximf_to_a_real_postfix() {
    if !is_root() {
        eprintln!("skipped: starting a private Postfix needs root (CI runs as root)");
        return;
    }
    let s = Scratch::new();
    // No smtpd at all: the message enters through postdrop, as from any local sendmail user.
    let pf = Postfix::start(s.path(), "master_service_disable = inet", "");
    let config = s.write(
        "ximf.toml",
        format!(
            "sendmail_command = [\"{}\", \"-C\", \"{}\"]\ndead_letter = \"dead.letter\"\n\
             sign = true\nmechanism = \"smime\"\n\
             [set]\n\"X-XIMF-Primary-Precedence\" = \"routine\"\n\
             [identities.\"alice@example.org\"]\nkey = \"{}\"\ncert = \"{}\"\n",
            require("sendmail").display(),
            pf.config.display(),
            key("smime/alice.key"),
            key("smime/alice.chain.pem"),
        ),
    );
    let via = format!(
        "{} sendmail --config {}",
        ximf_bin().display(),
        config.display()
    );
    let rc = muttrc(&s, &via, "example-restricted");
    let o = mutt(&s, &rc, "Quarterly figures", &["bob@example.org"]);
    assert_eq!(code(&o), 0, "{}{}\n{}", out(&o), err(&o), pf.log_text());
    wait_for("delivery to the Maildir", || {
        !maildir_files(&pf.maildir()).is_empty()
    });
    let files = maildir_files(&pf.maildir());
    assert_eq!(files.len(), 1, "{files:?}");
    let delivered = std::fs::read(&files[0]).expect("delivered");
    let h = header(&delivered);
    assert!(h.contains("Return-Path: <alice@example.org>"), "{h}");
    assert!(h.contains("X-XIMF-NAME: Example"), "{h}");
    assert!(
        h.contains("X-XIMF-Security-Classification: example-restricted"),
        "{h}"
    );
    // Signed on the way (the config's identity of the sender): the delivered message verifies
    // with openssl and with ximf, Postfix's trace fields notwithstanding.
    assert!(h.contains("multipart/signed"), "{h}");
    let v = run(
        Command::new("openssl")
            .args(["cms", "-verify", "-in"])
            .arg(&files[0])
            .args(["-CAfile", &key("smime/root.crt"), "-out", "/dev/null"]),
        b"",
    );
    assert_eq!(code(&v), 0, "openssl cms -verify: {}", err(&v));
    let x = run(
        Command::new(ximf_bin()).args(["verify", "--ca", &key("smime/root.crt"), "-"]),
        &delivered,
    );
    assert_eq!(code(&x), 0, "{}", out(&x));

    // A broken message never reaches Postfix: nothing queued, nothing delivered.
    let rc = muttrc(&s, &via, "top-secret");
    let o = mutt(&s, &rc, "Not for the wire", &["bob@example.org"]);
    assert_ne!(code(&o), 0);
    assert!((out(&o) + &err(&o)).contains("child exited 65"));
    let kept = std::fs::read_to_string(s.join("dead.letter")).expect("dead letter");
    assert!(kept.contains("Subject: Not for the wire"), "{kept}");
    let q = pf.queue();
    assert!(q.contains("Mail queue is empty"), "{q}");
    assert_eq!(maildir_files(&pf.maildir()).len(), 1);
    assert!(!pf.log_text().contains("Not for the wire"));
}

use crate::support::pgp;

fn key(rel: &str) -> String {
    root().join("testdata/keys").join(rel).display().to_string()
}

/// mutt → ximf sendmail with keys → the recorder: the message mutt hands over goes out signed
/// with S/MIME (openssl verifies it) or signed and encrypted with OpenPGP (gpg decrypts and
/// checks the signature), and ximf verifies both.
#[test]
fn mutt_sends_protected_mail_that_the_peers_accept() {
    let s = Scratch::new();
    let rcpts = ["bob@example.org"];
    let common = format!(
        "{} sendmail --set X-XIMF-Primary-Precedence=routine --sendmail-command {} --dead-letter {}",
        ximf_bin().display(),
        fake_sendmail().display(),
        s.join("dead.letter").display()
    );

    // S/MIME signature.
    let via = format!(
        "{common} --sign --mechanism smime --key {} --cert {}",
        key("smime/alice.key"),
        key("smime/alice.chain.pem")
    );
    let rc = muttrc(&s, &via, "example-restricted");
    let o = mutt(&s, &rc, "Signed figures", &rcpts);
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    let sent = std::fs::read(s.join("rec.msg")).expect("recorded");
    assert!(
        header(&sent).contains("multipart/signed"),
        "{}",
        header(&sent)
    );
    let file = s.write("smime.eml", &sent);
    let v = run(
        Command::new("openssl")
            .args(["cms", "-verify", "-in"])
            .arg(&file)
            .args(["-CAfile", &key("smime/root.crt"), "-out", "/dev/null"]),
        b"",
    );
    assert_eq!(code(&v), 0, "openssl cms -verify: {}", err(&v));
    let x = run(
        Command::new(ximf_bin()).args(["verify", "--ca", &key("smime/root.crt"), "-"]),
        &sent,
    );
    assert_eq!(code(&x), 0, "{}", out(&x));

    // OpenPGP: signed and encrypted to Bob.
    let via = format!(
        "{common} --sign --encrypt --mechanism openpgp --key {} --recipient {}",
        key("pgp/alice.key"),
        key("pgp/bob.cert")
    );
    let rc = muttrc(&s, &via, "example-restricted");
    let o = mutt(&s, &rc, "Sealed figures", &rcpts);
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    let sent = std::fs::read(s.join("rec.msg")).expect("recorded");
    assert!(
        header(&sent).contains("multipart/encrypted"),
        "{}",
        header(&sent)
    );
    let gpg = pgp::Gpg::new(&["bob"], &["alice"]);
    let parts = pgp::split_parts(&sent);
    assert_eq!(parts.len(), 2, "RFC 3156: control part and encrypted part");
    let (ok, plain, why) = gpg.run(&["--decrypt"], &pgp::part_body(&parts[1]));
    assert!(ok, "gpg --decrypt: {why}");
    // Inside: the nested RFC 3156 signature over the payload with its protected header copy.
    let inner = String::from_utf8_lossy(&plain);
    assert!(inner.contains("multipart/signed"), "{inner}");
    assert!(inner.contains("Subject: Sealed figures"), "{inner}");
    let x = run(
        Command::new(ximf_bin()).args([
            "verify",
            "--key",
            &key("pgp/bob.key"),
            "--keyring",
            &key("pgp/alice.cert"),
            "-",
        ]),
        &sent,
    );
    assert_eq!(code(&x), 0, "{}", out(&x));
}
