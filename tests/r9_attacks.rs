#![allow(clippy::unwrap_used)]
//! The security review's attack scripts (round 9), ported: each test rebuilds the attack
//! messages at test time with the real peers (openssl cms, sq, gpg) and the committed test keys
//! (testdata/keys/{smime,pgp}, README.md there), in LF and CRLF form, for S/MIME and OpenPGP
//! where the attack applies to both, and asserts what the fixed engine says with `ximf verify
//! --format json` (exit 1 for a failed verdict, 65 for input that is not a message; never a
//! panic, 70 or 101). Each attack also has a control row: the same construction without the
//! trick, which must not trip the check (so a failing row is the trick, not a broken builder).
//!
//! | attack | what must happen |
//! |---|---|
//! | Content-Type comments / duplicated (RFC 2231 + plain) parameters on multipart/signed | `structure-malformed`, fail |
//! | `HP-Outer: From:` explaining away a different outer From (RFC 9788 hp="cipher") | `protected-header-mismatch`, fail |
//! | a bare CR in the top-level header | `verify` exit 65; `--annotate` passes it through, verdict fail `not-a-message` |
//! | text on an inline armor line, or a non-`Hash:` armor header in the cleartext | fail |
//! | Carol re-signing a message/rfc822 wrapper around Alice's old signed reply | `signer-mismatch`, fail |
//! | N distinct header fields under hp="clear" (quadratic header comparison) | bounded time |
//! | bzip2 compression bomb to bob | bounded time and memory, never `decrypted` |
//! | an unencrypted OpenPGP message (literal or signed-only) in multipart/encrypted | never `decrypted`; signed-only verifies without a key |
//!
//! Run with `--nocapture` for one `CASE PASS|FAIL` line per message and line-ending form.

use crate::support::measure;

use crate::support::matrix;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use matrix::Mech::{Pgp, Smime};
use matrix::{
    BOTH_EOLS, Eol, Mech, NOW_PGP, NOW_SMIME, PEER_TIME, cat, ct_param, eol, find, memo,
    openssl_encrypt, openssl_sign, pgp_encrypted_entity, pk, replace1, run_tool, sk, sq_clearsign,
    sq_encrypt_armor, sq_sign, to_crlf, work,
};
use serde_json::Value;

/// The outer header most attacks use (as the scripts write it).
const HDR: &str = "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: hi\r\n\
                   MIME-Version: 1.0\r\n";

/// Alice's genuine signed text.
const CONTENT: &str =
    "Content-Type: text/plain; charset=us-ascii\r\n\r\nHello Bob, meeting at 10.\r\nAlice\r\n";

/// What the attacker wants shown.
const SPOOF_TEXT: &str = "Please wire 1M EUR to IBAN XX00 MALLORY today. -- Alice";

/// Generous bound for the amplification attacks (debug build, two cores, tests in parallel);
/// before the fixes they took minutes.
const TIME: Duration = Duration::from_secs(30);

// ---- running ximf ------------------------------------------------------------------------

struct Run {
    code: i32,
    stdout: Vec<u8>,
    stderr: String,
    report: Option<Value>,
    rss_kib: u64,
    took: Duration,
}

/// Runs `ximf args` on `input` under GNU time (max RSS) and a wall clock.
fn ximf(args: &[String], input: &[u8]) -> Run {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let m = measure::run(&args, input);
    Run {
        code: m.code,
        report: serde_json::from_slice(&m.stdout).ok(),
        stdout: m.stdout,
        stderr: m.stderr.trim_end().to_owned(),
        rss_kib: m.rss_kib,
        took: m.took,
    }
}

/// `ximf --now N --format json verify` with the trust of `mech` (S/MIME: the test root;
/// OpenPGP: alice's and bob's certs) and, with `keys`, bob's decryption key.
fn verify_args(mech: Mech, keys: bool) -> Vec<String> {
    let mut a: Vec<String> = vec!["--now".into()];
    match mech {
        Smime => {
            a.extend([NOW_SMIME.into(), "--format".into(), "json".into()]);
            a.extend(["verify".into(), "--ca".into(), sk("root.crt")]);
            if keys {
                a.extend([
                    "--key".into(),
                    sk("bob.key"),
                    "--cert".into(),
                    sk("bob.crt"),
                ]);
            }
        }
        Pgp => {
            a.extend([NOW_PGP.into(), "--format".into(), "json".into()]);
            a.extend(["verify".into(), "--keyring".into(), pk("alice.cert")]);
            a.extend(["--keyring".into(), pk("bob.cert")]);
            if keys {
                a.extend(["--key".into(), pk("bob.key")]);
            }
        }
        _ => panic!("one mechanism per case"),
    }
    a
}

