//! One descent through any mix of protection layers, S/MIME and OpenPGP, MIME or inline, in
//! any order, up to [`MAX_DEPTH`].
//!
//! The *spine* is the chain of layers from the top of the message down to the cryptographic
//! payload (RFC 9788 §1): each signed or encrypted entity is judged and its content becomes the
//! next node, until an unprotected entity is reached. Below the payload no part may be
//! protected: a signed or encrypted part beside unprotected ones makes the message
//! partially signed or encrypted, which is an error for both mechanisms. Forwarded messages
//! (`message/rfc822` parts) are someone else's and are not looked into.

mod streamed;

use std::cell::OnceCell;

pub use streamed::Plaintext;

use super::Keys;
use super::classify::{self, BEGIN_MESSAGE, BEGIN_SIGNED, Kind};
use super::codes;
use super::outcome::{
    EncryptionLayer, Form, Limits, Mechanism, SignatureLayer, Signer, finding, merge_signers,
};
use crate::mime::{ContentType, Entity, multipart};
use crate::report::{Finding, Severity};
use crate::{pgp, smime};

/// Why an encrypted PGP/MIME part was not opened when its transfer encoding does not decode.
const NOT_DECODED: &str = "the encrypted part does not decode";

/// At most this many protection layers and MIME levels are followed; deeper is an error.
pub const MAX_DEPTH: usize = 8;

/// One layer of the spine, outermost first.
#[derive(Debug, Clone)]
pub enum Layer {
    /// A signed structure.
    Signature(Box<SignatureLayer>),
    /// An encrypted structure.
    Encryption(EncryptionLayer),
}

/// The signature layers of `layers`, outermost first.
pub fn signatures(layers: &[Layer]) -> impl Iterator<Item = &SignatureLayer> {
    layers.iter().filter_map(|l| match l {
        Layer::Signature(s) => Some(&**s),
        Layer::Encryption(_) => None,
    })
}

/// The encryption layers of `layers`, outermost first.
pub fn encryptions(layers: &[Layer]) -> impl Iterator<Item = &EncryptionLayer> {
    layers.iter().filter_map(|l| match l {
        Layer::Encryption(e) => Some(e),
        Layer::Signature(_) => None,
    })
}

/// Fields RFC 5322 / RFC 2045 allow once whose repetition is an error in any header section
/// the engine reads: the engine would otherwise have to choose between them (design.md §8).
const ONCE_STRICT: [&str; 3] = ["Content-Type", "MIME-Version", "From"];
/// Fields RFC 5322 allows once whose repetition is a warning (an error when they are
/// protected and the copies differ, decided by the header-protection check).
const ONCE: [&str; 6] = ["Sender", "To", "Cc", "Subject", "Date", "Message-ID"];

/// A field repeated in a header section.
#[derive(Debug, Clone)]
pub struct Duplicate {
    /// The field name.
    pub name: &'static str,
    /// True when the copies differ once unfolded.
    pub differ: bool,
}

/// What the walk learned.
pub struct Walk<'k> {
    keys: &'k Keys,
    now: i64,
    limits: Limits,
    /// MIME parts split out so far (bounded by `limits.max_parts`).
    parts: usize,
    trust: OnceCell<smime::Trust>,
    keep_plaintext: bool,
    /// The layers, outermost first.
    pub layers: Vec<Layer>,
    /// Structural and per-signature findings, in walk order.
    pub findings: Vec<Finding>,
    /// The header section of the cryptographic payload root (owned: the payload may live in
    /// a decrypted buffer), when at least one layer was opened.
    pub payload_header: Option<Vec<u8>>,
    /// True when the payload was an RFC 8551 §3.1 `message/rfc822` wrapper.
    pub wrapped: bool,
    /// How many layers (from the outermost) cover the protected header: those above the
    /// payload root, or above the wrapper. Only their signers can vouch for its From.
    pub header_layers: usize,
    /// The plaintext of the outermost encryption layer (only when asked for: `decrypt`).
    pub plaintext: Option<Plaintext>,
    /// The content the outermost detached signature covers (only when asked for).
    pub signed_content: Option<Vec<u8>>,
    /// Repeated once-only fields of the outer header and the payload header.
    pub duplicates: Vec<Duplicate>,
    /// Why a key agent could not open an encryption layer (unreachable, refused, no such
    /// key): the class of the caller's failure when nothing opened it.
    pub key_failure: Option<crate::Error>,
}

