//! Opening a CMS object in one pass with bounded memory (issue 13): opaque signed-data is
//! hashed while its content goes out, enveloped and authEnveloped data are deciphered while
//! they come in.
//!
//! The structure is walked with [`super::ber`], front to back, once. What CMS puts before the
//! content (RecipientInfos, algorithm identifiers, digestAlgorithms) and after it
//! (certificates, signerInfos, authAttrs, the mac) is small and is buffered under caps; the
//! content octets go through a decrypter or the hashers to `out` in pieces. The rules are not
//! here: recipient selection, key unwrapping and ciphers are [`super::decrypt`]'s, the signer
//! checks [`super::verify`]'s, shared with the in-memory [`super::open`] and
//! [`super::verify_opaque`] (which walk the DER of their ContentInfo through here too).

use std::io::{self, Read, Write};

use cms::enveloped_data::RecipientInfo;
use cms::signed_data::SignerInfo;
use der::{Decode, Encode};
use openssl::hash::{Hasher, MessageDigest};
use x509_cert::Certificate;
use x509_cert::attr::Attributes;
use x509_cert::spki::AlgorithmIdentifierOwned;

use super::asn1;
use super::ber::{BerError, BerReader, Header};
use super::certs::Credentials;
use super::decrypt::{ContentDecrypter, content_key};
use super::verify::{Trust, check_signers};
use crate::secure::codes;
use crate::secure::outcome::Signer;

/// Everything buffered from one CMS object (RecipientInfos, digestAlgorithms, certificates,
/// signerInfos, authAttrs, ...) together stays below this.
const BUFFERED_MAX: usize = 4 * 1024 * 1024;
/// One buffered element (a certificate, a RecipientInfo, a SignerInfo) stays below this.
const ELEMENT_MAX: usize = 256 * 1024;
/// An OBJECT IDENTIFIER, an INTEGER version, a mac.
const SMALL_MAX: usize = 256;
/// Distinct digests a signed-data may ask the content to be hashed with.
const DIGESTS_MAX: usize = 8;

/// What [`open_stream`] found and did.
#[derive(Debug)]
pub enum Streamed {
    /// Opaque signed-data: its eContent went to `out` while being hashed.
    Signed {
        /// One per SignerInfo, checked as [`super::verify_opaque`] checks them.
        signers: Vec<Signer>,
    },
    /// Enveloped or authEnveloped data: the plaintext went to `out`.
    Enveloped {
        /// The content cipher (`aes256-gcm`, ...).
        cipher: &'static str,
        /// True for 3DES.
        weak: bool,
    },
    /// Another CMS content type (its OID); nothing was written.
    Other(String),
}

/// Why [`open_stream`] failed. Whatever was written to `out` must then be thrown away.
#[derive(Debug)]
pub enum StreamError {
    /// Not CMS, or a CMS structure that is malformed, truncated, nested too deep or larger
    /// than the caps on its small parts.
    Malformed(String),
    /// Not a recipient, a key that does not unwrap, an unsupported cipher, bad padding, a GCM
    /// tag that does not match, or content past `max_output`.
    Decrypt(String),
    /// The input's read error or `out`'s write error.
    Io(io::Error),
}

impl std::fmt::Display for StreamError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StreamError::Malformed(m) => write!(f, "malformed CMS: {m}"),
            StreamError::Decrypt(m) => f.write_str(m),
            StreamError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for StreamError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StreamError::Io(e) => Some(e),
            _ => None,
        }
    }
}

/// Opens a CMS ContentInfo (BER or DER, already base64-decoded) read from `input` front to
/// back once: opaque signed-data is verified against `trust` and its content written to `out`;
/// enveloped-data and authEnveloped-data are decrypted with the first of `keys` that is a
/// recipient and the plaintext written to `out`. Memory stays bounded whatever the size.
///
/// `out` receives content before it is authenticated (the GCM tag and the signatures come
/// after the content in CMS): on any error the caller must discard what `out` got, and it
/// should spool it (a temporary file) rather than pass it on as it comes.
///
/// Fails with [`StreamError::Malformed`] when the input is not a well-formed ContentInfo,
/// [`StreamError::Decrypt`] when decryption fails or the content exceeds `max_output` bytes,
/// and [`StreamError::Io`] when reading `input` or writing `out` fails. Signature problems
/// are not errors: they are the statuses of the returned signers.
pub fn open_stream(
    input: &mut dyn Read,
    trust: &Trust,
    keys: &[Credentials],
    max_output: u64,
    out: &mut dyn Write,
) -> Result<Streamed, StreamError> {
    match run(input, Some(trust), keys, max_output, out) {
        Ok((s, _)) => Ok(s),
        Err(Fail::Malformed(m)) => Err(StreamError::Malformed(m)),
        Err(Fail::Crypto(e)) => Err(StreamError::Decrypt(e.to_string())),
        Err(Fail::Io(e)) => Err(StreamError::Io(e)),
    }
}

