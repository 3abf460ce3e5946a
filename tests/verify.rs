//! Header-level verification: each kind of violation gives its finding code and exit 1; warnings
//! alone keep exit 0. Messages are stamped by the real binary, then edited as an attacker or a
//! broken client would.

use crate::support::*;
use serde_json::Value;

/// Stamps plain.eml; `profile` None = the built-in profile.
fn stamp(profile: Option<&str>, pre: &[&str], sets: &[&str]) -> String {
    let mut args: Vec<&str> = Vec::new();
    if let Some(p) = profile {
        args.extend(["-p", p]);
    }
    args.push("stamp");
    args.extend_from_slice(pre);
    for s in sets {
        args.push("--set");
        args.push(s);
    }
    let input = std::fs::read(root().join("testdata/messages/plain.eml")).expect("plain");
    let o = ximf(&args, &input);
    assert_eq!(code(&o), 0, "stamp {sets:?}: {}", err(&o));
    out(&o)
}

fn verify_json(profile: &str, extra: &[&str], msg: &str) -> (i32, Value) {
    let mut args = vec!["-p", profile, "verify", "--format", "json"];
    args.extend_from_slice(extra);
    let o = ximf(&args, msg.as_bytes());
    let v: Value = serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("bad JSON ({e}): {} / {}", out(&o), err(&o)));
    (code(&o), v)
}

fn codes(v: &Value, severity: &str) -> Vec<String> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| f["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn replace_field(msg: &str, name: &str, value: Option<&str>) -> String {
    let mut out = String::new();
    let mut found = false;
    for line in msg.split_inclusive('\n') {
        if !found && line.starts_with(&format!("{name}:")) {
            found = true;
            if let Some(v) = value {
                out.push_str(&format!("{name}: {v}\n"));
            }
            continue;
        }
        out.push_str(line);
    }
    assert!(found, "no field {name} in\n{msg}");
    out
}

fn amoco() -> String {
    let cat = tb_catalog().display().to_string();
    stamp(
        Some(&cat),
        &["--instance", "Amoco"],
        &[
            "X-XIMF-Security-Classification=amoco-confidential",
            "X-XIMF-Privacy-Mark=amoco-maximum",
            "X-XIMF-Primary-Precedence=routine",
            "X-XIMF-Originator-Reference=R1;R2",
            "X-XIMF-Reply-Before=Sat, 06 Jun 2009 16:10:00 GMT",
        ],
    )
}

fn whirlpool() -> String {
    let cat = tb_catalog().display().to_string();
    stamp(
        Some(&cat),
        &["--instance", "Whirlpool"],
        &[
            "X-XIMF-Security-Classification=whirlpool-public",
            "X-XIMF-Privacy-Mark=PRIVATE",
            "X-XIMF-Exempted-Address=a@example.org",
        ],
    )
}

#[track_caller]
fn expect_error(msg: &str, profile: &str, extra: &[&str], code_expected: &str) {
    let (c, v) = verify_json(profile, extra, msg);
    let errs = codes(&v, "error");
    assert_eq!(c, 1, "expected exit 1 for {code_expected}, got {c}: {v}");
    assert_eq!(v["verdict"], "fail");
    assert!(
        errs.iter().any(|e| e == code_expected),
        "want {code_expected}, got {errs:?}"
    );
}

#[test]
fn conforming_amoco_passes_unsigned() {
    let cat = tb_catalog().display().to_string();
    let (c, v) = verify_json(&cat, &[], &amoco());
    assert_eq!(c, 0, "{v}");
    assert_eq!(v["verdict"], "pass");
    assert_eq!(v["profile"]["instance"], "Amoco");
    assert_eq!(v["profile"]["version"], "2.0");
    // Unsigned, unencrypted: both reported absent, no label.
    assert_eq!(v["signature"]["status"], "absent");
    assert!(v["signature"]["mechanism"].is_null());
    assert_eq!(v["encryption"]["status"], "absent");
    assert!(v["label"].is_null());
    assert!(codes(&v, "error").is_empty());
}

#[test]
fn each_violation_has_its_code() {
    let cat = tb_catalog().display().to_string();
    let a = amoco();
    let cases: Vec<(String, &str)> = vec![
        (
            replace_field(&a, "X-XIMF-Privacy-Mark", None),
            "missing-mandatory-header",
        ),
        (
            replace_field(&a, "X-XIMF-Security-Classification", Some("amoco-bogus")),
            "invalid-value",
        ),
        (
            replace_field(&a, "X-XIMF-Originator-Reference", Some("1;2;3;4;5;6")),
            "too-many-items",
        ),
        (
            replace_field(&a, "X-XIMF-Reply-Before", Some("tomorrow")),
            "invalid-date",
        ),
        (
            replace_field(&a, "X-XIMF-Security-Classification-Identifier", Some("8")),
            "technical-mismatch",
        ),
        (
            replace_field(&a, "X-XIMF-Security-Classification-Identifier", None),
            "missing-technical-header",
        ),
        (
            replace_field(
                &replace_field(&a, "X-XIMF-Security-Classification", Some("amoco-general")),
                "X-XIMF-Security-Classification-Identifier",
                Some("6"),
            ),
            "association-violation",
        ),
        (
            a.replacen(
                "X-XIMF-Privacy-Mark:",
                "X-XIMF-Privacy-Mark: amoco-minimum\nX-XIMF-Privacy-Mark:",
                1,
            ),
            "duplicate-header",
        ),
        (
            replace_field(&a, "X-XIMF-NAME", Some("Nope")),
            "unknown-instance",
        ),
        (
            replace_field(&a, "X-XIMF-Security-Policy-Identifier", Some("1.2.3")),
            "invalid-value",
        ),
    ];
    for (msg, want) in &cases {
        expect_error(msg, &cat, &[], want);
    }
    let w = whirlpool();
    expect_error(
        &replace_field(&w, "X-XIMF-Privacy-Mark", Some("MAKE NO COPY")),
        &cat,
        &[],
        "linked-value-mismatch",
    );
    expect_error(
        &replace_field(&w, "X-XIMF-Exempted-Address", Some("not an address")),
        &cat,
        &[],
        "invalid-address",
    );
}