impl<'k> Walk<'k> {
    /// A walk with `keys` at time `now`; `keep_plaintext` keeps the first decrypted plaintext.
    pub fn new(keys: &'k Keys, now: i64, limits: Limits, keep_plaintext: bool) -> Self {
        Walk {
            keys,
            now,
            limits,
            parts: 0,
            trust: OnceCell::new(),
            keep_plaintext,
            layers: Vec::new(),
            findings: Vec::new(),
            payload_header: None,
            wrapped: false,
            header_layers: 0,
            plaintext: None,
            signed_content: None,
            duplicates: Vec::new(),
            key_failure: None,
        }
    }

    fn trust(&self) -> &smime::Trust {
        self.trust
            .get_or_init(|| smime::Trust::new(self.keys, self.now))
    }

    fn error(&mut self, code: &'static str, message: impl Into<String>) {
        self.findings.push(finding(code, Severity::Error, message));
    }

    /// Walks the message whose top entity is `top`.
    ///
    /// The header-field bound of the MIME reader is checked on every entity read.
    pub fn message(&mut self, top: &Entity<'_>) {
        self.strict_fields(top);
        self.record_duplicates(top);
        self.spine(top, 0);
    }

    /// Two Content-Type, MIME-Version or From fields in one header section: an error, never a
    /// choice between them (design.md §8).
    fn strict_fields(&mut self, ent: &Entity<'_>) {
        let head = ent.header();
        let bare_cr = head
            .iter()
            .enumerate()
            .any(|(i, &b)| b == b'\r' && head.get(i + 1) != Some(&b'\n'));
        if bare_cr {
            self.error(
                codes::STRUCTURE_MALFORMED,
                "a bare CR in a header section: readers disagree where its fields end",
            );
        }
        if ent.truncated {
            self.error(
                codes::LIMIT_EXCEEDED,
                format!(
                    "a header section with more than {} fields or {} bytes",
                    crate::mime::MAX_FIELDS,
                    crate::mime::MAX_HEADER_BYTES
                ),
            );
        }
        for name in ONCE_STRICT {
            let n = ent.count(name);
            if n > 1 {
                self.findings.push(Finding {
                    code: codes::DUPLICATE_FIELD,
                    severity: Severity::Error,
                    header: Some(name.to_owned()),
                    message: format!(
                        "{n} {name} fields in one header section: which one counts is ambiguous"
                    ),
                });
            }
        }
    }

    /// Repeated once-only fields, judged once header protection is known.
    fn record_duplicates(&mut self, ent: &Entity<'_>) {
        for name in ONCE {
            let values: Vec<String> = ent.all(name).map(|f| ent.text(f)).collect();
            if values.len() > 1 {
                let differ = values.iter().any(|v| *v != values[0]);
                self.duplicates.push(Duplicate { name, differ });
            }
        }
    }

    fn spine(&mut self, ent: &Entity<'_>, depth: usize) {
        if depth > MAX_DEPTH {
            self.error(
                codes::NESTING_TOO_DEEP,
                format!("more than {MAX_DEPTH} nested protection layers"),
            );
            return;
        }
        let ct = ent.content_type();
        let text = ct
            .mime
            .starts_with("text/")
            .then(|| ent.decoded_body())
            .flatten();
        let kind = classify::classify(ent, &ct, text.as_deref());
        self.check_content_type(ent, &kind);
        match kind {
            Kind::Signed(mech) => self.detached(ent, &ct, mech, depth),
            Kind::SignedUnknown(p) => self.error(
                codes::STRUCTURE_MALFORMED,
                format!("multipart/signed with the unknown protocol {p:?}"),
            ),
            Kind::PgpEncrypted => self.pgp_encrypted(ent, &ct, depth),
            Kind::EncryptedUnknown(p) => self.error(
                codes::STRUCTURE_MALFORMED,
                format!("multipart/encrypted with the unknown protocol {p:?}"),
            ),
            Kind::Cms => self.cms(ent, depth),
            Kind::InlineSigned | Kind::InlineEncrypted => {
                let text = text.map(|t| t.into_owned()).unwrap_or_default();
                // Inline PGP covers the body text only: there is no protected header.
                self.inline(&text, depth);
            }
            Kind::Wrapped if !self.layers.is_empty() && !self.wrapped => {
                // RFC 8551 §3.1: a protected message/rfc822 carries the protected header.
                self.wrapped = true;
                match Entity::message(ent.body()) {
                    Ok(inner) => {
                        self.strict_fields(&inner);
                        // The wrapped message's header is the protected header; layers inside
                        // it (an old message re-signed) do not cover it.
                        self.payload_header = Some(inner.header().to_vec());
                        self.header_layers = self.layers.len();
                        self.record_duplicates(&inner);
                        self.spine(&inner, depth + 1);
                    }
                    Err(e) => self.error(
                        codes::STRUCTURE_MALFORMED,
                        format!("the wrapped message cannot be read: {e}"),
                    ),
                }
            }
            _ => {
                self.payload(ent);
                self.below_payload(ent, &ct, depth);
            }
        }
    }

