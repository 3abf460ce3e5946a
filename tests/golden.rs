//! Golden stamping tests: every case under testdata/golden/stamp/<case>/ is stamped by the real
//! binary and compared byte for byte with expected.eml, for the LF input as stored and for a
//! CRLF copy (expected converted likewise). Stamp-then-verify must pass. On a mismatch the
//! output is written to actual.eml; XIMF_BLESS=1 rewrites expected.eml.

use crate::support::fixtures::{Eol, eol, twins_of};
use crate::support::*;
use std::fs;

fn cases() -> Vec<std::path::PathBuf> {
    let mut v: Vec<_> = fs::read_dir(root().join("testdata/golden/stamp"))
        .expect("golden dir")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.join("args").is_file())
        .collect();
    v.sort();
    assert!(v.len() >= 4, "golden cases missing");
    v
}

fn args_of(case: &std::path::Path) -> Vec<String> {
    let tb = trustedbird().display().to_string();
    fs::read_to_string(case.join("args"))
        .expect("args")
        .lines()
        .map(|l| l.replace("$TRUSTEDBIRD", &tb))
        .collect()
}

fn run_case(case: &std::path::Path, form: Eol) {
    let name = case
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    let input = eol(&fs::read(case.join("input.eml")).expect("input"), form);
    let args = args_of(case);
    let mut argv: Vec<&str> = vec!["--now", NOW];
    argv.extend(args.iter().map(String::as_str));
    let o = ximf(&argv, &input);
    assert_eq!(code(&o), 0, "{name}: stamp failed: {}", err(&o));
    assert!(
        o.stderr.is_empty(),
        "{name}: stamp wrote to stderr: {}",
        err(&o)
    );
    let expected_path = case.join("expected.eml");
    if form == Eol::Lf && std::env::var_os("XIMF_BLESS").is_some() {
        fs::write(&expected_path, &o.stdout).expect("bless");
    }
    let expected = eol(
        &fs::read(&expected_path).expect("expected.eml (run with XIMF_BLESS=1)"),
        form,
    );
    if o.stdout != expected {
        fs::write(case.join("actual.eml"), &o.stdout).expect("write actual");
        panic!(
            "{name} ({}): output differs from expected.eml; see actual.eml",
            form.name()
        );
    }
    // What we stamp, we accept: verify against the same profile and instance.
    let profile_args: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .take_while(|a| *a != "stamp")
        .collect();
    let mut vargs = profile_args.clone();
    vargs.push("verify");
    let v = ximf(&vargs, &o.stdout);
    assert_eq!(
        code(&v),
        0,
        "{name}: verify of the stamped message failed: {}",
        out(&v)
    );
}

#[test]
fn golden_stamps_lf() {
    for case in cases() {
        run_case(&case, Eol::Lf);
    }
}

#[test]
fn golden_stamps_crlf() {
    for case in cases() {
        run_case(&case, Eol::Crlf);
    }
}

/// Stamping changes nothing but the added fields: the output is the input with one block of
/// fields spliced in at the end of the header section (tricky input: folded and encoded fields,
/// 8-bit body, header-like body lines, no final newline).
#[test]
fn stamp_only_adds_fields() {
    for (form, input) in twins_of(root().join("testdata/messages/tricky.eml")) {
        let eol: &[u8] = if form == Eol::Crlf { b"\r\n" } else { b"\n" };
        let blank = [eol, eol].concat();
        let split = input
            .windows(blank.len())
            .position(|w| w == blank.as_slice())
            .expect("blank line")
            + eol.len();
        let o = ximf(
            &[
                "stamp",
                "--set",
                "X-XIMF-Security-Classification=example-secret",
                "--set",
                "X-XIMF-Primary-Precedence=flash",
            ],
            &input,
        );
        assert_eq!(code(&o), 0, "{}", err(&o));
        let outb = &o.stdout;
        assert!(
            outb.starts_with(&input[..split]),
            "header section prefix changed"
        );
        assert!(outb.ends_with(&input[split..]), "body changed");
        let added = &outb[split..outb.len() - (input.len() - split)];
        let added_text = String::from_utf8(added.to_vec()).expect("ascii fields");
        assert!(
            added_text.starts_with("X-XIMF-NAME: Example"),
            "{added_text}"
        );
        for line in added_text.split_inclusive('\n') {
            assert!(
                line.ends_with(if form == Eol::Crlf { "\r\n" } else { "\n" }),
                "{line:?}"
            );
            assert!(form == Eol::Lf || !line[..line.len() - 2].contains('\r'));
        }
        // The forged body line is not a header: re-verifying sees the stamped instance only.
        let v = ximf(&["verify", "--format", "json"], outb);
        assert_eq!(code(&v), 0, "{}", out(&v));
        assert!(out(&v).contains("\"instance\": \"Example\""));
    }
}

/// Re-stamping replaces the XIMF fields instead of duplicating them.
#[test]
fn restamp_replaces_fields() {
    let input = fs::read(root().join("testdata/messages/plain.eml")).expect("plain");
    let first = ximf(
        &[
            "stamp",
            "--set",
            "X-XIMF-Security-Classification=example-secret",
            "--set",
            "X-XIMF-Primary-Precedence=flash",
        ],
        &input,
    );
    assert_eq!(code(&first), 0, "{}", err(&first));
    let second = ximf(
        &[
            "stamp",
            "--set",
            "X-XIMF-Security-Classification=example-restricted",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
        ],
        &first.stdout,
    );
    assert_eq!(code(&second), 0, "{}", err(&second));
    let text = out(&second);
    assert_eq!(text.matches("X-XIMF-NAME:").count(), 1);
    assert_eq!(text.matches("X-XIMF-Security-Classification:").count(), 1);
    assert!(text.contains("X-XIMF-Security-Classification: example-restricted\n"));
    assert!(!text.contains("example-secret"));
    // Same values stamped on the original give the same bytes.
    let direct = ximf(
        &[
            "stamp",
            "--set",
            "X-XIMF-Security-Classification=example-restricted",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
        ],
        &input,
    );
    assert_eq!(second.stdout, direct.stdout);
}
