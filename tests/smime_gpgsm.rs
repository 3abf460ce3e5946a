//! S/MIME interop with gpgsm (GnuPG 2.2), both directions, in a throw-away GNUPGHOME that trusts
//! the test root (trustlist.txt) and has alice's, bob's and carol's PKCS#12 imported.

#![allow(clippy::unwrap_used, clippy::field_reassign_with_default)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::support::engine::smime::{
    self, Cipher, Credentials, EncryptOptions, SignOptions, VerifyOptions,
};
use crate::support::fixtures::to_crlf;
use base64::Engine;

const NOW: i64 = 1_795_910_400;

fn keys() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/keys/smime")
}

fn creds(name: &str) -> Credentials {
    let key = std::fs::read(keys().join(format!("{name}.key"))).unwrap();
    let chain = std::fs::read(keys().join(format!("{name}.chain.pem"))).unwrap();
    Credentials::load(&key, &[&chain]).unwrap()
}

/// A GNUPGHOME whose agent is stopped on drop.
struct Home(tempfile::TempDir);

impl Drop for Home {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .env("GNUPGHOME", self.0.path())
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

impl Home {
    fn new() -> Home {
        let h = Home(
            tempfile::Builder::new()
                .prefix("gs")
                .tempdir_in("/tmp")
                .unwrap(),
        );
        let p = h.0.path();
        std::fs::write(p.join("gpg-agent.conf"), "allow-loopback-pinentry\n").unwrap();
        std::fs::write(
            p.join("gpgsm.conf"),
            "disable-crl-checks\ndisable-policy-checks\n",
        )
        .unwrap();
        let fpr = std::fs::read_to_string(keys().join("root.fpr")).unwrap();
        std::fs::write(p.join("trustlist.txt"), format!("{} S\n", fpr.trim())).unwrap();
        let k = keys();
        h.gpgsm(
            &["--import"],
            &[k.join("root.crt"), k.join("inter.crt")],
            None,
        );
        for n in ["alice", "bob", "carol"] {
            h.gpgsm(
                &["--import"],
                &[k.join(format!("{n}.p12"))],
                Some(b"test\n"),
            );
        }
        h
    }

