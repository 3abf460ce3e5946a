#![allow(clippy::unwrap_used)]
//! The behaviour matrix of issue 9 ("One secure-message engine: the same verdict for S/MIME and
//! OpenPGP, every layer checked"). Every row is a message made by the real peers (openssl cms,
//! gpgsm, gpg, sq) or by `ximf protect`, optionally edited byte by byte as an attacker or a mail
//! client would, then judged by the real binary with `ximf verify --format json` in both LF and
//! CRLF form. A row names the verdict, the finding codes that must and must not appear, and
//! checks on the report (`signature.layers`, statuses, mechanisms).
//!
//! The report these tests read: `{verdict, profile, signature: {mechanism, status, signer,
//! digest, protected_headers, layers: [{mechanism, status, signer, digest, covers:
//! "plaintext"|"ciphertext", form: "detached"|"opaque"|"inline"|"combined"}]}, encryption:
//! {mechanism, status, cipher}, label, findings: [{code, severity, header, message}]}`;
//! `verify` exits 0 on pass and 1 on fail, never anything else for a message.
//!
//! Keys: testdata/keys/{smime,pgp} (README.md there). S/MIME rows verify at 2026-11-29, OpenPGP
//! rows at 2026-06-01, mixed rows at 2026-11-29. Two signers are made at test time: an X.509
//! certificate without any e-mail address (issued by the test intermediate) and an OpenPGP key
//! whose only User ID is "CEO".
//!
//! Run with `--nocapture` to see one `ROW PASS|FAIL` line per row and line-ending form.

use crate::support::matrix;

use matrix::Maker::{Gpg, Gpgsm, Openssl, OpensslOpaque, Sq, Ximf};
use matrix::Mech::{Mixed, Pgp, Smime};
use matrix::*;

const ALICE: &str = "alice@example.org";

/// Every (mechanism, maker) pair of the two lists.
fn sm(s: &[Maker], p: &[Maker]) -> Vec<(Mech, Maker)> {
    s.iter()
        .map(|&m| (Smime, m))
        .chain(p.iter().map(|&m| (Pgp, m)))
        .collect()
}

/// Makers of detached and opaque signatures.
const S_SIGN: [Maker; 4] = [Ximf, Openssl, OpensslOpaque, Gpgsm];
/// S/MIME makers (openssl detached).
const S3: [Maker; 3] = [Ximf, Openssl, Gpgsm];
const P3: [Maker; 3] = [Ximf, Gpg, Sq];

fn alice() -> Fields {
    Fields::alice()
}

/// Signed by alice with RFC 9788 header protection (peers: an `hp="clear"` payload).
fn base(mech: Mech, mk: Maker) -> Vec<u8> {
    signed(mech, mk, "alice", &alice())
}

fn mbox(msg: &[u8]) -> Vec<u8> {
    cat(&[b"From alice@example.org Sat Jun  6 16:10:00 2009\r\n", msg])
}

// ---- 0. sanity: one layer, every maker ----------------------------------------------------

#[test]
fn baseline_single_layer() {
    let mut rows = Vec::new();
    for (mech, mk) in sm(&S_SIGN, &P3) {
        rows.push(
            row("signed", mech, mk.name(), move || base(mech, mk))
                .pass()
                .no_errors()
                .no("micalg-mismatch")
                .sig("valid")
                .sig_mech(mech.json())
                .signer(ALICE),
        );
    }
    for (mech, mk) in sm(&S3, &P3) {
        rows.push(
            row("encrypted", mech, mk.name(), move || {
                encrypted(mech, mk, &alice())
            })
            .pass()
            .no_errors()
            .enc("decrypted")
            .enc_mech(mech.json())
            .sig("absent"),
        );
        rows.push(
            row("encrypted-mbox-from-line", mech, mk.name(), move || {
                mbox(&encrypted(mech, mk, &alice()))
            })
            .pass()
            .no_errors()
            .enc("decrypted"),
        );
        rows.push(
            row("encrypted-no-key", mech, mk.name(), move || {
                encrypted(mech, mk, &alice())
            })
            .nokey()
            .fail()
            .err("decryption-failed")
            .enc("failed"),
        );
        rows.push(
            row("signed-then-encrypted", mech, mk.name(), move || {
                signed_encrypted(mech, mk, &alice())
            })
            .pass()
            .no_errors()
            .sig("valid")
            .signer(ALICE)
            .enc("decrypted")
            .enc_mech(mech.json()),
        );
    }
    rows.push(
        row("signed-and-encrypted-combined", Pgp, "gpg", || {
            message(&alice(), &gpg_encrypt(&hp_entity(&alice()), Some("alice")))
        })
        .pass()
        .no_errors()
        .sig("valid")
        .signer(ALICE)
        .enc("decrypted"),
    );
    run_table("baseline", rows);
}

// ---- 1. signature.layers ------------------------------------------------------------------

