//! Recipients' certificates found by address (issue 10 point 3): `--recipient bob@example.org`,
//! or every To/Cc/Bcc (and envelope) address when encryption names no recipient at all, as gpg,
//! sq and mutt's `crypt_autoencrypt` do.
//!
//! The caller gathers *candidates* — every certificate that may be the address's: the X.509
//! certificates of a certificate directory, what `gpg --export ADDRESS` printed, the keyring
//! files — through a [`Directory`] it implements (the CLI lists files and runs gpg; the library
//! never does, style.md §1). This module decides, for one address at one instant, which single
//! certificate of each kind is the address's ([`find`]), and completes a [`Keys`] with the
//! certificates of the recipients that need one ([`Lookup::complete`]).
//!
//! # Decisions
//!
//! - X.509: the address must be a SAN rfc822Name, or, when the certificate has none, a subject
//!   emailAddress (RFC 8550 §3); compared case-insensitively (the domain is; local parts are in
//!   practice too). The certificate must be valid at `now`, its keyUsage (when present) must
//!   allow keyEncipherment or keyAgreement and its extendedKeyUsage (when present)
//!   emailProtection or anyExtendedKeyUsage (RFC 8550 §4.4). No path to a trust anchor is
//!   built: the directory is the user's own choice of correspondents' certificates, like a
//!   mail client's "other people" store, and a certificate put there is believed.
//! - OpenPGP: a User ID with the address, bound under Sequoia's StandardPolicy at `now` and not
//!   revoked; the certificate neither revoked nor expired; an encryption-capable key alive at
//!   `now` (the key `pgp::encrypt` would use). The same certificate from two sources (the
//!   GnuPG keyring and a keyring file) is merged first, so a revocation either holds counts.
//! - Exactly one usable certificate per kind, or an error naming the address (exit 67): none;
//!   several distinct usable ones (which one bob reads is not ours to guess: `--recipient FILE`
//!   says); or only unusable ones, saying why ("the only certificate ... has expired on
//!   2021-01-01").
//! - Only the kinds protection may use are looked up: the mechanisms the demands allow and, when
//!   signing, those with a signing key, so an S/MIME user is never held up by an ambiguous
//!   OpenPGP keyring.

use std::sync::Arc;

use der::Encode;
use der::oid::ObjectIdentifier;
use sequoia_openpgp::Cert;
use sequoia_openpgp::cert::amalgamation::ValidAmalgamation;
use sequoia_openpgp::types::RevocationStatus;
use x509_cert::Certificate;
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::{ExtendedKeyUsage, KeyUsage, KeyUsages, SubjectAltName};

use super::{Keys, Mechanism};
use crate::error::{Error, Result};

/// PKCS#9 emailAddress (RFC 2985), the legacy place of an address in a subject.
const OID_EMAIL_ADDRESS: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.1");
/// id-kp-emailProtection (RFC 5280 §4.2.1.12).
const OID_EMAIL_PROTECTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.4");
/// anyExtendedKeyUsage (RFC 5280 §4.2.1.12).
const OID_ANY_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37.0");

/// A certificate and where it was found (a file, "the GnuPG keyring"), for messages.
#[derive(Debug, Clone)]
pub struct Candidate<T> {
    /// The certificate.
    pub cert: T,
    /// Where it came from.
    pub origin: String,
}

impl<T> Candidate<T> {
    /// `cert`, found at `origin`.
    pub fn new(cert: T, origin: impl Into<String>) -> Self {
        Candidate {
            cert,
            origin: origin.into(),
        }
    }
}

/// Every certificate that may be an address's; a superset is fine, [`find`] filters.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Candidates {
    /// X.509 certificates.
    pub x509: Vec<Candidate<Certificate>>,
    /// OpenPGP certificates.
    pub pgp: Vec<Candidate<Cert>>,
    /// What was searched and what could not be, as phrases for the message when nothing is
    /// found ("searched cert_dir /x", "no GnuPG home", ...).
    pub searched: Vec<String>,
}

