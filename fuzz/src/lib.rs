//! What the ximf fuzz targets share: the test keys of `testdata/keys` (built into the binary
//! and loaded once), the fixed clock, the signed content the CMS and OpenPGP seeds were made
//! over, and a panic hook that leaves alone the one panic ximf catches on purpose.
//!
//! libFuzzer's panic hook aborts on every panic, caught or not. ximf runs Sequoia's decryptor
//! under `catch_unwind` (a known Sequoia panic on nested truncated SEIPD packets becomes
//! `decryption-failed`); [`init`] wraps the hook so that such a caught panic stays quiet, as the
//! `ximf` binary's hook does, and every other panic still aborts and is reported.

use std::sync::{Arc, Once, OnceLock};

use ximf::secure::{Keys, Limits};

/// The tests' fixed instant, 2026-06-01T00:00:00Z: every OpenPGP and S/MIME test key is valid
/// then, except those made expired or revoked on purpose.
pub const NOW: i64 = 1_780_272_000;

/// The first body part every detached-signature seed signs (CRLF, no final line ending: the
/// line ending before the next delimiter belongs to the delimiter, RFC 2046 §5.1.1).
pub const SIGNED_PART: &[u8] = include_bytes!("../seeds/signed-part.txt");

/// The bound on what one layer may expand into while fuzzing: small enough to keep executions
/// fast, large enough for every seed.
pub fn limits() -> Limits {
    Limits::with_max_output(4 << 20)
}

macro_rules! testdata {
    ($p:literal) => {
        include_bytes!(concat!("../../testdata/keys/", $p)).to_vec()
    };
}

/// Installs the panic hook (once): a panic that ximf catches on purpose
/// ([`ximf::pgp::panic_is_caught`]) does not abort; every other one does.
pub fn init() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let libfuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !ximf::pgp::panic_is_caught() {
                libfuzzer_hook(info);
            }
        }));
    });
}

/// Every key a verifying and decrypting recipient would hold: S/MIME — the test root as the
/// anchor, bob's and carol's keys with their chains; OpenPGP — alice, bob, expired and revoked
/// in the keyring, bob's and alice's secret keys.
pub fn keys() -> &'static Keys {
    static KEYS: OnceLock<Keys> = OnceLock::new();
    KEYS.get_or_init(|| {
        init();
        let k = Keys::load(
            &[
                testdata!("smime/bob.key"),
                testdata!("smime/carol.key"),
                testdata!("pgp/bob.key"),
                testdata!("pgp/alice.key"),
            ],
            &[
                testdata!("smime/bob.chain.pem"),
                testdata!("smime/carol.chain.pem"),
                testdata!("smime/alice.chain.pem"),
            ],
            &[],
            &[testdata!("smime/root.crt")],
            &[
                testdata!("pgp/alice.cert"),
                testdata!("pgp/bob.cert"),
                testdata!("pgp/expired.cert"),
                testdata!("pgp/revoked.cert"),
            ],
        );
        match k {
            Ok(k) => k,
            Err(e) => panic!("the test keys do not load: {e}"),
        }
    })
}

/// [`keys`] behind an `Arc`, as `verify::VerifyOptions` takes them.
pub fn shared_keys() -> Arc<Keys> {
    static SHARED: OnceLock<Arc<Keys>> = OnceLock::new();
    SHARED.get_or_init(|| Arc::new(keys().clone())).clone()
}

/// Signing keys for the header-protection target: alice (OpenPGP, Ed25519: fast) as signer
/// and as her own recipient, carol (S/MIME, ECDSA P-256: fast) as signer.
pub fn signing_keys() -> &'static (Keys, Keys) {
    static SIGNERS: OnceLock<(Keys, Keys)> = OnceLock::new();
    SIGNERS.get_or_init(|| {
        init();
        let pgp = Keys::load(
            &[testdata!("pgp/alice.key")],
            &[],
            &[testdata!("pgp/alice.cert")],
            &[],
            &[],
        );
        let smime = Keys::load(
            &[testdata!("smime/carol.key")],
            &[testdata!("smime/carol.chain.pem")],
            &[testdata!("smime/carol.chain.pem")],
            &[],
            &[],
        );
        match (pgp, smime) {
            (Ok(p), Ok(s)) => (p, s),
            (Err(e), _) | (_, Err(e)) => panic!("the signing keys do not load: {e}"),
        }
    })
}

/// The built-in profile (catalog with `smtp` and `Example`), loaded once.
pub fn builtin_profile() -> &'static ximf::profile::Profile {
    static PROFILE: OnceLock<ximf::profile::Profile> = OnceLock::new();
    PROFILE.get_or_init(ximf::profile::builtin)
}

/// Splits `data` at NUL octets into at most `max` pieces (the last takes the rest).
pub fn split_nul(data: &[u8], max: usize) -> Vec<&[u8]> {
    data.splitn(max, |&b| b == 0).collect()
}
