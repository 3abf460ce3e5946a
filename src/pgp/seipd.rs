//! The packets of an encrypted OpenPGP message, framed by us in bounded memory: PKESK v3 per
//! recipient key, a SEIPD v1 packet (RFC 4880 §5.13, RFC 9580 §5.13.1) and the literal data
//! packet inside it (§5.9), written downstream in pieces of at most [`PIECE`] octets.
//!
//! Why not Sequoia's `Encryptor` and `LiteralWriter`: each frames its packet with a private
//! partial-body filter that buffers 4 MiB (`PARTIAL_BODY_FILTER_BUFFER_THRESHOLD`,
//! sequoia-openpgp 2.4.2 `serialize/stream/partial_body.rs`) and then writes 4 MiB in one call;
//! below it the CFB encryptor (`crypto::symmetric::Encryptor`) grows its scratch to the size of
//! the write. Two such packets and their scratch were most of the 35 MiB a large message cost.
//! The cryptography stays Sequoia's: the session key, the PKESKs, the cipher in CFB mode; what
//! is ours is the framing, the random prefix and the MDC around it.
//!
//! SEIPD v2 (AEAD) is left to Sequoia: it is chosen, as Sequoia chooses it, only when every
//! recipient's certificate advertises it ([`seipd_v2`]).

use std::io::{self, Write};

use openpgp::crypto::symmetric::{BlockCipherMode, Encryptor, PaddingMode};
use openpgp::crypto::{self, SessionKey};
use openpgp::packet::header::{BodyLength, CTB};
use openpgp::packet::key::{PublicParts, UnspecifiedRole};
use openpgp::packet::pkesk::PKESK3;
use openpgp::packet::{Key, Packet, Tag};
use openpgp::serialize::Marshal as _;
use openpgp::types::{SymmetricAlgorithm, Timestamp};
use sequoia_openpgp as openpgp;

/// The largest piece written downstream, and the length of each partial body chunk: a power of
/// two of at least 512 (RFC 4880 §4.2.2.4: the first partial length must be at least 512).
pub(crate) const PIECE: usize = 64 * 1024;

/// Would Sequoia's `Encryptor` use SEIPD v2 for these recipients' certificates' features? It
/// does when every one of them supports it (`Encryptor::build`, sequoia-openpgp 2.4.2).
pub(crate) fn seipd_v2(features: &[openpgp::types::Features]) -> bool {
    !features.is_empty() && features.iter().all(|f| f.supports_seipdv2())
}

/// Writes a PKESK v3 packet for each of `keys` to `w`, as Sequoia's `Encryptor` does for a
/// SEIPD v1 message: the recipient named by its Key ID.
pub(crate) fn write_pkesks(
    w: &mut dyn Write,
    algo: SymmetricAlgorithm,
    sk: &SessionKey,
    keys: &[&Key<PublicParts, UnspecifiedRole>],
) -> openpgp::Result<()> {
    for key in keys {
        let mut pkesk = PKESK3::for_recipient(algo, sk, *key)?;
        pkesk.set_recipient(Some(key.keyid()));
        Packet::PKESK(pkesk.into()).serialize(w)?;
    }
    Ok(())
}

/// A packet body in partial body lengths (RFC 4880 §4.2.2.4): chunks of [`PIECE`] octets while
/// more follows, then the rest (0 to [`PIECE`] octets) with a definite length. A body of at
/// most [`PIECE`] octets has one definite length, as Sequoia writes a body under 4 MiB.
pub(crate) struct PartialBody<W: Write> {
    sink: W,
    buf: Vec<u8>,
}

impl<W: Write> PartialBody<W> {
    /// Starts a packet of `tag` (new format CTB) in `sink`.
    pub(crate) fn new(mut sink: W, tag: Tag) -> io::Result<Self> {
        CTB::new(tag).serialize(&mut sink).map_err(io_error)?;
        Ok(PartialBody {
            sink,
            buf: Vec::with_capacity(PIECE),
        })
    }