// ---- cases -------------------------------------------------------------------------------

/// What `ximf verify` must say about one message.
struct Want {
    verdict: &'static str,
    /// Each must be present as an error finding.
    errors: Vec<&'static str>,
    /// At least one of these must be present as an error finding.
    any_error: Vec<&'static str>,
    /// None of these may be present at any severity.
    absent: Vec<&'static str>,
    eq: Vec<(&'static str, Value)>,
    ne: Vec<(&'static str, Value)>,
    max_time: Option<Duration>,
    max_rss_kib: Option<u64>,
}

fn want(verdict: &'static str) -> Want {
    Want {
        verdict,
        errors: Vec::new(),
        any_error: Vec::new(),
        absent: Vec::new(),
        eq: Vec::new(),
        ne: Vec::new(),
        max_time: None,
        max_rss_kib: None,
    }
}

fn fail() -> Want {
    want("fail")
}

fn pass() -> Want {
    want("pass")
}

impl Want {
    fn err(mut self, code: &'static str) -> Want {
        self.errors.push(code);
        self
    }
    fn err_any(mut self, codes: &[&'static str]) -> Want {
        self.any_error.extend_from_slice(codes);
        self
    }
    fn no(mut self, code: &'static str) -> Want {
        self.absent.push(code);
        self
    }
    fn at(mut self, pointer: &'static str, v: impl Into<Value>) -> Want {
        self.eq.push((pointer, v.into()));
        self
    }
    fn not_at(mut self, pointer: &'static str, v: impl Into<Value>) -> Want {
        self.ne.push((pointer, v.into()));
        self
    }
    fn within(mut self, t: Duration, rss_kib: u64) -> Want {
        self.max_time = Some(t);
        self.max_rss_kib = Some(rss_kib);
        self
    }
}

struct Case {
    name: String,
    mech: Mech,
    keys: bool,
    /// The message (any line endings; each form is made from it).
    msg: Vec<u8>,
    eols: Vec<Eol>,
    want: Want,
}

fn case(name: impl Into<String>, mech: Mech, msg: Vec<u8>, want: Want) -> Case {
    Case {
        name: name.into(),
        mech,
        keys: false,
        msg,
        eols: BOTH_EOLS.to_vec(),
        want,
    }
}

impl Case {
    fn keys(mut self) -> Case {
        self.keys = true;
        self
    }
    fn label(&self, e: Eol) -> String {
        format!("{} [{} {e:?}]", self.name, self.mech.json())
    }
}

fn findings(report: &Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["code"].as_str().unwrap_or_default().to_owned(),
                        f["severity"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn check(c: &Case, e: Eol) -> Result<(), String> {
    let msg = eol(&c.msg, e);
    let r = ximf(&verify_args(c.mech, c.keys), &msg);
    let w = &c.want;
    let mut bad = Vec::new();
    let mut streamed = verify_args(c.mech, c.keys);
    streamed.extend(crate::support::AS_SKELETON.map(String::from));
    let s = ximf(&streamed, &msg);
    if (s.code, &s.stdout) != (r.code, &r.stdout) {
        bad.push(format!(
            "as a skeleton: exit {} and {}",
            s.code,
            String::from_utf8_lossy(&s.stdout)
        ));
    }
    let want_code = if w.verdict == "pass" { 0 } else { 1 };
    if r.code != want_code {
        bad.push(format!(
            "exit {} (want {want_code}; 70/101 = panic), stderr: {}",
            r.code,
            r.stderr.trim()
        ));
    }
    if let Some(t) = w.max_time
        && r.took > t
    {
        bad.push(format!("took {:?} (bound {t:?})", r.took));
    }
    if let Some(m) = w.max_rss_kib
        && r.rss_kib > m
    {
        bad.push(format!("max RSS {} KiB (bound {m} KiB)", r.rss_kib));
    }
    let Some(report) = r.report else {
        bad.push(format!(
            "no JSON report: stdout {:?}, stderr {}",
            String::from_utf8_lossy(&r.stdout),
            r.stderr.trim()
        ));
        return Err(format!("{}:\n  - {}", c.label(e), bad.join("\n  - ")));
    };
    if report["verdict"] != w.verdict {
        bad.push(format!(
            "verdict {} (want {})",
            report["verdict"], w.verdict
        ));
    }
    let f = findings(&report);
    let is_err = |code: &str| f.iter().any(|(c, s)| c == code && s == "error");
    for code in &w.errors {
        if !is_err(code) {
            bad.push(format!("missing error {code}"));
        }
    }
    if !w.any_error.is_empty() && !w.any_error.iter().any(|c| is_err(c)) {
        bad.push(format!("none of the errors {:?}", w.any_error));
    }
    for code in &w.absent {
        if f.iter().any(|(c, _)| c == code) {
            bad.push(format!("unexpected finding {code}"));
        }
    }
    for (p, v) in &w.eq {
        let got = report.pointer(p).cloned().unwrap_or(Value::Null);
        if &got != v {
            bad.push(format!("{p} = {got} (want {v})"));
        }
    }
    for (p, v) in &w.ne {
        let got = report.pointer(p).cloned().unwrap_or(Value::Null);
        if &got == v {
            bad.push(format!("{p} = {got} (want anything else)"));
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        // Keep the report short: the findings' messages are what explain a failure.
        let mut brief = report.clone();
        if let Some(o) = brief.as_object_mut() {
            o.remove("profile");
            o.remove("label");
        }
        if let Some(a) = brief["findings"].as_array_mut() {
            a.truncate(12);
        }
        Err(format!(
            "{}:\n  - {}\n  report: {}",
            c.label(e),
            bad.join("\n  - "),
            serde_json::to_string_pretty(&brief).unwrap_or_default()
        ))
    }
}

/// Checks every case in every line-ending form (two at a time); one assertion names each
/// failing case with its report.
fn run_cases(title: &str, cases: Vec<Case>) {
    let jobs: Vec<(&Case, Eol)> = cases
        .iter()
        .flat_map(|c| c.eols.iter().map(move |&e| (c, e)))
        .collect();
    let results: Vec<std::sync::Mutex<Option<Result<(), String>>>> =
        jobs.iter().map(|_| Default::default()).collect();
    let next = std::sync::atomic::AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..2 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&(c, e)) = jobs.get(i) else { break };
                    *results[i].lock().unwrap() = Some(check(c, e));
                }
            });
        }
    });
    let mut failures = Vec::new();
    for (&(c, e), res) in jobs.iter().zip(results) {
        match res.into_inner().unwrap().unwrap() {
            Ok(()) => eprintln!("CASE PASS {title}: {}", c.label(e)),
            Err(why) => {
                eprintln!("CASE FAIL {title}: {}", c.label(e));
                failures.push(why);
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{title}: {} of {} cases differ:\n\n{}",
        failures.len(),
        jobs.len(),
        failures.join("\n\n")
    );
}

// ---- builders ----------------------------------------------------------------------------

const MECHS: [Mech; 2] = [Smime, Pgp];

/// A detached signature by `who` around `entity`: openssl cms (S/MIME) or sq (PGP/MIME).
fn detached(mech: Mech, entity: &[u8], who: &str) -> Vec<u8> {
    match mech {
        Smime => openssl_sign(entity, who, false),
        Pgp => sq_sign(entity, who),
        _ => panic!("one mechanism"),
    }
}

fn replace_all(h: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(h.len());
    let mut i = 0;
    while let Some(p) = find(&h[i..], from) {
        out.extend_from_slice(&h[i..i + p]);
        out.extend_from_slice(to);
        i += p + from.len();
    }
    out.extend_from_slice(&h[i..]);
    out
}

/// The body of an entity (after its header), CRLF.
fn body_of(entity: &[u8]) -> Vec<u8> {
    let e = to_crlf(entity);
    let at = find(&e, b"\r\n\r\n").expect("header end") + 4;
    e[at..].to_vec()
}

/// A gpg run in a private home below the work directory (never an agent: nothing here needs
/// a secret key).
fn gpg(args: &[&str], input: &[u8]) -> Vec<u8> {
    static HOME: OnceLock<PathBuf> = OnceLock::new();
    let home = HOME.get_or_init(|| {
        let h = work().join("r9-gnupg");
        std::fs::create_dir_all(&h).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&h, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        h
    });
    let mut cmd = Command::new("gpg");
    cmd.arg("--homedir")
        .arg(home)
        .args(["--batch", "--yes", "--quiet", "--no-tty", "--no-autostart"])
        .args(args);
    run_tool(cmd, input)
}

// ---- 1. ct_comment_spoof.sh ----------------------------------------------------------------

/// Alice's genuine signed message re-served under an ambiguous Content-Type: `params` is the
/// field value with `{proto}` and `{mic}` to fill; the real signed parts are delimited by
/// `SIG`, an attacker multipart delimited by `spoof` comes first.
fn ct_spoof(mech: Mech, params: &str, spoof: &str) -> Vec<u8> {
    let signed = detached(mech, CONTENT.as_bytes(), "alice");
    let old = ct_param(&signed, "boundary");
    let body = replace_all(&body_of(&signed), format!("--{old}").as_bytes(), b"--SIG");
    let (proto, mic) = match mech {
        Smime => ("application/pkcs7-signature", "sha-256"),
        _ => ("application/pgp-signature", "pgp-sha512"),
    };
    let ct = params.replace("{proto}", proto).replace("{mic}", mic);
    let fake = if spoof.is_empty() {
        String::new()
    } else {
        format!("--{spoof}\r\nContent-Type: text/plain\r\n\r\n{SPOOF_TEXT}\r\n--{spoof}--\r\n")
    };
    cat(&[
        HDR.as_bytes(),
        format!("Content-Type: {ct}\r\n\r\n{fake}").as_bytes(),
        &body,
    ])
}

#[test]
fn ct_comment_and_duplicate_params_are_malformed() {
    let variants: [(&str, &str, &str); 8] = [
        (
            "comment-in-type",
            "multipart/(x)signed; protocol=\"{proto}\"; micalg={mic}; boundary=SIG(x)",
            "SIG(x)",
        ),
        (
            "rfc2231-continuation-then-plain",
            "multipart/signed; protocol=\"{proto}\"; micalg={mic}; boundary*0=S; boundary*1=IG; boundary=ZZ",
            "ZZ",
        ),
        (
            "plain-then-rfc2231-continuation",
            "multipart/signed; protocol=\"{proto}\"; micalg={mic}; boundary=ZZ; boundary*0=S; boundary*1=IG",
            "ZZ",
        ),
        (
            "rfc2231-extended-then-plain",
            "multipart/signed; protocol=\"{proto}\"; micalg={mic}; boundary*=''SIG; boundary=ZZ",
            "ZZ",
        ),
        (
            "plain-then-rfc2231-extended",
            "multipart/signed; protocol=\"{proto}\"; micalg={mic}; boundary=SIG; boundary*=''ZZ",
            "ZZ",
        ),
        (
            "plain-twice",
            "multipart/signed; protocol=\"{proto}\"; micalg={mic}; boundary=SIG; BOUNDARY=ZZ",
            "ZZ",
        ),
        (
            "comment-after-subtype",
            "multipart/signed(x); protocol=\"{proto}\"; micalg={mic}; boundary=SIG",
            "",
        ),
        (
            "comment-in-protocol",
            "multipart/signed; protocol=(x)\"{proto}\"; micalg={mic}; boundary=SIG",
            "",
        ),
    ];
    let mut cases = Vec::new();
    for mech in MECHS {
        for (name, params, spoof) in variants {
            cases.push(case(
                name,
                mech,
                ct_spoof(mech, params, spoof),
                fail().err("structure-malformed"),
            ));
        }
        // Controls: the same signed parts under a plain field, and a quoted boundary holding
        // parentheses (no comment: every reader agrees).
        let ok = pass()
            .no("structure-malformed")
            .at("/signature/status", "valid")
            .at("/signature/signer", "alice@example.org");
        cases.push(case(
            "control-plain",
            mech,
            ct_spoof(
                mech,
                "multipart/signed; protocol=\"{proto}\"; micalg={mic}; boundary=SIG",
                "",
            ),
            ok,
        ));
        let signed = detached(mech, CONTENT.as_bytes(), "alice");
        let old = ct_param(&signed, "boundary");
        let quoted = replace_all(&signed, old.as_bytes(), b"SIG(x)");
        cases.push(case(
            "control-quoted-parens-boundary",
            mech,
            cat(&[HDR.as_bytes(), &to_crlf(&quoted)]),
            pass()
                .no("structure-malformed")
                .at("/signature/status", "valid"),
        ));
    }
    run_cases("ct_comment_spoof", cases);
}

// ---- 2. hp_outer_from_spoof.sh -------------------------------------------------------------

/// The RFC 9788 hp="cipher" payload: From `from`, and HP-Outer records claiming the outer From
/// was `outer_from`.
fn hp_cipher_inner(from: &str, outer_from: &str) -> Vec<u8> {
    format!(
        "Content-Type: text/plain; charset=us-ascii; hp=\"cipher\"\r\nFrom: {from}\r\n\
         To: bob@example.org\r\nSubject: invoice\r\nHP-Outer: From: {outer_from}\r\n\
         HP-Outer: To: bob@example.org\r\nHP-Outer: Subject: invoice\r\n\r\n\
         Please wire 1M EUR to IBAN XX00 MALLORY today.\r\n"
    )
    .into_bytes()
}

/// `Carol <carol@example.org>` for `carol`.
fn mailbox(who: &str) -> String {
    format!(
        "{}{} <{who}@example.org>",
        who[..1].to_uppercase(),
        &who[1..]
    )
}

/// Signed by `who` (S/MIME: openssl; OpenPGP: sq), then encrypted to bob, under outer From
/// `outer_from`.
fn hp_outer_message(mech: Mech, who: &str, outer_from: &str, hp_outer: &str) -> Vec<u8> {
    let inner = hp_cipher_inner(&mailbox(who), hp_outer);
    let outer = format!(
        "From: {outer_from}\r\nTo: bob@example.org\r\nSubject: invoice\r\nMIME-Version: 1.0\r\n"
    );
    let entity = match mech {
        Smime => openssl_encrypt(&openssl_sign(&inner, who, false)),
        _ => pgp_encrypted_entity(&sq_encrypt_armor(&sq_sign(&inner, who))),
    };
    cat(&[outer.as_bytes(), &entity])
}

#[test]
fn hp_outer_cannot_explain_a_different_from() {
    let mut cases = Vec::new();
    // The scripts' signers: carol (S/MIME, valid cert), bob (OpenPGP, valid key).
    for (mech, signer) in [(Smime, "carol"), (Pgp, "bob")] {
        let alice = "Alice <alice@example.org>";
        cases.push(
            case(
                "hp-outer-from-alice",
                mech,
                hp_outer_message(mech, signer, alice, alice),
                fail()
                    .err("protected-header-mismatch")
                    .at("/signature/status", "valid")
                    .at("/signature/signer", format!("{signer}@example.org"))
                    .at("/encryption/status", "decrypted"),
            )
            .keys(),
        );
        // Control: the HP-Outer record states the outer From truthfully (the signer's).
        let own = mailbox(signer);
        cases.push(
            case(
                "control-hp-outer-own-from",
                mech,
                hp_outer_message(mech, signer, &own, &own),
                pass()
                    .no("protected-header-mismatch")
                    .no("signer-mismatch")
                    .at("/encryption/status", "decrypted"),
            )
            .keys(),
        );
    }
    run_cases("hp_outer_from_spoof", cases);
}

// ---- 3. bare_cr_header.sh ------------------------------------------------------------------

/// The script's two messages: a bare CR hides a `Content-Type: multipart/mixed` (spoof part
/// appended) in the Subject, or a first `From: Alice` in front of bob's real From.
fn bare_cr_messages(mech: Mech) -> Vec<(&'static str, Vec<u8>)> {
    let s = detached(mech, CONTENT.as_bytes(), "alice");
    let i = find(&s, b"\r\n\r\n").unwrap();
    let ct = cat(&[
        b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n",
        b"Subject: hi\rContent-Type: multipart/mixed; boundary=\"ZZ\"\r\nMIME-Version: 1.0\r\n",
        &s[..i + 2],
        b"\r\n",
        &s[i + 4..],
        format!("--ZZ\r\nContent-Type: text/plain\r\n\r\n{SPOOF_TEXT}\r\n--ZZ--\r\n").as_bytes(),
    ]);
    let b = detached(
        mech,
        b"Content-Type: text/plain\r\n\r\nPlease wire 1M EUR to IBAN XX00 MALLORY today.\r\n",
        "bob",
    );
    let from = cat(&[
        b"Subject: urgent\rFrom: Alice <alice@example.org>\r\nFrom: bob@example.org\r\n",
        b"To: bob@example.org\r\nMIME-Version: 1.0\r\n",
        &b,
    ]);
    vec![("content-type", ct), ("from", from)]
}

#[test]
fn bare_cr_in_the_header_is_refused() {
    let mut failures = Vec::new();
    for mech in MECHS {
        for (name, msg) in bare_cr_messages(mech) {
            for e in BOTH_EOLS {
                let label = format!("bare-cr-{name} [{} {e:?}]", mech.json());
                let msg = eol(&msg, e);
                assert!(msg.windows(2).any(|w| w[0] == b'\r' && w[1] != b'\n'));
                let mut bad = Vec::new();
                // verify: not a message, exit 65 (EX_DATAERR), one line saying why.
                let r = ximf(&verify_args(mech, false), &msg);
                if r.code != 65 {
                    bad.push(format!("verify exit {} (want 65): {}", r.code, r.stderr));
                }
                if !r.stdout.is_empty() {
                    bad.push(format!(
                        "verify wrote a report: {}",
                        String::from_utf8_lossy(&r.stdout)
                    ));
                }
                if !r.stderr.contains("bare CR") {
                    bad.push(format!(
                        "verify's error does not name the bare CR: {}",
                        r.stderr
                    ));
                }
                // --annotate: the input passes through unchanged below a failing verdict.
                let mut args = verify_args(mech, false);
                args.retain(|a| a != "--format" && a != "json");
                args.extend([
                    "--annotate".into(),
                    "--authserv-id".into(),
                    "mx.test".into(),
                ]);
                let r = ximf(&args, &msg);
                let out = String::from_utf8_lossy(&r.stdout).into_owned();
                if r.code != 0 {
                    bad.push(format!("--annotate exit {} (want 0): {}", r.code, r.stderr));
                }
                if !out.starts_with("X-XIMF-Verify: fail") {
                    bad.push(format!(
                        "--annotate verdict field: {:?}",
                        out.lines().next()
                    ));
                }
                let added = if r.stdout.ends_with(&msg) {
                    &out[..r.stdout.len() - msg.len()]
                } else {
                    &out[..out.len().min(400)]
                };
                if !added.contains("not-a-message") {
                    bad.push(format!(
                        "--annotate verdict without not-a-message: {added:?}"
                    ));
                }
                if !r.stdout.ends_with(&msg) {
                    bad.push("--annotate changed the message below its verdict".into());
                }
                if bad.is_empty() {
                    eprintln!("CASE PASS bare_cr_header: {label}");
                } else {
                    eprintln!("CASE FAIL bare_cr_header: {label}");
                    failures.push(format!("{label}:\n  - {}", bad.join("\n  - ")));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

// ---- 4. inline_armor_line_text.sh ----------------------------------------------------------

fn inline_message(body: &[u8]) -> Vec<u8> {
    cat(&[
        HDR.as_bytes(),
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\n",
        &to_crlf(body),
    ])
}

#[test]
fn inline_armor_lines_carry_no_unsigned_text() {
    let blk = sq_clearsign(b"Hello Bob,\nmeeting at 10.\nAlice\n", "alice");
    let variants = [
        (
            "text-after-end-line",
            "-----END PGP SIGNATURE-----",
            "-----END PGP SIGNATURE----- P.S. change of bank details: wire to IBAN XX00 MALLORY",
        ),
        (
            "text-after-begin-signature-line",
            "-----BEGIN PGP SIGNATURE-----",
            "-----BEGIN PGP SIGNATURE----- P.S. wire to IBAN XX00 MALLORY",
        ),
        (
            "text-after-begin-signed-message-line",
            "-----BEGIN PGP SIGNED MESSAGE-----",
            "-----BEGIN PGP SIGNED MESSAGE----- P.S. wire to IBAN XX00 MALLORY",
        ),
        (
            "comment-armor-header-in-cleartext",
            "Hash: SHA512\n",
            "Hash: SHA512\nComment: P.S. wire to IBAN XX00 MALLORY\n",
        ),
    ];
    let mut cases = vec![case(
        "control-clearsigned",
        Pgp,
        inline_message(&blk),
        pass()
            .at("/signature/status", "valid")
            .at("/signature/signer", "alice@example.org"),
    )];
    for (name, from, to) in variants {
        cases.push(case(
            name,
            Pgp,
            inline_message(&replace1(&blk, from, to)),
            fail().err_any(&[
                "partially-signed",
                "structure-malformed",
                "signature-invalid",
            ]),
        ));
    }
    run_cases("inline_armor_line_text", cases);
}

// ---- 5. nested_context_shift.sh ------------------------------------------------------------

const APPROVE_HDR: &str = "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n\
                           Subject: Approve wire of 1M EUR to XX00 MALLORY?\r\nMIME-Version: 1.0\r\n";

/// Alice's old signed reply ("Yes, approved."), wrapped in message/rfc822 under a new header
/// (From: Alice, a new Subject) and signed by `wrapper`.
fn nested(mech: Mech, wrapper: &str) -> Vec<u8> {
    let alice = detached(
        mech,
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\nYes, approved.\r\nAlice\r\n",
        "alice",
    );
    let wrapped = cat(&[
        b"Content-Type: message/rfc822\r\n\r\n",
        APPROVE_HDR.as_bytes(),
        &to_crlf(&alice),
    ]);
    cat(&[APPROVE_HDR.as_bytes(), &detached(mech, &wrapped, wrapper)])
}

#[test]
fn a_resigned_wrapper_does_not_borrow_the_inner_signer() {
    let mut cases = Vec::new();
    // S/MIME as in the script (carol re-signs); the OpenPGP twin has bob re-sign.
    for (mech, other) in [(Smime, "carol"), (Pgp, "bob")] {
        cases.push(case(
            "re-signed-by-another",
            mech,
            nested(mech, other),
            fail()
                .err("signer-mismatch")
                .at("/signature/signer", format!("{other}@example.org")),
        ));
        cases.push(case(
            "control-re-signed-by-alice",
            mech,
            nested(mech, "alice"),
            pass().no("signer-mismatch"),
        ));
    }
    run_cases("nested_context_shift", cases);
}

// ---- 6. hp_fields_quadratic_dos.sh ---------------------------------------------------------

/// gen_hp_fields.py: a multipart/signed (garbage signature) whose hp="clear" content carries
/// `n` distinct header fields.
fn hp_fields(n: usize) -> Vec<u8> {
    let mut fields = String::with_capacity(n * 12);
    for i in 0..n {
        fields.push_str(&format!("X-F{i}: v\r\n"));
    }
    let b = "b1";
    format!(
        "From: alice@example.org\r\nSubject: x\r\nMIME-Version: 1.0\r\nContent-Type: multipart/signed; \
         protocol=\"application/pgp-signature\"; boundary=\"{b}\"\r\n\r\n--{b}\r\n\
         Content-Type: text/plain; hp=\"clear\"\r\nFrom: alice@example.org\r\n{fields}\r\nhi\r\n\r\n\
         --{b}\r\nContent-Type: application/pgp-signature\r\n\r\n-----BEGIN PGP SIGNATURE-----\r\n\r\n\
         AAAA\r\n-----END PGP SIGNATURE-----\r\n--{b}--\r\n"
    )
    .into_bytes()
}

#[test]
fn many_protected_header_fields_cost_bounded_time() {
    // The script's largest (80,000 fields, ~1 MB: 50 s in a release build before the fix).
    // Below the header-field limit (10,000) the comparison is still quadratic: 9,990 fields
    // take about 4 s in a debug build, as long as this case; not repeated here to keep the
    // file fast.
    let cases = vec![case(
        "hp-fields-80000",
        Pgp,
        hp_fields(80_000),
        fail()
            .err("limit-exceeded")
            .err("signature-invalid")
            .within(TIME, 200 * 1024),
    )];
    run_cases("hp_fields_quadratic_dos", cases);
}

// ---- 7. pgp_compression_bomb.sh ------------------------------------------------------------

/// 256 MiB of zeros, bzip2-compressed by gpg and encrypted to bob (about 1 KB armored): four
/// times the default output limit (64 MiB), made in a few seconds (the script's 1 GiB takes
/// ten).
fn bzip2_bomb() -> &'static [u8] {
    static B: OnceLock<Vec<u8>> = OnceLock::new();
    B.get_or_init(|| {
        let zeros = vec![0u8; 256 << 20];
        let bob = pk("bob.cert");
        gpg(
            &[
                "--trust-model",
                "always",
                "--compress-algo",
                "bzip2",
                "-z",
                "9",
                "--armor",
                "--encrypt",
                "--recipient-file",
                &bob,
            ],
            &zeros,
        )
    })
}

#[test]
fn a_bzip2_bomb_is_bounded() {
    let bomb = bzip2_bomb();
    assert!(bomb.len() < 8 << 10, "{} bytes", bomb.len());
    let refused = || {
        fail()
            .err_any(&["decryption-failed", "limit-exceeded"])
            .not_at("/encryption/status", "decrypted")
            // Holding the whole plaintext would need 256 MiB.
            .within(TIME, 240 * 1024)
    };
    let cases = vec![
        case(
            "bzip2-bomb-pgp-mime",
            Pgp,
            cat(&[HDR.as_bytes(), &pgp_encrypted_entity(bomb)]),
            refused(),
        )
        .keys(),
        case("bzip2-bomb-inline", Pgp, inline_message(bomb), refused()).keys(),
    ];
    run_cases("pgp_compression_bomb", cases);
}

// ---- 8. pgp_plaintext_reported_encrypted.sh ------------------------------------------------

#[test]
fn unencrypted_openpgp_is_never_reported_decrypted() {
    let literal = memo("r9-gpg-store", b"", || {
        gpg(
            &["--store", "--armor"],
            b"Hello Bob, this travelled in the clear.\n",
        )
    });
    let inner = b"Content-Type: text/plain\r\n\r\nHello Bob, meeting at 10.\r\nAlice\r\n";
    let opaque = memo("r9-sq-sign-opaque", inner, || {
        let mut cmd = Command::new("sq");
        cmd.args([
            "sign",
            "--time",
            PEER_TIME,
            "--signer-key",
            &pk("alice.key"),
        ]);
        run_tool(cmd, inner)
    });
    assert!(find(&literal, b"-----BEGIN PGP MESSAGE-----").is_some());
    assert!(find(&opaque, b"-----BEGIN PGP MESSAGE-----").is_some());
    let in_encrypted = |armored: &[u8]| cat(&[HDR.as_bytes(), &pgp_encrypted_entity(armored)]);
    // multipart/encrypted around something that is not encrypted: a lie about the transport.
    let lie = || {
        fail()
            .err("structure-malformed")
            .no("decryption-failed")
            .not_at("/encryption/status", "decrypted")
    };
    let alice_valid = |w: Want| {
        w.at("/signature/status", "valid")
            .at("/signature/signer", "alice@example.org")
            .at("/signature/layers/0/form", "opaque")
    };
    let mut cases = Vec::new();
    for keys in [true, false] {
        let k = if keys { "with-key" } else { "no-key" };
        let c = |name: &str, msg: Vec<u8>, w: Want| {
            let c = case(format!("{name}-{k}"), Pgp, msg, w);
            if keys { c.keys() } else { c }
        };
        cases.push(c(
            "literal-in-multipart-encrypted",
            in_encrypted(&literal),
            lie().not_at("/signature/status", "valid"),
        ));
        cases.push(c(
            "signed-only-in-multipart-encrypted",
            in_encrypted(&opaque),
            alice_valid(lie()),
        ));
        // Inline BEGIN PGP MESSAGE blocks: a signed-only one is an opaque signature layer, a
        // bare literal nothing at all; neither is encryption.
        cases.push(c(
            "signed-only-inline",
            inline_message(&opaque),
            alice_valid(pass())
                .no("decryption-failed")
                .not_at("/encryption/status", "decrypted"),
        ));
        let lit = pass()
            .no("decryption-failed")
            .not_at("/encryption/status", "decrypted")
            .not_at("/signature/status", "valid");
        cases.push(c("literal-inline", inline_message(&literal), lit));
    }
    // The S/MIME twin (opaque signed-data): verifies without a key, as the OpenPGP one must.
    cases.push(case(
        "control-smime-opaque-signed-no-key",
        Smime,
        cat(&[HDR.as_bytes(), &openssl_sign(inner, "alice", true)]),
        pass()
            .at("/signature/status", "valid")
            .at("/signature/signer", "alice@example.org")
            .at("/encryption/status", "absent"),
    ));
    run_cases("pgp_plaintext_reported_encrypted", cases);
}
