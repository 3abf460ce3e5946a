//! RFC 2047 encoded-words and RFC 5322 folding, both ways.
//!
//! Any input is decoded (`decode_words`, `decode_unstructured`, `unfold`). A UTF-8 input is
//! also a header value: `encode_field` must refuse it exactly when it holds CR, LF or NUL, and
//! otherwise decoding what it wrote must give the value back (leading and trailing blanks
//! trimmed), both with `decode_unstructured` on the raw value and through `Message::parse`.
//! Every line break it writes must be a fold (followed by a blank).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ximf::message::Message;
use ximf::message::encode::{decode_unstructured, decode_words, encode_field, unfold};
use ximf::message::eol::Eol;

fn round_trip(name: &str, value: &str, eol: Eol) {
    let refused = value.contains(['\r', '\n', '\0']);
    let out = match encode_field(name, value, eol) {
        Ok(out) => out,
        Err(e) => {
            assert!(refused, "encode_field refused a valid value: {e}");
            return;
        }
    };
    assert!(!refused, "encode_field accepted CR, LF or NUL");
    let expected = value.trim_matches([' ', '\t']);
    let end = eol.as_bytes();
    assert!(out.starts_with(format!("{name}: ").as_bytes()));
    assert!(out.ends_with(end));
    let raw = &out[name.len() + 1..out.len() - end.len()];
    // Every line break inside is a fold: followed by a space or a tab.
    for (i, w) in raw.windows(2).enumerate() {
        if w[0] == b'\n' {
            assert!(
                matches!(w[1], b' ' | b'\t'),
                "line break at {i} not followed by a blank: {:?}",
                String::from_utf8_lossy(&out)
            );
        }
    }
    assert!(!raw.ends_with(b"\n"));
    assert_eq!(
        decode_unstructured(raw),
        expected,
        "decode(encode(x)) != x; encoded: {:?}",
        String::from_utf8_lossy(&out)
    );
    let mut msg = out.clone();
    msg.extend_from_slice(b"From: a@example.org");
    msg.extend_from_slice(end);
    msg.extend_from_slice(end);
    msg.extend_from_slice(b"body");
    match Message::parse(msg) {
        Ok(m) => assert_eq!(m.value(name).as_deref(), Some(expected)),
        Err(e) => panic!("an encoded field does not parse: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    ximf_fuzz::init();
    let _ = decode_words(data);
    let _ = decode_unstructured(data);
    let _ = unfold(data);
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    round_trip("Subject", s, Eol::Crlf);
    round_trip("X-XIMF-Subject-Indicator-Codes", s, Eol::Lf);
});
