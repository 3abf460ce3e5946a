//! S/MIME interop with the real peers, both directions: everything ximf signs or encrypts must
//! verify/decrypt with `openssl cms`/`openssl smime` (and gpgsm), and everything they produce
//! (made here, at test time, from the committed keys in testdata/keys/smime) must verify/decrypt
//! with ximf.

#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::engine::smime::{
    self, Cipher, Credentials, Digest, EncryptOptions, SignOptions, VerifyOptions,
};
use crate::support::fixtures::to_crlf;

/// 2026-11-29T00:00:00Z.
const NOW: i64 = 1_795_910_400;

fn keys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/keys/smime")
}

fn k(name: &str) -> String {
    keys().join(name).to_str().unwrap().to_owned()
}

fn creds(name: &str) -> Credentials {
    let key = std::fs::read(keys().join(format!("{name}.key"))).unwrap();
    let chain = std::fs::read(keys().join(format!("{name}.chain.pem"))).unwrap();
    Credentials::load(&key, &[&chain]).unwrap()
}

fn cert(name: &str) -> smime::Certificate {
    smime::parse_certs(&std::fs::read(keys().join(format!("{name}.crt"))).unwrap())
        .unwrap()
        .remove(0)
}

fn opts() -> VerifyOptions {
    let mut o = VerifyOptions::default();
    o.anchors = smime::parse_certs(&std::fs::read(keys().join("root.crt")).unwrap()).unwrap();
    o.now = NOW;
    o.extract = true;
    o
}

fn message(from: &str) -> Vec<u8> {
    format!(
        "From: Sender <{from}>\nTo: Bob <bob@example.org>\nSubject: Q3 plan\nDate: Sun, 29 Nov 2026 00:00:00 +0000\nMessage-ID: <q3@example.org>\nX-XIMF-NAME: Caterpillar\nX-XIMF-Security-Classification: caterpillar-green\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\nHello Bob,\nthe plan is ready \u{2014} caf\u{e9}.\n\n-- \nAlice\n"
    )
    .into_bytes()
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

/// Runs a command, asserting success; returns stdout.
fn run(cmd: &mut Command) -> Vec<u8> {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&out.stdout)
    );
    out.stdout
}

fn openssl_verify(dir: &Path, signed: &[u8], tool: &str) -> Vec<u8> {
    let f = dir.join("signed.eml");
    std::fs::write(&f, signed).unwrap();
    run(Command::new("openssl").args([
        tool,
        "-verify",
        "-in",
        f.to_str().unwrap(),
        "-CAfile",
        &k("root.crt"),
        "-attime",
        &NOW.to_string(),
        "-purpose",
        "smimesign",
    ]))
}

fn sign_opts(digest: Option<Digest>, opaque: bool, pss: bool) -> SignOptions {
    let mut o = SignOptions::default();
    o.digest = digest;
    o.opaque = opaque;
    o.rsa_pss = pss;
    o.now = NOW;
    o
}

fn assert_valid(v: &smime::Verification, signer: &str) {
    assert_eq!(v.signature.status, "valid", "{:#?}", v.findings);
    assert_eq!(v.signature.signer.as_deref(), Some(signer));
    assert!(
        !v.findings
            .iter()
            .any(|f| f.severity == ximf::report::Severity::Error),
        "{:#?}",
        v.findings
    );
}

#[test]
fn ximf_signatures_verify_with_openssl() {
    let dir = tmp();
    let cases: &[(&str, Option<Digest>, bool, &str)] = &[
        ("alice", Some(Digest::Sha256), false, "sha-256"),
        ("alice", Some(Digest::Sha384), false, "sha-384"),
        ("alice", Some(Digest::Sha512), false, "sha-512"),
        ("alice", Some(Digest::Sha256), true, "sha-256"),
        ("carol", None, false, "sha-256"),
        ("dave", None, false, "sha-384"),
    ];
    for &(who, digest, pss, micalg) in cases {
        let addr = format!("{who}@example.org");
        for opaque in [false, true] {
            let signed = smime::sign(
                &message(&addr),
                &creds(who),
                &sign_opts(digest, opaque, pss),
            )
            .unwrap();
            let text = String::from_utf8_lossy(&signed);
            if !opaque {
                assert!(text.contains(&format!("micalg={micalg}")), "{text}");
            }
            assert!(!text.contains('\r'), "LF input gives LF output");
            // The PKCS#7 API behind `openssl smime` knows no RSA-PSS.
            let tools: &[&str] = if pss { &["cms"] } else { &["cms", "smime"] };
            for &tool in tools {
                let out = openssl_verify(dir.path(), &signed, tool);
                assert!(String::from_utf8_lossy(&out).contains("the plan is ready"));
            }
            let v = smime::verify(&signed, &opts()).unwrap();
            assert_valid(&v, &addr);
            assert!(v.signature.protected_headers.iter().any(|h| h == "Subject"));
            // CRLF copy verifies too.
            let crlf = to_crlf(&signed);
            openssl_verify(dir.path(), &crlf, "cms");
            assert_valid(&smime::verify(&crlf, &opts()).unwrap(), &addr);
        }
    }
}