    /// Writes the last length and chunk; returns the sink.
    pub(crate) fn finish(mut self) -> io::Result<W> {
        // PIECE fits in u32.
        BodyLength::Full(self.buf.len() as u32)
            .serialize(&mut self.sink)
            .map_err(io_error)?;
        self.sink.write_all(&self.buf)?;
        Ok(self.sink)
    }
}

impl<W: Write> Write for PartialBody<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let mut rest = data;
        while !rest.is_empty() {
            // A full chunk goes out only once more data follows it: the last length must be
            // a definite one.
            if self.buf.len() == PIECE {
                BodyLength::Partial(PIECE as u32)
                    .serialize(&mut self.sink)
                    .map_err(io_error)?;
                self.sink.write_all(&self.buf)?;
                self.buf.clear();
            }
            let n = (PIECE - self.buf.len()).min(rest.len());
            self.buf.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.sink.flush()
    }
}

/// A literal data packet (RFC 9580 §5.9) as Sequoia's `LiteralWriter` writes it by default:
/// format `b`, no file name, the given date; the data written to it is its content.
pub(crate) struct Literal<W: Write>(PartialBody<W>);

impl<W: Write> Literal<W> {
    pub(crate) fn new(sink: W, date: Timestamp) -> io::Result<Self> {
        let mut body = PartialBody::new(sink, Tag::Literal)?;
        body.write_all(&[b'b', 0])?;
        body.write_all(&u32::from(date).to_be_bytes())?;
        Ok(Literal(body))
    }

    pub(crate) fn finish(self) -> io::Result<W> {
        self.0.finish()
    }
}

impl<W: Write> Write for Literal<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.0.write(data)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

/// A SEIPD v1 packet (RFC 4880 §5.13): version 1, then in CFB mode with a zero IV the random
/// prefix of a block and its last two octets repeated, the packets written to it, and the MDC
/// packet (§5.14) over all of them and its own two header octets.
pub(crate) struct Seipd1<W: Write> {
    cfb: Encryptor<PartialBody<W>>,
    /// SHA-1 of the plaintext for the MDC. OpenSSL's, not Sequoia's hash context: that one is
    /// SHA-1 with collision detection (sha1cd), slower by a few times, which only matters when
    /// checking a SHA-1 someone else made.
    mdc: openssl::sha::Sha1,
}

impl<W: Write> Seipd1<W> {
    /// Starts the packet in `sink`, encrypted with `sk` under `algo`.
    pub(crate) fn new(sink: W, algo: SymmetricAlgorithm, sk: &SessionKey) -> openpgp::Result<Self> {
        let mut body = PartialBody::new(sink, Tag::SEIP)?;
        body.write_all(&[1])?;
        let cfb = Encryptor::new(
            algo,
            BlockCipherMode::CFB,
            PaddingMode::None,
            sk,
            None,
            body,
        )?;
        let mut s = Seipd1 {
            cfb,
            mdc: openssl::sha::Sha1::new(),
        };
        let mut prefix = vec![0; algo.block_size()?];
        crypto::random(&mut prefix)?;
        let repeat = prefix.len() - 2;
        s.write_all(&prefix)?;
        s.write_all(&prefix[repeat..])?;
        Ok(s)
    }

    /// Writes the MDC packet and the last chunk; returns the sink.
    pub(crate) fn finish(mut self) -> openpgp::Result<W> {
        // The MDC packet's CTB (tag 19, new format) and length (20) are hashed too.
        let header = [0xd3, 0x14];
        self.mdc.update(&header);
        let digest = self.mdc.finish();
        self.cfb.write_all(&header)?;
        self.cfb.write_all(&digest)?;
        Ok(self.cfb.finalize()?.finish()?)
    }
}

impl<W: Write> Write for Seipd1<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        // In pieces: the encryptor's scratch grows to the size of one write.
        for piece in data.chunks(PIECE) {
            self.mdc.update(piece);
            self.cfb.write_all(piece)?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.cfb.flush()
    }
}

