//! OpenPGP armor and packets, through the verify and decrypt paths.
//!
//! The input is OpenPGP data, armored or binary. It is read as a key file
//! (`pgp::load_keys`), then placed where mail carries it: as the signature part of a PGP/MIME
//! `multipart/signed` over the fixed part every seed signs (`seeds/signed-part.txt`), as the
//! body of a PGP/MIME `multipart/encrypted` (verified, and decrypted with bob's and alice's
//! keys from `testdata/keys/pgp`), and as an inline text body (cleartext-signed or armored
//! message). The engine's strict dearmoring and framing checks run before Sequoia does.
#![no_main]

use libfuzzer_sys::fuzz_target;
use ximf::secure;
use ximf_fuzz::{NOW, SIGNED_PART};

const MAX_INPUT: usize = 256 << 10;
const HEAD: &str = "From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\n\
                    Subject: pgp\r\nMIME-Version: 1.0\r\n";

fn signed(sig: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "{HEAD}Content-Type: multipart/signed; micalg=pgp-sha256;\r\n \
         protocol=\"application/pgp-signature\"; boundary=\"=_pgp_fuzz\"\r\n\r\n--=_pgp_fuzz\r\n"
    )
    .into_bytes();
    m.extend_from_slice(SIGNED_PART);
    m.extend_from_slice(
        b"\r\n--=_pgp_fuzz\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\r\n",
    );
    m.extend_from_slice(sig);
    m.extend_from_slice(b"\r\n--=_pgp_fuzz--\r\n");
    m
}

fn encrypted(body: &[u8]) -> Vec<u8> {
    let mut m = format!(
        "{HEAD}Content-Type: multipart/encrypted;\r\n \
         protocol=\"application/pgp-encrypted\"; boundary=\"=_pgp_fuzz\"\r\n\r\n\
         --=_pgp_fuzz\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n\
         --=_pgp_fuzz\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\r\n"
    )
    .into_bytes();
    m.extend_from_slice(body);
    m.extend_from_slice(b"\r\n--=_pgp_fuzz--\r\n");
    m
}

fn inline(body: &[u8]) -> Vec<u8> {
    let mut m = format!("{HEAD}Content-Type: text/plain; charset=utf-8\r\n\r\n").into_bytes();
    m.extend_from_slice(body);
    m
}

fuzz_target!(|data: &[u8]| {
    ximf_fuzz::init();
    if data.len() > MAX_INPUT {
        return;
    }
    let keys = ximf_fuzz::keys();
    let limits = ximf_fuzz::limits();

    let _ = ximf::pgp::load_keys(data);
    let _ = secure::verify_with(&signed(data), keys, NOW, limits);
    let enc = encrypted(data);
    let _ = secure::verify_with(&enc, keys, NOW, limits);
    let _ = secure::decrypt_with(&enc, keys, NOW, limits);
    let _ = secure::verify_with(&inline(data), keys, NOW, limits);
});