#[test]
fn layers_are_reported() {
    let mut rows = Vec::new();
    for (mech, mk) in sm(&S_SIGN, &P3) {
        let form = if mk == OpensslOpaque {
            "opaque"
        } else {
            "detached"
        };
        let digest = if mk == Sq { "sha512" } else { "sha256" };
        rows.push(
            row("one-layer", mech, mk.name(), move || base(mech, mk))
                .pass()
                .layers(1)
                .layer(0, "mechanism", mech.json())
                .layer(0, "status", "valid")
                .layer(0, "signer", ALICE)
                .layer(0, "digest", digest)
                .layer(0, "covers", "plaintext")
                .layer(0, "form", form),
        );
    }
    for (mech, mk) in sm(&S3, &P3) {
        rows.push(
            row("signed-then-encrypted", mech, mk.name(), move || {
                signed_encrypted(mech, mk, &alice())
            })
            .pass()
            .layers(1)
            .layer(0, "mechanism", mech.json())
            .layer(0, "covers", "plaintext")
            .layer(0, "status", "valid"),
        );
    }
    rows.push(
        row("signed-and-encrypted-combined", Pgp, "gpg", || {
            message(&alice(), &gpg_encrypt(&hp_entity(&alice()), Some("alice")))
        })
        .pass()
        .layers(1)
        .layer(0, "form", "combined")
        .layer(0, "covers", "plaintext")
        .layer(0, "signer", ALICE),
    );
    run_table("layers", rows);
}

// ---- 2. every layer checked, the worst decides --------------------------------------------

/// Alice signs; then `outer_who` signs the signed entity (same mechanism, same maker). With
/// `broken`, the inner signed content is altered before the outer signature is made.
fn nested(
    mech: Mech,
    mk: Maker,
    outer: &Fields,
    inner_who: &str,
    outer_who: &str,
    broken: bool,
) -> Vec<u8> {
    let fix = |m: Vec<u8>| if broken { tamper(&m) } else { m };
    match mk {
        Ximf => {
            let inner = fix(ximf_sign(&plain_message(outer), mech, inner_who));
            ximf_sign(&inner, mech, outer_who)
        }
        _ => {
            let inner = fix(peer_sign(mk, &hp_entity(outer), inner_who));
            message(outer, &peer_sign(mk, &inner, outer_who))
        }
    }
}

/// The outer signer of nested rows (gpgsm 2.2 cannot import dave's EC key: bob there).
fn second_signer(mech: Mech, mk: Maker) -> (&'static str, &'static str, &'static str) {
    match (mech, mk) {
        (Pgp, _) | (_, Gpgsm) => ("bob", "bob@example.org", "Bob <bob@example.org>"),
        _ => ("dave", "dave@example.org", "Dave <dave@example.org>"),
    }
}

#[test]
fn nested_layers_worst_status() {
    let mut rows = Vec::new();
    for (mech, mk) in sm(&[Ximf, Openssl, OpensslOpaque], &P3) {
        let (who, addr, _) = second_signer(mech, mk);
        rows.push(
            row("nested-both-valid", mech, mk.name(), move || {
                nested(mech, mk, &alice(), "alice", who, false)
            })
            .pass()
            .no_errors()
            .sig("valid")
            .signer(addr)
            .layers(2)
            .layer(0, "signer", addr)
            .layer(0, "status", "valid")
            .layer(1, "signer", ALICE)
            .layer(1, "status", "valid"),
        );
    }
    // The "nested opaque signatures": Alice's message, then signed by the From.
    for (mech, mk) in sm(&[Ximf, Openssl, OpensslOpaque], &[Ximf, Gpg]) {
        let (who, addr, from) = second_signer(mech, mk);
        rows.push(
            row("nested-from-is-outer-signer", mech, mk.name(), move || {
                nested(mech, mk, &Fields::from(from), "alice", who, false)
            })
            .pass()
            .no("signer-mismatch")
            .sig("valid")
            .signer(addr),
        );
    }
    for (mech, mk) in sm(&S3, &P3) {
        let (who, _, _) = second_signer(mech, mk);
        rows.push(
            row(
                "nested-inner-broken-outer-valid",
                mech,
                mk.name(),
                move || nested(mech, mk, &alice(), "alice", who, true),
            )
            .fail()
            .err("signature-invalid")
            .sig("invalid")
            .layers(2)
            .layer(0, "status", "valid")
            .layer(1, "status", "invalid"),
        );
    }
    // invalid > expired > untrusted > weak > valid, whichever layer carries it.
    let worst: [(&str, Mech, Maker, &str, &str, bool, &str); 10] = [
        (
            "inner-expired-outer-valid",
            Smime,
            Openssl,
            "eve",
            "alice",
            false,
            "expired",
        ),
        (
            "inner-untrusted-outer-valid",
            Smime,
            Openssl,
            "mallory",
            "alice",
            false,
            "untrusted",
        ),
        (
            "inner-weak-outer-valid",
            Smime,
            Openssl,
            "walter",
            "alice",
            false,
            "weak",
        ),
        (
            "inner-weak-outer-expired",
            Smime,
            Openssl,
            "walter",
            "eve",
            false,
            "expired",
        ),
        (
            "inner-invalid-outer-untrusted",
            Smime,
            Openssl,
            "alice",
            "mallory",
            true,
            "invalid",
        ),
        (
            "inner-expired-outer-valid",
            Pgp,
            Gpg,
            "expired",
            "alice",
            false,
            "expired",
        ),
        (
            "inner-untrusted-outer-valid",
            Pgp,
            Gpg,
            "mallory",
            "alice",
            false,
            "untrusted",
        ),
        (
            "inner-weak-outer-valid",
            Pgp,
            Gpg,
            "weak",
            "alice",
            false,
            "weak",
        ),
        (
            "inner-weak-outer-expired",
            Pgp,
            Gpg,
            "weak",
            "expired",
            false,
            "expired",
        ),
        (
            "inner-invalid-outer-untrusted",
            Pgp,
            Gpg,
            "alice",
            "mallory",
            true,
            "invalid",
        ),
    ];
    for (name, mech, mk, inner, outer, broken, status) in worst {
        rows.push(
            row(name, mech, mk.name(), move || {
                nested(mech, mk, &alice(), inner, outer, broken)
            })
            .fail()
            .sig(status)
            .layers(2),
        );
    }
    run_table("nested", rows);
}

