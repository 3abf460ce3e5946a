//! The command line as callers see it: every exit status reachable at this stage, one-line
//! errors, nothing on stdout when failing, and `--help` for each command.

use crate::support::*;

fn plain() -> Vec<u8> {
    std::fs::read(root().join("testdata/messages/plain.eml")).expect("plain")
}

const GOOD: [&str; 4] = [
    "--set",
    "X-XIMF-Security-Classification=example-restricted",
    "--set",
    "X-XIMF-Primary-Precedence=routine",
];

#[track_caller]
fn fails(o: &std::process::Output, status: i32, prefix: &str) {
    assert_eq!(code(o), status, "stderr: {}", err(o));
    assert!(
        o.stdout.is_empty(),
        "stdout must stay empty on failure: {}",
        out(o)
    );
    let e = err(o);
    let first = e.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(prefix),
        "first stderr line {first:?} should start with {prefix:?}"
    );
    assert!(
        e.lines().skip(1).all(|l| l.starts_with("hint: ")),
        "extra stderr lines: {e}"
    );
}

#[test]
fn exit_0_stamp_and_verify_builtin() {
    let mut args = vec!["stamp"];
    args.extend(GOOD);
    let s = ximf(&args, &plain());
    assert_eq!(code(&s), 0, "{}", err(&s));
    assert!(s.stderr.is_empty());
    let v = ximf(&["verify"], &s.stdout);
    assert_eq!(code(&v), 0, "{}", out(&v));
    assert!(out(&v).starts_with("pass instance=Example"));
}

#[test]
fn exit_1_nonconforming_and_lint_errors() {
    let v = ximf(&["verify", "--instance", "Example"], &plain());
    assert_eq!(code(&v), 1);
    assert!(out(&v).contains("missing-mandatory-header"));
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("dup.xml");
    std::fs::write(
        &bad,
        r#"<ximf:instance name="D" version="1" ximfVersion="2.0" xmlns:ximf="http://eads.org/ximf/">
<ximf:header id="header-a" headerName="X-A" type="string" isMandatory="false" ilk="a"><ximf:string id="value-a" editable="true"/></ximf:header>
<ximf:header id="header-a" headerName="X-B" type="string" isMandatory="false" ilk="b"><ximf:string id="value-b" editable="true"/></ximf:header>
</ximf:instance>"#,
    )
    .expect("write");
    let l = ximf(&["profile", "lint", &bad.display().to_string()], b"");
    assert_eq!(code(&l), 1, "{}{}", out(&l), err(&l));
    assert!(out(&l).contains("dup.xml:3:"), "{}", out(&l));
}

#[test]
fn exit_64_usage() {
    fails(
        &ximf(&["stamp", "--bogus"], b""),
        64,
        "ximf stamp: unexpected argument '--bogus'",
    );
    fails(&ximf(&["--bogus"], b""), 64, "ximf: unexpected argument");
    fails(
        &ximf(&["stamp", "--set", "novalue"], &plain()),
        64,
        "ximf stamp: --set 'novalue'",
    );
    fails(
        &ximf(&["-p", "x", "verify", "--agent", "robot"], b""),
        64,
        "ximf verify: invalid value 'robot'",
    );
    fails(
        &ximf(&["--now", "yesterday", "verify"], b""),
        64,
        "ximf verify: --now",
    );
    // No command: the help goes to stderr, stdout stays empty.
    let none = ximf(&[], b"");
    assert_eq!(code(&none), 64);
    assert!(none.stdout.is_empty() && err(&none).contains("Usage: ximf"));
}

