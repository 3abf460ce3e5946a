//! Property tests for the invariants of issue 12, and the fuzz regressions.
//!
//! - stamp then verify passes (built-in `Example` instance, any allowed choice of values, any
//!   subject and body, LF or CRLF);
//! - RFC 2047 encoding and RFC 5322 folding round-trip, and folded lines stay within 76 octets;
//! - the LF and CRLF forms of a message signed by `ximf protect` (S/MIME and OpenPGP) verify
//!   alike — same statuses, same finding codes — whatever else is edited in both;
//! - what `protect` signs, verify accepts (8-bit bodies, long lines, trailing spaces, `From `
//!   lines, attachments);
//! - every input in `tests/fuzz_regressions/` goes through the API of the fuzz target that
//!   found it without a panic (fuzz/README.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::Config as ProptestConfig;
use ximf::message::Message;
use ximf::message::encode::{decode_unstructured, encode_field};
use ximf::message::eol::{Eol, to_crlf, to_lf};
use ximf::protect::{self, Demands, Mechanism};
use ximf::report::Severity;
use ximf::secure::{self, Keys};
use ximf::stamp::{self, StampOptions};
use ximf::verify::{self, VerifyOptions};

/// 2026-06-01T00:00:00Z: every S/MIME and OpenPGP test key used here is valid then.
const NOW: i64 = 1_780_272_000;
const NOW_TEXT: &str = "2026-06-01T00:00:00Z";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn key(p: &str) -> Vec<u8> {
    std::fs::read(root().join("testdata/keys").join(p)).expect(p)
}

fn key_path(p: &str) -> String {
    root()
        .join("testdata/keys")
        .join(p)
        .to_string_lossy()
        .into_owned()
}

