//! Tampering and trust failures: each gives the right status and an error finding.

#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::engine::smime::{
    self, Cipher, Credentials, EncryptOptions, EssLabel, SignOptions, VerifyOptions,
};
use crate::support::fixtures::to_crlf;
use ximf::report::Severity;

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

fn opts() -> VerifyOptions {
    let mut o = VerifyOptions::default();
    o.anchors = smime::parse_certs(&std::fs::read(keys().join("root.crt")).unwrap()).unwrap();
    o.now = NOW;
    o
}

const MSG: &str = "From: Alice <alice@example.org>
To: bob@example.org
Subject: Q3 plan
Date: Sun, 29 Nov 2026 00:00:00 +0000
Message-ID: <q3@example.org>
X-XIMF-NAME: Caterpillar
X-XIMF-Security-Policy-Identifier: 1.2.840.113549.1.9.16.7.2
X-XIMF-Security-Classification: caterpillar-green
X-XIMF-Security-Classification-Identifier: 7
X-XIMF-Privacy-Mark: CONFIDENTIEL VERT
MIME-Version: 1.0
Content-Type: text/plain; charset=us-ascii

The plan is ready.
";

fn sign_with(who: &str, f: impl FnOnce(&mut SignOptions)) -> String {
    let mut o = SignOptions::default();
    o.now = NOW;
    f(&mut o);
    String::from_utf8(smime::sign(MSG.as_bytes(), &creds(who), &o).unwrap()).unwrap()
}

fn codes(v: &smime::Verification) -> Vec<&'static str> {
    v.findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.code)
        .collect()
}

fn check(msg: &str, status: &str, code: &str) -> smime::Verification {
    let v = smime::verify(msg.as_bytes(), &opts()).unwrap();
    assert_eq!(v.signature.status, status, "{:#?}", v.findings);
    assert!(codes(&v).contains(&code), "want {code}: {:#?}", v.findings);
    v
}

/// Replaces the first occurrence after `after` (so the outer header or the signed part can be
/// targeted).
fn replace_after(s: &str, after: &str, from: &str, to: &str) -> String {
    let start = s.find(after).unwrap();
    let i = start + s[start..].find(from).unwrap();
    format!("{}{}{}", &s[..i], to, &s[i + from.len()..])
}

#[test]
fn untouched_message_is_valid() {
    let signed = sign_with("alice", |_| {});
    let v = smime::verify(signed.as_bytes(), &opts()).unwrap();
    assert_eq!(v.signature.status, "valid", "{:#?}", v.findings);
    assert!(codes(&v).is_empty(), "{:#?}", v.findings);
    assert!(
        v.inner_headers
            .iter()
            .any(|(n, v)| n == "Subject" && v == "Q3 plan")
    );
}

#[test]
fn body_changed() {
    let signed = sign_with("alice", |_| {});
    check(
        &signed.replace("plan is ready", "plan is READY"),
        "invalid",
        "signature-invalid",
    );
}

#[test]
fn signed_header_changed() {
    let signed = sign_with("alice", |_| {});
    // The protected copy inside the signed part: the digest breaks.
    let inner = replace_after(
        &signed,
        "hp=\"clear\"",
        "Subject: Q3 plan",
        "Subject: Q4 plan",
    );
    check(&inner, "invalid", "signature-invalid");
    // The outer copy: the signature holds but the outer field no longer matches.
    let outer = signed.replacen("Subject: Q3 plan", "Subject: Q4 plan", 1);
    let v = check(&outer, "valid", "protected-header-mismatch");
    assert_eq!(
        v.findings
            .iter()
            .find(|f| f.code == "protected-header-mismatch")
            .unwrap()
            .header
            .as_deref(),
        Some("Subject")
    );
}

