//! The hash of a signed multipart's content, taken while the skeleton's structure scan reads
//! it: a large signed message is then read once, not once for its structure and again for its
//! hash (issue 13).
//!
//! The hash is the one `micalg` names: for S/MIME the finished digest of the content with bare
//! LFs made CRLF (RFC 8551 §3.1.1), for OpenPGP the hash context over the content as
//! `pgp::verify` canonicalizes it, before the signature's own trailer. It is only an offer:
//! the engine takes it when its signature uses that hash over exactly that range
//! ([`super::precomputed_crlf`], [`super::precomputed_pgp`]), and hashes the source itself
//! otherwise, so a wrong `micalg` costs time, never the verdict.

use super::Crlf;
use openssl::hash::{Hasher, MessageDigest};
use sequoia_openpgp::crypto::hash::Context;
use sequoia_openpgp::types::HashAlgorithm;
use std::ops::Range;

/// A hash of a source range's bytes, canonicalized as its mechanism's verifier does.
#[derive(Clone)]
pub struct Digest {
    /// The range hashed.
    pub range: Range<u64>,
    /// The hash.
    pub value: Value,
}

impl std::fmt::Debug for Digest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Digest")
            .field("range", &self.range)
            .finish()
    }
}

/// A finished S/MIME digest, or an OpenPGP hash context to be finished with a signature's
/// trailer.
#[derive(Clone)]
pub enum Value {
    /// The digest of the content with bare LFs made CRLF.
    Smime {
        /// Its algorithm.
        nid: openssl::nid::Nid,
        /// The digest.
        digest: Vec<u8>,
    },
    /// A v4 signature's hash context over the content as `pgp::verify` hashes it.
    Pgp {
        /// Its algorithm.
        algo: HashAlgorithm,
        /// The context, before the signature's trailer.
        context: Context,
    },
}

/// What to hash a signed multipart's content with.
#[derive(Clone, Copy)]
pub enum Kind {
    /// S/MIME: a digest.
    Smime(MessageDigest),
    /// OpenPGP: a v4 signature's hash context.
    Pgp(HashAlgorithm),
}

/// What the signed multipart of `protocol` (trimmed, lower case) and `micalg` is hashed with,
/// if we take hashes ahead for it (RFC 8551 §3.4.3.2, RFC 3156 §5).
pub fn micalg_kind(protocol: &str, micalg: &str) -> Option<Kind> {
    let m = micalg.trim().to_ascii_lowercase();
    match protocol {
        "application/pkcs7-signature" | "application/x-pkcs7-signature" => match m.as_str() {
            "sha-256" | "sha256" => Some(Kind::Smime(MessageDigest::sha256())),
            "sha-384" | "sha384" => Some(Kind::Smime(MessageDigest::sha384())),
            "sha-512" | "sha512" => Some(Kind::Smime(MessageDigest::sha512())),
            "sha-224" | "sha224" => Some(Kind::Smime(MessageDigest::sha224())),
            _ => None,
        },
        "application/pgp-signature" => match m.as_str() {
            "pgp-sha256" => Some(Kind::Pgp(HashAlgorithm::SHA256)),
            "pgp-sha384" => Some(Kind::Pgp(HashAlgorithm::SHA384)),
            "pgp-sha512" => Some(Kind::Pgp(HashAlgorithm::SHA512)),
            "pgp-sha224" => Some(Kind::Pgp(HashAlgorithm::SHA224)),
            _ => None,
        },
        _ => None,
    }
}

enum Sink {
    Smime(MessageDigest, Hasher),
    Pgp(HashAlgorithm, Context),
}

impl Sink {
    fn new(kind: Kind) -> Option<Sink> {
        match kind {
            Kind::Smime(md) => Hasher::new(md).ok().map(|h| Sink::Smime(md, h)),
            Kind::Pgp(algo) => algo
                .context()
                .ok()
                .map(|b| Sink::Pgp(algo, b.for_signature(4))),
        }
    }

    fn update(&mut self, bytes: &[u8]) -> Result<(), ()> {
        match self {
            Sink::Smime(_, h) => h.update(bytes).map_err(|_| ()),
            Sink::Pgp(_, c) => {
                c.update(bytes);
                Ok(())
            }
        }
    }

    fn finish(self) -> Option<Value> {
        match self {
            Sink::Smime(md, mut h) => Some(Value::Smime {
                nid: md.type_(),
                digest: h.finish().ok()?.to_vec(),
            }),
            Sink::Pgp(algo, context) => Some(Value::Pgp { algo, context }),
        }
    }
}

/// Bytes a delimiter may take back: the scan's window overlap (one byte of `--`) and the
/// CRLF before a delimiter line (RFC 2046 gives it to the delimiter).
const HELD: usize = 3;

/// Hashes what the scan reads, from where the first part starts to where it is known to end.
pub struct Tap {
    kind: Kind,
    sink: Option<Sink>,
    canon: Crlf,
    /// Hashed as it is, not canonicalized: OpenPGP content whose first line ends in CRLF
    /// (`pgp::verify::hash_canonical`).
    raw: bool,
    /// Where hashing starts (set when the first delimiter line is found).
    start: Option<u64>,
    /// Everything before this offset was seen.
    fed: u64,
    /// The last bytes seen, not hashed yet: the part may end before them.
    held: Vec<u8>,
    failed: bool,
}

