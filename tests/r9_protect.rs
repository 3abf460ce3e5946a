//! Issue 9, point 13 — `protect`, the same for S/MIME and OpenPGP:
//! - every part is brought to 7 bit before signing (quoted-printable for text, base64
//!   otherwise, recursively), so what mutt sends for a non-ASCII message with an attachment
//!   signs, and verifies with the real peers (openssl, gpg) and with `ximf verify`;
//! - Bcc never enters the protected header copy nor HP-Outer; it stays on the outer header;
//! - `--encrypt` needs a certificate for every recipient (To, Cc, Bcc, and in `ximf sendmail`
//!   the envelope recipients): otherwise exit 67 naming each address without one, nothing out.

#![allow(clippy::unwrap_used)]

use crate::support::fixtures::{to_crlf, twins};
use crate::support::{self, mailflow};

use crate::support::pgp;

use std::borrow::Cow;
use std::path::PathBuf;
use std::process::{Command, Output};

use ximf::mime::{Entity, transfer};

/// S/MIME test clock (testdata/keys/smime/README.md).
const SMIME_NOW: &str = "2026-11-29T00:00:00Z";
const SMIME_NOW_UNIX: &str = "1795910400";
/// OpenPGP test clock (testdata/keys/pgp/README.md).
const PGP_NOW: &str = "2026-06-01T00:00:00Z";

#[derive(Debug, Clone, Copy, PartialEq)]
enum Mech {
    Smime,
    Pgp,
}

impl Mech {
    fn name(self) -> &'static str {
        match self {
            Mech::Smime => "smime",
            Mech::Pgp => "openpgp",
        }
    }

    fn now(self) -> &'static str {
        match self {
            Mech::Smime => SMIME_NOW,
            Mech::Pgp => PGP_NOW,
        }
    }

    /// The Bcc recipient, who has a key in this mechanism's test set.
    fn bcc(self) -> &'static str {
        match self {
            Mech::Smime => "carol@example.org",
            Mech::Pgp => "alice@example.org",
        }
    }

    /// The key file stem of [`Mech::bcc`].
    fn bcc_stem(self) -> &'static str {
        match self {
            Mech::Smime => "carol",
            Mech::Pgp => "alice",
        }
    }

    fn signer_args(self) -> Vec<String> {
        match self {
            Mech::Smime => vec![
                "--key".into(),
                key("smime/alice.key"),
                "--cert".into(),
                key("smime/alice.chain.pem"),
            ],
            Mech::Pgp => vec!["--key".into(), key("pgp/alice.key")],
        }
    }

    /// `--recipient` for `who` (a file stem).
    fn recipient(self, who: &str) -> Vec<String> {
        match self {
            Mech::Smime => vec!["--recipient".into(), key(&format!("smime/{who}.crt"))],
            Mech::Pgp => vec!["--recipient".into(), key(&format!("pgp/{who}.cert"))],
        }
    }

    /// `ximf verify` flags trusting the signer (and decrypting as bob).
    fn verify_args(self) -> Vec<String> {
        match self {
            Mech::Smime => vec![
                "--ca".into(),
                key("smime/root.crt"),
                "--key".into(),
                key("smime/bob.key"),
                "--cert".into(),
                key("smime/bob.crt"),
            ],
            Mech::Pgp => vec![
                "--keyring".into(),
                key("pgp/alice.cert"),
                "--key".into(),
                key("pgp/bob.key"),
            ],
        }
    }
}

fn key(rel: &str) -> String {
    support::root()
        .join("testdata/keys")
        .join(rel)
        .display()
        .to_string()
}

/// The attachment: binary-ish, every octet but CR and LF (so LF and CRLF input carry the same
/// bytes).
fn attachment() -> Vec<u8> {
    (0u8..=255).filter(|b| *b != b'\r' && *b != b'\n').collect()
}

/// An already 7-bit-safe part, which must come out byte for byte.
const SAFE_PART: &str = "Content-Type: text/plain; charset=us-ascii\n\
Content-Description: already safe\n\
\n\
Plain ASCII, nothing to encode.\n";