/// [`StreamError`] with the library error kept, so that the in-memory callers keep their
/// error classes ([`crate::Error::NoKey`] and [`crate::Error::Crypto`]).
#[derive(Debug)]
pub(crate) enum Fail {
    Malformed(String),
    Crypto(crate::Error),
    Io(io::Error),
}

impl From<BerError> for Fail {
    fn from(e: BerError) -> Fail {
        match e {
            BerError::Malformed(m) => Fail::Malformed(m),
            BerError::Io(e) => Fail::Io(e),
        }
    }
}

impl From<crate::Error> for Fail {
    fn from(e: crate::Error) -> Fail {
        Fail::Crypto(e)
    }
}

fn bad(what: impl Into<String>) -> Fail {
    Fail::Malformed(what.into())
}

/// [`open_stream`] for every caller. Signed-data is only verified with a `trust` (else it is
/// [`Streamed::Other`]). The flag says whether signed-data had content at all.
pub(crate) fn run(
    input: &mut dyn Read,
    trust: Option<&Trust>,
    keys: &[Credentials],
    max_output: u64,
    out: &mut dyn Write,
) -> Result<(Streamed, bool), Fail> {
    let mut w = Walk {
        r: BerReader::new(input),
        budget: BUFFERED_MAX,
    };
    let mut sink = Sink {
        out,
        written: 0,
        max: max_output,
    };
    let ci = w.need(asn1::SEQUENCE, "ContentInfo")?;
    w.r.enter(&ci)?;
    let oid = w.oid("contentType")?;
    let kind = match (oid.as_str(), trust) {
        (super::OID_SIGNED_DATA, Some(_)) => Kind::Signed,
        (super::OID_ENVELOPED_DATA, _) => Kind::Enveloped,
        (super::OID_AUTH_ENVELOPED_DATA, _) => Kind::AuthEnveloped,
        _ => return Ok((Streamed::Other(oid), false)),
    };
    let content = w.need(0xa0, "ContentInfo content")?;
    w.r.enter(&content)?;
    let done = match (kind, trust) {
        (Kind::Signed, Some(trust)) => w.signed(trust, &mut sink)?,
        (Kind::Enveloped, _) => (w.enveloped(false, keys, &mut sink)?, false),
        _ => (w.enveloped(true, keys, &mut sink)?, false),
    };
    // Opaque signed-data without eContent stops early: nothing else of it matters.
    if !matches!(done, (Streamed::Signed { .. }, false)) {
        w.r.end("ContentInfo content")?;
        w.r.end("ContentInfo")?;
    }
    Ok(done)
}

#[derive(Clone, Copy)]
enum Kind {
    Signed,
    Enveloped,
    AuthEnveloped,
}

/// `out`, counting against `max`.
struct Sink<'o> {
    out: &'o mut dyn Write,
    written: u64,
    max: u64,
}

impl Sink<'_> {
    fn write(&mut self, data: &[u8]) -> Result<(), Fail> {
        self.written = self.written.saturating_add(data.len() as u64);
        if self.written > self.max {
            return Err(Fail::Crypto(crate::Error::Crypto(format!(
                "the content is larger than the limit of {} bytes",
                self.max
            ))));
        }
        self.out.write_all(data).map_err(Fail::Io)
    }
}

/// The reader and what may still be buffered.
struct Walk<'r> {
    r: BerReader<'r>,
    budget: usize,
}

