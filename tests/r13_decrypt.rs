//! Large encrypted and opaque-signed messages in bounded memory (issue 13): `decrypt` and
//! `verify` of a message over the streaming threshold read its ciphertext (or signed data)
//! from the input file or a spool of the pipe as they open it, and spool what it holds, never
//! holding either whole. Memory bounds
//! under GNU time, not timings; the output is the whole-message path's, byte for byte.
#![allow(clippy::unwrap_used)]

use crate::r13_stream::{
    GROWTH_KIB, MIB, NOW, only_streamed_fits, openssl_cms, run, smime_key, text_entity,
};
use crate::support::serial::{Resource, lock};
use crate::support::{measure, pgp};
use std::path::{Path, PathBuf};
use std::process::Command;

/// An S/MIME enveloped message (AES-256-CBC, BER as `-stream` writes it, or DER) of about
/// `size` bytes of plaintext to bob, made by openssl.
fn smime_encrypted(dir: &Path, size: usize, stream: bool) -> PathBuf {
    let bob = smime_key("bob.crt");
    let mut op = vec!["-encrypt", "-aes256", "-recip", &bob];
    if stream {
        op.push("-stream");
    }
    op.extend(["-from", "alice@example.org", "-to", "bob@example.org"]);
    op.extend(["-subject", "big secret"]);
    openssl_cms(dir, &format!("smime-enc-{size}-{stream}"), size, &op)
}

/// A PGP/MIME encrypted message of about `size` bytes of plaintext to bob, uncompressed (the
/// plaintext is as large as it says), made by gpg.
fn pgp_encrypted(dir: &Path, size: usize) -> PathBuf {
    let out = dir.join(format!("pgp-enc-{size}.eml"));
    let _turn = lock(Resource::Measured);
    let g = pgp::Gpg::new(&[], &["bob"]);
    let (ok, armored, err) = g.run_at_peer_time(
        &["-z", "0", "--armor", "--encrypt", "-r", "bob@example.org"],
        &text_entity(size),
    );
    assert!(ok, "gpg --encrypt: {err}");
    std::fs::write(&out, pgp::assemble_encrypted(&armored, "alice@example.org")).unwrap();
    out
}

fn smime_keys() -> Vec<String> {
    vec![
        "--key".into(),
        smime_key("bob.key"),
        "--cert".into(),
        smime_key("bob.crt"),
    ]
}

fn pgp_keys() -> Vec<String> {
    let key = pgp::key_path("bob", "key").to_string_lossy().into_owned();
    vec!["--key".into(), key]
}

fn args(cmd: &str, keys: &[String], file: Option<&Path>, extra: &[&str]) -> Vec<String> {
    let mut a: Vec<String> = ["--max-size", "600000000", "--now", NOW, cmd]
        .map(String::from)
        .to_vec();
    a.extend(keys.iter().cloned());
    a.extend(extra.iter().map(|s| s.to_string()));
    a.extend(file.map(|f| f.to_string_lossy().into_owned()));
    a
}

/// Decrypts and verifies `file` from the file and from a pipe, within `small`'s peak RSS
/// plus [`GROWTH_KIB`]; the plaintext (of a `size`-byte entity) is the one the whole-message
/// path gives.
fn decrypts_in_bounded_memory(file: &Path, size: usize, small: &Path, keys: &[String]) {
    let base = run(&args("decrypt", keys, Some(small), &[]), b"");
    assert_eq!(base.code, 0, "{}", base.stderr);
    let bound = base.rss_kib + GROWTH_KIB;
    let out = file.with_extension("out");
    let o = out.to_string_lossy().into_owned();
    let from_file = run(&args("decrypt", keys, Some(file), &["-o", &o]), b"");
    let data = std::fs::read(file).unwrap();
    let from_pipe = run(&args("decrypt", keys, None, &[]), &data);
    let verified = run(&args("verify", keys, None, &[]), &data);
    drop(data);
    for (how, m) in [
        ("decrypt file", &from_file),
        ("decrypt pipe", &from_pipe),
        ("verify pipe", &verified),
    ] {
        assert_eq!(m.code, 0, "{how}: {}", m.stderr);
        assert!(
            m.rss_kib < bound,
            "{how}: peak RSS {} KiB for {} MiB (bound {bound} KiB)",
            m.rss_kib,
            std::fs::metadata(file).unwrap().len() >> 20
        );
    }
    let report = String::from_utf8_lossy(&verified.stdout);
    assert!(report.contains("encryption=decrypted"), "{report}");
    let streamed = std::fs::read(&out).unwrap();
    assert_eq!(streamed, from_pipe.stdout, "file and pipe differ");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o077, 0, "plaintext written with mode {mode:o}");
    }
    // The whole-message path (the threshold past the size) gives the same bytes.
    let whole = {
        let _turn = lock(Resource::Measured);
        let a = args(
            "decrypt",
            keys,
            Some(file),
            &["--stream-threshold", "600000000"],
        );
        Command::new(env!("CARGO_BIN_EXE_ximf"))
            .args(&a)
            .output()
            .unwrap()
    };
    assert_eq!(whole.status.code(), Some(0));
    assert!(whole.stdout == streamed, "streamed plaintext differs");
    // All of the plaintext's body, in the input's line endings (openssl writes LF): compared
    // without CRs.
    let text = crate::support::fixtures::to_lf(&text_entity(size));
    let body = &text[text.windows(2).position(|w| w == b"\n\n").unwrap() + 2..];
    assert!(
        crate::support::fixtures::to_lf(&streamed).ends_with(body),
        "the plaintext is not in the output"
    );
}