/// What mutt sends for a non-ASCII message with an attachment, plus a nested alternative and a
/// forwarded message with an 8-bit body: every leaf but one is 8 bit.
fn mutt_message(bcc: Option<&str>) -> Vec<u8> {
    let mut m = String::from("From: Alice <alice@example.org>\nTo: Bob <bob@example.org>\n");
    if let Some(b) = bcc {
        m.push_str(&format!("Bcc: {b}\n"));
    }
    m.push_str(
        "Subject: Bericht\n\
         Date: Sun, 29 Nov 2026 00:00:00 +0000\n\
         Message-ID: <r9-13@example.org>\n\
         MIME-Version: 1.0\n\
         Content-Type: multipart/mixed; boundary=\"mutt-OUTER\"\n\
         Content-Disposition: inline\n\
         \n\
         --mutt-OUTER\n\
         Content-Type: text/plain; charset=utf-8\n\
         Content-Disposition: inline\n\
         Content-Transfer-Encoding: 8bit\n\
         \n\
         Hallo Bob,\n\
         anbei der Bericht \u{2014} Gr\u{fc}\u{df}e.\n\
         From here on, a line mbox would mangle, and a trailing blank \n\
         \n\
         --mutt-OUTER\n\
         Content-Type: multipart/alternative; boundary=\"mutt-INNER\"\n\
         \n\
         --mutt-INNER\n\
         Content-Type: text/plain; charset=utf-8\n\
         Content-Transfer-Encoding: 8bit\n\
         \n\
         caf\u{e9}\n\
         --mutt-INNER\n\
         Content-Type: text/html; charset=utf-8\n\
         Content-Transfer-Encoding: 8bit\n\
         \n\
         <p>caf\u{e9}</p>\n\
         --mutt-INNER--\n\
         \n\
         --mutt-OUTER\n",
    );
    m.push_str(SAFE_PART);
    m.push_str(
        "\n--mutt-OUTER\n\
         Content-Type: message/rfc822\n\
         Content-Disposition: inline\n\
         \n\
         From: Carol <carol@example.org>\n\
         Subject: fwd\n\
         Content-Type: text/plain; charset=utf-8\n\
         Content-Transfer-Encoding: 8bit\n\
         \n\
         na\u{ef}ve\n\
         \n\
         --mutt-OUTER\n\
         Content-Type: application/octet-stream\n\
         Content-Disposition: attachment; filename=\"data.bin\"\n\
         Content-Transfer-Encoding: 8bit\n\
         \n",
    );
    let mut bytes = m.into_bytes();
    bytes.extend(attachment());
    bytes.extend_from_slice(b"\n--mutt-OUTER--\n");
    bytes
}

