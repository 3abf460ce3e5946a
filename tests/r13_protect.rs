//! Issue 13: `protect` of a large message in bounded memory. Over the streaming threshold the
//! message stays in its file (or a spool of the pipe), its large bodies stand as holes through
//! the same planning and protecting code, and are copied from the input into the output.
//!
//! - the streamed output is the in-memory one: byte for byte when signing S/MIME (RSA PKCS#1
//!   v1.5 is deterministic), with the signature block set aside for OpenPGP (Sequoia salts its
//!   signatures), and for encryption the same plaintext once decrypted, by ximf and by the
//!   peers (`openssl cms -decrypt`, `gpg --decrypt`);
//! - 64 MiB are protected from a file and from a pipe within the memory a small message takes
//!   plus [`GROWTH_KIB`], and the peers verify and decrypt what came out;
//! - an input that cannot be read gives its exit code and no output file.
#![allow(clippy::unwrap_used)]

use crate::support::fixtures::{self, BOTH_EOLS, Eol};
use crate::support::serial::{Resource, lock};
use crate::support::{NOW, NOW_PGP, Ximf, keys, measure, pgp};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MIB: usize = 1 << 20;
/// What a 64 MiB message may cost over a small one (the debug binary's own pages are the
/// base; tests/r13_stream.rs explains the figure).
const GROWTH_KIB: u64 = 4 * 1024;
/// The S/MIME test clock as Unix seconds, for openssl's `-attime`.
const NOW_UNIX: &str = "1795910400";
/// Forces the streaming path on the small messages of the equivalence tests: bodies of 1000
/// bytes and more stand as holes.
const SMALL_THRESHOLD: &str = "1000";

#[derive(Clone, Copy, Debug, PartialEq)]
enum Mech {
    Smime,
    Pgp,
}

impl Mech {
    fn name(self) -> &'static str {
        match self {
            Mech::Smime => "smime",
            Mech::Pgp => "openpgp",
        }
    }

    fn now(self) -> &'static str {
        match self {
            Mech::Smime => NOW,
            Mech::Pgp => NOW_PGP,
        }
    }

    /// Signer and recipient (bob) flags.
    fn key_args(self) -> Vec<String> {
        match self {
            Mech::Smime => vec![
                "--key".into(),
                keys("smime/alice.key"),
                "--cert".into(),
                keys("smime/alice.chain.pem"),
                "--recipient".into(),
                keys("smime/bob.crt"),
            ],
            Mech::Pgp => vec![
                "--key".into(),
                keys("pgp/alice.key"),
                "--recipient".into(),
                keys("pgp/bob.cert"),
            ],
        }
    }

    /// `decrypt` flags for bob.
    fn bob(self) -> Vec<String> {
        match self {
            Mech::Smime => vec![
                "--key".into(),
                keys("smime/bob.key"),
                "--cert".into(),
                keys("smime/bob.crt"),
            ],
            Mech::Pgp => vec!["--key".into(), keys("pgp/bob.key")],
        }
    }
}

const FLAGS: [&[&str]; 3] = [&["--sign"], &["--encrypt"], &["--sign", "--encrypt"]];

/// Printable lines of varying length, about `size` bytes, LF; none ends in a blank (so the
/// body stands as a plain hole; the re-encoding tests below cover those re-encoded).
fn lines(size: usize) -> Vec<u8> {
    let line = b"The quick brown fox jumps over the lazy dog, 0123456789 times over.";
    let mut v = Vec::with_capacity(size + 100);
    let mut i = 0usize;
    while v.len() < size {
        v.extend_from_slice(line[..20 + i % 40].trim_ascii_end());
        v.push(b'\n');
        i += 1;
    }
    v
}

/// Base64 lines of pseudo-random bytes, about `size` bytes, LF.
fn base64_lines(size: usize) -> Vec<u8> {
    use base64::Engine as _;
    let raw: Vec<u8> = (0..size * 3 / 4).map(|i| (i * 131 % 251) as u8).collect();
    let text = base64::engine::general_purpose::STANDARD.encode(raw);
    let mut v = Vec::with_capacity(size + size / 76 + 2);
    for c in text.as_bytes().chunks(76) {
        v.extend_from_slice(c);
        v.push(b'\n');
    }
    v
}

