//! Verification of PGP/MIME (RFC 3156) and inline PGP, with RFC 9788 header protection.
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

use super::codes;
use super::mime::{self, ContentType, Entity};
use super::{keys, policy, system_time};
use crate::message::eol::Eol;
use crate::report::{EncryptionReport, Finding, Severity, SignatureReport};
use crate::{Error, Result};

/// What verification may use.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct VerifyOptions {
    /// Certificates trusted for verification; a signer outside them is `untrusted`.
    pub keyring: Vec<Cert>,
    /// TSKs for decrypting `multipart/encrypted` messages.
    pub keys: Vec<Cert>,
    /// Verification time, unix seconds: key expiry and revocation are judged then.
    pub now: i64,
    /// The From address to compare the signer's User IDs with; by default the protected From
    /// (when header protection is used) or else the outer From.
    pub from: Option<String>,
    /// Leave [`Verification::content`] empty for a `multipart/signed` message: a plain
    /// `verify` (no `--extract`) then never copies the signed body (design.md §7 memory bound).
    pub skip_content: bool,
}

impl VerifyOptions {
    /// Options verifying at `now` against `keyring`.
    pub fn new(now: i64, keyring: Vec<Cert>) -> Self {
        VerifyOptions {
            keyring,
            now,
            ..Default::default()
        }
    }

    /// Adds TSKs for decryption.
    pub fn with_keys(mut self, keys: Vec<Cert>) -> Self {
        self.keys = keys;
        self
    }
}

/// The outcome of [`verify`].
#[derive(Debug, Clone, Default)]
pub struct Verification {
    /// Signature status (`mechanism` is `openpgp` whenever an OpenPGP signature was found).
    pub signature: SignatureReport,
    /// Encryption status.
    pub encryption: EncryptionReport,
    /// What was found, in check order.
    pub findings: Vec<Finding>,
    /// True for an inline (cleartext-signed) body: no header field is covered.
    pub inline: bool,
    /// The protected (inner) non-structural header fields, RFC 9788, as (name, unfolded value).
    pub inner_headers: Vec<(String, String)>,
    /// The cryptographic payload: the signed part, the decrypted entity, or the verified
    /// inline text; empty when there is none.
    pub content: Vec<u8>,
}

impl Verification {
    fn push(&mut self, code: &'static str, severity: Severity, header: Option<&str>, msg: String) {
        self.findings.push(Finding {
            code,
            severity,
            header: header.map(str::to_owned),
            message: msg,
        });
    }
}

/// A signature's standing, worst last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Status {
    Valid,
    Weak,
    Expired,
    Untrusted,
    Invalid,
}

impl Status {
    fn as_str(self) -> &'static str {
        match self {
            Status::Valid => "valid",
            Status::Weak => "weak",
            Status::Expired => "expired",
            Status::Untrusted => "untrusted",
            Status::Invalid => "invalid",
        }
    }
}

