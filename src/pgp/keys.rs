//! Loading certificates and keys, and picking the key that signs, decrypts or is encrypted to.

use std::time::SystemTime;

use openpgp::Cert;
use openpgp::cert::CertParser;
use openpgp::cert::amalgamation::key::ValidErasedKeyAmalgamation;
use openpgp::packet::Key;
use openpgp::packet::key::{PublicParts, SecretParts, UnspecifiedRole};
use openpgp::parse::Parse;
use openpgp::policy::Policy;
use sequoia_openpgp as openpgp;

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

/// The e-mail addresses of `cert`'s User IDs (lower-cased), primary first.
pub(crate) fn emails(cert: &Cert) -> Vec<String> {
    cert.userids().filter_map(|u| email(u.userid())).collect()
}

/// The e-mail address of a User ID, lower-cased.
pub(crate) fn email(uid: &openpgp::packet::UserID) -> Option<String> {
    uid.email().ok().flatten().map(|e| e.to_ascii_lowercase())
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

    #[test]
    fn rejects_non_keys() {
        assert!(matches!(load_keys(b"hello"), Err(Error::Key(_))));
        assert!(matches!(load_keys(b""), Err(Error::Key(_))));
    }
}
