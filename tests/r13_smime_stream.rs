//! CMS opened in one pass (issue 13, `ximf::smime::open_stream`): multi-MiB objects made by
//! the real peers (`openssl cms`/`openssl smime`, DER and `-stream` BER; gpgsm's BER) give
//! the same bytes as `openssl cms -decrypt`/`-verify`, the same cipher, weak flag and signer
//! verdicts as the in-memory `open`/`verify_opaque`, and reach `out` before the input is read
//! to its end: streaming shown by counting, not timing. Then the attacks: truncation,
//! tampering, nesting, huge lengths, garbage, failing readers and writers.

#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::rc::Rc;

use ximf::secure::{Keys, SignatureStatus};
use ximf::smime::{self, Credentials, StreamError, Streamed, Trust};

use crate::support::matrix::{gpgsm_binary, run_tool};

/// 2026-11-29T00:00:00Z, when the test PKI is valid.
const NOW: i64 = 1_795_910_400;
const MIB: usize = 1 << 20;
const SIZE: usize = 8 * MIB;

fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/keys/smime")
}

fn k(name: &str) -> String {
    keys_dir().join(name).to_str().unwrap().to_owned()
}

fn creds(name: &str) -> Credentials {
    let key = std::fs::read(keys_dir().join(format!("{name}.key"))).unwrap();
    let chain = std::fs::read(keys_dir().join(format!("{name}.chain.pem"))).unwrap();
    Credentials::load(&key, &[&chain]).unwrap()
}

fn trust() -> Trust {
    let keys = Keys {
        smime_anchors: smime::parse_certs(&std::fs::read(k("root.crt")).unwrap()).unwrap(),
        ..Default::default()
    };
    Trust::new(&keys, NOW)
}

/// About `size` bytes of numbered CRLF lines (CRLF so that gpgsm's input is these bytes).
fn content(size: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(size + 100);
    let mut i = 0u64;
    while v.len() < size {
        v.extend_from_slice(
            format!(
                "{i:08} the quick brown fox jumps over the lazy dog {:016x}\r\n",
                i * 7919
            )
            .as_bytes(),
        );
        i += 1;
    }
    v
}

fn openssl(args: &[&str]) -> Vec<u8> {
    let mut cmd = Command::new("openssl");
    cmd.args(args);
    run_tool(cmd, b"")
}

/// `openssl <cmd> -binary -in CONTENT -outform DER <args>`: the object's bytes (the
/// recipient certificates, positional, last).
fn openssl_make(dir: &Path, plain: &Path, args: &[&str]) -> Vec<u8> {
    let out = dir.join("object.der");
    let (plain, out_s) = (plain.to_str().unwrap(), out.to_str().unwrap());
    let mut all = vec![
        args[0], "-binary", "-outform", "DER", "-in", plain, "-out", out_s,
    ];
    all.extend(&args[1..]);
    openssl(&all);
    std::fs::read(out).unwrap()
}

/// What `openssl cms -decrypt` makes of `object` with `who`'s key.
fn openssl_decrypt(dir: &Path, object: &[u8], who: &str) -> Vec<u8> {
    let p = dir.join("in.der");
    std::fs::write(&p, object).unwrap();
    openssl(&[
        "cms",
        "-decrypt",
        "-binary",
        "-inform",
        "DER",
        "-in",
        p.to_str().unwrap(),
        "-recip",
        &k(&format!("{who}.crt")),
        "-inkey",
        &k(&format!("{who}.key")),
    ])
}

/// What `openssl cms -verify` (against the test root, at NOW) makes of `object`.
fn openssl_verify(dir: &Path, object: &[u8]) -> Vec<u8> {
    let p = dir.join("in.der");
    std::fs::write(&p, object).unwrap();
    openssl(&[
        "cms",
        "-verify",
        "-binary",
        "-inform",
        "DER",
        "-in",
        p.to_str().unwrap(),
        "-CAfile",
        &k("root.crt"),
        "-attime",
        &NOW.to_string(),
        "-purpose",
        "any",
    ])
}

/// A reader over bytes that counts what it handed out.
struct CountingRead<'a> {
    data: &'a [u8],
    read: Rc<Cell<u64>>,
}

