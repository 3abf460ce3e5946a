//! Issue 12, point 3: files that never leak or vanish. Output that may hold plaintext is created
//! 0600 and never widens an existing file's mode; dead letters are not written through symbolic
//! links and are narrowed to 0600; profile files stay in the profile's tree; a timed-out real
//! sendmail is killed with everything it started (design.md §8).

use crate::support::Ximf;
use crate::support::mailflow::*;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).expect("metadata").permissions().mode() & 0o7777
}

fn key(rel: &str) -> String {
    root().join("testdata/keys").join(rel).display().to_string()
}

fn plain() -> Vec<u8> {
    std::fs::read(root().join("testdata/messages/plain.eml")).expect("plain.eml")
}

/// `ximf ARGS` with no configuration from the environment.
fn ximf_run(args: &[&str], stdin: &[u8]) -> Output {
    Ximf::new().args(args).no_config_env().stdin(stdin).run()
}

/// An S/MIME message encrypted to bob, in `s`.
fn encrypted(s: &Scratch) -> PathBuf {
    let o = ximf_run(
        &[
            "--now",
            NOW,
            "protect",
            "--encrypt",
            "--mechanism",
            "smime",
            "--recipient",
            &key("smime/bob.crt"),
        ],
        &plain(),
    );
    assert_eq!(code(&o), 0, "protect: {}", err(&o));
    s.write("enc.eml", &o.stdout)
}

/// `ximf decrypt` of `input` with bob's key, `-o out`.
fn decrypt_to(input: &Path, out: &Path) {
    let o = ximf_run(
        &[
            "--now",
            NOW,
            "decrypt",
            "--key",
            &key("smime/bob.key"),
            "--cert",
            &key("smime/bob.crt"),
            "-o",
            out.to_str().expect("utf8"),
            input.to_str().expect("utf8"),
        ],
        b"",
    );
    assert_eq!(code(&o), 0, "decrypt: {}", err(&o));
    let text = std::fs::read_to_string(out).expect("output");
    assert!(text.contains("the figures are attached"), "{text}");
}

#[test]
fn r12_decrypt_over_an_existing_0600_file_keeps_it_0600() {
    let s = Scratch::new();
    let enc = encrypted(&s);
    let out = s.write("plain.out", "old secret\n");
    set_mode(&out, 0o600);
    decrypt_to(&enc, &out);
    assert_eq!(mode(&out), 0o600);
}

#[test]
fn r12_a_new_output_file_is_0600() {
    let s = Scratch::new();
    let enc = encrypted(&s);
    let out = s.join("new.out");
    decrypt_to(&enc, &out);
    assert_eq!(mode(&out), 0o600);
    // Every command's -o goes the same way, not only decrypt's.
    let stamped = s.join("stamped.eml");
    let o = ximf_run(
        &[
            "stamp",
            "--set",
            "X-XIMF-Security-Classification=example-restricted",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
            "-o",
            stamped.to_str().expect("utf8"),
        ],
        &plain(),
    );
    assert_eq!(code(&o), 0, "stamp: {}", err(&o));
    assert_eq!(mode(&stamped), 0o600);
    // No temporary file is left beside it.
    let names: Vec<String> = std::fs::read_dir(s.path())
        .expect("read_dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
}

#[test]
fn r12_an_existing_file_keeps_its_mode_neither_wider_nor_narrower() {
    let s = Scratch::new();
    let enc = encrypted(&s);
    for m in [0o644, 0o640, 0o400] {
        let out = s.write(&format!("out-{m:o}"), "old\n");
        set_mode(&out, m);
        decrypt_to(&enc, &out);
        assert_eq!(mode(&out), m, "{m:o}");
    }
    // Written through a symbolic link: the target keeps its mode, the link stays a link.
    let target = s.write("target.out", "old\n");
    set_mode(&target, 0o600);
    let link = s.join("link.out");
    std::os::unix::fs::symlink(&target, &link).expect("symlink");
    decrypt_to(&enc, &link);
    assert_eq!(mode(&target), 0o600);
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("link")
            .file_type()
            .is_symlink()
    );
}

/// `ximf sendmail` with a message the built-in profile refuses (65: mandatory values missing),
/// so it goes to the dead letter at `dead`. Nothing reaches the stand-in sendmail.
fn refused_with_dead_letter(s: &Scratch, dead: &Path) -> Output {
    let mut cmd = Command::new(ximf_bin());
    cmd.args([
        "sendmail",
        "--sendmail-command",
        fake_sendmail().to_str().expect("utf8"),
        "--dead-letter",
        dead.to_str().expect("utf8"),
        "-f",
        "alice@example.org",
        "--",
        "bob@example.org",
    ])
    .env("HOME", s.path())
    .env("FAKE_SENDMAIL_RECORD", s.join("rec"))
    .env_remove("XIMF_CONFIG")
    .env_remove("XDG_CONFIG_HOME")
    .env_remove("XIMF_SENDMAIL_DEPTH");
    run(&mut cmd, PLAIN.as_bytes())
}