#[test]
fn exit_65_data() {
    let mut args = vec!["stamp"];
    args.extend(GOOD);
    fails(&ximf(&args, b"this is not a message\n"), 65, "ximf stamp: ");
    fails(&ximf(&args, b""), 65, "ximf stamp: ");
    let mut big = vec!["--max-size", "100", "stamp"];
    big.extend(GOOD);
    fails(
        &ximf(&big, &plain()),
        65,
        "ximf stamp: message exceeds the size limit of 100 bytes",
    );
    fails(
        &ximf(
            &[
                "stamp",
                "--set",
                "X-XIMF-Security-Classification=top-secret",
            ],
            &plain(),
        ),
        65,
        "ximf stamp: X-XIMF-Security-Classification: 'top-secret' is not allowed; allowed: ",
    );
    let o = ximf(
        &["stamp", "--set", "X-XIMF-Primary-Precedence=routine"],
        &plain(),
    );
    fails(
        &o,
        65,
        "ximf stamp: X-XIMF-Security-Classification: mandatory; allowed: example-unclassified",
    );
    fails(
        &ximf(&["stamp", "--set", "X-Unknown=1"], &plain()),
        65,
        "ximf stamp: X-Unknown: not defined",
    );
    fails(&ximf(&["verify"], b"\x00\x01garbage"), 65, "ximf verify: ");
}

#[test]
fn exit_66_no_input() {
    fails(
        &ximf(&["verify", "/nonexistent/msg.eml"], b""),
        66,
        "ximf verify: /nonexistent/msg.eml: ",
    );
}

#[test]
fn exit_70_panic_is_caught() {
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_ximf"))
        .args(["profile", "list"])
        .env("XIMF_TEST_PANIC", "1")
        .output()
        .expect("run");
    fails(&o, 70, "ximf: internal error: panic: ");
}

#[test]
fn exit_73_and_74_output() {
    let mut args = vec!["stamp", "-o", "/nonexistent-dir/out.eml"];
    args.extend(GOOD);
    fails(
        &ximf(&args, &plain()),
        73,
        "ximf stamp: /nonexistent-dir/out.eml: ",
    );
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ximf"))
        .arg("stamp")
        .args(GOOD)
        .arg(root().join("testdata/messages/plain.eml"))
        .stdout(full)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn");
    let status = child.wait().expect("wait");
    assert_eq!(status.code(), Some(74));
}

#[test]
fn output_file_is_written_atomically() {
    let dir = tempfile::tempdir().expect("tmp");
    let dest = dir.path().join("out.eml");
    let mut args = vec!["stamp", "-o"];
    let d = dest.display().to_string();
    args.push(&d);
    args.extend(GOOD);
    let o = ximf(&args, &plain());
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(o.stdout.is_empty());
    let written = std::fs::read(&dest).expect("out");
    assert!(written.starts_with(b"From: Alice"));
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("dir").count(),
        1,
        "temp file left behind"
    );
    // A failing stamp leaves an existing output untouched.
    let bad = ximf(
        &["stamp", "-o", &d, "--set", "X-XIMF-Primary-Precedence=nope"],
        &plain(),
    );
    assert_eq!(code(&bad), 65);
    assert_eq!(std::fs::read(&dest).expect("out"), written);
    // The input file may not be the output file.
    let same = ximf(&["stamp", "-o", &d, &d], b"");
    fails(&same, 64, "ximf stamp: ");
}

#[test]
fn exit_78_profile_errors() {
    fails(
        &ximf(&["-p", "/nonexistent/profile.xml", "verify"], &plain()),
        78,
        "ximf verify: ",
    );
    let dir = tempfile::tempdir().expect("tmp");
    let broken = dir.path().join("broken.xml");
    std::fs::write(
        &broken,
        "<ximf:instance xmlns:ximf='http://eads.org/ximf/'><unclosed>",
    )
    .expect("w");
    fails(
        &ximf(&["-p", &broken.display().to_string(), "stamp"], &plain()),
        78,
        "ximf stamp: ",
    );
    fails(
        &ximf(&["stamp", "--instance", "Nope"], &plain()),
        78,
        "ximf stamp: instance 'Nope'",
    );
    fails(
        &ximf(&["stamp", "--usage", "professional"], &plain()),
        78,
        "ximf stamp: usage 'professional': no correspondence type fits",
    );
}