/// `n` cases (kept small: these run in every `cargo test`), or `PROPTEST_CASES` for a longer
/// run.
fn cases(n: u32) -> ProptestConfig {
    let n = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(n);
    ProptestConfig {
        cases: n,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

fn with_eol(msg: &[u8], eol: Eol) -> Vec<u8> {
    match eol {
        Eol::Lf => to_lf(msg).into_owned(),
        Eol::Crlf => to_crlf(msg).into_owned(),
    }
}

fn eols() -> impl Strategy<Value = Eol> {
    prop_oneof![Just(Eol::Lf), Just(Eol::Crlf)]
}

// --- stamp then verify ------------------------------------------------------------------------

fn builtin() -> &'static ximf::profile::Profile {
    static P: OnceLock<ximf::profile::Profile> = OnceLock::new();
    P.get_or_init(ximf::profile::builtin)
}

/// A choice of values the Example instance allows (its linkedValue, association and
/// constraint rules included), as `--set` pairs.
fn example_values() -> impl Strategy<Value = Vec<(String, String)>> {
    let classification = 0usize..4;
    let mark = any::<prop::sample::Index>();
    let primary = 0usize..4;
    let copy = any::<Option<prop::sample::Index>>();
    let reference = proptest::option::of("[A-Za-z0-9éü ./=?_-]{1,60}");
    let sics = proptest::collection::vec("[A-Z0-9]{3,8}", 0..=8);
    let reply = proptest::option::of(0i64..(200 * 365));
    let exempted = proptest::collection::vec("[a-z]{1,8}", 0..4);
    (
        classification,
        mark,
        primary,
        copy,
        reference,
        sics,
        reply,
        exempted,
    )
        .prop_map(|(c, mark, p, copy, reference, sics, reply, exempted)| {
            const CLASS: [&str; 4] = [
                "example-unclassified",
                "example-restricted",
                "example-confidential",
                "example-secret",
            ];
            const PREC: [&str; 4] = ["routine", "priority", "immediate", "flash"];
            let marks: &[&str] = if c == 0 {
                &["example-public", "example-internal"]
            } else {
                &[
                    "example-staff-only",
                    "example-need-to-know",
                    "example-no-forward",
                ]
            };
            let mut sets = vec![
                (
                    "X-XIMF-Security-Classification".to_owned(),
                    CLASS[c].to_owned(),
                ),
                ("X-XIMF-Privacy-Mark".into(), mark.get(marks).to_string()),
                ("X-XIMF-Primary-Precedence".into(), PREC[p].to_owned()),
            ];
            // Association: never above the primary precedence, never flash.
            if let Some(i) = copy {
                let allowed = &PREC[..(p + 1).min(3)];
                sets.push(("X-XIMF-Copy-Precedence".into(), i.get(allowed).to_string()));
            }
            if let Some(r) = reference {
                let r = r.trim();
                if !r.is_empty() {
                    sets.push(("X-XIMF-Originator-Reference".into(), r.to_owned()));
                }
            }
            if !sics.is_empty() {
                sets.push(("X-XIMF-Subject-Indicator-Codes".into(), sics.join(";")));
            }
            if let Some(d) = reply {
                sets.push((
                    "X-XIMF-Reply-Before".into(),
                    ximf::clock::format_rfc5322(1_700_000_000 + d * 86_400),
                ));
            }
            for (i, local) in exempted.iter().enumerate() {
                sets.push((
                    "X-XIMF-Exempted-Address".into(),
                    format!("{local}{i}@example.org"),
                ));
            }
            sets
        })
}

/// A message with any subject and a body of any lines, in `eol`.
fn plain_message(subject: &str, body: &[String], eol: Eol) -> Vec<u8> {
    let e = std::str::from_utf8(eol.as_bytes()).unwrap();
    let mut m =
        format!("From: Alice <alice@example.org>{e}To: Bob <bob@example.org>{e}").into_bytes();
    m.extend(encode_field("Subject", subject, eol).unwrap());
    m.extend(
        format!(
            "Date: Sat, 06 Jun 2009 16:10:00 +0000{e}MIME-Version: 1.0{e}\
             Content-Type: text/plain; charset=utf-8{e}Content-Transfer-Encoding: 8bit{e}{e}"
        )
        .into_bytes(),
    );
    for line in body {
        m.extend(line.as_bytes());
        m.extend(eol.as_bytes());
    }
    m
}

fn subjects() -> impl Strategy<Value = String> {
    "[^\r\n\u{0}]{0,120}"
}

fn body_lines() -> impl Strategy<Value = Vec<String>> {
    proptest::collection::vec("[^\r\n\u{0}]{0,100}", 0..12)
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn stamp_then_verify_passes(
        sets in example_values(),
        subject in subjects(),
        body in body_lines(),
        eol in eols(),
    ) {
        let profile = builtin();
        let instance = profile.instance("Example").expect("the built-in Example instance");
        let msg = Message::parse(plain_message(&subject, &body, eol)).unwrap();
        let stamped = match stamp::stamp(&msg, instance, &sets, &StampOptions::default()) {
            Ok(s) => s,
            Err(e) => return Err(TestCaseError::fail(format!("stamp refused {sets:?}: {e}"))),
        };
        let m = Message::parse(stamped).unwrap();
        prop_assert_eq!(m.eol(), eol);
        let report = verify::verify(&m, profile, &VerifyOptions::default());
        prop_assert_eq!(
            report.verdict, "pass",
            "values {:?}\nfindings {:?}\n{}", sets, report.findings,
            String::from_utf8_lossy(m.bytes())
        );
        // The values read back as they were set (single-valued headers).
        for (h, v) in &sets {
            if h != "X-XIMF-Exempted-Address" {
                let got = m.value(h);
                prop_assert_eq!(got.as_deref(), Some(v.as_str()), "{}", h);
            }
        }
    }
}

// --- RFC 2047 and folding ---------------------------------------------------------------------

/// Words of every kind the encoder distinguishes: printable ASCII, non-ASCII, control
/// characters, things that look like encoded-words; separated by runs of blanks.
fn words() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        "[!-~]{1,30}",
        "[a-zé€😀]{1,20}",
        "[\u{1}-\u{8}\u{b}\u{c}\u{e}-\u{1f}\u{7f}a]{1,10}",
        Just("=?UTF-8?Q?x?=".to_owned()),
        Just("?=".to_owned()),
        "[\u{80}-\u{10ffff}]{1,12}",
    ];
    let blank = "[ \t]{1,3}";
    (
        "[ \t]{0,2}",
        proptest::collection::vec((word, blank), 0..16),
        "[ \t]{0,2}",
    )
        .prop_map(|(lead, ws, trail)| {
            let mut s = lead;
            for (i, (w, b)) in ws.iter().enumerate() {
                if i > 0 {
                    s.push_str(b);
                }
                s.push_str(w);
            }
            s.push_str(&trail);
            s
        })
}

