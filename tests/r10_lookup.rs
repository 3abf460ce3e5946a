//! Issue 10, point 3: recipients' certificates found by address. `--recipient bob@example.org`
//! (and, with no `--recipient` at all, every To/Cc/Bcc address and sendmail's envelope
//! recipients) finds bob's X.509 certificate in the config's `cert_dir` and his OpenPGP
//! certificate in the GnuPG keyring (`$GNUPGHOME`) or a keyring file; none, several, expired or
//! revoked: exit 67 with one line naming the address. The results decrypt with the real peers
//! (openssl, gpg).
//!
//! Every child runs with its own HOME, its own GNUPGHOME (a missing directory unless the test
//! makes a keyring) and no configuration but the file a test writes.

use crate::support::pgp;

use std::path::PathBuf;
use std::process::{Command, Output};

use crate::support::world::{World, s};
use crate::support::{NOW, NOW_PGP, code, err, out, root};

/// S/MIME tests' time (testdata/keys/smime/README.md).
const NOW_SMIME: &str = NOW;

fn smime(name: &str) -> PathBuf {
    root().join("testdata/keys/smime").join(name)
}

/// A child's world ([`World`], no GnuPG home) whose home holds a certificate directory
/// `home/certs` with `certs` (copies of the test certificates), and a config naming it that
/// every child gets as `--config ~/config.toml`.
fn world(certs: &[&str]) -> World {
    let w = World::new();
    std::fs::create_dir_all(w.path("home/certs")).expect("mkdir");
    for c in certs {
        std::fs::copy(smime(c), w.path("home/certs").join(c)).expect("copy");
    }
    w.write("home/config.toml", "cert_dir = \"~/certs\"\n");
    let (gnupg, config) = (w.text("no-gnupg"), w.text("home/config.toml"));
    w.with("GNUPGHOME", &gnupg)
        .with_args(&["--config", &config])
}

/// A message from alice to `to`, with `cc` and `bcc` when not empty.
fn message(to: &str, cc: &str, bcc: &str) -> Vec<u8> {
    let mut m = format!("From: Alice <alice@example.org>\nTo: {to}\n");
    if !cc.is_empty() {
        m.push_str(&format!("Cc: {cc}\n"));
    }
    if !bcc.is_empty() {
        m.push_str(&format!("Bcc: {bcc}\n"));
    }
    m.push_str(
        "Subject: Quarterly figures\nDate: Sat, 06 Jun 2009 16:10:00 +0000\n\
         Message-ID: <lookup-1@example.org>\n\nHello,\nthe figures are attached.\n",
    );
    m.into_bytes()
}

/// `openssl cms -decrypt` of `encrypted` as `who` (cert and key in testdata): the plaintext,
/// or the failure.
fn openssl_decrypt(w: &World, encrypted: &[u8], who: &str) -> Result<String, String> {
    let file = w.write("enc.eml", encrypted);
    let o = Command::new("openssl")
        .args(["cms", "-decrypt", "-in"])
        .arg(&file)
        .arg("-recip")
        .arg(smime(&format!("{who}.crt")))
        .arg("-inkey")
        .arg(smime(&format!("{who}.key")))
        .output()
        .expect("openssl");
    if o.status.success() {
        Ok(out(&o))
    } else {
        Err(err(&o))
    }
}

/// The exit status is 67 and the first stderr line names `address` and says `why`.
#[track_caller]
fn assert_no_key(o: &Output, address: &str, why: &str) {
    assert_eq!(code(o), 67, "{}", err(o));
    assert!(o.stdout.is_empty(), "{}", out(o));
    let first = err(o).lines().next().unwrap_or_default().to_owned();
    assert!(first.contains(address), "{first}");
    assert!(first.contains(why), "{first}");
}

