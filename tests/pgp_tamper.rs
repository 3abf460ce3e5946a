#![allow(clippy::unwrap_used)]
//! Tampering and key-state cases: each gives the right signature status and finding. A finding
//! of severity error is what makes `ximf verify` exit 1 (design.md §2).

use crate::support::engine::pgp::{self, EncryptOptions, SignOptions, VerifyOptions};
use crate::support::pgp::*;
use sequoia_openpgp as openpgp;
use ximf::report::Severity;

fn keyring() -> Vec<openpgp::Cert> {
    ["alice", "bob", "expired", "revoked", "weak"]
        .iter()
        .map(|n| cert(n))
        .collect()
}

fn verify(msg: &[u8]) -> pgp::Verification {
    pgp::verify(msg, &VerifyOptions::new(NOW, keyring())).unwrap()
}

fn has(v: &pgp::Verification, code: &str, severity: Severity) -> bool {
    v.findings
        .iter()
        .any(|f| f.code == code && f.severity == severity)
}

fn errors(v: &pgp::Verification) -> Vec<&str> {
    v.findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| f.code)
        .collect()
}

fn signed_by_alice() -> Vec<u8> {
    pgp::sign(
        &sample("alice@example.org"),
        tsk("alice"),
        &SignOptions::new(NOW),
    )
    .unwrap()
}

fn replace(msg: &[u8], from: &str, to: &str) -> Vec<u8> {
    let at = find(msg, from.as_bytes()).unwrap_or_else(|| panic!("{from} not in message"));
    let mut out = msg[..at].to_vec();
    out.extend_from_slice(to.as_bytes());
    out.extend_from_slice(&msg[at + from.len()..]);
    out
}

/// A detached signature made with Sequoia directly, bypassing every validity check (so that
/// keys that are revoked now can be made to sign "in the past").
fn raw_sign(name: &str, data: &[u8], time: i64) -> Vec<u8> {
    use openpgp::packet::signature::SignatureBuilder;
    use openpgp::serialize::Serialize as _;
    use openpgp::types::SignatureType;
    let tsk = tsk(name);
    let ka = tsk
        .keys()
        .secret()
        .find(|ka| {
            ka.self_signatures()
                .next()
                .and_then(|s| s.key_flags())
                .is_some_and(|f| f.for_signing())
        })
        .unwrap();
    let mut kp = ka.key().clone().into_keypair().unwrap();
    let sig = SignatureBuilder::new(SignatureType::Binary)
        .set_signature_creation_time(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(time as u64),
        )
        .unwrap()
        .sign_message(&mut kp, data)
        .unwrap();
    let mut out = Vec::new();
    {
        let mut w = openpgp::armor::Writer::new(&mut out, openpgp::armor::Kind::Signature).unwrap();
        openpgp::Packet::from(sig).serialize(&mut w).unwrap();
        w.finalize().unwrap();
    }
    out
}

fn peer_part() -> Vec<u8> {
    b"Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned text.\r\n".to_vec()
}

#[test]
fn untouched_message_is_valid() {
    let v = verify(&signed_by_alice());
    assert_eq!(v.signature.status, "valid");
    assert!(errors(&v).is_empty(), "{:?}", v.findings);
    assert!(
        v.signature
            .protected_headers
            .contains(&"Subject".to_string())
    );
    assert!(v.signature.protected_headers.contains(&"From".to_string()));
}

#[test]
fn tampered_body_is_invalid() {
    let msg = replace(&signed_by_alice(), "Bonjour", "Bonsoir");
    let v = verify(&msg);
    assert_eq!(v.signature.status, "invalid");
    assert!(has(&v, "signature-invalid", Severity::Error));
}

#[test]
fn tampered_protected_field() {
    // The outer copy changed: the signature holds, the mismatch is an error.
    let msg = replace(
        &signed_by_alice(),
        "Subject: Quarterly plan\n",
        "Subject: Pay now\n",
    );
    let v = verify(&msg);
    assert_eq!(v.signature.status, "valid");
    assert!(
        v.findings
            .iter()
            .any(|f| f.code == "protected-header-mismatch"
                && f.severity == Severity::Error
                && f.header.as_deref() == Some("Subject")),
        "{:?}",
        v.findings
    );
    // The protected (inner) copy changed: the signature breaks.
    let signed = signed_by_alice();
    let inner_at = find(&signed, b"hp=\"clear\"").unwrap();
    let mut msg = signed[..inner_at].to_vec();
    msg.extend_from_slice(&replace(
        &signed[inner_at..],
        "X-XIMF-Security-Classification: confidential",
        "X-XIMF-Security-Classification: unclassified",
    ));
    let v = verify(&msg);
    assert_eq!(v.signature.status, "invalid");
    assert!(has(&v, "signature-invalid", Severity::Error));
}

