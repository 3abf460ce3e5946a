//! The message core from the outside: byte-exact edits, header parsing limits, encoded values,
//! and robustness against arbitrary input.

use ximf::Error;
use ximf::message::eol::{self, Eol};
use ximf::message::{Field, Message, Placement, encode, read_bounded};

fn parse(b: &[u8]) -> Message {
    Message::parse(b.to_vec()).unwrap_or_else(|e| panic!("{e}: {:?}", String::from_utf8_lossy(b)))
}

fn fields(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs
        .iter()
        .map(|(n, v)| ((*n).to_string(), (*v).to_string()))
        .collect()
}

fn keep_all(_: &Field) -> bool {
    false
}

/// Messages written with LF; every test also runs on the CRLF copy.
const CORPUS: &[&[u8]] = &[
    b"From: alice@example.org\nTo: bob@example.org\nSubject: hi\n\nHello Bob.\n",
    // No body, with and without a final newline.
    b"From: alice@example.org\nSubject: header only\n",
    b"From: alice@example.org\nSubject: no final newline",
    // Empty body after the blank line; body without a final newline.
    b"Subject: empty body\n\n",
    b"Subject: x\n\nlast line has no newline",
    // 8-bit body, including bytes that are not UTF-8.
    b"Subject: 8bit\nContent-Transfer-Encoding: 8bit\n\nCaf\xc3\xa9 \xff\xfe\x00 binary\n",
    // Header-like lines in the body (trap 19).
    b"Subject: real\nX-XIMF-NAME: Amoco\n\nX-XIMF-NAME: fake\nX-XIMF-Security-Classification: fake\n\nmore\n",
    // Folded and encoded fields, whitespace before a colon, an empty value.
    b"Subject: =?UTF-8?Q?Caf=C3=A9?=\n =?ISO-8859-1?Q?cr=E8me?=\nX-Long: one\n\ttwo\n   three\nKeywords :  a, b\nX-Empty:\n\nbody\n",
    // Repeated fields.
    b"Received: from a\n\tby b\nReceived: from c\nX-XIMF-Version: 2.0\nx-ximf-version: 2.0\n\nbody\n",
    // Trailing whitespace in a value; a lone CR in the body (data there).
    b"Subject: trailing   \nX-Other: a b\n\nbo\rdy \n",
];

#[test]
fn a_lone_cr_in_the_header_is_refused() {
    // Some readers break the field there (issue 9): `Subject: hi<CR>From: x` would show them
    // a second From. Refused, never read one way or the other.
    for m in [
        &b"Subject: hi\rFrom: a@b\n\nbody"[..],
        b"X-CR: a\rb\n\nbody\n",
    ] {
        let e = Message::parse(m.to_vec()).expect_err("refused");
        assert!(matches!(e, Error::Message(_)), "{e}");
        assert!(e.to_string().contains("bare CR"), "{e}");
    }
}

fn corpus() -> Vec<Vec<u8>> {
    let mut all = Vec::new();
    for m in CORPUS {
        all.push(m.to_vec());
        all.push(eol::to_crlf(m).into_owned());
    }
    // Mixed conventions: CRLF first, LF later, and the other way round.
    all.push(b"A: 1\r\nB: 2\n  folded\r\n\nbody\r\n".to_vec());
    all.push(b"A: 1\nB: 2\r\n\r\nbody\n".to_vec());
    all
}

#[test]
fn unchanged_edit_is_identity() {
    for m in corpus() {
        let msg = parse(&m);
        for placement in [Placement::End, Placement::Top] {
            assert_eq!(
                msg.edit(&keep_all, &[], placement).expect("no-op edit"),
                m,
                "{:?}",
                String::from_utf8_lossy(&m)
            );
        }
        assert_eq!(msg.into_bytes(), m);
    }
}

#[test]
fn fields_tile_the_header_section() {
    for m in corpus() {
        let msg = parse(&m);
        let mut pos = 0;
        for f in msg.fields() {
            assert_eq!(f.start, pos);
            assert!(f.raw(msg.bytes()).starts_with(f.name.as_bytes()));
            pos = f.end;
        }
        assert_eq!(pos, msg.header_section().len());
        let blank = &m[msg.header_section().len()..msg.body_offset()];
        assert!(matches!(blank, b"" | b"\n" | b"\r\n"), "{blank:?}");
        assert_eq!(&m[msg.body_offset()..], msg.body());
    }
}