#[test]
fn r10_recipient_address_found_in_cert_dir() {
    let w = world(&[
        "alice.chain.pem",
        "bob.crt",
        "bob.chain.pem",
        "carol.crt",
        "eve.crt",
    ]);
    // A non-certificate file with a certificate's extension is skipped, not an error.
    w.write("home/certs/notes.pem", "not a certificate\n");
    let msg = message("Bob <bob@example.org>", "", "");
    let o = w.run(
        &[
            "--now",
            NOW_SMIME,
            "protect",
            "--encrypt",
            "--recipient",
            "Bob@Example.org",
        ],
        &msg,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).contains("application/pkcs7-mime"), "{}", out(&o));
    let plain = openssl_decrypt(&w, &o.stdout, "bob").expect("bob decrypts");
    assert!(plain.contains("the figures are attached"), "{plain}");
    // Encrypted to bob only.
    assert!(openssl_decrypt(&w, &o.stdout, "alice").is_err());

    // No gpg on the PATH: the OpenPGP side is skipped quietly, S/MIME is found as before.
    std::fs::create_dir(w.path("gnupg")).expect("mkdir");
    let (path, home) = (s(&w.path("empty-path")), s(&w.path("gnupg")));
    let w = w.with("PATH", &path).with("GNUPGHOME", &home);
    let o = w.run(
        &[
            "--now",
            NOW_SMIME,
            "protect",
            "--encrypt",
            "--recipient",
            "bob@example.org",
        ],
        &msg,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));

    // A file is still a file, even with an @ in its name.
    let file = w.path("bob@example.org.pem");
    std::fs::copy(smime("bob.crt"), &file).expect("copy");
    let o = w.run(
        &[
            "--now",
            NOW_SMIME,
            "protect",
            "--encrypt",
            "--recipient",
            "bob@example.org.pem",
        ],
        &msg,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
}

#[test]
fn r10_encrypt_without_recipient_takes_to_cc_and_bcc() {
    let w = world(&["bob.crt", "carol.crt"]);
    let msg = message("Bob <bob@example.org>", "carol@example.org", "");
    let o = w.run(&["--now", NOW_SMIME, "protect", "--encrypt"], &msg);
    assert_eq!(code(&o), 0, "{}", err(&o));
    for who in ["bob", "carol"] {
        let plain = openssl_decrypt(&w, &o.stdout, who).unwrap_or_else(|e| panic!("{who}: {e}"));
        assert!(plain.contains("the figures are attached"), "{plain}");
    }
    // The config's `encrypt = true` asks the same.
    w.write(
        "home/config.toml",
        "cert_dir = \"~/certs\"\nencrypt = true\n",
    );
    let o = w.run(&["--now", NOW_SMIME, "protect"], &msg);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(openssl_decrypt(&w, &o.stdout, "carol").is_ok());

    // A Bcc recipient with no certificate anywhere: nothing is produced, and the line says who.
    let msg = message("bob@example.org", "carol@example.org", "dave@example.org");
    let o = w.run(&["--now", NOW_SMIME, "protect", "--encrypt"], &msg);
    assert_no_key(&o, "dave@example.org", "none found");
    assert!(err(&o).contains("searched cert_dir"), "{}", err(&o));

    // A --recipient FILE means the user chose: the other recipients are not looked up, and
    // every recipient still needs a certificate.
    let msg = message("bob@example.org", "carol@example.org", "");
    let bob = s(&smime("bob.crt"));
    let o = w.run(
        &[
            "--now",
            NOW_SMIME,
            "protect",
            "--encrypt",
            "--recipient",
            &bob,
        ],
        &msg,
    );
    assert_eq!(code(&o), 67, "{}", err(&o));
    assert!(err(&o).contains("carol@example.org"), "{}", err(&o));
}

