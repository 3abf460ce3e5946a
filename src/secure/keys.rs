//! Key material from the KEYS flags, sorted by kind: the type of each file is detected from its
//! content (OpenPGP armored or binary, or X.509/PKCS#8/PKCS#12 PEM or DER), never from its name.
//!
//! Files come in as bytes with the name errors call them by; the library never opens a file,
//! reads the environment or asks for a passphrase (style.md §1). A file that is not what its
//! flag needs is named with what it is instead ("an X.509 certificate, not a private key"),
//! with a hint; an encrypted private key is unlocked with the [`Passphrase`] the caller read.

use crate::error::{Error, Result};
use crate::smime::{self, Certificate, Credentials, FileKind};
use sequoia_openpgp::Cert;

/// True when `data` is OpenPGP material: ASCII armor, or a binary packet (the first octet has
/// its high bit set; DER starts with 0x30, a SEQUENCE, which does not).
pub fn is_openpgp(data: &[u8]) -> bool {
    let text = String::from_utf8_lossy(&data[..data.len().min(4096)]);
    text.contains("-----BEGIN PGP ") || data.first().is_some_and(|b| b & 0x80 != 0)
}

/// A passphrase for encrypted private keys. Its memory is wiped when dropped, and `Debug`
/// never shows it.
#[derive(Clone)]
pub struct Passphrase(zeroize::Zeroizing<String>);

impl Passphrase {
    /// Wraps a passphrase (the caller has stripped any line ending).
    pub fn new(passphrase: impl Into<String>) -> Self {
        Passphrase(zeroize::Zeroizing::new(passphrase.into()))
    }

    /// The passphrase.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(..)")
    }
}

/// One key or certificate file: its content and the name errors call it by (the path as the
/// user gave it). `Debug` shows the name and size only: the content may be a private key.
#[derive(Clone, PartialEq, Eq)]
pub struct KeyFile {
    /// How errors name the file.
    pub name: String,
    /// The file's content.
    pub data: Vec<u8>,
}

impl std::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyFile")
            .field("name", &self.name)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl KeyFile {
    /// A file called `name` holding `data`.
    pub fn new(name: impl Into<String>, data: impl Into<Vec<u8>>) -> Self {
        KeyFile {
            name: name.into(),
            data: data.into(),
        }
    }
}

/// Everything [`Keys::load_from`] reads: the files of each KEYS flag and the passphrase.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct KeySources {
    /// `--key`: private keys (PKCS#8/PKCS#1/SEC1, encrypted or not, PKCS#12, OpenPGP TSKs).
    pub keys: Vec<KeyFile>,
    /// Private keys used only when they can be unlocked: one that needs a passphrase when none
    /// was given, or that the passphrase does not unlock, is left out instead of failing. For
    /// keys the user did not name for this run (a config file's identities, which `verify`
    /// loads for every message).
    pub optional_keys: Vec<KeyFile>,
    /// `--cert`: the signer's certificates and chain (X.509), or OpenPGP certificates.
    pub certs: Vec<KeyFile>,
    /// `--recipient`: recipients' X.509 or OpenPGP certificates.
    pub recipients: Vec<KeyFile>,
    /// `--ca`: X.509 trust anchors.
    pub cas: Vec<KeyFile>,
    /// `--keyring`: trusted OpenPGP certificates.
    pub keyrings: Vec<KeyFile>,
    /// Unlocks encrypted private keys; `None` when the caller has none. With `agent`, it is
    /// also handed to gpg-agent through its loopback pinentry.
    pub passphrase: Option<Passphrase>,
    /// `--key` values that name a key in the user's GnuPG keyring (a fingerprint or an
    /// address): the OpenPGP certificates the caller exported from it (`gpg --export`), whose
    /// secret keys stay in `agent`.
    pub agent_certs: Vec<KeyFile>,
    /// The gpg-agent holding the secrets of `agent_certs`.
    pub agent: Option<crate::pgp::Agent>,
}

/// The flag a file was given to, for what it must hold and the hints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Flag {
    Key,
    Cert,
    Recipient,
    Ca,
    Keyring,
}

