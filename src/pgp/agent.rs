//! Secret keys that stay in gpg-agent (issue 10): signing and decrypting through the agent's
//! Assuan socket with `sequoia-gpg-agent`, so the secret (or the smartcard behind the agent)
//! never reaches ximf's memory.
//!
//! The library is told where the agent listens ([`Agent::new`] takes the socket path; the
//! binary asks `gpgconf` for it) and never reads `$GNUPGHOME` itself (style.md §1). Asking for
//! a passphrase is the agent's job (its pinentry, or a cache preset by the user); ximf only
//! passes a passphrase the caller already has, through the agent's loopback pinentry.
//!
//! `sequoia-gpg-agent` is async (tokio). The library API stays synchronous: every operation
//! runs on a current-thread runtime created here, bounded by [`Agent::timeout`], because a
//! mail filter must not wait without bound (style.md §7, the Sieve extprograms rule).
//!
//! Failures keep their class for the exit status: the agent cannot be reached or does not
//! answer in time → [`Error::TempFail`] (75); it has no secret for the key →
//! [`Error::NoKey`] (67); it refuses (pinentry cancelled or missing, wrong passphrase) →
//! [`Error::KeyRefused`] (77).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use openpgp::Cert;
use openpgp::cert::amalgamation::key::PrimaryKey as _;
use openpgp::crypto::{self, SessionKey, mpi};
use openpgp::packet::Key;
use openpgp::packet::key::{PublicParts, UnspecifiedRole};
use openpgp::policy::Policy;
use openpgp::types::HashAlgorithm;
use sequoia_gpg_agent as gpg_agent;
use sequoia_openpgp as openpgp;

use super::keys;
use crate::secure::Passphrase;
use crate::{Error, Result};

/// How long one agent operation may take by default, pinentry included.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// A gpg-agent to use: where it listens, how long to wait for it, and optionally a passphrase
/// to hand it through its loopback pinentry. `Debug` never shows the passphrase.
#[derive(Clone)]
pub struct Agent {
    socket: PathBuf,
    timeout: Duration,
    passphrase: Option<Passphrase>,
}

impl std::fmt::Debug for Agent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Agent")
            .field("socket", &self.socket)
            .field("timeout", &self.timeout)
            .field("passphrase", &self.passphrase.is_some())
            .finish()
    }
}

impl Agent {
    /// The agent listening on `socket` (`gpgconf --list-dirs agent-socket`), with the default
    /// timeout of 30 seconds. Nothing is connected until a key is used; the agent is never
    /// started from here.
    pub fn new(socket: impl Into<PathBuf>) -> Self {
        Agent {
            socket: socket.into(),
            timeout: DEFAULT_TIMEOUT,
            passphrase: None,
        }
    }

    /// Bounds every operation (connecting, pinentry, the private-key operation) by `timeout`.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Answers the agent's passphrase inquiries with `passphrase` (loopback pinentry, which
    /// GnuPG allows unless `no-allow-loopback-pinentry` is set) instead of its own pinentry.
    pub fn with_passphrase(mut self, passphrase: Passphrase) -> Self {
        self.passphrase = Some(passphrase);
        self
    }

    /// The agent's socket.
    pub fn socket(&self) -> &Path {
        &self.socket
    }

    /// The bound on each operation.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Runs the future `make` returns on a fresh current-thread runtime, bounded by the
    /// timeout. Fails with [`Error::TempFail`] when the runtime cannot be made or the time runs
    /// out. Called from a thread that is inside a tokio runtime already (`ximf milter`), it
    /// runs on a thread of its own: a runtime cannot block inside another.
    fn run<T, F>(&self, what: &str, make: impl FnOnce() -> F + Send) -> Result<T>
    where
        T: Send,
        F: std::future::Future<Output = T>,
    {
        let block = move || -> Result<T> {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_io()
                .enable_time()
                .build()
                .map_err(|e| Error::TempFail(format!("gpg-agent: cannot {what}: {e}")))?;
            rt.block_on(async { tokio::time::timeout(self.timeout, make()).await })
                .map_err(|_| {
                    Error::TempFail(format!(
                        "gpg-agent at {} did not answer within {} s ({what})",
                        self.socket.display(),
                        self.timeout.as_secs()
                    ))
                })
        };
        if tokio::runtime::Handle::try_current().is_err() {
            return block();
        }
        std::thread::scope(|s| s.spawn(block).join())
            .map_err(|_| Error::Internal(format!("gpg-agent: the thread to {what} panicked")))?
    }

