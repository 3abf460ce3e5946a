//! The OpenPGP backend of the secure-message engine ([`crate::secure`]): verify signatures
//! over given bytes, verify an inline cleartext-signed block, open an encrypted message. What
//! a signature means for the message is the engine's business.
//!
//! Detached signatures are checked by hashing the signed part straight from the caller's
//! buffer (LF → CRLF on the fly, RFC 3156 §5) and verifying the digest; the key's validity is
//! then judged at `now` so that each failure gets its own status (design.md §5).

use std::collections::HashMap;
use std::io::Read as _;
use std::time::SystemTime;

use openpgp::cert::amalgamation::ValidAmalgamation as _;
use openpgp::crypto::hash::Context;
use openpgp::packet::Signature;
use openpgp::parse::stream::{
    DecryptionHelper, MessageLayer, MessageStructure, VerificationError, VerificationHelper,
    VerifierBuilder,
};
use openpgp::parse::{PacketParser, PacketParserResult, Parse};
use openpgp::policy::HashAlgoSecurity;
use openpgp::types::{HashAlgorithm, RevocationStatus, SignatureType};
use openpgp::{Cert, Fingerprint, KeyHandle, Packet};
use sequoia_openpgp as openpgp;

use super::agent::AgentKeys;
use super::{keys, policy, system_time};
use crate::message::eol::Eol;
use crate::report::{Finding, Severity};
use crate::secure::codes;
use crate::secure::outcome::Signer;

pub(crate) use crate::secure::SignatureStatus as Status;

/// One signature judged.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub status: Status,
    pub signer: Option<Cert>,
    pub hash: HashAlgorithm,
    pub findings: Vec<Finding>,
    /// When the signature says it was made.
    pub created: Option<SystemTime>,
}

fn finding(code: &'static str, severity: Severity, msg: impl Into<String>) -> Finding {
    Finding {
        code,
        severity,
        header: None,
        message: msg.into(),
    }
}

impl Outcome {
    /// The engine's view: who signed, for which addresses.
    pub(crate) fn into_signer(self, now: SystemTime) -> Signer {
        let (display, addresses, key) = match &self.signer {
            Some(cert) => (
                Some(keys::display(cert)),
                bound_addresses(cert, self.created.unwrap_or(now), now),
                cert.primary_key().key().mpis().bits().map(|b| {
                    (
                        cert.primary_key()
                            .key()
                            .pk_algo()
                            .to_string()
                            .to_ascii_lowercase(),
                        b as u32,
                    )
                }),
            ),
            None => (None, Vec::new(), None),
        };
        Signer {
            status: self.status,
            display,
            addresses,
            digest: Some(policy::hash_name(self.hash)),
            key,
            findings: self.findings,
            attributes: None,
        }
    }

    fn bad(
        status: Status,
        hash: HashAlgorithm,
        code: &'static str,
        msg: impl Into<String>,
    ) -> Self {
        Outcome {
            status,
            signer: None,
            hash,
            findings: vec![finding(code, Severity::Error, msg)],
            created: None,
        }
    }
}