/// Where certificates are looked for by address; implemented by the caller (files, gpg).
pub trait Directory: std::fmt::Debug + Send + Sync {
    /// The candidates for `address`, of the `kinds` asked for (others may be left out).
    ///
    /// Fails only when a source that should answer cannot (an unreadable file, gpg hanging:
    /// [`Error::TempFail`]); a source that is simply absent adds nothing.
    fn candidates(&self, address: &str, kinds: &[Mechanism]) -> Result<Candidates>;
}

/// The certificates found for one address: at most one of each kind.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Found {
    /// The X.509 certificate.
    pub x509: Option<Certificate>,
    /// The OpenPGP certificate.
    pub pgp: Option<Cert>,
}

/// One kind's answer for one address.
enum Pick<T> {
    /// Exactly one usable certificate.
    One(T),
    /// Several distinct usable ones, described.
    Several(Vec<String>),
    /// None usable; each candidate described with why ("/c/eve.crt has expired on ...").
    Unusable(Vec<String>),
    /// No certificate names the address.
    None,
}

/// The one certificate of each of `kinds` for `address` at `now` among `candidates`, or why
/// there is none: the error is one line naming the address, to follow "no key or certificate
/// for ", with a `hint:` line.
pub fn find(
    address: &str,
    candidates: &Candidates,
    kinds: &[Mechanism],
    now: i64,
) -> std::result::Result<Found, String> {
    let address = address.trim();
    let x509 = if kinds.contains(&Mechanism::Smime) {
        pick_x509(address, &candidates.x509, now)
    } else {
        Pick::None
    };
    let pgp = if kinds.contains(&Mechanism::OpenPgp) {
        pick_pgp(address, &candidates.pgp, now)
    } else {
        Pick::None
    };
    let several = match (&x509, &pgp) {
        (Pick::Several(d), _) | (_, Pick::Several(d)) => Some(d),
        _ => None,
    };
    if let Some(d) = several {
        return Err(format!(
            "{address}: several certificates fit, ximf does not guess: {}\nhint: give the one \
             to use with --recipient FILE (or choose the other mechanism with --mechanism)",
            d.join(", ")
        ));
    }
    let mut found = Found::default();
    let mut unusable = Vec::new();
    match x509 {
        Pick::One(c) => found.x509 = Some(c),
        Pick::Unusable(d) => unusable.extend(d),
        _ => {}
    }
    match pgp {
        Pick::One(c) => found.pgp = Some(c),
        Pick::Unusable(d) => unusable.extend(d),
        _ => {}
    }
    if found.x509.is_some() || found.pgp.is_some() {
        return Ok(found);
    }
    let hint = format!(
        "hint: put a valid certificate for {address} in the config's cert_dir or your GnuPG \
         keyring, or give it with --recipient FILE"
    );
    match unusable.as_slice() {
        [] => Err(format!(
            "{address}: none found{}\n{hint}",
            match candidates.searched.as_slice() {
                [] => String::new(),
                s => format!(" ({})", s.join(", ")),
            }
        )),
        [only] => Err(format!("{address}: the only certificate, {only}\n{hint}")),
        all => Err(format!(
            "{address}: no certificate is usable: {}\n{hint}",
            all.join("; ")
        )),
    }
}

/// The day of a unix time, `YYYY-MM-DD` (UTC).
fn day(t: i64) -> String {
    let (y, m, d) = crate::clock::civil_from_days(t.div_euclid(86_400));
    format!("{y:04}-{m:02}-{d:02}")
}

/// The addresses an X.509 certificate is for: its SAN rfc822Names, else its subject
/// emailAddress attributes (RFC 8550 §3), lower-cased.
fn x509_addresses(c: &Certificate) -> Vec<String> {
    let tbs = &c.tbs_certificate;
    let mut out: Vec<String> = Vec::new();
    // A malformed or repeated SAN extension names nobody rather than failing the lookup.
    if let Ok(Some((_, SubjectAltName(names)))) = tbs.get::<SubjectAltName>() {
        for n in names {
            if let GeneralName::Rfc822Name(e) = n {
                out.push(e.as_str().to_ascii_lowercase());
            }
        }
    }
    if out.is_empty() {
        for rdn in &tbs.subject.0 {
            for atv in rdn.0.iter().filter(|a| a.oid == OID_EMAIL_ADDRESS) {
                if let Ok(s) = std::str::from_utf8(atv.value.value()) {
                    out.push(s.to_ascii_lowercase());
                }
            }
        }
    }
    out
}