#[test]
fn unsigned_outer_field_changed() {
    // Decision (documented in the README): a trace field added by a relay gives no finding; any
    // other outer field without a protected copy is a warning, never an error; without header
    // protection nothing outside is covered and only the profile layer can ask for more.
    let signed = signed_by_alice();
    let msg = [
        b"Received: from relay.example.net by mx.example.org\n".as_slice(),
        &signed,
    ]
    .concat();
    let v = verify(&msg);
    assert_eq!(v.signature.status, "valid");
    assert!(v.findings.is_empty(), "{:?}", v.findings);

    let msg = [b"X-Mailer: changed in transit\n".as_slice(), &signed].concat();
    let v = verify(&msg);
    assert_eq!(v.signature.status, "valid");
    assert!(has(&v, "unprotected-header", Severity::Warning));
    assert!(errors(&v).is_empty());

    let mut opts = SignOptions::new(NOW);
    opts.header_protection = false;
    let plain = pgp::sign(&sample("alice@example.org"), tsk("alice"), &opts).unwrap();
    let msg = replace(&plain, "Subject: Quarterly plan", "Subject: changed");
    let v = verify(&msg);
    assert_eq!(v.signature.status, "valid");
    assert!(v.signature.protected_headers.is_empty());
    assert!(errors(&v).is_empty(), "{:?}", v.findings);
}

#[test]
fn signature_removed() {
    let signed = signed_by_alice();
    let parts = split_parts(&signed);
    let boundary = top_param(&to_crlf(&signed), "boundary");
    // Keep the multipart/signed wrapper, drop the signature part.
    let head_end = find(&to_crlf(&signed), b"\r\n\r\n").unwrap() + 4;
    let mut msg = to_crlf(&signed)[..head_end].to_vec();
    msg.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
    msg.extend_from_slice(&parts[0]);
    msg.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    let v = verify(&msg);
    assert_eq!(v.signature.status, "invalid");
    assert!(has(&v, "signature-removed", Severity::Error));
}

#[test]
fn partially_signed_is_not_signed() {
    let signed = to_crlf(&signed_by_alice());
    let head_end = find(&signed, b"\r\n\r\n").unwrap();
    // The signed entity (its Content-Type and body) beside an unsigned part.
    let ct_at = find(&signed, b"Content-Type: multipart/signed").unwrap();
    let mut msg = b"From: Sender <alice@example.org>\r\nSubject: s\r\nMIME-Version: 1.0\r\n\
        Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n--outer\r\n"
        .to_vec();
    msg.extend_from_slice(&signed[ct_at..head_end]);
    msg.extend_from_slice(&signed[head_end..]);
    msg.extend_from_slice(
        b"\r\n--outer\r\nContent-Type: text/plain\r\n\r\nUnsigned addition.\r\n--outer--\r\n",
    );
    let v = verify(&msg);
    assert_eq!(v.signature.status, "absent");
    assert!(has(&v, "partially-signed", Severity::Error));

    // A third part inside multipart/signed itself.
    let boundary = top_param(&signed, "boundary");
    let close = format!("--{boundary}--");
    let msg = replace(
        &signed,
        &close,
        &format!("--{boundary}\r\nContent-Type: text/plain\r\n\r\nextra\r\n{close}"),
    );
    let v = verify(&msg);
    assert!(has(&v, "partially-signed", Severity::Error));
}

#[test]
fn unknown_signer_is_untrusted() {
    let msg = pgp::sign(
        &sample("mallory@example.org"),
        tsk("mallory"),
        &SignOptions::new(NOW),
    )
    .unwrap();
    let v = verify(&msg);
    assert_eq!(v.signature.status, "untrusted");
    assert!(has(&v, "signature-untrusted", Severity::Error));
}

#[test]
fn signer_mismatch() {
    let msg = pgp::sign(
        &sample("bob@example.org"),
        tsk("alice"),
        &SignOptions::new(NOW),
    )
    .unwrap();
    let v = verify(&msg);
    assert_eq!(v.signature.status, "valid");
    assert!(has(&v, "signer-mismatch", Severity::Error));
}

