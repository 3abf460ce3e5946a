//! The correspondence model (issue #5): selection by usage × context, the stamp-time refusals of
//! the chosen type, and the no-downgrade rule on verification. Uses the worked example
//! schemas/examples/corporate.xml (and its clearances.xml).

use crate::support::*;
use serde_json::Value;

fn corporate() -> String {
    root()
        .join("schemas/examples/corporate.xml")
        .display()
        .to_string()
}

/// Monday 2026-11-30 10:00 at +01:00.
const MONDAY: &str = "2026-11-30T09:00:00Z";
/// Saturday 2026-11-28 10:00 at +01:00.
const SATURDAY: &str = "2026-11-28T09:00:00Z";

fn message(to: &str, cc: Option<&str>) -> Vec<u8> {
    let mut m = format!("From: Alice <alice@example.org>\nTo: {to}\n");
    if let Some(cc) = cc {
        m.push_str(&format!("Cc: {cc}\n"));
    }
    m.push_str("Subject: figures\nDate: Mon, 30 Nov 2026 09:00:00 +0000\n\nbody\n");
    m.into_bytes()
}

fn stamp(now: &str, usage: &str, ctx: &[&str], class: &str, msg: &[u8]) -> std::process::Output {
    let p = corporate();
    let mut args = vec!["-p", p.as_str(), "--now", now, "stamp", "--usage", usage];
    for c in ctx {
        args.extend(["--context", c]);
    }
    let set = format!("X-XIMF-Security-Classification={class}");
    args.extend(["--set", &set, "--set", "X-XIMF-Primary-Precedence=routine"]);
    ximf(&args, msg)
}

fn chosen_type(o: &std::process::Output) -> String {
    assert_eq!(code(o), 0, "{}", err(o));
    out(o)
        .lines()
        .find_map(|l| l.strip_prefix("X-XIMF-Correspondance-Type: "))
        .expect("type field")
        .to_owned()
}

fn archived() -> Vec<u8> {
    message("bob@example.org", Some("archive@example.org"))
}

#[test]
fn selection_by_usage_and_context() {
    let cases = [
        (
            MONDAY,
            "professional",
            vec!["network=office"],
            "professional-office",
        ),
        (
            MONDAY,
            "professional",
            vec!["network=VPN"],
            "professional-office",
        ),
        (
            MONDAY,
            "professional",
            vec!["network=hotel"],
            "professional-roaming",
        ),
        (
            SATURDAY,
            "professional",
            vec!["network=office"],
            "professional-after-hours",
        ),
        (MONDAY, "private", vec!["network=hotel"], "private"),
    ];
    for (now, usage, ctx, want) in cases {
        let o = if usage == "private" {
            stamp(
                now,
                usage,
                &ctx,
                "corp-public",
                &message("friend@example.net", None),
            )
        } else {
            stamp(now, usage, &ctx, "corp-internal", &archived())
        };
        assert_eq!(chosen_type(&o), want, "{usage} {ctx:?} at {now}");
    }
}

#[test]
fn time_window_edges() {
    // 07:00 at +01:00 is 06:00Z: inside from the first minute; 20:00 local (19:00Z) is outside.
    for (now, want) in [
        ("2026-11-30T06:00:00Z", "professional-office"),
        ("2026-11-30T05:59:59Z", "professional-after-hours"),
        ("2026-11-30T18:59:59Z", "professional-office"),
        ("2026-11-30T19:00:00Z", "professional-after-hours"),
    ] {
        let o = stamp(
            now,
            "professional",
            &["network=office"],
            "corp-internal",
            &archived(),
        );
        assert_eq!(chosen_type(&o), want, "at {now}");
    }
}

#[test]
fn no_type_fits_is_78_naming_usage_and_context() {
    let o = stamp(
        MONDAY,
        "military",
        &["network=office"],
        "corp-internal",
        &archived(),
    );
    assert_eq!(code(&o), 78);
    assert!(o.stdout.is_empty());
    let e = err(&o);
    assert!(
        e.starts_with("ximf stamp: usage 'military' with context (network=office, os="),
        "{e}"
    );
    assert!(e.contains("no correspondence type fits"), "{e}");
    // A missing context key fails every condition on it.
    let o = stamp(MONDAY, "professional", &[], "corp-internal", &archived());
    assert_eq!(code(&o), 78, "{}", err(&o));
    // The explanation names the missing key.
    let p = corporate();
    let s = ximf(
        &[
            "-p",
            &p,
            "--now",
            MONDAY,
            "profile",
            "show",
            "--usage",
            "professional",
        ],
        b"",
    );
    assert_eq!(code(&s), 1);
    assert!(
        out(&s).contains("context key network missing"),
        "{}",
        out(&s)
    );
    assert!(out(&s).ends_with("no correspondence type fits\n"));
}

