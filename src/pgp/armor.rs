//! Strict ASCII armor (RFC 9580 §6.2) decoding, and an OpenPGP packet framing check, both
//! written so that no input makes them panic.
//!
//! Why not Sequoia's armor reader: on a character outside the base64 alphabet (one `*` in the
//! middle of a PGP/MIME part) it hands the packet parser the octets decoded so far as if the
//! message ended there, and only reports "Invalid ASCII Armor footer" afterwards. The packet
//! parser then sees a truncated message, and a truncated SEIPD v1 packet with 18 to 39 octets of
//! ciphertext makes sequoia-openpgp 2.4.2 panic (`src/parse.rs:6367`,
//! `reader.data_consume_hard(bl + 2).unwrap()` in `PacketParser::decrypt_`, which needs the
//! quick-check octets *and* the 22-octet MDC reserve to be present). [`dearmor`] refuses
//! corrupted armor before Sequoia sees it; [`check_framing`] refuses truncated packets and
//! SEIPD v1 packets too short for that `unwrap`, armored or not.

// Until src/pgp/verify.rs calls these (see the module doc); remove with the first caller.

use crate::{Error, Result};

/// Decodes ASCII armor strictly; binary OpenPGP data (first octet with bit 7 set) is returned
/// unchanged.
///
/// Accepted: optional blank lines, `-----BEGIN PGP <KIND>-----`, armor headers (`Key: Value`),
/// one blank line, base64 lines (the base64 alphabet, spaces and tabs only; `=` padding at the
/// end), an optional `=XXXX` CRC-24 line (checked), `-----END PGP <KIND>-----` with the same
/// kind, and trailing whitespace only. LF or CRLF line ends; trailing blanks on a line ignored.
/// A cleartext signed message (`BEGIN PGP SIGNED MESSAGE`) is not armor and is refused.
///
/// Anything else is an [`Error::Message`] naming the line: this never panics.
pub(crate) fn dearmor(data: &[u8]) -> Result<Vec<u8>> {
    match data.first() {
        None => return Err(bad("no OpenPGP data")),
        Some(b) if b & 0x80 != 0 => return Ok(data.to_vec()),
        Some(_) => {}
    }
    let mut lines = data
        .split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, trim_end(l)));

    // Blank lines, then the BEGIN line.
    let kind = loop {
        let Some((n, line)) = lines.next() else {
            return Err(bad("no ASCII armor BEGIN line"));
        };
        if line.is_empty() {
            continue;
        }
        let kind = line
            .strip_prefix(b"-----BEGIN PGP ")
            .and_then(|l| l.strip_suffix(b"-----"))
            .filter(|k| valid_kind(k))
            .ok_or_else(|| bad_line(n, "not an ASCII armor BEGIN line"))?;
        if kind == b"SIGNED MESSAGE" {
            return Err(bad_line(n, "a cleartext signed message is not ASCII armor"));
        }
        break kind;
    };

    // Armor headers up to the blank line.
    loop {
        let Some((n, line)) = lines.next() else {
            return Err(bad("ASCII armor ends in its header"));
        };
        if line.is_empty() {
            break;
        }
        if !valid_header(line) {
            return Err(bad_line(
                n,
                "not an armor header (or the blank line after the BEGIN line is missing)",
            ));
        }
    }

    // Base64 lines, the optional checksum, the END line.
    let mut b64 = Vec::with_capacity(data.len());
    let mut crc: Option<&[u8]> = None;
    loop {
        let Some((n, line)) = lines.next() else {
            return Err(bad("ASCII armor without its END line"));
        };
        if line.is_empty() {
            continue;
        }
        if line.starts_with(b"-----") {
            let end = line
                .strip_prefix(b"-----END PGP ")
                .and_then(|l| l.strip_suffix(b"-----"));
            if end != Some(kind) {
                return Err(bad_line(
                    n,
                    &format!(
                        "expected -----END PGP {}-----",
                        String::from_utf8_lossy(kind)
                    ),
                ));
            }
            break;
        }
        if crc.is_some() {
            return Err(bad_line(n, "data after the armor checksum"));
        }
        if let [b'=', sum @ ..] = line
            && sum.len() == 4
            && sum.iter().all(|&b| is_b64(b) && b != b'=')
        {
            crc = Some(sum);
            continue;
        }
        if let Some(&c) = line
            .iter()
            .find(|&&b| !is_b64(b) && b != b' ' && b != b'\t')
        {
            return Err(bad_line(n, &format!("{} is not base64", describe(c))));
        }
        b64.extend(line.iter().filter(|&&b| b != b' ' && b != b'\t'));
    }
    if let Some((n, _)) = lines.find(|(_, l)| !l.is_empty()) {
        return Err(bad_line(n, "data after the armor END line"));
    }

    let decoded = B64
        .decode(&b64)
        .map_err(|e| bad(&format!("bad base64 in the armor body: {e}")))?;
    if decoded.is_empty() {
        return Err(bad("empty ASCII armor body"));
    }
    if let Some(sum) = crc {
        let want = B64
            .decode(sum)
            .map_err(|e| bad(&format!("bad armor checksum: {e}")))?;
        let got = crc24(&decoded).to_be_bytes();
        if want.as_slice() != &got[1..] {
            return Err(bad(
                "armor checksum mismatch: the armored data is corrupted",
            ));
        }
    }
    Ok(decoded)
}

