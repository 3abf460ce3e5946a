#![allow(clippy::unwrap_used)]
//! Interop with the real `gpg` (2.2) and `sq` (0.27), both directions: ximf's PGP/MIME output
//! verifies and decrypts with them (parts split exactly as RFC 3156 says), and their output,
//! made at test time, verifies and decrypts with ximf. Ed25519/Cv25519 (alice) and RSA (bob).

use crate::support::engine::pgp::{self, EncryptOptions, SignOptions, VerifyOptions};
use crate::support::pgp::*;

fn keyring() -> Vec<sequoia_openpgp::Cert> {
    vec![cert("alice"), cert("bob")]
}

// ---- ximf → peers ------------------------------------------------------------------------

#[test]
fn ximf_signed_verifies_with_gpg_and_sq() {
    for signer in ["alice", "bob"] {
        let addr = format!("{signer}@example.org");
        let signed = pgp::sign(&sample(&addr), tsk(signer), &SignOptions::new(NOW)).unwrap();
        // Input was LF: output too.
        assert!(!signed.windows(2).any(|w| w == b"\r\n"));
        let crlf = to_crlf(&signed);
        assert_eq!(top_param(&crlf, "protocol"), "application/pgp-signature");
        let text = String::from_utf8_lossy(&crlf);
        assert!(text.contains("micalg=pgp-sha256"));
        let parts = split_parts(&signed);
        assert_eq!(parts.len(), 2, "RFC 1847: exactly two parts");
        // Trap 31: the signed part is 7-bit, no trailing blank, `From ` encoded.
        assert!(parts[0].iter().all(|&b| b < 0x80));
        assert!(!parts[0].windows(3).any(|w| w == b" \r\n"));
        assert!(find(&parts[0], b"\r\nFrom here").is_none());
        assert!(find(&parts[0], b"hp=\"clear\"").is_some());

        let dir = tempfile::tempdir().unwrap();
        let data = write(dir.path(), "data", &parts[0]);
        let sig = write(dir.path(), "sig.asc", &part_body(&parts[1]));
        let gpg = Gpg::new(&[], &["alice", "bob"]);
        let (ok, _, err) = gpg.run(
            &["--verify", sig.to_str().unwrap(), data.to_str().unwrap()],
            b"",
        );
        assert!(ok && err.contains("Good signature"), "gpg: {err}");
        assert!(err.contains(&addr), "gpg names the signer: {err}");

        let (ok, _, err) = sq(
            &[
                "verify",
                "--signer-cert",
                key_path(signer, "cert").to_str().unwrap(),
                "--detached",
                sig.to_str().unwrap(),
                data.to_str().unwrap(),
            ],
            b"",
        );
        assert!(ok, "sq verify: {err}");
        assert!(err.contains("1 good signature"), "sq: {err}");

        // And ximf itself.
        let v = pgp::verify(&signed, &VerifyOptions::new(NOW, keyring())).unwrap();
        assert_eq!(v.signature.status, "valid", "{:?}", v.findings);
        assert_eq!(v.signature.signer.as_deref(), Some(addr.as_str()));
        assert!(
            v.findings
                .iter()
                .all(|f| f.severity == ximf::report::Severity::Warning)
        );
    }
}