fn protect(mech: Mech, flags: &[&str], extra: &[String], msg: &[u8]) -> Output {
    let mut args: Vec<String> = vec!["--now".into(), mech.now().into(), "protect".into()];
    args.extend(flags.iter().map(|s| s.to_string()));
    args.extend(["--mechanism".into(), mech.name().into()]);
    args.extend(extra.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    support::ximf(&args, msg)
}

fn protect_ok(mech: Mech, flags: &[&str], extra: &[String], msg: &[u8]) -> Vec<u8> {
    let o = protect(mech, flags, extra, msg);
    assert_eq!(
        support::code(&o),
        0,
        "ximf protect {flags:?} ({mech:?}): {}",
        support::err(&o)
    );
    o.stdout
}

fn ximf_verify(mech: Mech, msg: &[u8]) -> Output {
    let mut args: Vec<String> = vec!["--now".into(), mech.now().into(), "verify".into()];
    args.extend(mech.verify_args());
    args.push("-".into());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    support::ximf(&args, msg)
}

fn assert_ximf_verifies(mech: Mech, msg: &[u8]) {
    let o = ximf_verify(mech, msg);
    let text = support::out(&o);
    assert_eq!(support::code(&o), 0, "ximf verify ({mech:?}): {text}");
    assert!(
        text.contains(&format!("signature={}:valid", mech.name())),
        "{text}"
    );
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    pgp::find(h, n)
}

fn contains_ci(h: &[u8], n: &str) -> bool {
    String::from_utf8_lossy(h)
        .to_ascii_lowercase()
        .contains(&n.to_ascii_lowercase())
}

/// The header section of `msg`, CRLF.
fn header_of(msg: &[u8]) -> Vec<u8> {
    let crlf = to_crlf(msg);
    let at = find(&crlf, b"\r\n\r\n").unwrap();
    crlf[..at + 2].to_vec()
}

/// Every leaf of the signed part is 7 bit, re-encoded as the rule says, decodes to what was
/// sent, and the already safe part is unchanged.
fn assert_seven_bit_content(signed_part: &[u8]) {
    assert!(
        signed_part.iter().all(|&b| b < 0x80),
        "8-bit octets in the signed part"
    );
    assert!(transfer::seven_bit_safe(signed_part), "not 7-bit safe");
    let text = String::from_utf8_lossy(signed_part);
    // Boundaries kept.
    assert!(text.contains("\r\n--mutt-OUTER\r\n"), "{text}");
    assert!(text.contains("\r\n--mutt-INNER--\r\n"), "{text}");
    // Text as quoted-printable, the attachment as base64, their 8bit CTE replaced.
    assert!(!text.contains("Content-Transfer-Encoding: 8bit"), "{text}");
    assert!(text.contains("Gr=C3=BC=C3=9Fe."), "{text}");
    assert!(text.contains("<p>caf=C3=A9</p>"), "{text}");
    assert!(
        text.contains("\r\nna=C3=AFve\r\n"),
        "forwarded body: {text}"
    );
    assert!(text.contains("=46rom here on"), "{text}");
    assert!(text.contains("trailing blank=20\r\n"), "{text}");
    // The safe part is byte-identical.
    let safe = to_crlf(SAFE_PART.as_bytes());
    assert!(find(signed_part, &safe).is_some(), "{text}");
    // The attachment decodes to the bytes sent.
    let at = find(
        signed_part,
        b"filename=\"data.bin\"\r\nContent-Transfer-Encoding: base64\r\n\r\n",
    )
    .expect("attachment re-encoded as base64");
    let rest = &signed_part[at..];
    let start = find(rest, b"\r\n\r\n").unwrap() + 4;
    let end = find(&rest[start..], b"\r\n--mutt-OUTER--").unwrap();
    let decoded = transfer::base64_decode(&rest[start..start + end]).unwrap();
    assert_eq!(decoded, attachment());
}

/// The LF and CRLF twins of `msg`, named "LF" and "CRLF".
fn eols(msg: &[u8]) -> [(&'static str, Vec<u8>); 2] {
    twins(msg).map(|(form, m)| (form.name(), m))
}

fn write(dir: &std::path::Path, name: &str, data: &[u8]) -> PathBuf {
    pgp::write(dir, name, data)
}

fn run_ok(cmd: &mut Command) -> Vec<u8> {
    let o = cmd.output().unwrap();
    assert!(
        o.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

// ---- 7 bit before signing ------------------------------------------------------------------

#[test]
fn r9_eight_bit_multipart_signed_with_smime_verifies_with_openssl_and_ximf() {
    for (eol, msg) in eols(&mutt_message(None)) {
        let signed = protect_ok(Mech::Smime, &["--sign"], &Mech::Smime.signer_args(), &msg);
        // Output keeps the input's line endings.
        assert_eq!(signed.windows(2).any(|w| w == b"\r\n"), eol == "CRLF");
        let parts = pgp::split_parts(&signed);
        assert_eq!(parts.len(), 2, "{eol}");
        assert_seven_bit_content(&parts[0]);

        let dir = tempfile::tempdir().unwrap();
        let f = write(dir.path(), "signed.eml", &signed);
        let content = run_ok(Command::new("openssl").args([
            "cms",
            "-verify",
            "-in",
            f.to_str().unwrap(),
            "-CAfile",
            &key("smime/root.crt"),
            "-attime",
            SMIME_NOW_UNIX,
            "-purpose",
            "smimesign",
        ]));
        assert!(contains_ci(&content, "Gr=C3=BC=C3=9Fe."), "{eol}");
        assert_ximf_verifies(Mech::Smime, &signed);
    }
}

#[test]
fn r9_eight_bit_multipart_signed_with_openpgp_verifies_with_gpg_and_ximf() {
    for (eol, msg) in eols(&mutt_message(None)) {
        let signed = protect_ok(Mech::Pgp, &["--sign"], &Mech::Pgp.signer_args(), &msg);
        assert_eq!(signed.windows(2).any(|w| w == b"\r\n"), eol == "CRLF");
        let parts = pgp::split_parts(&signed);
        assert_eq!(parts.len(), 2, "{eol}");
        assert_seven_bit_content(&parts[0]);

        let dir = tempfile::tempdir().unwrap();
        let data = write(dir.path(), "data", &parts[0]);
        let sig = write(dir.path(), "sig.asc", &pgp::part_body(&parts[1]));
        let gpg = pgp::Gpg::new(&[], &["alice"]);
        let (ok, _, err) = gpg.run(
            &["--verify", sig.to_str().unwrap(), data.to_str().unwrap()],
            b"",
        );
        assert!(ok && err.contains("Good signature"), "gpg ({eol}): {err}");
        assert_ximf_verifies(Mech::Pgp, &signed);
    }
}

/// Encryption (and sign-then-encrypt) of the same message: OpenPGP no longer refuses it, the
/// payload is 7 bit, and ximf decrypts and verifies.
#[test]
fn r9_eight_bit_multipart_signed_and_encrypted_round_trips() {
    for mech in [Mech::Smime, Mech::Pgp] {
        for (eol, msg) in eols(&mutt_message(None)) {
            let mut extra = mech.signer_args();
            extra.extend(mech.recipient("bob"));
            let enc = protect_ok(mech, &["--sign", "--encrypt"], &extra, &msg);
            assert!(enc.iter().all(|&b| b < 0x80), "{mech:?} {eol}");
            assert_ximf_verifies(mech, &enc);
            let plain = peer_decrypt(mech, &enc);
            assert!(plain.iter().all(|&b| b < 0x80), "{mech:?} {eol}");
        }
    }
}

// ---- Bcc stays outside ----------------------------------------------------------------------

/// The plaintext as the real peer decrypts it (bob's key): exactly what ximf encrypted.
fn peer_decrypt(mech: Mech, enc: &[u8]) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    match mech {
        Mech::Smime => {
            let f = write(dir.path(), "enc.eml", enc);
            run_ok(Command::new("openssl").args([
                "cms",
                "-decrypt",
                "-in",
                f.to_str().unwrap(),
                "-recip",
                &key("smime/bob.crt"),
                "-inkey",
                &key("smime/bob.key"),
            ]))
        }
        Mech::Pgp => {
            let parts = pgp::split_parts(enc);
            assert_eq!(parts.len(), 2);
            let armored = pgp::part_body(&parts[1]);
            let gpg = pgp::Gpg::new(&["bob"], &["alice"]);
            let (ok, plain, err) = gpg.run(&["--decrypt"], &armored);
            assert!(ok, "gpg --decrypt: {err}");
            plain
        }
    }
}

fn assert_no_bcc_inside(what: &str, inside: &[u8]) {
    assert!(!contains_ci(inside, "\nBcc:"), "{what}: Bcc copied inside");
    assert!(
        !contains_ci(inside, "HP-Outer: Bcc"),
        "{what}: HP-Outer Bcc"
    );
    assert!(
        !contains_ci(inside, "carol@example.org") || !contains_ci(inside, "Bcc"),
        "{what}"
    );
    // The other fields are protected: the check above is not vacuous.
    assert!(contains_ci(inside, "\nTo: Bob <bob@example.org>"), "{what}");
}

#[test]
fn r9_bcc_never_enters_the_protected_copy_nor_hp_outer() {
    for mech in [Mech::Smime, Mech::Pgp] {
        let msg = mutt_message(Some(mech.bcc()));
        let bcc_line = format!("Bcc: {}\r\n", mech.bcc());
        for (eol, msg) in eols(&msg) {
            let what = format!("{mech:?} {eol}");
            // Signed: the injected copies hold no Bcc; the outer header keeps it.
            let signed = protect_ok(mech, &["--sign"], &mech.signer_args(), &msg);
            let parts = pgp::split_parts(&signed);
            assert_no_bcc_inside(&format!("{what} signed"), &parts[0]);
            assert!(find(&header_of(&signed), bcc_line.as_bytes()).is_some());

            // Encrypted, and signed and encrypted: neither the decrypted payload (protected
            // copies, HP-Outer) nor anything inside it names the Bcc field.
            let recipients = [mech.recipient("bob"), mech.recipient(mech.bcc_stem())].concat();
            let enc = protect_ok(mech, &["--encrypt"], &recipients, &msg);
            let plain = peer_decrypt(mech, &enc);
            assert_no_bcc_inside(&format!("{what} encrypted"), &plain);
            assert!(contains_ci(&plain, "HP-Outer: To:"), "{what}: no HP-Outer");
            assert!(find(&header_of(&enc), bcc_line.as_bytes()).is_some());

            let mut extra = mech.signer_args();
            extra.extend(recipients.iter().cloned());
            let both = protect_ok(mech, &["--sign", "--encrypt"], &extra, &msg);
            let plain = peer_decrypt(mech, &both);
            assert_no_bcc_inside(&format!("{what} signed+encrypted"), &plain);
            assert!(find(&header_of(&both), bcc_line.as_bytes()).is_some());
            assert_ximf_verifies(mech, &both);
        }
    }
}

// ---- a key for every recipient ---------------------------------------------------------------

/// One stderr line `ximf protect: no key or certificate for ...` naming each of `missing` and
/// none of `covered`; exit 67; nothing on stdout.
fn assert_no_key(o: &Output, missing: &[&str], covered: &[&str]) {
    let e = support::err(o);
    assert_eq!(support::code(o), 67, "{e}");
    assert!(o.stdout.is_empty(), "stdout: {}", support::out(o));
    let lines: Vec<&str> = e.lines().filter(|l| !l.starts_with("hint: ")).collect();
    assert_eq!(lines.len(), 1, "{e}");
    assert!(lines[0].contains("no key or certificate for"), "{e}");
    for m in missing {
        assert!(lines[0].contains(m), "{m} not named: {e}");
    }
    for c in covered {
        assert!(!lines[0].contains(c), "{c} has a key: {e}");
    }
}

#[test]
fn r9_encrypt_without_a_key_for_a_recipient_is_67_naming_each() {
    let dir = tempfile::tempdir().unwrap();
    for mech in [Mech::Smime, Mech::Pgp] {
        // A To address without a key.
        let msg = b"From: Alice <alice@example.org>\nTo: Bob <bob@example.org>, Zed <zed@example.org>\nSubject: s\n\nhello\n";
        for flags in [&["--encrypt"][..], &["--sign", "--encrypt"][..]] {
            let mut extra = mech.recipient("bob");
            if flags.contains(&"--sign") {
                extra.extend(mech.signer_args());
            }
            let o = protect(mech, flags, &extra, msg);
            assert_no_key(&o, &["zed@example.org"], &["bob@example.org"]);
        }

        // Cc and Bcc count too; each missing address is named, in one line; -o writes nothing.
        let msg = format!(
            "From: alice@example.org\nTo: bob@example.org\nCc: Yves <yves@example.org>\nBcc: {}, xavier@example.org\nSubject: s\n\nhello\n",
            mech.bcc()
        );
        let out = dir.path().join(format!("{}.eml", mech.name()));
        let mut extra = mech.recipient("bob");
        extra.extend(["-o".into(), out.display().to_string()]);
        let o = protect(mech, &["--encrypt"], &extra, msg.as_bytes());
        assert_no_key(
            &o,
            &["yves@example.org", "xavier@example.org", mech.bcc()],
            &["bob@example.org"],
        );
        assert!(!out.exists(), "nothing written");

        // Every recipient covered: encrypted.
        let mut extra = mech.recipient("bob");
        extra.extend(mech.recipient(mech.bcc_stem()));
        let msg = format!(
            "From: alice@example.org\nTo: bob@example.org\nBcc: {}\nSubject: s\n\nhello\n",
            mech.bcc()
        );
        protect_ok(mech, &["--encrypt"], &extra, msg.as_bytes());
    }

    // No recipient certificate at all, no mechanism named: every recipient is named.
    let o = support::ximf(
        &["protect", "--encrypt"],
        b"From: a@example.org\nTo: bob@example.org\nCc: carol@example.org\n\nhi\n",
    );
    assert_no_key(&o, &["bob@example.org", "carol@example.org"], &[]);
}

/// A config identity's certificate is a recipient certificate for `protect` too, as for
/// `sendmail`.
#[test]
fn r9_protect_takes_recipient_certificates_from_config_identities() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = write(
        dir.path(),
        "config.toml",
        format!(
            "[identities.\"bob@example.org\"]\ncert = \"{}\"\n",
            key("pgp/bob.cert")
        )
        .as_bytes(),
    );
    let msg = b"From: alice@example.org\nTo: bob@example.org\nSubject: s\n\nhello\n";
    let extra = vec!["--config".to_owned(), cfg.display().to_string()];
    let enc = protect_ok(Mech::Pgp, &["--encrypt"], &extra, msg);
    let plain = peer_decrypt(Mech::Pgp, &enc);
    assert!(contains_ci(&plain, "hello"));
}

// ---- sendmail: the envelope recipients need keys too ---------------------------------------

fn sendmail(s: &mailflow::Scratch, args: &[&str], msg: &[u8]) -> Output {
    mailflow::sendmail_in(s).args(args).stdin(msg).run()
}

#[test]
fn r9_sendmail_encrypt_needs_a_key_for_each_envelope_recipient() {
    let fake = mailflow::fake_sendmail().display().to_string();
    let msg = mutt_message(None);
    for mech in [Mech::Smime, Mech::Pgp] {
        let s = mailflow::Scratch::new();
        let run = |envelope: &[&str], recipients: &[String]| {
            let mut args: Vec<String> = vec![
                "--sendmail-command".into(),
                fake.clone(),
                "--now".into(),
                mech.now().into(),
                "--encrypt".into(),
                "--mechanism".into(),
                mech.name().into(),
                "--set".into(),
                "X-XIMF-Security-Classification=example-restricted".into(),
                "--set".into(),
                "X-XIMF-Primary-Precedence=routine".into(),
            ];
            args.extend(recipients.iter().cloned());
            args.push("--".into());
            args.extend(envelope.iter().map(|e| e.to_string()));
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            sendmail(&s, &args, &msg)
        };
        // mutt passes the Bcc recipients on argv only: they need a key as well.
        let o = run(&["bob@example.org", mech.bcc()], &mech.recipient("bob"));
        let e = mailflow::err(&o);
        assert_eq!(mailflow::code(&o), 67, "{e}");
        let line = e.lines().next().unwrap_or_default();
        assert!(line.contains("nothing sent"), "{e}");
        assert!(line.contains(mech.bcc()), "{e}");
        assert!(!line.contains("bob@example.org"), "{e}");
        assert!(!s.join("rec.msg").exists(), "nothing sent");

        // With a key for each: sent, encrypted, 7 bit (the 8-bit multipart is accepted).
        let recipients = [mech.recipient("bob"), mech.recipient(mech.bcc_stem())].concat();
        let o = run(&["bob@example.org", mech.bcc()], &recipients);
        assert_eq!(mailflow::code(&o), 0, "{}", mailflow::err(&o));
        let sent = std::fs::read(s.join("rec.msg")).unwrap();
        assert!(sent.iter().all(|&b| b < 0x80), "{mech:?}");
        let plain = peer_decrypt(mech, &sent);
        assert!(contains_ci(&plain, "Gr=C3=BC=C3=9Fe."), "{mech:?}");
    }
}

// ---- the one 7-bit function -------------------------------------------------------------------

fn seven(raw: &[u8]) -> Result<(Vec<u8>, Option<&'static str>, bool), String> {
    let ent = Entity::message(raw).unwrap();
    let s = transfer::to_seven_bit(&ent)?;
    let borrowed = matches!(s.body, Cow::Borrowed(_));
    Ok((s.body.into_owned(), s.cte, borrowed))
}

#[test]
fn r9_seven_bit_leaves_safe_content_alone() {
    let raw = b"Content-Type: multipart/mixed; boundary=b\r\n\r\npre\r\n--b\r\n\r\nx\r\n--b--\r\n";
    let (body, cte, borrowed) = seven(raw).unwrap();
    assert!(borrowed && cte.is_none());
    assert_eq!(body, b"pre\r\n--b\r\n\r\nx\r\n--b--\r\n");
}

#[test]
fn r9_seven_bit_reencodes_leaves_and_decodes_first() {
    // 8-bit text: quoted-printable.
    let (body, cte, _) = seven("Content-Type: text/plain\r\n\r\ncaf\u{e9}\r\n".as_bytes()).unwrap();
    assert_eq!(
        (body.as_slice(), cte),
        (&b"caf=C3=A9\r\n"[..], Some("quoted-printable"))
    );
    // Quoted-printable with raw 8-bit octets: decoded, then encoded properly.
    let (body, cte, _) = seven(
        "Content-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db \u{e9}\r\n"
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        (body.as_slice(), cte),
        (&b"a=3Db =C3=A9\r\n"[..], Some("quoted-printable"))
    );
    // Base64 with over-long lines: decoded, then wrapped.
    let long = "QUFB".repeat(300);
    let (body, cte, _) = seven(
        format!("Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n{long}\r\n")
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(cte, Some("base64"));
    assert!(transfer::seven_bit_safe(&body));
    assert_eq!(transfer::base64_decode(&body).unwrap(), vec![b'A'; 900]);
    // Not base64 at all: refused.
    let e =
        seven(b"Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n\r\n*\xff*\r\n")
            .unwrap_err();
    assert!(e.contains("base64"), "{e}");
}

#[test]
fn r9_seven_bit_keeps_structure_and_fixes_only_what_is_unsafe() {
    let raw = "Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\
               pr\u{e9}amble\r\n--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\n\u{e9}\r\n\
               --b  \r\n\r\nascii\r\n--b--\r\n\u{e9}pilogue\r\n";
    let (body, cte, _) = seven(raw.as_bytes()).unwrap();
    assert_eq!(cte, Some("7bit"));
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9\
         \r\n--b\r\n\r\nascii\r\n--b--\r\n"
    );
    // multipart/digest: a part without Content-Type is a message, its body descended into.
    let raw = "Content-Type: multipart/digest; boundary=d\r\n\r\n--d\r\n\r\nSubject: x\r\n\r\n\u{e9}\r\n--d--\r\n";
    let (body, _, _) = seven(raw.as_bytes()).unwrap();
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "--d\r\n\r\nSubject: x\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=C3=A9\r\n--d--\r\n"
    );
}

#[test]
fn r9_seven_bit_refuses_what_it_cannot_encode() {
    let e = seven("Content-Type: multipart/mixed\r\n\r\n\u{e9}\r\n".as_bytes()).unwrap_err();
    assert!(e.contains("boundary"), "{e}");
    let e = seven("Content-Type: multipart/mixed; boundary=b\r\n\r\n\u{e9}\r\n".as_bytes())
        .unwrap_err();
    assert!(e.contains("delimiter"), "{e}");
    let e = seven("Content-Type: message/partial; id=x\r\n\r\n\u{e9}\r\n".as_bytes()).unwrap_err();
    assert!(e.contains("message/partial"), "{e}");
    // Nesting past the limit is an error, never a stack overflow.
    let depth = transfer::SEVEN_BIT_MAX_DEPTH + 5;
    let mut raw = String::new();
    for i in 0..depth {
        raw.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{i}\r\n\r\n--b{i}\r\n"
        ));
    }
    raw.push_str("\r\n\u{e9}\r\n");
    let e = seven(raw.as_bytes()).unwrap_err();
    assert!(e.contains("deeper"), "{e}");
}