    /// For each of `keys`, whether the agent holds its secret (Assuan `HAVEKEY`), over one
    /// connection. Fails with [`Error::TempFail`] when the agent cannot be reached.
    pub(crate) fn have(&self, keys: &[&Key<PublicParts, UnspecifiedRole>]) -> Result<Vec<bool>> {
        let socket = self.socket.clone();
        let r = self.run("look up keys", move || async move {
            let mut a = gpg_agent::Agent::connect_to_agent(&socket).await?;
            let mut have = Vec::with_capacity(keys.len());
            for k in keys {
                have.push(a.has_key(k).await?);
            }
            Ok::<_, gpg_agent::Error>(have)
        })?;
        r.map_err(|e| self.unreachable(&e))
    }

    /// The key pair for `key`, its secret in the agent.
    fn pair(&self, key: &Key<PublicParts, UnspecifiedRole>) -> Result<AgentPair> {
        let mut pair = gpg_agent::KeyPair::new_for_socket(&self.socket, key)
            .map_err(|e| Error::Key(format!("gpg-agent: key {}: {e}", key.fingerprint())))?;
        if let Some(p) = &self.passphrase {
            pair = pair.with_password(crypto::Password::from(p.as_str()));
        }
        Ok(AgentPair {
            pair,
            public: key.clone(),
            agent: self.clone(),
            failure: Arc::default(),
        })
    }

    fn unreachable(&self, e: &dyn std::fmt::Display) -> Error {
        Error::TempFail(format!(
            "gpg-agent at {} is not available: {e}\nhint: start it with 'gpgconf --launch \
             gpg-agent' (with the same GNUPGHOME), then try again",
            self.socket.display()
        ))
    }

    /// The class of a failed agent operation on `key`: see the module documentation.
    fn classify(
        &self,
        e: &openpgp::anyhow::Error,
        key: &Key<PublicParts, UnspecifiedRole>,
    ) -> Error {
        use gpg_agent::assuan::Error as Assuan;
        let fpr = key.fingerprint();
        let agent_error = e.chain().find_map(|c| c.downcast_ref::<gpg_agent::Error>());
        match agent_error {
            Some(gpg_agent::Error::Assuan(Assuan::OperationFailed(msg))) => {
                // The agent's ERR line: "<description> <source>", e.g. "No secret key <GPG
                // Agent>", "Bad passphrase <Pinentry>", "Operation cancelled <Pinentry>".
                if msg.contains("No secret key") {
                    Error::NoKey(format!(
                        "key {fpr} in gpg-agent (it holds no secret for it)"
                    ))
                } else if msg.contains("Timeout") {
                    Error::TempFail(format!("gpg-agent timed out using key {fpr}: {msg}"))
                } else {
                    Error::KeyRefused(format!(
                        "gpg-agent refused to use key {fpr}: {msg}\nhint: ximf never asks for \
                         the passphrase; let the agent cache it (sign once with gpg, or \
                         gpg-preset-passphrase), give its pinentry a terminal (GPG_TTY) or \
                         display, or pass --passphrase-file"
                    ))
                }
            }
            Some(
                gpg_agent::Error::Io(_)
                | gpg_agent::Error::Assuan(_)
                | gpg_agent::Error::GnuPG(_)
                | gpg_agent::Error::GnuPGHomeMissing(_),
            ) => self.unreachable(e),
            _ if e.chain().any(|c| c.is::<std::io::Error>()) => self.unreachable(e),
            _ => Error::Crypto(format!("gpg-agent: key {fpr}: {e}")),
        }
    }
}

/// Where the failure of an agent operation is kept: Sequoia's streaming signer and its PKESK
/// decryption turn the signer's error into their own (or into `None`), losing the class.
pub(crate) type FailureSlot = Arc<Mutex<Option<Error>>>;