impl Walk<'_> {
    /// The next element, which must have tag `tag` (either form for a string type).
    fn need(&mut self, tag: u8, what: &str) -> Result<Header, Fail> {
        match self.r.next()? {
            Some(h) if h.tag == tag || h.base() == tag => Ok(h),
            Some(h) => Err(bad(format!("{what}: unexpected element {:#04x}", h.tag))),
            None => Err(bad(format!("{what} is missing"))),
        }
    }

    /// Buffers one element (re-encoded with definite lengths) under the caps.
    fn capture(&mut self, h: &Header, cap: usize) -> Result<Vec<u8>, Fail> {
        let der = self.r.capture(h, cap.min(self.budget))?;
        self.budget = self.budget.saturating_sub(der.len());
        Ok(der)
    }

    fn oid(&mut self, what: &str) -> Result<String, Fail> {
        let h = self.need(asn1::OID, what)?;
        let der = self.capture(&h, SMALL_MAX)?;
        asn1::read(&der)
            .and_then(|(t, _)| asn1::oid_string(t.content))
            .ok_or_else(|| bad(format!("{what} is not an OBJECT IDENTIFIER")))
    }

    /// A CMSVersion, not used: the fields that follow say what the structure is.
    fn version(&mut self, what: &str) -> Result<(), Fail> {
        let h = self.need(asn1::INTEGER, what)?;
        self.capture(&h, SMALL_MAX).map(drop)
    }

    /// The elements of a SET OF, each buffered and decoded.
    fn set_of<T: der::DecodeOwned>(&mut self, h: &Header, what: &str) -> Result<Vec<T>, Fail> {
        self.r.enter(h)?;
        let mut all = Vec::new();
        while let Some(e) = self.r.next()? {
            let der = self.capture(&e, ELEMENT_MAX)?;
            all.push(T::from_der(&der).map_err(|e| bad(format!("bad {what}: {e}")))?);
        }
        Ok(all)
    }

    /// EnvelopedData (RFC 5652 §6.1) or AuthEnvelopedData (RFC 5083 §2.1), entered at its
    /// SEQUENCE: the plaintext to `sink`.
    fn enveloped(
        &mut self,
        auth: bool,
        keys: &[Credentials],
        sink: &mut Sink<'_>,
    ) -> Result<Streamed, Fail> {
        let what = if auth {
            "AuthEnvelopedData"
        } else {
            "EnvelopedData"
        };
        let seq = self.need(asn1::SEQUENCE, what)?;
        self.r.enter(&seq)?;
        self.version("version")?;
        let mut h = self
            .r
            .next()?
            .ok_or_else(|| bad("recipientInfos is missing"))?;
        if h.tag == 0xa0 {
            // originatorInfo: certificates and CRLs of the sender, not needed to decrypt.
            self.r.skip(&h)?;
            h = self.need(asn1::SET, "recipientInfos")?;
        }
        if h.tag != asn1::SET {
            return Err(bad(format!(
                "recipientInfos: unexpected element {:#04x}",
                h.tag
            )));
        }
        let recips = self.set_of::<RecipientInfo>(&h, "RecipientInfo")?;
        let cek = content_key(&recips, keys)?;

        let eci = self.need(asn1::SEQUENCE, "EncryptedContentInfo")?;
        self.r.enter(&eci)?;
        self.oid("contentType")?;
        let alg = self.need(asn1::SEQUENCE, "contentEncryptionAlgorithm")?;
        let alg = self.capture(&alg, ELEMENT_MAX)?;
        let alg = AlgorithmIdentifierOwned::from_der(&alg)
            .map_err(|e| bad(format!("bad contentEncryptionAlgorithm: {e}")))?;
        // encryptedContent [0] IMPLICIT OCTET STRING, optional in the syntax only.
        let content = match self.r.next()? {
            Some(c) if c.base() == 0x80 => c,
            _ => return Err(crate::Error::Crypto("no encrypted content".into()).into()),
        };
        let mut dec = ContentDecrypter::new(&alg, &cek)?;
        let mut plain = Vec::new();
        self.r.octets::<Fail>(&content, &mut |piece| {
            dec.update(piece, &mut plain)?;
            sink.write(&plain)
        })?;
        self.r.end("EncryptedContentInfo")?;

        let mut auth_data = None;
        if auth {
            // authAttrs [1] IMPLICIT, optional, then the mac.
            let mut h = self.r.next()?.ok_or_else(|| bad("mac is missing"))?;
            let mut aad = Vec::new();
            if h.tag == 0xa1 {
                let mut der = self.capture(&h, ELEMENT_MAX)?;
                // RFC 5083 §2.2: the AAD is the DER of authAttrs with a SET OF tag.
                der[0] = asn1::SET;
                aad = Attributes::from_der(&der)
                    .and_then(|a| a.to_der())
                    .map_err(|e| bad(format!("bad authAttrs: {e}")))?;
                h = self.need(asn1::OCTET_STRING, "mac")?;
            }
            if h.base() != asn1::OCTET_STRING {
                return Err(bad(format!("mac: unexpected element {:#04x}", h.tag)));
            }
            let mac = self.capture(&h, SMALL_MAX)?;
            let mac = asn1::read(&mac)
                .map(|(t, _)| t.content.to_vec())
                .ok_or_else(|| bad("bad mac"))?;
            auth_data = Some((aad, mac));
        }
        // unprotectedAttrs [1] or unauthAttrs [2]: nothing to do with the content.
        while let Some(h) = self.r.next()? {
            let last = if auth { 0xa2 } else { 0xa1 };
            if h.tag != last {
                return Err(bad(format!("unexpected element {:#04x} in {what}", h.tag)));
            }
            self.r.skip(&h)?;
        }
        let (name, weak) = (dec.name, dec.weak);
        dec.finish(
            auth_data
                .as_ref()
                .map(|(aad, mac)| (aad.as_slice(), mac.as_slice())),
            &mut plain,
        )?;
        sink.write(&plain)?;
        Ok(Streamed::Enveloped { cipher: name, weak })
    }

    /// SignedData (RFC 5652 §5.1), entered at its SEQUENCE: the eContent to `sink`, hashed
    /// with every digest of digestAlgorithms as it goes, then the signerInfos checked against
    /// those digests. The flag says whether there was an eContent.
    fn signed(&mut self, trust: &Trust, sink: &mut Sink<'_>) -> Result<(Streamed, bool), Fail> {
        let seq = self.need(asn1::SEQUENCE, "SignedData")?;
        self.r.enter(&seq)?;
        self.version("version")?;
        let algs = self.need(asn1::SET, "digestAlgorithms")?;
        let algs = self.set_of::<AlgorithmIdentifierOwned>(&algs, "digestAlgorithm")?;
        let mut hashers: Vec<(MessageDigest, Hasher)> = Vec::new();
        for a in &algs {
            let Some((md, _, _)) = super::digest_by_oid(&a.oid.to_string()) else {
                continue;
            };
            if !hashers.iter().any(|(m, _)| *m == md) {
                if hashers.len() == DIGESTS_MAX {
                    return Err(bad("too many digestAlgorithms"));
                }
                let h = Hasher::new(md).map_err(|e| crate::Error::Crypto(e.to_string()))?;
                hashers.push((md, h));
            }
        }

        let encap = self.need(asn1::SEQUENCE, "EncapsulatedContentInfo")?;
        self.r.enter(&encap)?;
        let econtent_type = self.oid("eContentType")?;
        let Some(wrap) = self.r.next()? else {
            let why = "opaque signed-data without content";
            return Ok((
                Streamed::Signed {
                    signers: vec![Signer::broken(codes::SIGNATURE_INVALID, why)],
                },
                false,
            ));
        };
        if wrap.tag != 0xa0 {
            return Err(bad(format!(
                "eContent: unexpected element {:#04x}",
                wrap.tag
            )));
        }
        self.r.enter(&wrap)?;
        let octets = self.need(asn1::OCTET_STRING, "eContent")?;
        let hash_err =
            |e: openssl::error::ErrorStack| Fail::Crypto(crate::Error::Crypto(e.to_string()));
        self.r.octets::<Fail>(&octets, &mut |piece| {
            for (_, h) in hashers.iter_mut() {
                h.update(piece).map_err(hash_err)?;
            }
            sink.write(piece)
        })?;
        self.r.end("eContent")?;
        self.r.end("EncapsulatedContentInfo")?;
        let mut digests = Vec::new();
        for (md, mut h) in hashers {
            digests.push((md, h.finish().map_err(hash_err)?.to_vec()));
        }

        let mut h = self
            .r
            .next()?
            .ok_or_else(|| bad("signerInfos is missing"))?;
        let mut certs = Vec::new();
        if h.tag == 0xa0 {
            // CertificateChoices: only plain certificates are of use; the others are skipped.
            self.r.enter(&h)?;
            while let Some(c) = self.r.next()? {
                if c.tag != asn1::SEQUENCE {
                    self.r.skip(&c)?;
                    continue;
                }
                let der = self.capture(&c, ELEMENT_MAX)?;
                certs.push(
                    Certificate::from_der(&der)
                        .map_err(|e| bad(format!("bad certificate: {e}")))?,
                );
            }
            h = self
                .r
                .next()?
                .ok_or_else(|| bad("signerInfos is missing"))?;
        }
        if h.tag == 0xa1 {
            // CRLs: revocation is not checked from the message.
            self.r.skip(&h)?;
            h = self
                .r
                .next()?
                .ok_or_else(|| bad("signerInfos is missing"))?;
        }
        if h.tag != asn1::SET {
            return Err(bad(format!(
                "signerInfos: unexpected element {:#04x}",
                h.tag
            )));
        }
        let infos = self.set_of::<SignerInfo>(&h, "SignerInfo")?;
        self.r.end("SignedData")?;

        let signers = check_signers(
            &infos,
            &econtent_type,
            certs,
            &mut |md| {
                digests
                    .iter()
                    .find(|(m, _)| *m == md)
                    .map(|(_, d)| d.clone())
            },
            trust,
        );
        Ok((Streamed::Signed { signers }, true))
    }
}