#[test]
fn ximf_encrypted_decrypts_with_gpg_and_sq_combined_and_nested() {
    for combined in [true, false] {
        let msg = sample("alice@example.org");
        let opts = EncryptOptions::new(NOW).signed_by(tsk("alice"), combined);
        let enc = pgp::encrypt(&msg, &[cert("bob")], &opts).unwrap();
        let crlf = to_crlf(&enc);
        assert_eq!(top_param(&crlf, "protocol"), "application/pgp-encrypted");
        // hcp_baseline: the subject is hidden outside, routing fields stay (trap 34).
        let text = String::from_utf8_lossy(&crlf).into_owned();
        assert!(text.contains("Subject: [...]"));
        assert!(!text.contains("Quarterly plan"));
        assert!(text.contains("X-XIMF-Security-Classification: confidential"));
        let parts = split_parts(&enc);
        assert_eq!(parts.len(), 2);
        assert_eq!(part_body(&parts[0]), b"Version: 1\r\n");
        let armored = part_body(&parts[1]);

        let gpg = Gpg::new(&["bob"], &["alice"]);
        let (ok, plain, err) = gpg.run(&["--decrypt"], &armored);
        assert!(ok, "gpg --decrypt: {err}");
        let plain_text = String::from_utf8_lossy(&plain).into_owned();
        assert!(plain_text.contains("Subject: Quarterly plan"));
        assert!(plain_text.contains("hp=\"cipher\""));
        assert!(plain_text.contains("HP-Outer: Subject: [...]"));
        if combined {
            assert!(err.contains("Good signature"), "gpg: {err}");
        } else {
            // Nested: the plaintext is a multipart/signed whose signature gpg verifies too.
            assert!(plain_text.starts_with("Content-Type: multipart/signed"));
            let inner = split_parts(&plain);
            let dir = tempfile::tempdir().unwrap();
            let data = write(dir.path(), "data", &inner[0]);
            let sig = write(dir.path(), "sig.asc", &part_body(&inner[1]));
            let (ok, _, err) = gpg.run(
                &["--verify", sig.to_str().unwrap(), data.to_str().unwrap()],
                b"",
            );
            assert!(ok && err.contains("Good signature"), "gpg nested: {err}");
        }

        let (ok, plain, err) = sq(
            &[
                "decrypt",
                "--recipient-key",
                key_path("bob", "key").to_str().unwrap(),
                "--signer-cert",
                key_path("alice", "cert").to_str().unwrap(),
            ],
            &armored,
        );
        if combined {
            assert!(ok, "sq decrypt: {err}");
            assert!(err.contains("1 good signature"), "sq: {err}");
        } else {
            // sq insists on a signature when --signer-cert is given; nested has none outside.
            let (ok2, plain2, err2) = sq(
                &[
                    "decrypt",
                    "--recipient-key",
                    key_path("bob", "key").to_str().unwrap(),
                ],
                &armored,
            );
            assert!(ok2, "sq decrypt: {err2} (with signer: {ok} {err})");
            assert!(String::from_utf8_lossy(&plain2).contains("multipart/signed"));
            // ... and sq verifies the nested signature.
            let inner = split_parts(&plain2);
            let dir = tempfile::tempdir().unwrap();
            let data = write(dir.path(), "data", &inner[0]);
            let sig = write(dir.path(), "sig.asc", &part_body(&inner[1]));
            let (ok3, _, err3) = sq(
                &[
                    "verify",
                    "--signer-cert",
                    key_path("alice", "cert").to_str().unwrap(),
                    "--detached",
                    sig.to_str().unwrap(),
                    data.to_str().unwrap(),
                ],
                b"",
            );
            assert!(
                ok3 && err3.contains("1 good signature"),
                "sq nested: {err3}"
            );
            continue;
        }
        assert!(String::from_utf8_lossy(&plain).contains("Subject: Quarterly plan"));

        // ximf round trip.
        let v = pgp::verify(
            &enc,
            &VerifyOptions::new(NOW, keyring()).with_keys(vec![tsk("bob")]),
        )
        .unwrap();
        assert_eq!(v.encryption.status, "decrypted");
        assert_eq!(v.signature.status, "valid", "{:?}", v.findings);
        assert!(
            v.inner_headers
                .iter()
                .any(|(n, v)| n == "Subject" && v == "Quarterly plan")
        );
    }
}

#[test]
fn ximf_signed_crlf_input_stays_crlf_and_verifies_with_gpg() {
    let msg = to_crlf(&sample("bob@example.org"));
    let mut opts = SignOptions::new(NOW);
    opts.header_protection = false;
    let signed = pgp::sign(&msg, tsk("bob"), &opts).unwrap();
    // CRLF in, CRLF out: no bare LF anywhere.
    assert!(
        signed
            .iter()
            .enumerate()
            .all(|(i, &b)| b != b'\n' || (i > 0 && signed[i - 1] == b'\r'))
    );
    let parts = split_parts(&signed);
    assert!(find(&parts[0], b"hp=").is_none());
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "data", &parts[0]);
    let sig = write(dir.path(), "sig.asc", &part_body(&parts[1]));
    let gpg = Gpg::new(&[], &["bob"]);
    let (ok, _, err) = gpg.run(
        &["--verify", sig.to_str().unwrap(), data.to_str().unwrap()],
        b"",
    );
    assert!(ok && err.contains("Good signature"), "gpg: {err}");
    let v = pgp::verify(&signed, &VerifyOptions::new(NOW, keyring())).unwrap();
    assert_eq!(v.signature.status, "valid");
    assert!(v.inner_headers.is_empty());
    assert_eq!(v.content, parts[0]);
}