    /// Runs gpgsm in batch mode (loopback pinentry, passphrase "test" on stdin when given).
    fn gpgsm(
        &self,
        args: &[&str],
        files: &[PathBuf],
        stdin: Option<&[u8]>,
    ) -> (bool, Vec<u8>, String) {
        let mut cmd = Command::new("gpgsm");
        cmd.env("GNUPGHOME", self.0.path())
            .args(["--batch", "--pinentry-mode", "loopback"]);
        if stdin.is_some() {
            cmd.args(["--passphrase-fd", "0"]);
        }
        cmd.args(args).args(files);
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        if let Some(s) = stdin {
            child.stdin.take().unwrap().write_all(s).unwrap();
        } else {
            drop(child.stdin.take());
        }
        let out = child.wait_with_output().unwrap();
        (
            out.status.success(),
            out.stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    fn file(&self, name: &str, data: &[u8]) -> PathBuf {
        let p = self.0.path().join(name);
        std::fs::write(&p, data).unwrap();
        p
    }
}

fn opts() -> VerifyOptions {
    let mut o = VerifyOptions::default();
    o.anchors = smime::parse_certs(&std::fs::read(keys().join("root.crt")).unwrap()).unwrap();
    o.now = NOW;
    o
}

fn message(from: &str) -> Vec<u8> {
    format!("From: <{from}>\nTo: <bob@example.org>\nSubject: gpgsm interop\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\nHello gpgsm.\n").into_bytes()
}

/// (first part exactly as signed, DER signature) of a multipart/signed message.
fn split_signed(signed: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let s = String::from_utf8(to_crlf(signed)).unwrap();
    let b = s
        .split("boundary=\"")
        .nth(1)
        .unwrap()
        .split('"')
        .next()
        .unwrap();
    let delim = format!("\r\n--{b}\r\n");
    let start = s.find(&format!("--{b}\r\n")).unwrap() + b.len() + 4;
    let mid = start + s[start..].find(&delim).unwrap();
    let content = s[start..mid].to_owned();
    let sig_part = &s[mid + delim.len()..];
    let body = sig_part.split("\r\n\r\n").nth(1).unwrap();
    let body = body.split("\r\n--").next().unwrap();
    let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(clean)
        .unwrap();
    (content.into_bytes(), der)
}

fn p7m_message(der: &[u8], smime_type: &str) -> Vec<u8> {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut m = format!(
        "From: <alice@example.org>\r\nTo: <bob@example.org>\r\nSubject: from gpgsm\r\nMIME-Version: 1.0\r\nContent-Type: application/pkcs7-mime; smime-type={smime_type}; name=\"smime.p7m\"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    );
    for chunk in b64.as_bytes().chunks(76) {
        m.push_str(std::str::from_utf8(chunk).unwrap());
        m.push_str("\r\n");
    }
    m.into_bytes()
}

#[test]
fn gpgsm_both_directions() {
    let home = Home::new();

    // ximf signs → gpgsm verifies (RSA and ECDSA P-256).
    for who in ["alice", "carol"] {
        let mut o = SignOptions::default();
        o.now = NOW;
        let signed = smime::sign(&message(&format!("{who}@example.org")), &creds(who), &o).unwrap();
        let (content, der) = split_signed(&signed);
        let c = home.file("content", &content);
        let s = home.file("sig.p7s", &der);
        let (ok, _, err) = home.gpgsm(&["--verify"], &[s, c], None);
        assert!(ok && err.contains("Good signature"), "{who}: {err}");
    }

    // gpgsm signs → ximf verifies. (gpgsm 2.2 does not import carol's EC PKCS#12, so RSA only.)
    {
        let who = "alice";
        let entity = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nSigned by gpgsm.\r\n";
        let c = home.file("entity", entity);
        let out = home.0.path().join("gpgsm.p7s");
        let _ = std::fs::remove_file(&out);
        let (ok, _, err) = home.gpgsm(
            &[
                "-u",
                &format!("{who}@example.org"),
                "--detach-sign",
                "--output",
                out.to_str().unwrap(),
            ],
            &[c],
            Some(b"test\n"),
        );
        assert!(ok, "gpgsm sign {who}: {err}");
        let der = std::fs::read(&out).unwrap();
        let b64 = base64::engine::general_purpose::STANDARD.encode(&der);
        let mut m = format!("From: <{who}@example.org>\r\nSubject: from gpgsm\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; boundary=\"gg\"\r\n\r\n--gg\r\n").into_bytes();
        m.extend_from_slice(entity);
        m.extend_from_slice(b"\r\n--gg\r\nContent-Type: application/pkcs7-signature\r\nContent-Transfer-Encoding: base64\r\n\r\n");
        m.extend_from_slice(b64.as_bytes());
        m.extend_from_slice(b"\r\n--gg--\r\n");
        let v = smime::verify(&m, &opts()).unwrap();
        assert_eq!(v.signature.status, "valid", "{who}: {:#?}", v.findings);
        assert_eq!(
            v.signature.signer.as_deref(),
            Some(&*format!("{who}@example.org"))
        );
    }

    // gpgsm encrypts → ximf decrypts (RSA key transport, AES-CBC).
    for algo in ["AES", "AES256"] {
        let c = home.file(
            "plain",
            b"Content-Type: text/plain\r\n\r\nEncrypted by gpgsm.\r\n",
        );
        let out = home.0.path().join("enc.p7m");
        let _ = std::fs::remove_file(&out);
        let (ok, _, err) = home.gpgsm(
            &[
                "--cipher-algo",
                algo,
                "-r",
                "bob@example.org",
                "--encrypt",
                "--output",
                out.to_str().unwrap(),
            ],
            &[c],
            None,
        );
        assert!(ok, "gpgsm encrypt {algo}: {err}");
        let m = p7m_message(&std::fs::read(&out).unwrap(), "enveloped-data");
        let plain = smime::decrypt(&m, &[creds("bob")], NOW).unwrap();
        assert!(
            String::from_utf8_lossy(&plain).contains("Encrypted by gpgsm."),
            "{algo}"
        );
    }

    // ximf encrypts → gpgsm decrypts (enveloped-data, AES-CBC; gpgsm 2.2 has no authEnveloped-data).
    for cipher in [Cipher::Aes128Cbc, Cipher::Aes256Cbc] {
        let mut o = EncryptOptions::default();
        o.cipher = Some(cipher);
        let bob = smime::parse_certs(&std::fs::read(keys().join("bob.crt")).unwrap()).unwrap();
        let enc = smime::encrypt(&message("alice@example.org"), &bob, &o).unwrap();
        let enc = String::from_utf8(to_crlf(&enc)).unwrap();
        let body = enc.split("\r\n\r\n").nth(1).unwrap();
        let clean: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(clean)
            .unwrap();
        let f = home.file("ximf.p7m", &der);
        let (ok, out, err) = home.gpgsm(&["--decrypt"], &[f], Some(b"test\n"));
        assert!(ok, "gpgsm decrypt {cipher:?}: {err}");
        assert!(
            String::from_utf8_lossy(&out).contains("Hello gpgsm."),
            "{cipher:?}"
        );
    }
}