/// Judges a signature whose mathematics checked out with `key` of `cert`, at `now`.
pub(crate) fn evaluate(
    sig: &Signature,
    cert: &Cert,
    key: &Fingerprint,
    now: SystemTime,
) -> Outcome {
    let sp = policy::standard();
    let lp = policy::lenient();
    let mut o = Outcome {
        status: Status::Valid,
        signer: Some(cert.clone()),
        hash: sig.hash_algo(),
        findings: Vec::new(),
        created: sig.signature_creation_time(),
    };
    let set = |o: &mut Outcome, status: Status, code: &'static str, msg: String| {
        o.status = o.status.max(status);
        let sev = Severity::Error;
        if !o.findings.iter().any(|f| f.code == code) {
            o.findings.push(finding(code, sev, msg));
        }
    };
    let who = keys::display(cert);

    if let Some(created) = sig.signature_creation_time()
        && created > now + std::time::Duration::from_secs(300)
    {
        set(
            &mut o,
            Status::Invalid,
            codes::SIGNATURE_INVALID,
            "the signature was made after the verification time".into(),
        );
    } else if sig
        .signature_alive(now, std::time::Duration::from_secs(300))
        .is_err()
    {
        set(
            &mut o,
            Status::Expired,
            codes::SIGNATURE_EXPIRED,
            "the signature has expired".into(),
        );
    }
    if policy::weak_hash(sig.hash_algo())
        || sp
            .signature(sig, HashAlgoSecurity::CollisionResistance)
            .is_err()
    {
        set(
            &mut o,
            Status::Weak,
            codes::WEAK_ALGORITHM,
            format!(
                "the signature uses {}, which is too weak",
                policy::hash_name(sig.hash_algo())
            ),
        );
    }
    use openpgp::policy::Policy as _;
    match cert.with_policy(&lp, now) {
        Err(e) => set(
            &mut o,
            Status::Invalid,
            codes::KEY_INVALID,
            format!("certificate of {who} is not valid: {e}"),
        ),
        Ok(vc) => {
            if let RevocationStatus::Revoked(_) = vc.revocation_status() {
                set(
                    &mut o,
                    Status::Invalid,
                    codes::KEY_REVOKED,
                    format!("certificate of {who} is revoked"),
                );
            } else if vc.alive().is_err() {
                set(
                    &mut o,
                    Status::Expired,
                    codes::KEY_EXPIRED,
                    format!("certificate of {who} has expired"),
                );
            }
            match vc.keys().key_handle(key.clone()).next() {
                None => set(
                    &mut o,
                    Status::Invalid,
                    codes::KEY_INVALID,
                    format!("signing key {key} of {who} is not validly bound"),
                ),
                Some(ka) => {
                    if let RevocationStatus::Revoked(_) = ka.revocation_status() {
                        set(
                            &mut o,
                            Status::Invalid,
                            codes::KEY_REVOKED,
                            format!("signing key {key} of {who} is revoked"),
                        );
                    } else if ka.alive().is_err() {
                        set(
                            &mut o,
                            Status::Expired,
                            codes::KEY_EXPIRED,
                            format!("signing key {key} of {who} has expired"),
                        );
                    }
                    if !ka.for_signing() {
                        set(
                            &mut o,
                            Status::Invalid,
                            codes::KEY_INVALID,
                            format!("key {key} of {who} is not signing-capable"),
                        );
                    }
                    let k = ka.key();
                    if policy::weak_key(k.pk_algo(), k.mpis().bits()) || sp.key(&ka).is_err() {
                        set(
                            &mut o,
                            Status::Weak,
                            codes::WEAK_ALGORITHM,
                            format!(
                                "signing key of {who} is weak ({} {} bits)",
                                k.pk_algo(),
                                k.mpis().bits().unwrap_or(0)
                            ),
                        );
                    }
                }
            }
            if cert.with_policy(&sp, now).is_err() {
                set(
                    &mut o,
                    Status::Weak,
                    codes::WEAK_ALGORITHM,
                    format!("Sequoia's standard policy rejects the certificate of {who}"),
                );
            }
        }
    }
    o
}

/// Hashes the canonical form of `data` into `ctx` in large chunks. Stored CRLF data is hashed
/// as it is; LF-stored data gets CRLF line endings (spec Part D §5.3 item 6).
pub(crate) fn hash_canonical(ctx: &mut Context, data: &[u8]) {
    // A skeleton's signed content comes from its source (crate::stream).
    if Eol::detect(data) == Eol::Crlf {
        let _ = crate::stream::feed_raw::<std::convert::Infallible>(data, |chunk| {
            ctx.update(chunk);
            Ok(())
        });
        return;
    }
    // Bare LFs become CRLF through a bounded staging buffer: the body is never copied whole.
    let _ = crate::stream::feed_crlf::<std::convert::Infallible>(data, |chunk| {
        ctx.update(chunk);
        Ok(())
    });
}

