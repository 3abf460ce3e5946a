//! Loading certificates and keys, and picking the key that signs, decrypts or is encrypted to.

use std::time::SystemTime;

use openpgp::Cert;
use openpgp::Packet;
use openpgp::cert::CertParser;
use openpgp::cert::amalgamation::key::{PrimaryKey, ValidErasedKeyAmalgamation};
use openpgp::crypto::{Password, S2K};
use openpgp::packet::Key;
use openpgp::packet::key::{PublicParts, SecretKeyMaterial, SecretParts, UnspecifiedRole};
use openpgp::parse::Parse;
use openpgp::policy::Policy;
use sequoia_openpgp as openpgp;

use crate::secure::Passphrase;
use crate::{Error, Result};

/// Reads every certificate or TSK in `data`: armored or binary, one cert or a keyring.
///
/// Fails with [`Error::Key`] when `data` holds no OpenPGP certificate or a malformed one.
pub fn load_keys(data: &[u8]) -> Result<Vec<Cert>> {
    let parser = CertParser::from_bytes(data)
        .map_err(|e| Error::Key(format!("not OpenPGP key material: {e}")))?;
    let certs = parser
        .collect::<openpgp::Result<Vec<Cert>>>()
        .map_err(|e| Error::Key(format!("malformed OpenPGP certificate: {e}")))?;
    if certs.is_empty() {
        return Err(Error::Key("no OpenPGP certificate found".into()));
    }
    Ok(certs)
}

/// Decrypts the secret key material of `tsk` (called `name` in errors) with `passphrase`,
/// so that the signing and decryption code downstream sees plain secret keys.
///
/// Keys whose secrets are not encrypted are left as they are, and so are GnuPG's secret-key
/// stubs (`gnu-dummy` S2K: the secret lives on a smartcard or was not exported). When a key
/// decrypts with the passphrase, others that do not (a subkey with its own passphrase) stay
/// locked and simply go unused.
///
/// Fails with [`Error::NeedPassphrase`] when some secret is encrypted and no passphrase was
/// given, and with [`Error::WrongPassphrase`] when it unlocks none of them.
pub fn unlock(tsk: Cert, name: &str, passphrase: Option<&Passphrase>) -> Result<Cert> {
    let locked: Vec<(bool, Key<SecretParts, UnspecifiedRole>)> = tsk
        .keys()
        .secret()
        .filter(|ka| match ka.key().optional_secret() {
            Some(SecretKeyMaterial::Encrypted(e)) => {
                !matches!(e.s2k(), S2K::Private { .. } | S2K::Unknown { .. })
            }
            _ => false,
        })
        .map(|ka| (ka.primary(), ka.key().clone()))
        .collect();
    if locked.is_empty() {
        return Ok(tsk);
    }
    let Some(passphrase) = passphrase else {
        return Err(Error::NeedPassphrase(name.to_owned()));
    };
    let password = Password::from(passphrase.as_str());
    let mut packets: Vec<Packet> = Vec::new();
    for (primary, key) in locked {
        let Ok(key) = key.decrypt_secret(&password) else {
            continue;
        };
        packets.push(if primary {
            key.role_into_primary().into()
        } else {
            key.role_into_subordinate().into()
        });
    }
    if packets.is_empty() {
        return Err(Error::WrongPassphrase(name.to_owned()));
    }
    // Same public keys, now with plain secrets: the merge keeps the new packets.
    tsk.insert_packets(packets)
        .map(|(cert, _)| cert)
        .map_err(|e| Error::Key(format!("{name}: cannot use the unlocked key: {e}")))
}

/// The e-mail addresses of `cert`'s User IDs (lower-cased), primary first.
pub(crate) fn emails(cert: &Cert) -> Vec<String> {
    cert.userids().filter_map(|u| email(u.userid())).collect()
}

/// The e-mail address of a User ID, lower-cased.
pub(crate) fn email(uid: &openpgp::packet::UserID) -> Option<String> {
    if let Some(e) = plain_email(uid.value()) {
        return Some(e.to_ascii_lowercase());
    }
    uid.email().ok().flatten().map(|e| e.to_ascii_lowercase())
}

/// The address of the commonest User IDs, `Name <local@domain>`, `<local@domain>` and a bare
/// `local@domain`, read without Sequoia's User ID parser: its first use compiles a regular
/// expression, some 2.7 M instructions, half a millisecond of every one-message verify. Only a
/// strict subset is taken: ASCII letters, digits and spaces in the name (one space before the
/// `<`), and dot-atoms of letters, digits and `-_+` in the address, which Sequoia reads as
/// that same address. Anything else is left to Sequoia.
fn plain_email(uid: &[u8]) -> Option<&str> {
    fn dot_atom(s: &[u8]) -> bool {
        !s.is_empty()
            && s.split(|&b| b == b'.').all(|atom| {
                !atom.is_empty()
                    && atom
                        .iter()
                        .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'+'))
            })
    }
    fn addr_spec(s: &[u8]) -> bool {
        let mut parts = s.splitn(2, |&b| b == b'@');
        match (parts.next(), parts.next()) {
            (Some(local), Some(domain)) => dot_atom(local) && dot_atom(domain),
            _ => false,
        }
    }
    let addr = match uid.strip_suffix(b">") {
        Some(rest) => {
            let lt = rest.iter().rposition(|&b| b == b'<')?;
            let name = &rest[..lt];
            let name_ok = name.is_empty()
                || (name.ends_with(b" ")
                    && name[0].is_ascii_alphanumeric()
                    && !name.ends_with(b"  ")
                    && name.iter().all(|&b| b.is_ascii_alphanumeric() || b == b' '));
            if !name_ok {
                return None;
            }
            &rest[lt + 1..]
        }
        None => uid,
    };
    if !addr_spec(addr) {
        return None;
    }
    std::str::from_utf8(addr).ok()
}