fn check_round_trip(name: &str, value: &str, eol: Eol) -> Result<Vec<u8>, TestCaseError> {
    let out = encode_field(name, value, eol)
        .map_err(|e| TestCaseError::fail(format!("refused {value:?}: {e}")))?;
    let text = String::from_utf8_lossy(&out).into_owned();
    let expected = value.trim_matches([' ', '\t']);
    let raw = &out[name.len() + 1..out.len() - eol.as_bytes().len()];
    prop_assert_eq!(decode_unstructured(raw), expected, "encoded as {:?}", text);
    // The same through the header reader.
    let mut msg = out.clone();
    msg.extend_from_slice(b"From: a@example.org");
    msg.extend_from_slice(eol.as_bytes());
    msg.extend_from_slice(eol.as_bytes());
    let m = Message::parse(msg).unwrap();
    let got = m.value(name);
    prop_assert_eq!(got.as_deref(), Some(expected), "encoded as {:?}", text);
    // Every line break is a fold, in the message's convention; no encoded-word over 75.
    let lines: Vec<&[u8]> = out[..out.len() - eol.as_bytes().len()]
        .split(|&b| b == b'\n')
        .collect();
    for (i, l) in lines.iter().enumerate() {
        let l = if eol == Eol::Crlf && i + 1 < lines.len() {
            prop_assert!(l.ends_with(b"\r"), "bare LF in {:?}", text);
            &l[..l.len() - 1]
        } else {
            l
        };
        prop_assert!(!l.contains(&b'\r'), "bare CR in {:?}", text);
        if i > 0 {
            prop_assert!(
                matches!(l.first(), Some(b' ' | b'\t')),
                "not a fold: {:?}",
                text
            );
        }
    }
    for w in String::from_utf8_lossy(&out).split([' ', '\t', '\r', '\n']) {
        if w.starts_with("=?UTF-8?") {
            prop_assert!(
                w.len() <= 75,
                "encoded-word of {} octets in {:?}",
                w.len(),
                text
            );
        }
    }
    Ok(out)
}

proptest! {
    #![proptest_config(cases(64))]

    #[test]
    fn rfc2047_round_trip_any_text(value in "[^\r\n\u{0}]{0,300}", eol in eols()) {
        check_round_trip("Subject", &value, eol)?;
    }

    #[test]
    fn rfc2047_round_trip_and_folding(value in words(), eol in eols()) {
        let out = check_round_trip("Subject", &value, eol)?;
        // Words of at most 30 characters and blank runs of at most 3: every line fits in 76.
        for line in String::from_utf8_lossy(&out).split('\n') {
            let line = line.trim_end_matches('\r');
            prop_assert!(line.len() <= 76, "line of {} octets: {:?}", line.len(), line);
        }
    }

    #[test]
    fn rfc2047_refuses_line_breaks(
        a in "[^\r\n\u{0}]{0,20}",
        c in prop::sample::select(vec!['\r', '\n', '\0']),
        b in "[^\r\n\u{0}]{0,20}",
    ) {
        let value = format!("{a}{c}{b}");
        prop_assert!(encode_field("Subject", &value, Eol::Crlf).is_err());
    }
}