    /// A Content-Type that different readers parse differently (comments, a parameter given
    /// twice) on anything but a plain leaf: the structure a mail client shows could differ from
    /// the one verified — an error, never a choice. A comment inside the type itself
    /// (`multipart/(x)signed`) is refused on any entity.
    fn check_content_type(&mut self, ent: &Entity<'_>, kind: &Kind) {
        let Some(f) = ent.first("Content-Type") else {
            return;
        };
        let raw = ent.raw_value(f);
        let Some(why) = ContentType::ambiguity(raw) else {
            return;
        };
        let in_type = raw
            .split(|&b| b == b';')
            .next()
            .is_some_and(|t| t.contains(&b'('));
        if *kind != Kind::Plain || in_type {
            self.error(
                codes::STRUCTURE_MALFORMED,
                format!("{why}: mail clients may read another structure than the one checked"),
            );
        }
    }

    /// Records the payload root (the first unprotected entity under the layers).
    fn payload(&mut self, ent: &Entity<'_>) {
        if !self.layers.is_empty() && self.payload_header.is_none() {
            self.payload_header = Some(ent.header().to_vec());
            self.header_layers = self.layers.len();
            // Its strict fields were checked on the way down.
            self.record_duplicates(ent);
        }
    }

    /// The parts of the payload multipart. When no layer covers the payload (an unprotected
    /// message), none of its parts may be protected: a signed or encrypted part — bare, or as
    /// a whole enclosed message/rfc822 — beside unprotected content would let a reader take
    /// the unprotected text for signed. Under a layer, nested parts are covered by it.
    fn below_payload(&mut self, ent: &Entity<'_>, ct: &ContentType, depth: usize) {
        if !ct.mime.starts_with("multipart/") {
            return;
        }
        if depth > MAX_DEPTH {
            self.error(
                codes::NESTING_TOO_DEEP,
                format!("more than {MAX_DEPTH} nested MIME levels"),
            );
            return;
        }
        let Some(mp) = self.split(ent, ct) else {
            return;
        };
        if !self.layers.is_empty() {
            return;
        }
        for range in mp.parts {
            let part = Entity::part(&ent.body()[range]);
            self.strict_fields(&part);
            let pct = part.content_type();
            let mut kind = self.protection_of(&part, &pct);
            self.check_content_type(&part, &kind);
            if kind == Kind::Wrapped
                && let Ok(inner) = Entity::message(part.body())
            {
                let ict = inner.content_type();
                kind = self.protection_of(&inner, &ict);
            }
            match kind {
                Kind::Signed(_) | Kind::SignedUnknown(_) | Kind::InlineSigned => self.error(
                    codes::PARTIALLY_SIGNED,
                    "a signed part stands beside unsigned content: the message is not signed as a whole",
                ),
                Kind::PgpEncrypted | Kind::EncryptedUnknown(_) | Kind::InlineEncrypted => self.error(
                    codes::PARTIALLY_ENCRYPTED,
                    "an encrypted part stands beside unencrypted content",
                ),
                Kind::Multipart => self.below_payload(&part, &pct, depth + 1),
                Kind::Cms | Kind::Wrapped | Kind::Plain => {}
            }
        }
    }

