//! The digest of an S/MIME signed multipart's content, taken while the skeleton's structure
//! scan reads it: a large signed message is then read once, not once for its structure and
//! again for its hash (issue 13).
//!
//! The digest is the one `micalg` names. It is only an offer: the engine takes it when its
//! signature uses that digest over exactly that range ([`super::precomputed_crlf`]), and
//! hashes the source itself otherwise, so a wrong `micalg` costs time, never the verdict.

use super::Crlf;
use openssl::hash::{Hasher, MessageDigest};
use std::ops::Range;

/// A digest of a source range's bytes with bare LFs made CRLF (RFC 8551 §3.1.1).
#[derive(Debug, Clone)]
pub struct Digest {
    /// The range hashed.
    pub range: Range<u64>,
    /// The digest algorithm.
    pub nid: openssl::nid::Nid,
    /// The digest.
    pub value: Vec<u8>,
}

/// The digest algorithm `micalg` names (RFC 8551 §3.4.3.2), if we take digests ahead for it.
pub fn micalg_digest(micalg: &str) -> Option<MessageDigest> {
    match micalg.trim().to_ascii_lowercase().as_str() {
        "sha-256" | "sha256" => Some(MessageDigest::sha256()),
        "sha-384" | "sha384" => Some(MessageDigest::sha384()),
        "sha-512" | "sha512" => Some(MessageDigest::sha512()),
        "sha-224" | "sha224" => Some(MessageDigest::sha224()),
        _ => None,
    }
}

/// Bytes a delimiter may take back: the scan's window overlap (one byte of `--`) and the
/// CRLF before a delimiter line (RFC 2046 gives it to the delimiter).
const HELD: usize = 3;

/// Hashes what the scan reads, from where the first part starts to where it is known to end.
pub struct Tap {
    md: MessageDigest,
    hasher: Option<Hasher>,
    canon: Crlf,
    /// Where hashing starts (set when the first delimiter line is found).
    start: Option<u64>,
    /// Everything before this offset was seen.
    fed: u64,
    /// The last bytes seen, not hashed yet: the part may end before them.
    held: Vec<u8>,
    failed: bool,
}

impl Tap {
    /// A tap for `md`.
    pub fn new(md: MessageDigest) -> Tap {
        Tap {
            md,
            hasher: Hasher::new(md).ok(),
            canon: Crlf::default(),
            start: None,
            fed: 0,
            held: Vec::new(),
            failed: false,
        }
    }

    /// The first part starts at `at`.
    pub fn begin(&mut self, at: u64) {
        self.start = Some(at);
        self.fed = at;
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
        let mut h = self.hasher.take()?;
        self.canon.finish(&mut |c: &[u8]| h.update(c)).ok()?;
        let value = h.finish().ok()?.to_vec();
        (!self.failed).then(|| Digest {
            range: start..end,
            nid: self.md.type_(),
            value,
        })
    }

    fn hash(&mut self, bytes: &[u8]) {
        let Some(h) = self.hasher.as_mut() else {
            self.failed = true;
            return;
        };
        if bytes.is_empty() {
            return;
        }
        if self.canon.feed(bytes, &mut |c: &[u8]| h.update(c)).is_err() {
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
                        let part = &m[d.range.start as usize..d.range.end as usize];
                        let want = crate::message::eol::to_crlf(if crlf { part } else { &content })
                            .into_owned();
                        assert_eq!(
                            d.value,
                            hash(MessageDigest::sha256(), &want).unwrap().to_vec(),
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