#[test]
fn r10_gnupg_keyring_lookup_decrypts_with_gpg() {
    // The sender's keyring holds bob's public certificate only; bob's holds his key.
    let sender = pgp::Gpg::new(&[], &["bob"]);
    let receiver = pgp::Gpg::new(&["bob"], &[]);
    let w = world(&[]).with("GNUPGHOME", &s(sender.home.path()));
    let msg = message("Bob <bob@example.org>", "", "");
    for args in [
        &["--recipient", "bob@example.org"][..],
        &["--mechanism", "openpgp"],
        &[],
    ] {
        let mut all = vec!["--now", NOW_PGP, "protect", "--encrypt"];
        all.extend_from_slice(args);
        let o = w.run(&all, &msg);
        assert_eq!(code(&o), 0, "{args:?}: {}", err(&o));
        assert!(out(&o).contains("multipart/encrypted"), "{}", out(&o));
        let parts = pgp::split_parts(&o.stdout);
        assert_eq!(parts.len(), 2, "RFC 3156: control and encrypted part");
        let (ok, plain, why) = receiver.run(&["--decrypt"], &pgp::part_body(&parts[1]));
        assert!(ok, "gpg --decrypt: {why}");
        assert!(
            String::from_utf8_lossy(&plain).contains("the figures are attached"),
            "{}",
            String::from_utf8_lossy(&plain)
        );
    }
}

#[test]
fn r10_no_certificate_several_or_expired_name_the_address() {
    let w = world(&["bob.crt", "eve.crt"]);
    let msg = message("bob@example.org", "", "");
    let run = |w: &World, rcpt: &str, now: Option<&str>| {
        let mut args = Vec::new();
        if let Some(n) = now {
            args.extend(["--now", n]);
        }
        args.extend(["protect", "--encrypt", "--recipient", rcpt]);
        w.run(&args, &msg)
    };
    assert_no_key(
        &run(&w, "nobody@example.org", Some(NOW_SMIME)),
        "nobody@example.org",
        "none found",
    );
    // eve.crt expired at the end of 2020.
    let o = run(&w, "eve@example.org", Some(NOW_SMIME));
    assert_no_key(&o, "eve@example.org", "the only certificate");
    assert!(err(&o).contains("has expired on 2021-01-01"), "{}", err(&o));
    assert!(err(&o).contains("eve.crt"), "{}", err(&o));

    // A second, distinct certificate for bob, valid now: which one is bob's is not ours to
    // guess. (openssl dates it from the real clock, so this case runs at the real time.)
    let made = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout"])
        .arg(w.path("bob2.key"))
        .arg("-out")
        .arg(w.path("home/certs/bob2.pem"))
        .args([
            "-days",
            "30",
            "-subj",
            "/CN=Bob Two",
            "-addext",
            "subjectAltName=email:bob@example.org",
            "-addext",
            "keyUsage=keyEncipherment",
        ])
        .output()
        .expect("openssl req");
    assert!(made.status.success(), "{}", err(&made));
    let o = run(&w, "bob@example.org", None);
    assert_no_key(&o, "bob@example.org", "several certificates");
    assert!(
        err(&o).contains("bob.crt") && err(&o).contains("bob2.pem"),
        "{}",
        err(&o)
    );
    assert!(
        err(&o).contains("hint: give the one to use with --recipient FILE"),
        "{}",
        err(&o)
    );
    // The recipients of the message are looked up the same way.
    let o = w.run(&["protect", "--encrypt"], &msg);
    assert_no_key(&o, "bob@example.org", "several certificates");
}

