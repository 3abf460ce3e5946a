//! Algorithm policy: Sequoia's StandardPolicy plus ximf's own floor (design.md §3.2: SHA-1, MD5
//! and RSA < 2048 bits are weak), and a lenient twin used only to tell "weak" from "invalid".

use openpgp::policy::{AsymmetricAlgorithm, HashAlgoSecurity, StandardPolicy};
use openpgp::types::{HashAlgorithm, PublicKeyAlgorithm};
use sequoia_openpgp as openpgp;

/// The policy new signatures and encryption must satisfy and verification reports against.
pub(crate) fn standard() -> StandardPolicy<'static> {
    StandardPolicy::new()
}

/// StandardPolicy with every weak algorithm accepted again. It never decides that a signature
/// is good; it only lets us see *why* the standard policy said no (weak vs. broken).
pub(crate) fn lenient() -> StandardPolicy<'static> {
    let mut p = StandardPolicy::new();
    #[allow(deprecated)]
    for h in [
        HashAlgorithm::MD5,
        HashAlgorithm::SHA1,
        HashAlgorithm::RipeMD,
        HashAlgorithm::SHA224,
    ] {
        p.accept_hash(h);
        p.accept_hash_property(h, HashAlgoSecurity::CollisionResistance);
        p.accept_hash_property(h, HashAlgoSecurity::SecondPreImageResistance);
    }
    for a in [
        AsymmetricAlgorithm::RSA1024,
        AsymmetricAlgorithm::RSA2048,
        AsymmetricAlgorithm::DSA1024,
        AsymmetricAlgorithm::DSA2048,
        AsymmetricAlgorithm::ElGamal1024,
        AsymmetricAlgorithm::ElGamal2048,
    ] {
        p.accept_asymmetric_algo(a);
    }
    p
}

/// Our own floor on hashes, whatever Sequoia's cutoff dates say.
pub(crate) fn weak_hash(h: HashAlgorithm) -> bool {
    matches!(
        h,
        HashAlgorithm::MD5 | HashAlgorithm::SHA1 | HashAlgorithm::RipeMD
    )
}

/// Our own floor on keys: RSA (and DSA/ElGamal) below 2048 bits.
pub(crate) fn weak_key(algo: PublicKeyAlgorithm, bits: Option<usize>) -> bool {
    #[allow(deprecated)]
    let finite_field = matches!(
        algo,
        PublicKeyAlgorithm::RSAEncryptSign
            | PublicKeyAlgorithm::RSASign
            | PublicKeyAlgorithm::RSAEncrypt
            | PublicKeyAlgorithm::DSA
            | PublicKeyAlgorithm::ElGamalEncrypt
            | PublicKeyAlgorithm::ElGamalEncryptSign
    );
    finite_field && bits.is_some_and(|b| b < 2048)
}

/// The `micalg` name of a hash (RFC 3156 §5 + the RFC 4880 registry), also used in reports.
pub(crate) fn hash_name(h: HashAlgorithm) -> String {
    #[allow(deprecated)]
    match h {
        HashAlgorithm::MD5 => "md5".into(),
        HashAlgorithm::SHA1 => "sha1".into(),
        HashAlgorithm::RipeMD => "ripemd160".into(),
        HashAlgorithm::SHA224 => "sha224".into(),
        HashAlgorithm::SHA256 => "sha256".into(),
        HashAlgorithm::SHA384 => "sha384".into(),
        HashAlgorithm::SHA512 => "sha512".into(),
        HashAlgorithm::SHA3_256 => "sha3-256".into(),
        HashAlgorithm::SHA3_512 => "sha3-512".into(),
        other => other.to_string().to_ascii_lowercase(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn floors() {
        assert!(weak_hash(HashAlgorithm::SHA1));
        assert!(!weak_hash(HashAlgorithm::SHA256));
        assert!(weak_key(PublicKeyAlgorithm::RSAEncryptSign, Some(1024)));
        assert!(!weak_key(PublicKeyAlgorithm::RSAEncryptSign, Some(3072)));
        assert!(!weak_key(PublicKeyAlgorithm::EdDSA, Some(256)));
        assert_eq!(hash_name(HashAlgorithm::SHA256), "sha256");
    }

    #[test]
    fn policies_are_policies() {
        // SHA-1 data signatures are past Sequoia's cutoff; the lenient twin takes them.
        let sp = standard();
        let lp = lenient();
        assert!(
            sp.hash_cutoff(HashAlgorithm::SHA1, HashAlgoSecurity::CollisionResistance)
                .is_some()
        );
        assert!(
            lp.hash_cutoff(HashAlgorithm::SHA1, HashAlgoSecurity::CollisionResistance)
                .is_none()
        );
        let _: &dyn openpgp::policy::Policy = &sp;
    }
}
