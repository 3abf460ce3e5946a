//! r10 (issue 10, points 1 and 6): private keys the way users hold them — encrypted PKCS#8
//! (PBES2/AES and PBES1/3DES, PEM and DER), legacy encrypted PEM, PKCS#12 (AES, `-legacy`,
//! 3DES/RC2-40) and passphrase-protected OpenPGP keys made by gpg — unlocked with
//! `--passphrase-file` or `--passphrase-fd`; a wrong or missing passphrase is exit 77 with one
//! line and nothing written; a file given to the wrong flag is exit 78 naming the file and what
//! it is. All key material is made here, at test time, by the real `openssl` and `gpg`; the
//! passphrase must never appear in any output.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// S/MIME test keys are valid at this instant (testdata/keys/smime/README.md).
const SMIME_NOW: &str = "2026-11-29T00:00:00Z";
/// OpenPGP tests run at this instant (testdata/keys/pgp/README.md).
const PGP_NOW: &str = "2026-06-01T00:00:00Z";
/// Distinctive, with a space and shell metacharacters, so a leak is easy to grep for and
/// line handling is exercised.
const PASS: &str = "r10 s3cret&pass;phrase";

fn smime(name: &str) -> String {
    root()
        .join("testdata/keys/smime")
        .join(name)
        .display()
        .to_string()
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn plain() -> Vec<u8> {
    std::fs::read(root().join("testdata/messages/plain.eml")).unwrap()
}

/// A scratch directory with the passphrase files and material made in it.
struct Fx {
    dir: tempfile::TempDir,
}

impl Fx {
    fn new() -> Fx {
        let fx = Fx {
            dir: tempfile::tempdir().unwrap(),
        };
        // The passphrase file as `echo` writes it: one line, newline-terminated.
        fx.write("pass", format!("{PASS}\n").as_bytes());
        fx.write("wrong", b"not the passphrase\n");
        fx
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    fn write(&self, name: &str, data: &[u8]) -> String {
        std::fs::write(self.dir.path().join(name), data).unwrap();
        self.path(name)
    }

    /// Runs `openssl ARGS` in the scratch directory; it must succeed.
    fn openssl(&self, args: &[&str]) {
        let o = Command::new("openssl")
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// `ximf ARGS` with `stdin`, with no configuration from the environment or the home directory
/// (so no terminal, no config keys, nothing but the flags).
fn ximf(fx: &Fx, args: &[&str], stdin: &[u8]) -> Output {
    spawn(
        fx,
        Command::new(env!("CARGO_BIN_EXE_ximf")).args(args),
        stdin,
    )
}

/// `ximf ARGS --passphrase-fd 3` with `file` open on descriptor 3, as a shell gives it.
fn ximf_fd(fx: &Fx, args: &[&str], file: &str, stdin: &[u8]) -> Output {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(r#"exec "$0" "$@" --passphrase-fd 3 3<"$PASSFILE""#)
        .arg(env!("CARGO_BIN_EXE_ximf"))
        .args(args)
        .env("PASSFILE", file);
    spawn(fx, &mut cmd, stdin)
}

fn spawn(fx: &Fx, cmd: &mut Command, stdin: &[u8]) -> Output {
    use std::io::Write;
    let home = fx.dir.path().join("home");
    std::fs::create_dir_all(&home).unwrap();
    let mut child = cmd
        .env("HOME", &home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env_remove("XIMF_CONFIG")
        .env_remove("XIMF_CONTEXT")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let o = child.wait_with_output().unwrap();
    assert_no_leak(&o);
    o
}

/// The passphrase is never echoed, in a message, a hint or the output.
#[track_caller]
fn assert_no_leak(o: &Output) {
    for (what, bytes) in [("stdout", &o.stdout), ("stderr", &o.stderr)] {
        assert!(
            !bytes.windows(PASS.len()).any(|w| w == PASS.as_bytes()),
            "the passphrase leaked to {what}: {}",
            String::from_utf8_lossy(bytes)
        );
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[track_caller]
fn ok(o: &Output) -> Vec<u8> {
    assert_eq!(o.status.code(), Some(0), "stderr: {}", stderr(o));
    assert!(o.stderr.is_empty(), "stderr: {}", stderr(o));
    o.stdout.clone()
}

/// Exit `status`, nothing on stdout, a first line `ximf <cmd>: ` naming `file`, and then
/// `hint` lines only: exactly `hints` of them.
#[track_caller]
fn refused(o: &Output, status: i32, cmd: &str, file: &str, hints: usize) -> String {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(status), "stderr: {e}");
    assert!(o.stdout.is_empty(), "stdout must stay empty: {e}");
    let lines: Vec<&str> = e.lines().collect();
    assert_eq!(lines.len(), 1 + hints, "{e}");
    assert!(lines[0].starts_with(&format!("ximf {cmd}: ")), "{e}");
    assert!(lines[0].contains(file), "the error names {file}: {e}");
    assert!(lines[1..].iter().all(|l| l.starts_with("hint: ")), "{e}");
    assert!(!e.contains("error:0"), "an OpenSSL error stack: {e}");
    e
}

/// Wrong passphrase: 77, one line, no hint.
#[track_caller]
fn wrong_passphrase(o: &Output, cmd: &str, file: &str) {
    let e = refused(o, 77, cmd, file, 0);
    assert!(e.contains("wrong passphrase"), "{e}");
}

/// No passphrase for an encrypted key: 77 and a hint naming the flags.
#[track_caller]
fn no_passphrase(o: &Output, cmd: &str, file: &str) {
    let e = refused(o, 77, cmd, file, 1);
    assert!(e.contains("passphrase-protected"), "{e}");
    assert!(
        e.contains("--passphrase-file") && e.contains("--passphrase-fd"),
        "{e}"
    );
}

/// S/MIME-signs `plain.eml` as alice with `keys`, checks the signature verifies with the test
/// root, and returns the signed message.
fn smime_sign(fx: &Fx, keys: &[&str], fd: Option<&str>) -> Vec<u8> {
    let mut args = vec![
        "--now",
        SMIME_NOW,
        "protect",
        "--sign",
        "--mechanism",
        "smime",
    ];
    args.extend(keys);
    let o = match fd {
        Some(f) => ximf_fd(fx, &args, f, &plain()),
        None => ximf(fx, &args, &plain()),
    };
    let signed = ok(&o);
    let root_ca = smime("root.crt");
    let v = ximf(
        fx,
        &["--now", SMIME_NOW, "verify", "--ca", &root_ca],
        &signed,
    );
    let report = String::from_utf8_lossy(&ok(&v)).into_owned();
    assert!(
        report.contains("signature=smime:valid signer=alice@example.org"),
        "{report}"
    );
    signed
}

/// alice's key encrypted by `openssl pkcs8 -topk8 ARGS` (and the traditional PEM of
/// `openssl rsa -aes256`), each with its file name.
fn encrypted_pkcs8(fx: &Fx) -> Vec<String> {
    let key = smime("alice.key");
    let pass = format!("pass:{PASS}");
    let pkcs8 = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "pkcs8", "-topk8", "-in", &key, "-passout", &pass, "-out", out,
        ];
        args.extend(extra);
        fx.openssl(&args);
        fx.path(out)
    };
    let mut files = vec![
        pkcs8("aes.pem", &["-v2", "aes-256-cbc"]),
        pkcs8("aes.der", &["-v2", "aes-256-cbc", "-outform", "DER"]),
        pkcs8("3des.pem", &["-v1", "PBE-SHA1-3DES"]),
        pkcs8("3des.der", &["-v1", "PBE-SHA1-3DES", "-outform", "DER"]),
    ];
    fx.openssl(&[
        "rsa",
        "-in",
        &key,
        "-aes256",
        "-traditional",
        "-passout",
        &pass,
        "-out",
        "traditional.pem",
    ]);
    files.push(fx.path("traditional.pem"));
    let text = std::fs::read_to_string(&files[0]).unwrap();
    assert!(text.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----"));
    let text = std::fs::read_to_string(&files[4]).unwrap();
    assert!(text.contains("Proc-Type: 4,ENCRYPTED"), "{text}");
    files
}

/// alice's key, certificate and the intermediate in PKCS#12 files: OpenSSL 3's default (AES,
/// PBKDF2), `-legacy`, and 3DES keys with RC2-40 certificates as older exports do.
fn pkcs12_files(fx: &Fx) -> Vec<String> {
    let (key, crt, inter) = (smime("alice.key"), smime("alice.crt"), smime("inter.crt"));
    let pass = format!("pass:{PASS}");
    let export = |out: &str, extra: &[&str]| {
        let mut args = vec!["pkcs12", "-export"];
        args.extend(extra);
        args.extend([
            "-inkey",
            &key,
            "-in",
            &crt,
            "-certfile",
            &inter,
            "-passout",
            &pass,
            "-out",
            out,
        ]);
        fx.openssl(&args);
        fx.path(out)
    };
    vec![
        export("default.p12", &[]),
        export("legacy.pfx", &["-legacy"]),
        // RC2 lives in OpenSSL 3's legacy provider, for the export as for the import.
        export(
            "3des-rc2.p12",
            &[
                "-provider",
                "legacy",
                "-provider",
                "default",
                "-keypbe",
                "PBE-SHA1-3DES",
                "-certpbe",
                "PBE-SHA1-RC2-40",
            ],
        ),
    ]
}

#[test]
fn r10_encrypted_pkcs8_signs_with_passphrase_file_and_fd() {
    let fx = Fx::new();
    let chain = smime("alice.chain.pem");
    let (pass, wrong) = (fx.path("pass"), fx.path("wrong"));
    for key in encrypted_pkcs8(&fx) {
        smime_sign(
            &fx,
            &["--key", &key, "--cert", &chain, "--passphrase-file", &pass],
            None,
        );
        smime_sign(&fx, &["--key", &key, "--cert", &chain], Some(&pass));
        let args = [
            "protect",
            "--sign",
            "--mechanism",
            "smime",
            "--key",
            &key,
            "--cert",
            &chain,
        ];
        let mut with_wrong = args.to_vec();
        with_wrong.extend(["--passphrase-file", &wrong]);
        wrong_passphrase(&ximf(&fx, &with_wrong, &plain()), "protect", &key);
        wrong_passphrase(&ximf_fd(&fx, &args, &wrong, &plain()), "protect", &key);
        no_passphrase(&ximf(&fx, &args, &plain()), "protect", &key);
    }
}

#[test]
fn r10_pkcs12_alone_gives_key_certificate_and_chain() {
    let fx = Fx::new();
    let (pass, wrong) = (fx.path("pass"), fx.path("wrong"));
    for p12 in pkcs12_files(&fx) {
        // No --cert: the certificate and the intermediate come from the PKCS#12 file, and the
        // signature verifies up to the root.
        smime_sign(&fx, &["--key", &p12, "--passphrase-file", &pass], None);
        smime_sign(&fx, &["--key", &p12], Some(&pass));
        // With --cert repeating the chain: no duplicate certificate in the SignedData.
        let chain = smime("alice.chain.pem");
        smime_sign(
            &fx,
            &["--key", &p12, "--cert", &chain, "--passphrase-file", &pass],
            None,
        );
        let args = ["protect", "--sign", "--mechanism", "smime", "--key", &p12];
        let mut with_wrong = args.to_vec();
        with_wrong.extend(["--passphrase-file", &wrong]);
        wrong_passphrase(&ximf(&fx, &with_wrong, &plain()), "protect", &p12);
        wrong_passphrase(&ximf_fd(&fx, &args, &wrong, &plain()), "protect", &p12);
        no_passphrase(&ximf(&fx, &args, &plain()), "protect", &p12);
    }
}

#[test]
fn r10_pkcs12_without_password_needs_no_passphrase() {
    let fx = Fx::new();
    fx.openssl(&[
        "pkcs12",
        "-export",
        "-inkey",
        &smime("alice.key"),
        "-in",
        &smime("alice.crt"),
        "-certfile",
        &smime("inter.crt"),
        "-passout",
        "pass:",
        "-out",
        "open.p12",
    ]);
    smime_sign(&fx, &["--key", &fx.path("open.p12")], None);
}

#[test]
fn r10_decrypt_and_verify_with_encrypted_smime_keys() {
    let fx = Fx::new();
    let pass = fx.path("pass");
    let bob_pem = fx.path("bob.pem");
    fx.openssl(&[
        "pkcs8",
        "-topk8",
        "-v2",
        "aes-256-cbc",
        "-in",
        &smime("bob.key"),
        "-passout",
        &format!("pass:{PASS}"),
        "-out",
        &bob_pem,
    ]);
    fx.openssl(&[
        "pkcs12",
        "-export",
        "-legacy",
        "-inkey",
        &smime("bob.key"),
        "-in",
        &smime("bob.crt"),
        "-passout",
        &format!("pass:{PASS}"),
        "-out",
        "bob.p12",
    ]);
    let bob_p12 = fx.path("bob.p12");
    let (bob_crt, root_ca) = (smime("bob.crt"), smime("root.crt"));
    // Signed by alice (her key encrypted too) and encrypted to bob.
    let alice = encrypted_pkcs8(&fx).remove(0);
    let alice_chain = smime("alice.chain.pem");
    let protected = ok(&ximf(
        &fx,
        &[
            "--now",
            SMIME_NOW,
            "protect",
            "--sign",
            "--encrypt",
            "--mechanism",
            "smime",
            "--key",
            &alice,
            "--cert",
            &alice_chain,
            "--recipient",
            &bob_crt,
            "--passphrase-file",
            &pass,
        ],
        &plain(),
    ));
    for keys in [
        vec!["--key", bob_pem.as_str(), "--cert", bob_crt.as_str()],
        vec!["--key", bob_p12.as_str()],
    ] {
        let mut args = vec!["--now", SMIME_NOW, "decrypt"];
        args.extend(&keys);
        let clear = ok(&ximf_fd(&fx, &args, &pass, &protected));
        let text = String::from_utf8_lossy(&clear);
        assert!(text.contains("the figures are attached"), "{text}");
        let mut with_file = args.clone();
        with_file.extend(["--passphrase-file", &pass]);
        ok(&ximf(&fx, &with_file, &protected));
        no_passphrase(&ximf(&fx, &args, &protected), "decrypt", keys[1]);

        // verify --key decrypts with the unlocked key and checks the signature inside.
        let mut args = vec!["--now", SMIME_NOW, "verify", "--ca", &root_ca];
        args.extend(&keys);
        let report = ok(&ximf_fd(&fx, &args, &pass, &protected));
        let report = String::from_utf8_lossy(&report);
        assert!(
            report.contains("signature=smime:valid") && report.contains("encryption=decrypted"),
            "{report}"
        );
        let mut with_wrong = args.clone();
        let wrong = fx.path("wrong");
        with_wrong.extend(["--passphrase-file", &wrong]);
        wrong_passphrase(&ximf(&fx, &with_wrong, &protected), "verify", keys[1]);
    }
}

/// A GnuPG home with carol's passphrase-protected Ed25519 signing key and Cv25519 encryption
/// subkey, made with a creation time before [`PGP_NOW`]; its agent is stopped on drop.
struct Gpg {
    home: tempfile::TempDir,
}

impl Gpg {
    fn new() -> Gpg {
        let g = Gpg {
            home: tempfile::tempdir().unwrap(),
        };
        g.run(&[
            "--quick-gen-key",
            "Carol <carol@example.org>",
            "ed25519",
            "sign,cert",
            "never",
        ]);
        let listing =
            String::from_utf8(g.run(&["--with-colons", "--list-keys", "carol@example.org"]))
                .unwrap();
        let fpr = listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:"))
            .map(|l| l.trim_matches(':').to_owned())
            .unwrap();
        g.run(&["--quick-add-key", &fpr, "cv25519", "encr", "never"]);
        g
    }

    fn run(&self, args: &[&str]) -> Vec<u8> {
        let o = Command::new("gpg")
            .args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                PASS,
                "--faked-system-time",
                "20250101T000000!",
            ])
            .args(args)
            .env("GNUPGHOME", self.home.path())
            .output()
            .unwrap();
        assert!(
            o.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .args(["--kill", "gpg-agent"])
            .env("GNUPGHOME", self.home.path())
            .output();
    }
}

fn carol_message(to: &str) -> Vec<u8> {
    format!(
        "From: Carol <carol@example.org>\nTo: {to}\nSubject: r10\nDate: Mon, 01 Jun 2026 00:00:00 +0000\nMessage-ID: <r10@example.org>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n\nHello from carol.\n"
    )
    .into_bytes()
}

#[test]
fn r10_gpg_passphrase_key_signs_and_decrypts() {
    let fx = Fx::new();
    let gpg = Gpg::new();
    let key = fx.write(
        "carol.key",
        &gpg.run(&["--armor", "--export-secret-keys", "carol@example.org"]),
    );
    let cert = fx.write(
        "carol.cert",
        &gpg.run(&["--armor", "--export", "carol@example.org"]),
    );
    drop(gpg);
    // The exported secret key really is protected (S2K usage 254, iterated and salted).
    let listed = Command::new("gpg")
        .args(["--list-packets", &key])
        .env("GNUPGHOME", fx.dir.path())
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&listed.stdout).contains("protected"),
        "{}",
        String::from_utf8_lossy(&listed.stdout)
    );
    let (pass, wrong) = (fx.path("pass"), fx.path("wrong"));
    let sign = [
        "--now",
        PGP_NOW,
        "protect",
        "--sign",
        "--mechanism",
        "openpgp",
        "--key",
        &key,
    ];
    let msg = carol_message("Bob <bob@example.org>");
    for signed in [
        {
            let mut a = sign.to_vec();
            a.extend(["--passphrase-file", &pass]);
            ok(&ximf(&fx, &a, &msg))
        },
        ok(&ximf_fd(&fx, &sign, &pass, &msg)),
    ] {
        let v = ximf(
            &fx,
            &["--now", PGP_NOW, "verify", "--keyring", &cert],
            &signed,
        );
        let report = String::from_utf8_lossy(&ok(&v)).into_owned();
        assert!(
            report.contains("signature=openpgp:valid signer=carol@example.org"),
            "{report}"
        );
    }
    let mut a = sign.to_vec();
    a.extend(["--passphrase-file", &wrong]);
    wrong_passphrase(&ximf(&fx, &a, &msg), "protect", &key);
    wrong_passphrase(&ximf_fd(&fx, &sign, &wrong, &msg), "protect", &key);
    no_passphrase(&ximf(&fx, &sign, &msg), "protect", &key);

    let encrypted = ok(&ximf(
        &fx,
        &[
            "--now",
            PGP_NOW,
            "protect",
            "--encrypt",
            "--mechanism",
            "openpgp",
            "--recipient",
            &cert,
        ],
        &carol_message("Carol <carol@example.org>"),
    ));
    let decrypt = ["--now", PGP_NOW, "decrypt", "--key", &key];
    let clear = ok(&ximf_fd(&fx, &decrypt, &pass, &encrypted));
    assert!(String::from_utf8_lossy(&clear).contains("Hello from carol."));
    wrong_passphrase(&ximf_fd(&fx, &decrypt, &wrong, &encrypted), "decrypt", &key);
    no_passphrase(&ximf(&fx, &decrypt, &encrypted), "decrypt", &key);
}

#[test]
fn r10_sendmail_takes_the_passphrase_flags() {
    let fx = Fx::new();
    let key = encrypted_pkcs8(&fx).remove(0);
    let chain = smime("alice.chain.pem");
    let rec = fx.path("rec");
    let fake = root()
        .join("testdata/bin/fake-sendmail")
        .display()
        .to_string();
    let args = |pass: &str| {
        vec![
            "--now".to_owned(),
            SMIME_NOW.to_owned(),
            "sendmail".to_owned(),
            "--set".to_owned(),
            "X-XIMF-Security-Classification=example-restricted".to_owned(),
            "--set".to_owned(),
            "X-XIMF-Primary-Precedence=routine".to_owned(),
            "--sign".to_owned(),
            "--mechanism".to_owned(),
            "smime".to_owned(),
            "--key".to_owned(),
            key.clone(),
            "--cert".to_owned(),
            chain.clone(),
            "--passphrase-file".to_owned(),
            pass.to_owned(),
            "--sendmail-command".to_owned(),
            fake.clone(),
            "--".to_owned(),
            "bob@example.org".to_owned(),
        ]
    };
    let run = |pass: &str| {
        let a = args(pass);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_ximf"));
        cmd.args(&a).env("FAKE_SENDMAIL_RECORD", &rec);
        spawn(&fx, &mut cmd, &plain())
    };
    ok(&run(&fx.path("pass")));
    let sent = std::fs::read(format!("{rec}.msg")).unwrap();
    let root_ca = smime("root.crt");
    let v = ximf(
        &fx,
        &["--now", SMIME_NOW, "verify", "--ca", &root_ca],
        &sent,
    );
    assert!(String::from_utf8_lossy(&ok(&v)).contains("signature=smime:valid"));
    std::fs::remove_file(format!("{rec}.calls")).unwrap();
    let o = run(&fx.path("wrong"));
    assert_eq!(o.status.code(), Some(77), "{}", stderr(&o));
    let e = stderr(&o);
    assert_eq!(e.lines().count(), 1, "{e}");
    assert!(
        e.starts_with("ximf sendmail: ") && e.contains("wrong passphrase"),
        "{e}"
    );
    assert!(!Path::new(&format!("{rec}.calls")).exists(), "nothing sent");
    // The dead letter keeps the message, never the passphrase.
    let dead = std::fs::read(fx.dir.path().join("home/dead.letter")).unwrap();
    assert!(!dead.windows(PASS.len()).any(|w| w == PASS.as_bytes()));
}

#[test]
fn r10_files_of_the_wrong_kind_are_named() {
    let fx = Fx::new();
    let msg = plain();
    let (crt, key, p12) = (smime("alice.crt"), smime("alice.key"), smime("alice.p12"));
    let chain = smime("alice.chain.pem");
    let pgp_cert = root()
        .join("testdata/keys/pgp/alice.cert")
        .display()
        .to_string();
    let garbage = fx.write("garbage.bin", b"\x01\x02 this is not a key \xff\xfe\n");
    let high_bit = fx.write("noise.bin", &[0x99, 0x01, 0x02, 0x03, 0x04, 0x05]);
    fx.openssl(&[
        "req",
        "-new",
        "-key",
        &key,
        "-subj",
        "/CN=alice",
        "-out",
        "alice.csr",
    ]);
    let csr = fx.path("alice.csr");
    fx.openssl(&["pkey", "-in", &key, "-pubout", "-out", "alice.pub"]);
    let public = fx.path("alice.pub");
    fx.openssl(&["x509", "-in", &crt, "-outform", "DER", "-out", "alice.der"]);
    let der = fx.path("alice.der");
    let sign = |extra: &[&str]| {
        let mut a = vec!["protect", "--sign", "--mechanism", "smime"];
        a.extend(extra);
        ximf(&fx, &a, &msg)
    };
    let verify = |extra: &[&str]| {
        let mut a = vec!["verify"];
        a.extend(extra);
        ximf(&fx, &a, &msg)
    };
    let cases: Vec<(Output, &str, &str, &str)> = vec![
        (
            sign(&["--key", &crt]),
            "protect",
            crt.as_str(),
            "an X.509 certificate, not a private key (--key)",
        ),
        (
            sign(&["--key", &der]),
            "protect",
            der.as_str(),
            "an X.509 certificate, not a private key (--key)",
        ),
        (
            sign(&["--key", &csr]),
            "protect",
            csr.as_str(),
            "a certificate signing request (CSR), not a private key",
        ),
        (
            sign(&["--key", &public]),
            "protect",
            public.as_str(),
            "a public key, not a private key",
        ),
        (
            sign(&["--key", &pgp_cert]),
            "protect",
            pgp_cert.as_str(),
            "an OpenPGP certificate without secret key material, not a private key",
        ),
        (
            sign(&["--key", &garbage]),
            "protect",
            garbage.as_str(),
            "not a key or certificate file (--key needs a private key)",
        ),
        (
            sign(&["--key", &high_bit]),
            "protect",
            high_bit.as_str(),
            "not a key or certificate file (--key needs a private key)",
        ),
        (
            sign(&["--key", &key, "--cert", &p12]),
            "protect",
            p12.as_str(),
            "a PKCS#12 file (private key and certificate), not a certificate (--cert)",
        ),
        (
            sign(&["--key", &key, "--cert", &key]),
            "protect",
            key.as_str(),
            "a private key, not a certificate (--cert)",
        ),
        (
            verify(&["--ca", &p12]),
            "verify",
            p12.as_str(),
            "a PKCS#12 file (private key and certificate), not CA certificates (--ca)",
        ),
        (
            verify(&["--ca", &garbage]),
            "verify",
            garbage.as_str(),
            "not a key or certificate file (--ca needs CA certificates)",
        ),
        (
            verify(&["--ca", &pgp_cert]),
            "verify",
            pgp_cert.as_str(),
            "not CA certificates (--ca)",
        ),
        (
            verify(&["--ca", &chain, "--recipient", &p12]),
            "verify",
            p12.as_str(),
            "not a recipient certificate (--recipient)",
        ),
        (
            verify(&["--keyring", &crt]),
            "verify",
            crt.as_str(),
            "an X.509 certificate, not OpenPGP certificates (--keyring)",
        ),
        (
            verify(&["--keyring", &garbage]),
            "verify",
            garbage.as_str(),
            "not a key or certificate file (--keyring needs OpenPGP certificates)",
        ),
    ];
    for (o, cmd, file, what) in &cases {
        let e = refused(o, 78, cmd, file, 1);
        assert!(e.contains(what), "want {what:?}: {e}");
    }
}

#[test]
fn r10_passphrase_flags_are_checked() {
    let fx = Fx::new();
    let key = encrypted_pkcs8(&fx).remove(0);
    let chain = smime("alice.chain.pem");
    let base = [
        "protect",
        "--sign",
        "--mechanism",
        "smime",
        "--key",
        &key,
        "--cert",
        &chain,
    ];
    // Both sources at once: a usage error.
    let pass = fx.path("pass");
    let mut both = base.to_vec();
    both.extend(["--passphrase-file", &pass, "--passphrase-fd", "0"]);
    let o = ximf(&fx, &both, &plain());
    assert_eq!(o.status.code(), Some(64), "{}", stderr(&o));
    assert!(o.stdout.is_empty());
    // A descriptor that is not open.
    let mut closed = base.to_vec();
    closed.extend(["--passphrase-fd", "9"]);
    let o = ximf(&fx, &closed, &plain());
    assert_eq!(o.status.code(), Some(64), "{}", stderr(&o));
    assert!(
        stderr(&o).starts_with("ximf protect: --passphrase-fd 9: "),
        "{}",
        stderr(&o)
    );
    // A missing passphrase file: 66, like any missing input.
    let mut missing = base.to_vec();
    let nowhere = fx.path("no-such-file");
    missing.extend(["--passphrase-file", &nowhere]);
    let o = ximf(&fx, &missing, &plain());
    assert_eq!(o.status.code(), Some(66), "{}", stderr(&o));
    // CRLF passphrase files (written on Windows) work as well.
    let crlf = fx.write("pass.crlf", format!("{PASS}\r\n").as_bytes());
    smime_sign(
        &fx,
        &["--key", &key, "--cert", &chain, "--passphrase-file", &crlf],
        None,
    );
    // An unencrypted key with a passphrase given: the passphrase is simply not needed.
    smime_sign(
        &fx,
        &[
            "--key",
            &smime("alice.key"),
            "--cert",
            &chain,
            "--passphrase-file",
            &pass,
        ],
        None,
    );
}

/// The config's identity keys are loaded by every command; a locked one must not make `verify`
/// (run by procmail, with no passphrase) fail, nor `protect --key` with another key.
#[test]
fn r10_locked_config_identity_keys_are_left_out() {
    let fx = Fx::new();
    let locked = encrypted_pkcs8(&fx).remove(0);
    let config = fx.write(
        "config.toml",
        format!(
            "[identities.\"alice@example.org\"]\nkey = \"{locked}\"\ncert = \"{}\"\n[trust]\nca = [\"{}\"]\n",
            smime("alice.chain.pem"),
            smime("root.crt")
        )
        .as_bytes(),
    );
    let signed = smime_sign(
        &fx,
        &[
            "--key",
            &smime("alice.key"),
            "--cert",
            &smime("alice.chain.pem"),
        ],
        None,
    );
    let v = ximf(
        &fx,
        &["--now", SMIME_NOW, "verify", "--config", &config],
        &signed,
    );
    assert!(String::from_utf8_lossy(&ok(&v)).contains("signature=smime:valid"));
    // With a passphrase and no --key, the identity's key is the one to unlock, and is used.
    let pass = fx.path("pass");
    let o = ximf(
        &fx,
        &[
            "--now",
            SMIME_NOW,
            "protect",
            "--sign",
            "--mechanism",
            "smime",
            "--config",
            &config,
            "--passphrase-file",
            &pass,
        ],
        &plain(),
    );
    ok(&o);
}

/// No file the tests made outside the passphrase files holds the passphrase: ximf writes no
/// unlocked key, passphrase or temporary file anywhere.
#[test]
fn r10_no_secret_is_written_to_disk() {
    let fx = Fx::new();
    let key = encrypted_pkcs8(&fx).remove(0);
    let out = fx.path("signed.eml");
    let pass = fx.path("pass");
    ok(&ximf(
        &fx,
        &[
            "--now",
            SMIME_NOW,
            "protect",
            "--sign",
            "--mechanism",
            "smime",
            "--key",
            &key,
            "--cert",
            &smime("alice.chain.pem"),
            "--passphrase-file",
            &pass,
            "-o",
            &out,
        ],
        &plain(),
    ));
    let plain_key = std::fs::read_to_string(smime("alice.key")).unwrap();
    let body: String = plain_key
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .take(3)
        .collect();
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, found);
            } else {
                found.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(fx.dir.path(), &mut files);
    for f in files {
        if f.file_name().is_some_and(|n| n == "pass" || n == "wrong") {
            continue;
        }
        let data = std::fs::read(&f).unwrap();
        let text = String::from_utf8_lossy(&data).replace(['\n', '\r'], "");
        assert!(!text.contains(PASS), "{} holds the passphrase", f.display());
        assert!(
            !text.contains(&body),
            "{} holds the unlocked key",
            f.display()
        );
    }
}