// ---- 3. From: one field, one mailbox, matching a valid plaintext layer ---------------------

#[test]
fn from_rule() {
    // (name, From value, signer, passes, error code that must appear)
    let cases: [(&str, &str, &str, bool, &str); 11] = [
        (
            "from-two-mailboxes",
            "Alice Example <alice@example.org>, Bob <bob@example.org>",
            "bob",
            false,
            "from-ambiguous",
        ),
        (
            "from-comment-hides-signer",
            "Alice Example <alice@example.org> (<bob@example.org>)",
            "bob",
            false,
            "signer-mismatch",
        ),
        (
            "from-comment-benign",
            "(on behalf of <alice@example.org>) Bob <bob@example.org>",
            "bob",
            true,
            "",
        ),
        (
            "from-quoted-name-hides-signer",
            "\"bob@example.org\" <alice@example.org>",
            "bob",
            false,
            "signer-mismatch",
        ),
        (
            "from-quoted-name-benign",
            "\"Alice <alice@example.org>\" <bob@example.org>",
            "bob",
            true,
            "",
        ),
        (
            "from-encoded-word-hides-signer",
            "=?utf-8?q?Bob_=3Cbob=40example=2Eorg=3E?= <alice@example.org>",
            "bob",
            false,
            "signer-mismatch",
        ),
        (
            "from-encoded-word-benign",
            "=?utf-8?q?Al=C3=AFce?= <alice@example.org>",
            "alice",
            true,
            "",
        ),
        (
            "from-group-two-mailboxes",
            "Team: Alice Example <alice@example.org>, Bob <bob@example.org>;",
            "alice",
            false,
            "from-ambiguous",
        ),
        (
            "from-empty-group",
            "undisclosed-recipients:;",
            "alice",
            false,
            "from-ambiguous",
        ),
        (
            "from-bare-addr-spec",
            "alice@example.org",
            "alice",
            true,
            "",
        ),
        (
            "from-other-than-signer",
            "Bob <bob@example.org>",
            "alice",
            false,
            "signer-mismatch",
        ),
    ];
    let mut rows = Vec::new();
    for (name, from, who, passes, code) in cases {
        for (mech, mk) in sm(&S3, &P3) {
            let r = row(name, mech, mk.name(), move || {
                signed(mech, mk, who, &Fields::from(from))
            });
            rows.push(if passes {
                r.pass()
                    .no("signer-mismatch")
                    .no("from-ambiguous")
                    .sig("valid")
            } else {
                r.fail().err(code)
            });
        }
    }
    for (mech, mk) in sm(&[Openssl], &[Gpg]) {
        rows.push(
            row("from-missing", mech, mk.name(), move || {
                signed(mech, mk, "alice", &alice().without("From"))
            })
            .fail()
            .err("from-ambiguous"),
        );
    }
    // A signer whose certificate holds no e-mail address matches no From.
    for (mech, mk) in sm(&[Openssl, OpensslOpaque], &[Gpg]) {
        rows.push(
            row("signer-without-address", mech, mk.name(), move || {
                signed(mech, mk, "ceo", &Fields::from("CEO <ceo@example.org>"))
            })
            .fail()
            .err("signer-mismatch")
            .sig("valid"),
        );
    }
    run_table("from", rows);
}

// ---- 4. duplicated fields ------------------------------------------------------------------