impl Read for CountingRead<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.data.read(buf)?;
        self.read.set(self.read.get() + n as u64);
        Ok(n)
    }
}

/// A writer that keeps what it gets and notes how much input had been read at its first byte.
struct Recorder {
    read: Rc<Cell<u64>>,
    first_at: Option<u64>,
    data: Vec<u8>,
}

impl Write for Recorder {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if !buf.is_empty() && self.first_at.is_none() {
            self.first_at = Some(self.read.get());
        }
        self.data.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Runs `open_stream` over `object` with counting ends: (result, output, input read at the
/// first output byte).
fn stream(
    object: &[u8],
    keys: &[Credentials],
    max: u64,
) -> (Result<Streamed, StreamError>, Vec<u8>, Option<u64>) {
    let read = Rc::new(Cell::new(0));
    let mut input = CountingRead {
        data: object,
        read: read.clone(),
    };
    let mut out = Recorder {
        read,
        first_at: None,
        data: Vec::new(),
    };
    let r = smime::open_stream(&mut input, &trust(), keys, max, &mut out);
    (r, out.data, out.first_at)
}

/// The content went out while the input was still being read.
fn assert_streamed(object: &[u8], first_at: Option<u64>, what: &str) {
    let at = first_at.unwrap_or_else(|| panic!("{what}: nothing written"));
    assert!(
        at < object.len() as u64 / 2,
        "{what}: first output after {at} of {} input bytes",
        object.len()
    );
}

/// Opens an enveloped `object` both ways and against openssl: (cipher, weak).
fn check_enveloped(
    dir: &Path,
    object: &[u8],
    who: &str,
    plain: &[u8],
    what: &str,
) -> (String, bool) {
    let (r, out, first_at) = stream(object, &[creds(who)], u64::MAX);
    let Ok(Streamed::Enveloped { cipher, weak }) = r else {
        panic!("{what}: {r:?}");
    };
    assert!(out == plain, "{what}: plaintext differs");
    assert!(
        out == openssl_decrypt(dir, object, who),
        "{what}: differs from openssl"
    );
    assert_streamed(object, first_at, what);
    let ci = smime::read_cms(object).unwrap();
    let opened = smime::open(&ci, &[creds(who)]).unwrap();
    assert!(
        opened.content == plain,
        "{what}: in-memory plaintext differs"
    );
    assert_eq!((opened.cipher, opened.weak), (cipher, weak), "{what}");
    (cipher.to_owned(), weak)
}

/// Opens a signed `object` both ways and against openssl: the signers.
fn check_signed(dir: &Path, object: &[u8], plain: &[u8], what: &str) -> Vec<smime_signer::S> {
    let (r, out, first_at) = stream(object, &[], u64::MAX);
    let Ok(Streamed::Signed { signers }) = r else {
        panic!("{what}: {r:?}");
    };
    assert!(out == plain, "{what}: content differs");
    assert!(
        out == openssl_verify(dir, object),
        "{what}: differs from openssl"
    );
    assert_streamed(object, first_at, what);
    let ci = smime::read_cms(object).unwrap();
    let (mem, content) = smime::verify_opaque(&trust(), &ci);
    assert!(
        content.as_deref() == Some(plain),
        "{what}: in-memory content differs"
    );
    let got: Vec<_> = signers.iter().map(smime_signer::S::of).collect();
    let want: Vec<_> = mem.iter().map(smime_signer::S::of).collect();
    assert_eq!(got, want, "{what}");
    got
}

mod smime_signer {
    use ximf::secure::SignatureStatus;
    use ximf::secure::outcome::Signer;

    /// What two judgements of a signer must agree on.
    #[derive(Debug, PartialEq)]
    pub struct S {
        pub status: SignatureStatus,
        pub display: Option<String>,
        pub digest: Option<String>,
        pub findings: Vec<(&'static str, String)>,
    }

    impl S {
        pub fn of(s: &Signer) -> S {
            S {
                status: s.status,
                display: s.display.clone(),
                digest: s.digest.clone(),
                findings: s
                    .findings
                    .iter()
                    .map(|f| (f.code, f.message.clone()))
                    .collect(),
            }
        }
    }
}

fn is_ber(object: &[u8]) -> bool {
    object.get(1) == Some(&0x80)
}

#[test]
fn openssl_enveloped_multi_mib_streams_like_openssl_decrypts() {
    let dir = tempfile::tempdir().unwrap();
    let plain = content(SIZE);
    let p = dir.path().join("plain");
    std::fs::write(&p, &plain).unwrap();
    let (bob, carol) = (k("bob.crt"), k("carol.crt"));
    let oaep: &[&str] = &[
        "cms",
        "-encrypt",
        "-aes128",
        "-stream",
        "-recip",
        &bob,
        "-keyopt",
        "rsa_padding_mode:oaep",
    ];
    let cases: &[(&[&str], &str, bool, &str)] = &[
        (&["cms", "-encrypt", "-aes256"], "aes256-cbc", false, "bob"),
        (
            &["cms", "-encrypt", "-aes256", "-stream"],
            "aes256-cbc",
            false,
            "bob",
        ),
        (
            &["cms", "-encrypt", "-aes-256-gcm"],
            "aes256-gcm",
            false,
            "bob",
        ),
        (
            &["cms", "-encrypt", "-aes-256-gcm", "-stream"],
            "aes256-gcm",
            false,
            "bob",
        ),
        (
            &["cms", "-encrypt", "-des3", "-stream"],
            "3des-cbc",
            true,
            "bob",
        ),
        (oaep, "aes128-cbc", false, "bob"),
        (
            &["smime", "-encrypt", "-aes256"],
            "aes256-cbc",
            false,
            "bob",
        ),
        (
            &["smime", "-encrypt", "-aes192", "-stream"],
            "aes192-cbc",
            false,
            "bob",
        ),
        (
            &["cms", "-encrypt", "-aes128", "-stream"],
            "aes128-cbc",
            false,
            "carol",
        ),
    ];
    let mut saw_ber = false;
    for (args, cipher, weak, who) in cases {
        let what = args.join(" ");
        let mut all = args.to_vec();
        if !args.contains(&"-recip") {
            all.push(if *who == "bob" { &bob } else { &carol });
        }
        let object = openssl_make(dir.path(), &p, &all);
        assert!(object.len() > SIZE, "{what}");
        if args.contains(&"-stream") {
            assert!(is_ber(&object), "{what}: openssl did not write BER");
            saw_ber = true;
        }
        let got = check_enveloped(dir.path(), &object, who, &plain, &what);
        assert_eq!(got, (cipher.to_string(), *weak), "{what}");
    }
    assert!(saw_ber);
}

#[test]
fn gpgsm_encrypted_and_signed_multi_mib_stream() {
    let dir = tempfile::tempdir().unwrap();
    let plain = content(SIZE);
    let enc = gpgsm_binary(
        "r13-encrypt",
        &plain,
        &["-r", "bob@example.org", "--encrypt"],
        false,
    );
    assert!(is_ber(&enc), "gpgsm writes BER");
    let (cipher, weak) = check_enveloped(dir.path(), &enc, "bob", &plain, "gpgsm --encrypt");
    assert!(cipher.starts_with("aes") && !weak, "{cipher}");

    let signed = gpgsm_binary(
        "r13-sign",
        &plain,
        &["-u", "alice@example.org", "--sign"],
        true,
    );
    assert!(is_ber(&signed), "gpgsm writes BER");
    let signers = check_signed(dir.path(), &signed, &plain, "gpgsm --sign");
    assert_eq!(signers.len(), 1);
    assert_eq!(signers[0].status, SignatureStatus::Valid, "{signers:?}");
    assert_eq!(signers[0].display.as_deref(), Some("alice@example.org"));
}

#[test]
fn openssl_signed_multi_mib_streams_like_openssl_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let plain = content(SIZE);
    let p = dir.path().join("plain");
    std::fs::write(&p, &plain).unwrap();
    let (alice, key, inter) = (k("alice.crt"), k("alice.key"), k("inter.crt"));
    let signer: [&str; 6] = ["-signer", &alice, "-inkey", &key, "-certfile", &inter];
    let cases: &[&[&str]] = &[
        &["cms", "-sign", "-nodetach"],
        &["cms", "-sign", "-nodetach", "-stream"],
        &["cms", "-sign", "-nodetach", "-stream", "-md", "sha512"],
        &["cms", "-sign", "-nodetach", "-noattr"],
        &["smime", "-sign", "-nodetach", "-stream"],
    ];
    for args in cases {
        let what = args.join(" ");
        let mut all = args.to_vec();
        all.extend(signer);
        let object = openssl_make(dir.path(), &p, &all);
        if args.contains(&"-stream") {
            assert!(is_ber(&object), "{what}: openssl did not write BER");
        }
        let signers = check_signed(dir.path(), &object, &plain, &what);
        assert_eq!(signers.len(), 1, "{what}");
        assert_eq!(
            signers[0].status,
            SignatureStatus::Valid,
            "{what}: {signers:?}"
        );
    }
}

/// A small enveloped (GCM, BER) and signed (DER) object for the attacks.
fn small_objects(dir: &Path) -> (Vec<u8>, Vec<u8>, Vec<u8>, Vec<u8>) {
    let plain = content(300 * 1024);
    let p = dir.join("plain");
    std::fs::write(&p, &plain).unwrap();
    let gcm = openssl_make(
        dir,
        &p,
        &["cms", "-encrypt", "-aes-256-gcm", "-stream", &k("bob.crt")],
    );
    let signed = openssl_make(
        dir,
        &p,
        &[
            "cms",
            "-sign",
            "-nodetach",
            "-signer",
            &k("alice.crt"),
            "-inkey",
            &k("alice.key"),
            "-certfile",
            &k("inter.crt"),
        ],
    );
    let cbc = openssl_make(dir, &p, &["cms", "-encrypt", "-aes256", &k("bob.crt")]);
    (plain, gcm, signed, cbc)
}

fn malformed(r: &Result<Streamed, StreamError>) -> bool {
    matches!(r, Err(StreamError::Malformed(_)))
}

#[test]
fn attacks_are_clean_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (plain, gcm, signed, cbc) = small_objects(dir.path());
    let bob = [creds("bob")];

    // Truncated anywhere: an error, never a result (and never a panic).
    for object in [&gcm, &signed, &cbc] {
        for cut in [
            0,
            1,
            2,
            10,
            100,
            1000,
            object.len() / 2,
            object.len() - 40,
            object.len() - 1,
        ] {
            let (r, _, _) = stream(&object[..cut], &bob, u64::MAX);
            assert!(malformed(&r), "cut at {cut}: {r:?}");
        }
    }

    // The GCM tag (the mac, the last OCTET STRING, before the end-of-contents octets).
    let mac_at = (0..gcm.len() - 18)
        .rev()
        .find(|&i| gcm[i..i + 2] == [0x04, 0x10] && gcm[i + 18..].iter().all(|&b| b == 0))
        .expect("the mac")
        + 2;
    let mut t = gcm.clone();
    t[mac_at + 3] ^= 1;
    let (r, _, _) = stream(&t, &bob, u64::MAX);
    match r {
        Err(StreamError::Decrypt(m)) => assert!(m.contains("authentication failed"), "{m}"),
        other => panic!("tampered tag: {other:?}"),
    }
    // The ciphertext of GCM, in the middle.
    let mut t = gcm.clone();
    t[gcm.len() / 2] ^= 0x20;
    let (r, _, _) = stream(&t, &bob, u64::MAX);
    assert!(matches!(r, Err(StreamError::Decrypt(_))), "{r:?}");

    // Signed content changed: the signer is invalid, the (changed) content still goes out.
    let mut t = signed.clone();
    let mid = signed.len() / 2;
    t[mid] ^= 0x01;
    let (r, out, _) = stream(&t, &[], u64::MAX);
    let Ok(Streamed::Signed { signers }) = r else {
        panic!("{r:?}")
    };
    assert_eq!(signers.len(), 1);
    assert_eq!(signers[0].status, SignatureStatus::Invalid);
    assert!(
        signers[0]
            .findings
            .iter()
            .any(|f| f.code == "signature-invalid")
    );
    assert_eq!(out.len(), plain.len());

    // Not a recipient; a limit on the output.
    let (r, _, _) = stream(&cbc, &[creds("alice")], u64::MAX);
    match r {
        Err(StreamError::Decrypt(m)) => assert!(m.contains("no key"), "{m}"),
        other => panic!("not a recipient: {other:?}"),
    }
    let (r, out, _) = stream(&cbc, &bob, plain.len() as u64 - 1);
    assert!(matches!(r, Err(StreamError::Decrypt(_))), "{r:?}");
    assert!(out.len() < plain.len());
    let (r, out, _) = stream(&cbc, &bob, plain.len() as u64);
    assert!(r.is_ok() && out == plain, "{r:?}");
    let (r, out, _) = stream(&signed, &[], 1000);
    assert!(matches!(r, Err(StreamError::Decrypt(_))) && out.len() <= 1000);
}

const OID_SIGNED: [u8; 11] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02,
];
const OID_ENVELOPED: [u8; 11] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x03,
];
const OID_DATA: [u8; 11] = [
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01,
];

fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

#[test]
fn crafted_structures_are_clean_errors() {
    let deep_strings: Vec<u8> = std::iter::repeat_n([0x24u8, 0x80], 100).flatten().collect();
    let deep_seqs: Vec<u8> = std::iter::repeat_n([0x30u8, 0x80], 100).flatten().collect();
    // signed-data whose eContent is constructed OCTET STRINGs nested 100 deep.
    let deep_econtent = cat(&[
        &[0x30, 0x80],
        &OID_SIGNED,
        &[
            0xa0, 0x80, 0x30, 0x80, 0x02, 0x01, 0x01, 0x31, 0x00, 0x30, 0x80,
        ],
        &OID_DATA,
        &[0xa0, 0x80],
        &deep_strings,
    ]);
    // enveloped-data whose originatorInfo (skipped unread) nests 100 deep.
    let deep_originator = cat(&[
        &[0x30, 0x80],
        &OID_ENVELOPED,
        &[0xa0, 0x80, 0x30, 0x80, 0x02, 0x01, 0x00, 0xa0, 0x80],
        &deep_seqs,
    ]);
    // Declared lengths far past the input, at the top and inside.
    let huge_top = cat(&[
        &[0x30, 0x88, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
        &OID_SIGNED,
    ]);
    let huge_oid = [0x30, 0x80, 0x06, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x2a];
    let huge_econtent = cat(&[
        &[0x30, 0x80],
        &OID_SIGNED,
        &[
            0xa0, 0x80, 0x30, 0x80, 0x02, 0x01, 0x01, 0x31, 0x00, 0x30, 0x80,
        ],
        &OID_DATA,
        &[
            0xa0, 0x80, 0x04, 0x88, 0x0f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 1, 2, 3,
        ],
    ]);
    let huge_recipient = cat(&[
        &[0x30, 0x80],
        &OID_ENVELOPED,
        &[
            0xa0, 0x80, 0x30, 0x80, 0x02, 0x01, 0x00, 0x31, 0x80, 0x30, 0x84, 0x7f, 0xff, 0xff,
            0xff,
        ],
    ]);
    let mut garbage = Vec::new();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for _ in 0..4096 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        garbage.push(x as u8);
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("huge top", huge_top),
        ("huge OID", huge_oid.to_vec()),
        ("huge eContent", huge_econtent),
        ("huge RecipientInfo", huge_recipient),
        ("garbage", garbage.clone()),
        ("garbage after a SEQUENCE", cat(&[&[0x30, 0x80], &garbage])),
        (
            "PEM",
            b"-----BEGIN CMS-----\nMIAGCSqGSIb3DQEHA6CAMIACAQAx\n".to_vec(),
        ),
        ("empty", Vec::new()),
    ];
    for (what, data) in cases {
        let (r, _, _) = stream(&data, &[creds("bob")], u64::MAX);
        assert!(malformed(&r), "{what}: {r:?}");
    }
    for (what, data) in [
        ("deep eContent", deep_econtent),
        ("deep originatorInfo", deep_originator),
    ] {
        match stream(&data, &[creds("bob")], u64::MAX).0 {
            Err(StreamError::Malformed(m)) => assert!(m.contains("nested deeper"), "{what}: {m}"),
            other => panic!("{what}: {other:?}"),
        }
    }
    // Another content type is named, not opened.
    let data = cat(&[
        &[0x30, 0x80],
        &OID_DATA,
        &[0xa0, 0x80, 0x04, 0x01, b'x', 0, 0, 0, 0],
    ]);
    let (r, out, _) = stream(&data, &[], u64::MAX);
    assert!(
        matches!(&r, Ok(Streamed::Other(o)) if o == "1.2.840.113549.1.7.1"),
        "{r:?}"
    );
    assert!(out.is_empty());
}