/// Takes the failure recorded in `slot`, if any.
pub(crate) fn take_failure(slot: &FailureSlot) -> Option<Error> {
    slot.lock().ok().and_then(|mut f| f.take())
}

/// A key pair whose secret half is in gpg-agent: Sequoia's `Signer` and `Decryptor`, each
/// call bounded by the agent's timeout, each failure classified and kept in `failure`.
pub(crate) struct AgentPair {
    pair: gpg_agent::KeyPair,
    public: Key<PublicParts, UnspecifiedRole>,
    agent: Agent,
    /// The classified failure of the last operation.
    pub failure: FailureSlot,
}

impl AgentPair {
    fn fail<T>(&self, e: Error) -> openpgp::Result<T> {
        let msg = e.to_string();
        if let Ok(mut f) = self.failure.lock() {
            *f = Some(e);
        }
        Err(openpgp::anyhow::anyhow!(msg))
    }
}

impl crypto::Signer for AgentPair {
    fn public(&self) -> &Key<PublicParts, UnspecifiedRole> {
        &self.public
    }

    fn sign(&mut self, hash_algo: HashAlgorithm, digest: &[u8]) -> openpgp::Result<mpi::Signature> {
        let agent = self.agent.clone();
        let pair = &mut self.pair;
        match agent.run("sign", move || pair.sign_async(hash_algo, digest)) {
            Ok(Ok(sig)) => Ok(sig),
            Ok(Err(e)) => {
                let e = agent.classify(&e, &self.public);
                self.fail(e)
            }
            Err(e) => self.fail(e),
        }
    }
}

impl crypto::Decryptor for AgentPair {
    fn public(&self) -> &Key<PublicParts, UnspecifiedRole> {
        &self.public
    }

    fn decrypt(
        &mut self,
        ciphertext: &mpi::Ciphertext,
        plaintext_len: Option<usize>,
    ) -> openpgp::Result<SessionKey> {
        let agent = self.agent.clone();
        let pair = &mut self.pair;
        match agent.run("decrypt", move || {
            pair.decrypt_async(ciphertext, plaintext_len)
        }) {
            Ok(Ok(sk)) => Ok(sk),
            Ok(Err(e)) => {
                let e = agent.classify(&e, &self.public);
                self.fail(e)
            }
            Err(e) => self.fail(e),
        }
    }
}

/// An OpenPGP signing key: a secret key in memory (a TSK, unlocked), or a certificate whose
/// secret gpg-agent holds.
#[derive(Debug, Clone)]
pub enum SigningKey {
    /// A certificate with its secret keys.
    Tsk(Cert),
    /// A public certificate; the agent signs.
    Agent(Cert, Agent),
}

impl SigningKey {
    /// The certificate (public parts, and for a TSK the secrets too).
    pub fn cert(&self) -> &Cert {
        match self {
            SigningKey::Tsk(c) | SigningKey::Agent(c, _) => c,
        }
    }
}

impl From<Cert> for SigningKey {
    fn from(tsk: Cert) -> Self {
        SigningKey::Tsk(tsk)
    }
}

impl From<&Cert> for SigningKey {
    fn from(tsk: &Cert) -> Self {
        SigningKey::Tsk(tsk.clone())
    }
}

/// A signer for Sequoia's streaming `Signer`, and the slot where an agent failure lands.
pub(crate) type BoxedSigner = (Box<dyn crypto::Signer + Send + Sync>, Option<FailureSlot>);