#[test]
fn r19_body_lines_are_never_fields() {
    let m = b"Subject: real\n\nX-XIMF-NAME: fake\nX-XIMF-Security-Classification: secret\n";
    let msg = parse(m);
    assert_eq!(msg.fields().len(), 1);
    assert!(msg.get("X-XIMF-NAME").is_none());
    assert_eq!(
        msg.body(),
        b"X-XIMF-NAME: fake\nX-XIMF-Security-Classification: secret\n"
    );
    // Removing every X-XIMF field leaves the body's look-alikes alone.
    let out = msg
        .edit(
            &|f| f.name.to_ascii_lowercase().starts_with("x-ximf-"),
            &fields(&[("X-XIMF-NAME", "Amoco")]),
            Placement::End,
        )
        .expect("edit");
    assert_eq!(
        out,
        b"Subject: real\nX-XIMF-NAME: Amoco\n\nX-XIMF-NAME: fake\nX-XIMF-Security-Classification: secret\n"
    );
}

#[test]
fn adding_splices_only_the_new_fields() {
    let add = fields(&[
        ("X-XIMF-NAME", "Amoco"),
        ("X-XIMF-Version", "2.0"),
        ("X-XIMF-Privacy-Mark", "Réservé"),
    ]);
    for m in corpus() {
        let msg = parse(&m);
        let eol = msg.eol().as_bytes();
        let mut new = Vec::new();
        for (n, v) in &add {
            new.extend_from_slice(&encode::encode_field(n, v, msg.eol()).expect("encodable"));
        }
        assert!(new.ends_with(eol));

        let hl = msg.header_section().len();
        let mut expected = m[..hl].to_vec();
        if !expected.ends_with(b"\n") {
            expected.extend_from_slice(eol);
        }
        expected.extend_from_slice(&new);
        expected.extend_from_slice(&m[hl..]);
        assert_eq!(
            msg.edit(&keep_all, &add, Placement::End).expect("end"),
            expected
        );

        let mut expected = new.clone();
        expected.extend_from_slice(&m);
        assert_eq!(
            msg.edit(&keep_all, &add, Placement::Top).expect("top"),
            expected
        );
    }
}

#[test]
fn removing_takes_the_whole_folded_span() {
    let m = b"A: 1\nX-Long: one\n\ttwo\n   three\nB: 2\nx-long: again\n folded\n\nX-Long: body\n";
    for m in [m.to_vec(), eol::to_crlf(m).into_owned()] {
        let msg = parse(&m);
        let spans: Vec<(usize, usize)> = msg.get_all("X-LONG").map(|f| (f.start, f.end)).collect();
        assert_eq!(spans.len(), 2);
        let mut expected = m[..spans[0].0].to_vec();
        expected.extend_from_slice(&m[spans[0].1..spans[1].0]);
        expected.extend_from_slice(&m[spans[1].1..]);
        let out = msg
            .edit(&|f| f.name_is("x-LONG"), &[], Placement::End)
            .expect("edit");
        assert_eq!(out, expected);
        let again = parse(&out);
        let names: Vec<&str> = again.fields().iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["A", "B"]);
        assert_eq!(again.body(), msg.body());
    }
}

#[test]
fn restamping_replaces_instead_of_duplicating() {
    // Trap 20: existing XIMF fields go, whatever their case, before the new ones come.
    let m = b"From: a@example.org\nx-ximf-name: Old\nX-XIMF-Version: 1.0\nSubject: s\n\nbody\n";
    let msg = parse(m);
    let out = msg
        .edit(
            &|f| f.name_is("X-XIMF-NAME") || f.name_is("X-XIMF-Version"),
            &fields(&[("X-XIMF-NAME", "Amoco"), ("X-XIMF-Version", "2.0")]),
            Placement::End,
        )
        .expect("edit");
    assert_eq!(
        out,
        b"From: a@example.org\nSubject: s\nX-XIMF-NAME: Amoco\nX-XIMF-Version: 2.0\n\nbody\n"
    );
    let again = parse(&out);
    assert_eq!(again.get_all("x-ximf-name").count(), 1);
}

#[test]
fn added_fields_follow_the_message_convention() {
    let add = fields(&[("X-New", &"folded value ".repeat(12))]);
    let cases: [(&[u8], Eol); 4] = [
        (b"A: 1\n\nbody\n", Eol::Lf),
        (b"A: 1\r\n\r\nbody\r\n", Eol::Crlf),
        (b"A: 1\r\nB: 2\n\nbody\n", Eol::Crlf),
        (b"A: 1\nB: 2\r\n\r\nbody\r\n", Eol::Lf),
    ];
    for (m, want) in cases {
        let msg = parse(m);
        assert_eq!(msg.eol(), want);
        assert_eq!(msg.eol(), Eol::detect(m));
        let out = msg.edit(&keep_all, &add, Placement::End).expect("edit");
        let added =
            &out[msg.header_section().len()..out.len() - (m.len() - msg.header_section().len())];
        assert!(added.len() > 78, "the value is folded");
        let breaks = added.iter().filter(|&&b| b == b'\n').count();
        let crlfs = added.windows(2).filter(|w| w == b"\r\n").count();
        match want {
            Eol::Crlf => assert_eq!(breaks, crlfs, "{:?}", String::from_utf8_lossy(added)),
            Eol::Lf => assert_eq!(crlfs, 0, "{:?}", String::from_utf8_lossy(added)),
        }
    }
}