impl Flag {
    fn name(self) -> &'static str {
        match self {
            Flag::Key => "--key",
            Flag::Cert => "--cert",
            Flag::Recipient => "--recipient",
            Flag::Ca => "--ca",
            Flag::Keyring => "--keyring",
        }
    }

    fn wants(self) -> &'static str {
        match self {
            Flag::Key => "a private key",
            Flag::Cert => "a certificate",
            Flag::Recipient => "a recipient certificate",
            Flag::Ca => "CA certificates",
            Flag::Keyring => "OpenPGP certificates",
        }
    }

    /// What the flag takes, for the hint when nothing more specific applies.
    fn takes(self) -> &'static str {
        match self {
            Flag::Key => {
                "--key takes a private key (PKCS#8, PKCS#1 or SEC1, PEM or DER, encrypted or \
                 not), a PKCS#12 file (.p12/.pfx) or an OpenPGP secret key"
            }
            Flag::Cert => {
                "--cert takes the signer's X.509 certificates (PEM bundle, DER or PKCS#7) or \
                 an OpenPGP certificate"
            }
            Flag::Recipient => {
                "--recipient takes the recipient's X.509 certificate (PEM or DER) or OpenPGP \
                 certificate"
            }
            Flag::Ca => "--ca takes X.509 CA certificates (PEM bundle, DER or PKCS#7)",
            Flag::Keyring => "--keyring takes OpenPGP certificates (armored or binary)",
        }
    }
}

/// The one-line error for `file` given to `flag` but holding `kind`, with a hint.
fn wrong_kind(file: &KeyFile, flag: Flag, kind: FileKind) -> Error {
    use FileKind::*;
    let hint = match (flag, kind) {
        (Flag::Key, Certificate | Pkcs7) => {
            "give the certificate with --cert and its private key with --key, or one PKCS#12 \
             file holding both with --key"
        }
        (Flag::Key, PublicKey) => "--key needs the private half of the key pair",
        (Flag::Key, Csr) => {
            "a CSR holds no private key: give the key it was made from with --key and the \
             certificate the CA issued with --cert"
        }
        (Flag::Key, PgpCert) => {
            "export the secret key (gpg --export-secret-keys) for --key, or give this \
             certificate with --recipient or --keyring"
        }
        (Flag::Key, OpenSshKey) => {
            "convert it with 'ssh-keygen -p -m PKCS8 -f FILE', and give its X.509 certificate \
             with --cert"
        }
        (Flag::Cert | Flag::Recipient | Flag::Ca, PrivateKey | EncryptedPrivateKey) => {
            "give private keys with --key, and certificates with --cert, --recipient or --ca"
        }
        (Flag::Cert, Pkcs12) => {
            "give the PKCS#12 file with --key: it holds the key, the certificate and its chain"
        }
        (Flag::Recipient, Pkcs12) => {
            "a recipient needs only their certificate ('openssl pkcs12 -nokeys' extracts it); \
             a PKCS#12 file of your own goes to --key"
        }
        (Flag::Ca, Pkcs12) => {
            "extract the CA certificates ('openssl pkcs12 -cacerts -nokeys') and give them \
             with --ca; your own PKCS#12 file goes to --key"
        }
        (Flag::Cert | Flag::Recipient | Flag::Ca, Csr) => {
            "a CSR is not a certificate: give the certificate the CA issued for it"
        }
        (Flag::Ca, PgpCert | PgpSecret) => "give OpenPGP certificates with --keyring",
        (Flag::Keyring, Certificate | Pkcs7) => "give X.509 trust anchors with --ca",
        (Flag::Keyring, Pkcs12 | PrivateKey | EncryptedPrivateKey) => {
            "give private keys with --key; --keyring takes OpenPGP certificates"
        }
        (flag, _) => flag.takes(),
    };
    let what = match kind {
        Unknown => format!(
            "not a key or certificate file ({} needs {})",
            flag.name(),
            flag.wants()
        ),
        _ => format!("{kind}, not {} ({})", flag.wants(), flag.name()),
    };
    Error::Key(format!("{}: {what}\nhint: {hint}", file.name))
}

/// Names the file in an error that came from reading it.
fn named(file: &KeyFile, e: Error) -> Error {
    match e {
        Error::Key(m) => Error::Key(format!("{}: {m}", file.name)),
        e => e,
    }
}

/// A file's content, parsed once.
enum Material {
    /// OpenPGP certificates or TSKs.
    Pgp(Vec<Cert>),
    /// X.509-world objects (PEM blocks or one DER structure).
    X509(Vec<smime::keyfile::Item>),
}

impl Material {
    fn read(file: &KeyFile, flag: Flag) -> Result<Material> {
        if is_openpgp(&file.data) {
            return match crate::pgp::load_keys(&file.data) {
                Ok(certs) => Ok(Material::Pgp(certs)),
                // Armor says it is OpenPGP: its own error is the informative one.
                Err(e) if String::from_utf8_lossy(&file.data).contains("-----BEGIN PGP ") => {
                    Err(named(file, e))
                }
                // A high first bit and no OpenPGP packets: binary garbage.
                Err(_) => Err(wrong_kind(file, flag, FileKind::Unknown)),
            };
        }
        Ok(Material::X509(smime::keyfile::read(&file.data)))
    }