#[test]
fn duplicate_fields() {
    type Edit = fn(&[u8]) -> Vec<u8>;
    const CT: &str = "Content-Type: text/plain; charset=us-ascii";
    let errors: [(&str, Edit); 5] = [
        ("dup-content-type-before", |m| {
            insert_before(m, "Content-Type", CT)
        }),
        ("dup-content-type-after", |m| {
            insert_after(m, "Content-Type", CT)
        }),
        ("dup-mime-version", |m| dup_field(m, "MIME-Version")),
        ("dup-from-differs", |m| {
            insert_after(m, "From", "From: Mallory <mallory@example.org>")
        }),
        ("dup-from-same", |m| dup_field(m, "From")),
    ];
    let warnings: [(&str, Edit); 4] = [
        ("dup-subject-same", |m| dup_field(m, "Subject")),
        ("dup-to-same", |m| dup_field(m, "To")),
        ("dup-message-id-same", |m| dup_field(m, "Message-ID")),
        ("dup-date-same", |m| dup_field(m, "Date")),
    ];
    let mut rows = Vec::new();
    for (mech, mk) in sm(&S3, &P3) {
        for (name, edit) in errors {
            rows.push(
                row(name, mech, mk.name(), move || edit(&base(mech, mk)))
                    .fail()
                    .err("duplicate-field"),
            );
        }
        for (name, edit) in warnings {
            rows.push(
                row(name, mech, mk.name(), move || edit(&base(mech, mk)))
                    .pass()
                    .warn("duplicate-field")
                    .no_err("duplicate-field")
                    .sig("valid"),
            );
        }
        rows.push(
            row("dup-to-differs", mech, mk.name(), move || {
                insert_after(&base(mech, mk), "To", "To: Mallory <mallory@example.org>")
            })
            .fail()
            .err("duplicate-field"),
        );
        rows.push(
            row("dup-subject-differs", mech, mk.name(), move || {
                insert_after(&base(mech, mk), "Subject", "Subject: Wire the money today")
            })
            .fail()
            .err("duplicate-field"),
        );
    }
    // Two From fields in the protected header, signed by the second.
    let two_froms = || {
        Fields::from("Mallory <mallory@example.org>").insert_after(
            "From",
            "From",
            "Alice Example <alice@example.org>",
        )
    };
    for (mech, mk) in sm(&S_SIGN, &P3) {
        rows.push(
            row(
                "dup-from-in-protected-header",
                mech,
                mk.name(),
                move || match mk {
                    Ximf => ximf_sign(&plain_message(&two_froms()), mech, "alice"),
                    _ => message(&alice(), &peer_sign(mk, &hp_entity(&two_froms()), "alice")),
                },
            )
            .fail()
            .err("duplicate-field"),
        );
    }
    // Two Content-Type fields inside the signed part.
    for (mech, mk) in sm(&[Openssl, OpensslOpaque, Gpgsm], &[Gpg, Sq]) {
        rows.push(
            row(
                "dup-content-type-in-signed-part",
                mech,
                mk.name(),
                move || {
                    let part = cat(&[
                        b"Content-Type: text/html; charset=us-ascii\r\n",
                        &hp_entity(&alice()),
                    ]);
                    message(&alice(), &peer_sign(mk, &part, "alice"))
                },
            )
            .fail()
            .err("duplicate-field"),
        );
    }
    run_table("duplicates", rows);
}

// ---- 5. micalg ----------------------------------------------------------------------------

#[test]
fn micalg_mismatch_is_a_warning() {
    let mut rows = Vec::new();
    for (mech, mk) in sm(&S3, &P3) {
        rows.push(
            row("micalg-names-another-digest", mech, mk.name(), move || {
                swap_micalg(&base(mech, mk))
            })
            .pass()
            .warn("micalg-mismatch")
            .no_err("micalg-mismatch")
            .no_errors()
            .sig("valid"),
        );
    }
    run_table("micalg", rows);
}

// ---- 6. content outside the signed / encrypted part ---------------------------------------

#[test]
fn partially_signed_or_encrypted() {
    const TEXT: &str = "Unsigned addition: wire the money to IBAN XX00.";
    let mut rows = Vec::new();
    for (mech, mk) in sm(&S_SIGN, &P3) {
        rows.push(
            row("text-then-signed", mech, mk.name(), move || {
                let s = entity_of(&base(mech, mk));
                message(&alice(), &mixed_entity(&[text_part(TEXT), s]))
            })
            .fail()
            .err("partially-signed"),
        );
        rows.push(
            row("signed-then-text", mech, mk.name(), move || {
                let s = entity_of(&base(mech, mk));
                message(&alice(), &mixed_entity(&[s, text_part(TEXT)]))
            })
            .fail()
            .err("partially-signed"),
        );
        rows.push(
            row("text-beside-signed-rfc822", mech, mk.name(), move || {
                let m = base(mech, mk);
                message(&alice(), &mixed_entity(&[text_part(TEXT), rfc822_part(&m)]))
            })
            .fail()
            .err("partially-signed"),
        );
    }
    for (mech, mk) in sm(&S3, &P3) {
        rows.push(
            row(
                "third-part-in-multipart-signed",
                mech,
                mk.name(),
                move || add_part_to_signed(&base(mech, mk)),
            )
            .fail()
            .err("partially-signed"),
        );
        rows.push(
            row("text-then-encrypted", mech, mk.name(), move || {
                let e = entity_of(&encrypted(mech, mk, &alice()));
                message(&alice(), &mixed_entity(&[text_part(TEXT), e]))
            })
            .fail()
            .err("partially-encrypted"),
        );
        rows.push(
            row("encrypted-then-text", mech, mk.name(), move || {
                let e = entity_of(&encrypted(mech, mk, &alice()));
                message(&alice(), &mixed_entity(&[e, text_part(TEXT)]))
            })
            .fail()
            .err("partially-encrypted"),
        );
    }
    run_table("partial", rows);
}