/// A printable name for `cert`: its first e-mail address, else its fingerprint.
pub(crate) fn display(cert: &Cert) -> String {
    emails(cert)
        .into_iter()
        .next()
        .unwrap_or_else(|| cert.fingerprint().to_hex())
}

/// The secret key of `tsk` that may sign at `now` under `policy`.
pub(crate) fn signing_key(
    tsk: &Cert,
    policy: &dyn Policy,
    now: SystemTime,
) -> Result<Key<SecretParts, UnspecifiedRole>> {
    let vc = tsk
        .with_policy(policy, now)
        .map_err(|e| Error::Key(format!("signer key {} is not usable: {e}", display(tsk))))?;
    vc.keys()
        .supported()
        .alive()
        .revoked(false)
        .for_signing()
        .secret()
        .next()
        .map(|ka| ka.key().clone().role_into_unspecified())
        .ok_or_else(|| {
            Error::Key(format!(
                "{} has no usable secret signing key at the given time",
                display(tsk)
            ))
        })
}

/// Every encryption-capable key of `cert` at `now`.
pub(crate) fn encryption_keys<'a>(
    cert: &'a Cert,
    policy: &'a dyn Policy,
    now: SystemTime,
) -> Result<Vec<ValidErasedKeyAmalgamation<'a, PublicParts>>> {
    let vc = cert.with_policy(policy, now).map_err(|e| {
        Error::Key(format!(
            "recipient certificate {} is not usable: {e}",
            display(cert)
        ))
    })?;
    let keys: Vec<_> = vc
        .keys()
        .supported()
        .alive()
        .revoked(false)
        .for_transport_encryption()
        .for_storage_encryption()
        .collect();
    if keys.is_empty() {
        return Err(Error::Key(format!(
            "{} has no usable encryption key at the given time",
            display(cert)
        )));
    }
    Ok(keys)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// The fast path reads exactly what Sequoia's User ID parser reads, or leaves it to it.
    #[test]
    fn plain_email_agrees_with_sequoia() {
        let samples = [
            "Alice <alice@example.org>",
            "Alice Smith <Alice.Smith@Example.ORG>",
            "Bob 2 <b-o_b+tag@mail.example.co.uk>",
            "<carol@example.org>",
            "carol@example.org",
            "a@b",
            "Alice  <alice@example.org>",
            " <alice@example.org>",
            "Alice<alice@example.org>",
            "Alice (work) <alice@example.org>",
            "\"Smith, Alice\" <alice@example.org>",
            "Alice <alice@example.org> ",
            "Alice <.alice@example.org>",
            "Alice <alice..x@example.org>",
            "Alice <alice@example.org.>",
            "Alice <alice@@example.org>",
            "Alice <alice>",
            "Alice <>",
            "alice@example.org (Alice)",
            "Alice",
            "",
            "<<alice@example.org>",
            "Alice <https://example.org/>",
            "Zoë <zoe@example.org>",
            "Alice <alice@exämple.org>",
            "Alice\t<alice@example.org>",
        ];
        for s in samples {
            let uid = openpgp::packet::UserID::from(s);
            let sequoia = uid.email().ok().flatten().map(str::to_owned);
            if let Some(fast) = plain_email(s.as_bytes()) {
                assert_eq!(Some(fast.to_owned()), sequoia, "{s:?}");
            }
            assert_eq!(
                email(&uid),
                sequoia.map(|e| e.to_ascii_lowercase()),
                "{s:?}"
            );
        }
        assert_eq!(
            plain_email(b"Alice <alice@example.org>"),
            Some("alice@example.org")
        );
        assert_eq!(plain_email(b"alice@example.org"), Some("alice@example.org"));
        assert_eq!(plain_email(b"Alice (work) <alice@example.org>"), None);
    }

    #[test]
    fn unlock_decrypts_every_secret_with_the_passphrase() {
        use openpgp::cert::CertBuilder;
        let (tsk, _) = CertBuilder::general_purpose(Some("Carol <carol@example.org>"))
            .set_password(Some("pw".into()))
            .generate()
            .unwrap();
        let locked = |c: &Cert| {
            c.keys()
                .secret()
                .filter(|k| !k.key().has_unencrypted_secret())
                .count()
        };
        assert!(locked(&tsk) > 0);
        assert!(matches!(
            unlock(tsk.clone(), "k", None),
            Err(Error::NeedPassphrase(n)) if n == "k"
        ));
        assert!(matches!(
            unlock(tsk.clone(), "k", Some(&Passphrase::new("nope"))),
            Err(Error::WrongPassphrase(_))
        ));
        let open = unlock(tsk, "k", Some(&Passphrase::new("pw"))).unwrap();
        assert_eq!(locked(&open), 0);
        // A key without encrypted secrets passes through untouched, passphrase or not.
        assert_eq!(unlock(open.clone(), "k", None).unwrap(), open);
    }

    #[test]
    fn rejects_non_keys() {
        assert!(matches!(load_keys(b"hello"), Err(Error::Key(_))));
        assert!(matches!(load_keys(b""), Err(Error::Key(_))));
    }
}