    fn kind(&self) -> FileKind {
        match self {
            Material::Pgp(certs) if certs.iter().any(Cert::is_tsk) => FileKind::PgpSecret,
            Material::Pgp(_) => FileKind::PgpCert,
            Material::X509(items) => smime::keyfile::principal(items),
        }
    }

    /// The X.509 certificates of a file given to `flag`, or the error naming what it is.
    fn certificates(&self, file: &KeyFile, flag: Flag) -> Result<Vec<Certificate>> {
        let found = match self {
            Material::X509(items) => smime::keyfile::certificates(items),
            Material::Pgp(_) => None,
        };
        match found {
            Some(xs) => xs
                .iter()
                .map(|x| smime::from_openssl(x).map_err(|e| named(file, e)))
                .collect(),
            None => Err(wrong_kind(file, flag, self.kind())),
        }
    }
}

fn distinct(files: &[KeyFile]) -> Vec<&KeyFile> {
    let mut out: Vec<&KeyFile> = Vec::new();
    for f in files {
        if !out.iter().any(|o| o.data == f.data) {
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
    /// OpenPGP certificates whose secret keys gpg-agent holds (`--key FINGERPRINT|ADDRESS`):
    /// they sign and decrypt through `pgp_agent`.
    pub pgp_agent_certs: Vec<Cert>,
    /// The gpg-agent of `pgp_agent_certs`.
    pub pgp_agent: Option<crate::pgp::Agent>,
    /// Whether OpenSSL's default CA store (the system store, or `$SSL_CERT_FILE` /
    /// `$SSL_CERT_DIR`) anchors S/MIME signer paths besides `smime_anchors`. Off by default so a
    /// library caller trusts only what it gives; the CLI turns it on unless `--no-system-ca` or
    /// config `trust.system_ca = false`.
    pub system_ca: bool,
}

impl Keys {
    /// Sorts the contents of the KEYS flags, for unnamed files and unencrypted keys: the
    /// files are named `--key #1`, ... in errors. See [`Keys::load_from`].
    pub fn load(
        keys: &[Vec<u8>],
        certs: &[Vec<u8>],
        recipients: &[Vec<u8>],
        cas: &[Vec<u8>],
        keyrings: &[Vec<u8>],
    ) -> Result<Keys> {
        let files = |flag: &str, v: &[Vec<u8>]| -> Vec<KeyFile> {
            v.iter()
                .enumerate()
                .map(|(i, d)| KeyFile::new(format!("{flag} #{}", i + 1), d.clone()))
                .collect()
        };
        Keys::load_from(&KeySources {
            keys: files("--key", keys),
            certs: files("--cert", certs),
            recipients: files("--recipient", recipients),
            cas: files("--ca", cas),
            keyrings: files("--keyring", keyrings),
            ..KeySources::default()
        })
    }

    /// Sorts the contents of the KEYS flags by kind, unlocking encrypted private keys (PKCS#8,
    /// legacy PEM, PKCS#12, OpenPGP) with the passphrase.
    ///
    /// Fails with [`Error::NeedPassphrase`] or [`Error::WrongPassphrase`] (77) when a private
    /// key stays locked, and with [`Error::Key`] (78) when a file is unreadable or not what its
    /// flag needs: one line naming the file and what it holds, and a hint.
    pub fn load_from(src: &KeySources) -> Result<Keys> {
        let pass = src.passphrase.as_ref();
        let mut k = Keys::default();
        let mut x509_certs: Vec<Certificate> = Vec::new();
        // The same file given twice (a flag and a config identity) must not put a certificate
        // twice into a SignedData: its certificates are a DER SET OF, which forbids duplicates.
        for f in distinct(&src.certs) {
            match Material::read(f, Flag::Cert)? {
                Material::Pgp(certs) => k.pgp_keyring.extend(certs),
                m => {
                    let certs = m.certificates(f, Flag::Cert)?;
                    k.smime_extra.extend(certs.iter().cloned());
                    x509_certs.extend(certs);
                }
            }
        }
        let required = src.keys.iter().map(|f| (f, true));
        let optional = src.optional_keys.iter().map(|f| (f, false));
        let mut seen: Vec<&[u8]> = Vec::new();
        for (f, required) in required.chain(optional) {
            if seen.contains(&f.data.as_slice()) {
                continue;
            }
            seen.push(&f.data);
            match k.add_key(f, &x509_certs, pass) {
                // An optional key that stays locked is left out; any other fault is reported.
                Err(Error::NeedPassphrase(_) | Error::WrongPassphrase(_)) if !required => {}
                r => r?,
            }
        }
        k.add_agent(src)?;
        for f in &src.recipients {
            match Material::read(f, Flag::Recipient)? {
                Material::Pgp(certs) => k.pgp_recipients.extend(certs),
                m => k
                    .smime_recipients
                    .extend(m.certificates(f, Flag::Recipient)?),
            }
        }
        for f in &src.cas {
            let m = Material::read(f, Flag::Ca)?;
            k.smime_anchors.extend(m.certificates(f, Flag::Ca)?);
        }
        for f in &src.keyrings {
            match Material::read(f, Flag::Keyring)? {
                Material::Pgp(certs) => k.pgp_keyring.extend(certs),
                m => return Err(wrong_kind(f, Flag::Keyring, m.kind())),
            }
        }
        Ok(k)
    }

    /// Takes the certificates of keys held by gpg-agent ([`KeySources::agent_certs`]).
    fn add_agent(&mut self, src: &KeySources) -> Result<()> {
        if src.agent_certs.is_empty() {
            return Ok(());
        }
        let Some(agent) = &src.agent else {
            return Err(Error::Usage(
                "keys held by gpg-agent were named but no agent was given".into(),
            ));
        };
        for f in &src.agent_certs {
            match Material::read(f, Flag::Key)? {
                // Only the public parts: whatever secret an export carried is not ours to use.
                Material::Pgp(certs) => self
                    .pgp_agent_certs
                    .extend(certs.into_iter().map(Cert::strip_secret_key_material)),
                m => return Err(wrong_kind(f, Flag::Key, m.kind())),
            }
        }
        let mut agent = agent.clone();
        if let Some(p) = &src.passphrase {
            agent = agent.with_passphrase(p.clone());
        }
        self.pgp_agent = Some(agent);
        Ok(())
    }

    /// The certificates whose secrets gpg-agent holds, with the agent.
    pub(crate) fn pgp_agent_keys(&self) -> Option<crate::pgp::AgentKeys<'_>> {
        let agent = self.pgp_agent.as_ref()?;
        (!self.pgp_agent_certs.is_empty()).then_some(crate::pgp::AgentKeys {
            agent,
            certs: &self.pgp_agent_certs,
        })
    }

    /// Reads one `--key` file: OpenPGP TSKs, or an X.509-world private key (with `certs`, the
    /// `--cert` certificates, to find its certificate).
    fn add_key(
        &mut self,
        f: &KeyFile,
        certs: &[Certificate],
        pass: Option<&Passphrase>,
    ) -> Result<()> {
        match Material::read(f, Flag::Key)? {
            Material::Pgp(tsks) => {
                if !tsks.iter().any(Cert::is_tsk) {
                    return Err(wrong_kind(f, Flag::Key, FileKind::PgpCert));
                }
                let mut unlocked = Vec::with_capacity(tsks.len());
                for c in tsks {
                    unlocked.push(crate::pgp::keys::unlock(c, &f.name, pass)?);
                }
                self.pgp_secret.extend(unlocked);
            }
            Material::X509(items) => {
                let kind = smime::keyfile::principal(&items);
                if !matches!(
                    kind,
                    FileKind::PrivateKey | FileKind::EncryptedPrivateKey | FileKind::Pkcs12
                ) {
                    return Err(wrong_kind(f, Flag::Key, kind));
                }
                let creds = Credentials::unlock(&f.name, &f.data, certs, pass)?;
                self.smime_signers.push(creds);
            }
        }
        Ok(())
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

    /// The OpenPGP signer for the From addresses, chosen like [`Keys::smime_signer`] among the
    /// TSKs and then the certificates whose secrets gpg-agent holds.
    pub fn pgp_signer(&self, from: &[String]) -> Result<crate::pgp::SigningKey> {
        use crate::pgp::SigningKey;
        let mut candidates: Vec<SigningKey> = self
            .pgp_secret
            .iter()
            .filter(|c| c.is_tsk())
            .map(SigningKey::from)
            .collect();
        if let Some(agent) = &self.pgp_agent {
            candidates.extend(
                (self.pgp_agent_certs.iter()).map(|c| SigningKey::Agent(c.clone(), agent.clone())),
            );
        }
        let matching = candidates.iter().position(|k| {
            crate::pgp::keys::emails(k.cert())
                .iter()
                .any(|a| from.contains(a))
        });
        match (matching, candidates.len()) {
            (Some(i), _) => Ok(candidates.swap_remove(i)),
            (None, 1) => Ok(candidates.swap_remove(0)),
            _ => Err(Error::NoKey(format!(
                "OpenPGP signer {} (give --key with a secret key file, or the fingerprint or \
                 address of a key in gpg-agent)",
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
        let agent = self.pgp_agent.is_some() && !self.pgp_agent_certs.is_empty();
        (!sign || agent || self.pgp_secret.iter().any(|c| c.is_tsk()))
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