/// One signature judged.
#[derive(Debug, Clone)]
pub(crate) struct Outcome {
    pub status: Status,
    pub signer: Option<Cert>,
    pub hash: HashAlgorithm,
    pub findings: Vec<Finding>,
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
fn hash_canonical(ctx: &mut Context, data: &[u8]) {
    if Eol::detect(data) == Eol::Crlf {
        ctx.update(data);
        return;
    }
    // Bare LFs become CRLF through a bounded staging buffer: the body is never copied whole.
    let _ = crate::message::eol::feed_crlf::<std::convert::Infallible>(data, |chunk| {
        ctx.update(chunk);
        Ok(())
    });
}

/// Checks the detached signature(s) in `sig_data` over `data` (canonicalized) against `keyring`.
pub(crate) fn verify_detached(
    data: &[u8],
    sig_data: &[u8],
    keyring: &[Cert],
    now: SystemTime,
) -> Vec<Outcome> {
    let mut sigs: Vec<Signature> = Vec::new();
    let mut ppr = match PacketParser::from_bytes(sig_data) {
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
                    let mut c = c.for_signature(sig.version());
                    hash_canonical(&mut c, data);
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
        self.no_key.set(true);
        Err(openpgp::Error::InvalidOperation("no key to decrypt the message".into()).into())
    }
}

/// What [`analyze`] learns on the way down.
struct State {
    v: Verification,
    /// The header (with its blank line) of the cryptographic payload root (RFC 9788 §1):
    /// where injected header fields live. Only the header is kept: bodies can be large.
    payload: Option<Vec<u8>>,
    /// The certificate of the signature that decided the status.
    signer: Option<Cert>,
}

/// The header section of an entity, blank line included.
fn header_of(entity: &[u8]) -> Vec<u8> {
    match Entity::parse(entity) {
        Ok(e) => entity[..entity.len() - e.body.len()].to_vec(),
        Err(_) => Vec::new(),
    }
}

/// Merges the outcomes of one signed layer into the report: the best signature decides.
fn apply_outcomes(state: &mut State, outcomes: Vec<Outcome>) {
    let v = &mut state.v;
    v.signature.mechanism = Some("openpgp".into());
    let Some(best) = outcomes.iter().min_by_key(|o| o.status).cloned() else {
        v.signature.status = Status::Invalid.as_str().into();
        v.push(
            codes::SIGNATURE_INVALID,
            Severity::Error,
            None,
            "no signature found".into(),
        );
        return;
    };
    v.signature.status = best.status.as_str().into();
    v.signature.digest = Some(policy::hash_name(best.hash));
    v.signature.signer = best.signer.as_ref().map(keys::display);
    v.findings.extend(best.findings.iter().cloned());
    for o in outcomes.iter().filter(|o| o.status > best.status) {
        // A second, worse signature does not spoil a good one, but it is worth a line.
        for f in &o.findings {
            v.push(f.code, Severity::Warning, None, f.message.clone());
        }
    }
    state.signer = best.signer;
}

/// Verifies a message: PGP/MIME signed or encrypted (nested or combined), or inline PGP.
///
/// Fails only with [`Error::Message`] when `message` is not a message (no header); every
/// cryptographic problem is a status or a finding in the result.
pub fn verify(message: &[u8], opts: &VerifyOptions) -> Result<Verification> {
    let top = Entity::parse(mime::skip_mbox_postmark(message))?;
    if top.fields.is_empty() {
        return Err(Error::Message("not a message: no header fields".into()));
    }
    let v = Verification {
        signature: SignatureReport {
            status: "absent".into(),
            ..Default::default()
        },
        encryption: EncryptionReport {
            status: "absent".into(),
            ..Default::default()
        },
        ..Default::default()
    };
    let mut state = State {
        v,
        payload: None,
        signer: None,
    };
    analyze(&top, opts, &mut state, 0);
    header_protection(&top, opts, &mut state);
    Ok(state.v)
}

fn analyze(entity: &Entity<'_>, opts: &VerifyOptions, state: &mut State, depth: usize) {
    if depth > mime::MAX_DEPTH {
        return;
    }
    let ct = entity.content_type();
    match ct.mime.as_str() {
        "multipart/signed" => signed(entity, &ct, opts, state),
        "multipart/encrypted" => encrypted(entity, &ct, opts, state, depth),
        m if m.starts_with("multipart/") && contains_pgp(entity, &ct, depth) => {
            state.v.signature.mechanism = Some("openpgp".into());
            state.v.push(
                codes::PARTIALLY_SIGNED,
                Severity::Error,
                None,
                "an OpenPGP-protected part stands beside unprotected parts: \
                 the message as a whole is not signed"
                    .into(),
            );
        }
        "text/plain" => inline(entity, opts, state),
        _ => {}
    }
}

/// True when some part below `entity` is PGP-signed or PGP-encrypted.
fn contains_pgp(entity: &Entity<'_>, ct: &ContentType, depth: usize) -> bool {
    if depth > mime::MAX_DEPTH {
        return false;
    }
    let protocol = ct
        .param("protocol")
        .unwrap_or_default()
        .to_ascii_lowercase();
    match ct.mime.as_str() {
        "multipart/signed" | "multipart/encrypted" if protocol.starts_with("application/pgp") => {
            return true;
        }
        "application/pgp-signature" | "application/pgp-encrypted" => return true,
        "text/plain" => {
            return memchr::memmem::find(entity.body, b"-----BEGIN PGP SIGNED MESSAGE-----")
                .is_some();
        }
        _ => {}
    }
    if !ct.mime.starts_with("multipart/") {
        return false;
    }
    let Some(b) = ct.param("boundary") else {
        return false;
    };
    let Ok(mp) = mime::split_multipart(entity.body, b) else {
        return false;
    };
    mp.parts.iter().any(|p| {
        Entity::parse(p).is_ok_and(|e| {
            let ct = e.content_type();
            contains_pgp(&e, &ct, depth + 1)
        })
    })
}

fn signed(entity: &Entity<'_>, ct: &ContentType, opts: &VerifyOptions, state: &mut State) {
    let protocol = ct.param("protocol").map(str::to_ascii_lowercase);
    if protocol
        .as_deref()
        .is_some_and(|p| p != "application/pgp-signature")
    {
        // Not OpenPGP (S/MIME is the smime module's business).
        return;
    }
    let now = system_time(opts.now);
    let v = &mut state.v;
    v.signature.mechanism = Some("openpgp".into());
    let Some(mp) = ct
        .param("boundary")
        .and_then(|b| mime::split_multipart(entity.body, b).ok())
    else {
        v.signature.status = Status::Invalid.as_str().into();
        v.push(
            codes::SIGNATURE_INVALID,
            Severity::Error,
            None,
            "multipart/signed without a usable boundary".into(),
        );
        return;
    };
    let sig_part = mp.parts.get(1).and_then(|p| Entity::parse(p).ok());
    let sig_part = sig_part.filter(|e| e.content_type().mime == "application/pgp-signature");
    let (Some(first), Some(sig_part)) = (mp.parts.first(), sig_part) else {
        v.signature.status = Status::Invalid.as_str().into();
        v.push(
            codes::SIGNATURE_REMOVED,
            Severity::Error,
            None,
            "the multipart/signed has lost its signature part".into(),
        );
        return;
    };
    if mp.parts.len() > 2 {
        // Never report as signed a message that carries unsigned content next to the signed
        // part: the whole multipart/signed is malformed (RFC 1847 §2.1 allows exactly two).
        v.signature.status = Status::Invalid.as_str().into();
        v.push(
            codes::PARTIALLY_SIGNED,
            Severity::Error,
            None,
            format!(
                "multipart/signed with {} parts: only the first is signed (RFC 1847 allows two)",
                mp.parts.len()
            ),
        );
        return;
    }
    let sig = mime::decode_body(&sig_part);
    let outcomes = verify_detached(first, &sig, &opts.keyring, now);
    if let (Some(micalg), Some(o)) = (ct.param("micalg"), outcomes.iter().min_by_key(|o| o.status))
    {
        let used = format!("pgp-{}", policy::hash_name(o.hash));
        if !micalg.eq_ignore_ascii_case(&used) {
            v.push(
                codes::MICALG_MISMATCH,
                Severity::Warning,
                None,
                format!("micalg says {micalg} but the signature uses {used}"),
            );
        }
    }
    apply_outcomes(state, outcomes);
    state.payload = Some(header_of(first));
    if !opts.skip_content {
        state.v.content = first.to_vec();
    }
}

/// Decrypts an armored or binary OpenPGP message; never returns partial plaintext.
pub(crate) fn decrypt_message<'a>(
    data: &[u8],
    helper: Helper<'a>,
) -> std::result::Result<(Vec<u8>, Helper<'a>), (String, bool)> {
    let lp = policy::lenient();
    let no_key = helper.no_key.clone();
    let now = helper.now;
    let mut d = openpgp::parse::stream::DecryptorBuilder::from_bytes(data)
        .and_then(|b| b.with_policy(&lp, Some(now), helper))
        .map_err(|e| (e.to_string(), no_key.get()))?;
    let mut plain = Vec::new();
    if let Err(e) = d.read_to_end(&mut plain) {
        // Integrity failure (MDC/AEAD) surfaces here: drop what was read.
        return Err((e.to_string(), false));
    }
    if !d.message_processed() {
        return Err(("the OpenPGP message is truncated".into(), false));
    }
    Ok((plain, d.into_helper()))
}

