//! The layers of a large message whose content was left in the source (issue 13): opened as
//! they are read ([`crate::stream::Body`]), what they hold spooled and judged as a skeleton of
//! its own ([`crate::stream::Nested`]), with the same findings as [`Walk`] gives a message held
//! whole: every outcome below maps to the one the whole-message path reports.

use super::{NOT_DECODED, Walk};
use crate::mime::Entity;
use crate::secure::codes;
use crate::secure::outcome::{Form, Mechanism};
use crate::stream::{Body, Nested, Spool, base64_reader};
use crate::{pgp, smime};
use std::io::Read;

/// What an opened layer holds.
#[derive(Debug)]
pub enum Plaintext {
    /// In memory.
    Whole(Vec<u8>),
    /// In a spool, as a skeleton (a large message).
    Spooled(Nested),
}

impl Plaintext {
    /// All of it in memory (for callers that need it so, never on the streaming path).
    pub fn into_bytes(self) -> std::io::Result<Vec<u8>> {
        match self {
            Plaintext::Whole(b) => Ok(b),
            Plaintext::Spooled(n) => n.origin.source.read_range(0..n.len()),
        }
    }
}

/// Where an opener writes what a layer holds: memory for a message held whole, a spool for a
/// large one (judged as a skeleton that leaves out bodies of `min_elide` bytes).
pub(super) enum Sink {
    Memory(Vec<u8>),
    Spool(Spool, u64),
}

impl Sink {
    /// A spool for what the layer of `body` holds; a spool that cannot be made is an I/O
    /// failure of the judge.
    pub(super) fn spool(body: &Body) -> Option<Sink> {
        match Spool::new() {
            Ok(s) => Some(Sink::Spool(s, body.min_elide())),
            Err(e) => {
                crate::stream::fail(e);
                None
            }
        }
    }

    /// What was written, to be judged.
    fn into_plaintext(self) -> std::io::Result<Plaintext> {
        match self {
            Sink::Memory(v) => Ok(Plaintext::Whole(v)),
            Sink::Spool(s, min_elide) => Ok(Plaintext::Spooled(Nested::part(
                s.into_source()?,
                min_elide,
            )?)),
        }
    }
}

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sink::Memory(v) => v.write(buf),
            Sink::Spool(s, _) => s.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sink::Memory(_) => Ok(()),
            Sink::Spool(s, _) => s.flush(),
        }
    }
}

/// How a streamed opener failed.
pub(super) enum Failure {
    /// The body is not what its type says (not CMS, not OpenPGP, not decodable).
    Malformed,
    /// It could not be opened: why, in one line.
    Refused(String),
    /// Reading the body or writing the spool failed: no verdict rests on it.
    Io(std::io::Error),
}