#[test]
fn failing_reader_and_writer_are_io_errors() {
    let dir = tempfile::tempdir().unwrap();
    let (_, gcm, signed, _) = small_objects(dir.path());

    /// Hands out `ok` bytes, then fails.
    struct Failing<'a> {
        data: &'a [u8],
        ok: usize,
    }
    impl Read for Failing<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.ok == 0 {
                return Err(io::Error::other("the disk is on fire"));
            }
            let n = buf.len().min(self.ok);
            let n = self.data.read(&mut buf[..n])?;
            self.ok -= n;
            Ok(n)
        }
    }
    for object in [&gcm, &signed] {
        for ok in [0, 5, 1000, object.len() / 2] {
            let mut input = Failing { data: object, ok };
            let mut out = Vec::new();
            let r = smime::open_stream(&mut input, &trust(), &[creds("bob")], u64::MAX, &mut out);
            assert!(matches!(r, Err(StreamError::Io(_))), "{ok}: {r:?}");
        }
    }

    struct Full;
    impl Write for Full {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::StorageFull, "full"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }
    for object in [&gcm, &signed] {
        let r = smime::open_stream(
            &mut object.as_slice(),
            &trust(),
            &[creds("bob")],
            u64::MAX,
            &mut Full,
        );
        match r {
            Err(StreamError::Io(e)) => assert_eq!(e.kind(), io::ErrorKind::StorageFull),
            other => panic!("{other:?}"),
        }
    }
}

