//! RSAES-OAEP key transport with every RFC 4055 §4.1 parameter set, made by the real
//! `openssl cms` at test time from the committed keys in testdata/keys/smime: SHA-256, MGF1 with
//! SHA-256 and a non-empty label (pSourceFunc = id-pSpecified), opened by `ximf decrypt`.

#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use base64::Engine as _;

/// The fixed clock of the S/MIME tests (testdata/keys/smime/README.md).
const NOW: &str = "2026-11-29T00:00:00Z";

/// The label, as `rsa_oaep_label` wants it (hex), and its bytes.
const LABEL_HEX: &str = "78696d662d6f6165702d6c6162656c00ff";
const LABEL: &[u8] = b"ximf-oaep-label\x00\xff";

fn k(name: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/keys/smime")
        .join(name)
        .to_str()
        .unwrap()
        .to_owned()
}

fn ximf(args: &[&str], stdin: &[u8]) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_ximf"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let _ = input.write_all(stdin);
    drop(input);
    child.wait_with_output().unwrap()
}

/// `openssl cms -encrypt` to bob with OAEP SHA-256 / MGF1-SHA-256 / label.
fn openssl_encrypt(dir: &Path, cipher: &str) -> Vec<u8> {
    let content: PathBuf = dir.join("content.txt");
    std::fs::write(
        &content,
        "Content-Type: text/plain; charset=us-ascii\r\n\r\nLabelled OAEP from openssl.\r\n",
    )
    .unwrap();
    let out = Command::new("openssl")
        .args(["cms", "-encrypt", cipher, "-in", content.to_str().unwrap()])
        .args([
            "-from",
            "alice@example.org",
            "-to",
            "bob@example.org",
            "-subject",
            "OAEP label",
        ])
        // -keyopt applies to the -recip before it.
        .args(["-recip", &k("bob.crt")])
        .args(["-keyopt", "rsa_padding_mode:oaep"])
        .args(["-keyopt", "rsa_oaep_md:sha256"])
        .args(["-keyopt", "rsa_mgf1_md:sha256"])
        .args(["-keyopt", &format!("rsa_oaep_label:{LABEL_HEX}")])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "openssl cms -encrypt: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The DER of the CMS body (base64 after the blank line).
fn cms_der(msg: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(msg);
    let body = text.split_once("\n\n").unwrap().1;
    let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
    base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap()
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn openssl_oaep_sha256_mgf1_sha256_with_label_decrypts_with_ximf() {
    let dir = tempfile::tempdir().unwrap();
    for cipher in ["-aes256", "-aes-256-gcm"] {
        let enc = openssl_encrypt(dir.path(), cipher);
        // The message really carries all three parameters: sha256 (hashFunc and MGF1 hash),
        // and id-pSpecified with the label as OCTET STRING.
        let der = cms_der(&enc);
        let sha256 = [
            0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x01,
        ];
        let mgf1 = [
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x08,
        ];
        let mut p_specified = vec![
            0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x09, 0x04,
        ];
        p_specified.push(LABEL.len() as u8);
        p_specified.extend_from_slice(LABEL);
        assert!(contains(&der, &sha256), "{cipher}: no SHA-256");
        assert!(contains(&der, &mgf1), "{cipher}: no MGF1");
        assert!(
            contains(&der, &p_specified),
            "{cipher}: no id-pSpecified label"
        );

        let o = ximf(
            &[
                "--now",
                NOW,
                "decrypt",
                "--key",
                &k("bob.key"),
                "--cert",
                &k("bob.crt"),
            ],
            &enc,
        );
        let stdout = String::from_utf8_lossy(&o.stdout);
        assert_eq!(
            o.status.code(),
            Some(0),
            "{cipher}: ximf decrypt: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(
            stdout.contains("Labelled OAEP from openssl."),
            "{cipher}: {stdout}"
        );
        assert!(!stdout.contains("application/pkcs7-mime"), "{stdout}");

        // The wrong key is refused cleanly (no panic, no output).
        let o = ximf(
            &[
                "--now",
                NOW,
                "decrypt",
                "--key",
                &k("alice.key"),
                "--cert",
                &k("alice.crt"),
            ],
            &enc,
        );
        assert_ne!(o.status.code(), Some(0));
        assert_ne!(
            o.status.code(),
            Some(70),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(o.stdout.is_empty());
    }
}