#[test]
fn long_ascii_value_folds_and_reads_back() {
    let value = (1..=60)
        .map(|i| format!("item{i}"))
        .collect::<Vec<_>>()
        .join(" ");
    assert!(value.len() >= 300);
    for m in [&b"A: 1\n\nbody\n"[..], b"A: 1\r\n\r\nbody\r\n"] {
        let msg = parse(m);
        let out = msg
            .edit(
                &keep_all,
                &fields(&[("X-XIMF-Originator-Reference", &value)]),
                Placement::End,
            )
            .expect("edit");
        let again = parse(&out);
        let f = again.get("x-ximf-originator-reference").expect("added");
        let raw = f.raw(again.bytes());
        for line in raw.split(|&b| b == b'\n') {
            assert!(line.len() <= 79, "{}", String::from_utf8_lossy(line)); // 78 + a CR
        }
        assert!(raw.split(|&b| b == b'\n').count() > 4);
        assert_eq!(f.value(again.bytes()), value);
        assert_eq!(again.body(), msg.body());
    }
}

#[test]
fn long_non_ascii_value_reads_back() {
    for value in [
        "é".repeat(100),
        "日本語のテキスト".repeat(12),
        "😀🎉 ".repeat(30),
        "Compte rendu réunion « défense » — niveau très élevé, diffusion restreinte ".repeat(3),
    ] {
        let msg = parse(b"Subject: s\n\nbody\n");
        let out = msg
            .edit(
                &keep_all,
                &fields(&[("X-XIMF-Privacy-Mark", &value)]),
                Placement::Top,
            )
            .expect("edit");
        assert!(out.is_ascii(), "non-ASCII must be encoded");
        let again = parse(&out);
        let f = again.get("X-XIMF-Privacy-Mark").expect("added");
        let raw = String::from_utf8_lossy(f.raw_value(again.bytes())).into_owned();
        for line in raw.lines() {
            assert!(line.len() <= 78, "{line}");
        }
        // Encoded-words are whole on their line and within 75 octets; ASCII words stay plain.
        for word in raw.split_whitespace() {
            if word.starts_with("=?") {
                assert!(word.len() <= 75 && word.ends_with("?="), "{word}");
            } else {
                assert!(word.bytes().all(|b| b.is_ascii_graphic()), "{word}");
            }
        }
        assert_eq!(f.value(again.bytes()), value.trim());
    }
}

#[test]
fn values_are_decoded() {
    let m = b"Subject: =?ISO-8859-1?Q?Caf=E9?= =?UTF-8?B?w6AgbGEgY2FydGU=?=\n\
X-Plain:   spaced   out  \n\
X-Folded: a\n b\n\tc\n\
X-Bad: =?UTF-8?Q?bad=G1?= ok\n\
X-Mixed: =?utf-8?q?d=C3=A9j=C3=A0?= vu\n\n";
    let msg = parse(m);
    let v = |n: &str| msg.value(n).expect("present");
    assert_eq!(v("subject"), "Caféà la carte");
    assert_eq!(v("X-Plain"), "spaced   out");
    assert_eq!(v("X-Folded"), "a b\tc");
    assert_eq!(v("X-Bad"), "=?UTF-8?Q?bad=G1?= ok");
    assert_eq!(v("X-Mixed"), "déjà vu");
}

#[test]
fn encoding_refuses_header_injection() {
    let msg = parse(b"A: 1\n\nbody\n");
    for v in ["x\nBcc: eve@example.org", "x\r\n\r\nbody", "x\0"] {
        match msg.edit(&keep_all, &fields(&[("X-Test", v)]), Placement::End) {
            Err(Error::Value { header, .. }) => assert_eq!(header, "X-Test"),
            other => panic!("{v:?}: {other:?}"),
        }
    }
}

#[test]
fn rejects_non_messages() {
    let bad: &[&[u8]] = &[
        b"",
        b" Subject: leading space\n\n",
        b"\tSubject: leading tab\n\n",
        b"no colon at all\n\n",
        b"From alice@example.org Thu Jan  1 00:00:00 1970\nSubject: x\n\nbody\n",
        b"Sub ject: x\n\n",
        b"Subj\xc3\xa9ct: x\n\n",
        b"Subject: x\nnot a field\n\nbody\n",
        b"\n\nbody",
    ];
    for b in bad {
        match Message::parse(b.to_vec()) {
            Err(e @ Error::Message(_)) => assert_eq!(e.class(), ximf::ErrorClass::Data),
            other => panic!("{:?}: {other:?}", String::from_utf8_lossy(b)),
        }
    }
}