/// The committed fuzz seeds (every CMS form ximf meets: BER and DER, PSS, ECDSA, ECDH, OAEP,
/// GCM, detached, without certificates, certs-only) open in one pass exactly as in memory;
/// every truncation and many single-byte changes of them give clean answers.
#[test]
fn seeds_stream_like_in_memory_and_mutations_never_panic() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/seeds/cms_parse");
    let keys = [creds("bob"), creds("carol")];
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let data = std::fs::read(&path).unwrap();
        let (r, out, _) = stream(&data, &keys, u64::MAX);
        let ci = smime::read_cms(&data).unwrap_or_else(|| panic!("{name}"));
        match (smime::cms_kind(&ci), &r) {
            (smime::CmsKind::Signed, Ok(Streamed::Signed { signers })) => {
                let (mem, content) = smime::verify_opaque(&trust(), &ci);
                let got: Vec<_> = signers.iter().map(smime_signer::S::of).collect();
                let want: Vec<_> = mem.iter().map(smime_signer::S::of).collect();
                assert_eq!(got, want, "{name}");
                assert!(out == content.unwrap_or_default(), "{name}");
            }
            (smime::CmsKind::Enveloped, Ok(Streamed::Enveloped { cipher, weak })) => {
                let o = smime::open(&ci, &keys).unwrap();
                assert_eq!((o.cipher, o.weak), (*cipher, *weak), "{name}");
                assert!(out == o.content, "{name}");
            }
            (smime::CmsKind::Other(oid), Ok(Streamed::Other(o))) => assert_eq!(oid, *o),
            (_, r) => panic!("{name}: {r:?}"),
        }
        seen += 1;

        for cut in 0..data.len() {
            match stream(&data[..cut], &keys, u64::MAX).0 {
                Err(StreamError::Malformed(_)) | Ok(Streamed::Other(_)) => {}
                // A detached signature ends where its eContent would begin.
                Ok(Streamed::Signed { signers }) => assert!(
                    signers.iter().all(|s| s.status == SignatureStatus::Invalid),
                    "{name} cut at {cut}"
                ),
                other => panic!("{name} cut at {cut}: {other:?}"),
            }
        }
        for i in (0..data.len()).step_by(7) {
            for v in [0x80, 0xff] {
                let mut m = data.clone();
                m[i] ^= v | 1;
                let _ = stream(&m, &keys, u64::MAX);
            }
        }
    }
    assert!(seen >= 13, "{seen}");
}