impl Tap {
    /// A tap for `kind`.
    pub fn new(kind: Kind) -> Tap {
        Tap {
            kind,
            sink: Sink::new(kind),
            canon: Crlf::default(),
            raw: false,
            start: None,
            fed: 0,
            held: Vec::new(),
            failed: false,
        }
    }

    /// The first part starts at `at`, in `window` (whose first byte is at offset `win`).
    pub fn begin(&mut self, at: u64, window: &[u8], win: u64) {
        self.start = Some(at);
        self.fed = at;
        if let Kind::Pgp(_) = self.kind {
            // As `Eol::detect` decides for the whole content: by its first line ending, which
            // must be in this window.
            let rest = usize::try_from(at.saturating_sub(win))
                .ok()
                .and_then(|i| window.get(i..));
            match rest.and_then(|r| memchr::memchr(b'\n', r).map(|i| (r, i))) {
                Some((r, i)) => self.raw = i > 0 && r[i - 1] == b'\r',
                None => self.failed = true,
            }
        }
    }

    /// Sees `window` (whose first byte is at offset `win`) up to offset `upto`.
    pub fn see(&mut self, window: &[u8], win: u64, upto: u64) {
        if self.start.is_none() || upto <= self.fed || self.fed < win {
            // Nothing new, or a gap (bytes never in a window): give up, the engine hashes.
            self.failed |= self.start.is_some() && upto > self.fed && self.fed < win;
            return;
        }
        let (Ok(a), Ok(b)) = (usize::try_from(self.fed - win), usize::try_from(upto - win)) else {
            self.failed = true;
            return;
        };
        let Some(new) = window.get(a..b) else {
            self.failed = true;
            return;
        };
        self.fed = upto;
        if new.len() >= HELD {
            let held = std::mem::take(&mut self.held);
            self.hash(&held);
            self.hash(&new[..new.len() - HELD]);
            self.held = new[new.len() - HELD..].to_vec();
        } else {
            self.held.extend_from_slice(new);
            let over = self.held.len().saturating_sub(HELD);
            let early: Vec<u8> = self.held.drain(..over).collect();
            self.hash(&early);
        }
    }

    /// The first part ends at `end` (everything up to it was seen): its digest.
    pub fn finish(mut self, end: u64) -> Option<Digest> {
        let start = self.start?;
        let held_from = self.fed - self.held.len() as u64;
        // Every byte hashed so far must lie before the end.
        if self.failed || end > self.fed || end < held_from || end < start {
            return None;
        }
        let keep = usize::try_from(end.saturating_sub(held_from)).ok()?;
        let held = std::mem::take(&mut self.held);
        self.hash(&held[..keep.min(held.len())]);
        let mut sink = self.sink.take()?;
        self.canon.finish(&mut |c: &[u8]| sink.update(c)).ok()?;
        let value = sink.finish()?;
        (!self.failed).then_some(Digest {
            range: start..end,
            value,
        })
    }

    fn hash(&mut self, bytes: &[u8]) {
        let Some(sink) = self.sink.as_mut() else {
            self.failed = true;
            return;
        };
        if bytes.is_empty() {
            return;
        }
        let fed = match self.raw {
            true => sink.update(bytes),
            false => self.canon.feed(bytes, &mut |c: &[u8]| sink.update(c)),
        };
        if fed.is_err() {
            self.failed = true;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::super::{CHUNK, Source, skeleton};
    use openssl::hash::{MessageDigest, hash};

    fn signed(content: &[u8], crlf: bool) -> Vec<u8> {
        let mut m = b"From: a@example.org\nContent-Type: multipart/signed; micalg=sha-256;\n \
            protocol=\"application/pkcs7-signature\"; boundary=\"b\"\n\npreamble\n--b\n"
            .to_vec();
        m.extend_from_slice(content);
        m.extend_from_slice(b"\n--b\nContent-Type: application/pkcs7-signature\n\nMIIB\n--b--\n");
        match crlf {
            true => crate::message::eol::to_crlf(&m).into_owned(),
            false => m,
        }
    }

    /// Whatever the window edges fall on (a delimiter, its line ending, a `--` line inside
    /// the content), the digest taken as the structure is read is the content's.
    #[test]
    fn the_digest_taken_ahead_is_the_contents() {
        let mut checked = 0;
        for len in [0, 1, 2, 5, CHUNK - 40, CHUNK - 30, 2 * CHUNK - 60] {
            for shift in 0..8 {
                for dash in [false, true] {
                    for crlf in [false, true] {
                        let mut content = b"Content-Type: text/plain\n\n".to_vec();
                        content.resize(content.len() + len + shift, b'x');
                        if dash && content.len() > 40 {
                            let at = content.len() - 20;
                            content[at - 1] = b'\n';
                            content[at..at + 4].copy_from_slice(b"--x\n");
                        }
                        let m = signed(&content, crlf);
                        let src = Source::spool(&m, &mut std::io::empty(), u64::MAX - 1).unwrap();
                        let s = skeleton::build(&src, 0).unwrap().unwrap();
                        let d = &s.digests[0];
                        let super::Value::Smime { digest, .. } = &d.value else {
                            panic!("an S/MIME digest");
                        };
                        let part = &m[d.range.start as usize..d.range.end as usize];
                        let want = crate::message::eol::to_crlf(if crlf { part } else { &content })
                            .into_owned();
                        assert_eq!(
                            digest,
                            &hash(MessageDigest::sha256(), &want).unwrap().to_vec(),
                            "len {len} shift {shift} dash {dash} crlf {crlf}"
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert_eq!(checked, 7 * 8 * 4);
    }
}