/// A mutt-like message: an 8-bit text part (re-encoded as quoted-printable), a large safe
/// text part and a large base64 attachment (holes), a large text part with a line mbox would
/// mangle (not safe: re-encoded as it is read, issue 13), `text` bytes of plain lines in the first.
fn message(text: usize, eol: Eol) -> Vec<u8> {
    let mut m = b"From: Alice <alice@example.org>\nTo: Bob <bob@example.org>\n\
Subject: Bericht\nDate: Sun, 29 Nov 2026 00:00:00 +0000\nMessage-ID: <r13-protect@example.org>\n\
MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"mutt-OUTER\"\n\n\
--mutt-OUTER\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n\
Gr\xc3\xbc\xc3\x9fe, caf\xc3\xa9.\n\n--mutt-OUTER\nContent-Type: text/plain; charset=us-ascii\n\n"
        .to_vec();
    m.extend(lines(text));
    m.extend_from_slice(
        b"\n--mutt-OUTER\nContent-Type: application/octet-stream\n\
Content-Disposition: attachment; filename=\"data.bin\"\nContent-Transfer-Encoding: base64\n\n",
    );
    m.extend(base64_lines(20_000));
    m.extend_from_slice(b"\n--mutt-OUTER\nContent-Type: text/plain\n\n");
    m.extend(lines(5_000));
    m.extend_from_slice(b"From here on, mbox would mangle it\n");
    m.extend(lines(5_000));
    m.extend_from_slice(b"\n--mutt-OUTER--\n");
    fixtures::eol(&m, eol)
}

fn protect(mech: Mech, flags: &[&str], threshold: Option<&str>, input: &[u8]) -> Output {
    let mut x = Ximf::new()
        .no_config_env()
        .now(mech.now())
        .arg("protect")
        .args(flags)
        .args(["--mechanism", mech.name()])
        .args(mech.key_args());
    if let Some(t) = threshold {
        x = x.args(["--stream-threshold", t]);
    }
    x.stdin(input).run()
}

fn ok(o: Output, what: &str) -> Vec<u8> {
    assert_eq!(
        o.status.code(),
        Some(0),
        "{what}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// `ximf decrypt` as bob.
fn decrypt(mech: Mech, msg: &[u8]) -> Vec<u8> {
    let o = Ximf::new()
        .no_config_env()
        .args(["--max-size", "600000000"])
        .now(mech.now())
        .arg("decrypt")
        .args(mech.bob())
        .stdin(msg)
        .run();
    ok(o, "ximf decrypt")
}

/// The message with every armored OpenPGP signature's content taken out: the salt Sequoia
/// puts in each makes two signatures over the same bytes differ.
fn without_signatures(msg: &[u8]) -> Vec<u8> {
    let (begin, end) = (
        &b"-----BEGIN PGP SIGNATURE-----"[..],
        &b"-----END PGP SIGNATURE-----"[..],
    );
    let mut out = Vec::new();
    let mut rest = msg;
    while let Some(b) = pgp::find(rest, begin) {
        let Some(e) = pgp::find(&rest[b..], end) else {
            break;
        };
        out.extend_from_slice(&rest[..b + begin.len()]);
        rest = &rest[b + e..];
    }
    out.extend_from_slice(rest);
    out
}

/// The peer's decryption of `msg` (bob's key): `openssl cms -decrypt` or `gpg --decrypt` of
/// the armored message.
fn peer_decrypt(mech: Mech, dir: &Path, msg: &[u8]) -> Vec<u8> {
    match mech {
        Mech::Smime => {
            let input = pgp::write(dir, "peer-in.eml", msg);
            let out = dir.join("peer-out.eml");
            let st = Command::new("openssl")
                .args(["cms", "-decrypt", "-in"])
                .arg(&input)
                .args(["-recip", &keys("smime/bob.crt")])
                .args(["-inkey", &keys("smime/bob.key")])
                .arg("-out")
                .arg(&out)
                .output()
                .unwrap();
            assert!(st.status.success(), "openssl cms -decrypt: {st:?}");
            std::fs::read(out).unwrap()
        }
        Mech::Pgp => {
            let begin = pgp::find(msg, b"-----BEGIN PGP MESSAGE-----").unwrap();
            let end = begin + pgp::find(&msg[begin..], b"-----END PGP MESSAGE-----").unwrap();
            let armored = pgp::write(dir, "peer-in.asc", &msg[begin..end + 25]);
            let g = pgp::Gpg::new(&["bob"], &["alice"]);
            let (good, plain, err) = g.run(&["--decrypt", armored.to_str().unwrap()], b"");
            assert!(good, "gpg --decrypt: {err}");
            plain
        }
    }
}

#[test]
fn r13_streamed_protect_is_the_in_memory_one_lf_and_crlf() {
    let dir = tempfile::tempdir().unwrap();
    for eol in BOTH_EOLS {
        let msg = message(60_000, eol);
        for mech in [Mech::Smime, Mech::Pgp] {
            for flags in FLAGS {
                let what = format!("{mech:?} {flags:?} {eol:?}");
                let whole = ok(protect(mech, flags, None, &msg), &what);
                let streamed = ok(protect(mech, flags, Some(SMALL_THRESHOLD), &msg), &what);
                assert!(
                    !streamed.windows(10).any(|w| w == b"ximf-hole-"),
                    "{what}: a hole token reached the output"
                );
                if !flags.contains(&"--encrypt") {
                    if mech == Mech::Smime {
                        assert!(whole == streamed, "{what}: not byte for byte");
                    } else {
                        assert!(
                            without_signatures(&whole) == without_signatures(&streamed),
                            "{what}: differs beyond the signature"
                        );
                    }
                    continue;
                }
                let (a, b) = (decrypt(mech, &whole), decrypt(mech, &streamed));
                assert!(
                    without_signatures(&a) == without_signatures(&b),
                    "{what}: ximf decrypts other plaintexts"
                );
                // The peers on one convention and both protections (each run imports keys).
                if eol == Eol::Lf && flags.len() == 2 {
                    let (a, b) = (
                        peer_decrypt(mech, dir.path(), &whole),
                        peer_decrypt(mech, dir.path(), &streamed),
                    );
                    assert!(
                        without_signatures(&a) == without_signatures(&b),
                        "{what}: the peer decrypts other plaintexts"
                    );
                }
            }
        }
    }
}

#[test]
fn r13_streamed_protect_verifies_and_is_the_same_from_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let msg = message(300_000, Eol::Lf);
    let file = pgp::write(dir.path(), "in.eml", &msg);
    for mech in [Mech::Smime, Mech::Pgp] {
        let from_pipe = ok(
            protect(mech, &["--sign"], Some(SMALL_THRESHOLD), &msg),
            "pipe",
        );
        let out = dir.path().join("out.eml");
        let o = Ximf::new()
            .no_config_env()
            .now(mech.now())
            .args(["protect", "--sign", "--mechanism", mech.name()])
            .args(mech.key_args())
            .args(["--stream-threshold", SMALL_THRESHOLD, "-o"])
            .arg(&out)
            .arg(&file)
            .run();
        ok(o, "file");
        let from_file = std::fs::read(&out).unwrap();
        assert!(without_signatures(&from_pipe) == without_signatures(&from_file));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "a new output file is 0600");
        verify_ok(mech, &from_file);
        peer_verify(mech, dir.path(), &from_file);
    }
}