// --- protect, then verify ---------------------------------------------------------------------

fn verifier_keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| {
        Keys::load(
            &[],
            &[],
            &[],
            &[key("smime/root.crt")],
            &[key("pgp/alice.cert")],
        )
        .unwrap()
    })
}

fn signer_keys(m: Mechanism) -> &'static Keys {
    static S: OnceLock<Keys> = OnceLock::new();
    static P: OnceLock<Keys> = OnceLock::new();
    match m {
        Mechanism::Smime => S.get_or_init(|| {
            Keys::load(
                &[key("smime/alice.key")],
                &[key("smime/alice.chain.pem")],
                &[],
                &[],
                &[],
            )
            .unwrap()
        }),
        Mechanism::OpenPgp => {
            P.get_or_init(|| Keys::load(&[key("pgp/alice.key")], &[], &[], &[], &[]).unwrap())
        }
    }
}

/// What a verification says, for comparing two forms of one message.
#[derive(Debug, PartialEq, Eq)]
struct Verdict {
    signature: String,
    encryption: String,
    codes: Vec<(&'static str, bool)>,
}

fn verdict(msg: &[u8]) -> Verdict {
    let o = secure::verify(msg, verifier_keys(), NOW).expect("a message");
    let mut codes: Vec<_> = o
        .findings
        .iter()
        .map(|f| (f.code, f.severity == Severity::Error))
        .collect();
    codes.sort_unstable();
    Verdict {
        signature: o.signature.status,
        encryption: o.encryption.status,
        codes,
    }
}

/// The messages `ximf protect --sign` makes of testdata/messages/plain.eml, made once with
/// the real binary: (S/MIME, OpenPGP).
fn protected_by_cli() -> &'static [(Mechanism, Vec<u8>); 2] {
    static M: OnceLock<[(Mechanism, Vec<u8>); 2]> = OnceLock::new();
    M.get_or_init(|| {
        let make = |mechanism: &str, keys: &[&str]| {
            let mut args = vec![
                "--now".to_owned(),
                NOW_TEXT.into(),
                "protect".into(),
                "--sign".into(),
                "--mechanism".into(),
                mechanism.into(),
            ];
            for (i, k) in keys.iter().enumerate() {
                args.push(if i == 0 { "--key" } else { "--cert" }.into());
                args.push(key_path(k));
            }
            args.push(
                root()
                    .join("testdata/messages/plain.eml")
                    .to_string_lossy()
                    .into_owned(),
            );
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_ximf"))
                .args(&args)
                .output()
                .expect("run ximf");
            assert!(
                out.status.success(),
                "ximf protect ({mechanism}): {}",
                String::from_utf8_lossy(&out.stderr)
            );
            out.stdout
        };
        [
            (
                Mechanism::Smime,
                make("smime", &["smime/alice.key", "smime/alice.chain.pem"]),
            ),
            (Mechanism::OpenPgp, make("openpgp", &["pgp/alice.key"])),
        ]
    })
}

/// Edits applied to a signed message before its LF and CRLF forms are compared. A trace field,
/// an envelope line and a blank epilogue keep the signature valid; the others break or change
/// something, the same way in both forms.
#[derive(Debug, Clone)]
enum Edit {
    /// A trace field on top, as a relay adds it.
    Received(u16),
    /// An mbox `From ` line on top, as procmail hands messages over.
    Envelope,
    /// Text after the close delimiter (harmless when blank).
    Epilogue(String),
    /// The outer Subject replaced.
    Subject(String),
    /// Trailing spaces at the end of a line inside the signed part.
    TrailingSpace(usize),
    /// One octet of the body changed.
    Flip(usize),
}

impl Edit {
    fn harmless(&self) -> bool {
        match self {
            Edit::Received(_) | Edit::Envelope => true,
            Edit::Epilogue(t) => t.trim().is_empty(),
            _ => false,
        }
    }

