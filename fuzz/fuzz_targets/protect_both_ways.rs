//! `protect` of a message held whole and of the same message streamed (issue 13): every body
//! the skeleton may leave out left in the source, re-encoded or copied from there. S/MIME
//! signing with alice's RSA key at a fixed time is deterministic, so the two outputs must be
//! the same bytes, and the two paths must fail alike: a difference is a crash. (The two
//! bugs a review found in the streamed path, a hole token carried in by a body read whole and
//! a nested message read otherwise by the skeleton than by the 7-bit walk, are what this
//! target looks for.)
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use ximf::message::Message;
use ximf::message::eol::Eol;
use ximf::protect::{Demands, Keys, Mechanism, protect_content};
use ximf::stream::{Source, Splice, Whole, skeleton};
use ximf_fuzz::NOW;

const MAX_INPUT: usize = 1 << 18;

fn signer() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        ximf_fuzz::init();
        let k = Keys::load(
            &[include_bytes!("../../testdata/keys/smime/alice.key").to_vec()],
            &[include_bytes!("../../testdata/keys/smime/alice.chain.pem").to_vec()],
            &[],
            &[],
            &[],
        );
        match k {
            Ok(k) => k,
            Err(e) => panic!("alice's key does not load: {e}"),
        }
    })
}

/// The streamed output, or why it failed (the error's text).
fn streamed(data: &[u8], demands: &Demands) -> Option<Result<Vec<u8>, String>> {
    let source = Source::spool(data, &mut std::io::empty(), u64::MAX - 1).ok()?;
    let size = source.len();
    let s = skeleton::build(&source, 0).ok()??;
    let (splice, bytes) = Splice::new(source, s).ok()?;
    let message = match Message::standing_for(bytes, size) {
        Ok(m) => m,
        Err(e) => return Some(Err(e.to_string())),
    };
    let eol = Eol::detect(message.bytes());
    let out = match protect_content(&message, demands, signer(), NOW, (&[], None), &splice) {
        Ok(out) => out,
        Err(e) => return Some(Err(e.to_string())),
    };
    let mut written = Vec::new();
    Some(
        splice
            .write(&out, Some(eol), &mut written)
            .map(|()| written)
            .map_err(|e| e.to_string()),
    )
}

fuzz_target!(|data: &[u8]| {
    if data.len() > MAX_INPUT {
        return;
    }
    let mut demands = Demands::default();
    demands.sign = true;
    demands.mechanisms = vec![Mechanism::Smime];
    let whole = Message::parse(data.to_vec())
        .and_then(|m| protect_content(&m, &demands, signer(), NOW, (&[], None), &Whole));
    // A message the skeleton cannot read is protected whole, as the command does.
    let Some(streamed) = streamed(data, &demands) else {
        return;
    };
    match (whole, streamed) {
        (Ok(a), Ok(b)) => assert!(a == b, "streamed protect wrote other bytes"),
        (Err(_), Err(_)) => {}
        (Ok(_), Err(e)) => panic!("only the streamed path failed: {e}"),
        (Err(e), Ok(_)) => panic!("only the whole path failed: {e}"),
    }
});