/// The smallest SEIPD v1 ciphertext Sequoia can start decrypting without panicking: the largest
/// block size (16), the two quick-check octets, and the MDC packet (22 octets) it keeps in
/// reserve. No valid message is shorter: with 8-octet blocks, 10 + an empty literal data packet
/// (8) + the MDC (22) is 40 too.
const MIN_SEIPD1_CIPHERTEXT: usize = 16 + 2 + 22;

/// Checks the packet framing of a binary OpenPGP message (RFC 9580 §4.2): every top-level
/// packet (new or legacy format, partial body lengths included) is complete, and every SEIPD v1
/// packet carries at least [`MIN_SEIPD1_CIPHERTEXT`] octets of ciphertext.
///
/// Packets nested inside compressed or encrypted data are not seen: this is a pre-check that
/// turns the common accidents (truncated or corrupted mail) into errors, not a parser.
pub(crate) fn check_framing(data: &[u8]) -> Result<()> {
    if data.is_empty() {
        return Err(bad("no OpenPGP data"));
    }
    let truncated = |at: usize| {
        bad(&format!(
            "the OpenPGP message is truncated (packet at octet {at})"
        ))
    };
    let mut pos = 0;
    while pos < data.len() {
        let start = pos;
        let ctb = data[pos];
        pos += 1;
        if ctb & 0x80 == 0 {
            return Err(bad(&format!("no OpenPGP packet header at octet {start}")));
        }
        let (tag, first_chunk, body_len);
        if ctb & 0x40 != 0 {
            // New format: one- two- or five-octet lengths, or partial body lengths.
            tag = ctb & 0x3f;
            let mut total = 0usize;
            let mut first = None;
            loop {
                let o1 = *data.get(pos).ok_or_else(|| truncated(start))? as usize;
                let (len, partial, hdr) = match o1 {
                    0..=191 => (o1, false, 1),
                    192..=223 => {
                        let o2 = *data.get(pos + 1).ok_or_else(|| truncated(start))? as usize;
                        (((o1 - 192) << 8) + o2 + 192, false, 2)
                    }
                    224..=254 => (1usize << (o1 & 0x1f), true, 1),
                    _ => {
                        let b = data.get(pos + 1..pos + 5).ok_or_else(|| truncated(start))?;
                        (
                            u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as usize,
                            false,
                            5,
                        )
                    }
                };
                pos += hdr;
                let end = pos.checked_add(len).ok_or_else(|| truncated(start))?;
                if end > data.len() {
                    return Err(truncated(start));
                }
                first.get_or_insert(pos..end);
                total += len;
                pos = end;
                if !partial {
                    break;
                }
            }
            first_chunk = first.unwrap_or(pos..pos);
            body_len = total;
        } else {
            // Legacy format: the length type is in the CTB; 3 means "to the end".
            tag = (ctb >> 2) & 0x0f;
            let n = match ctb & 3 {
                0 => 1,
                1 => 2,
                2 => 4,
                _ => 0,
            };
            let len = if n == 0 {
                data.len() - pos
            } else {
                let b = data.get(pos..pos + n).ok_or_else(|| truncated(start))?;
                pos += n;
                b.iter().fold(0usize, |acc, &o| (acc << 8) | o as usize)
            };
            let end = pos.checked_add(len).ok_or_else(|| truncated(start))?;
            if end > data.len() {
                return Err(truncated(start));
            }
            first_chunk = pos..end;
            body_len = len;
            pos = end;
        }
        if tag == 0 {
            return Err(bad(&format!("reserved packet tag 0 at octet {start}")));
        }
        // SEIPD: version octet, then (v1) the CFB ciphertext.
        if tag == 18 {
            let version = data.get(first_chunk.clone()).and_then(|c| c.first());
            if version == Some(&1) && body_len - 1 < MIN_SEIPD1_CIPHERTEXT {
                return Err(bad(&format!(
                    "the OpenPGP message is truncated (encrypted data packet at octet {start} \
                     holds {} octets)",
                    body_len - 1
                )));
            }
            if version.is_none() {
                return Err(bad(&format!(
                    "empty encrypted data packet at octet {start}"
                )));
            }
        }
    }
    Ok(())
}