#[test]
fn r12_a_dead_letter_open_to_others_is_narrowed_to_0600() {
    let s = Scratch::new();
    let dead = s.write(
        "dead.letter",
        "From x Thu Jan  1 00:00:00 1970\nSubject: old\n\nold\n\n",
    );
    set_mode(&dead, 0o644);
    let o = refused_with_dead_letter(&s, &dead);
    assert_eq!(code(&o), 65, "{}", err(&o));
    assert!(
        err(&o).contains(&format!("message kept in {}", dead.display())),
        "{}",
        err(&o)
    );
    assert_eq!(mode(&dead), 0o600);
    let kept = std::fs::read_to_string(&dead).expect("dead letter");
    assert!(kept.starts_with("From x "), "the old entry stays first");
    assert!(kept.contains("From alice@example.org "), "{kept}");
    assert!(kept.contains("Subject: Quarterly figures"), "{kept}");
}

#[test]
fn r12_a_dead_letter_that_is_a_symbolic_link_is_not_written_through() {
    let s = Scratch::new();
    let target = s.write("victim", "precious\n");
    set_mode(&target, 0o644);
    let dead = s.join("dead.letter");
    std::os::unix::fs::symlink(&target, &dead).expect("symlink");
    let o = refused_with_dead_letter(&s, &dead);
    // The refusal keeps its own status (65: nothing sent); the one line says the copy failed
    // and why.
    assert_eq!(code(&o), 65, "{}", err(&o));
    assert!(o.stdout.is_empty());
    let stderr = err(&o);
    let ours: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("ximf sendmail: "))
        .collect();
    assert_eq!(ours.len(), 1, "{}", err(&o));
    assert!(ours[0].contains("nothing sent"), "{}", ours[0]);
    assert!(ours[0].contains("message NOT kept"), "{}", ours[0]);
    assert!(ours[0].contains("symbolic link"), "{}", ours[0]);
    assert_eq!(
        std::fs::read_to_string(&target).expect("target"),
        "precious\n"
    );
    assert_eq!(mode(&target), 0o644);
    assert!(
        std::fs::symlink_metadata(&dead)
            .expect("link")
            .file_type()
            .is_symlink()
    );
    // A dangling link is not followed into creating its target either.
    let dangling = s.join("dangling.letter");
    let nowhere = s.join("created-through-link");
    std::os::unix::fs::symlink(&nowhere, &dangling).expect("symlink");
    let o = refused_with_dead_letter(&s, &dangling);
    assert_eq!(code(&o), 65, "{}", err(&o));
    assert!(err(&o).contains("message NOT kept"), "{}", err(&o));
    assert!(!nowhere.exists());
}

const LIST: &str = r#"<ximf xmlns:ximf="http://eads.org/ximf/"><ximf:base name="L"><ximf:tree><ximf:description><ximf:data>OUTSIDE-KEY</ximf:data></ximf:description></ximf:tree></ximf:base></ximf>"#;

fn instance_xml(body: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ximf:instance xmlns:ximf=\"http://eads.org/ximf/\" \
         name=\"T\" version=\"1\" ximfVersion=\"2.0\">\n{body}\n</ximf:instance>\n"
    )
}

#[test]
fn r12_a_set_ref_through_a_link_out_of_the_tree_is_refused() {
    let s = Scratch::new();
    let outside = s.write("outside/list.xml", LIST);
    let headers = s.write(
        "profile/headers-t.xml",
        instance_xml(
            r#"<ximf:header id="header-a" headerName="X-A" type="string" isMandatory="false" ilk="a"><ximf:set ref="list.xml"/></ximf:header>"#,
        ),
    );
    std::os::unix::fs::symlink(&outside, s.join("profile/list.xml")).expect("symlink");
    let o = ximf_run(&["profile", "lint", headers.to_str().expect("utf8")], b"");
    assert_eq!(code(&o), 1, "{}{}", out(&o), err(&o));
    let text = format!("{}{}", out(&o), err(&o));
    assert!(text.contains("path-escape"), "{text}");
    // The list was not read: its value is nowhere in what the profile offers.
    let shown = ximf_run(&["profile", "show", headers.to_str().expect("utf8")], b"");
    assert!(!out(&shown).contains("OUTSIDE-KEY"), "{}", out(&shown));

    // A sibling found by name (dictionary-t.xml beside headers-t.xml) is held to the same rule.
    let dict = s.write("outside/dictionary-t.xml", instance_xml(""));
    std::os::unix::fs::symlink(&dict, s.join("profile/dictionary-t.xml")).expect("symlink");
    let o = ximf_run(
        &["profile", "lint", s.join("profile").to_str().expect("utf8")],
        b"",
    );
    let text = format!("{}{}", out(&o), err(&o));
    assert!(text.contains("dictionary-t.xml resolves to"), "{text}");
    std::fs::remove_file(s.join("profile/dictionary-t.xml")).expect("rm");

    // A link that stays inside the tree is fine.
    let inside = s.write("profile/lists/list.xml", LIST);
    std::fs::remove_file(s.join("profile/list.xml")).expect("rm");
    std::os::unix::fs::symlink(&inside, s.join("profile/list.xml")).expect("symlink");
    let o = ximf_run(&["profile", "lint", headers.to_str().expect("utf8")], b"");
    assert!(!format!("{}{}", out(&o), err(&o)).contains("path-escape"));
}