// ---- 7. encrypt-then-sign -----------------------------------------------------------------

/// multipart/signed (or opaque) by alice around an encrypted part; with `inner_signed`, the
/// plaintext is itself signed by alice first (sign-encrypt-sign).
fn encrypt_then_sign(mech: Mech, mk: Maker, inner_signed: bool) -> Vec<u8> {
    let a = alice();
    match mk {
        Ximf => {
            let enc = if inner_signed {
                ximf_sign_encrypt(&plain_message(&a), mech, "alice")
            } else {
                ximf_encrypt(&plain_message(&a), mech)
            };
            ximf_sign(&enc, mech, "alice")
        }
        _ => {
            let pt = if inner_signed {
                peer_sign(mk, &hp_entity(&a), "alice")
            } else {
                plain_entity()
            };
            message(&a, &peer_sign(mk, &peer_encrypt(mk, &pt), "alice"))
        }
    }
}

#[test]
fn encrypt_then_sign_covers_ciphertext() {
    let mut rows = Vec::new();
    for (mech, mk) in sm(&S_SIGN, &P3) {
        rows.push(
            row("encrypt-then-sign", mech, mk.name(), move || {
                encrypt_then_sign(mech, mk, false)
            })
            .fail()
            .err("signer-mismatch")
            .warn("signature-over-ciphertext")
            .enc("decrypted")
            .enc_mech(mech.json())
            .layer(0, "covers", "ciphertext"),
        );
    }
    for (mech, mk) in sm(&[Ximf, Openssl, OpensslOpaque], &[Ximf, Gpg]) {
        rows.push(
            row("sign-encrypt-sign", mech, mk.name(), move || {
                encrypt_then_sign(mech, mk, true)
            })
            .pass()
            .warn("signature-over-ciphertext")
            .no("signer-mismatch")
            .sig("valid")
            .enc("decrypted")
            .layers(2)
            .layer(0, "covers", "ciphertext")
            .layer(1, "covers", "plaintext"),
        );
        rows.push(
            row("encrypt-then-sign-no-key", mech, mk.name(), move || {
                encrypt_then_sign(mech, mk, false)
            })
            .nokey()
            .fail()
            .err("decryption-failed")
            .enc("failed"),
        );
    }
    run_table("encrypt-then-sign", rows);
}

// ---- 8. S/MIME and OpenPGP layers mixed ---------------------------------------------------

/// Builds a mixed message; `true` breaks the inner signature.
type Layered = fn(bool) -> Vec<u8>;