/// Verifies the detached OpenPGP signature(s) `sig` over `content` (canonicalized to CRLF as
/// it is hashed, RFC 3156 §5) against `keyring` at `now`: one [`Signer`] per signature.
pub fn verify_detached(content: &[u8], sig: &[u8], keyring: &[Cert], now: i64) -> Vec<Signer> {
    let now = system_time(now);
    detached_outcomes(content, sig, keyring, now)
        .into_iter()
        .map(|o| o.into_signer(now))
        .collect()
}

/// Checks the detached signature(s) in `sig_data` over `data` (canonicalized) against `keyring`.
fn detached_outcomes(
    data: &[u8],
    sig_data: &[u8],
    keyring: &[Cert],
    now: SystemTime,
) -> Vec<Outcome> {
    let mut sigs: Vec<Signature> = Vec::new();
    // Well-formed armor is decoded here: Sequoia's armor reader zeroes a fresh 64 KiB buffer
    // for every read it makes, some 40% of verifying a small PGP/MIME message. Armor the strict
    // decoder refuses still goes to Sequoia as before, with its own verdict and wording.
    let binary = super::armor::dearmor(sig_data).ok();
    let mut ppr = match PacketParser::from_bytes(binary.as_deref().unwrap_or(sig_data)) {
        Ok(p) => p,
        Err(e) => {
            return vec![Outcome::bad(
                Status::Invalid,
                HashAlgorithm::SHA256,
                codes::SIGNATURE_INVALID,
                format!("the signature part is not an OpenPGP signature: {e}"),
            )];
        }
    };
    while let PacketParserResult::Some(pp) = ppr {
        // A detached signature holds signature packets only: anything else (a compressed
        // packet of gigabytes, a literal) is refused before its body is read.
        if !matches!(pp.packet, Packet::Signature(_) | Packet::Marker(_)) {
            return vec![Outcome::bad(
                Status::Invalid,
                HashAlgorithm::SHA256,
                codes::SIGNATURE_INVALID,
                format!("the signature part holds a {} packet", pp.packet.tag()),
            )];
        }
        match pp.next() {
            Ok((packet, next)) => {
                if let Packet::Signature(s) = packet {
                    sigs.push(s);
                }
                ppr = next;
            }
            Err(_) => break,
        }
    }
    if sigs.is_empty() {
        return vec![Outcome::bad(
            Status::Invalid,
            HashAlgorithm::SHA256,
            codes::SIGNATURE_INVALID,
            "the signature part holds no OpenPGP signature",
        )];
    }
    // v4 signatures with the same hash share one pass over the data.
    let mut contexts: HashMap<HashAlgorithm, Context> = HashMap::new();
    let mut out = Vec::new();
    for sig in &sigs {
        let hash = sig.hash_algo();
        if !matches!(sig.typ(), SignatureType::Binary | SignatureType::Text) {
            out.push(Outcome::bad(
                Status::Invalid,
                hash,
                codes::SIGNATURE_INVALID,
                format!("a {} signature cannot sign a message", sig.typ()),
            ));
            continue;
        }
        let issuers = sig.get_issuers();
        let candidates: Vec<(&Cert, Fingerprint, openpgp::packet::Key<_, _>)> = keyring
            .iter()
            .flat_map(|c| {
                c.keys()
                    .key_handles(issuers.iter())
                    .map(move |ka| (c, ka.key().fingerprint(), ka.key().clone()))
            })
            .collect();
        if candidates.is_empty() {
            let who = issuers
                .first()
                .map(KeyHandle::to_hex)
                .unwrap_or_else(|| "an unnamed key".into());
            out.push(Outcome::bad(
                Status::Untrusted,
                hash,
                codes::SIGNATURE_UNTRUSTED,
                format!("signed by {who}, which is not in the keyring"),
            ));
            continue;
        }
        let ctx = if let Some(salt) = sig.salt() {
            let Ok(c) = hash.context() else {
                out.push(unsupported_hash(hash));
                continue;
            };
            let mut c = c.for_signature(sig.version());
            c.update(salt);
            hash_canonical(&mut c, data);
            c
        } else {
            match contexts.get(&hash) {
                Some(c) => c.clone(),
                None => {
                    let Ok(c) = hash.context() else {
                        out.push(unsupported_hash(hash));
                        continue;
                    };
                    // A large message's hash may have been taken as its structure was read.
                    let ahead = (sig.version() == 4)
                        .then(|| crate::stream::precomputed_pgp(data, hash))
                        .flatten();
                    let c = match ahead {
                        Some(c) => c,
                        None => {
                            let mut c = c.for_signature(sig.version());
                            hash_canonical(&mut c, data);
                            c
                        }
                    };
                    contexts.insert(hash, c.clone());
                    c
                }
            }
        };
        let good = candidates
            .iter()
            .find(|(_, _, key)| sig.verify_hash(key, ctx.clone()).is_ok());
        match good {
            Some((cert, fpr, _)) => out.push(evaluate(sig, cert, fpr, now)),
            None => out.push(Outcome::bad(
                Status::Invalid,
                hash,
                codes::SIGNATURE_INVALID,
                "the signature does not match the signed content",
            )),
        }
    }
    out
}