/// `openssl cms -sign` output (made now from the committed keys) verifies with ximf.
fn openssl_sign(dir: &Path, who: &str, extra: &[&str]) -> Vec<u8> {
    let content = dir.join("content.txt");
    std::fs::write(
        &content,
        "Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned by openssl.\r\n",
    )
    .unwrap();
    let mut cmd = Command::new("openssl");
    cmd.args([
        "cms",
        "-sign",
        "-in",
        content.to_str().unwrap(),
        "-signer",
        &k(&format!("{who}.crt")),
        "-inkey",
        &k(&format!("{who}.key")),
        "-certfile",
        &k("inter.crt"),
        "-from",
        &format!("{who}@example.org"),
        "-to",
        "bob@example.org",
        "-subject",
        "from openssl",
    ]);
    cmd.args(extra);
    run(&mut cmd)
}

#[test]
fn openssl_signatures_verify_with_ximf() {
    let dir = tmp();
    let cases: &[(&str, &[&str], &str)] = &[
        ("alice", &["-md", "sha256"], "sha256"),
        ("alice", &["-md", "sha384"], "sha384"),
        ("alice", &["-md", "sha512"], "sha512"),
        (
            "alice",
            &["-md", "sha256", "-keyopt", "rsa_padding_mode:pss"],
            "sha256",
        ),
        ("alice", &["-md", "sha256", "-nodetach"], "sha256"),
        (
            "alice",
            &[
                "-md",
                "sha256",
                "-nodetach",
                "-keyopt",
                "rsa_padding_mode:pss",
            ],
            "sha256",
        ),
        ("carol", &["-md", "sha256"], "sha256"),
        ("carol", &["-md", "sha512", "-nodetach"], "sha512"),
        ("dave", &["-md", "sha384"], "sha384"),
    ];
    for &(who, args, digest) in cases {
        let signed = openssl_sign(dir.path(), who, args);
        let v = smime::verify(&signed, &opts()).unwrap();
        assert_valid(&v, &format!("{who}@example.org"));
        assert_eq!(v.signature.digest.as_deref(), Some(digest), "{args:?}");
        assert!(String::from_utf8_lossy(&v.content).contains("Signed by openssl."));
        // Stored with LF line endings, as procmail hands it over: still valid.
        let lf = ximf::message::eol::to_lf(&signed).into_owned();
        assert_valid(
            &smime::verify(&lf, &opts()).unwrap(),
            &format!("{who}@example.org"),
        );
    }
    // Legacy x-pkcs7 types (openssl smime -pk7out style names): rename and verify.
    let signed = openssl_sign(dir.path(), "alice", &[]);
    let legacy = String::from_utf8(signed).unwrap().replace(
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
    );
    assert_valid(
        &smime::verify(legacy.as_bytes(), &opts()).unwrap(),
        "alice@example.org",
    );
}

fn openssl_decrypt(dir: &Path, enc: &[u8], who: &str) -> Vec<u8> {
    let f = dir.join("enc.eml");
    std::fs::write(&f, enc).unwrap();
    run(Command::new("openssl").args([
        "cms",
        "-decrypt",
        "-in",
        f.to_str().unwrap(),
        "-recip",
        &k(&format!("{who}.crt")),
        "-inkey",
        &k(&format!("{who}.key")),
    ]))
}

fn enc_opts(cipher: Cipher, oaep: bool) -> EncryptOptions {
    let mut o = EncryptOptions::default();
    o.cipher = Some(cipher);
    o.oaep = oaep;
    o.now = NOW;
    o
}

