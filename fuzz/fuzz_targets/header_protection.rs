//! Header protection: the outer header against the protected copies (RFC 9788 injected
//! fields, `HP-Outer`, RFC 7508 SecureHeaderFields, the ESS security label).
//!
//! The input is `OUTER\0INNER\0FLAGS BODY`: two header sections and a flag octet. Three ways in:
//!
//! 1. The comparison functions directly, for every mode and with and without encryption; the
//!    inner fields also become a SecureHeaderFields attribute and an ESS label, whose DER
//!    encodings must read back to the same DER.
//! 2. A PGP/MIME `multipart/signed` template whose signed part carries INNER (an `hp`
//!    parameter added unless INNER has a Content-Type) and whose outer header is OUTER: the
//!    signature does not verify, the comparison still runs.
//! 3. `protect` on a message whose header is INNER (OpenPGP signed, OpenPGP signed and
//!    encrypted to alice, or S/MIME signed by carol with SecureHeaderFields and a label), after
//!    which the outer header is replaced by OUTER: valid signatures, fuzzer-chosen outer fields.
//!
//! Every variant then goes through `secure::verify` (and `secure::decrypt` when encrypted).
#![no_main]

use libfuzzer_sys::fuzz_target;
use ximf::message::Message;
use ximf::mime::{self, Entity};
use ximf::protect::{self, Demands, Mechanism};
use ximf::secure::{self, header_protection as hp};
use ximf::smime::{EssLabel, HeaderStatus, SecureHeaders};
use ximf_fuzz::NOW;

const MAX_INPUT: usize = 64 << 10;

/// A header section ending in exactly one CRLF (empty when there is nothing).
fn section(raw: &[u8]) -> Vec<u8> {
    let mut end = raw.len();
    while end > 0 && matches!(raw[end - 1], b'\r' | b'\n') {
        end -= 1;
    }
    let mut v = raw[..end].to_vec();
    if !v.is_empty() {
        v.extend_from_slice(b"\r\n");
    }
    v
}

fn direct(outer: &[u8], inner: &[u8], flags: u8, body: &[u8]) {
    let mut top_raw = outer.to_vec();
    top_raw.extend_from_slice(b"\r\nbody\r\n");
    let Ok(top) = Entity::message(&top_raw) else {
        return;
    };
    let mut part_raw = inner.to_vec();
    part_raw.extend_from_slice(b"\r\n");
    part_raw.extend_from_slice(body);
    let pe = Entity::part(&part_raw);
    let _ = hp::mode(&pe, false);
    for mode in [
        hp::Mode::Clear,
        hp::Mode::Cipher,
        hp::Mode::V1,
        hp::Mode::Wrapped,
    ] {
        for encrypted in [false, true] {
            let mut p = hp::Protection::default();
            hp::compare_injected(&mut p, &top, &pe, mode, encrypted);
            hp::unprotected(&mut p, &top, true);
        }
    }
    let mut p = hp::Protection::default();
    hp::unprotected(&mut p, &top, false);
    for f in top.fields.iter().take(32) {
        let _ = hp::is_trace(&f.name);
        let _ = mime::is_structural(&f.name);
    }

    // The inner fields as RFC 7508 SecureHeaderFields: the DER must read back as written.
    let statuses = [
        HeaderStatus::Duplicated,
        HeaderStatus::Deleted,
        HeaderStatus::Modified,
    ];
    let shf = SecureHeaders {
        relaxed: flags & 0x10 != 0,
        fields: pe
            .fields
            .iter()
            .take(32)
            .enumerate()
            .map(|(i, f)| {
                let s = statuses[(usize::from(flags) + i) % 3];
                (f.name.clone(), pe.text(f), s)
            })
            .collect(),
        legacy: false,
    };
    if let Ok(der) = shf.to_der() {
        let back = SecureHeaders::from_der(&der, false).map(|b| b.to_der());
        assert_eq!(back, Some(Ok(der)), "SecureHeaderFields DER round trip");
    }
    let mut p = hp::Protection::default();
    hp::compare_secure_headers(&mut p, &top, &shf);

    // An ESS label from the inner classification fields.
    let field = |n: &str| pe.first(n).map(|f| pe.text(f));
    let label = EssLabel {
        policy: field("X-XIMF-Security-Policy-Identifier")
            .unwrap_or_else(|| "1.3.6.1.4.1.32473.1.1".into()),
        classification: field("X-XIMF-Security-Classification-Identifier")
            .and_then(|c| c.trim().parse().ok()),
        privacy_mark: field("X-XIMF-Privacy-Mark"),
        categories: Vec::new(),
    };
    if let Ok(der) = label.to_der() {
        let back = EssLabel::from_der(&der).map(|b| b.to_der());
        assert_eq!(back, Some(Ok(der)), "ESS label DER round trip");
    }
    let mut p = hp::Protection::default();
    let _ = hp::compare_label(&mut p, &top, &Ok(label));
    let _ = hp::compare_label(&mut p, &top, &Err("malformed".into()));
}