fn unsupported_hash(hash: HashAlgorithm) -> Outcome {
    Outcome::bad(
        Status::Invalid,
        hash,
        codes::SIGNATURE_INVALID,
        format!("unsupported hash algorithm {hash}"),
    )
}

/// The Sequoia helper for combined (sign+encrypt) and inline messages: hands out the keyring
/// and decryption keys, and turns each signature result into an [`Outcome`].
pub(crate) struct Helper<'a> {
    pub keyring: &'a [Cert],
    pub keys: &'a [Cert],
    /// Certificates whose secrets gpg-agent holds, tried after `keys`.
    pub agent: Option<AgentKeys<'a>>,
    /// The first classified failure of the agent (unreachable, refused, no such key), kept
    /// so that the caller's exit status says it when no key opened the message.
    pub agent_failure: std::rc::Rc<std::cell::RefCell<Option<crate::Error>>>,
    pub now: SystemTime,
    pub outcomes: Vec<Outcome>,
    pub cipher: Option<String>,
    /// Set when no key could open any session key (as opposed to a broken message).
    pub no_key: std::rc::Rc<std::cell::Cell<bool>>,
}

impl<'a> Helper<'a> {
    pub fn new(keyring: &'a [Cert], keys: &'a [Cert], now: SystemTime) -> Self {
        Helper {
            keyring,
            keys,
            agent: None,
            agent_failure: Default::default(),
            now,
            outcomes: Vec::new(),
            cipher: None,
            no_key: Default::default(),
        }
    }
}