#[test]
fn ximf_encrypted_to_two_recipients_without_signature() {
    let enc = pgp::encrypt(
        &sample("alice@example.org"),
        &[cert("alice"), cert("bob")],
        &EncryptOptions::new(NOW),
    )
    .unwrap();
    let armored = part_body(&split_parts(&enc)[1]);
    for (who, addr) in [("alice", "alice@example.org"), ("bob", "bob@example.org")] {
        let gpg = Gpg::new(&[who], &[]);
        let (ok, plain, err) = gpg.run(&["--decrypt"], &armored);
        assert!(ok, "gpg as {addr}: {err}");
        assert!(String::from_utf8_lossy(&plain).contains("X-XIMF-Security-Classification"));
        let v = pgp::verify(
            &enc,
            &VerifyOptions::new(NOW, keyring()).with_keys(vec![tsk(who)]),
        )
        .unwrap();
        assert_eq!(v.encryption.status, "decrypted");
        assert_eq!(v.encryption.cipher.as_deref(), Some("aes256"));
        assert_eq!(v.signature.status, "absent");
        assert!(v.signature.protected_headers.is_empty());
        assert!(v.inner_headers.iter().any(|(n, _)| n == "Subject"));
    }
}

// ---- peers → ximf ------------------------------------------------------------------------

/// A canonical first part a peer signs.
fn peer_part() -> Vec<u8> {
    b"Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned by a peer.\r\nSecond line.\r\n"
        .to_vec()
}

#[test]
fn gpg_signed_verifies_with_ximf() {
    let gpg = Gpg::new(&["alice", "bob"], &[]);
    for signer in ["alice", "bob"] {
        let addr = format!("{signer}@example.org");
        let (ok, sig, err) = gpg.run_at_peer_time(
            &[
                "--detach-sign",
                "--armor",
                "--digest-algo",
                "SHA256",
                "-u",
                &addr,
            ],
            &peer_part(),
        );
        assert!(ok, "gpg --detach-sign: {err}");
        let msg = assemble_signed(&peer_part(), &sig, "pgp-sha256", &addr);
        let v = pgp::verify(&msg, &VerifyOptions::new(NOW, keyring())).unwrap();
        assert_eq!(v.signature.status, "valid", "{signer}: {:?}", v.findings);
        assert_eq!(v.signature.signer.as_deref(), Some(addr.as_str()));
        assert_eq!(v.signature.digest.as_deref(), Some("sha256"));
        assert_eq!(v.content, peer_part());
        // The same message stored with LF line endings still verifies (RFC 3156 §5).
        let lf: Vec<u8> = msg.iter().copied().filter(|&b| b != b'\r').collect();
        let v = pgp::verify(&lf, &VerifyOptions::new(NOW, keyring())).unwrap();
        assert_eq!(v.signature.status, "valid", "LF copy: {:?}", v.findings);
    }
}

#[test]
fn sq_signed_verifies_with_ximf() {
    let dir = tempfile::tempdir().unwrap();
    let data = write(dir.path(), "data", &peer_part());
    for signer in ["alice", "bob"] {
        let (ok, sig, err) = sq(
            &[
                "sign",
                "--detached",
                "--time",
                PEER_TIME,
                "--signer-key",
                key_path(signer, "key").to_str().unwrap(),
                data.to_str().unwrap(),
            ],
            b"",
        );
        assert!(ok, "sq sign: {err}");
        let addr = format!("{signer}@example.org");
        let msg = assemble_signed(&peer_part(), &sig, "pgp-sha512", &addr);
        let v = pgp::verify(&msg, &VerifyOptions::new(NOW, keyring())).unwrap();
        assert_eq!(v.signature.status, "valid", "{signer}: {:?}", v.findings);
        assert_eq!(v.signature.signer.as_deref(), Some(addr.as_str()));
    }
}