/// Why an X.509 certificate cannot be encrypted to at `now`, if it cannot.
fn x509_unusable(c: &Certificate, now: i64) -> Option<String> {
    let tbs = &c.tbs_certificate;
    let not_before = tbs.validity.not_before.to_unix_duration().as_secs() as i64;
    let not_after = tbs.validity.not_after.to_unix_duration().as_secs() as i64;
    if now > not_after {
        return Some(format!("has expired on {}", day(not_after)));
    }
    if now < not_before {
        return Some(format!("is not valid before {}", day(not_before)));
    }
    match tbs.get::<KeyUsage>() {
        Ok(Some((_, ku)))
            if !ku.0.contains(KeyUsages::KeyEncipherment)
                && !ku.0.contains(KeyUsages::KeyAgreement) =>
        {
            return Some("is not for encryption (keyUsage)".into());
        }
        Err(_) => return Some("has a malformed keyUsage".into()),
        _ => {}
    }
    match tbs.get::<ExtendedKeyUsage>() {
        Ok(Some((_, ExtendedKeyUsage(oids))))
            if !oids.contains(&OID_EMAIL_PROTECTION) && !oids.contains(&OID_ANY_EKU) =>
        {
            Some("is not for e-mail (extendedKeyUsage lacks emailProtection)".into())
        }
        Err(_) => Some("has a malformed extendedKeyUsage".into()),
        _ => None,
    }
}

/// How an X.509 candidate is named in messages: where it is, subject and serial.
fn x509_describe(c: &Candidate<Certificate>) -> String {
    let tbs = &c.cert.tbs_certificate;
    let serial: String = tbs
        .serial_number
        .as_bytes()
        .iter()
        .map(|b| format!("{b:02X}"))
        .collect();
    format!("{} (X.509 \"{}\" serial {serial})", c.origin, tbs.subject)
}

fn pick_x509(address: &str, candidates: &[Candidate<Certificate>], now: i64) -> Pick<Certificate> {
    let mut seen: Vec<Vec<u8>> = Vec::new();
    let (mut usable, mut unusable) = (Vec::new(), Vec::new());
    for c in candidates {
        if !x509_addresses(&c.cert)
            .iter()
            .any(|a| a.eq_ignore_ascii_case(address))
        {
            continue;
        }
        // The same certificate in two files (bob.crt and bob.chain.pem) is one certificate.
        let der = c.cert.to_der().unwrap_or_default();
        if seen.contains(&der) {
            continue;
        }
        seen.push(der);
        match x509_unusable(&c.cert, now) {
            None => usable.push(c),
            Some(why) => unusable.push(format!("{} {why}", x509_describe(c))),
        }
    }
    match usable.as_slice() {
        [one] => Pick::One(one.cert.clone()),
        [] if unusable.is_empty() => Pick::None,
        [] => Pick::Unusable(unusable),
        several => Pick::Several(several.iter().map(|c| x509_describe(c)).collect()),
    }
}