#[test]
fn several_matches_first_wins_and_is_explained() {
    let p = corporate();
    let s = ximf(
        &[
            "-p",
            &p,
            "--now",
            MONDAY,
            "profile",
            "show",
            "--usage",
            "professional",
            "--context",
            "network=office",
        ],
        b"",
    );
    assert_eq!(code(&s), 0, "{}", err(&s));
    let t = out(&s);
    assert!(t.contains("professional-office: chosen:"), "{t}");
    assert!(
        t.contains("professional-after-hours: matches (an earlier type wins)"),
        "{t}"
    );
}

#[test]
fn environment_context_and_flags() {
    let p = corporate();
    let run = |env: &str, flags: &[&str]| {
        let mut args = vec![
            "-p",
            p.as_str(),
            "--now",
            MONDAY,
            "stamp",
            "--usage",
            "professional",
        ];
        args.extend_from_slice(flags);
        args.extend([
            "--set",
            "X-XIMF-Security-Classification=corp-internal",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
        ]);
        std::process::Command::new(env!("CARGO_BIN_EXE_ximf"))
            .args(&args)
            .env("XIMF_CONTEXT", env)
            .stdin(std::fs::File::open(root().join("testdata/messages/plain.eml")).expect("f"))
            .output()
            .expect("run")
    };
    // The plain sample has no archive copy: refused by every professional type, so compare the
    // type named in the refusal, which tells the selection.
    let env_only = run("network=hotel,device=laptop", &[]);
    assert_eq!(code(&env_only), 78);
    assert!(
        err(&env_only).contains("professional-roaming"),
        "{}",
        err(&env_only)
    );
    let flag_wins = run("network=hotel", &["--context", "network=office"]);
    assert!(
        err(&flag_wins).contains("professional-office"),
        "{}",
        err(&flag_wins)
    );
}

#[test]
fn stamp_refuses_what_the_type_forbids() {
    // Recipients outside the allowed domains.
    let o = stamp(
        MONDAY,
        "professional",
        &["network=office"],
        "corp-internal",
        &message("eve@elsewhere.example", Some("archive@example.org")),
    );
    assert_eq!(code(&o), 78);
    assert!(err(&o).contains("eve@elsewhere.example"), "{}", err(&o));
    assert!(
        err(&o).contains("(recipient-domain-not-allowed)"),
        "{}",
        err(&o)
    );
    assert!(err(&o).contains("correspondence professional-office (rule rule-correspondence)"));
    // Need-to-know: bob is cleared to 30, confidential needs 60.
    let o = stamp(
        MONDAY,
        "professional",
        &["network=office"],
        "corp-confidential",
        &archived(),
    );
    assert_eq!(code(&o), 78);
    assert!(
        err(&o).contains("bob@example.org is cleared to 30"),
        "{}",
        err(&o)
    );
    // Professional mail must be archived.
    let o = stamp(
        MONDAY,
        "professional",
        &["network=office"],
        "corp-internal",
        &message("bob@example.org", None),
    );
    assert_eq!(code(&o), 78);
    assert!(err(&o).contains("(archive-missing)"), "{}", err(&o));
    // Private mail must not be: the contradictory feature.
    let o = stamp(
        MONDAY,
        "private",
        &[],
        "corp-public",
        &message("friend@example.net", Some("archive@example.org")),
    );
    assert_eq!(code(&o), 78);
    assert!(err(&o).contains("(privacy-violation)"), "{}", err(&o));
    // Private mail fixes the classification.
    let o = stamp(
        MONDAY,
        "private",
        &[],
        "corp-internal",
        &message("friend@example.net", None),
    );
    assert_eq!(code(&o), 78);
    assert!(err(&o).contains("(policy-header-value)"), "{}", err(&o));
    // And nothing reached stdout in any refusal.
    assert!(o.stdout.is_empty());
}