    fn apply(&self, m: &[u8]) -> Vec<u8> {
        let body_at = find(m, b"\n\n").map_or(m.len(), |i| i + 2);
        match self {
            Edit::Received(n) => {
                let mut v = format!(
                    "Received: from relay{n}.example.net by mx.example.org;\n \
                     Mon, 30 Nov 2026 10:00:00 +0000\n"
                )
                .into_bytes();
                v.extend_from_slice(m);
                v
            }
            Edit::Envelope => {
                let mut v = b"From alice@example.org Mon Nov 30 10:00:00 2026\n".to_vec();
                v.extend_from_slice(m);
                v
            }
            Edit::Epilogue(t) => {
                let mut v = m.to_vec();
                v.extend_from_slice(t.as_bytes());
                v.push(b'\n');
                v
            }
            Edit::Subject(s) => {
                let Some(at) = find(m, b"\nSubject:") else {
                    return m.to_vec();
                };
                let end = find(&m[at + 1..], b"\n").map_or(m.len(), |i| at + 1 + i);
                let mut v = m[..at + 1].to_vec();
                v.extend_from_slice(format!("Subject: {s}").as_bytes());
                v.extend_from_slice(&m[end..]);
                v
            }
            Edit::TrailingSpace(i) => {
                let lines: Vec<usize> = (body_at..m.len()).filter(|&j| m[j] == b'\n').collect();
                if lines.is_empty() {
                    return m.to_vec();
                }
                let at = lines[i % lines.len()];
                let mut v = m[..at].to_vec();
                v.extend_from_slice(b"  ");
                v.extend_from_slice(&m[at..]);
                v
            }
            Edit::Flip(i) => {
                let mut v = m.to_vec();
                if body_at < v.len() {
                    let at = body_at + i % (v.len() - body_at);
                    if !matches!(v[at], b'\n' | b'\r') {
                        v[at] = if v[at] == b'x' { b'y' } else { b'x' };
                    }
                }
                v
            }
        }
    }
}

fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    h.windows(n.len()).position(|w| w == n)
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let edit = prop_oneof![
        any::<u16>().prop_map(Edit::Received),
        Just(Edit::Envelope),
        prop_oneof!["[ -~]{0,40}", "[ \t]{0,4}"].prop_map(Edit::Epilogue),
        "[ -~é]{1,40}".prop_map(Edit::Subject),
        any::<usize>().prop_map(Edit::TrailingSpace),
        any::<usize>().prop_map(Edit::Flip),
    ];
    proptest::collection::vec(edit, 0..3)
}

proptest! {
    #![proptest_config(cases(48))]

    #[test]
    fn lf_and_crlf_verify_alike(which in 0usize..2, edits in edits()) {
        let (mechanism, signed) = &protected_by_cli()[which];
        let mut m = to_lf(signed).into_owned();
        // The envelope line can only be first.
        let mut edits = edits;
        let envelope = edits.iter().any(|e| matches!(e, Edit::Envelope));
        edits.retain(|e| !matches!(e, Edit::Envelope));
        if envelope {
            edits.push(Edit::Envelope);
        }
        for e in &edits {
            m = e.apply(&m);
        }
        let lf = verdict(&with_eol(&m, Eol::Lf));
        let crlf = verdict(&with_eol(&m, Eol::Crlf));
        prop_assert_eq!(&lf, &crlf, "{:?} with {:?}", mechanism, edits);
        if edits.iter().all(Edit::harmless) {
            prop_assert_eq!(lf.signature.as_str(), "valid", "{:?} with {:?}: {:?}", mechanism, edits, lf);
            prop_assert!(lf.codes.iter().all(|(_, error)| !error), "{:?}", lf);
        }
    }
}