#[test]
fn outer_classification_changed_against_label_and_protected_copy() {
    let label = EssLabel {
        policy: "1.2.840.113549.1.9.16.7.2".into(),
        classification: Some(7),
        privacy_mark: Some("CONFIDENTIEL VERT".into()),
        categories: vec![],
    };
    let signed = sign_with("alice", |o| o.label = Some(label));
    let v = smime::verify(signed.as_bytes(), &opts()).unwrap();
    assert!(codes(&v).is_empty(), "{:#?}", v.findings);
    let l = v.label.as_ref().unwrap();
    assert_eq!(l.classification, Some(7));
    assert_eq!(l.policy.as_deref(), Some("1.2.840.113549.1.9.16.7.2"));
    assert_eq!(l.privacy_mark.as_deref(), Some("CONFIDENTIEL VERT"));

    let tampered = signed
        .replacen(
            "Classification-Identifier: 7",
            "Classification-Identifier: 9",
            1,
        )
        .replacen("caterpillar-green", "caterpillar-red", 1);
    let v = check(&tampered, "valid", "label-mismatch");
    let c = codes(&v);
    assert!(c.contains(&"protected-header-mismatch"), "{c:?}");
    // The label is also visible to openssl as an ordinary signed attribute.
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("l.eml");
    std::fs::write(&f, &signed).unwrap();
    let out = Command::new("openssl")
        .args([
            "cms",
            "-verify",
            "-in",
            f.to_str().unwrap(),
            "-CAfile",
            &k("root.crt"),
        ])
        .args(["-attime", &NOW.to_string(), "-out", "/dev/null"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn secure_header_fields_rfc7508() {
    let signed = sign_with("alice", |o| {
        o.header_protection = false;
        o.secure_headers = Some((
            true,
            vec![
                ("From".into(), 0),
                ("Subject".into(), 0),
                ("X-XIMF-Security-Classification".into(), 0),
            ],
        ));
    });
    let v = smime::verify(signed.as_bytes(), &opts()).unwrap();
    assert!(codes(&v).is_empty(), "{:#?}", v.findings);
    assert!(v.signature.protected_headers.iter().any(|h| h == "subject"));
    let tampered = signed.replacen("caterpillar-green", "caterpillar-red", 1);
    check(&tampered, "valid", "secure-header-mismatch");
    let removed = signed.replacen("Subject: Q3 plan\n", "", 1);
    check(&removed, "valid", "secure-header-missing");
}

#[test]
fn signature_removed() {
    let signed = sign_with("alice", |_| {});
    let b = signed
        .split("boundary=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let cut = signed
        .rfind(&format!(
            "\n--{b}\nContent-Type: application/pkcs7-signature"
        ))
        .unwrap();
    let stripped = format!("{}\n--{b}--\n", &signed[..cut]);
    check(&stripped, "invalid", "signature-removed");
}

#[test]
fn untrusted_ca() {
    let mut o = SignOptions::default();
    o.now = NOW;
    let m = MSG.replace("alice@", "mallory@");
    let signed = smime::sign(m.as_bytes(), &creds("mallory"), &o).unwrap();
    check(
        std::str::from_utf8(&signed).unwrap(),
        "untrusted",
        "signature-untrusted",
    );
}

#[test]
fn expired_certificate() {
    let mut o = SignOptions::default();
    o.now = NOW;
    let m = MSG.replace("alice@", "eve@");
    let signed = smime::sign(m.as_bytes(), &creds("eve"), &o).unwrap();
    check(
        std::str::from_utf8(&signed).unwrap(),
        "expired",
        "certificate-expired",
    );
}

#[test]
fn signer_mismatch() {
    let m = MSG.replace("From: Alice <alice@", "From: Bob <bob@");
    let mut o = SignOptions::default();
    o.now = NOW;
    let signed = smime::sign(m.as_bytes(), &creds("alice"), &o).unwrap();
    check(
        std::str::from_utf8(&signed).unwrap(),
        "valid",
        "signer-mismatch",
    );
}

fn openssl_sign(who: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("c.txt");
    std::fs::write(&content, "Content-Type: text/plain\r\n\r\nweak\r\n").unwrap();
    let out = Command::new("openssl")
        .args(["cms", "-sign", "-in", content.to_str().unwrap()])
        .args([
            "-signer",
            &k(&format!("{who}.crt")),
            "-inkey",
            &k(&format!("{who}.key")),
        ])
        .args([
            "-certfile",
            &k("inter.crt"),
            "-from",
            &format!("{who}@example.org"),
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn weak_algorithms() {
    check(
        &openssl_sign("alice", &["-md", "sha1"]),
        "weak",
        "weak-algorithm",
    );
    check(
        &openssl_sign("walter", &["-md", "sha256"]),
        "weak",
        "weak-algorithm",
    );
    // ximf refuses to make them.
    let mut o = SignOptions::default();
    o.now = NOW;
    let e = smime::sign(MSG.as_bytes(), &creds("walter"), &o).unwrap_err();
    assert_eq!(e.class(), ximf::ErrorClass::Config);
    // 3DES content encryption is reported weak on decryption.
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("c.txt");
    std::fs::write(&content, "Content-Type: text/plain\r\n\r\nold\r\n").unwrap();
    let out = Command::new("openssl")
        .args([
            "cms",
            "-encrypt",
            "-des3",
            "-in",
            content.to_str().unwrap(),
            &k("bob.crt"),
        ])
        .output()
        .unwrap();
    let mut vo = opts();
    vo.keys = vec![creds("bob")];
    let v = smime::verify(&out.stdout, &vo).unwrap();
    assert_eq!(v.encryption.status, "decrypted");
    assert!(codes(&v).contains(&"weak-algorithm"));
}

#[test]
fn rfc8551_message_rfc822_wrapper() {
    let dir = tempfile::tempdir().unwrap();
    let content = dir.path().join("c.txt");
    let inner = String::from_utf8(to_crlf(MSG.as_bytes())).unwrap();
    std::fs::write(
        &content,
        format!("Content-Type: message/rfc822\r\n\r\n{inner}"),
    )
    .unwrap();
    let out = Command::new("openssl")
        .args(["cms", "-sign", "-in", content.to_str().unwrap()])
        .args([
            "-signer",
            &k("alice.crt"),
            "-inkey",
            &k("alice.key"),
            "-certfile",
            &k("inter.crt"),
        ])
        .args(["-from", "alice@example.org", "-subject", "Q3 plan"])
        .output()
        .unwrap();
    let signed = String::from_utf8(out.stdout).unwrap();
    let v = smime::verify(signed.as_bytes(), &opts()).unwrap();
    assert_eq!(v.signature.status, "valid");
    assert!(
        v.inner_headers
            .iter()
            .any(|(n, _)| n == "X-XIMF-Security-Classification")
    );
    let tampered = signed.replacen("Subject: Q3 plan", "Subject: urgent", 1);
    check(&tampered, "valid", "protected-header-mismatch");
}

#[test]
fn signed_part_inside_unsigned_multipart_is_not_signed() {
    let signed = sign_with("alice", |_| {});
    let wrapped = format!(
        "From: alice@example.org\nSubject: fwd\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"outer\"\n\n--outer\nContent-Type: text/plain\n\nunsigned text\n--outer\nContent-Type: message/rfc822\n\n{signed}\n--outer--\n"
    );
    // A signed message enclosed beside unsigned text: the message as a whole is not signed,
    // and the unsigned text must not pass for signed (issue 9: an error, as for OpenPGP).
    let v = smime::verify(wrapped.as_bytes(), &opts()).unwrap();
    assert_eq!(v.signature.status, "absent");
    assert!(
        v.findings
            .iter()
            .any(|f| f.code == "partially-signed" && f.severity == Severity::Error)
    );
    // A bare multipart/signed part inside multipart/mixed, too.
    let body = signed
        .split("\n\n")
        .skip(1)
        .collect::<Vec<_>>()
        .join("\n\n");
    let ct = signed
        .lines()
        .find(|l| l.starts_with("Content-Type: multipart/signed"))
        .unwrap();
    let b = signed
        .split("boundary=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let mixed = format!(
        "From: alice@example.org\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"outer\"\n\n--outer\n{ct}\n micalg=sha-256; boundary=\"{b}\"\n\n{body}\n--outer\nContent-Type: text/plain\n\nadded later\n--outer--\n"
    );
    let v = smime::verify(mixed.as_bytes(), &opts()).unwrap();
    assert_eq!(v.signature.status, "absent");
    assert!(v.findings.iter().any(|f| f.code == "partially-signed"));
}

#[test]
fn tampered_authenticated_encryption_fails_without_output() {
    let mut o = EncryptOptions::default();
    o.cipher = Some(Cipher::Aes256Gcm);
    let enc = smime::encrypt(
        MSG.as_bytes(),
        &[
            smime::parse_certs(&std::fs::read(keys().join("bob.crt")).unwrap())
                .unwrap()
                .remove(0),
        ],
        &o,
    )
    .unwrap();
    let text = String::from_utf8(enc).unwrap();
    // Flip one base64 character deep inside the ciphertext.
    let head_end = text.find("\n\n").unwrap() + 2;
    let mut bytes = text.into_bytes();
    let i = head_end + (bytes.len() - head_end) * 3 / 4;
    let i = (i..bytes.len())
        .find(|&j| bytes[j].is_ascii_alphanumeric())
        .unwrap();
    bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
    let e = smime::decrypt(&bytes, &[creds("bob")], NOW).unwrap_err();
    assert_eq!(e.class(), ximf::ErrorClass::Data, "{e}");
    let mut vo = opts();
    vo.keys = vec![creds("bob")];
    let v = smime::verify(&bytes, &vo).unwrap();
    assert_eq!(v.encryption.status, "failed");
    assert!(codes(&v).contains(&"decryption-failed"));
    assert!(v.content.is_empty());
    // An unencrypted message is a data error (65).
    let e = smime::decrypt(MSG.as_bytes(), &[creds("alice")], NOW).unwrap_err();
    assert_eq!(e.class(), ximf::ErrorClass::Data);
}

#[test]
fn not_a_recipient_is_no_key() {
    let o = EncryptOptions::default();
    let bob = smime::parse_certs(&std::fs::read(keys().join("bob.crt")).unwrap()).unwrap();
    let enc = smime::encrypt(MSG.as_bytes(), &bob, &o).unwrap();
    let e = smime::decrypt(&enc, &[creds("alice")], NOW).unwrap_err();
    assert_eq!(e.class(), ximf::ErrorClass::NoUser, "{e}");
}

#[test]
fn unsigned_and_garbage() {
    let v = smime::verify(MSG.as_bytes(), &opts()).unwrap();
    assert_eq!(v.signature.status, "absent");
    assert_eq!(v.encryption.status, "absent");
    assert!(v.findings.is_empty());
    assert!(smime::verify(b"\x00\x01 not a message", &opts()).is_err());
}

#[test]
fn encrypted_header_protection_hp_cipher() {
    let bob = smime::parse_certs(&std::fs::read(keys().join("bob.crt")).unwrap()).unwrap();
    let enc = smime::encrypt(MSG.as_bytes(), &bob, &EncryptOptions::default()).unwrap();
    let enc = String::from_utf8(enc).unwrap();
    assert!(enc.contains("Subject: [...]"));
    assert!(!enc.contains("Q3 plan"));
    let mut vo = opts();
    vo.keys = vec![creds("bob")];
    vo.extract = true;
    let v = smime::verify(enc.as_bytes(), &vo).unwrap();
    assert_eq!(v.encryption.status, "decrypted");
    assert_eq!(v.encryption.cipher.as_deref(), Some("aes256-gcm"));
    assert!(codes(&v).is_empty(), "{:#?}", v.findings);
    assert!(
        v.inner_headers
            .iter()
            .any(|(n, v)| n == "Subject" && v == "Q3 plan")
    );
    assert!(String::from_utf8_lossy(&v.content).contains("Subject: Q3 plan"));
    // An outer field changed in transit (not explained by an HP-Outer record).
    let tampered = enc.replacen(
        "X-XIMF-Security-Classification: caterpillar-green",
        "X-XIMF-Security-Classification: caterpillar-red",
        1,
    );
    let v = smime::verify(tampered.as_bytes(), &vo).unwrap();
    assert!(
        codes(&v).contains(&"protected-header-mismatch"),
        "{:#?}",
        v.findings
    );
}

#[test]
fn pgp_mime_is_judged_as_openpgp_by_the_same_engine() {
    // One engine: an (empty) PGP/MIME signature is an invalid OpenPGP layer, never mistaken for
    // S/MIME nor ignored (issue 9).
    let pgp = "From: alice@example.org\nMIME-Version: 1.0\nContent-Type: multipart/signed; micalg=pgp-sha256;\n protocol=\"application/pgp-signature\"; boundary=\"p\"\n\n--p\nContent-Type: text/plain\n\nhi\n--p\nContent-Type: application/pgp-signature\n\n-----BEGIN PGP SIGNATURE-----\n-----END PGP SIGNATURE-----\n--p--\n";
    let v = smime::verify(pgp.as_bytes(), &opts()).unwrap();
    assert_eq!(v.signature.mechanism.as_deref(), Some("openpgp"));
    assert_eq!(v.signature.status, "invalid");
    assert!(
        codes(&v).contains(&"signature-invalid"),
        "{:#?}",
        v.findings
    );
}

#[test]
fn mangled_input_never_panics() {
    let signed = sign_with("alice", |o| {
        o.label = Some(EssLabel {
            policy: "1.2.840.113549.1.9.16.7.2".into(),
            classification: Some(7),
            privacy_mark: None,
            categories: vec![],
        });
    });
    let bytes = signed.as_bytes();
    let mut vo = opts();
    vo.keys = vec![creds("bob")];
    for cut in (0..bytes.len()).step_by(97) {
        let _ = smime::verify(&bytes[..cut], &vo);
        let mut flipped = bytes.to_vec();
        flipped[cut] ^= 0x55;
        let _ = smime::verify(&flipped, &vo);
        let _ = smime::decrypt(&flipped, &vo.keys, NOW);
    }
}

#[test]
fn intermediates_from_extra_certs() {
    // The signer sends only its own certificate; the intermediate comes from the verifier.
    let key = std::fs::read(keys().join("alice.key")).unwrap();
    let leaf = std::fs::read(keys().join("alice.crt")).unwrap();
    let alice = Credentials::load(&key, &[&leaf]).unwrap();
    let mut o = SignOptions::default();
    o.now = NOW;
    let signed = smime::sign(MSG.as_bytes(), &alice, &o).unwrap();
    check(
        std::str::from_utf8(&signed).unwrap(),
        "untrusted",
        "signature-untrusted",
    );
    let mut vo = opts();
    vo.extra_certs = smime::parse_certs(&std::fs::read(keys().join("inter.crt")).unwrap()).unwrap();
    let v = smime::verify(&signed, &vo).unwrap();
    assert_eq!(v.signature.status, "valid", "{:#?}", v.findings);
}

#[test]
fn mbox_envelope_line_is_kept_and_skipped() {
    let m = format!("From alice@example.org Sun Nov 29 00:00:00 2026\n{MSG}");
    let mut o = SignOptions::default();
    o.now = NOW;
    let signed =
        String::from_utf8(smime::sign(m.as_bytes(), &creds("alice"), &o).unwrap()).unwrap();
    assert!(signed.starts_with("From alice@example.org Sun Nov 29"));
    assert_eq!(signed.matches("From alice@example.org Sun").count(), 1);
    let v = smime::verify(signed.as_bytes(), &opts()).unwrap();
    assert_eq!(v.signature.status, "valid", "{:#?}", v.findings);
    assert!(codes(&v).is_empty(), "{:#?}", v.findings);
}

#[test]
fn expired_recipient_is_refused() {
    let eve = smime::parse_certs(&std::fs::read(keys().join("eve.crt")).unwrap()).unwrap();
    let mut o = EncryptOptions::default();
    o.now = NOW;
    let e = smime::encrypt(MSG.as_bytes(), &eve, &o).unwrap_err();
    assert_eq!(e.class(), ximf::ErrorClass::Config, "{e}");
}