#[test]
fn mixed_mechanisms() {
    let a = alice;
    let pm = || plain_message(&alice());
    let hp = || hp_entity(&alice());
    let mut rows = Vec::new();

    // S/MIME signature inside OpenPGP encryption.
    let smime_in_pgp_enc: [(&str, Layered); 4] = [
        ("ximf+ximf", |broken| {
            let s = ximf_sign(&plain_message(&alice()), Smime, "alice");
            let s = if broken { tamper(&s) } else { s };
            ximf_encrypt(&s, Pgp)
        }),
        ("openssl+gpg", |broken| {
            let s = openssl_sign(&hp_entity(&alice()), "alice", false);
            let s = if broken { tamper(&s) } else { s };
            message(&alice(), &gpg_encrypt(&s, None))
        }),
        ("openssl-opaque+sq", |_| {
            message(
                &alice(),
                &sq_encrypt(&openssl_sign(&hp_entity(&alice()), "alice", true)),
            )
        }),
        ("gpgsm+gpg", |_| {
            message(
                &alice(),
                &gpg_encrypt(&gpgsm_sign(&hp_entity(&alice()), "alice"), None),
            )
        }),
    ];
    for (i, (maker, f)) in smime_in_pgp_enc.into_iter().enumerate() {
        rows.push(
            row("smime-signed-in-pgp-encrypted", Mixed, maker, move || {
                f(false)
            })
            .pass()
            .no_errors()
            .sig("valid")
            .sig_mech("smime")
            .signer(ALICE)
            .enc("decrypted")
            .enc_mech("openpgp")
            .layers(1)
            .layer(0, "mechanism", "smime"),
        );
        if i < 2 {
            rows.push(
                row(
                    "smime-signed-in-pgp-encrypted-broken",
                    Mixed,
                    maker,
                    move || f(true),
                )
                .fail()
                .err("signature-invalid")
                .sig("invalid")
                .enc("decrypted"),
            );
        }
    }

    // OpenPGP signature inside an S/MIME signature.
    let pgp_in_smime_sig: [(&str, Layered); 4] = [
        ("ximf+ximf", |broken| {
            let s = ximf_sign(&plain_message(&alice()), Pgp, "alice");
            let s = if broken { tamper(&s) } else { s };
            ximf_sign(&s, Smime, "alice")
        }),
        ("gpg+openssl", |broken| {
            let s = gpg_sign(&hp_entity(&alice()), "alice");
            let s = if broken { tamper(&s) } else { s };
            message(&alice(), &openssl_sign(&s, "alice", false))
        }),
        ("gpg+openssl-opaque", |broken| {
            let s = gpg_sign(&hp_entity(&alice()), "alice");
            let s = if broken { tamper(&s) } else { s };
            message(&alice(), &openssl_sign(&s, "alice", true))
        }),
        ("sq+gpgsm", |_| {
            message(
                &alice(),
                &gpgsm_sign(&sq_sign(&hp_entity(&alice()), "alice"), "alice"),
            )
        }),
    ];
    for (i, (maker, f)) in pgp_in_smime_sig.into_iter().enumerate() {
        rows.push(
            row("pgp-signed-in-smime-signed", Mixed, maker, move || f(false))
                .pass()
                .no_errors()
                .sig("valid")
                .signer(ALICE)
                .layers(2)
                .layer(0, "mechanism", "smime")
                .layer(1, "mechanism", "openpgp"),
        );
        if i < 3 {
            rows.push(
                row(
                    "pgp-signed-in-smime-signed-broken",
                    Mixed,
                    maker,
                    move || f(true),
                )
                .fail()
                .err("signature-invalid")
                .sig("invalid")
                .layers(2)
                .layer(0, "status", "valid")
                .layer(1, "status", "invalid"),
            );
        }
    }

    // S/MIME signature inside an OpenPGP signature.
    let smime_in_pgp_sig: [(&str, Layered); 3] = [
        ("ximf+ximf", |broken| {
            let s = ximf_sign(&plain_message(&alice()), Smime, "alice");
            let s = if broken { tamper(&s) } else { s };
            ximf_sign(&s, Pgp, "alice")
        }),
        ("openssl+gpg", |broken| {
            let s = openssl_sign(&hp_entity(&alice()), "alice", false);
            let s = if broken { tamper(&s) } else { s };
            message(&alice(), &gpg_sign(&s, "alice"))
        }),
        ("gpgsm+sq", |_| {
            message(
                &alice(),
                &sq_sign(&gpgsm_sign(&hp_entity(&alice()), "alice"), "alice"),
            )
        }),
    ];
    for (i, (maker, f)) in smime_in_pgp_sig.into_iter().enumerate() {
        rows.push(
            row("smime-signed-in-pgp-signed", Mixed, maker, move || f(false))
                .pass()
                .no_errors()
                .sig("valid")
                .layers(2)
                .layer(0, "mechanism", "openpgp")
                .layer(1, "mechanism", "smime"),
        );
        if i < 2 {
            rows.push(
                row(
                    "smime-signed-in-pgp-signed-broken",
                    Mixed,
                    maker,
                    move || f(true),
                )
                .fail()
                .err("signature-invalid")
                .sig("invalid")
                .layer(1, "status", "invalid"),
            );
        }
    }

    // OpenPGP signature inside S/MIME encryption.
    rows.push(
        row(
            "pgp-signed-in-smime-encrypted",
            Mixed,
            "ximf+ximf",
            move || ximf_encrypt(&ximf_sign(&pm(), Pgp, "alice"), Smime),
        )
        .pass()
        .no_errors()
        .sig("valid")
        .sig_mech("openpgp")
        .enc("decrypted")
        .enc_mech("smime")
        .layers(1),
    );
    rows.push(
        row(
            "pgp-signed-in-smime-encrypted",
            Mixed,
            "gpg+openssl",
            move || message(&a(), &openssl_encrypt(&gpg_sign(&hp(), "alice"))),
        )
        .pass()
        .no_errors()
        .sig("valid")
        .sig_mech("openpgp")
        .enc("decrypted")
        .enc_mech("smime"),
    );
    rows.push(
        row(
            "pgp-signed-in-smime-encrypted",
            Mixed,
            "sq+gpgsm",
            move || message(&a(), &gpgsm_encrypt(&sq_sign(&hp(), "alice"))),
        )
        .pass()
        .sig("valid")
        .sig_mech("openpgp")
        .enc("decrypted")
        .enc_mech("smime"),
    );
    rows.push(
        row(
            "pgp-signed-in-smime-encrypted-broken",
            Mixed,
            "gpg+openssl",
            move || message(&a(), &openssl_encrypt(&tamper(&gpg_sign(&hp(), "alice")))),
        )
        .fail()
        .err("signature-invalid")
        .sig("invalid")
        .enc("decrypted"),
    );
    run_table("mixed", rows);
}

// ---- 9. inline OpenPGP --------------------------------------------------------------------