/// `ximf verify` passes it.
fn verify_ok(mech: Mech, msg: &[u8]) {
    let trust = match mech {
        Mech::Smime => vec!["--ca".to_string(), keys("smime/root.crt")],
        Mech::Pgp => vec!["--keyring".to_string(), keys("pgp/alice.cert")],
    };
    let o = Ximf::new()
        .no_config_env()
        .args(["--max-size", "600000000"])
        .now(mech.now())
        .arg("verify")
        .args(trust)
        .stdin(msg)
        .run();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.starts_with("pass"),
        "{out} {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The peer verifies it: `openssl cms -verify`, or `gpg --verify` of the signed part.
fn peer_verify(mech: Mech, dir: &Path, msg: &[u8]) {
    match mech {
        Mech::Smime => {
            let input = pgp::write(dir, "peer-signed.eml", msg);
            let st = Command::new("openssl")
                .args(["cms", "-verify", "-attime", NOW_UNIX, "-in"])
                .arg(&input)
                .args(["-CAfile", &keys("smime/root.crt"), "-out", "/dev/null"])
                .output()
                .unwrap();
            assert!(st.status.success(), "openssl cms -verify: {st:?}");
        }
        Mech::Pgp => {
            let crlf = fixtures::to_crlf(msg);
            let boundary = pgp::top_param(&crlf, "boundary");
            let delim = format!("--{boundary}\r\n");
            let start = pgp::find(&crlf, delim.as_bytes()).unwrap() + delim.len();
            let end_delim = format!("\r\n--{boundary}\r\n");
            let end = start + pgp::find(&crlf[start..], end_delim.as_bytes()).unwrap();
            let part = pgp::write(dir, "part", &crlf[start..end]);
            let parts = pgp::split_parts(&crlf);
            let sig = pgp::write(dir, "part.asc", &pgp::part_body(&parts[1]));
            let g = pgp::Gpg::new(&[], &["alice"]);
            let (good, _, err) = g.run(
                &["--verify", sig.to_str().unwrap(), part.to_str().unwrap()],
                b"",
            );
            assert!(good, "gpg --verify: {err}");
        }
    }
}

fn big_file(dir: &Path, size: usize) -> PathBuf {
    let _turn = lock(Resource::Measured);
    let p = dir.join(format!("big-{size}.eml"));
    std::fs::write(&p, message(size, Eol::Lf)).unwrap();
    p
}

fn measured_protect(
    mech: Mech,
    flags: &[&str],
    input: Option<&Path>,
    out: &Path,
    stdin: &[u8],
) -> u64 {
    let mut args: Vec<String> = vec![
        "--max-size".into(),
        "600000000".into(),
        "--now".into(),
        mech.now().into(),
        "protect".into(),
    ];
    args.extend(flags.iter().map(|s| s.to_string()));
    args.extend(["--mechanism".into(), mech.name().into()]);
    args.extend(mech.key_args());
    args.extend(["-o".into(), out.to_string_lossy().into_owned()]);
    args.extend(input.map(|p| p.to_string_lossy().into_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let m = measure::run(&args, stdin);
    assert_eq!(m.code, 0, "{mech:?} {flags:?}: {}", m.stderr);
    m.rss_kib
}

#[test]
fn r13_protect_of_64_mib_in_bounded_memory_and_the_peers_agree() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    let big = big_file(w, 64 * MIB);
    let small = big_file(w, 16 << 10);
    for mech in [Mech::Smime, Mech::Pgp] {
        let base = measured_protect(mech, &["--sign"], Some(&small), &w.join("small.eml"), b"");
        let bound = base + GROWTH_KIB;
        let signed = w.join("signed.eml");
        let rss = measured_protect(mech, &["--sign"], Some(&big), &signed, b"");
        assert!(
            rss < bound,
            "{mech:?} sign from a file: {rss} KiB (bound {bound})"
        );
        let data = std::fs::read(&big).unwrap();
        let piped = w.join("signed-pipe.eml");
        let rss = measured_protect(mech, &["--sign"], None, &piped, &data);
        drop(data);
        assert!(
            rss < bound,
            "{mech:?} sign from a pipe: {rss} KiB (bound {bound})"
        );
        let (a, b) = (
            std::fs::read(&signed).unwrap(),
            std::fs::read(&piped).unwrap(),
        );
        assert!(without_signatures(&a) == without_signatures(&b));
        drop(b);
        peer_verify(mech, w, &a);
        drop(a);
        let both = w.join("both.eml");
        // Encryption within the bound of signing: OpenPGP's packets are framed and armored by
        // ximf in pieces of 64 KiB (src/pgp/seipd.rs), not by Sequoia's filters, which hold
        // 4 MiB per packet and grow scratch buffers to that (20 MiB more, before issue 13 framed them).
        let rss = measured_protect(mech, &["--sign", "--encrypt"], Some(&big), &both, b"");
        assert!(
            rss < bound,
            "{mech:?} sign+encrypt: {rss} KiB (bound {bound})"
        );
        if mech == Mech::Pgp {
            let combined = w.join("combined.eml");
            let flags = ["--sign", "--encrypt", "--pgp-combined"];
            let rss = measured_protect(mech, &flags, Some(&big), &combined, b"");
            assert!(rss < bound, "{mech:?} combined: {rss} KiB (bound {bound})");
            let data = std::fs::read(&big).unwrap();
            let rss = measured_protect(mech, &["--encrypt"], None, &combined, &data);
            drop(data);
            assert!(
                rss < bound,
                "{mech:?} encrypt from a pipe: {rss} KiB (bound {bound})"
            );
        }
        let plain = peer_decrypt(mech, w, &std::fs::read(&both).unwrap());
        assert!(
            plain.len() > 64 * MIB,
            "{mech:?}: the peer decrypted {}",
            plain.len()
        );
        let lines = lines(64 * MIB);
        let needle = &fixtures::to_crlf(&lines)[..4096];
        assert!(
            pgp::find(&plain, needle).is_some(),
            "{mech:?}: the body is in it"
        );
    }
}

#[test]
fn r13_unreadable_or_too_large_input_gives_its_code_and_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    let out = w.join("out.eml");
    let run = |input: &Path, extra: &[&str]| {
        Ximf::new()
            .no_config_env()
            .args(extra)
            .now(NOW)
            .args(["protect", "--sign", "--mechanism", "smime"])
            .args(Mech::Smime.key_args())
            .args(["--stream-threshold", SMALL_THRESHOLD, "-o"])
            .arg(&out)
            .arg(input)
            .run()
    };
    let o = run(&w.join("missing.eml"), &[]);
    assert_eq!(
        o.status.code(),
        Some(66),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.exists());
    let o = run(w, &[]);
    assert!(
        matches!(o.status.code(), Some(66 | 74)),
        "a directory: {o:?}"
    );
    assert!(!out.exists());
    let big = pgp::write(w, "in.eml", &message(300_000, Eol::Lf));
    let o = run(&big, &["--max-size", "200000"]);
    assert_eq!(
        o.status.code(),
        Some(65),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(!out.exists());
    assert!(
        std::fs::read_dir(w).unwrap().count() == 1,
        "no temporary file stays behind"
    );
}

// Issue 13: large bodies that are not 7-bit safe are re-encoded as they are read, never held.

/// 8-bit UTF-8 text lines of varying length, about `size` bytes, LF; every ninth ends in a
/// blank.
fn utf8_lines(size: usize) -> Vec<u8> {
    let line = "Gr\u{fc}\u{df}e aus K\u{f6}ln, caf\u{e9} cr\u{e8}me br\u{fb}l\u{e9}e = 3\u{20ac} \u{2014} ";
    let mut v = Vec::with_capacity(size + 200);
    let mut i = 0usize;
    while v.len() < size {
        let n = 10 + i % 60;
        let s: String = line.chars().cycle().skip(i % 7).take(n).collect();
        v.extend_from_slice(s.trim_end().as_bytes());
        if i.is_multiple_of(9) {
            v.extend_from_slice(b" \t");
        }
        v.push(b'\n');
        i += 1;
    }
    v
}

/// The bodies that must be re-encoded to be signed: (header lines, body), each at least
/// `size` bytes, LF.
fn unsafe_bodies(size: usize) -> Vec<(&'static str, Vec<u8>)> {
    let mut blanks = Vec::new();
    let mut i = 0;
    while blanks.len() < size {
        blanks.extend_from_slice(match i % 4 {
            0 => &b"From the start of a line, mbox would mangle it\n"[..],
            1 => b"a line that ends in blanks  \t \n",
            2 => b"From \n",
            _ => b"a plain line = with an equals sign\n",
        });
        i += 1;
    }
    blanks.extend_from_slice(b"and the last line ends in a blank ");
    let mut long = Vec::new();
    while long.len() < size {
        long.extend(std::iter::repeat_n(b'x', 1500 + long.len() % 97));
        long.push(b'\n');
    }
    // NUL, bare CR, bare LF, CRLF, 8-bit; no line starts with `--`.
    let binary: Vec<u8> = (0..size)
        .map(|i| [0u8, b'\r', b'\n', b'a', 0xff, b'=', b' ', 0x80][i * 7 % 8] ^ (i % 3) as u8)
        .collect();
    let mut bad_qp = Vec::new();
    while bad_qp.len() < size {
        bad_qp.extend_from_slice(b"=41=4=zz=\n==3D caf\xc3\xa9 =\r\nsoft=\nend =\t\n");
    }
    let mut odd_b64 = Vec::new();
    {
        use base64::Engine as _;
        let raw: Vec<u8> = (0..size).map(|i| (i * 131 % 251) as u8).collect();
        let text = base64::engine::general_purpose::STANDARD.encode(raw);
        let mut n = 0;
        let mut rest = text.as_bytes();
        while !rest.is_empty() {
            // Lines of 3 to 1200 characters, some with a trailing blank.
            let len = [3, 1200, 76, 1001, 17][n % 5].min(rest.len());
            odd_b64.extend_from_slice(&rest[..len]);
            if n.is_multiple_of(3) {
                odd_b64.push(b' ');
            }
            odd_b64.push(b'\n');
            rest = &rest[len..];
            n += 1;
        }
    }
    vec![
        (
            "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n",
            utf8_lines(size),
        ),
        ("Content-Type: text/plain; charset=us-ascii\n", blanks),
        (
            "Content-Type: text/plain\nContent-Transfer-Encoding: 7bit\n",
            long,
        ),
        (
            "Content-Type: application/octet-stream\nContent-Transfer-Encoding: binary\n\
Content-Disposition: attachment; filename=\"a.bin\"\n",
            binary,
        ),
        (
            "Content-Type: application/octet-stream\nContent-Transfer-Encoding: quoted-printable\n",
            bad_qp,
        ),
        (
            "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64\n",
            odd_b64,
        ),
        // No Content-Type: text/plain, re-encoded; ASCII, so its payload says us-ascii.
        ("X-Part: untyped\n", blanks_only(size)),
        // No Content-Type and 8-bit: the payload says utf-8 (held in memory at the top).
        ("X-Part: untyped 8-bit\n", utf8_lines(size)),
    ]
}

fn blanks_only(size: usize) -> Vec<u8> {
    b"From here, trailing  \n".repeat(size / 22 + 1)
}

const HEAD: &[u8] = b"From: Alice <alice@example.org>\nTo: Bob <bob@example.org>\n\
Subject: Bericht\nDate: Sun, 29 Nov 2026 00:00:00 +0000\nMessage-ID: <r17@example.org>\n\
MIME-Version: 1.0\n";

/// Every body of [`unsafe_bodies`] in one multipart/mixed, declared 8bit (so it becomes 7bit),
/// with a nested multipart/alternative holding the first two again.
fn nested_message(size: usize, eol: Eol) -> Vec<u8> {
    let bodies = unsafe_bodies(size);
    let mut m = HEAD.to_vec();
    m.extend_from_slice(
        b"Content-Type: multipart/mixed; boundary=\"r17-OUTER\"\nContent-Transfer-Encoding: 8bit\n\n\
preamble\n",
    );
    for (head, body) in &bodies {
        m.extend_from_slice(b"--r17-OUTER\n");
        m.extend_from_slice(head.as_bytes());
        m.push(b'\n');
        m.extend_from_slice(body);
        m.push(b'\n');
    }
    m.extend_from_slice(
        b"--r17-OUTER\nContent-Type: multipart/alternative; boundary=\"r17-INNER\"\n\
Content-Transfer-Encoding: binary\n\n",
    );
    for (head, body) in &bodies[..2] {
        m.extend_from_slice(b"--r17-INNER\n");
        m.extend_from_slice(head.as_bytes());
        m.push(b'\n');
        m.extend_from_slice(body);
        m.push(b'\n');
    }
    m.extend_from_slice(b"--r17-INNER--\n\n--r17-OUTER--\n");
    fixtures::eol(&m, eol)
}

/// One body of [`unsafe_bodies`] as the message's own.
fn alone_message(head: &str, body: &[u8], eol: Eol) -> Vec<u8> {
    let mut m = HEAD.to_vec();
    m.extend_from_slice(head.as_bytes());
    m.push(b'\n');
    m.extend_from_slice(body);
    fixtures::eol(&m, eol)
}

/// Streamed and whole `protect` of `msg` agree: byte for byte for S/MIME signing, but for the
/// signature for OpenPGP signing, and once decrypted otherwise. Returns the streamed outputs
/// of signing.
fn streamed_is_whole(msg: &[u8], what: &str, flag_sets: &[&[&str]]) -> Vec<(Mech, Vec<u8>)> {
    let mut signed = Vec::new();
    for mech in [Mech::Smime, Mech::Pgp] {
        for &flags in flag_sets {
            let what = format!("{what} {mech:?} {flags:?}");
            let whole = ok(protect(mech, flags, None, msg), &what);
            let streamed = ok(protect(mech, flags, Some(SMALL_THRESHOLD), msg), &what);
            assert!(
                !streamed.windows(10).any(|w| w == b"ximf-hole-"),
                "{what}: a hole token reached the output"
            );
            if !flags.contains(&"--encrypt") {
                match mech {
                    Mech::Smime => assert!(whole == streamed, "{what}: not byte for byte"),
                    Mech::Pgp => assert!(
                        without_signatures(&whole) == without_signatures(&streamed),
                        "{what}: differs beyond the signature"
                    ),
                }
                signed.push((mech, streamed));
                continue;
            }
            let (a, b) = (decrypt(mech, &whole), decrypt(mech, &streamed));
            assert!(
                without_signatures(&a) == without_signatures(&b),
                "{what}: ximf decrypts other plaintexts"
            );
        }
    }
    signed
}

/// A part the walk reads otherwise than the skeleton: a message/rfc822 whose header starts with
/// an mbox `From ` line, and a digest part without Content-Type doing the same. The skeleton
/// leaves its safe inner body out; the walk sees one text leaf with a `From ` line, which must
/// be re-encoded with the body it stands for, not with the token's text (found in review).
#[test]
fn r13_a_from_line_inside_a_nested_message_is_re_encoded_with_its_body() {
    let body = "a=b and more\r\n".repeat(200);
    for (ct, part_head) in [
        ("multipart/mixed", "Content-Type: message/rfc822\r\n\r\n"),
        ("multipart/digest", "\r\n"),
    ] {
        let msg = format!(
            "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: t\r\n\
             Date: Sun, 29 Nov 2026 00:00:00 +0000\r\nMIME-Version: 1.0\r\n\
             Content-Type: {ct}; boundary=BB\r\n\r\n--BB\r\n{part_head}\
             From someone\r\nContent-Type: application/octet-stream\r\n\r\n{body}\r\n--BB--\r\n"
        );
        for (_, signed) in streamed_is_whole(msg.as_bytes(), ct, &FLAGS) {
            assert!(
                pgp::find(&signed, b"a=3Db").is_some(),
                "{ct}: not re-encoded"
            );
        }
    }
}

/// A body read in (7-bit but for the CR that ends it) that holds the hole token its message
/// would get, worked out from the skeleton as anyone can: it must stay text, never become the
/// other body (found in review).
#[test]
fn r13_a_body_read_in_cannot_carry_a_hole_token() {
    use sha2::Digest as _;
    let head = "From: alice@example.org\r\nTo: bob@example.org\r\nSubject: t\r\n\
                Content-Type: multipart/mixed; boundary=BB\r\n\r\n";
    let (p1, p2, tail) = (
        "--BB\r\nContent-Type: application/octet-stream\r\n\r\n",
        "\r\n--BB\r\nContent-Type: text/plain\r\n\r\n",
        "\r\n--BB--\r\n",
    );
    // With every body left out (--stream-threshold 0) the skeleton is the rest.
    let mut h = sha2::Sha256::new();
    h.update(format!("{head}{p1}{p2}{tail}").as_bytes());
    h.update(0u32.to_be_bytes());
    let hex: String = h.finalize()[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let token = format!("ximf-hole-{hex}-0.");
    let msg = format!("{head}{p1}SECRET-ATTACHMENT\r\n{p2}{token}\r{tail}");
    for flags in FLAGS {
        for mech in [Mech::Smime, Mech::Pgp] {
            let what = format!("{mech:?} {flags:?}");
            let whole = ok(protect(mech, flags, None, msg.as_bytes()), &what);
            let streamed = ok(protect(mech, flags, Some("0"), msg.as_bytes()), &what);
            let (whole, streamed) = match flags.contains(&"--encrypt") {
                true => (decrypt(mech, &whole), decrypt(mech, &streamed)),
                false => (whole, streamed),
            };
            if mech == Mech::Smime && !flags.contains(&"--encrypt") {
                assert!(whole == streamed, "{what}: not byte for byte");
            }
            for out in [&whole, &streamed] {
                assert!(
                    pgp::find(out, token.as_bytes()).is_some(),
                    "{what}: token lost"
                );
                let secrets = out.windows(17).filter(|w| w == b"SECRET-ATTACHMENT");
                assert!(
                    secrets.count() <= 1,
                    "{what}: a body stood in for the token"
                );
            }
        }
    }
}

#[test]
fn r13_streamed_reencoding_is_the_in_memory_one_nested() {
    let dir = tempfile::tempdir().unwrap();
    for eol in BOTH_EOLS {
        let msg = nested_message(6_000, eol);
        for (mech, signed) in streamed_is_whole(&msg, &format!("nested {eol:?}"), &FLAGS) {
            assert!(
                pgp::find(&signed, b"Content-Transfer-Encoding: quoted-printable").is_some()
                    && pgp::find(&signed, b"Content-Transfer-Encoding: 7bit").is_some(),
                "{mech:?}: re-encoded"
            );
            verify_ok(mech, &signed);
            if eol == Eol::Lf {
                peer_verify(mech, dir.path(), &signed);
            }
        }
    }
}

#[test]
fn r13_streamed_reencoding_is_the_in_memory_one_alone() {
    let dir = tempfile::tempdir().unwrap();
    for (head, body) in unsafe_bodies(6_000) {
        for eol in BOTH_EOLS {
            let msg = alone_message(head, &body, eol);
            let what = format!("{} {eol:?}", head.lines().next().unwrap_or(""));
            // Encryption on one convention (each run costs a decryption).
            let flags: &[&[&str]] = match eol {
                Eol::Lf => &FLAGS,
                Eol::Crlf => &FLAGS[..1],
            };
            for (mech, signed) in streamed_is_whole(&msg, &what, flags) {
                verify_ok(mech, &signed);
                if eol == Eol::Lf {
                    peer_verify(mech, dir.path(), &signed);
                }
            }
        }
    }
}

/// Nothing demanded: the message comes out as it came, its unsafe bodies copied as they are.
#[test]
fn r13_unprotected_large_bodies_come_out_as_they_are() {
    for eol in BOTH_EOLS {
        let msg = nested_message(6_000, eol);
        let o = Ximf::new()
            .no_config_env()
            .now(NOW)
            .args(["protect", "--stream-threshold", SMALL_THRESHOLD])
            .stdin(&msg[..])
            .run();
        assert!(ok(o, "nothing demanded") == msg, "{eol:?}");
    }
}

#[test]
fn r13_protect_of_a_64_mib_8bit_text_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let w = dir.path();
    let (big, small) = {
        let _turn = lock(Resource::Measured);
        let head = "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n";
        let big = w.join("big8.eml");
        std::fs::write(&big, alone_message(head, &utf8_lines(64 * MIB), Eol::Lf)).unwrap();
        let small = w.join("small8.eml");
        std::fs::write(&small, alone_message(head, &utf8_lines(16 << 10), Eol::Lf)).unwrap();
        (big, small)
    };
    for mech in [Mech::Smime, Mech::Pgp] {
        let base = measured_protect(mech, &["--sign"], Some(&small), &w.join("s.eml"), b"");
        let bound = base + GROWTH_KIB;
        let signed = w.join("signed8.eml");
        let rss = measured_protect(mech, &["--sign"], Some(&big), &signed, b"");
        assert!(rss < bound, "{mech:?} sign: {rss} KiB (bound {bound})");
        let out = std::fs::read(&signed).unwrap();
        assert!(out.len() > 64 * MIB);
        assert!(pgp::find(&out, b"Content-Transfer-Encoding: quoted-printable").is_some());
        peer_verify(mech, w, &out);
        drop(out);
        std::fs::remove_file(&signed).unwrap();
        let both = w.join("both8.eml");
        let rss = measured_protect(mech, &["--sign", "--encrypt"], Some(&big), &both, b"");
        assert!(
            rss < bound,
            "{mech:?} sign+encrypt: {rss} KiB (bound {bound})"
        );
        let plain = peer_decrypt(mech, w, &std::fs::read(&both).unwrap());
        assert!(
            pgp::find(&plain, b"Gr=C3=BC=C3=9Fe").is_some(),
            "re-encoded inside"
        );
        std::fs::remove_file(&both).unwrap();
    }
}

/// The armored OpenPGP message in a `multipart/encrypted` message.
fn armored_message(msg: &[u8]) -> Vec<u8> {
    let begin = pgp::find(msg, b"-----BEGIN PGP MESSAGE-----").unwrap();
    let end = begin + pgp::find(&msg[begin..], b"-----END PGP MESSAGE-----").unwrap();
    msg[begin..end + 25].to_vec()
}

/// `ximf decrypt` with `who`'s key: (success, output, stderr).
fn ximf_decrypt_as(who: &str, msg: &[u8]) -> (bool, Vec<u8>, String) {
    let o = Ximf::new()
        .no_config_env()
        .now(NOW_PGP)
        .args(["decrypt", "--key", &keys(&format!("pgp/{who}.key"))])
        .stdin(msg)
        .run();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    (o.status.success(), o.stdout, err)
}

/// Issue 13: OpenPGP encryption framed by ximf (SEIPD v1, literal data, armor), held whole and
/// streamed, plain, nested-signed and combined-signed, to an RSA (bob) and a Cv25519 (alice)
/// key: gpg, sq and ximf decrypt it, and check the signature of the combined form; one changed
/// ciphertext octet (the armor checksum made right again) fails the MDC for all three.
#[test]
fn r13_pgp_encryption_decrypts_with_the_peers_for_every_form_and_key_kind() {
    use sequoia_openpgp::armor::{Kind, Reader, ReaderMode, Writer};
    use std::io::{Read as _, Write as _};
    let msg = message(60_000, Eol::Lf);
    let forms: [&[&str]; 3] = [
        &["--encrypt"],
        &["--sign", "--encrypt"],
        &["--sign", "--encrypt", "--pgp-combined"],
    ];
    let gpg: Vec<(&str, pgp::Gpg)> = ["alice", "bob"]
        .into_iter()
        .map(|who| (who, pgp::Gpg::new(&[who], &["alice"])))
        .collect();
    let alice_cert = keys("pgp/alice.cert");
    for threshold in [None, Some(SMALL_THRESHOLD)] {
        for form in forms {
            let what = format!("{form:?} threshold {threshold:?}");
            let mut flags = form.to_vec();
            flags.extend(["--recipient", &alice_cert]);
            let out = ok(protect(Mech::Pgp, &flags, threshold, &msg), &what);
            let armored = armored_message(&out);
            let combined = form.len() == 3;
            let mut plains = Vec::new();
            for (who, g) in &gpg {
                let (good, plain, err) = g.run(&["--decrypt"], &armored);
                assert!(good, "{what}: gpg --decrypt as {who}: {err}");
                assert_eq!(
                    combined,
                    err.contains("Good signature"),
                    "{what}: gpg: {err}"
                );
                plains.push(plain);
                let key = keys(&format!("pgp/{who}.key"));
                let mut args = vec!["decrypt", "--recipient-key", &key];
                let alice = keys("pgp/alice.cert");
                if combined {
                    args.extend(["--signer-cert", &alice]);
                }
                let (good, plain, err) = pgp::sq(&args, &armored);
                assert!(good, "{what}: sq decrypt as {who}: {err}");
                if combined {
                    assert!(err.contains("1 good signature"), "{what}: sq: {err}");
                }
                plains.push(plain);
                let (good, plain, err) = ximf_decrypt_as(who, &out);
                assert!(good, "{what}: ximf decrypt as {who}: {err}");
                assert!(
                    pgp::find(&plain, b"The quick brown fox").is_some(),
                    "{what}"
                );
            }
            assert!(
                plains.iter().all(|p| *p == plains[0]),
                "{what}: plaintexts differ"
            );
            assert!(
                pgp::find(&plains[0], b"The quick brown fox").is_some(),
                "{what}: the body"
            );

            // One octet of the ciphertext changed, the armor made right again: the last (in
            // the MDC's SHA-1, so that only the MDC can tell), then one in the middle.
            let mut bin = Vec::new();
            Reader::from_bytes(&armored, ReaderMode::Tolerant(Some(Kind::Message)))
                .read_to_end(&mut bin)
                .unwrap();
            for at in [bin.len() - 1, bin.len() / 2] {
                let mut t = bin.clone();
                t[at] ^= 0x20;
                let mut w = Writer::new(Vec::new(), Kind::Message).unwrap();
                w.write_all(&t).unwrap();
                let tampered_armor = fixtures::to_crlf(&w.finalize().unwrap());
                let (good, _, err) = gpg[1].1.run(&["--decrypt"], &tampered_armor);
                assert!(!good, "{what}: gpg decrypted a changed ciphertext ({at})");
                if at == bin.len() - 1 {
                    assert!(err.contains("manipulated"), "{what}: gpg: {err}");
                }
                let bob_key = keys("pgp/bob.key");
                let (good, _, err) =
                    pgp::sq(&["decrypt", "--recipient-key", &bob_key], &tampered_armor);
                assert!(
                    !good,
                    "{what}: sq decrypted a changed ciphertext ({at}): {err}"
                );
                let mut tampered = out.clone();
                let a = pgp::find(&out, &armored).unwrap();
                tampered.splice(a..a + armored.len(), tampered_armor);
                let (good, plain, err) = ximf_decrypt_as("bob", &tampered);
                assert!(
                    !good && plain.is_empty(),
                    "{what}: ximf decrypted a changed ciphertext ({at})"
                );
                if at == bin.len() - 1 {
                    assert!(err.contains("manipulated"), "{what}: ximf: {err}");
                }
            }
        }
    }
}