/// Bodies protect must bring to 7 bit: 8-bit text, long lines, trailing blanks, `From `
/// lines, a lone dot, NUL and control octets (never a bare CR: LF is the line ending here).
fn bodies() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        proptest::collection::vec(
            any::<u8>().prop_filter("no CR or LF", |b| *b != b'\r' && *b != b'\n'),
            0..120
        ),
        "[a-z ]{990,1100}".prop_map(String::into_bytes),
        "[a-zé]{0,40}[ \t]{1,3}".prop_map(String::into_bytes),
        "From [a-z ]{0,20}".prop_map(String::into_bytes),
        Just(b".".to_vec()),
        Just(Vec::new()),
    ];
    proptest::collection::vec(line, 0..10).prop_map(|lines| {
        let mut b = Vec::new();
        for l in lines {
            b.extend(l);
            b.push(b'\n');
        }
        b
    })
}

fn message_with(body: &[u8], kind: u8) -> Vec<u8> {
    let mut m = b"From: Alice <alice@example.org>\nTo: Bob <bob@example.org>\n\
                  Subject: =?UTF-8?Q?r=C3=A9union?=\nMIME-Version: 1.0\n"
        .to_vec();
    match kind % 3 {
        0 => {
            m.extend_from_slice(
                b"Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n",
            );
            m.extend_from_slice(body);
        }
        1 => {
            m.extend_from_slice(
                b"Content-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\n",
            );
            m.extend_from_slice(body);
        }
        _ => {
            // What mutt sends: an 8-bit text part and an attachment.
            m.extend_from_slice(
                b"Content-Type: multipart/mixed; boundary=\"mutt-b\"\n\n--mutt-b\n\
                  Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n",
            );
            m.extend_from_slice(body);
            m.extend_from_slice(
                b"\n--mutt-b\nContent-Type: application/octet-stream\n\
                  Content-Disposition: attachment; filename=\"a.bin\"\n\
                  Content-Transfer-Encoding: binary\n\n",
            );
            m.extend_from_slice(body);
            m.extend_from_slice(b"\n--mutt-b--\n");
        }
    }
    m
}

proptest! {
    #![proptest_config(cases(40))]

    #[test]
    fn what_protect_signs_verify_accepts(
        body in bodies(),
        kind in any::<u8>(),
        pgp in any::<bool>(),
        eol in eols(),
    ) {
        let mechanism = if pgp { Mechanism::OpenPgp } else { Mechanism::Smime };
        let msg = with_eol(&message_with(&body, kind), eol);
        let message = Message::parse(msg).unwrap();
        let demands = Demands {
            sign: true,
            mechanisms: vec![mechanism],
            ..Demands::default()
        };
        let signed = match protect::protect(&message, &demands, signer_keys(mechanism), NOW) {
            Ok(s) => s,
            Err(e) => return Err(TestCaseError::fail(format!("protect refused: {e}"))),
        };
        let o = secure::verify(&signed, verifier_keys(), NOW).unwrap();
        let errors: Vec<_> = o.findings.iter().filter(|f| f.severity == Severity::Error).collect();
        prop_assert_eq!(
            o.signature.status.as_str(), "valid",
            "{:?}: {:?}\n{}", mechanism, o.findings, String::from_utf8_lossy(&signed)
        );
        prop_assert!(errors.is_empty(), "{:?}: {:?}", mechanism, errors);
        // And the other line-ending form of what was signed verifies too.
        let other = if eol == Eol::Lf { Eol::Crlf } else { Eol::Lf };
        let o2 = secure::verify(&with_eol(&signed, other), verifier_keys(), NOW).unwrap();
        prop_assert_eq!(o2.signature.status.as_str(), "valid", "{:?}", o2.findings);
    }
}

// --- fuzz regressions -------------------------------------------------------------------------