#[test]
fn inline_pgp() {
    const PS: &str = "\r\nP.S. Unsigned: wire the money to IBAN XX00.\r\n";
    fn armor(mk: Maker) -> Vec<u8> {
        match mk {
            Sq => sq_encrypt_armor(BODY.as_bytes()),
            _ => gpg_encrypt_armor(BODY.as_bytes(), None),
        }
    }
    fn clear(mk: Maker, text: &str) -> Vec<u8> {
        match mk {
            Sq => sq_clearsign(text.as_bytes(), "alice"),
            _ => gpg_clearsign(text.as_bytes(), "alice"),
        }
    }
    let mut rows = Vec::new();
    for mk in [Gpg, Sq] {
        let m = mk.name();
        rows.push(
            row("inline-encrypted", Pgp, m, move || {
                inline_message(&alice(), &armor(mk))
            })
            .pass()
            .no_errors()
            .enc("decrypted")
            .enc_mech("openpgp"),
        );
        rows.push(
            row("inline-encrypted-no-key", Pgp, m, move || {
                inline_message(&alice(), &armor(mk))
            })
            .nokey()
            .fail()
            .err("decryption-failed")
            .enc("failed")
            .enc_mech("openpgp"),
        );
        rows.push(
            row("inline-encrypted-star-in-armor", Pgp, m, move || {
                inline_message(&alice(), &star_in_armor(&armor(mk)))
            })
            .fail()
            .err("decryption-failed")
            .not_at("/encryption/status", "absent"),
        );
        rows.push(
            row("inline-encrypted-beside-text", Pgp, m, move || {
                let body = cat(&[b"Please read the block below.\r\n\r\n", &armor(mk)]);
                inline_message(&alice(), &body)
            })
            .fail()
            .err("partially-encrypted"),
        );
        rows.push(
            row("inline-clearsigned", Pgp, m, move || {
                inline_message(&alice(), &clear(mk, BODY))
            })
            .pass()
            .no_errors()
            .sig("valid")
            .sig_mech("openpgp")
            .signer(ALICE)
            .layers(1)
            .layer(0, "form", "inline"),
        );
        rows.push(
            row("inline-clearsigned-trailing-text", Pgp, m, move || {
                let body = cat(&[&clear(mk, BODY), PS.as_bytes()]);
                inline_message(&alice(), &body)
            })
            .fail()
            .err("partially-signed"),
        );
        rows.push(
            row("inline-clearsigned-trailing-fake-end", Pgp, m, move || {
                let body = cat(&[
                    &clear(mk, BODY),
                    PS.as_bytes(),
                    b"-----END PGP SIGNATURE-----\r\n",
                ]);
                inline_message(&alice(), &body)
            })
            .fail()
            .err("partially-signed"),
        );
        rows.push(
            row("inline-clearsigned-leading-text", Pgp, m, move || {
                let body = cat(&[b"Unsigned preface.\r\n\r\n", &clear(mk, BODY)]);
                inline_message(&alice(), &body)
            })
            .fail()
            .err("partially-signed"),
        );
        rows.push(
            row("inline-two-signed-blocks", Pgp, m, move || {
                let body = cat(&[
                    &clear(mk, BODY),
                    b"\r\n",
                    &clear(mk, "A second, separately signed block.\r\n"),
                ]);
                inline_message(&alice(), &body)
            })
            .fail()
            .err("partially-signed"),
        );
    }
    rows.push(
        row("inline-encrypted-and-signed", Pgp, "gpg", || {
            inline_message(&alice(), &gpg_encrypt_armor(BODY.as_bytes(), Some("alice")))
        })
        .pass()
        .no_errors()
        .enc("decrypted")
        .sig("valid")
        .signer(ALICE),
    );
    run_table("inline", rows);
}

// ---- 10. header protection ----------------------------------------------------------------