#[test]
fn expired_key() {
    // Signed on 2024-06-01 while the key was valid; verified after its expiry.
    let msg = pgp::sign(
        &sample("expired@example.org"),
        tsk("expired"),
        &SignOptions::new(1_717_200_000),
    )
    .unwrap();
    let v = verify(&msg);
    assert_eq!(v.signature.status, "expired", "{:?}", v.findings);
    assert!(has(&v, "key-expired", Severity::Error));
    // Signing with it now is refused.
    let e = pgp::sign(
        &sample("expired@example.org"),
        tsk("expired"),
        &SignOptions::new(NOW),
    );
    assert!(matches!(e, Err(ximf::Error::Key(_))));
}

#[test]
fn revoked_key() {
    // Signed in 2025, before the revocation; the key is revoked (compromised) at NOW.
    let sig = raw_sign("revoked", &peer_part(), 1_748_736_000);
    let msg = assemble_signed(&peer_part(), &sig, "pgp-sha512", "revoked@example.org");
    let v = verify(&msg);
    assert_eq!(v.signature.status, "invalid", "{:?}", v.findings);
    assert!(has(&v, "key-revoked", Severity::Error));
}

#[test]
fn weak_hash_sha1_from_gpg() {
    let gpg = Gpg::new(&["alice"], &[]);
    let (ok, sig, err) = gpg.run_at_peer_time(
        &[
            "--detach-sign",
            "--armor",
            "--digest-algo",
            "SHA1",
            "-u",
            "alice@example.org",
        ],
        &peer_part(),
    );
    assert!(ok, "{err}");
    let msg = assemble_signed(&peer_part(), &sig, "pgp-sha1", "alice@example.org");
    let v = verify(&msg);
    assert_eq!(v.signature.status, "weak", "{:?}", v.findings);
    assert_eq!(v.signature.digest.as_deref(), Some("sha1"));
    assert!(has(&v, "weak-algorithm", Severity::Error));
    // And ximf refuses to make one.
    let e = pgp::sign(
        &sample("alice@example.org"),
        tsk("alice"),
        &SignOptions::new(NOW).with_hash(pgp::HashAlgorithm::SHA1),
    );
    assert!(e.is_err());
}

#[test]
fn weak_rsa1024_key_from_gpg() {
    let gpg = Gpg::new(&["weak"], &[]);
    let (ok, sig, err) = gpg.run_at_peer_time(
        &[
            "--detach-sign",
            "--armor",
            "--digest-algo",
            "SHA256",
            "-u",
            "weak@example.org",
        ],
        &peer_part(),
    );
    assert!(ok, "{err}");
    let msg = assemble_signed(&peer_part(), &sig, "pgp-sha256", "weak@example.org");
    let v = verify(&msg);
    assert_eq!(v.signature.status, "weak", "{:?}", v.findings);
    assert!(has(&v, "weak-algorithm", Severity::Error));
}

#[test]
fn micalg_mismatch_is_a_warning() {
    let msg = replace(&signed_by_alice(), "micalg=pgp-sha256", "micalg=pgp-sha512");
    let v = verify(&msg);
    assert_eq!(v.signature.status, "valid");
    assert!(has(&v, "micalg-mismatch", Severity::Warning));
}

#[test]
fn tampered_ciphertext_fails_without_output() {
    let enc = pgp::encrypt(
        &sample("alice@example.org"),
        &[cert("bob")],
        &EncryptOptions::new(NOW).signed_by(tsk("alice"), true),
    )
    .unwrap();
    // Flip one base64 character in the middle of the armored message body.
    let begin = find(&enc, b"-----BEGIN PGP MESSAGE-----").unwrap();
    let mid = begin + (find(&enc, b"-----END PGP MESSAGE-----").unwrap() - begin) / 2;
    let mut bad = enc.clone();
    let c = bad[mid];
    bad[mid] = if c == b'A' { b'B' } else { b'A' };
    assert_ne!(bad, enc);
    let e = pgp::decrypt(&bad, &[tsk("bob")], NOW).unwrap_err();
    assert!(matches!(e, ximf::Error::Crypto(_)), "{e}");
    let v = pgp::verify(
        &bad,
        &VerifyOptions::new(NOW, keyring()).with_keys(vec![tsk("bob")]),
    )
    .unwrap();
    assert_eq!(v.encryption.status, "failed");
    assert!(has(&v, "decryption-failed", Severity::Error));
    assert!(v.content.is_empty());
}