    /// The kind of a part as far as protection goes; an S/MIME body is classified by its CMS
    /// content type (signed or enveloped), an unreadable one is left alone.
    fn protection_of(&self, part: &Entity<'_>, ct: &ContentType) -> Kind {
        let text = ct
            .mime
            .starts_with("text/")
            .then(|| part.decoded_body())
            .flatten();
        match classify::classify(part, ct, text.as_deref()) {
            Kind::Cms => match cms_bytes(part)
                .and_then(|d| smime::read_cms(&d))
                .map(|ci| smime::cms_kind(&ci))
            {
                Some(smime::CmsKind::Signed) => Kind::Signed(Mechanism::Smime),
                Some(smime::CmsKind::Enveloped) => {
                    Kind::EncryptedUnknown("application/pkcs7-mime".into())
                }
                _ => Kind::Plain,
            },
            k => k,
        }
    }

    /// Splits a multipart; a missing boundary, no delimiter or no close delimiter is an error.
    fn split(&mut self, ent: &Entity<'_>, ct: &ContentType) -> Option<multipart::Multipart> {
        let Some(boundary) = ct.param("boundary") else {
            self.error(
                codes::STRUCTURE_MALFORMED,
                format!("{} without a boundary", ct.mime),
            );
            return None;
        };
        let Ok(mp) = multipart::split(ent.body(), boundary) else {
            self.error(
                codes::STRUCTURE_MALFORMED,
                format!("{} with an invalid boundary", ct.mime),
            );
            return None;
        };
        if mp.parts.is_empty() {
            self.error(
                codes::STRUCTURE_MALFORMED,
                format!("{} without any delimiter", ct.mime),
            );
            return None;
        }
        self.parts += mp.parts.len();
        if self.parts > self.limits.max_parts {
            self.error(
                codes::LIMIT_EXCEEDED,
                format!("more than {} MIME parts", self.limits.max_parts),
            );
            return None;
        }
        if !mp.closed {
            self.error(
                codes::STRUCTURE_MALFORMED,
                format!("{} without its close delimiter", ct.mime),
            );
        }
        Some(mp)
    }

    fn push_signature(&mut self, mechanism: Mechanism, form: Form, signers: Vec<Signer>) -> usize {
        let (signer, count) = merge_signers(signers).unwrap_or_else(|| {
            (
                Signer::broken(codes::SIGNATURE_INVALID, "no signature found"),
                0,
            )
        });
        self.layers.push(Layer::Signature(Box::new(SignatureLayer {
            mechanism,
            form,
            covers_plaintext: true,
            signer,
            count,
        })));
        self.layers.len() - 1
    }

    /// After descending below signature layer `i`: an encryption layer right under it means
    /// the signature was made over ciphertext (encrypt-then-sign, RFC 8551 §3.7).
    fn settle_coverage(&mut self, i: usize) {
        let over_cipher = matches!(self.layers.get(i + 1), Some(Layer::Encryption(_)));
        if let Some(Layer::Signature(s)) = self.layers.get_mut(i) {
            s.covers_plaintext = !over_cipher;
        }
    }

    /// RFC 1847 `multipart/signed`: exactly two parts, content then signature.
    fn detached(&mut self, ent: &Entity<'_>, ct: &ContentType, mech: Mechanism, depth: usize) {
        let Some(mp) = self.split(ent, ct) else {
            self.push_signature(
                mech,
                Form::Detached,
                vec![Signer::broken(
                    codes::SIGNATURE_INVALID,
                    "multipart/signed that cannot be split",
                )],
            );
            return;
        };
        let body = ent.body();
        let sig_part = mp.parts.get(1).map(|r| Entity::part(&body[r.clone()]));
        let expected = match mech {
            Mechanism::Smime => [
                "application/pkcs7-signature",
                "application/x-pkcs7-signature",
            ],
            Mechanism::OpenPgp => ["application/pgp-signature", "application/pgp-signature"],
        };
        let sig_part = sig_part.filter(|p| expected.contains(&p.content_type().mime.as_str()));
        let (Some(content), Some(sig_part)) = (mp.parts.first(), sig_part) else {
            self.push_signature(
                mech,
                Form::Detached,
                vec![Signer::broken(
                    codes::SIGNATURE_REMOVED,
                    format!("multipart/signed without its {} part", expected[0]),
                )],
            );
            return;
        };
        if mp.parts.len() > 2 {
            // RFC 1847 §2.1 allows exactly two parts: a third is never signed.
            self.push_signature(
                mech,
                Form::Detached,
                vec![Signer::broken(
                    codes::PARTIALLY_SIGNED,
                    format!(
                        "multipart/signed with {} parts: only the first would be signed",
                        mp.parts.len()
                    ),
                )],
            );
            return;
        }
        self.strict_fields(&sig_part);
        let content = &body[content.clone()];
        if self.keep_plaintext && self.signed_content.is_none() {
            self.signed_content = Some(content.to_vec());
        }
        let sig = match mech {
            Mechanism::Smime => cms_bytes(&sig_part),
            Mechanism::OpenPgp => sig_part.decoded_body().map(|b| b.into_owned()),
        };
        let signers = match sig {
            None => vec![Signer::broken(
                codes::SIGNATURE_INVALID,
                "the signature part does not decode",
            )],
            Some(sig) => match mech {
                Mechanism::Smime => smime::verify_detached(self.trust(), content, &sig),
                Mechanism::OpenPgp => {
                    pgp::verify_detached(content, &sig, &self.keys.pgp_keyring, self.now)
                }
            },
        };
        let i = self.push_signature(mech, Form::Detached, signers);
        self.check_micalg(ct, i);
        let child = Entity::part(content);
        self.strict_fields(&child);
        self.spine(&child, depth + 1);
        self.settle_coverage(i);
    }