#[test]
fn smime_64_mib_decrypts_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let small = smime_encrypted(dir.path(), 16 << 10, false);
    for stream in [false, true] {
        let f = smime_encrypted(dir.path(), 64 * MIB, stream);
        decrypts_in_bounded_memory(&f, 64 * MIB, &small, &smime_keys());
        std::fs::remove_file(f).unwrap();
    }
}

#[test]
fn pgp_64_mib_decrypts_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let f = pgp_encrypted(dir.path(), 64 * MIB);
    let small = pgp_encrypted(dir.path(), 16 << 10);
    decrypts_in_bounded_memory(&f, 64 * MIB, &small, &pgp_keys());
}

/// A byte of ciphertext changed deep inside: the integrity check at the end refuses it, and
/// nothing is written (no partial plaintext, no output file).
#[test]
fn tampered_large_ciphertext_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let f = pgp_encrypted(dir.path(), 8 * MIB);
    let mut d = std::fs::read(&f).unwrap();
    let i = d.len() / 2;
    let i = i + d[i..].iter().position(|b| b.is_ascii_lowercase()).unwrap();
    d[i] = if d[i] == b'a' { b'b' } else { b'a' };
    std::fs::write(&f, d).unwrap();
    let out = dir.path().join("out.eml");
    let o = out.to_string_lossy().into_owned();
    let m = measure::run(
        &args("decrypt", &pgp_keys(), Some(&f), &["-o", &o])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        b"",
    );
    assert_ne!(m.code, 0, "a tampered ciphertext decrypted");
    assert!(!out.exists(), "a partial plaintext was written");
}

/// Decrypt of 256 MiB runs under a `ulimit -v` that holding it whole cannot pass.
#[test]
fn decrypt_of_256_mib_under_ulimit_v() {
    let dir = tempfile::tempdir().unwrap();
    let f = smime_encrypted(dir.path(), 256 * MIB, true);
    let out = dir.path().join("out.eml");
    let mut a = args("decrypt", &smime_keys(), Some(&f), &[]);
    a.extend(["-o".into(), out.to_string_lossy().into_owned()]);
    only_streamed_fits(160 * 1024, a);
    // The plaintext (of the streamed run: the whole one failed before writing), in the
    // input's LF line endings.
    assert!(std::fs::metadata(&out).unwrap().len() > 240 * MIB as u64);
}

/// Opaque signed data (`application/pkcs7-mime; smime-type=signed-data`), DER and BER as
/// openssl writes them: its content hashed as it is decoded from the input and spooled, in
/// bounded memory from the file and from a pipe; a changed byte deep inside fails.
#[test]
fn opaque_signed_64_mib_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let sign = |size: usize, stream: bool| {
        let (cert, key, inter) = (
            smime_key("alice.crt"),
            smime_key("alice.key"),
            smime_key("inter.crt"),
        );
        let mut op = vec!["-sign", "-nodetach", "-md", "sha256", "-signer", &cert];
        op.extend(["-inkey", &key, "-certfile", &inter]);
        if stream {
            op.push("-stream");
        }
        op.extend(["-from", "alice@example.org", "-subject", "big"]);
        openssl_cms(dir.path(), &format!("opaque-{size}-{stream}"), size, &op)
    };
    let verify = |file: Option<&Path>, stdin: &[u8]| {
        run(
            &args("verify", &["--ca".into(), smime_key("root.crt")], file, &[]),
            stdin,
        )
    };
    let small = sign(16 << 10, false);
    let base = verify(Some(&small), b"");
    assert_eq!(base.code, 0, "{}", base.stderr);
    for stream in [false, true] {
        let f = sign(64 * MIB, stream);
        let data = std::fs::read(&f).unwrap();
        for (how, m) in [
            ("file", verify(Some(&f), b"")),
            ("pipe", verify(None, &data)),
        ] {
            let out = String::from_utf8_lossy(&m.stdout);
            assert_eq!(m.code, 0, "{how}: {out} {}", m.stderr);
            assert!(out.contains("smime:valid"), "{how}: {out}");
            assert!(
                m.rss_kib < base.rss_kib + GROWTH_KIB,
                "{how}: peak RSS {} KiB",
                m.rss_kib
            );
        }
        // A base64 letter changed deep inside: another content, the same length.
        let mut d = data;
        let i = d.len() / 2;
        let i = i + d[i..].iter().position(|b| b.is_ascii_lowercase()).unwrap();
        d[i] = if d[i] == b'a' { b'b' } else { b'a' };
        let m = verify(None, &d);
        let out = String::from_utf8_lossy(&m.stdout);
        assert_eq!(m.code, 1, "{out} {}", m.stderr);
        assert!(out.contains("signature-invalid"), "{out}");
        std::fs::remove_file(f).unwrap();
    }
}

/// Every message seed of the fuzz target that judges both ways (fuzz/seeds/message_verify,
/// one of them the CMS it found judged otherwise as a skeleton: a body that stops decoding
/// after its CMS) gets the same report and the same plaintext both ways.
#[test]
fn fuzz_seeds_are_judged_alike_both_ways() {
    let dir = crate::support::root().join("fuzz/seeds/message_verify");
    let mut seen = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let msg = std::fs::read(e.unwrap().path()).unwrap();
        let v = crate::support::matrix::verify(&msg, "2026-06-01T00:00:00Z", true);
        assert!(v.report.is_some(), "{}", v.stderr);
        crate::support::matrix::decrypt(&msg, "2026-06-01T00:00:00Z");
        seen += 1;
    }
    assert!(seen >= 9, "{seen} seeds");
}