/// The signer of `key` at `now` under `policy`: the TSK's secret signing key, or for an agent
/// key the first signing-capable key the agent holds a secret for (subkeys, newest first, then
/// the primary key: a primary key kept offline leaves a `sec#` stub the agent cannot use).
///
/// Fails with [`Error::Key`] when the certificate has no usable signing key at `now`,
/// [`Error::NoKey`] when the agent holds none of them, and [`Error::TempFail`] when the agent
/// cannot be reached.
pub(crate) fn signer(
    key: &SigningKey,
    policy: &dyn Policy,
    now: SystemTime,
) -> Result<BoxedSigner> {
    let (cert, agent) = match key {
        SigningKey::Tsk(tsk) => {
            let kp = keys::signing_key(tsk, policy, now)?
                .into_keypair()
                .map_err(|e| Error::Key(format!("signer key: {e}")))?;
            return Ok((Box::new(kp), None));
        }
        SigningKey::Agent(cert, agent) => (cert, agent),
    };
    let vc = cert.with_policy(policy, now).map_err(|e| {
        Error::Key(format!(
            "signer key {} is not usable: {e}",
            keys::display(cert)
        ))
    })?;
    let mut candidates: Vec<(bool, SystemTime, Key<PublicParts, UnspecifiedRole>)> = vc
        .keys()
        .supported()
        .alive()
        .revoked(false)
        .for_signing()
        .map(|ka| {
            let k = ka.key().clone().role_into_unspecified();
            (ka.primary(), k.creation_time(), k)
        })
        .collect();
    if candidates.is_empty() {
        return Err(Error::Key(format!(
            "{} has no usable signing key at the given time",
            keys::display(cert)
        )));
    }
    candidates.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
    let refs: Vec<&Key<PublicParts, UnspecifiedRole>> = candidates.iter().map(|c| &c.2).collect();
    let have = agent.have(&refs)?;
    let Some(key) = refs.iter().zip(have).find_map(|(k, h)| h.then_some(*k)) else {
        return Err(Error::NoKey(format!(
            "{} ({}) in gpg-agent (it holds no secret signing key of it)",
            keys::display(cert),
            cert.fingerprint()
        )));
    };
    let pair = agent.pair(key)?;
    let slot = pair.failure.clone();
    Ok((Box::new(pair), Some(slot)))
}

/// Public certificates whose secrets gpg-agent holds, for decryption.
#[derive(Debug, Clone, Copy)]
pub(crate) struct AgentKeys<'a> {
    pub agent: &'a Agent,
    pub certs: &'a [Cert],
}

impl AgentKeys<'_> {
    /// The agent's decryptor for `key` (any key of the certificates: old and expired
    /// encryption keys must still open old mail, so no policy filter).
    pub(crate) fn decryptor(&self, key: &Key<PublicParts, UnspecifiedRole>) -> Result<AgentPair> {
        self.agent.pair(key)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use openpgp::cert::CertBuilder;

    #[test]
    fn an_absent_socket_is_a_temporary_failure() {
        let dir = std::env::temp_dir().join(format!("ximf-no-agent-{}", std::process::id()));
        let agent = Agent::new(dir.join("S.gpg-agent")).with_timeout(Duration::from_secs(5));
        let (cert, _) = CertBuilder::general_purpose(Some("a@example.org"))
            .generate()
            .unwrap();
        let key = SigningKey::Agent(cert.strip_secret_key_material(), agent);
        let p = openpgp::policy::StandardPolicy::new();
        let e = signer(&key, &p, SystemTime::now()).err().unwrap();
        assert_eq!(e.class(), crate::error::ErrorClass::TempFail, "{e}");
        assert!(e.to_string().contains("not available"), "{e}");
    }

    /// style.md §7: an agent that accepts the connection and never answers costs the timeout,
    /// then 75.
    #[test]
    fn a_silent_agent_times_out() {
        let dir = std::env::temp_dir().join(format!("ximf-silent-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let socket = dir.join("S.gpg-agent");
        let _ = std::fs::remove_file(&socket);
        let listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let held = std::thread::spawn(move || listener.accept().map(|(s, _)| s));
        let agent = Agent::new(&socket).with_timeout(Duration::from_millis(300));
        let (cert, _) = CertBuilder::general_purpose(Some("a@example.org"))
            .generate()
            .unwrap();
        let key = SigningKey::Agent(cert.strip_secret_key_material(), agent);
        let p = openpgp::policy::StandardPolicy::new();
        let started = std::time::Instant::now();
        let e = signer(&key, &p, SystemTime::now()).err().unwrap();
        assert!(started.elapsed() < Duration::from_secs(5));
        assert_eq!(e.class(), crate::error::ErrorClass::TempFail, "{e}");
        assert!(e.to_string().contains("did not answer within"), "{e}");
        drop(held.join());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn debug_hides_the_passphrase() {
        let a = Agent::new("/s").with_passphrase(Passphrase::new("sekrit"));
        assert!(!format!("{a:?}").contains("sekrit"));
    }
}