#[test]
fn encrypted_header_protection() {
    let enc = pgp::encrypt(
        &sample("alice@example.org"),
        &[cert("bob")],
        &EncryptOptions::new(NOW).signed_by(tsk("alice"), false),
    )
    .unwrap();
    let opts = VerifyOptions::new(NOW, keyring()).with_keys(vec![tsk("bob")]);
    // The obscured Subject is recorded in HP-Outer: no finding.
    let v = pgp::verify(&enc, &opts).unwrap();
    assert_eq!(v.encryption.status, "decrypted");
    assert_eq!(v.signature.status, "valid", "{:?}", v.findings);
    assert!(errors(&v).is_empty(), "{:?}", v.findings);
    // A rewritten outer From is not: tampering.
    let bad = replace(
        &enc,
        "From: Sender <alice@example.org>",
        "From: Sender <ceo@example.org>",
    );
    let v = pgp::verify(&bad, &opts).unwrap();
    assert!(
        v.findings
            .iter()
            .any(|f| f.code == "protected-header-mismatch" && f.header.as_deref() == Some("From")),
        "{:?}",
        v.findings
    );
    // decrypt() puts the protected header back on top and keeps the nested multipart/signed
    // intact (its signature still verifies).
    let out = String::from_utf8(pgp::decrypt(&enc, &[tsk("bob")], NOW).unwrap()).unwrap();
    let top = out.split("\n\n").next().unwrap();
    assert!(top.contains("Subject: Quarterly plan\n"), "{top}");
    assert!(!top.contains("HP-Outer"));
    assert!(top.contains("Content-Type: multipart/signed"));
    let v = pgp::verify(out.as_bytes(), &opts).unwrap();
    assert_eq!(v.signature.status, "valid", "{:?}", v.findings);
    assert!(errors(&v).is_empty(), "{:?}", v.findings);

    // Combined: the decrypted message is plain, without the HP-Outer records.
    let enc = pgp::encrypt(
        &sample("alice@example.org"),
        &[cert("bob")],
        &EncryptOptions::new(NOW).signed_by(tsk("alice"), true),
    )
    .unwrap();
    let out = String::from_utf8(pgp::decrypt(&enc, &[tsk("bob")], NOW).unwrap()).unwrap();
    assert!(
        out.starts_with("From: Sender <alice@example.org>\n"),
        "{out}"
    );
    assert!(out.contains("Subject: Quarterly plan\n"));
    assert!(!out.contains("HP-Outer"));
    assert!(!out.contains("\r\n"), "LF in, LF out");
}

#[test]
fn not_a_message_is_an_error() {
    assert!(matches!(
        pgp::verify(b"\n\njust text", &VerifyOptions::new(NOW, keyring())),
        Err(ximf::Error::Message(_))
    ));
    let v = verify(b"From: a@example.org\n\nplain\n");
    assert_eq!(v.signature.status, "absent");
    assert_eq!(v.encryption.status, "absent");
}

#[test]
fn decrypt_refuses_what_is_not_encrypted() {
    let e = pgp::decrypt(&signed_by_alice(), &[tsk("bob")], NOW).unwrap_err();
    assert!(matches!(e, ximf::Error::Message(_)), "{e}");
    let enc = pgp::encrypt(
        &sample("alice@example.org"),
        &[cert("bob")],
        &EncryptOptions::new(NOW),
    )
    .unwrap();
    // No key: verify says failed, decrypt says no key (exit 67).
    let v = verify(&enc);
    assert_eq!(v.encryption.status, "failed");
    assert!(has(&v, "decryption-failed", Severity::Error));
    assert!(matches!(
        pgp::decrypt(&enc, &[tsk("alice")], NOW),
        Err(ximf::Error::NoKey(_))
    ));
    // Encrypting to an expired certificate is refused (exit 78).
    assert!(matches!(
        pgp::encrypt(
            &sample("a@example.org"),
            &[cert("expired")],
            &EncryptOptions::new(NOW)
        ),
        Err(ximf::Error::Key(_))
    ));
}

#[test]
fn combined_signature_by_expired_key() {
    // Signed and encrypted in one OpenPGP message on 2024-06-01, read after the key expired.
    let enc = pgp::encrypt(
        &sample("expired@example.org"),
        &[cert("expired")],
        &EncryptOptions::new(1_717_200_000).signed_by(tsk("expired"), true),
    )
    .unwrap();
    let v = pgp::verify(
        &enc,
        &VerifyOptions::new(NOW, keyring()).with_keys(vec![tsk("expired")]),
    )
    .unwrap();
    // Old mail still opens with an expired key; the signature is reported expired.
    assert_eq!(v.encryption.status, "decrypted", "{:?}", v.findings);
    assert_eq!(v.signature.status, "expired", "{:?}", v.findings);
    assert!(has(&v, "key-expired", Severity::Error));
}