fn encrypted(
    entity: &Entity<'_>,
    ct: &ContentType,
    opts: &VerifyOptions,
    state: &mut State,
    depth: usize,
) {
    let protocol = ct.param("protocol").map(str::to_ascii_lowercase);
    if protocol
        .as_deref()
        .is_some_and(|p| p != "application/pgp-encrypted")
    {
        return;
    }
    state.v.encryption.mechanism = Some("openpgp".into());
    let armored = ct
        .param("boundary")
        .and_then(|b| mime::split_multipart(entity.body, b).ok())
        .and_then(|mp| mp.parts.get(1).and_then(|p| Entity::parse(p).ok()))
        .map(|e| mime::decode_body(&e));
    let fail = |state: &mut State, why: String| {
        state.v.encryption.status = "failed".into();
        state
            .v
            .push(codes::DECRYPTION_FAILED, Severity::Error, None, why);
    };
    let Some(armored) = armored else {
        fail(
            state,
            "multipart/encrypted without an encrypted part".into(),
        );
        return;
    };
    let helper = Helper::new(&opts.keyring, &opts.keys, system_time(opts.now));
    let (plain, helper) = match decrypt_message(&armored, helper) {
        Ok(r) => r,
        Err((why, _)) => {
            fail(state, format!("cannot decrypt: {why}"));
            return;
        }
    };
    state.v.encryption.status = "decrypted".into();
    state.v.encryption.cipher = helper.cipher.clone();
    let Ok(inner) = Entity::parse(&plain) else {
        fail(state, "the decrypted content is not a MIME entity".into());
        return;
    };
    if !helper.outcomes.is_empty() {
        // RFC 3156 §6.2: signed and encrypted in one OpenPGP message.
        apply_outcomes(state, helper.outcomes);
        state.payload = Some(header_of(&plain));
        state.v.content = plain;
        return;
    }
    if inner.content_type().mime == "multipart/signed" {
        // RFC 3156 §6.1: a multipart/signed inside.
        analyze(&inner, opts, state, depth + 1);
        if state.payload.is_none() {
            state.payload = Some(header_of(&plain));
        }
        state.v.content = plain;
    } else {
        state.payload = Some(header_of(&plain));
        state.v.content = plain;
    }
}

