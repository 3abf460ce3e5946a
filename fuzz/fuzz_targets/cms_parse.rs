//! CMS parsing (DER and BER): SignedData, EnvelopedData, AuthEnvelopedData and whatever else
//! a body may claim to be.
//!
//! The input is a CMS ContentInfo. It is opened in one pass (`smime::open_stream`), read
//! (`smime::read_cms`), classified, verified as
//! opaque signed-data, opened with the test keys when enveloped, verified as a detached
//! signature over the fixed part every seed signs (`seeds/signed-part.txt`), and finally
//! wrapped into messages as an `application/pkcs7-mime` body (base64 and raw) and as the
//! signature of a `multipart/signed`, so the engine judges what the backend returned.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ximf::secure;
use ximf::smime::{self, CmsKind, Trust};
use ximf_fuzz::{NOW, SIGNED_PART};

const MAX_INPUT: usize = 256 << 10;

fn message(content_type: &str, cte: &str, body: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "From: Carol <carol@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: cms\r\n\
         MIME-Version: 1.0\r\nContent-Type: {content_type}\r\n\
         Content-Transfer-Encoding: {cte}\r\n\r\n"
    )
    .into_bytes();
    m.extend_from_slice(body);
    m
}

fuzz_target!(|data: &[u8]| {
    ximf_fuzz::init();
    if data.len() > MAX_INPUT {
        return;
    }
    let keys = ximf_fuzz::keys();
    let trust = Trust::new(keys, NOW);

    if let Some(ci) = smime::read_cms(data) {
        match smime::cms_kind(&ci) {
            CmsKind::Signed => {
                let _ = smime::verify_opaque(&trust, &ci);
            }
            CmsKind::Enveloped => {
                let _ = smime::open(&ci, &keys.smime_signers);
            }
            CmsKind::Other(_) => {}
        }
    }
    // The one-pass reader sees the raw bytes too, BER included, without read_cms's DER copy.
    let _ = smime::open_stream(
        &mut &data[..],
        &trust,
        &keys.smime_signers,
        4 << 20,
        &mut std::io::sink(),
    );
    let _ = smime::verify_detached(&trust, SIGNED_PART, data);

    let b64 = ximf::mime::transfer::base64_lines(data);
    let limits = ximf_fuzz::limits();
    let opaque = message(
        "application/pkcs7-mime; smime-type=signed-data; name=smime.p7m",
        "base64",
        &b64,
    );
    let _ = secure::verify_with(&opaque, keys, NOW, limits);
    let enveloped = message(
        "application/pkcs7-mime; smime-type=enveloped-data; name=smime.p7m",
        "binary",
        data,
    );
    let _ = secure::verify_with(&enveloped, keys, NOW, limits);

    let mut body = b"--=_cms_fuzz\r\n".to_vec();
    body.extend_from_slice(SIGNED_PART);
    body.extend_from_slice(
        b"\r\n--=_cms_fuzz\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\n\
          Content-Transfer-Encoding: base64\r\n\r\n",
    );
    body.extend_from_slice(&b64);
    body.extend_from_slice(b"\r\n--=_cms_fuzz--\r\n");
    let signed = message(
        "multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=sha-256; \
         boundary=\"=_cms_fuzz\"",
        "7bit",
        &body,
    );
    let _ = secure::verify_with(&signed, keys, NOW, limits);
});
