//! Every finding code the secure-message engine and its backends emit, with its severity and
//! one-line meaning. The README's "Protection findings" table is checked against [`ALL`] by a
//! test, so the two cannot drift apart.

/// A finding code with its documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Code {
    /// The stable kebab-case code.
    pub name: &'static str,
    /// The severity as documented (`error`, `warning`, or a rule such as "error for X-XIMF-*").
    pub severity: &'static str,
    /// One line: what it means.
    pub meaning: &'static str,
}

macro_rules! codes {
    ($($id:ident = $name:literal, $sev:literal, $meaning:literal;)*) => {
        $(#[doc = $meaning] pub const $id: &str = $name;)*
        /// Every code, in README order.
        pub const ALL: &[Code] = &[$(Code { name: $name, severity: $sev, meaning: $meaning }),*];
    };
}

codes! {
    SIGNATURE_INVALID = "signature-invalid", "error",
        "the signature does not match the content, or is malformed";
    SIGNATURE_REMOVED = "signature-removed", "error",
        "a `multipart/signed` without its signature part";
    SIGNATURE_UNTRUSTED = "signature-untrusted", "error",
        "S/MIME: no path to a trust anchor; OpenPGP: signer not in the keyring";
    SIGNATURE_EXPIRED = "signature-expired", "error",
        "OpenPGP signature expired, or made after the verification time";
    CERTIFICATE_EXPIRED = "certificate-expired", "error",
        "a certificate on the path is outside its validity at the verification time";
    KEY_EXPIRED = "key-expired", "error",
        "the OpenPGP key is outside its validity at the verification time";
    KEY_REVOKED = "key-revoked", "error", "the OpenPGP key is revoked";
    KEY_INVALID = "key-invalid", "error", "the OpenPGP key is unusable for signing";
    CERTIFICATE_USAGE = "certificate-usage", "error",
        "keyUsage / extendedKeyUsage forbid S/MIME signing";
    SIGNER_CERTIFICATE_MISSING = "signer-certificate-missing", "error",
        "the signer's certificate is neither in the message nor given";
    WEAK_ALGORITHM = "weak-algorithm", "error",
        "SHA-1, MD5, RSA < 2048 bits, DES/3DES/RC2, or what Sequoia's standard policy rejects";
    UNSUPPORTED_ALGORITHM = "unsupported-algorithm", "error", "an unknown digest algorithm";
    SIGNER_MISMATCH = "signer-mismatch", "error",
        "the From address is not an address of the signer of any valid layer covering the plaintext";
    FROM_AMBIGUOUS = "from-ambiguous", "error",
        "a signed message whose From does not hold exactly one mailbox";
    DUPLICATE_FIELD = "duplicate-field", "error for Content-Type, MIME-Version, From and differing protected copies, else warning",
        "a field RFC 5322 / RFC 2045 allows once appears more than once in a header section";
    SIGNATURE_OVER_CIPHERTEXT = "signature-over-ciphertext", "warning",
        "the signature covers only ciphertext (encrypt-then-sign): it is not taken as the author's";
    MICALG_MISMATCH = "micalg-mismatch", "warning",
        "`micalg` names another digest than the signature uses (the digest is never taken from it)";
    PARTIALLY_SIGNED = "partially-signed", "error",
        "a signed part or block stands beside unsigned content: never a signed message";
    PARTIALLY_ENCRYPTED = "partially-encrypted", "error",
        "an encrypted part or block stands beside unencrypted content";
    STRUCTURE_MALFORMED = "structure-malformed", "error",
        "a multipart without a boundary, a delimiter or its close delimiter, or a layer that cannot be read";
    NESTING_TOO_DEEP = "nesting-too-deep", "error",
        "more than 8 nested layers or MIME levels";
    LIMIT_EXCEEDED = "limit-exceeded", "error",
        "the message expands past a bound: more MIME parts or header fields than allowed, or a layer whose plaintext exceeds the output limit (see Limits)";
    PROTECTED_HEADER_MISMATCH = "protected-header-mismatch", "error",
        "an outer field differs from its RFC 9788 / RFC 8551 §3.1 protected copy";
    PROTECTED_HEADER_MISSING = "protected-header-missing", "warning",
        "a protected field is absent from the outer header";
    UNPROTECTED_HEADER = "unprotected-header", "error for `X-XIMF-*` under header protection, else warning",
        "an outer field without a protected copy (or any X-XIMF field of a message signed without header protection)";
    LABEL_MISMATCH = "label-mismatch", "error",
        "the ESS security label disagrees with the classification fields";
    LABEL_MALFORMED = "label-malformed", "error", "the ESS security label cannot be read";
    SECURE_HEADER_MISMATCH = "secure-header-mismatch", "error",
        "an RFC 7508 SecureHeaderFields value differs from the outer field (white space trimmed)";
    SECURE_HEADER_MISSING = "secure-header-missing", "error",
        "an RFC 7508 signed field is missing from the header";
    SECURE_HEADERS_MALFORMED = "secure-headers-malformed", "error",
        "RFC 7508 SecureHeaderFields cannot be decoded";
    LEGACY_TRUSTEDBIRD = "legacy-trustedbird", "warning",
        "secure headers in Trustedbird's pre-RFC id-aa 80 form";
    DECRYPTION_FAILED = "decryption-failed", "error",
        "encrypted and no key given, not a recipient, malformed, or authentication failed";
    UNAUTHENTICATED_ENCRYPTION = "unauthenticated-encryption", "warning",
        "AES-CBC content with no valid signature inside: nothing vouches for the plaintext";
    CMS_MALFORMED = "cms-malformed", "error", "a CMS body cannot be read";
    UNSUPPORTED_CMS_TYPE = "unsupported-cms-type", "warning",
        "compressed-data or certs-only: not a protection layer";
    MULTIPLE_SIGNERS = "multiple-signers", "warning",
        "a layer carries several signatures: the best decides, the others' problems are warnings";
    INLINE_PGP = "inline-pgp", "warning", "an inline PGP signature: it covers no header field";
}

/// The documented entry for `name`.
pub fn lookup(name: &str) -> Option<&'static Code> {
    ALL.iter().find(|c| c.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_kebab_case() {
        for (i, c) in ALL.iter().enumerate() {
            assert!(
                c.name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit()),
                "{}",
                c.name
            );
            assert!(ALL[i + 1..].iter().all(|d| d.name != c.name), "{}", c.name);
        }
        assert_eq!(lookup("signer-mismatch").map(|c| c.severity), Some("error"));
    }
}