#[test]
fn annotate_always_exits_zero_and_replaces_forged_verdicts() {
    let forged = b"X-XIMF-Verify: pass (authserv-id=mx.test; instance=Example; codes=none)\n\
Authentication-Results: mx.test; smime=pass\n\
Authentication-Results: other.example; smime=pass\n";
    let mut msg = forged.to_vec();
    msg.extend(plain());
    let o = ximf(
        &[
            "verify",
            "--annotate",
            "--authserv-id",
            "mx.test",
            "--instance",
            "Example",
        ],
        &msg,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    let text = out(&o);
    assert!(
        text.starts_with("X-XIMF-Verify: fail (authserv-id=mx.test; instance=Example;"),
        "{text}"
    );
    assert_eq!(text.matches("X-XIMF-Verify:").count(), 1);
    assert!(
        !text.contains("Authentication-Results: mx.test"),
        "forged A-R kept: {text}"
    );
    assert!(text.contains("Authentication-Results: other.example; smime=pass"));
    // Everything after the added field is the input minus the forged fields.
    // The verdict field may be folded: the rest starts at the first unfolded line after it.
    let first_nl = text.find("\nAuthentication-Results: other").expect("rest") + 1;
    let mut expected = b"Authentication-Results: other.example; smime=pass\n".to_vec();
    expected.extend(plain());
    assert_eq!(&o.stdout[first_nl..], &expected[..]);
}

#[test]
fn profile_list_show_lint() {
    let l = ximf(&["profile", "list"], b"");
    assert_eq!(code(&l), 0);
    assert_eq!(
        out(&l)
            .lines()
            .map(|l| l.split('\t').next().unwrap_or(""))
            .collect::<Vec<_>>(),
        ["smtp", "Example"]
    );
    let cat = tb_catalog().display().to_string();
    let l = ximf(&["profile", "list", &cat], b"");
    let names: Vec<String> = out(&l)
        .lines()
        .map(|l| l.split('\t').next().unwrap_or("").to_owned())
        .collect();
    assert_eq!(names, ["smtp", "Amoco", "Caterpillar", "Whirlpool"]);
    let s = ximf(
        &[
            "--format",
            "json",
            "profile",
            "show",
            &cat,
            "--instance",
            "Caterpillar",
            "--lang",
            "fr",
        ],
        b"",
    );
    assert_eq!(code(&s), 0, "{}", err(&s));
    let v: serde_json::Value = serde_json::from_slice(&s.stdout).expect("json");
    let text = v.to_string();
    assert!(
        text.contains("\"label\":\"CONFIDENTIEL JAUNE\""),
        "labels resolved in fr"
    );
    assert!(
        text.contains("\"en-US\":\"CONFIDENTIAL YELLOW\""),
        "labels per locale"
    );
    assert!(text.contains("HUMAN RESOURCE"), "external list values");
    assert!(text.contains("\"technical_content\":\"8\""));
    let t = ximf(&["profile", "show", &cat, "--instance", "Whirlpool"], b"");
    assert!(
        out(&t).contains("X-XIMF-Security-Classification (mandatory"),
        "{}",
        out(&t)
    );
    let lint = ximf(&["profile", "lint", &cat], b"");
    assert_eq!(
        code(&lint),
        0,
        "field profiles lint without errors: {}",
        out(&lint)
    );
    assert!(
        out(&lint).contains(": warning: "),
        "known deviations are warnings"
    );
    assert!(!out(&lint).contains(": error: "));
}

#[test]
fn help_for_every_command() {
    for cmd in [
        vec![],
        vec!["stamp"],
        vec!["verify"],
        vec!["protect"],
        vec!["decrypt"],
        vec!["profile"],
        vec!["profile", "lint"],
        vec!["profile", "show"],
        vec!["profile", "list"],
    ] {
        let mut args = cmd.clone();
        args.push("--help");
        let o = ximf(&args, b"");
        assert_eq!(code(&o), 0, "{cmd:?}: {}", err(&o));
        let text = out(&o);
        let usage = format!(
            "Usage: ximf{}{}",
            if cmd.is_empty() { "" } else { " " },
            cmd.join(" ")
        );
        assert!(
            text.contains(&usage),
            "{cmd:?} help lacks {usage:?}:\n{text}"
        );
        let first = text.lines().next().unwrap_or_default();
        assert!(
            !first.is_empty() && !first.ends_with('.'),
            "{cmd:?}: first line {first:?}"
        );
    }
}

#[test]
fn exit_67_no_key_for_the_signer() {
    fails(
        &ximf(&["protect", "--sign"], &plain()),
        67,
        "ximf protect: no key or certificate for ",
    );
    fails(
        &ximf(&["protect", "--encrypt", "--mechanism", "smime"], &plain()),
        67,
        // No --recipient: To is looked up by address (issue 10), and found nowhere.
        "ximf protect: no key or certificate for bob@example.org: none found",
    );
}

#[test]
fn decrypt_refuses_what_is_not_encrypted() {
    fails(
        &ximf(&["decrypt"], &plain()),
        65,
        "ximf decrypt: not an encrypted message",
    );
    // Key material that is neither X.509 nor OpenPGP is a configuration error.
    let dir = tempfile::tempdir().expect("tmp");
    let junk = dir.path().join("junk.key");
    std::fs::write(&junk, "not a key").expect("write");
    fails(
        &ximf(&["decrypt", "--key", &junk.display().to_string()], &plain()),
        78,
        "ximf decrypt: ",
    );
}

#[test]
fn verify_many_messages_in_one_process() {
    let dir = tempfile::tempdir().expect("tmp");
    let md = dir.path().join("Maildir");
    std::fs::create_dir_all(md.join("cur")).expect("cur");
    std::fs::create_dir_all(md.join("new")).expect("new");
    let mut args = vec!["stamp"];
    args.extend(GOOD);
    let stamped = ximf(&args, &plain()).stdout;
    for i in 0..20 {
        std::fs::write(md.join("cur").join(format!("{i:02}.eml")), &stamped).expect("write");
    }
    std::fs::write(md.join("new").join("plain.eml"), plain()).expect("write");
    let m = md.display().to_string();
    // All conform to their instance (the plain one to smtp): exit 0, one line each, in order.
    let o = ximf(&["verify", &m], b"");
    assert_eq!(code(&o), 0, "{}", out(&o));
    let lines: Vec<String> = out(&o).lines().map(str::to_owned).collect();
    assert_eq!(lines.len(), 21, "{lines:?}");
    assert!(
        lines[0].ends_with("cur/00.eml: pass instance=Example"),
        "{}",
        lines[0]
    );
    assert!(
        lines[20].ends_with("new/plain.eml: pass instance=smtp"),
        "{}",
        lines[20]
    );
    // One bad message makes the batch exit 1; JSON lines carry the file.
    std::fs::write(md.join("new").join("junk"), "garbage\n").expect("write");
    let o = ximf(
        &["--format", "json", "verify", "--instance", "Example", &m],
        b"",
    );
    assert_eq!(code(&o), 1);
    let objs: Vec<serde_json::Value> = out(&o)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json line"))
        .collect();
    assert_eq!(objs.len(), 22);
    assert!(
        objs.iter()
            .any(|v| v["file"].as_str().is_some_and(|f| f.ends_with("junk"))
                && v["error"].is_string())
    );
    assert!(
        objs.iter().any(|v| v["verdict"] == "fail"),
        "plain.eml fails against Example"
    );
    // --annotate is for one message.
    fails(
        &ximf(&["verify", "--annotate", &m], b""),
        64,
        "ximf verify: --annotate takes one message",
    );
}

#[test]
fn config_file_supplies_identities_and_trust() {
    let dir = tempfile::tempdir().expect("tmp");
    let k = |rel: &str| root().join("testdata/keys").join(rel).display().to_string();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[identities.\"alice@example.org\"]\nkey = \"{}\"\ncert = \"{}\"\n[trust]\nca = [\"{}\"]\n",
            k("smime/alice.key"),
            k("smime/alice.chain.pem"),
            k("smime/root.crt")
        ),
    )
    .expect("write");
    let c = cfg.display().to_string();
    let mut args = vec!["--now", NOW, "stamp"];
    args.extend(GOOD);
    let stamped = ximf(&args, &plain()).stdout;
    let signed = ximf(
        &["--now", NOW, "protect", "--sign", "--config", &c],
        &stamped,
    );
    assert_eq!(code(&signed), 0, "{}", err(&signed));
    let v = ximf(&["--now", NOW, "verify", "--config", &c], &signed.stdout);
    assert_eq!(code(&v), 0, "{}", out(&v));
    assert!(
        out(&v).contains("signature=smime:valid signer=alice@example.org"),
        "{}",
        out(&v)
    );
    // Without the config the signer is untrusted.
    let v = ximf(&["--now", NOW, "verify"], &signed.stdout);
    assert_eq!(code(&v), 1, "{}", out(&v));
    assert!(out(&v).contains("signature-untrusted"), "{}", out(&v));
}