#[test]
fn legacy_protected_headers_v1_are_read() {
    // Enigmail/Thunderbird shape: protected-headers="v1", no HP-Outer (spec §4.7.5).
    let part = b"Content-Type: text/plain; charset=us-ascii; protected-headers=\"v1\"\r\n\
        Subject: the real subject\r\nFrom: <alice@example.org>\r\n\r\nbody\r\n";
    let sig = raw_sign("alice", part, 1_780_000_000);
    let msg = assemble_signed(part, &sig, "pgp-sha512", "alice@example.org");
    let v = verify(&msg);
    assert_eq!(v.signature.status, "valid", "{:?}", v.findings);
    assert!(
        v.inner_headers
            .contains(&("Subject".to_string(), "the real subject".to_string()))
    );
    // The outer Subject ("from a peer") differs from the protected one.
    assert!(
        v.findings.iter().any(
            |f| f.code == "protected-header-mismatch" && f.header.as_deref() == Some("Subject")
        )
    );
    // The outer From has the same address but no display name difference: "<a>" vs "<a>".
    assert!(
        !v.findings
            .iter()
            .any(|f| f.header.as_deref() == Some("From") && f.severity == Severity::Error)
    );
}

#[test]
fn malformed_input_never_panics() {
    let signed = to_crlf(&signed_by_alice());
    let opts = VerifyOptions::new(NOW, keyring()).with_keys(vec![tsk("bob")]);
    // Every truncation of a signed message: a status, never a panic; never "valid" once the
    // signature part is cut.
    let sig_at = find(&signed, b"-----END PGP SIGNATURE-----").unwrap();
    for cut in (0..signed.len()).step_by(97) {
        if let Ok(v) = pgp::verify(&signed[..cut], &opts)
            && cut < sig_at
        {
            assert_ne!(v.signature.status, "valid", "cut at {cut}");
        }
    }
    let nasty: [&[u8]; 6] = [
        b"Content-Type: multipart/signed\r\n\r\nno boundary",
        b"Content-Type: multipart/signed; boundary=\"\"\r\n\r\n--\r\n",
        b"Content-Type: multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b\r\n\r\n--b\r\nVersion: 1\r\n--b\r\n\r\n-----BEGIN PGP MESSAGE-----\r\ngarbage\r\n--b--\r\n",
        b"Content-Type: text/plain\r\n\r\n-----BEGIN PGP SIGNED MESSAGE-----\r\nHash: SHA256\r\n\r\nx\r\n",
        b"Content-Type: multipart/signed; protocol=\"application/pgp-signature\"; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b\r\nContent-Type: application/pgp-signature\r\n\r\nnot a signature\r\n--b--\r\n",
        b"Content-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a--\r\n",
    ];
    for m in nasty {
        let v = pgp::verify(m, &opts).unwrap();
        assert_ne!(v.signature.status, "valid");
    }
}

#[test]
fn multipart_message_signed_and_verified_by_gpg() {
    let msg = b"From: Alice <alice@example.org>\nTo: bob@example.org\nSubject: with attachment\n\
        MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"mix\"\n\n\
        --mix\nContent-Type: text/plain\n\nSee attached.\n\
        --mix\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n\nAAECAwQ=\n\
        --mix--\n";
    let signed = pgp::sign(msg, tsk("alice"), &SignOptions::new(NOW)).unwrap();
    let parts = split_parts(&signed);
    assert!(
        parts[0].starts_with(b"Content-Type: multipart/mixed; boundary=\"mix\";\r\n\thp=\"clear\"")
    );
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "data", &parts[0]);
    let sig = write(dir.path(), "sig.asc", &part_body(&parts[1]));
    let gpg = Gpg::new(&[], &["alice"]);
    let (ok, _, err) = gpg.run(
        &["--verify", sig.to_str().unwrap(), data.to_str().unwrap()],
        b"",
    );
    assert!(ok && err.contains("Good signature"), "{err}");
    let v = verify(&signed);
    assert_eq!(v.signature.status, "valid");
    assert!(errors(&v).is_empty(), "{:?}", v.findings);
    // 8-bit data inside a multipart body (trap 31): that part is re-encoded, the signed part
    // is 7 bit (issue 9, point 13; it used to be refused).
    let eight = String::from_utf8_lossy(msg).replace("See attached.", "Voil\u{e0}.");
    let signed = pgp::sign(eight.as_bytes(), tsk("alice"), &SignOptions::new(NOW)).unwrap();
    let parts = split_parts(&signed);
    assert!(parts[0].iter().all(|&b| b < 0x80));
    assert!(find(&parts[0], b"Voil=C3=A0.").is_some());
    assert_eq!(verify(&signed).signature.status, "valid");
}