/// Why an OpenPGP certificate cannot be encrypted to for `address` at `now`, if it cannot.
fn pgp_unusable(cert: &Cert, address: &str, now: i64) -> Option<String> {
    let p = sequoia_openpgp::policy::StandardPolicy::new();
    let t = crate::pgp::system_time(now);
    let when = |st: std::time::SystemTime| {
        let secs = st
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        day(secs)
    };
    let vc = match cert.with_policy(&p, t) {
        Ok(vc) => vc,
        Err(e) => return Some(format!("is not valid under the standard policy: {e}")),
    };
    if let RevocationStatus::Revoked(sigs) = vc.revocation_status() {
        return Some(
            match sigs.first().and_then(|s| s.signature_creation_time()) {
                Some(at) => format!("is revoked (since {})", when(at)),
                None => "is revoked".into(),
            },
        );
    }
    if vc.alive().is_err() {
        return Some(match vc.primary_key().key_expiration_time() {
            Some(at) if at <= t => format!("has expired on {}", when(at)),
            _ => "is not valid yet".into(),
        });
    }
    let uids: Vec<_> = vc
        .userids()
        .filter(|u| crate::pgp::keys::email(u.userid()).is_some_and(|e| e == address))
        .collect();
    if uids.is_empty() {
        return Some(format!("has no valid User ID for {address}"));
    }
    if uids
        .iter()
        .all(|u| matches!(u.revocation_status(), RevocationStatus::Revoked(_)))
    {
        return Some(format!("has its User ID for {address} revoked"));
    }
    match crate::pgp::keys::encryption_keys(cert, &p, t) {
        Ok(_) => None,
        Err(_) => Some("has no encryption key valid at the given time".into()),
    }
}

fn pgp_describe(c: &Candidate<Cert>) -> String {
    format!("{} (OpenPGP {})", c.origin, c.cert.fingerprint().to_hex())
}

fn pick_pgp(address: &str, candidates: &[Candidate<Cert>], now: i64) -> Pick<Cert> {
    let address = address.to_ascii_lowercase();
    // One entry per fingerprint, merged, so a revocation from any source counts.
    let mut merged: Vec<Candidate<Cert>> = Vec::new();
    for c in candidates {
        if !crate::pgp::keys::emails(&c.cert).contains(&address) {
            continue;
        }
        match merged
            .iter_mut()
            .find(|m| m.cert.fingerprint() == c.cert.fingerprint())
        {
            Some(m) => {
                if let Ok(both) = m.cert.clone().merge_public(c.cert.clone()) {
                    m.cert = both;
                }
            }
            None => merged.push(c.clone()),
        }
    }
    let (mut usable, mut unusable) = (Vec::new(), Vec::new());
    for c in merged {
        match pgp_unusable(&c.cert, &address, now) {
            None => usable.push(c),
            Some(why) => unusable.push(format!("{} {why}", pgp_describe(&c))),
        }
    }
    match usable.as_slice() {
        [one] => Pick::One(one.cert.clone()),
        [] if unusable.is_empty() => Pick::None,
        [] => Pick::Unusable(unusable),
        several => Pick::Several(several.iter().map(pgp_describe).collect()),
    }
}

/// Which recipients to find by address when encrypting, and where.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Lookup {
    /// Where certificates are looked for.
    pub directory: Arc<dyn Directory>,
    /// Addresses named for encryption (`--recipient ADDRESS`): always looked up.
    pub addresses: Vec<String>,
    /// Whether every recipient of the message (To, Cc, Bcc, envelope) is looked up too: when
    /// no recipient was named at all.
    pub recipients: bool,
}

impl Lookup {
    /// A lookup in `directory` of `addresses` and, when `recipients`, of every recipient.
    pub fn new(directory: Arc<dyn Directory>, addresses: Vec<String>, recipients: bool) -> Self {
        Lookup {
            directory,
            addresses,
            recipients,
        }
    }