#[test]
fn gpg_encrypted_decrypts_with_ximf() {
    let gpg = Gpg::new(&["bob", "alice"], &[]);
    let entity = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nA secret from gpg.\r\n";
    for (recipient, signer) in [("alice", "bob"), ("bob", "alice")] {
        let r = format!("{recipient}@example.org");
        let s = format!("{signer}@example.org");
        let (ok, armored, err) = gpg.run_at_peer_time(
            &["--encrypt", "--sign", "--armor", "-r", &r, "-u", &s],
            entity,
        );
        assert!(ok, "gpg --encrypt: {err}");
        let msg = assemble_encrypted(&armored, &s);
        let v = pgp::verify(
            &msg,
            &VerifyOptions::new(NOW, keyring()).with_keys(vec![tsk(recipient)]),
        )
        .unwrap();
        assert_eq!(v.encryption.status, "decrypted", "{:?}", v.findings);
        assert_eq!(v.signature.status, "valid", "{:?}", v.findings);
        assert_eq!(v.signature.signer.as_deref(), Some(s.as_str()));
        assert_eq!(v.content, entity);

        let out = pgp::decrypt(&msg, &[tsk(recipient)], NOW).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(out.starts_with(&format!("From: <{s}>\r\n")));
        assert!(out.ends_with("\r\n\r\nA secret from gpg.\r\n"), "{out}");
        // The wrong key: no output at all, exit class NoUser.
        let e = pgp::decrypt(&msg, &[tsk("mallory")], NOW).unwrap_err();
        assert!(matches!(e, ximf::Error::NoKey(_)), "{e}");
    }
}

#[test]
fn sq_encrypted_decrypts_with_ximf() {
    let entity = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nA secret from sq.\r\n";
    let (ok, armored, err) = sq(
        &[
            "encrypt",
            "--time",
            PEER_TIME,
            "--recipient-cert",
            key_path("bob", "cert").to_str().unwrap(),
            "--signer-key",
            key_path("alice", "key").to_str().unwrap(),
        ],
        entity,
    );
    assert!(ok, "sq encrypt: {err}");
    let msg = assemble_encrypted(&armored, "alice@example.org");
    // sq 0.27's --time picks keys but the signature carries the real time: verify at the
    // real time (alice and bob never expire).
    let real_now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let v = pgp::verify(
        &msg,
        &VerifyOptions::new(real_now, keyring()).with_keys(vec![tsk("bob")]),
    )
    .unwrap();
    assert_eq!(v.encryption.status, "decrypted", "{:?}", v.findings);
    assert_eq!(v.signature.status, "valid", "{:?}", v.findings);
    assert_eq!(v.content, entity);
}

#[test]
fn gpg_clearsigned_inline_verifies_with_ximf() {
    let gpg = Gpg::new(&["bob"], &[]);
    let (ok, signed, err) = gpg.run_at_peer_time(
        &[
            "--clearsign",
            "--digest-algo",
            "SHA256",
            "-u",
            "bob@example.org",
        ],
        b"Inline signed text.\nSecond line.\n",
    );
    assert!(ok, "gpg --clearsign: {err}");
    let mut msg =
        b"From: Bob <bob@example.org>\nTo: <alice@example.org>\nSubject: inline\n\n".to_vec();
    msg.extend_from_slice(&signed);
    let v = pgp::verify(&msg, &VerifyOptions::new(NOW, keyring())).unwrap();
    assert!(v.inline);
    assert_eq!(v.signature.status, "valid", "{:?}", v.findings);
    assert!(v.signature.protected_headers.is_empty());
    assert!(
        v.findings
            .iter()
            .any(|f| f.code == "inline-pgp" && f.severity == ximf::report::Severity::Warning)
    );
    assert!(String::from_utf8_lossy(&v.content).contains("Inline signed text."));

    // Text added around the signed block: partially signed.
    let mut partial = msg.clone();
    partial.extend_from_slice(b"\nP.S. unsigned addition\n");
    let v = pgp::verify(&partial, &VerifyOptions::new(NOW, keyring())).unwrap();
    assert!(v.findings.iter().any(|f| f.code == "partially-signed"));
}
