//! Encryption of a large payload as it is read (issue 13): the (auth)EnvelopedData of
//! [`super::encrypt`] written in BER with indefinite lengths, the ciphertext in chunks of a
//! constructed OCTET STRING, as `openssl cms -encrypt -stream` writes it (X.690 §8.1.3.6,
//! §8.7.3; RFC 5652 §2 allows BER). The recipients' key transport is the same code as for
//! DER ([`super::encrypt::sealing`]): only the framing differs.

use std::io::Write;

use der::Encode;
use openssl::symm::{Crypter, Mode};

use super::asn1;
use super::encrypt::{Sealing, alg};
use crate::mime::transfer::Base64Encoder;
use crate::stream::Content;
use crate::{Error, Result};

fn crypto(e: impl std::fmt::Display) -> Error {
    Error::Crypto(e.to_string())
}

/// The end-of-contents octets that close an indefinite length.
const EOC: &[u8] = &[0, 0];

/// Ciphertext is framed in OCTET STRINGs of this size.
const PIECE: usize = 64 << 10;

/// Writes a ContentInfo holding (auth)EnvelopedData of the bytes `payload` stands for
/// (`content` reads them) to `w`, sealed as `s` says.
pub(crate) fn write_enveloped(
    (payload, content): (&[u8], &dyn Content),
    s: &Sealing,
    w: &mut dyn Write,
) -> Result<()> {
    let mut iv = vec![0u8; if s.gcm { 12 } else { 16 }];
    openssl::rand::rand_bytes(&mut iv).map_err(crypto)?;
    let (ct_oid, version, params) = if s.gcm {
        // GCMParameters (RFC 5084 §3.2): nonce, 16-octet ICV.
        let p = asn1::cons(
            asn1::SEQUENCE,
            &[
                &asn1::tlv(asn1::OCTET_STRING, &iv),
                &asn1::int(asn1::INTEGER, 16),
            ],
        );
        (super::OID_AUTH_ENVELOPED_DATA, 0, p)
    } else {
        let v = if s.kari { 2 } else { 0 };
        (
            super::OID_ENVELOPED_DATA,
            v,
            asn1::tlv(asn1::OCTET_STRING, &iv),
        )
    };
    let oid = |o: &str| asn1::oid(o).ok_or_else(|| crypto("bad OID"));
    // ContentInfo, [0] content, (Auth)EnvelopedData: all of indefinite length.
    w.write_all(&[asn1::SEQUENCE, 0x80])?;
    w.write_all(&oid(ct_oid)?)?;
    w.write_all(&[0xa0, 0x80, asn1::SEQUENCE, 0x80])?;
    w.write_all(&asn1::int(asn1::INTEGER, version))?;
    w.write_all(&s.recip_infos.to_der().map_err(crypto)?)?;
    // EncryptedContentInfo, its encryptedContent [0] IMPLICIT OCTET STRING constructed.
    w.write_all(&[asn1::SEQUENCE, 0x80])?;
    w.write_all(&oid(super::OID_DATA)?)?;
    w.write_all(&alg(s.oid_c, Some(&params))?.to_der().map_err(crypto)?)?;
    w.write_all(&[0xa0, 0x80])?;
    let mut c = Crypter::new(s.sc, Mode::Encrypt, &s.cek, Some(&iv)).map_err(crypto)?;
    let mut out = vec![0u8; PIECE + 2 * s.sc.block_size()];
    let mut piece: Vec<u8> = Vec::with_capacity(PIECE + 64);
    let emit = |data: &[u8], piece: &mut Vec<u8>, w: &mut dyn Write, last: bool| {
        piece.extend_from_slice(data);
        if piece.len() >= PIECE || last && !piece.is_empty() {
            w.write_all(&asn1::tlv(asn1::OCTET_STRING, piece))?;
            piece.clear();
        }
        Ok::<_, Error>(())
    };
    content.feed(payload, &mut |chunk| {
        for part in chunk.chunks(PIECE) {
            let n = c.update(part, &mut out).map_err(crypto)?;
            emit(&out[..n], &mut piece, w, false)?;
        }
        Ok(())
    })?;
    let n = c.finalize(&mut out).map_err(crypto)?;
    emit(&out[..n], &mut piece, w, true)?;
    w.write_all(EOC)?; // encryptedContent
    w.write_all(EOC)?; // EncryptedContentInfo
    if s.gcm {
        let mut tag = [0u8; 16];
        c.get_tag(&mut tag).map_err(crypto)?;
        w.write_all(&asn1::tlv(asn1::OCTET_STRING, &tag))?;
    }
    w.write_all(EOC)?; // (Auth)EnvelopedData
    w.write_all(EOC)?; // [0]
    w.write_all(EOC)?; // ContentInfo
    Ok(())
}

/// Base64 with CRLF every 76 characters written through to `w`: the encoder of
/// [`crate::mime::transfer::base64_lines`] ([`Base64Encoder`]), its lines gathered so that
/// `w` sees large writes.
pub(crate) struct Base64Lines<W: Write> {
    w: W,
    encoder: Base64Encoder,
    text: Vec<u8>,
}

impl<W: Write> Base64Lines<W> {
    const GATHER: usize = 78 * 1024;

    pub(crate) fn new(w: W) -> Self {
        Base64Lines {
            w,
            encoder: Base64Encoder::default(),
            text: Vec::with_capacity(Self::GATHER * 2),
        }
    }

    /// Writes the last line and hands back the writer.
    pub(crate) fn finish(mut self) -> std::io::Result<W> {
        self.encoder.finish(&mut self.text);
        self.w.write_all(&self.text)?;
        self.w.flush()?;
        Ok(self.w)
    }
}

impl<W: Write> Write for Base64Lines<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.encoder.update(buf, &mut self.text);
        if self.text.len() >= Self::GATHER {
            self.w.write_all(&self.text)?;
            self.text.clear();
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn base64_lines_match_the_whole() {
        for n in [0usize, 1, 56, 57, 58, 1000, 57 * 1024 + 3, 57 * 3000] {
            let data: Vec<u8> = (0..n).map(|i| (i * 7 % 251) as u8).collect();
            let mut b = Base64Lines::new(Vec::new());
            for c in data.chunks(1000) {
                b.write_all(c).unwrap();
            }
            let got = b.finish().unwrap();
            assert!(got == crate::mime::transfer::base64_lines(&data), "{n}");
        }
    }
}