impl VerificationHelper for Helper<'_> {
    fn get_certs(&mut self, _ids: &[KeyHandle]) -> openpgp::Result<Vec<Cert>> {
        Ok(self.keyring.to_vec())
    }

    fn check(&mut self, structure: MessageStructure) -> openpgp::Result<()> {
        for layer in structure.into_iter() {
            match layer {
                MessageLayer::Compression { .. } => {}
                MessageLayer::Encryption {
                    sym_algo,
                    aead_algo,
                } => {
                    let mut name = sym_algo.to_string().to_ascii_lowercase().replace('-', "");
                    if let Some(a) = aead_algo {
                        name = format!("{name}-{}", a.to_string().to_ascii_lowercase());
                    }
                    self.cipher = Some(name);
                }
                MessageLayer::SignatureGroup { results } => {
                    for r in results {
                        let o = match r {
                            Ok(good) => evaluate(
                                good.sig,
                                good.ka.cert(),
                                &good.ka.key().fingerprint(),
                                self.now,
                            ),
                            Err(VerificationError::MissingKey { sig }) => Outcome::bad(
                                Status::Untrusted,
                                sig.hash_algo(),
                                codes::SIGNATURE_UNTRUSTED,
                                format!(
                                    "signed by {}, which is not in the keyring",
                                    sig.get_issuers()
                                        .first()
                                        .map(KeyHandle::to_hex)
                                        .unwrap_or_default()
                                ),
                            ),
                            Err(VerificationError::BadKey { sig, ka, error }) => {
                                // The key was not usable when it signed: judge it at `now`
                                // to say why; if nothing else is wrong, it is invalid.
                                let mut o =
                                    evaluate(sig, ka.cert(), &ka.key().fingerprint(), self.now);
                                if o.status == Status::Valid || o.status == Status::Weak {
                                    o.status = Status::Invalid;
                                    o.findings.push(finding(
                                        codes::KEY_INVALID,
                                        Severity::Error,
                                        format!("the signing key was not usable: {error}"),
                                    ));
                                }
                                o
                            }
                            Err(VerificationError::BadSignature { sig, error, .. }) => {
                                Outcome::bad(
                                    Status::Invalid,
                                    sig.hash_algo(),
                                    codes::SIGNATURE_INVALID,
                                    format!("bad signature: {error}"),
                                )
                            }
                            Err(e) => Outcome::bad(
                                Status::Invalid,
                                HashAlgorithm::SHA256,
                                codes::SIGNATURE_INVALID,
                                format!("bad signature: {e}"),
                            ),
                        };
                        self.outcomes.push(o);
                    }
                }
            }
        }
        Ok(())
    }
}

impl DecryptionHelper for Helper<'_> {
    fn decrypt(
        &mut self,
        pkesks: &[openpgp::packet::PKESK],
        _skesks: &[openpgp::packet::SKESK],
        sym_algo: Option<openpgp::types::SymmetricAlgorithm>,
        decrypt: &mut dyn FnMut(
            Option<openpgp::types::SymmetricAlgorithm>,
            &openpgp::crypto::SessionKey,
        ) -> bool,
    ) -> openpgp::Result<Option<Cert>> {
        for pkesk in pkesks {
            let recipient = pkesk.recipient();
            for tsk in self.keys {
                // Old or expired encryption keys must still open old mail: no policy filter.
                for ka in tsk.keys().secret() {
                    if let Some(r) = &recipient
                        && !r.aliases(KeyHandle::from(ka.key().fingerprint()))
                    {
                        continue;
                    }
                    let Ok(mut kp) = ka.key().clone().into_keypair() else {
                        continue;
                    };
                    if let Some((algo, sk)) = pkesk.decrypt(&mut kp, sym_algo)
                        && decrypt(algo, &sk)
                    {
                        return Ok(Some(tsk.clone()));
                    }
                }
            }
        }
        // Then the agent, which may ask its pinentry: only once the keys in memory failed.
        if let Some(agent) = self.agent {
            for pkesk in pkesks {
                let recipient = pkesk.recipient();
                for cert in agent.certs {
                    for ka in cert.keys() {
                        let key = ka.key().role_as_unspecified();
                        let fits = match &recipient {
                            Some(r) => r.aliases(KeyHandle::from(key.fingerprint())),
                            // An anonymous recipient (RFC 9580 §5.1): any key that encrypts.
                            None => key.pk_algo().for_encryption(),
                        };
                        if !fits {
                            continue;
                        }
                        let mut kp = match agent.decryptor(key) {
                            Ok(kp) => kp,
                            Err(e) => {
                                self.agent_failure.borrow_mut().get_or_insert(e);
                                continue;
                            }
                        };
                        let opened = pkesk.decrypt(&mut kp, sym_algo);
                        if let Some(e) = super::agent::take_failure(&kp.failure) {
                            self.agent_failure.borrow_mut().get_or_insert(e);
                        }
                        if let Some((algo, sk)) = opened
                            && decrypt(algo, &sk)
                        {
                            return Ok(Some(cert.clone()));
                        }
                    }
                }
            }
        }
        self.no_key.set(true);
        Err(openpgp::Error::InvalidOperation("no key to decrypt the message".into()).into())
    }
}