/// Feeds one saved fuzz input through what its target calls (the file name starts with the
/// target's name); the test fails if anything panics.
fn replay(target: &str, data: &[u8]) {
    let keys = regression_keys();
    let limits = secure::Limits::with_max_output(4 << 20);
    match target {
        "message_verify" => {
            let _ = secure::verify_with(data, keys, NOW, limits);
            let _ = secure::verify_with(&to_crlf(data), keys, NOW, limits);
            let _ = secure::decrypt_with(data, keys, NOW, limits);
            let _ = secure::extract(data, keys, NOW);
            if let Ok(m) = Message::parse(data.to_vec()) {
                let _ = verify::verify(&m, builtin(), &VerifyOptions::default());
            }
        }
        "pgp_verify" | "cms_parse" => {
            let _ = ximf::pgp::load_keys(data);
            let trust = ximf::smime::Trust::new(keys, NOW);
            let _ = ximf::smime::open_stream(
                &mut &data[..],
                &trust,
                &keys.smime_signers,
                4 << 20,
                &mut std::io::sink(),
            );
            if let Some(ci) = ximf::smime::read_cms(data) {
                let _ = ximf::smime::verify_opaque(&trust, &ci);
                let _ = ximf::smime::open(&ci, &keys.smime_signers);
            }
            for ct in [
                "multipart/signed; protocol=\"application/pgp-signature\"; boundary=b",
                "multipart/encrypted; protocol=\"application/pgp-encrypted\"; boundary=b",
            ] {
                let mut m = format!(
                    "From: alice@example.org\r\nContent-Type: {ct}\r\n\r\n--b\r\n\
                     Content-Type: text/plain\r\n\r\nVersion: 1\r\n--b\r\n\
                     Content-Type: application/octet-stream\r\n\r\n"
                )
                .into_bytes();
                m.extend_from_slice(data);
                m.extend_from_slice(b"\r\n--b--\r\n");
                let _ = secure::verify_with(&m, keys, NOW, limits);
                let _ = secure::decrypt_with(&m, keys, NOW, limits);
            }
        }
        "rfc2047" => {
            let _ = ximf::message::encode::decode_words(data);
            if let Ok(s) = std::str::from_utf8(data)
                && let Ok(out) = encode_field("Subject", s, Eol::Crlf)
            {
                let raw = &out[8..out.len() - 2];
                assert_eq!(decode_unstructured(raw), s.trim_matches([' ', '\t']));
            }
        }
        "sendmail_argv" => {
            use std::os::unix::ffi::OsStringExt;
            let args: Vec<_> = data
                .split(|&b| b == 0)
                .map(|a| std::ffi::OsString::from_vec(a.to_vec()))
                .collect();
            let _ = ximf::sendmail::argv::parse(&args);
        }
        "config_parse" => {
            if let Ok(t) = std::str::from_utf8(data) {
                let _ = ximf::config::Config::parse(
                    t,
                    Path::new("/etc/ximf/config.toml"),
                    Some(Path::new("/home/alice")),
                );
            }
        }
        "profile_load" => {
            let dir = tempfile::tempdir().unwrap();
            let p = dir.path().join("profile.xml");
            std::fs::write(&p, data).unwrap();
            let _ = ximf::profile::load(&p);
        }
        "header_protection" => {
            let _ = secure::verify_with(data, keys, NOW, limits);
        }
        other => panic!("no fuzz target {other}"),
    }
}

fn regression_keys() -> &'static Keys {
    static K: OnceLock<Keys> = OnceLock::new();
    K.get_or_init(|| {
        Keys::load(
            &[
                key("smime/bob.key"),
                key("pgp/bob.key"),
                key("pgp/alice.key"),
            ],
            &[key("smime/bob.chain.pem")],
            &[],
            &[key("smime/root.crt")],
            &[key("pgp/alice.cert"), key("pgp/bob.cert")],
        )
        .unwrap()
    })
}

#[test]
fn fuzz_regressions_do_not_panic() {
    let dir = root().join("tests/fuzz_regressions");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".md") {
            continue;
        }
        let target = name.split_once('-').map_or(name.as_str(), |(t, _)| t);
        replay(target, &std::fs::read(&path).unwrap());
        n += 1;
    }
    eprintln!("{n} fuzz regression inputs replayed");
}