const BEGIN_SIGNED: &[u8] = b"-----BEGIN PGP SIGNED MESSAGE-----";
const END_SIGNATURE: &[u8] = b"-----END PGP SIGNATURE-----";

fn inline(entity: &Entity<'_>, opts: &VerifyOptions, state: &mut State) {
    let text = mime::decode_body(entity);
    let Some(start) = memchr::memmem::find(&text, BEGIN_SIGNED) else {
        return;
    };
    let end = memchr::memmem::rfind(&text, END_SIGNATURE).map(|e| e + END_SIGNATURE.len());
    state.v.inline = true;
    state.v.signature.mechanism = Some("openpgp".into());
    let Some(end) = end.filter(|&e| e > start) else {
        state.v.signature.status = Status::Invalid.as_str().into();
        state.v.push(
            codes::SIGNATURE_INVALID,
            Severity::Error,
            None,
            "inline PGP signed text without its signature".into(),
        );
        return;
    };
    if !text[..start].iter().all(u8::is_ascii_whitespace)
        || !text[end..].iter().all(u8::is_ascii_whitespace)
    {
        state.v.push(
            codes::PARTIALLY_SIGNED,
            Severity::Error,
            None,
            "text outside the inline PGP signed block is not signed".into(),
        );
    }
    state.v.push(
        codes::INLINE_PGP,
        Severity::Warning,
        None,
        "inline PGP: the signature covers the body text only, no header field".into(),
    );
    let lp = policy::lenient();
    let helper = Helper::new(&opts.keyring, &[], system_time(opts.now));
    let verifier = VerifierBuilder::from_bytes(&text[start..end])
        .and_then(|b| b.with_policy(&lp, Some(system_time(opts.now)), helper));
    let mut content = Vec::new();
    let verified = verifier.and_then(|mut vr| {
        vr.read_to_end(&mut content)?;
        Ok(vr.into_helper())
    });
    match verified {
        Ok(helper) => {
            apply_outcomes(state, helper.outcomes);
            state.v.content = content;
        }
        Err(_) => {
            state.v.signature.status = Status::Invalid.as_str().into();
            state.v.push(
                codes::SIGNATURE_INVALID,
                Severity::Error,
                None,
                "malformed inline PGP signature".into(),
            );
        }
    }
}

/// Trace and verdict fields relays add or rewrite; never expected among protected fields.
fn is_trace(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    matches!(
        n.as_str(),
        "received"
            | "return-path"
            | "delivered-to"
            | "x-original-to"
            | "envelope-to"
            | "dkim-signature"
            | "authentication-results"
            | "received-spf"
            | "x-ximf-verify"
    ) || n.starts_with("arc-")
        || n.starts_with("x-spam-")
        || n.starts_with("x-virus-")
}

/// The bare address of a From value (`Name <a@b>` → `a@b`), lower-cased.
fn address(value: &str) -> String {
    let v = match (value.rfind('<'), value.rfind('>')) {
        (Some(a), Some(b)) if a < b => &value[a + 1..b],
        _ => value,
    };
    v.trim().to_ascii_lowercase()
}