fn template(outer: &[u8], inner: &[u8], flags: u8, body: &[u8]) -> Vec<u8> {
    let mut m = outer.to_vec();
    m.extend_from_slice(
        b"MIME-Version: 1.0\r\nContent-Type: multipart/signed; micalg=pgp-sha256;\r\n \
          protocol=\"application/pgp-signature\"; boundary=\"=_hp_fuzz\"\r\n\r\n--=_hp_fuzz\r\n",
    );
    m.extend_from_slice(inner);
    let has_ct = Entity::part(inner)
        .fields
        .iter()
        .any(|f| f.name.eq_ignore_ascii_case("Content-Type"));
    if !has_ct {
        let param = match flags & 3 {
            0 => "; hp=\"clear\"",
            1 => "; hp=\"cipher\"",
            2 => "; protected-headers=\"v1\"",
            _ => "",
        };
        m.extend_from_slice(
            format!("Content-Type: text/plain; charset=utf-8{param}\r\n").as_bytes(),
        );
    }
    m.extend_from_slice(b"\r\n");
    m.extend_from_slice(body);
    m.extend_from_slice(
        b"\r\n--=_hp_fuzz\r\nContent-Type: application/pgp-signature\r\n\r\n\
          -----BEGIN PGP SIGNATURE-----\r\n\r\n\
          iHUEARYKAB0WIQQAAAAAAAAAAAAAAAAAAAAAAAAAAAUCaAAAAAAACgkQAAAAAAAAAAAA\r\n\
          AAEAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\r\n\
          -----END PGP SIGNATURE-----\r\n--=_hp_fuzz--\r\n",
    );
    m
}

/// `protect`s a message whose header is INNER, then puts OUTER in place of the outer
/// header's non-structural fields.
fn protected(outer: &[u8], inner: &[u8], flags: u8, body: &[u8]) -> Option<Vec<u8>> {
    let (pgp, smime) = ximf_fuzz::signing_keys();
    let mut src = inner.to_vec();
    if !Entity::part(inner)
        .fields
        .iter()
        .any(|f| f.name.eq_ignore_ascii_case("From"))
    {
        src.extend_from_slice(b"From: Alice <alice@example.org>\r\n");
    }
    src.extend_from_slice(b"\r\n");
    src.extend_from_slice(body);
    let message = Message::parse(src).ok()?;
    let mut d = Demands {
        sign: true,
        ..Demands::default()
    };
    let keys = match (flags >> 2) % 3 {
        0 => {
            d.mechanisms = vec![Mechanism::OpenPgp];
            pgp
        }
        1 => {
            d.mechanisms = vec![Mechanism::OpenPgp];
            d.encrypt = true;
            pgp
        }
        _ => {
            d.mechanisms = vec![Mechanism::Smime];
            d.secure_headers = vec!["From".into(), "To".into(), "Subject".into()];
            d.add_label_from_headers(&message);
            smime
        }
    };
    d.header_protection = flags & 0x20 == 0;
    let out = protect::protect(&message, &d, keys, NOW).ok()?;
    let top = Entity::message(&out).ok()?;
    let mut m = outer.to_vec();
    for f in top.fields.iter().filter(|f| mime::is_structural(&f.name)) {
        m.extend_from_slice(&out[f.span.clone()]);
        m.extend_from_slice(b"\r\n");
    }
    m.extend_from_slice(b"\r\n");
    m.extend_from_slice(top.body());
    Some(m)
}

fuzz_target!(|data: &[u8]| {
    ximf_fuzz::init();
    if data.len() > MAX_INPUT {
        return;
    }
    let parts = ximf_fuzz::split_nul(data, 3);
    let outer = section(parts[0]);
    let inner = section(parts.get(1).copied().unwrap_or_default());
    let rest = parts.get(2).copied().unwrap_or_default();
    let (flags, body) = match rest.split_first() {
        Some((f, b)) => (*f, b),
        None => (0, &b"Hello.\r\n"[..]),
    };
    if outer.is_empty() {
        return;
    }
    direct(&outer, &inner, flags, body);

    let keys = ximf_fuzz::keys();
    let limits = ximf_fuzz::limits();
    let t = template(&outer, &inner, flags, body);
    let _ = secure::verify_with(&t, keys, NOW, limits);

    if flags & 0x40 != 0
        && let Some(m) = protected(&outer, &inner, flags, body)
    {
        let _ = secure::verify_with(&m, keys, NOW, limits);
        if (flags >> 2) % 3 == 1 {
            // Encrypted to alice: her keys open it.
            let alice = &ximf_fuzz::signing_keys().0;
            let _ = secure::decrypt_with(&m, alice, NOW, limits);
            let _ = secure::verify_with(&m, alice, NOW, limits);
        }
    }
});