#[test]
fn ximf_encryption_decrypts_with_openssl() {
    let dir = tmp();
    for cipher in [
        Cipher::Aes128Cbc,
        Cipher::Aes256Cbc,
        Cipher::Aes128Gcm,
        Cipher::Aes256Gcm,
    ] {
        for oaep in [false, true] {
            let enc = smime::encrypt(
                &message("alice@example.org"),
                &[cert("bob"), cert("carol"), cert("dave")],
                &enc_opts(cipher, oaep),
            )
            .unwrap();
            let text = String::from_utf8_lossy(&enc);
            assert!(
                text.contains("Subject: [...]"),
                "hcp_baseline hides the subject"
            );
            for who in ["bob", "carol", "dave"] {
                let out = openssl_decrypt(dir.path(), &enc, who);
                let out = String::from_utf8_lossy(&out);
                assert!(out.contains("Subject: Q3 plan"), "{cipher:?} {who}: {out}");
                assert!(out.contains("hp=\"cipher\""));
                assert!(out.contains("HP-Outer: Subject: [...]"));
            }
            // The PKCS#7 API behind `openssl smime` reads enveloped-data with RSA PKCS#1 v1.5
            // recipients only.
            if matches!(cipher, Cipher::Aes128Cbc | Cipher::Aes256Cbc) && !oaep {
                let f = dir.path().join("enc-smime.eml");
                let only_bob = smime::encrypt(
                    &message("alice@example.org"),
                    &[cert("bob")],
                    &enc_opts(cipher, oaep),
                )
                .unwrap();
                std::fs::write(&f, &only_bob).unwrap();
                let out = run(Command::new("openssl").args([
                    "smime",
                    "-decrypt",
                    "-in",
                    f.to_str().unwrap(),
                    "-recip",
                    &k("bob.crt"),
                    "-inkey",
                    &k("bob.key"),
                ]));
                assert!(String::from_utf8_lossy(&out).contains("Subject: Q3 plan"));
            }
            // And ximf decrypts its own output with either key.
            for who in ["bob", "carol"] {
                let plain = smime::decrypt(&enc, &[creds(who)], NOW).unwrap();
                assert!(String::from_utf8_lossy(&plain).contains("Subject: Q3 plan"));
            }
        }
    }
}

#[test]
fn sign_then_encrypt_round_trips_through_openssl() {
    let dir = tmp();
    let signed = smime::sign(
        &message("alice@example.org"),
        &creds("alice"),
        &sign_opts(None, false, false),
    )
    .unwrap();
    let enc = smime::encrypt(&signed, &[cert("bob")], &enc_opts(Cipher::Aes256Gcm, false)).unwrap();
    let inner = openssl_decrypt(dir.path(), &enc, "bob");
    // openssl decrypts to the multipart/signed entity, which openssl verifies.
    openssl_verify(dir.path(), &inner, "cms");
    let mut o = opts();
    o.keys = vec![creds("bob")];
    let v = smime::verify(&enc, &o).unwrap();
    assert_eq!(v.encryption.status, "decrypted");
    assert_eq!(v.encryption.cipher.as_deref(), Some("aes256-gcm"));
    assert_valid(&v, "alice@example.org");
}

#[test]
fn openssl_encryption_decrypts_with_ximf() {
    let dir = tmp();
    let content = dir.path().join("content.txt");
    std::fs::write(
        &content,
        "Content-Type: text/plain\r\n\r\nEncrypted by openssl.\r\n",
    )
    .unwrap();
    let cases: &[(&str, &[&str], &str)] = &[
        ("bob", &["-aes128"], "aes128-cbc"),
        ("bob", &["-aes256"], "aes256-cbc"),
        ("bob", &["-aes-128-gcm"], "aes128-gcm"),
        ("bob", &["-aes-256-gcm"], "aes256-gcm"),
        (
            "bob",
            &["-aes256", "-keyopt", "rsa_padding_mode:oaep"],
            "aes256-cbc",
        ),
        (
            "bob",
            &[
                "-aes-256-gcm",
                "-keyopt",
                "rsa_padding_mode:oaep",
                "-keyopt",
                "rsa_oaep_md:sha256",
            ],
            "aes256-gcm",
        ),
        ("carol", &["-aes256"], "aes256-cbc"),
        ("carol", &["-aes-128-gcm"], "aes128-gcm"),
        ("dave", &["-aes256"], "aes256-cbc"),
    ];
    for &(who, args, cipher) in cases {
        let mut cmd = Command::new("openssl");
        cmd.args(["cms", "-encrypt", "-in", content.to_str().unwrap()]);
        cmd.args([
            "-from",
            "alice@example.org",
            "-to",
            "bob@example.org",
            "-subject",
            "x",
        ]);
        // -keyopt applies to the -recip before it.
        cmd.arg("-recip").arg(k(&format!("{who}.crt")));
        cmd.args(args);
        let enc = run(&mut cmd);
        let plain = smime::decrypt(&enc, &[creds("alice"), creds(who)], NOW)
            .unwrap_or_else(|e| panic!("{args:?}: {e}"));
        assert!(String::from_utf8_lossy(&plain).contains("Encrypted by openssl."));
        let mut o = opts();
        o.keys = vec![creds(who)];
        let v = smime::verify(&enc, &o).unwrap();
        assert_eq!(v.encryption.status, "decrypted");
        assert_eq!(v.encryption.cipher.as_deref(), Some(cipher));
        assert_eq!(v.signature.status, "absent");
    }
}