fn io_error(e: openpgp::anyhow::Error) -> io::Error {
    match e.downcast::<io::Error>() {
        Ok(e) => e,
        Err(e) => io::Error::other(e),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Read as _;

    use openpgp::Cert;
    use openpgp::parse::Parse as _;
    use openpgp::parse::stream::DecryptorBuilder;
    use openpgp::policy::StandardPolicy;
    use openpgp::types::DataFormat;

    use super::*;
    use crate::pgp::armor::tests::KeyHolder;

    const SIZES: [usize; 12] = [
        0,
        1,
        511,
        512,
        4096,
        PIECE - 7,
        PIECE - 6,
        PIECE - 5,
        PIECE + 1,
        2 * PIECE - 6,
        2 * PIECE,
        3 * PIECE + 100,
    ];

    fn data(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 131 % 251) as u8).collect()
    }

    /// The body of a new-format packet `bin` read by hand: (chunk lengths, each partial or
    /// not; the body).
    fn chunks(bin: &[u8]) -> (Vec<(usize, bool)>, Vec<u8>) {
        let mut at = 1;
        let mut lens = Vec::new();
        let mut body = Vec::new();
        loop {
            let o = bin[at] as usize;
            let (len, partial, hdr) = match o {
                0..=191 => (o, false, 1),
                192..=223 => (((o - 192) << 8) + bin[at + 1] as usize + 192, false, 2),
                224..=254 => (1 << (o & 0x1f), true, 1),
                _ => (
                    u32::from_be_bytes(bin[at + 1..at + 5].try_into().unwrap()) as usize,
                    false,
                    5,
                ),
            };
            at += hdr;
            body.extend_from_slice(&bin[at..at + len]);
            at += len;
            lens.push((len, partial));
            if !partial {
                assert_eq!(at, bin.len(), "octets after the last chunk");
                return (lens, body);
            }
        }
    }

    #[test]
    fn partial_body_lengths_at_the_edges() {
        let date = Timestamp::from(1_780_272_000);
        for n in SIZES {
            let d = data(n);
            let mut whole = None;
            for size in [1, 3, 511, 512, PIECE, PIECE + 1, n.max(1)] {
                let mut w = Literal::new(Vec::new(), date).unwrap();
                for piece in d.chunks(size) {
                    w.write_all(piece).unwrap();
                }
                let bin = w.finish().unwrap();
                match &whole {
                    None => whole = Some(bin),
                    Some(b) => assert!(*b == bin, "{n} in pieces of {size}"),
                }
            }
            let bin = whole.unwrap();
            assert_eq!(bin[0], 0xcb, "new-format CTB, tag 11");
            let (lens, body) = chunks(&bin);
            // The header (format, name length, date) and the data.
            let total = n + 6;
            assert_eq!(&body[..2], b"b\0");
            assert_eq!(body[2..6], 1_780_272_000u32.to_be_bytes());
            assert!(body[6..] == d[..]);
            // Partial chunks of PIECE while more follows, then a definite rest of 1..=PIECE
            // (0 only for an empty body, which a literal packet never is).
            let want_partial = (total - 1) / PIECE;
            assert_eq!(lens.len(), want_partial + 1, "{n}: {lens:?}");
            assert!(lens[..want_partial].iter().all(|&l| l == (PIECE, true)));
            assert_eq!(lens[want_partial], (total - want_partial * PIECE, false));
            // Our framing check and Sequoia's parser agree.
            super::super::armor::check_framing(&bin).unwrap();
            let Packet::Literal(l) = Packet::from_bytes(&bin).unwrap() else {
                panic!("not a literal data packet");
            };
            assert_eq!(l.format(), DataFormat::Binary);
            assert_eq!(l.filename(), None);
            assert_eq!(l.date(), Some(date.into()));
            assert!(l.body() == &d[..]);
        }
        // An empty body has one definite length of 0.
        let empty = PartialBody::new(Vec::new(), Tag::Marker)
            .unwrap()
            .finish()
            .unwrap();
        assert_eq!(empty, [0xca, 0]);
        // Exactly one chunk's worth: one definite length, no empty partial after it.
        let mut w = PartialBody::new(Vec::new(), Tag::Marker).unwrap();
        w.write_all(&data(PIECE)).unwrap();
        let bin = w.finish().unwrap();
        assert_eq!(chunks(&bin).0, [(PIECE, false)]);
        // Two: one partial, one definite of the same length.
        let mut w = PartialBody::new(Vec::new(), Tag::Marker).unwrap();
        w.write_all(&data(2 * PIECE)).unwrap();
        let bin = w.finish().unwrap();
        assert_eq!(chunks(&bin).0, [(PIECE, true), (PIECE, false)]);
    }

    fn now() -> std::time::SystemTime {
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_780_272_000)
    }

    fn key(file: &str) -> Cert {
        let path = format!("{}/testdata/keys/pgp/{file}", env!("CARGO_MANIFEST_DIR"));
        Cert::from_bytes(&std::fs::read(path).unwrap()).unwrap()
    }

    /// A binary message to `certs`' encryption keys: PKESKs, our SEIPD v1, our literal data;
    /// and where the SEIPD packet starts.
    fn encrypted(certs: &[Cert], d: &[u8]) -> (Vec<u8>, usize) {
        let p = StandardPolicy::new();
        let mut keys = Vec::new();
        for c in certs {
            for ka in c
                .with_policy(&p, now())
                .unwrap()
                .keys()
                .for_transport_encryption()
            {
                keys.push(ka.key().role_as_unspecified().clone());
            }
        }
        let keys: Vec<_> = keys.iter().collect();
        let algo = SymmetricAlgorithm::AES256;
        let sk = SessionKey::new(algo.key_size().unwrap()).unwrap();
        let mut out = Vec::new();
        write_pkesks(&mut out, algo, &sk, &keys).unwrap();
        let at = out.len();
        let mut s = Seipd1::new(&mut out, algo, &sk).unwrap();
        let mut l = Literal::new(&mut s, Timestamp::from(1_780_272_000)).unwrap();
        l.write_all(d).unwrap();
        l.finish().unwrap();
        s.finish().unwrap();
        (out, at)
    }

    /// Sequoia's decryption of `bin` with `tsk`.
    fn decrypt(bin: &[u8], tsk: &Cert) -> openpgp::Result<Vec<u8>> {
        let p = StandardPolicy::new();
        let mut d = DecryptorBuilder::from_bytes(bin)?.with_policy(
            &p,
            Some(now()),
            KeyHolder(tsk.clone()),
        )?;
        let mut out = Vec::new();
        d.read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn sequoia_decrypts_our_seipd_for_each_key_kind() {
        let (alice, bob) = (key("alice.key"), key("bob.key"));
        let certs = [key("alice.cert"), key("bob.cert")];
        for n in SIZES {
            let d = data(n);
            let (bin, _) = encrypted(&certs, &d);
            super::super::armor::check_framing(&bin).unwrap();
            // Cv25519 (alice) and RSA (bob) both read it.
            assert!(decrypt(&bin, &alice).unwrap() == d, "{n}, alice");
            assert!(decrypt(&bin, &bob).unwrap() == d, "{n}, bob");
        }
    }

    #[test]
    fn a_changed_ciphertext_octet_fails_the_mdc() {
        let bob = key("bob.key");
        let d = data(PIECE + 1000);
        let (bin, at) = encrypted(&[key("bob.cert")], &d);
        assert_eq!(
            bin[at..at + 3],
            [0xd2, 0xf0, 1],
            "SEIPD, a partial length, version 1"
        );
        assert!(decrypt(&bin, &bob).unwrap() == d);
        // The last octet (in the MDC), one in the data, the first of the random prefix.
        for i in [bin.len() - 1, bin.len() - 3000, at + 3] {
            let mut t = bin.clone();
            t[i] ^= 0x01;
            let e = decrypt(&t, &bob);
            assert!(e.is_err(), "octet {i} changed: decrypted");
        }
    }
}