#[test]
fn r12_a_catalog_file_through_a_link_out_of_the_tree_fails_to_load() {
    let s = Scratch::new();
    let outside = s.write("elsewhere/headers.xml", instance_xml(""));
    let cat = s.write(
        "profile/ximfmail-profile.xml",
        r#"<profile><theme name="t"><instance id="i" name="T" ximfVersion="2.0" version="1"><schema>headers.xml</schema></instance></theme></profile>"#,
    );
    std::os::unix::fs::symlink(&outside, s.join("profile/headers.xml")).expect("symlink");
    let o = ximf_run(&["profile", "list", cat.to_str().expect("utf8")], b"");
    assert_eq!(code(&o), 78, "{}{}", out(&o), err(&o));
    assert!(
        err(&o).contains("outside the catalog's directory"),
        "{}",
        err(&o)
    );
    let o = ximf_run(&["profile", "lint", cat.to_str().expect("utf8")], b"");
    assert!(out(&o).contains("path-escape") || err(&o).contains("path-escape"));
    // A directory link out of the tree is the same escape.
    std::fs::remove_file(s.join("profile/headers.xml")).expect("rm");
    std::os::unix::fs::symlink(s.join("elsewhere"), s.join("profile/sub")).expect("symlink");
    let cat2 = s.write(
        "profile/ximfmail-profile.xml",
        r#"<profile><theme name="t"><instance id="i" name="T" ximfVersion="2.0" version="1" directory="sub/"><schema>headers.xml</schema></instance></theme></profile>"#,
    );
    let o = ximf_run(&["profile", "list", cat2.to_str().expect("utf8")], b"");
    assert_eq!(code(&o), 78, "{}{}", out(&o), err(&o));
}

#[test]
fn r12_a_timeout_kills_what_the_real_sendmail_started() {
    let s = Scratch::new();
    let marker = s.join("delivered-late");
    // A sendmail that hands the message to a helper which delivers after 3 s, then hangs.
    let real = s.script(
        "slow-sendmail",
        &format!(
            "#!/bin/sh\n( sleep 3; echo delivered > '{}' ) </dev/null >/dev/null 2>&1 &\n\
             cat >/dev/null\nexec sleep 600 >/dev/null 2>&1\n",
            marker.display()
        ),
    );
    let dead = s.join("dead.letter");
    let started = Instant::now();
    let mut cmd = Command::new(ximf_bin());
    cmd.args([
        "sendmail",
        "--sendmail-command",
        real.to_str().expect("utf8"),
        "--dead-letter",
        dead.to_str().expect("utf8"),
        "--timeout",
        "1",
        "--set",
        "X-XIMF-Security-Classification=example-restricted",
        "--set",
        "X-XIMF-Primary-Precedence=routine",
        "-f",
        "alice@example.org",
        "--",
        "bob@example.org",
    ])
    .env("HOME", s.path())
    .env_remove("XIMF_CONFIG")
    .env_remove("XDG_CONFIG_HOME")
    .env_remove("XIMF_SENDMAIL_DEPTH");
    let o = run(&mut cmd, PLAIN.as_bytes());
    assert_eq!(code(&o), 75, "{}", err(&o));
    assert!(err(&o).contains("nothing sent"), "{}", err(&o));
    // Wait well past the helper's sleep: it must be gone with its parent.
    std::thread::sleep(Duration::from_secs(5).saturating_sub(started.elapsed()));
    assert!(
        !marker.exists(),
        "a helper of the killed sendmail delivered"
    );
    assert!(
        std::fs::read_to_string(&dead)
            .expect("dead letter")
            .contains("Subject: Quarterly figures")
    );
}