#[test]
fn read_bounded_stops_at_the_limit() {
    let data = vec![7u8; 4096];
    assert_eq!(
        read_bounded(&data[..], 4096).expect("exactly the limit"),
        data
    );
    match read_bounded(&data[..], 4095) {
        Err(e @ Error::TooLarge { limit: 4095 }) => assert_eq!(e.class(), ximf::ErrorClass::Data),
        other => panic!("{other:?}"),
    }
}

#[test]
fn large_body_is_copied_whole() {
    // 64 MiB, the default --max-size: parse scans only the header, edit copies the body once.
    let mut m = b"From: a@example.org\r\nSubject: big\r\n\r\n".to_vec();
    let header = m.len();
    m.resize(64 << 20, b'x');
    for (i, b) in m[header..].iter_mut().enumerate() {
        if i % 77 == 76 {
            *b = b'\n';
        }
    }
    let msg = Message::parse(m.clone()).expect("valid");
    assert_eq!(msg.body().len(), m.len() - header);
    let out = msg
        .edit(
            &|f| f.name_is("subject"),
            &fields(&[("X-XIMF-NAME", "Amoco")]),
            Placement::End,
        )
        .expect("edit");
    let mut expected = b"From: a@example.org\r\nX-XIMF-NAME: Amoco\r\n\r\n".to_vec();
    expected.extend_from_slice(&m[header..]);
    assert!(out == expected, "the body must come through unchanged");
}

/// A tiny xorshift64 generator: deterministic, no new crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: usize) -> usize {
        usize::try_from(self.next() % (n.max(1) as u64)).unwrap_or(0)
    }
}

const INTERESTING: &[u8] = b"\n\r \t:=?_-AZaz09\x00\x7f\x80\xc3\xa9\xff";

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut m = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(m.len() + 1);
        match rng.below(6) {
            0 if at < m.len() => {
                let b = INTERESTING[rng.below(INTERESTING.len())];
                m[at] = b;
            }
            1 => {
                let b = INTERESTING[rng.below(INTERESTING.len())];
                m.insert(at, b);
            }
            2 if at < m.len() => {
                m.remove(at);
            }
            3 => m.truncate(at),
            4 => {
                let end = (at + rng.below(20)).min(m.len());
                let chunk = m[at..end].to_vec();
                let to = rng.below(m.len() + 1);
                m.splice(to..to, chunk);
            }
            _ => {
                let at = at.min(m.len());
                m[at..].reverse();
            }
        }
    }
    m
}

fn check_no_panic(m: &[u8]) {
    let Ok(msg) = Message::parse(m.to_vec()) else {
        return;
    };
    assert_eq!(
        msg.edit(&keep_all, &[], Placement::End)
            .expect("no-op edit"),
        m,
        "{:?}",
        String::from_utf8_lossy(m)
    );
    for f in msg.fields() {
        let _ = f.value(msg.bytes());
    }
    // A real edit of a valid message must give a valid message with the expected fields.
    let first = msg
        .fields()
        .first()
        .map(|f| f.name.clone())
        .unwrap_or_default();
    let out = msg
        .edit(
            &|f| f.name_is(&first),
            &fields(&[("X-Fuzz", "é value")]),
            Placement::End,
        )
        .expect("edit");
    let again = Message::parse(out).expect("edited message parses");
    let kept = msg.fields().iter().filter(|f| !f.name_is(&first)).count();
    assert_eq!(again.fields().len(), kept + 1);
    assert_eq!(again.body(), msg.body());
    assert_eq!(again.value("x-fuzz").as_deref(), Some("é value"));
}

#[test]
fn arbitrary_input_never_panics() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let seeds = corpus();
    let mut parsed = 0;
    for i in 0..3000 {
        let m = if i % 5 == 0 {
            // Pure noise, biased towards the bytes that matter to the parser.
            (0..rng.below(200))
                .map(|_| {
                    if rng.below(2) == 0 {
                        INTERESTING[rng.below(INTERESTING.len())]
                    } else {
                        u8::try_from(rng.below(256)).unwrap_or(0)
                    }
                })
                .collect()
        } else {
            let seed = &seeds[rng.below(seeds.len())];
            mutate(&mut rng, seed)
        };
        if Message::parse(m.clone()).is_ok() {
            parsed += 1;
        }
        check_no_panic(&m);
    }
    // The mutations must exercise both outcomes.
    assert!(parsed > 300 && parsed < 2900, "{parsed}");
}