/// r7: AES-CBC has no integrity; unsigned CBC content is flagged, never silently trusted.
#[test]
fn r7_unsigned_cbc_content_is_flagged() {
    let dir = tempfile::tempdir().expect("tmp");
    let k = |rel: &str| root().join("testdata/keys").join(rel).display().to_string();
    let input = dir.path().join("in.txt");
    std::fs::write(&input, "Content-Type: text/plain\r\n\r\nhello\r\n").expect("write");
    let enc = dir.path().join("enc.eml");
    let o = std::process::Command::new("openssl")
        .args(["cms", "-encrypt", "-aes256", "-in"])
        .arg(&input)
        .arg("-out")
        .arg(&enc)
        .arg(k("smime/bob.crt"))
        .output()
        .expect("openssl");
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let msg = std::fs::read(&enc).expect("enc");
    let v = ximf(
        &[
            "--now",
            NOW,
            "--format",
            "json",
            "verify",
            "--key",
            &k("smime/bob.key"),
            "--cert",
            &k("smime/bob.crt"),
        ],
        &msg,
    );
    let report: serde_json::Value = serde_json::from_slice(&v.stdout).expect("json");
    assert_eq!(report["encryption"]["status"], "decrypted", "{report}");
    let f = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["code"] == "unauthenticated-encryption")
        .unwrap_or_else(|| panic!("no unauthenticated-encryption finding: {report}"));
    assert_eq!(f["severity"], "warning");
    assert!(
        f["header"].is_null(),
        "message-wide findings name no header: {f}"
    );
}

/// r7: `-o` onto a symbolic link replaces the file it points to, and onto a device writes
/// through it; neither is replaced by a regular file.
#[test]
fn r7_output_through_links_and_devices() {
    let dir = tempfile::tempdir().expect("tmp");
    let target = dir.path().join("target.eml");
    std::fs::write(&target, "old").expect("write");
    let link = dir.path().join("link.eml");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    let l = link.display().to_string();
    let mut args = vec!["stamp", "-o", &l];
    args.extend(GOOD);
    let o = ximf(&args, &plain());
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink()
    );
    assert!(
        std::fs::read(&target)
            .expect("target")
            .starts_with(b"From: Alice")
    );
    // /dev/full stays a device, and the write fails with 74.
    let mut args = vec!["stamp", "-o", "/dev/full"];
    args.extend(GOOD);
    let o = ximf(&args, &plain());
    assert_eq!(code(&o), 74, "{}", err(&o));
    let meta = std::fs::metadata("/dev/full").expect("/dev/full");
    assert!(!meta.is_file(), "/dev/full was replaced by a regular file");
}