/// Base64 as armor uses it; padding and the unused bits of the last symbol are not judged
/// (the CRC and the packet parser judge the content).
const B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_allow_trailing_bits(true)
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

use base64::Engine as _;

fn bad(what: &str) -> Error {
    Error::Message(format!("malformed OpenPGP data: {what}"))
}

fn bad_line(n: usize, what: &str) -> Error {
    bad(&format!("armor line {n}: {what}"))
}

fn describe(c: u8) -> String {
    if c.is_ascii_graphic() {
        format!("'{}'", c as char)
    } else {
        format!("octet {c:#04x}")
    }
}

/// Strips the line end and trailing blanks (RFC 9580 §6.2: trailing whitespace is ignored).
fn trim_end(mut l: &[u8]) -> &[u8] {
    while let [rest @ .., b' ' | b'\t' | b'\r'] = l {
        l = rest;
    }
    l
}

fn is_b64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'+' || b == b'/' || b == b'='
}

/// `MESSAGE`, `PUBLIC KEY BLOCK`, `SIGNATURE`, `MESSAGE, PART 1/2`, ...
fn valid_kind(k: &[u8]) -> bool {
    !k.is_empty()
        && k.iter()
            .all(|&b| b.is_ascii_uppercase() || b.is_ascii_digit() || b" ,/".contains(&b))
}

/// `Key: Value`: a key of letters, digits and `-`, a colon, a UTF-8 value without controls.
fn valid_header(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let (key, value) = (&line[..colon], &line[colon + 1..]);
    !key.is_empty()
        && key.iter().all(|&b| b.is_ascii_alphanumeric() || b == b'-')
        && std::str::from_utf8(value).is_ok_and(|v| !v.chars().any(|c| c.is_control() && c != '\t'))
}