    /// `micalg` is informative: the digest is always taken from the signature; a contradiction
    /// is worth a warning, the same for both mechanisms.
    fn check_micalg(&mut self, ct: &ContentType, i: usize) {
        let Some(Layer::Signature(layer)) = self.layers.get(i) else {
            return;
        };
        let (Some(micalg), Some(digest)) = (ct.param("micalg"), layer.signer.digest.as_deref())
        else {
            return;
        };
        let norm = |s: &str| {
            s.to_ascii_lowercase()
                .trim_start_matches("pgp-")
                .replace('-', "")
        };
        if norm(micalg) != norm(digest) {
            let msg = format!("micalg says {micalg} but the signature uses {digest}");
            self.findings
                .push(finding(codes::MICALG_MISMATCH, Severity::Warning, msg));
        }
    }

    /// `application/pkcs7-mime`: what it is comes from the CMS content type.
    fn cms(&mut self, ent: &Entity<'_>, depth: usize) {
        match crate::stream::Body::of(ent.body()) {
            Some(body) => {
                let Some(sink) = streamed::Sink::spool(&body) else {
                    return;
                };
                self.cms_open(streamed::cms_reader(ent, &body), sink, depth)
            }
            None => match cms_bytes(ent) {
                Some(der) => self.cms_open(
                    Ok(Box::new(std::io::Cursor::new(der))),
                    streamed::Sink::Memory(Vec::new()),
                    depth,
                ),
                None => self.error(
                    codes::CMS_MALFORMED,
                    "application/pkcs7-mime body is not CMS",
                ),
            },
        }
    }

    fn failed(&mut self, mechanism: Mechanism, why: String) {
        self.layers.push(Layer::Encryption(EncryptionLayer {
            mechanism,
            decrypted: false,
            cipher: None,
        }));
        self.error(codes::DECRYPTION_FAILED, why);
    }

    /// An opened encryption layer: record it (and the signatures of a combined OpenPGP
    /// message), then walk the plaintext.
    fn decrypted(
        &mut self,
        mechanism: Mechanism,
        cipher: String,
        plain: Plaintext,
        signers: Vec<Signer>,
        depth: usize,
    ) {
        self.layers.push(Layer::Encryption(EncryptionLayer {
            mechanism,
            decrypted: true,
            cipher: Some(cipher),
        }));
        if !signers.is_empty() {
            // RFC 3156 §6.2: signed and encrypted in one OpenPGP message; the signature
            // covers the plaintext.
            self.push_signature(mechanism, Form::Combined, signers);
        }
        self.content(&plain, depth);
        if self.keep_plaintext && self.plaintext.is_none() {
            self.plaintext = Some(plain);
        }
    }

    /// The content of a layer: the entity it holds, one level down.
    fn content(&mut self, plain: &Plaintext, depth: usize) {
        let walk = |w: &mut Self, bytes: &[u8]| {
            let child = Entity::part(bytes);
            w.strict_fields(&child);
            w.spine(&child, depth + 1);
        };
        match plain {
            Plaintext::Whole(bytes) => walk(self, bytes),
            Plaintext::Spooled(nested) => {
                // A read error of the spool is handed on: no verdict then.
                let _ = nested.judge(|bytes| walk(self, bytes));
            }
        }
    }