#[test]
fn header_protection() {
    let mut rows = Vec::new();
    for (mech, mk) in sm(&S_SIGN, &P3) {
        rows.push(
            row("hp-outer-subject-changed", mech, mk.name(), move || {
                replace_field(&base(mech, mk), "Subject", "Subject: Pay the invoice today")
            })
            .fail()
            .err("protected-header-mismatch"),
        );
        rows.push(
            row(
                "hp-outer-classification-changed",
                mech,
                mk.name(),
                move || {
                    let m = replace_field(
                        &base(mech, mk),
                        "X-XIMF-Security-Classification",
                        "X-XIMF-Security-Classification: example-secret",
                    );
                    replace_field(
                        &m,
                        "X-XIMF-Security-Classification-Identifier",
                        "X-XIMF-Security-Classification-Identifier: 4",
                    )
                },
            )
            .fail()
            .err("protected-header-mismatch"),
        );
        rows.push(
            row("hp-outer-subject-refolded", mech, mk.name(), move || {
                replace_field(&base(mech, mk), "Subject", "Subject: Quarterly\r\n figures")
            })
            .pass()
            .no_errors()
            .no("protected-header-mismatch"),
        );
        rows.push(
            row("hp-field-folded-into-subject", mech, mk.name(), move || {
                replace_field(
                    &base(mech, mk),
                    "Subject",
                    "Subject: Quarterly figures\r\n Content-Type: text/plain",
                )
            })
            .fail()
            .err("protected-header-mismatch")
            .no("duplicate-field"),
        );
        rows.push(
            row("refolded-content-type", mech, mk.name(), move || {
                refold(&base(mech, mk), "Content-Type")
            })
            .pass()
            .no_errors()
            .sig("valid"),
        );
        rows.push(
            row("hp-outer-ximf-field-added", mech, mk.name(), move || {
                insert_before(
                    &base(mech, mk),
                    "MIME-Version",
                    "X-XIMF-Originator-Reference: REF-1",
                )
            })
            .fail()
            .err("unprotected-header"),
        );
    }
    // Encrypted mail hides the Subject behind a placeholder: not a mismatch.
    for (mech, mk) in sm(&S3, &P3) {
        for placeholder in ["...", "[...]"] {
            let name = if placeholder == "..." {
                "hp-encrypted-subject-dots"
            } else {
                "hp-encrypted-subject-brackets"
            };
            rows.push(
                row(name, mech, mk.name(), move || {
                    let subject = format!("Subject: {placeholder}");
                    match mk {
                        Ximf => replace_field(&encrypted(mech, mk, &alice()), "Subject", &subject),
                        _ => message(
                            &alice().set("Subject", placeholder),
                            &peer_encrypt(mk, &v1_entity(&alice())),
                        ),
                    }
                })
                .pass()
                .no_err("protected-header-mismatch")
                .enc("decrypted"),
            );
        }
        rows.push(
            row(
                "hp-signed-encrypted-subject-dots",
                mech,
                mk.name(),
                move || match mk {
                    Ximf => replace_field(
                        &signed_encrypted(mech, mk, &alice()),
                        "Subject",
                        "Subject: ...",
                    ),
                    _ => message(
                        &alice().set("Subject", "..."),
                        &peer_encrypt(mk, &peer_sign(mk, &v1_entity(&alice()), "alice")),
                    ),
                },
            )
            .pass()
            .no_err("protected-header-mismatch")
            .sig("valid")
            .enc("decrypted"),
        );
    }
    // Signed without header protection: every X-XIMF field is reported unprotected.
    for (mech, mk) in sm(&[Openssl, OpensslOpaque, Gpgsm], &[Gpg, Sq]) {
        rows.push(
            row(
                "no-hp-ximf-fields-unprotected",
                mech,
                mk.name(),
                move || signed_nohp(mk, "alice", &alice()),
            )
            .pass()
            .sig("valid")
            .warn("unprotected-header")
            .no_err("unprotected-header")
            .each_ximf_unprotected(),
        );
    }
    run_table("header-protection", rows);
}

// ---- 11. broken armor ---------------------------------------------------------------------

#[test]
fn star_in_armored_ciphertext() {
    let mut rows = Vec::new();
    for mk in P3 {
        rows.push(
            row("pgp-mime-star-in-armor", Pgp, mk.name(), move || {
                star_in_armor(&encrypted(Pgp, mk, &alice()))
            })
            .fail()
            .err("decryption-failed"),
        );
    }
    rows.push(
        row(
            "pgp-mime-signed-encrypted-star-in-armor",
            Pgp,
            "ximf",
            || star_in_armor(&signed_encrypted(Pgp, Ximf, &alice())),
        )
        .fail()
        .err("decryption-failed"),
    );
    run_table("armor", rows);
}

// ---- 12. ximf decrypt ---------------------------------------------------------------------

#[test]
fn decrypt_accepts_what_verify_accepts() {
    type Build = Box<dyn Fn() -> Vec<u8>>;
    let mut rows: Vec<(String, Mech, Maker, Build)> = Vec::new();
    for (mech, mk) in sm(&S3, &P3) {
        rows.push((
            "mbox-from-line".into(),
            mech,
            mk,
            Box::new(move || mbox(&encrypted(mech, mk, &alice()))),
        ));
        rows.push((
            "below-signature".into(),
            mech,
            mk,
            Box::new(move || encrypt_then_sign(mech, mk, false)),
        ));
    }
    for (mech, mk) in sm(&[Ximf, Openssl], &[Ximf, Gpg]) {
        rows.push((
            "mbox-from-line-below-signature".into(),
            mech,
            mk,
            Box::new(move || mbox(&encrypt_then_sign(mech, mk, false))),
        ));
        rows.push((
            "below-signature-inner-signed".into(),
            mech,
            mk,
            Box::new(move || encrypt_then_sign(mech, mk, true)),
        ));
    }
    let mut failures = Vec::new();
    let mut total = 0;
    for (name, mech, mk, build) in &rows {
        for e in BOTH_EOLS {
            total += 1;
            let label = format!("{name} [{} {} {e:?}]", mech.json(), mk.name());
            let msg = eol(&build(), e);
            let o = decrypt(&msg, mech.now());
            let out = String::from_utf8_lossy(&o.stdout);
            let mut bad = Vec::new();
            if code(&o) != 0 {
                bad.push(format!(
                    "exit {} (want 0): {}",
                    code(&o),
                    String::from_utf8_lossy(&o.stderr).trim()
                ));
            }
            if !out.contains(MARK) {
                bad.push("the plaintext is not in the output".to_owned());
            }
            if out.contains("BEGIN PGP MESSAGE") || out.contains("application/pkcs7-mime") {
                bad.push("the output is still encrypted".to_owned());
            }
            if bad.is_empty() {
                eprintln!("ROW PASS decrypt: {label}");
            } else {
                eprintln!("ROW FAIL decrypt: {label}");
                failures.push(format!(
                    "{label}:\n  - {}\n  output: {out}",
                    bad.join("\n  - ")
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "decrypt: {} of {total} rows differ from the contract:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