/// RFC 9788 §4 reading: inner fields are authoritative; an outer copy that differs without a
/// matching `HP-Outer` record is tampering. Then the signer is matched against From.
fn header_protection(top: &Entity<'_>, opts: &VerifyOptions, state: &mut State) {
    let payload = state.payload.take();
    let pe = payload.as_deref().and_then(|p| Entity::parse(p).ok());
    let outer: Vec<&mime::Field<'_>> = top.fields.iter().filter(|f| !f.is_structural()).collect();
    let mut from = opts.from.clone();
    if let Some(pe) = &pe {
        let pct = pe.content_type();
        let mode = pct.param("hp").map(str::to_ascii_lowercase).or_else(|| {
            pct.param("protected-headers")
                .filter(|v| v.eq_ignore_ascii_case("v1"))
                .map(|_| "v1".to_string())
        });
        if let Some(mode) = mode {
            compare_headers(pe, &outer, &mode, state);
            if from.is_none() {
                from = pe.field("From").map(|f| f.value());
            }
        }
    }
    if from.is_none() {
        from = top.field("From").map(|f| f.value());
    }
    let v = &mut state.v;
    if let (Some(cert), Some(from)) = (&state.signer, from) {
        let addr = address(&from);
        let emails = keys::emails(cert);
        if emails.contains(&addr) {
            v.signature.signer = Some(addr);
        } else {
            v.push(
                codes::SIGNER_MISMATCH,
                Severity::Error,
                Some("From"),
                format!(
                    "From is {addr} but the signer's User IDs say {}",
                    if emails.is_empty() {
                        "nothing".to_string()
                    } else {
                        emails.join(", ")
                    }
                ),
            );
        }
    }
}

fn compare_headers(pe: &Entity<'_>, outer: &[&mime::Field<'_>], mode: &str, state: &mut State) {
    let inner: Vec<&mime::Field<'_>> = pe
        .fields
        .iter()
        .filter(|f| !f.is_structural() && !f.name.eq_ignore_ascii_case("HP-Outer"))
        .collect();
    let hp_outer: Vec<(String, String)> = pe
        .fields
        .iter()
        .filter(|f| f.name.eq_ignore_ascii_case("HP-Outer"))
        .filter_map(|f| {
            let v = f.value();
            let (n, val) = v.split_once(':')?;
            Some((n.trim().to_ascii_lowercase(), val.trim().to_string()))
        })
        .collect();
    let v = &mut state.v;
    v.inner_headers = inner
        .iter()
        .map(|f| (f.name.to_string(), f.value()))
        .collect();
    let mut names: Vec<String> = Vec::new();
    for f in &inner {
        if !names.iter().any(|n| n.eq_ignore_ascii_case(f.name)) {
            names.push(f.name.to_string());
        }
    }
    if v.signature.status != "absent" {
        v.signature.protected_headers = names.clone();
    }
    let values = |fields: &[&mime::Field<'_>], name: &str| -> Vec<String> {
        fields
            .iter()
            .filter(|f| f.name.eq_ignore_ascii_case(name))
            .map(|f| f.value())
            .collect()
    };
    for name in &names {
        let lower = name.to_ascii_lowercase();
        let iv = values(&inner, name);
        let ov = values(outer, name);
        let recorded: Vec<String> = hp_outer
            .iter()
            .filter(|(n, _)| *n == lower)
            .map(|(_, v)| v.clone())
            .collect();
        if ov.is_empty() {
            if mode != "cipher" || !recorded.is_empty() {
                v.push(
                    codes::PROTECTED_HEADER_MISSING,
                    Severity::Warning,
                    Some(name),
                    format!("{name} is protected but missing from the outer header"),
                );
            }
        } else if ov != iv && !(mode == "cipher" && recorded == ov) {
            v.push(
                codes::PROTECTED_HEADER_MISMATCH,
                Severity::Error,
                Some(name),
                format!("the outer {name} differs from its protected copy"),
            );
        }
    }
    let mut warned: Vec<String> = Vec::new();
    for f in outer {
        let lower = f.name.to_ascii_lowercase();
        if is_trace(f.name)
            || names.iter().any(|n| n.eq_ignore_ascii_case(f.name))
            || warned.contains(&lower)
        {
            continue;
        }
        // An XIMF field outside the protection could change what is checked (the instance, the
        // correspondence type): an error, as for S/MIME; other fields are warnings.
        let severity = if lower.starts_with("x-ximf-") {
            Severity::Error
        } else {
            Severity::Warning
        };
        warned.push(lower);
        v.push(
            codes::UNPROTECTED_HEADER,
            severity,
            Some(f.name),
            format!("{} is outside the protected header copy", f.name),
        );
    }
}