#[test]
fn r10_openpgp_expired_revoked_and_several() {
    let gpg = pgp::Gpg::new(&[], &["bob", "expired", "revoked"]);
    let w = world(&[]).with("GNUPGHOME", &s(gpg.home.path()));
    let msg = message("bob@example.org", "", "");
    let run = |w: &World, rcpt: &str| {
        w.run(
            &[
                "--now",
                NOW_PGP,
                "protect",
                "--encrypt",
                "--recipient",
                rcpt,
            ],
            &msg,
        )
    };
    let o = run(&w, "expired@example.org");
    assert_no_key(&o, "expired@example.org", "has expired on 2025-01-01");
    assert!(err(&o).contains("the only certificate"), "{}", err(&o));
    let o = run(&w, "revoked@example.org");
    assert_no_key(&o, "revoked@example.org", "is revoked");

    // A keyring file (trust.keyring) with another certificate for bob: two distinct valid
    // certificates, from two sources.
    use sequoia_openpgp::serialize::SerializeInto;
    let created = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_748_736_000); // 2025-06-01
    let (other, _) = sequoia_openpgp::cert::CertBuilder::new()
        .add_userid("Bob Two <bob@example.org>")
        .add_transport_encryption_subkey()
        .set_creation_time(created)
        .generate()
        .expect("cert");
    w.write("home/other.pgp", other.armored().to_vec().expect("armor"));
    w.write("home/config.toml", "[trust]\nkeyring = [\"~/other.pgp\"]\n");
    let o = run(&w, "bob@example.org");
    assert_no_key(&o, "bob@example.org", "several certificates");
    assert!(
        err(&o).contains(&other.fingerprint().to_hex()),
        "{}",
        err(&o)
    );
    // Signing with an S/MIME key makes it S/MIME: only bob's X.509 certificate is looked up,
    // and the OpenPGP ambiguity does not matter.
    std::fs::copy(smime("bob.crt"), w.path("home/certs/bob.crt")).expect("copy");
    w.write(
        "home/config.toml",
        "cert_dir = \"~/certs\"\n[trust]\nkeyring = [\"~/other.pgp\"]\n",
    );
    let (k, c) = (s(&smime("alice.key")), s(&smime("alice.chain.pem")));
    let o = w.run(
        &[
            "--now",
            NOW_PGP,
            "protect",
            "--sign",
            "--encrypt",
            "--key",
            &k,
            "--cert",
            &c,
        ],
        &msg,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(openssl_decrypt(&w, &o.stdout, "bob").is_ok());
    assert_no_key(&run(&w, "bob@example.org"), "bob@example.org", "several");
    // The same certificate in both places is one certificate.
    std::fs::copy(pgp::key_path("bob", "cert"), w.path("home/other.pgp")).expect("copy");
    assert_eq!(code(&run(&w, "bob@example.org")), 0);
    // A keyring file alone serves, without GnuPG.
    let none = s(&w.path("no-gnupg"));
    let w = w.with("GNUPGHOME", &none);
    let o = run(&w, "bob@example.org");
    assert_eq!(code(&o), 0, "{}", err(&o));
}

#[test]
fn r10_sendmail_encrypts_to_addresses_only() {
    let w = world(&["bob.crt", "carol.crt"]);
    let fake = s(&root().join("testdata/bin/fake-sendmail"));
    w.write(
        "home/config.toml",
        format!("cert_dir = \"~/certs\"\nencrypt = true\nsendmail_command = [\"{fake}\"]\n"),
    );
    let rec = s(&w.path("rec"));
    let w = w.with("FAKE_SENDMAIL_RECORD", &rec);
    let profile = s(&root().join("profiles/builtin"));
    // As mutt calls $sendmail: the recipients are addresses, carol only on the envelope.
    let o = w.run(
        &[
            "--now",
            NOW_SMIME,
            "sendmail",
            "-p",
            &profile,
            "--set",
            "X-XIMF-Security-Classification=example-restricted",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
            "-B8BITMIME",
            "-f",
            "alice@example.org",
            "--",
            "bob@example.org",
            "carol@example.org",
        ],
        &message("Bob <bob@example.org>", "", ""),
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let sent = std::fs::read(w.path("rec.msg")).expect("sent");
    assert!(String::from_utf8_lossy(&sent).contains("application/pkcs7-mime"));
    for who in ["bob", "carol"] {
        let plain = openssl_decrypt(&w, &sent, who).unwrap_or_else(|e| panic!("{who}: {e}"));
        assert!(plain.contains("the figures are attached"), "{plain}");
    }
    // An envelope recipient nobody has a certificate for: nothing sent, 67 naming them.
    std::fs::remove_file(w.path("rec.msg")).expect("rm");
    let o = w.run(
        &[
            "--now",
            NOW_SMIME,
            "sendmail",
            "-p",
            &profile,
            "--set",
            "X-XIMF-Security-Classification=example-restricted",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
            "--",
            "bob@example.org",
            "dave@example.org",
        ],
        &message("Bob <bob@example.org>", "", ""),
    );
    assert_no_key(&o, "dave@example.org", "none found");
    assert!(!w.path("rec.msg").exists(), "nothing may be sent");
}