    /// RFC 3156 §4: `application/pgp-encrypted` (Version: 1) then the armored message.
    fn pgp_encrypted(&mut self, ent: &Entity<'_>, ct: &ContentType, depth: usize) {
        let Some(mp) = self.split(ent, ct) else {
            return self.failed(
                Mechanism::OpenPgp,
                "multipart/encrypted that cannot be split".into(),
            );
        };
        let body = ent.body();
        let control = mp.parts.first().map(|r| Entity::part(&body[r.clone()]));
        let data = mp.parts.get(1).map(|r| Entity::part(&body[r.clone()]));
        let control_ok =
            control.is_some_and(|c| c.content_type().mime == "application/pgp-encrypted");
        let (true, Some(data)) = (control_ok, data) else {
            return self.failed(
                Mechanism::OpenPgp,
                "multipart/encrypted without its application/pgp-encrypted and data parts".into(),
            );
        };
        if mp.parts.len() > 2 {
            self.error(
                codes::PARTIALLY_ENCRYPTED,
                format!(
                    "multipart/encrypted with {} parts: only the second is encrypted",
                    mp.parts.len()
                ),
            );
        }
        if let Some(body) = crate::stream::Body::of(data.body()) {
            return self.pgp_streamed(&data, &body, depth);
        }
        let Some(armored) = data.decoded_body() else {
            return self.failed(Mechanism::OpenPgp, NOT_DECODED.into());
        };
        self.pgp_open(&mut &armored[..], streamed::Sink::Memory(Vec::new()), depth);
    }

    /// An OpenPGP message that is signed (or a bare literal) but not encrypted: its signatures
    /// make an opaque signature layer over its content, as S/MIME signed-data does.
    fn unencrypted(&mut self, signers: Vec<Signer>, content: Plaintext, depth: usize) {
        if signers.is_empty() {
            return;
        }
        let i = self.push_signature(Mechanism::OpenPgp, Form::Opaque, signers);
        if let (true, None, Plaintext::Whole(c)) =
            (self.keep_plaintext, &self.signed_content, &content)
        {
            self.signed_content = Some(c.clone());
        }
        self.content(&content, depth);
        self.settle_coverage(i);
    }

    /// Decrypts with the TSKs, then the keys gpg-agent holds; an agent failure is kept in
    /// `key_failure` for the exit status.
    fn pgp_decrypt(&mut self, data: &[u8]) -> std::result::Result<pgp::Opened, String> {
        pgp::open_with(
            data,
            &self.keys.pgp_secret,
            self.keys.pgp_agent_keys(),
            &self.keys.pgp_keyring,
            self.now,
            self.limits.max_output,
        )
        .map_err(|f| {
            if let Some(e) = f.agent {
                self.key_failure.get_or_insert(e);
            }
            f.message
        })
    }