impl<'k> Walk<'k> {
    /// `application/pkcs7-mime`: signed-data or enveloped data, opened in one pass as
    /// `input` reads it (the decoded body, from memory or from the source), what it holds
    /// going to `sink`. The one opener for a message held whole and for a large one: the same
    /// structure is CMS, or not, either way.
    pub(super) fn cms_open(
        &mut self,
        input: Result<Box<dyn Read + Send + Sync + '_>, Failure>,
        mut sink: Sink,
        depth: usize,
    ) {
        // A transfer encoding that does not decode: not CMS, as held whole.
        let io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::InvalidData => Failure::Malformed,
            _ => Failure::Io(e),
        };
        let opened = input.and_then(|mut r| {
            let opened = smime::open_stream(
                &mut r,
                self.trust(),
                &self.keys.smime_signers,
                self.limits.max_output,
                &mut sink,
            );
            // The opener stops where the CMS ends, or where it fails; the rest of the body
            // must decode too, and that comes first, as a body held whole is decoded before
            // it is opened.
            std::io::copy(&mut r, &mut std::io::sink()).map_err(io)?;
            opened.map_err(|e| match e {
                smime::StreamError::Malformed(_) => Failure::Malformed,
                smime::StreamError::Decrypt(why) => Failure::Refused(why),
                smime::StreamError::Io(e) => io(e),
            })
        });
        match opened {
            Ok(smime_opened) => {
                let content = match sink.into_plaintext() {
                    Ok(c) => c,
                    Err(e) => return crate::stream::fail(e),
                };
                match smime_opened {
                    smime::Streamed::Signed { signers } => {
                        let i = self.push_signature(Mechanism::Smime, Form::Opaque, signers);
                        if let (true, None, Plaintext::Whole(c)) =
                            (self.keep_plaintext, &self.signed_content, &content)
                        {
                            self.signed_content = Some(c.clone());
                        }
                        self.content(&content, depth);
                        self.settle_coverage(i);
                    }
                    smime::Streamed::Enveloped { cipher, weak } => {
                        if weak {
                            self.error(
                                codes::WEAK_ALGORITHM,
                                format!("content encrypted with {cipher}"),
                            );
                        }
                        self.decrypted(Mechanism::Smime, cipher.into(), content, vec![], depth);
                    }
                    smime::Streamed::Other(oid) => self.findings.push(super::finding(
                        codes::UNSUPPORTED_CMS_TYPE,
                        crate::report::Severity::Warning,
                        format!("CMS content type {oid} is not supported"),
                    )),
                }
            }
            Err(Failure::Malformed) => self.error(
                codes::CMS_MALFORMED,
                "application/pkcs7-mime body is not CMS",
            ),
            Err(Failure::Refused(why)) => {
                let why = match self.keys.smime_signers.is_empty() {
                    true => "the message is encrypted and no key was given".to_owned(),
                    false => why,
                };
                self.failed(Mechanism::Smime, why)
            }
            Err(Failure::Io(e)) => crate::stream::fail(e),
        }
    }

    /// The ciphertext part of a PGP/MIME message whose body is in the source.
    pub(super) fn pgp_streamed(&mut self, data: &Entity<'_>, body: &Body, depth: usize) {
        let base64 = match data.transfer_encoding().as_str() {
            "base64" => true,
            "7bit" | "8bit" | "binary" => false,
            _ => return self.failed(Mechanism::OpenPgp, NOT_DECODED.into()),
        };
        let Some(sink) = Sink::spool(body) else {
            return;
        };
        let mut raw = body.reader();
        match base64 {
            true => self.pgp_open(&mut base64_reader(raw), sink, depth),
            false => self.pgp_open(&mut raw, sink, depth),
        }
    }

    /// The OpenPGP message of a PGP/MIME multipart/encrypted, opened in one pass as `input`
    /// reads it (the decoded part, from memory or from the source), its plaintext going to
    /// `sink`: the one opener for a message held whole and for a large one.
    pub(super) fn pgp_open(
        &mut self,
        input: &mut (dyn Read + Send + Sync),
        mut sink: Sink,
        depth: usize,
    ) {
        let opened = pgp::stream_open::open_stream(
            input,
            &self.keys.pgp_secret,
            self.keys.pgp_agent_keys(),
            &self.keys.pgp_keyring,
            self.now,
            self.limits.max_output,
            &mut sink,
        );
        match opened {
            Ok(pgp::stream_open::Streamed { cipher, signers }) => {
                let content = match sink.into_plaintext() {
                    Ok(c) => c,
                    Err(e) => return crate::stream::fail(e),
                };
                match cipher {
                    Some(c) => self.decrypted(Mechanism::OpenPgp, c, content, signers, depth),
                    None => {
                        // multipart/encrypted around an OpenPGP message that is not encrypted:
                        // it crossed the network in the clear, whatever its Content-Type says.
                        self.error(
                            codes::STRUCTURE_MALFORMED,
                            "multipart/encrypted holds an OpenPGP message that is not encrypted",
                        );
                        self.unencrypted(signers, content, depth);
                    }
                }
            }
            Err(f) => {
                if let Some(e) = f.agent {
                    self.key_failure.get_or_insert(e);
                }
                match f.io {
                    // A transfer encoding that does not decode, as held whole.
                    Some(e) if e.kind() == std::io::ErrorKind::InvalidData => {
                        self.failed(Mechanism::OpenPgp, NOT_DECODED.into())
                    }
                    Some(e) => crate::stream::fail(e),
                    None => self.failed(Mechanism::OpenPgp, f.message),
                }
            }
        }
    }
}

/// The CMS bytes of a pkcs7-mime body in the source, decoded as [`super::cms_bytes`] decodes a
/// body held whole: by its transfer encoding, and as base64 when a body that declares none
/// does not start as DER does.
pub(super) fn cms_reader(
    ent: &Entity<'_>,
    body: &Body,
) -> Result<Box<dyn Read + Send + Sync>, Failure> {
    let mut raw = body.reader();
    if ent.transfer_encoding() == "base64" {
        return Ok(Box::new(base64_reader(raw)));
    }
    let mut first = [0u8; 1];
    let n = raw.read(&mut first).map_err(Failure::Io)?;
    let head = std::io::Cursor::new(first[..n].to_vec());
    match first[0] == 0x30 && n == 1 {
        true => Ok(Box::new(head.chain(raw))),
        false => Ok(Box::new(base64_reader(head.chain(raw)))),
    }
}

/// A CMS body in the source, read whole (a CMS part below the payload, only classified).
pub(super) fn read_cms_body(ent: &Entity<'_>, body: &Body) -> Option<Vec<u8>> {
    let mut der = Vec::new();
    cms_reader(ent, body).ok()?.read_to_end(&mut der).ok()?;
    Some(der)
}