/// The addresses of `cert`'s User IDs that were bound and unrevoked when it signed (`then`)
/// and are not revoked now: a revoked or unbound User ID vouches for nothing.
fn bound_addresses(cert: &Cert, then: SystemTime, now: SystemTime) -> Vec<String> {
    let lp = policy::lenient();
    let at = |t: SystemTime| -> Vec<String> {
        cert.with_policy(&lp, t)
            .map(|vc| {
                vc.userids()
                    .filter(|u| !matches!(u.revocation_status(), RevocationStatus::Revoked(_)))
                    .filter_map(|u| keys::email(u.userid()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let still = at(now);
    at(then).into_iter().filter(|e| still.contains(e)).collect()
}

/// A decrypted OpenPGP message.
pub struct Opened {
    /// The plaintext.
    pub plaintext: Vec<u8>,
    /// The symmetric cipher (`aes256`, with the AEAD mode when there is one); none when the
    /// OpenPGP message was not encrypted at all (a signed or bare literal message).
    pub cipher: Option<String>,
    /// Signatures inside the encryption (RFC 3156 §6.2 combined messages).
    pub signers: Vec<Signer>,
}

/// Decrypts an OpenPGP message (armored or binary) with `keys`, checking signatures inside it
/// against `keyring`; all or nothing. The error says why, in one line.
/// The plaintext may not exceed `max_output` bytes: a compressed packet is inflated only that
/// far (a 6 KB message can hold gigabytes of zeros).
pub fn open(
    data: &[u8],
    keys: &[Cert],
    keyring: &[Cert],
    now: i64,
    max_output: u64,
) -> Result<Opened, String> {
    open_with(data, keys, None, keyring, now, max_output).map_err(|f| f.message)
}

/// Why [`open_with`] or [`super::stream_open::open_stream`] failed: the one-line reason, the
/// agent's classified failure when the agent was tried and failed (unreachable 75, no such key
/// 67, refused 77), and the I/O error when reading the message or writing the plaintext failed
/// (the caller's 74, never a verdict on the message).
#[derive(Debug)]
pub(crate) struct OpenFailure {
    pub message: String,
    pub agent: Option<crate::Error>,
    /// Reading the message or writing the plaintext failed (the streamed walk of a large
    /// message: exit 74, never a verdict); open_with reads and writes memory, which never fails.
    pub io: Option<std::io::Error>,
}

/// [`open`] with, besides the TSKs `keys`, certificates whose secrets `agent` holds: the
/// streamed open read from and written to memory, all or nothing.
pub(crate) fn open_with(
    data: &[u8],
    keys: &[Cert],
    agent: Option<AgentKeys<'_>>,
    keyring: &[Cert],
    now: i64,
    max_output: u64,
) -> Result<Opened, OpenFailure> {
    let mut plaintext = Vec::new();
    let s = super::stream_open::open_stream(
        &mut &data[..],
        keys,
        agent,
        keyring,
        now,
        max_output,
        &mut plaintext,
    )?;
    Ok(Opened {
        plaintext,
        cipher: s.cipher,
        signers: s.signers,
    })
}

/// Verifies one inline cleartext-signed block (from its BEGIN line through its END line):
/// its signers and the signed text (at most `max_output` bytes).
pub fn verify_inline(
    block: &[u8],
    keyring: &[Cert],
    now: i64,
    max_output: u64,
) -> Result<(Vec<Signer>, Vec<u8>), String> {
    let t = system_time(now);
    let lp = policy::lenient();
    let helper = Helper::new(keyring, &[], t);
    let mut content = Vec::new();
    let helper = VerifierBuilder::from_bytes(block)
        .and_then(|b| b.with_policy(&lp, Some(t), helper))
        .and_then(|mut v| {
            read_bounded(&mut v, &mut content, max_output)?;
            Ok(v.into_helper())
        })
        .map_err(|e| format!("malformed inline PGP signature: {e}"))?;
    let signers = helper
        .outcomes
        .into_iter()
        .map(|o| o.into_signer(t))
        .collect();
    Ok((signers, content))
}
/// Reads `r` to the end into `out`, failing once more than `max` bytes come out: the check
/// runs while inflating, so a compression bomb costs at most `max` bytes and the time to
/// produce them.
fn read_bounded(r: &mut impl std::io::Read, out: &mut Vec<u8>, max: u64) -> std::io::Result<()> {
    // Exactly `max` first, then one probe byte: reading `max + 1` at once would let the
    // vector double past the limit.
    let n = r.by_ref().take(max).read_to_end(out)?;
    let mut probe = [0u8; 1];
    if n as u64 == max && r.read(&mut probe)? > 0 {
        *out = Vec::new();
        return Err(std::io::Error::other(format!(
            "the content exceeds the output limit of {max} bytes"
        )));
    }
    Ok(())
}

thread_local! {
    static GUARDED: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// True while this thread runs Sequoia under a guard that turns a panic into an error: the
/// binary's panic hook stays quiet then (the panic is not a failure of ximf's).
pub fn panic_is_caught() -> bool {
    GUARDED.with(std::cell::Cell::get)
}

pub(super) fn guarded<T>(f: impl FnOnce() -> T) -> std::result::Result<T, String> {
    GUARDED.with(|g| g.set(true));
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    GUARDED.with(|g| g.set(false));
    r.map_err(|_| "malformed OpenPGP data (the parser gave up)".to_owned())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use openpgp::cert::CertBuilder;
    use openpgp::cert::UserIDRevocationBuilder;
    use openpgp::packet::UserID;
    use openpgp::types::ReasonForRevocation;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn a_panic_under_the_guard_is_an_error() {
        #[allow(clippy::panic)]
        let r: std::result::Result<(), String> = guarded(|| {
            assert!(panic_is_caught());
            panic!("sequoia gave up")
        });
        assert!(r.is_err());
        assert!(!panic_is_caught());
    }

    #[test]
    fn only_bound_unrevoked_user_ids_vouch_for_an_address() {
        let t0 = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let (cert, _) = CertBuilder::new()
            .set_creation_time(t0)
            .add_userid("Alice <alice@example.org>")
            .add_userid("CEO <ceo@example.org>")
            .add_signing_subkey()
            .generate()
            .unwrap();
        let later = t0 + Duration::from_secs(3600);
        let now = t0 + Duration::from_secs(7200);
        let both = bound_addresses(&cert, later, now);
        assert_eq!(both.len(), 2, "{both:?}");

        // The CEO User ID revoked: it vouches for nothing any more.
        let mut signer = cert
            .primary_key()
            .key()
            .clone()
            .parts_into_secret()
            .unwrap()
            .into_keypair()
            .unwrap();
        let ceo = cert
            .userids()
            .find(|u| u.userid().value().starts_with(b"CEO"))
            .unwrap()
            .userid()
            .clone();
        let rev = UserIDRevocationBuilder::new()
            .set_reason_for_revocation(ReasonForRevocation::UIDRetired, b"gone")
            .unwrap()
            .set_signature_creation_time(t0 + Duration::from_secs(60))
            .unwrap()
            .build(&mut signer, &cert, &ceo, None)
            .unwrap();
        let revoked = cert.clone().insert_packets(rev).unwrap().0;
        assert_eq!(
            bound_addresses(&revoked, later, now),
            vec!["alice@example.org".to_owned()]
        );

        // A User ID without a binding signature (anyone can append one) vouches for nothing.
        let forged = cert
            .insert_packets(UserID::from("Boss <boss@example.org>"))
            .unwrap()
            .0;
        assert!(
            !bound_addresses(&forged, later, now).contains(&"boss@example.org".to_owned()),
            "an unbound User ID must not count"
        );
    }
}
