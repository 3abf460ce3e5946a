//! The message and MIME reader and the secure-message walk, on whole messages.
//!
//! The input is a message. It goes through `secure::verify` as it is and converted to CRLF,
//! through `secure::decrypt` and `secure::extract` (with the test keys: bob's and carol's
//! S/MIME keys, alice's and bob's OpenPGP keys, the test root as anchor), through the
//! header-section reader (`Message::parse`) and the profile check (`verify::verify` against the
//! built-in profile), and through the MIME reader directly: every entity's Content-Type,
//! transfer decoding, 7-bit conversion and multipart split, recursively. Read as a skeleton
//! that leaves out every body it may (`ximf::stream`, as a large message is read), it must get
//! the same verdict and the same plaintext: a difference is a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ximf::message::Message;
use ximf::message::eol::to_crlf;
use ximf::mime::{self, Entity};
use ximf::secure;
use ximf::verify::{self, VerifyOptions};
use ximf_fuzz::NOW;

const MAX_INPUT: usize = 1 << 20;

/// Walks the MIME tree below `e`: at most `budget` entities, 8 levels deep.
fn walk(e: &Entity<'_>, depth: usize, budget: &mut usize) {
    if depth > 8 || *budget == 0 {
        return;
    }
    *budget -= 1;
    let ct = e.content_type();
    let _ = e.transfer_encoding();
    let _ = e.decoded_body();
    let _ = mime::transfer::to_seven_bit(e);
    for f in e.fields.iter().take(64) {
        let _ = e.text(f);
    }
    if ct.mime.starts_with("multipart/") {
        let Some(boundary) = ct.param("boundary") else {
            return;
        };
        let body = e.body();
        if let Ok(mp) = mime::multipart::split(body, boundary) {
            for r in mp.parts {
                if let Some(part) = body.get(r) {
                    walk(&Entity::part(part), depth + 1, budget);
                }
            }
        }
    } else if ct.mime == "message/rfc822"
        && let Some(inner) = e.decoded_body()
        && let Ok(m) = Entity::message(&inner)
    {
        walk(&m, depth + 1, budget);
    }
}

/// The verdict and the plaintext of `data` read as a skeleton equal `whole` and `decrypted`.
fn both_ways(
    data: &[u8],
    whole: &ximf::Result<secure::Outcome>,
    decrypted: &ximf::Result<Vec<u8>>,
) {
    let Ok(source) = ximf::stream::Source::spool(data, &mut std::io::empty(), u64::MAX - 1) else {
        return;
    };
    let Ok(Some(s)) = ximf::stream::skeleton::build(&source, 0) else {
        return;
    };
    let origin = std::sync::Arc::new(ximf::stream::Origin {
        source,
        elisions: s.elisions,
        min_elide: 0,
        digests: s.digests,
    });
    let keys = ximf_fuzz::keys();
    let limits = ximf_fuzz::limits();
    let judged = ximf::stream::with_origin(&s.bytes, Some(&origin), || {
        secure::verify_with(&s.bytes, keys, NOW, limits)
    })
    .expect("the spool reads");
    let show = |r: &ximf::Result<secure::Outcome>| match r {
        Ok(o) => format!("{:?} {:?} {:?}", o.findings, o.signature, o.encryption),
        Err(e) => e.to_string(),
    };
    assert_eq!(show(&judged), show(whole), "judged as a skeleton, another verdict");
    let plain = secure::decrypt_source(&s.bytes, Some(&origin), keys, NOW, limits)
        .and_then(|d| d.into_bytes());
    let show = |r: &ximf::Result<Vec<u8>>| match r {
        Ok(p) => format!("{p:?}"),
        Err(e) => e.to_string(),
    };
    assert_eq!(show(&plain), show(decrypted), "decrypted as a skeleton, another plaintext");
}

fuzz_target!(|data: &[u8]| {
    ximf_fuzz::init();
    if data.len() > MAX_INPUT {
        return;
    }
    let keys = ximf_fuzz::keys();
    let limits = ximf_fuzz::limits();

    let _ = secure::verify_with(data, keys, NOW, limits);
    let crlf = to_crlf(data);
    if crlf.len() != data.len() {
        let _ = secure::verify_with(&crlf, keys, NOW, limits);
    }
    let whole = secure::verify_with(data, keys, NOW, limits);
    let decrypted = secure::decrypt_with(data, keys, NOW, limits);
    let _ = secure::extract(data, keys, NOW);
    both_ways(data, &whole, &decrypted);

    if let Ok(top) = Entity::message(data) {
        let mut budget = 256;
        walk(&top, 0, &mut budget);
    }

    if let Ok(m) = Message::parse(data.to_vec()) {
        let _ = m.eol();
        let _ = m.value("Subject");
        let _ = m.view();
        let mut opts = VerifyOptions::default();
        opts.now = NOW;
        opts.limits = limits;
        let report = verify::verify(&m, ximf_fuzz::builtin_profile(), &opts);
        let _ = report.passes();
    }
});