    /// Inline OpenPGP in a text body: exactly one block, from its BEGIN line to its own END
    /// line; any other text, or a second block, is outside the protection.
    fn inline(&mut self, text: &[u8], depth: usize) {
        let signed = classify::find_exact_line(text, BEGIN_SIGNED, 0);
        let encrypted = classify::find_exact_line(text, BEGIN_MESSAGE, 0);
        let (start, is_signed) = match (signed, encrypted) {
            (Some(s), Some(e)) if e < s => (e, false),
            (Some(s), _) => (s, true),
            (None, Some(e)) => (e, false),
            (None, None)
                if !classify::starts_line(text, BEGIN_SIGNED)
                    && !classify::starts_line(text, BEGIN_MESSAGE) =>
            {
                return;
            }
            (None, None) => {
                // Classified as inline by a line that starts with a marker but carries more.
                self.error(
                    codes::STRUCTURE_MALFORMED,
                    "an inline PGP armor line carries text after its marker",
                );
                return;
            }
        };
        let end_line: &[u8] = if is_signed {
            b"-----END PGP SIGNATURE-----"
        } else {
            b"-----END PGP MESSAGE-----"
        };
        let block_end = if is_signed {
            // The signature armor begins at the first BEGIN PGP SIGNATURE line after the
            // cleartext; its END is the first END line after that.
            classify::find_exact_line(text, b"-----BEGIN PGP SIGNATURE-----", start)
                .and_then(|s| classify::find_exact_line(text, end_line, s))
        } else {
            classify::find_exact_line(text, end_line, start)
        };
        let Some(end) = block_end.map(|e| line_end(text, e)) else {
            if is_signed {
                self.push_signature(
                    Mechanism::OpenPgp,
                    Form::Inline,
                    vec![Signer::broken(
                        codes::SIGNATURE_INVALID,
                        "inline PGP signed text without its signature",
                    )],
                );
            } else {
                self.failed(
                    Mechanism::OpenPgp,
                    "inline PGP message without its END line".into(),
                );
            }
            return;
        };
        let outside = |b: &[u8]| !b.iter().all(u8::is_ascii_whitespace);
        // RFC 4880 §7: the cleartext's armor header holds `Hash:` lines only; anything else
        // there (a `Comment:` a client shows above the text) is signed by nobody.
        let header_text = is_signed && {
            let mut pos = line_end(text, start);
            let mut extra = false;
            while pos < text.len() {
                let end = line_end(text, pos);
                let line = crate::mime::trim_eol(&text[pos..end]);
                if line.is_empty() {
                    break;
                }
                extra |= !line.starts_with(b"Hash:");
                pos = end;
            }
            extra
        };
        if outside(&text[..start]) || outside(&text[end..]) || header_text {
            let (code, what) = if is_signed {
                (codes::PARTIALLY_SIGNED, "signed")
            } else {
                (codes::PARTIALLY_ENCRYPTED, "encrypted")
            };
            self.error(
                code,
                format!("text outside the inline PGP {what} block is not {what}"),
            );
        }
        let block = &text[start..end];
        if is_signed {
            self.findings.push(finding(
                codes::INLINE_PGP,
                Severity::Warning,
                "inline PGP: the signature covers the body text only, no header field",
            ));
            let signers = match pgp::verify_inline(
                block,
                &self.keys.pgp_keyring,
                self.now,
                self.limits.max_output,
            ) {
                Ok((signers, content)) => {
                    if self.keep_plaintext && self.signed_content.is_none() {
                        self.signed_content = Some(content);
                    }
                    signers
                }
                Err(why) => vec![Signer::broken(codes::SIGNATURE_INVALID, why)],
            };
            self.push_signature(Mechanism::OpenPgp, Form::Inline, signers);
        } else {
            match self.pgp_decrypt(block) {
                Ok(o) if o.cipher.is_none() => {
                    // An armored OpenPGP message that is only signed (`gpg --sign --armor`):
                    // an opaque signature over the text it holds.
                    if !o.signers.is_empty() {
                        if self.keep_plaintext && self.signed_content.is_none() {
                            self.signed_content = Some(o.plaintext.clone());
                        }
                        self.push_signature(Mechanism::OpenPgp, Form::Opaque, o.signers);
                    }
                }
                Ok(o) => {
                    self.layers.push(Layer::Encryption(EncryptionLayer {
                        mechanism: Mechanism::OpenPgp,
                        decrypted: true,
                        cipher: o.cipher,
                    }));
                    if !o.signers.is_empty() {
                        self.push_signature(Mechanism::OpenPgp, Form::Combined, o.signers);
                    }
                    if self.keep_plaintext && self.plaintext.is_none() {
                        self.plaintext = Some(Plaintext::Whole(o.plaintext.clone()));
                    }
                    // The plaintext of an inline message is text again (possibly signed).
                    if depth < MAX_DEPTH {
                        self.inline(&o.plaintext, depth + 1);
                    }
                }
                Err(why) => self.failed(Mechanism::OpenPgp, why),
            }
        }
    }
}

/// The DER of an S/MIME body: as the transfer encoding says, and base64 when a part that
/// declares no encoding is not DER (many agents omit the field; DER starts with a SEQUENCE).
/// A body left in the source (a large message) is read from there, whole: only the spine's
/// layers are opened as they are read ([`Walk::cms_streamed`]).
fn cms_bytes(ent: &Entity<'_>) -> Option<Vec<u8>> {
    if let Some(body) = crate::stream::Body::of(ent.body()) {
        return streamed::read_cms_body(ent, &body);
    }
    match ent.decoded_body() {
        Some(d) if d.first() == Some(&0x30) => Some(d.into_owned()),
        _ => crate::mime::transfer::base64_decode(ent.body()),
    }
}

/// The offset just past the line that starts at `at`.
fn line_end(text: &[u8], at: usize) -> usize {
    memchr::memchr(b'\n', &text[at..]).map_or(text.len(), |i| at + i + 1)
}
