//! Key material from the KEYS flags, sorted by kind: the type of each file is detected from its
//! content (OpenPGP armored or binary, or X.509/PKCS#8 PEM or DER), never from its name.

use crate::error::{Error, Result};
use crate::smime::{self, Certificate, Credentials};
use sequoia_openpgp::Cert;

/// True when `data` is OpenPGP material: ASCII armor, or a binary packet (the first octet has
/// its high bit set; DER starts with 0x30, a SEQUENCE, which does not).
pub fn is_openpgp(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&data[..data.len().min(4096)]);
    text.contains("-----BEGIN PGP ") || data.first().is_some_and(|b| b & 0x80 != 0)
}

fn distinct(files: &[Vec<u8>]) -> Vec<&Vec<u8>> {
    let mut out: Vec<&Vec<u8>> = Vec::new();
    for f in files {
        if !out.contains(&f) {
            out.push(f);
        }
    }
    out
}

/// Every key and certificate a command was given.
#[derive(Debug, Clone, Default)]
pub struct Keys {
    /// S/MIME signing/decryption credentials (`--key` paired with `--cert`).
    pub smime_signers: Vec<Credentials>,
    /// S/MIME recipient certificates (`--recipient`).
    pub smime_recipients: Vec<Certificate>,
    /// X.509 trust anchors (`--ca`).
    pub smime_anchors: Vec<Certificate>,
    /// Further X.509 certificates (`--cert`: the signer's chain, intermediates).
    pub smime_extra: Vec<Certificate>,
    /// OpenPGP TSKs (`--key`).
    pub pgp_secret: Vec<Cert>,
    /// OpenPGP recipient certs (`--recipient`).
    pub pgp_recipients: Vec<Cert>,
    /// OpenPGP certs trusted for verification (`--keyring`, and OpenPGP `--cert`s).
    pub pgp_keyring: Vec<Cert>,
}

impl Keys {
    /// Sorts the contents of the KEYS flags. Unusable material is [`Error::Key`] (78).
    pub fn load(
        keys: &[Vec<u8>],
        certs: &[Vec<u8>],
        recipients: &[Vec<u8>],
        cas: &[Vec<u8>],
        keyrings: &[Vec<u8>],
    ) -> Result<Keys> {
        let mut k = Keys::default();
        let mut x509_certs: Vec<&[u8]> = Vec::new();
        // The same file given twice (a flag and a config identity) must not put a certificate
        // twice into a SignedData: its certificates are a DER SET OF, which forbids duplicates.
        let certs = distinct(certs);
        let keys = distinct(keys);
        for c in certs {
            if is_openpgp(c) {
                k.pgp_keyring.extend(crate::pgp::load_keys(c)?);
            } else {
                k.smime_extra.extend(smime::parse_certs(c)?);
                x509_certs.push(c);
            }
        }
        for key in keys {
            if is_openpgp(key) {
                k.pgp_secret.extend(crate::pgp::load_keys(key)?);
            } else {
                k.smime_signers.push(Credentials::load(key, &x509_certs)?);
            }
        }
        for r in recipients {
            if is_openpgp(r) {
                k.pgp_recipients.extend(crate::pgp::load_keys(r)?);
            } else {
                k.smime_recipients.extend(smime::parse_certs(r)?);
            }
        }
        for c in cas {
            if is_openpgp(c) {
                return Err(Error::Key(
                    "--ca takes X.509 certificates; use --keyring for OpenPGP".into(),
                ));
            }
            k.smime_anchors.extend(smime::parse_certs(c)?);
        }
        for r in keyrings {
            k.pgp_keyring.extend(crate::pgp::load_keys(r)?);
        }
        Ok(k)
    }

    /// The S/MIME signer for the From addresses: one whose certificate names one of them, else
    /// the only one given. None → [`Error::NoKey`] (67).
    pub fn smime_signer(&self, from: &[String]) -> Result<&Credentials> {
        let matching = self
            .smime_signers
            .iter()
            .find(|c| c.addresses().iter().any(|a| from.contains(a)));
        match (matching, self.smime_signers.as_slice()) {
            (Some(c), _) => Ok(c),
            (None, [only]) => Ok(only),
            _ => Err(Error::NoKey(format!(
                "S/MIME signer {} (give --key and --cert)",
                from.first().map(String::as_str).unwrap_or("(no From)")
            ))),
        }
    }

    /// The OpenPGP signer (a TSK) for the From addresses, chosen like [`Keys::smime_signer`].
    pub fn pgp_signer(&self, from: &[String]) -> Result<&Cert> {
        let tsks: Vec<&Cert> = self.pgp_secret.iter().filter(|c| c.is_tsk()).collect();
        let matching = tsks
            .iter()
            .find(|c| crate::pgp::keys::emails(c).iter().any(|a| from.contains(a)));
        match (matching, tsks.as_slice()) {
            (Some(c), _) => Ok(c),
            (None, [only]) => Ok(only),
            _ => Err(Error::NoKey(format!(
                "OpenPGP signer {} (give --key with a secret key)",
                from.first().map(String::as_str).unwrap_or("(no From)")
            ))),
        }
    }

    /// True when S/MIME material for the operation is present.
    pub fn has_smime(&self, sign: bool, encrypt: bool) -> bool {
        (!sign || !self.smime_signers.is_empty()) && (!encrypt || !self.smime_recipients.is_empty())
    }

    /// True when OpenPGP material for the operation is present.
    pub fn has_pgp(&self, sign: bool, encrypt: bool) -> bool {
        (!sign || self.pgp_secret.iter().any(|c| c.is_tsk()))
            && (!encrypt || !self.pgp_recipients.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::is_openpgp;

    /// r6: the same certificate file from a flag and a config identity made the SignedData's
    /// certificate SET OF hold a duplicate, which DER refuses.
    #[test]
    fn r6_duplicate_files_count_once() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/testdata/keys/smime/");
        let chain = std::fs::read(format!("{dir}alice.chain.pem")).expect("chain");
        let key = std::fs::read(format!("{dir}alice.key")).expect("key");
        let once = super::Keys::load(
            std::slice::from_ref(&key),
            std::slice::from_ref(&chain),
            &[],
            &[],
            &[],
        )
        .expect("once");
        let twice = super::Keys::load(&[key.clone(), key], &[chain.clone(), chain], &[], &[], &[])
            .expect("twice");
        assert_eq!(twice.smime_extra.len(), once.smime_extra.len());
        assert_eq!(twice.smime_signers.len(), 1);
    }

    #[test]
    fn detects_by_content() {
        assert!(is_openpgp(b"-----BEGIN PGP PUBLIC KEY BLOCK-----\n"));
        assert!(is_openpgp(&[0xc6, 0x33]));
        assert!(!is_openpgp(b"-----BEGIN CERTIFICATE-----\n"));
        assert!(!is_openpgp(&[0x30, 0x82]));
    }
}