fn verify(msg: &[u8], extra: &[&str]) -> (i32, Value) {
    let p = corporate();
    let mut args = vec![
        "-p",
        p.as_str(),
        "--now",
        MONDAY,
        "verify",
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let o = ximf(&args, msg);
    (code(&o), serde_json::from_slice(&o.stdout).expect("json"))
}

fn codes(v: &Value) -> Vec<String> {
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[test]
fn unsigned_correspondence_field_cannot_lower_requirements() {
    let private = stamp(
        MONDAY,
        "private",
        &[],
        "corp-public",
        &message("friend@example.net", None),
    );
    assert_eq!(code(&private), 0, "{}", err(&private));
    // Unsigned, the field names "private" but the strictest type is enforced.
    let (c, v) = verify(&private.stdout, &[]);
    assert_eq!(c, 1, "{v}");
    assert_ne!(v["profile"]["correspondence"], "private");
    let found = codes(&v);
    for want in [
        "correspondence-not-protected",
        "encryption-required",
        "signature-required",
    ] {
        assert!(found.iter().any(|x| x == want), "want {want}: {v}");
    }
    // Stripping the field gives the same (strictest) requirements.
    let text = out(&private);
    let stripped: String = text
        .lines()
        .filter(|l| !l.starts_with("X-XIMF-Correspondance-Type:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let (c2, v2) = verify(stripped.as_bytes(), &[]);
    assert_eq!(c2, 1);
    assert_eq!(
        v2["profile"]["correspondence"],
        v["profile"]["correspondence"]
    );
    assert!(
        codes(&v2)
            .iter()
            .any(|x| x == "missing-correspondence-type")
    );
    // Renaming it to an unknown type is an error of its own.
    let renamed = text.replace(
        "X-XIMF-Correspondance-Type: private",
        "X-XIMF-Correspondance-Type: anything-goes",
    );
    let (c3, v3) = verify(renamed.as_bytes(), &[]);
    assert_eq!(c3, 1);
    assert!(
        codes(&v3)
            .iter()
            .any(|x| x == "unknown-correspondence-type"),
        "{v3}"
    );
    // The English spelling is read too.
    let english = text.replace("X-XIMF-Correspondance-Type:", "X-XIMF-Correspondence-Type:");
    let (_, v4) = verify(english.as_bytes(), &[]);
    assert!(
        !codes(&v4)
            .iter()
            .any(|x| x == "missing-correspondence-type"),
        "{v4}"
    );
}

#[test]
fn header_level_policy_is_enforced_on_verify_per_agent() {
    let ok = stamp(
        MONDAY,
        "professional",
        &["network=hotel"],
        "corp-internal",
        &archived(),
    );
    assert_eq!(code(&ok), 0, "{}", err(&ok));
    // Add a recipient outside the allowed domains after stamping: the MDA catches it.
    let tampered = out(&ok).replacen(
        "To: bob@example.org",
        "To: bob@example.org, eve@evil.example",
        1,
    );
    let (c, v) = verify(tampered.as_bytes(), &[]);
    assert_eq!(c, 1);
    assert!(
        codes(&v)
            .iter()
            .any(|x| x == "recipient-domain-not-allowed"),
        "{v}"
    );
    // The roaming type's size bound applies to the MTA only.
    let big = out(&ok).replace("body\n", &"x".repeat(11 << 20));
    let (_, mda) = verify(big.as_bytes(), &[]);
    assert!(
        !codes(&mda).iter().any(|x| x == "message-too-large"),
        "{mda}"
    );
    let (_, mta) = verify(big.as_bytes(), &["--agent", "mta"]);
    // Unsigned, the strictest type applies; the bound is the roaming one either way.
    // Roaming is the strictest type (sign + encrypt + the most requirements).
    assert_eq!(mta["profile"]["correspondence"], "professional-roaming");
    assert!(
        codes(&mta).iter().any(|x| x == "message-too-large"),
        "{mta}"
    );
}

#[test]
fn standalone_model_for_a_field_profile() {
    let model = root()
        .join("schemas/examples/caterpillar-model.xml")
        .display()
        .to_string();
    let input = std::fs::read(root().join("testdata/messages/plain.eml")).expect("plain");
    let o = ximf(
        &[
            "-p",
            &model,
            "stamp",
            "--instance",
            "Caterpillar",
            "--usage",
            "professional",
            "--context",
            "recipients=external",
            "--set",
            "X-XIMF-Security-Classification=caterpillar-red",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
        ],
        &input,
    );
    assert_eq!(code(&o), 78, "{}", err(&o));
    assert!(err(&o).contains("'caterpillar-red'"), "{}", err(&o));
    let o = ximf(
        &[
            "-p",
            &model,
            "stamp",
            "--instance",
            "Caterpillar",
            "--usage",
            "professional",
            "--context",
            "recipients=external",
            "--set",
            "X-XIMF-Security-Classification=caterpillar-green",
            "--set",
            "X-XIMF-Primary-Precedence=routine",
        ],
        &input,
    );
    assert_eq!(chosen_type(&o), "external");
    let lint = ximf(&["profile", "lint", &model], b"");
    assert_eq!(code(&lint), 0, "{}", out(&lint));
}

#[test]
fn lint_reports_policy_errors() {
    let dir = tempfile::tempdir().expect("tmp");
    let bad = dir.path().join("bad.xml");
    std::fs::write(
        &bad,
        r#"<ximf:instance name="B" version="1" ximfVersion="2.0" xmlns:ximf="http://eads.org/ximf/">
<ximf:rule id="r"><ximf:custom provider="urn:ximf:correspondence:1">
<cm:correspondence xmlns:cm="urn:ximf:correspondence:1" name="x" usage="private"><cm:sign use="sometimes"/></cm:correspondence>
</ximf:custom></ximf:rule></ximf:instance>"#,
    )
    .expect("write");
    let l = ximf(&["profile", "lint", &bad.display().to_string()], b"");
    assert_eq!(code(&l), 1, "{}", out(&l));
    assert!(out(&l).contains("[policy-error]"), "{}", out(&l));
    assert!(out(&l).contains("'sometimes'"), "{}", out(&l));
}

fn keys(name: &str) -> String {
    root()
        .join("testdata/keys")
        .join(name)
        .display()
        .to_string()
}

/// Stamps and protects under the type selected at `now`, then verifies with `verify_args`.
fn stamp_protect(
    now: &str,
    usage: &str,
    ctx: &[&str],
    class: &str,
    msg: &[u8],
    protect_keys: &[String],
) -> Vec<u8> {
    let stamped = stamp(now, usage, ctx, class, msg);
    assert_eq!(code(&stamped), 0, "{}", err(&stamped));
    let p = corporate();
    let mut args = vec![
        "-p".to_owned(),
        p,
        "--now".into(),
        now.into(),
        "protect".into(),
        "--usage".into(),
        usage.into(),
    ];
    for c in ctx {
        args.extend(["--context".into(), (*c).to_owned()]);
    }
    args.extend(protect_keys.iter().cloned());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = ximf(&argv, &stamped.stdout);
    assert_eq!(code(&o), 0, "protect: {}", err(&o));
    o.stdout
}

fn verify_at(now: &str, msg: &[u8], extra: &[String]) -> (i32, Value) {
    let p = corporate();
    let mut args = vec![
        "-p".to_owned(),
        p,
        "--now".into(),
        now.into(),
        "verify".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(extra.iter().cloned());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let o = ximf(&argv, msg);
    (
        code(&o),
        serde_json::from_slice(&o.stdout).unwrap_or_else(|_| panic!("{}", err(&o))),
    )
}

fn smime_signer() -> Vec<String> {
    vec![
        "--key".into(),
        keys("smime/alice.key"),
        "--cert".into(),
        keys("smime/alice.chain.pem"),
    ]
}

fn smime_reader() -> Vec<String> {
    vec![
        "--ca".into(),
        keys("smime/root.crt"),
        "--key".into(),
        keys("smime/bob.key"),
        "--cert".into(),
        keys("smime/bob.crt"),
    ]
}

#[test]
fn each_example_type_verifies_under_itself_and_fails_a_stricter_one() {
    let from_alice = |to: &str, cc: Option<&str>| {
        let mut m = format!("From: Alice <alice@example.org>\nTo: {to}\n");
        if let Some(cc) = cc {
            m.push_str(&format!("Cc: {cc}\n"));
        }
        m.push_str("Subject: figures\nDate: Mon, 30 Nov 2026 09:00:00 +0000\n\nbody\n");
        m.into_bytes()
    };
    let archived = from_alice("bob@example.org", Some("archive@example.org"));
    // professional-office: signed with S/MIME.
    let office = stamp_protect(
        MONDAY,
        "professional",
        &["network=office"],
        "corp-internal",
        &archived,
        &smime_signer(),
    );
    let (c, v) = verify_at(MONDAY, &office, &smime_reader());
    assert_eq!(c, 0, "{v}");
    assert_eq!(v["profile"]["correspondence"], "professional-office");
    assert_eq!(v["signature"]["status"], "valid");
    // The same message, checked by an agent whose own context demands the roaming type.
    let mut stricter = smime_reader();
    stricter.extend([
        "--usage".into(),
        "professional".into(),
        "--context".into(),
        "network=hotel".into(),
    ]);
    let (c, v) = verify_at(MONDAY, &office, &stricter);
    assert_eq!(c, 1, "{v}");
    assert_eq!(v["profile"]["correspondence"], "professional-roaming");
    assert!(codes(&v).iter().any(|x| x == "encryption-required"), "{v}");

    // professional-roaming: signed, then encrypted to Bob.
    let mut enc = smime_signer();
    // Every recipient needs a key (issue 9): Bob and the archive copy.
    enc.extend(["--recipient".into(), keys("smime/bob.crt")]);
    enc.extend(["--recipient".into(), keys("smime/archive.crt")]);
    let roaming = stamp_protect(
        MONDAY,
        "professional",
        &["network=hotel"],
        "corp-internal",
        &archived,
        &enc,
    );
    let (c, v) = verify_at(MONDAY, &roaming, &smime_reader());
    assert_eq!(c, 0, "{v}");
    assert_eq!(v["encryption"]["status"], "decrypted");
    assert_eq!(v["profile"]["correspondence"], "professional-roaming");
    // Without Bob's key the encryption cannot be checked: fails.
    let (c, v) = verify_at(MONDAY, &roaming, &["--ca".into(), keys("smime/root.crt")]);
    assert_eq!(c, 1, "{v}");

    // professional-after-hours (Saturday at the office): signed and encrypted too.
    let after = stamp_protect(
        SATURDAY,
        "professional",
        &["network=office"],
        "corp-internal",
        &archived,
        &enc,
    );
    let (c, v) = verify_at(SATURDAY, &after, &smime_reader());
    assert_eq!(c, 0, "{v}");
    assert_eq!(v["profile"]["correspondence"], "professional-after-hours");

    // private: signed with OpenPGP, no archive copy.
    let pgp_signer = vec!["--key".into(), keys("pgp/alice.key")];
    let private = stamp_protect(
        MONDAY,
        "private",
        &[],
        "corp-public",
        &from_alice("friend@example.net", None),
        &pgp_signer,
    );
    let reader = vec!["--keyring".into(), keys("pgp/alice.cert")];
    let (c, v) = verify_at(MONDAY, &private, &reader);
    assert_eq!(c, 0, "{v}");
    assert_eq!(v["profile"]["correspondence"], "private");
    assert_eq!(v["signature"]["mechanism"], "openpgp");
    // Checked against the professional demands (the MDA's own usage), it lacks the archive copy
    // and the encryption.
    let mut prof = reader.clone();
    prof.extend([
        "--usage".into(),
        "professional".into(),
        "--context".into(),
        "network=hotel".into(),
    ]);
    let (c, v) = verify_at(MONDAY, &private, &prof);
    assert_eq!(c, 1, "{v}");
    for want in [
        "correspondence-below-floor",
        "archive-missing",
        "encryption-required",
    ] {
        assert!(codes(&v).iter().any(|x| x == want), "want {want}: {v}");
    }
}

#[test]
fn protect_refuses_flags_and_keys_the_type_forbids() {
    let stamped = stamp(
        MONDAY,
        "professional",
        &["network=office"],
        "corp-internal",
        &archived(),
    );
    assert_eq!(code(&stamped), 0, "{}", err(&stamped));
    let p = corporate();
    let run = |extra: &[&str]| {
        let mut args = vec!["-p", p.as_str(), "--now", MONDAY, "protect"];
        args.extend_from_slice(extra);
        ximf(&args, &stamped.stdout)
    };
    // The message names professional-office, which demands a signature: no key → 67.
    let o = run(&[]);
    assert_eq!(code(&o), 67, "{}", err(&o));
    assert!(o.stdout.is_empty());
    // The private type forbids nothing here but selects another type than the message names.
    let o = run(&["--usage", "private"]);
    assert_eq!(code(&o), 78, "{}", err(&o));
    assert!(
        err(&o).contains("stamped as correspondence 'professional-office'"),
        "{}",
        err(&o)
    );
    // A 1024-bit RSA key is below the type's min-rsa-bits (2048).
    let walter = root()
        .join("testdata/keys/smime/walter.key")
        .display()
        .to_string();
    let walter_chain = root()
        .join("testdata/keys/smime/walter.chain.pem")
        .display()
        .to_string();
    let o = run(&["--key", &walter, "--cert", &walter_chain]);
    assert_eq!(code(&o), 78, "{}", err(&o));
    assert!(
        err(&o).contains("signing key has 1024 RSA bits; correspondence professional-office"),
        "{}",
        err(&o)
    );
    assert!(o.stdout.is_empty());
}

fn features() -> String {
    root()
        .join("testdata/profiles/valid/policy-features.xml")
        .display()
        .to_string()
}

fn features_stamp(usage: &str, to: &str, extra_body: usize) -> Vec<u8> {
    let p = features();
    let mut msg = format!("From: Alice <alice@example.org>\nTo: {to}\nSubject: s\n\n").into_bytes();
    msg.extend(std::iter::repeat_n(b'x', extra_body));
    msg.push(b'\n');
    let o = ximf(
        &[
            "-p",
            &p,
            "stamp",
            "--usage",
            usage,
            "--set",
            "X-XIMF-Primary-Precedence=routine",
        ],
        &msg,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    o.stdout
}

#[test]
fn forbidden_protection_and_bounds() {
    let p = features();
    let msg = features_stamp("public", "bob@example.org", 10);
    // Flags the type forbids are refused, naming the rule.
    for flag in ["--sign", "--encrypt"] {
        let o = ximf(&["-p", &p, "protect", flag], &msg);
        assert_eq!(code(&o), 78, "{flag}: {}", err(&o));
        assert!(
            err(&o).contains("correspondence public (rule rule-features)"),
            "{}",
            err(&o)
        );
        assert!(o.stdout.is_empty());
    }
    // A conforming public message passes unsigned (forbidden is satisfied by absence) — but
    // unsigned, the strictest type (signed-openpgp) applies: the no-downgrade rule.
    let (c, v) = {
        let o = ximf(&["-p", &p, "verify", "--format", "json"], &msg);
        (
            code(&o),
            serde_json::from_slice::<Value>(&o.stdout).expect("json"),
        )
    };
    assert_eq!(c, 1, "{v}");
    assert_eq!(v["profile"]["correspondence"], "signed-openpgp");
    assert!(codes(&v).iter().any(|x| x == "signature-required"), "{v}");
    // Signed with OpenPGP under "public" (the field covered by the signature): the signature is
    // now the violation.
    // (ximf protect refuses to sign it, so sign with the library directly.)
    let signed = {
        let tsk = ximf::pgp::load_keys(&std::fs::read(keys("pgp/alice.key")).expect("key"))
            .expect("tsk")
            .remove(0);
        ximf::pgp::sign(&msg, &tsk, &ximf::pgp::SignOptions::new(1_795_910_400)).expect("sign")
    };
    let o = ximf(
        &[
            "-p",
            &p,
            "verify",
            "--format",
            "json",
            "--keyring",
            &keys("pgp/alice.cert"),
        ],
        &signed,
    );
    let v: Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["profile"]["correspondence"], "public", "{v}");
    assert!(codes(&v).iter().any(|x| x == "signature-forbidden"), "{v}");
    // Size, recipient count, denied domain and the fixed header value, at stamp time.
    let stamp_refusal = |usage: &str, to: &str, body: usize, want: &str| {
        let mut m = format!("From: alice@example.org\nTo: {to}\nSubject: s\n\n").into_bytes();
        m.extend(std::iter::repeat_n(b'x', body));
        let o = ximf(
            &[
                "-p",
                &p,
                "stamp",
                "--usage",
                usage,
                "--set",
                "X-XIMF-Primary-Precedence=flash",
            ],
            &m,
        );
        assert_eq!(code(&o), 78, "{want}: {}", err(&o));
        assert!(err(&o).contains(want), "{want}: {}", err(&o));
    };
    stamp_refusal("public", "bob@example.org", 4000, "(message-too-large)");
    stamp_refusal(
        "public",
        "a@example.org, b@example.org, c@example.org",
        1,
        "(too-many-recipients)",
    );
    stamp_refusal(
        "public",
        "spy@competitor.example",
        1,
        "(recipient-domain-denied)",
    );
    stamp_refusal("public", "bob@example.org", 1, "(policy-header-value)");
}

#[test]
fn mechanism_and_digest_come_from_the_type() {
    let p = features();
    let msg = features_stamp("signed", "bob@example.org", 10);
    // S/MIME is not allowed by the type.
    let o = ximf(&["-p", &p, "protect", "--mechanism", "smime"], &msg);
    assert_eq!(code(&o), 78, "{}", err(&o));
    assert!(err(&o).contains("allows only openpgp"), "{}", err(&o));
    // With an OpenPGP key the type's digest is used: micalg says so.
    let o = ximf(
        &["-p", &p, "protect", "--key", &keys("pgp/alice.key")],
        &msg,
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(
        out(&o).contains("micalg=\"pgp-sha512\"") || out(&o).contains("micalg=pgp-sha512"),
        "{}",
        out(&o)
    );
}

/// A professional-office message signed with S/MIME and with OpenPGP, each with the verify
/// flags that trust its signer.
fn office_signed_both_ways() -> Vec<(Vec<u8>, Vec<String>)> {
    let archived = message("bob@example.org", Some("archive@example.org"));
    let signers: [(Vec<String>, Vec<String>); 2] = [
        (smime_signer(), vec!["--ca".into(), keys("smime/root.crt")]),
        (
            vec!["--key".into(), keys("pgp/alice.key")],
            vec!["--keyring".into(), keys("pgp/alice.cert")],
        ),
    ];
    signers
        .into_iter()
        .map(|(signer, reader)| {
            let signed = stamp_protect(
                MONDAY,
                "professional",
                &["network=office"],
                "corp-internal",
                &archived,
                &signer,
            );
            (signed, reader)
        })
        .collect()
}

/// r7: an unsigned correspondence field in the other spelling must not replace the type the
/// signature covers (reported by review: it lowered the checked type for OpenPGP).
#[test]
fn r7_unsigned_field_in_the_other_spelling_cannot_lower_the_signed_type() {
    for (signed, reader) in office_signed_both_ways() {
        let (c, v) = verify_at(MONDAY, &signed, &reader);
        assert_eq!(c, 0, "{v}");
        let mut forged = b"X-XIMF-Correspondence-Type: private\n".to_vec();
        forged.extend_from_slice(&signed);
        let (c, v) = verify_at(MONDAY, &forged, &reader);
        assert_eq!(c, 1, "{v}");
        assert_eq!(v["profile"]["correspondence"], "professional-office", "{v}");
        assert!(
            codes(&v).iter().any(|x| x == "correspondence-conflict"),
            "{v}"
        );
    }
}

/// r7: a multipart/signed with a third, unsigned part is not a signed message.
#[test]
fn r7_third_part_in_multipart_signed_is_not_signed() {
    for (signed, reader) in office_signed_both_ways() {
        let text = String::from_utf8(signed).expect("utf8");
        let boundary = text
            .split("boundary=\"")
            .nth(1)
            .and_then(|r| r.split('"').next())
            .expect("boundary")
            .to_owned();
        let close = format!("--{boundary}--");
        let extra = format!("--{boundary}\nContent-Type: text/plain\n\nEVIL third part\n{close}");
        let tampered = text.replacen(&close, &extra, 1);
        let (c, v) = verify_at(MONDAY, tampered.as_bytes(), &reader);
        assert_eq!(c, 1, "{v}");
        assert_ne!(v["signature"]["status"], "valid", "{v}");
        assert!(codes(&v).iter().any(|x| x == "partially-signed"), "{v}");
    }
}