/// CRC-24 of RFC 9580 §6.1.
fn crc24(data: &[u8]) -> u32 {
    let mut crc: u32 = 0x00b7_04ce;
    for &b in data {
        crc ^= (b as u32) << 16;
        for _ in 0..8 {
            crc <<= 1;
            if crc & 0x0100_0000 != 0 {
                crc ^= 0x0186_4cfb;
            }
        }
    }
    crc & 0x00ff_ffff
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::{Read as _, Write as _};

    use sequoia_openpgp as openpgp;

    use openpgp::Cert;
    use openpgp::armor::{Kind, Writer};
    use openpgp::crypto::SessionKey;
    use openpgp::packet::{PKESK, SKESK};
    use openpgp::parse::Parse as _;
    use openpgp::parse::stream::{
        DecryptionHelper, DecryptorBuilder, MessageStructure, VerificationHelper,
    };
    use openpgp::policy::StandardPolicy;
    use openpgp::serialize::stream::{Encryptor, LiteralWriter, Message};
    use openpgp::types::SymmetricAlgorithm;

    use super::*;

    /// 2026-06-01, when the test keys are valid (testdata/keys/pgp/README.md).
    fn now() -> std::time::SystemTime {
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_272_000)
    }

    fn key(file: &str) -> Cert {
        let path = format!("{}/testdata/keys/pgp/{file}", env!("CARGO_MANIFEST_DIR"));
        Cert::from_bytes(&std::fs::read(path).unwrap()).unwrap()
    }

    /// A binary OpenPGP message (PKESK + SEIPD v1) encrypted to bob.
    fn encrypted_to_bob() -> Vec<u8> {
        let bob = key("bob.cert");
        let p = StandardPolicy::new();
        let recipients: Vec<_> = bob
            .with_policy(&p, now())
            .unwrap()
            .keys()
            .supported()
            .alive()
            .revoked(false)
            .for_transport_encryption()
            .collect();
        let mut out = Vec::new();
        let m = Message::new(&mut out);
        let m = Encryptor::for_recipients(m, recipients)
            .symmetric_algo(SymmetricAlgorithm::AES256)
            .build()
            .unwrap();
        let mut w = LiteralWriter::new(m).build().unwrap();
        w.write_all(b"Content-Type: text/plain\r\n\r\nhello bob\r\n")
            .unwrap();
        w.finalize().unwrap();
        out
    }

    /// Sequoia's armor (it writes the CRC line), with a header, CRLF line ends.
    fn armored(binary: &[u8]) -> Vec<u8> {
        let mut w =
            Writer::with_headers(Vec::new(), Kind::Message, [("Comment", "ximf test")]).unwrap();
        w.write_all(binary).unwrap();
        let out = w.finalize().unwrap();
        String::from_utf8(out)
            .unwrap()
            .replace("\r\n", "\n")
            .replace('\n', "\r\n")
            .into_bytes()
    }

    fn body_middle(arm: &[u8]) -> usize {
        let begin = arm.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let end = arm.windows(3).position(|w| w == b"\r\n=").unwrap();
        (begin + end) / 2
    }

    fn err(r: Result<Vec<u8>>) -> String {
        match r {
            Err(Error::Message(m)) => m,
            Err(e) => panic!("wrong error kind: {e}"),
            Ok(d) => panic!("accepted: {} octets", d.len()),
        }
    }

    /// Decrypts with Sequoia as ximf does, the key being bob's.
    struct Bob(Cert);

    impl VerificationHelper for Bob {
        fn get_certs(&mut self, _: &[openpgp::KeyHandle]) -> openpgp::Result<Vec<Cert>> {
            Ok(Vec::new())
        }
        fn check(&mut self, _: MessageStructure) -> openpgp::Result<()> {
            Ok(())
        }
    }

    impl DecryptionHelper for Bob {
        fn decrypt(
            &mut self,
            pkesks: &[PKESK],
            _: &[SKESK],
            sym_algo: Option<SymmetricAlgorithm>,
            decrypt: &mut dyn FnMut(Option<SymmetricAlgorithm>, &SessionKey) -> bool,
        ) -> openpgp::Result<Option<Cert>> {
            for pkesk in pkesks {
                for ka in self.0.keys().secret() {
                    let Ok(mut kp) = ka.key().clone().into_keypair() else {
                        continue;
                    };
                    if let Some((algo, sk)) = pkesk.decrypt(&mut kp, sym_algo)
                        && decrypt(algo, &sk)
                    {
                        return Ok(None);
                    }
                }
            }
            Err(openpgp::Error::InvalidOperation("no key".into()).into())
        }
    }

    /// Sequoia's streaming decryption of `data`; `Err` when it panicked.
    fn sequoia_decrypt(data: &[u8], bob: &Cert) -> std::result::Result<bool, String> {
        let p = StandardPolicy::new();
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            DecryptorBuilder::from_bytes(data)
                .and_then(|b| b.with_policy(&p, Some(now()), Bob(bob.clone())))
                .and_then(|mut d| {
                    let mut out = Vec::new();
                    d.read_to_end(&mut out)?;
                    Ok(d.message_processed())
                })
                .unwrap_or(false)
        }))
        .map_err(|e| {
            e.downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default()
        })
    }

    #[test]
    fn dearmor_round_trips_sequoia_armor() {
        let bin = encrypted_to_bob();
        let arm = armored(&bin);
        assert_eq!(dearmor(&arm).unwrap(), bin);
        // LF line ends, leading blank lines, trailing blanks, no CRC, no header.
        let lf = String::from_utf8(arm.clone())
            .unwrap()
            .replace("\r\n", "\n");
        assert_eq!(dearmor(format!("\n\n{lf}\n\n").as_bytes()).unwrap(), bin);
        let blanks = lf.replace('\n', "  \t\n");
        assert_eq!(dearmor(blanks.as_bytes()).unwrap(), bin);
        let no_crc: String = lf
            .lines()
            .filter(|l| !(l.starts_with("Comment") || l.starts_with('=') && l.len() == 5))
            .map(|l| format!("{l}\n"))
            .collect();
        assert_eq!(dearmor(no_crc.as_bytes()).unwrap(), bin);
        // Binary input comes back unchanged.
        assert_eq!(dearmor(&bin).unwrap(), bin);
    }

    #[test]
    fn dearmor_reads_gpg_style_armor() {
        // gpg: Version/Comment headers, 64-column lines, CRC; here over a few octets.
        let data = b"\x8c\x0d\x04\x09\x03\x02hello, world";
        let b64 = base64::engine::general_purpose::STANDARD.encode(data);
        let crc = base64::engine::general_purpose::STANDARD.encode(&crc24(data).to_be_bytes()[1..]);
        let arm = format!(
            "-----BEGIN PGP MESSAGE-----\nVersion: GnuPG v2\nComment: caf\u{e9}\n\n{b64}\n={crc}\n-----END PGP MESSAGE-----\n"
        );
        assert_eq!(dearmor(arm.as_bytes()).unwrap(), data);
        // The RFC 9580 §6.1 example CRC of nothing, and a known value.
        assert_eq!(crc24(b""), 0x00b7_04ce);
        assert_eq!(crc24(b"123456789"), 0x0021_cf02);
    }

    #[test]
    fn dearmor_refuses_a_star_in_the_body() {
        let arm = armored(&encrypted_to_bob());
        let mid = body_middle(&arm);
        let mut m = arm.clone();
        m.insert(mid, b'*');
        let e = err(dearmor(&m));
        assert!(e.contains("'*' is not base64"), "{e}");
        // Sequoia itself would have passed on a prefix of the data: the error names the line.
        assert!(e.contains("armor line"), "{e}");
    }

    #[test]
    fn dearmor_refuses_malformed_armor() {
        let arm = String::from_utf8(armored(&encrypted_to_bob())).unwrap();
        let body_line = arm.lines().nth(3).unwrap().to_owned();
        let cases: Vec<(&str, String)> = vec![
            ("empty", String::new()),
            ("only blanks", "\n \n".into()),
            ("text", "hello\n".into()),
            (
                "no BEGIN",
                arm.replacen("-----BEGIN PGP MESSAGE-----", "", 1),
            ),
            (
                "BEGIN lower case",
                arm.replacen("BEGIN PGP MESSAGE", "BEGIN PGP message", 1),
            ),
            (
                "BEGIN indented",
                arm.replacen("-----BEGIN", " -----BEGIN", 1),
            ),
            (
                "cleartext",
                arm.replace("PGP MESSAGE", "PGP SIGNED MESSAGE"),
            ),
            (
                "END kind",
                arm.replacen("END PGP MESSAGE", "END PGP SIGNATURE", 1),
            ),
            ("no END", arm.replacen("-----END PGP MESSAGE-----", "", 1)),
            (
                "bad header",
                arm.replacen("Comment: ximf test", "Comment ximf test", 1),
            ),
            (
                "header control",
                arm.replacen("ximf test", "ximf\x07test", 1),
            ),
            (
                "no blank line",
                arm.replacen("ximf test\r\n\r\n", "ximf test\r\n", 1),
            ),
            ("CRC mismatch", {
                let mut s = arm.clone();
                let at = s.find("\r\n=").unwrap() + 3;
                let c = if &s[at..at + 1] == "A" { "B" } else { "A" };
                s.replace_range(at..at + 1, c);
                s
            }),
            (
                "data after CRC",
                arm.replacen("-----END", "QUJD\r\n-----END", 1),
            ),
            ("data after END", format!("{arm}trailing\r\n")),
            ("second block", format!("{arm}{arm}")),
            (
                "padding inside",
                arm.replacen(&body_line, &format!("{body_line}=="), 1),
            ),
            ("dash line", arm.replacen(&body_line, "-----", 1)),
            (
                "NUL",
                arm.replacen(&body_line, &format!("{body_line}\0"), 1),
            ),
            (
                "empty body",
                "-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----\n".into(),
            ),
        ];
        for (what, input) in cases {
            let e = err(dearmor(input.as_bytes()));
            assert!(e.starts_with("malformed OpenPGP data"), "{what}: {e}");
        }
    }

    /// Every ASCII octet inserted at several places: never a panic, and with the CRC present
    /// never different data (whitespace is the only harmless insertion in the body).
    #[test]
    fn dearmor_every_ascii_octet_anywhere_never_panics() {
        let bin = encrypted_to_bob();
        let arm = armored(&bin);
        let mid = body_middle(&arm);
        let crc_line = arm.windows(3).position(|w| w == b"\r\n=").unwrap() + 2;
        let end_line = arm.len() - "-----END PGP MESSAGE-----\r\n".len();
        let positions = [
            0,
            1,
            5,
            14,
            27,
            28,
            29,
            35,
            mid - 70,
            mid - 1,
            mid,
            mid + 1,
            crc_line - 1,
            crc_line,
            crc_line + 1,
            crc_line + 5,
            end_line,
            end_line + 10,
            arm.len() - 2,
            arm.len() - 1,
            arm.len(),
        ];
        let mut refused = 0;
        for &at in &positions {
            for c in 0u8..=127 {
                let mut m = arm.clone();
                m.insert(at, c);
                match dearmor(&m) {
                    Ok(d) => assert_eq!(d, bin, "{c:#04x} at {at} changed the data"),
                    Err(Error::Message(_)) => refused += 1,
                    Err(e) => panic!("{c:#04x} at {at}: {e}"),
                }
                // Replacing instead of inserting, too. Replacing the `=` that marks the CRC
                // line turns the checksum into data: nothing can tell, so only no panic there.
                if at < arm.len() {
                    let mut m = arm.clone();
                    m[at] = c;
                    if let Ok(d) = dearmor(&m)
                        && at != crc_line
                    {
                        assert_eq!(d, bin, "{c:#04x} replacing at {at} changed the data");
                    }
                }
            }
        }
        assert!(refused > positions.len() * 64, "{refused}");
        // And every truncation.
        for n in 0..arm.len() {
            let _ = dearmor(&arm[..n]);
        }
    }

    #[test]
    fn check_framing_accepts_whole_messages_and_refuses_truncated_ones() {
        let bin = encrypted_to_bob();
        check_framing(&bin).unwrap();
        let mut ok = 0;
        for n in 0..bin.len() {
            match check_framing(&bin[..n]) {
                Ok(()) => ok += 1,
                Err(Error::Message(m)) => assert!(m.contains("OpenPGP"), "{m}"),
                Err(e) => panic!("{n}: {e}"),
            }
        }
        // Only the cut right after the PKESK packet is well framed.
        assert_eq!(ok, 1);
        assert!(check_framing(&[0x00]).is_err());
        assert!(check_framing(&[0xc0, 0x00]).is_err());
        // A SEIPD v1 with 39 octets of ciphertext: complete, but too short.
        let mut short = vec![0xd2, 40, 1];
        short.extend([0u8; 39]);
        assert!(check_framing(&short).is_err());
        short[1] = 41;
        short.push(0);
        check_framing(&short).unwrap();
        // Partial body lengths, and a legacy-format packet running to the end.
        let mut partial = vec![0xd2, 0xe9];
        partial.extend(std::iter::once(1).chain([0u8; 511]));
        partial.extend([0x05, 1, 2, 3, 4, 5]);
        check_framing(&partial).unwrap();
        assert!(check_framing(&partial[..partial.len() - 1]).is_err());
        assert!(check_framing(&[0xcb, 5, b'b', 0, 0]).is_err());
        check_framing(&[0xa8, 3, b'P', b'G', b'P']).unwrap();
        check_framing(&[0xaf, b'b', 0, 0, 0, 0, 0]).unwrap();
        assert!(check_framing(&[0xa9, 0, 3, b'P']).is_err());
    }

    /// The panic this module exists for: Sequoia panics on an encrypted message cut in the
    /// SEIPD v1 quick-check window; every cut `check_framing` lets through decrypts without one.
    #[test]
    fn framing_check_keeps_sequoia_from_panicking_on_truncation() {
        let bob = key("bob.key");
        let bin = encrypted_to_bob();
        assert_eq!(sequoia_decrypt(&bin, &bob), Ok(true));
        let mut panics = 0;
        for n in 1..bin.len() {
            let cut = &bin[..n];
            let r = sequoia_decrypt(cut, &bob);
            if r.is_err() {
                panics += 1;
                assert!(check_framing(cut).is_err(), "{n}: {r:?}");
            }
            if check_framing(cut).is_ok() {
                assert!(r.is_ok(), "{n}: {r:?}");
            }
        }
        // If this fails, Sequoia no longer panics on truncation: the check is belt and braces.
        assert!(
            panics > 0,
            "sequoia-openpgp no longer panics on truncated SEIPD v1"
        );
        // The reported case: a `*` in the armor. Sequoia's armor reader truncates silently and
        // the parser panics; dearmor refuses it first.
        let arm = armored(&bin);
        let begin = arm.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let crc = arm.windows(3).position(|w| w == b"\r\n=").unwrap();
        let mut star_panics = 0;
        for at in begin..crc {
            let mut m = arm.clone();
            m.insert(at, b'*');
            if sequoia_decrypt(&m, &bob).is_err() {
                star_panics += 1;
            }
            let e = err(dearmor(&m));
            assert!(e.contains("is not base64"), "{at}: {e}");
        }
        assert!(
            star_panics > 0,
            "sequoia-openpgp no longer panics on a '*' in the armor"
        );
    }
}