#[test]
fn length_facets_and_constraint_rules() {
    // Built-in Example: SIC codes are 3-8 characters, originator reference at most 69.
    let e = stamp(
        None,
        &[],
        &[
            "X-XIMF-Security-Classification=example-restricted",
            "X-XIMF-Primary-Precedence=routine",
            "X-XIMF-Subject-Indicator-Codes=ABC;DEFG",
        ],
    );
    let builtin: &[&str] = &[];
    let run = |msg: &str| {
        let mut args = vec!["verify", "--format", "json"];
        args.extend_from_slice(builtin);
        let o = ximf(&args, msg.as_bytes());
        let v: Value = serde_json::from_slice(&o.stdout).expect("json");
        (code(&o), v)
    };
    assert_eq!(run(&e).0, 0, "{}", run(&e).1);
    for (value, want) in [
        ("AB;DEFG", "value-too-short"),
        ("ABCDEFGHIJ", "value-too-long"),
    ] {
        let (c, v) = run(&replace_field(
            &e,
            "X-XIMF-Subject-Indicator-Codes",
            Some(value),
        ));
        assert_eq!(c, 1, "{v}");
        assert!(codes(&v, "error").iter().any(|x| x == want), "{want}: {v}");
    }
    // constraint: copy precedence at most "immediate", for every agent.
    let single = root()
        .join("testdata/profiles/valid/constraint.xml")
        .display()
        .to_string();
    let ok = stamp(
        Some(&single),
        &[],
        &[
            "X-XIMF-Primary-Precedence=flash",
            "X-XIMF-Copy-Precedence=immediate",
        ],
    );
    assert_eq!(verify_json(&single, &[], &ok).0, 0);
    expect_error(
        &replace_field(&ok, "X-XIMF-Copy-Precedence", Some("flash")),
        &single,
        &[],
        "constraint-violation",
    );
    // The agent-scoped rule (primary below flash) applies to --agent mta only.
    expect_error(&ok, &single, &["--agent", "mta"], "constraint-violation");
    // And stamp refuses what verify would reject, with exit 65 and nothing on stdout.
    let input = std::fs::read(root().join("testdata/messages/plain.eml")).expect("plain");
    let o = ximf(
        &[
            "-p",
            &single,
            "stamp",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
            "--set",
            "X-XIMF-Copy-Precedence=flash",
        ],
        &input,
    );
    assert_eq!(code(&o), 65, "{}", err(&o));
    assert!(o.stdout.is_empty());
    assert!(
        err(&o).starts_with("ximf stamp: X-XIMF-Copy-Precedence: "),
        "{}",
        err(&o)
    );
}

#[test]
fn warnings_keep_exit_zero() {
    let cat = tb_catalog().display().to_string();
    let a = amoco();
    let msg = replace_field(&a, "X-XIMF-Version", Some("1.0"))
        .replace("X-XIMF-NAME:", "X-Ximf-Name:")
        .replacen("Subject:", "X-XIMF-Unheard-Of: x\nSubject:", 1);
    let (c, v) = verify_json(&cat, &[], &msg);
    assert_eq!(c, 0, "{v}");
    let warns = codes(&v, "warning");
    for w in ["version-mismatch", "field-name-case", "undeclared-header"] {
        assert!(warns.iter().any(|x| x == w), "want {w}, got {warns:?}");
    }
}

#[test]
fn instance_matching() {
    let cat = tb_catalog().display().to_string();
    // Plain mail matches the catalog's plain smtp instance.
    let plain = std::fs::read_to_string(root().join("testdata/messages/plain.eml")).expect("plain");
    let (c, v) = verify_json(&cat, &[], &plain);
    assert_eq!(c, 0, "{v}");
    assert_eq!(v["profile"]["instance"], "smtp");
    // Forcing an instance: plain mail lacks the mandatory fields.
    expect_error(
        &plain,
        &cat,
        &["--instance", "Caterpillar"],
        "missing-mandatory-header",
    );
    // A message naming another instance than the forced one.
    expect_error(
        &amoco(),
        &cat,
        &["--instance", "Whirlpool"],
        "instance-mismatch",
    );
    // A single instance file has no plain instance: unnamed mail is refused.
    let single = root().join("testdata/profiles/valid/constraint.xml");
    expect_error(
        &plain,
        &single.display().to_string(),
        &[],
        "missing-instance-name",
    );
}