    /// `keys` with the certificates found for the addresses to look up: [`Lookup::addresses`]
    /// and, when [`Lookup::recipients`], each of `to`. An address a recipient certificate of
    /// `keys` already names (of a kind in `kinds`) is not looked up. Only `kinds` are looked
    /// for.
    ///
    /// Fails with [`Error::NoKey`] (67) naming every address with no certificate, several or
    /// only unusable ones ([`find`]), and with the directory's error.
    pub fn complete(
        &self,
        keys: &Keys,
        to: &[String],
        kinds: &[Mechanism],
        now: i64,
    ) -> Result<Keys> {
        let mut named: Vec<String> = Vec::new();
        if kinds.contains(&Mechanism::Smime) {
            named.extend(crate::smime::recipient_addresses(&keys.smime_recipients)?);
        }
        if kinds.contains(&Mechanism::OpenPgp) {
            named.extend(crate::pgp::recipient_addresses(&keys.pgp_recipients, now));
        }
        let mut wanted: Vec<&str> = Vec::new();
        let implicit = to.iter().filter(|_| self.recipients);
        for a in self.addresses.iter().chain(implicit) {
            let a = a.trim();
            let known = |n: &String| n.eq_ignore_ascii_case(a);
            if !named.iter().any(known) && !wanted.iter().any(|w| w.eq_ignore_ascii_case(a)) {
                wanted.push(a);
            }
        }
        let mut out = keys.clone();
        let mut failed: Vec<String> = Vec::new();
        let mut hints: Vec<String> = Vec::new();
        for a in wanted {
            let mut candidates = self.directory.candidates(a, kinds)?;
            // The certificates the user trusts (--keyring, trust.keyring) are candidates too.
            if kinds.contains(&Mechanism::OpenPgp) && !keys.pgp_keyring.is_empty() {
                (candidates.searched).push("searched the --keyring and trust.keyring files".into());
            }
            candidates.pgp.extend(
                keys.pgp_keyring
                    .iter()
                    .map(|c| Candidate::new(c.clone(), "a --keyring or trust.keyring file")),
            );
            match find(a, &candidates, kinds, now) {
                Ok(f) => {
                    out.smime_recipients.extend(f.x509);
                    out.pgp_recipients.extend(f.pgp);
                }
                Err(e) => {
                    let mut lines = e.lines();
                    failed.extend(lines.next().map(str::to_owned));
                    hints.extend(lines.next().map(str::to_owned));
                }
            }
        }
        if failed.is_empty() {
            return Ok(out);
        }
        let hint = match hints.as_slice() {
            [one] => one.clone(),
            _ => "hint: give each a valid certificate in the config's cert_dir or your GnuPG \
                  keyring, or name the files with --recipient FILE"
                .to_owned(),
        };
        Err(Error::NoKey(format!("{}\n{hint}", failed.join("; "))))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    const NOW_SMIME: i64 = 1_795_910_400; // 2026-11-29
    const NOW_PGP: i64 = 1_780_272_000; // 2026-06-01

    fn smime(name: &str) -> Candidate<Certificate> {
        let p = format!("{}/testdata/keys/smime/{name}", env!("CARGO_MANIFEST_DIR"));
        let c = crate::smime::parse_certs(&std::fs::read(&p).unwrap())
            .unwrap()
            .remove(0);
        Candidate::new(c, name)
    }

    fn pgp(name: &str) -> Candidate<Cert> {
        let p = format!("{}/testdata/keys/pgp/{name}", env!("CARGO_MANIFEST_DIR"));
        let c = crate::pgp::load_keys(&std::fs::read(&p).unwrap())
            .unwrap()
            .remove(0);
        Candidate::new(c, name)
    }

    fn both() -> [Mechanism; 2] {
        [Mechanism::Smime, Mechanism::OpenPgp]
    }

    fn with(x509: Vec<Candidate<Certificate>>, pgp: Vec<Candidate<Cert>>) -> Candidates {
        Candidates {
            x509,
            pgp,
            searched: vec!["searched here".into()],
        }
    }

    #[test]
    fn one_x509_by_san_case_insensitively() {
        let c = with(vec![smime("alice.crt"), smime("bob.crt")], vec![]);
        let f = find("Bob@Example.ORG", &c, &both(), NOW_SMIME).unwrap();
        assert!(f.x509.is_some() && f.pgp.is_none());
        // The same certificate twice (bob.crt, bob.chain.pem) is still one.
        let c = with(vec![smime("bob.crt"), smime("bob.chain.pem")], vec![]);
        assert!(find("bob@example.org", &c, &both(), NOW_SMIME).is_ok());
    }

    #[test]
    fn expired_x509_says_when() {
        let c = with(vec![smime("eve.crt")], vec![]);
        let e = find("eve@example.org", &c, &both(), NOW_SMIME).unwrap_err();
        assert!(
            e.starts_with("eve@example.org: the only certificate, eve.crt"),
            "{e}"
        );
        assert!(e.contains("has expired on 2021-01-01"), "{e}");
    }

    #[test]
    fn none_names_what_was_searched() {
        let c = with(vec![smime("alice.crt")], vec![pgp("alice.cert")]);
        let e = find("bob@example.org", &c, &both(), NOW_SMIME).unwrap_err();
        assert!(
            e.starts_with("bob@example.org: none found (searched here)"),
            "{e}"
        );
        assert!(e.contains("\nhint: "), "{e}");
    }

    #[test]
    fn pgp_expired_revoked_and_valid() {
        let c = with(
            vec![],
            vec![pgp("bob.cert"), pgp("expired.cert"), pgp("revoked.cert")],
        );
        let kinds = [Mechanism::OpenPgp];
        assert!(
            find("bob@example.org", &c, &kinds, NOW_PGP)
                .unwrap()
                .pgp
                .is_some()
        );
        let e = find("expired@example.org", &c, &kinds, NOW_PGP).unwrap_err();
        assert!(e.contains("has expired on 2025-01-01"), "{e}");
        let e = find("revoked@example.org", &c, &kinds, NOW_PGP).unwrap_err();
        assert!(e.contains("is revoked"), "{e}");
        // Only the kinds asked for are considered.
        let e = find("bob@example.org", &c, &[Mechanism::Smime], NOW_PGP).unwrap_err();
        assert!(e.contains("none found"), "{e}");
    }

    #[test]
    fn several_distinct_certificates_are_refused() {
        use sequoia_openpgp::cert::CertBuilder;
        let (other, _) = CertBuilder::new()
            .add_userid("Bob Two <bob@example.org>")
            .add_transport_encryption_subkey()
            .set_creation_time(crate::pgp::system_time(NOW_PGP - 86_400))
            .generate()
            .unwrap();
        let c = with(
            vec![],
            vec![pgp("bob.cert"), Candidate::new(other.clone(), "gpg")],
        );
        let e = find("bob@example.org", &c, &both(), NOW_PGP).unwrap_err();
        assert!(
            e.starts_with("bob@example.org: several certificates fit"),
            "{e}"
        );
        assert!(e.contains(&other.fingerprint().to_hex()), "{e}");
        // The same certificate from two sources is one.
        let c = with(vec![], vec![pgp("bob.cert"), pgp("bob.cert")]);
        assert!(find("bob@example.org", &c, &both(), NOW_PGP).is_ok());
    }

    #[derive(Debug)]
    struct Fixed(Candidates);

    impl Directory for Fixed {
        fn candidates(&self, _: &str, _: &[Mechanism]) -> Result<Candidates> {
            Ok(self.0.clone())
        }
    }

    #[test]
    fn complete_adds_found_and_names_every_failure() {
        let dir = Arc::new(Fixed(with(
            vec![smime("bob.crt"), smime("eve.crt")],
            vec![],
        )));
        let to = ["bob@example.org".to_owned(), "eve@example.org".to_owned()];
        let kinds = both();
        // Implicit: every recipient.
        let l = Lookup::new(dir.clone(), vec![], true);
        let e = l
            .complete(&Keys::default(), &to, &kinds, NOW_SMIME)
            .unwrap_err();
        assert!(
            matches!(&e, Error::NoKey(m) if m.starts_with("eve@example.org: ")),
            "{e}"
        );
        let k = l
            .complete(&Keys::default(), &to[..1], &kinds, NOW_SMIME)
            .unwrap();
        assert_eq!(k.smime_recipients.len(), 1);
        // Explicit addresses only: the other recipients are not looked up.
        let l = Lookup::new(dir, vec!["bob@example.org".into()], false);
        let k = l
            .complete(&Keys::default(), &to, &kinds, NOW_SMIME)
            .unwrap();
        assert_eq!(k.smime_recipients.len(), 1);
        // An address a given certificate names is not looked up again.
        let k2 = l.complete(&k, &to, &kinds, NOW_SMIME).unwrap();
        assert_eq!(k2.smime_recipients.len(), 1);
    }
}
