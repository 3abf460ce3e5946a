//! Protection as a whole: which mechanism (S/MIME or OpenPGP), which keys, and what the
//! correspondence type demands. [`protect`] signs and/or encrypts; verification and
//! decryption are the secure-message engine's ([`crate::secure`], re-exported here).

mod demands;

pub use crate::secure::lookup::Lookup;
pub use crate::secure::{Keys, Mechanism, decrypt, is_openpgp, verify};
pub use demands::Demands;

use crate::error::{Error, Result};
use crate::message::Message;
use crate::stream::{Content, Whole};
use crate::{pgp, smime};

/// What to protect and how: the message (with `X-XIMF-Correspondance-Type` added when the type
/// was selected by usage and the message named none, so the signature covers it) and the
/// demands of the type, of the instance's secureHeaders/securityLabel rules and of the flags.
///
/// `selected` is the type `--usage` selected; without it the type the message names applies.
/// A selected type that contradicts the named one, a named type the model lacks, a message
/// breaking the type's header-level rules, or a flag the type forbids: [`Error::Config`] (78).
pub fn plan(
    message: Message,
    instance: Option<&crate::profile::Instance>,
    model: &crate::policy::Model,
    selected: Option<&crate::policy::CorrespondenceType>,
    flags: (bool, bool, Option<Mechanism>),
) -> Result<(Message, Demands)> {
    use crate::policy::{TYPE_FIELD, enforce};
    let mut message = message;
    let named = enforce::named_type(&message);
    let chosen = match (selected, named.as_deref()) {
        (Some(s), Some(n)) if !s.name.eq_ignore_ascii_case(n) => {
            return Err(Error::Config(format!(
                "the message is stamped as correspondence '{n}' but usage '{}' selects '{}'",
                s.usage, s.name
            )));
        }
        (Some(s), None) => {
            let add = [(TYPE_FIELD.to_owned(), s.name.clone())];
            message = message.edited(&|_| false, &add, crate::message::Placement::End)?;
            Some(s)
        }
        (Some(s), Some(_)) => Some(s),
        (None, Some(n)) => Some(model.get(n).ok_or_else(|| {
            Error::Config(format!("correspondence type '{n}' is not in the profile"))
        })?),
        (None, None) => None,
    };
    let mut demands = match chosen {
        Some(t) => Demands::from_type(t, "mua"),
        None => Demands::default(),
    };
    if let Some(i) = instance {
        demands.add_instance_rules(i, &message)?;
        if let Some(t) = chosen {
            enforce::refuse(t, model, i, &message, "mua")?;
            if t.label_from.is_some() && demands.label.is_none() {
                demands.add_label_from_headers(&message);
            }
        }
    }
    demands.add_flags(flags.0, flags.1, flags.2)?;
    Ok((message, demands))
}

/// Signs and/or encrypts `message` as `demands` say, with `keys`. Nothing demanded: the message
/// comes back unchanged. See [`protect_to`].
pub fn protect(message: &Message, demands: &Demands, keys: &Keys, now: i64) -> Result<Vec<u8>> {
    protect_to(message, demands, keys, now, &[])
}

/// [`protect`] for a message also sent to the `envelope` recipients (`ximf sendmail`'s
/// arguments). Every part is brought to 7 bit before signing, for both mechanisms; Bcc never
/// enters the protected header copies or HP-Outer. Encryption needs a recipient certificate
/// for every recipient — To, Cc, Bcc and `envelope` —: any without one is [`Error::NoKey`]
/// (67) naming each such address, and nothing is produced.
pub fn protect_to(
    message: &Message,
    demands: &Demands,
    keys: &Keys,
    now: i64,
    envelope: &[String],
) -> Result<Vec<u8>> {
    protect_with(message, demands, keys, now, envelope, None)
}

/// [`protect_to`], and when encrypting, the recipients' certificates `lookup` finds by address
/// join `keys` first ([`Lookup::complete`]): of the mechanisms the demands allow and, when
/// signing, those a signing key serves. A recipient found so is a recipient certificate like
/// any other, so every recipient still needs one; an address the lookup cannot resolve (none,
/// several, only expired or revoked ones) is [`Error::NoKey`] (67) naming it.
pub fn protect_with(
    message: &Message,
    demands: &Demands,
    keys: &Keys,
    now: i64,
    envelope: &[String],
    lookup: Option<&Lookup>,
) -> Result<Vec<u8>> {
    protect_content(message, demands, keys, now, (envelope, lookup), &Whole)
}

/// [`protect_with`] of a message whose content `content` reads: for a large message
/// ([`crate::stream::Splice`]) its bodies stand as holes in `message`, and the output holds
/// them (and the ciphertext) as holes too, for [`crate::stream::Splice::write`] to fill in.
/// The same demands, keys and checks as for any message.
pub fn protect_content(
    message: &Message,
    demands: &Demands,
    keys: &Keys,
    now: i64,
    (envelope, lookup): (&[String], Option<&Lookup>),
    content: &dyn Content,
) -> Result<Vec<u8>> {
    if !demands.sign && !demands.encrypt {
        return Ok(message.bytes().to_vec());
    }
    let from = crate::policy::enforce::mailboxes(&message.value("From").unwrap_or_default());
    let to = crate::policy::enforce::Recipients::of(message, envelope).addresses;
    let completed;
    let keys = match lookup {
        Some(l) if demands.encrypt => {
            completed = l.complete(keys, &to, &lookup_kinds(demands, keys), now)?;
            &completed
        }
        _ => keys,
    };
    let no_recipient_keys = keys.smime_recipients.is_empty() && keys.pgp_recipients.is_empty();
    let mechanism = demands.mechanism_for(keys).map_err(|e| match e {
        // No mechanism has any recipient certificate: every recipient lacks one.
        Error::NoKey(_) if demands.encrypt && no_recipient_keys && !to.is_empty() => {
            Error::NoKey(format!(
                "recipients {} (no recipient certificate given: --recipient)",
                to.join(", ")
            ))
        }
        e => e,
    })?;
    let who = Parties {
        from: &from,
        to: &to,
    };
    if demands.encrypt {
        every_recipient_has_a_key(mechanism, who.to, keys, now)?;
    }
    match mechanism {
        Mechanism::Smime => protect_smime(message, demands, keys, (now, who), content),
        Mechanism::OpenPgp => protect_pgp(message, demands, keys, (now, who), content),
    }
}

/// The kinds of certificate worth looking up: the mechanisms allowed and, when signing, those a
/// signing key serves (the others cannot be chosen); every allowed one when none does, so the
/// missing signer is what protection reports.
fn lookup_kinds(demands: &Demands, keys: &Keys) -> Vec<Mechanism> {
    let allowed = if demands.mechanisms.is_empty() {
        vec![Mechanism::Smime, Mechanism::OpenPgp]
    } else {
        demands.mechanisms.clone()
    };
    let signable: Vec<Mechanism> = (allowed.iter().copied())
        .filter(|m| match m {
            Mechanism::Smime => keys.has_smime(true, false),
            Mechanism::OpenPgp => keys.has_pgp(true, false),
        })
        .collect();
    if demands.sign && !signable.is_empty() {
        signable
    } else {
        allowed
    }
}

/// `--encrypt` never silently leaves out a recipient (design.md §8): every address of `to` must
/// be among the addresses the recipient certificates of `mechanism` name; otherwise one error
/// names each. With no recipient address and no certificate there is nobody to encrypt to.
fn every_recipient_has_a_key(
    mechanism: Mechanism,
    to: &[String],
    keys: &Keys,
    now: i64,
) -> Result<()> {
    let (name, named, none) = match mechanism {
        Mechanism::Smime => (
            "S/MIME",
            smime::recipient_addresses(&keys.smime_recipients)?,
            keys.smime_recipients.is_empty(),
        ),
        Mechanism::OpenPgp => (
            "OpenPGP",
            pgp::recipient_addresses(&keys.pgp_recipients, now),
            keys.pgp_recipients.is_empty(),
        ),
    };
    if none && to.is_empty() {
        return Err(Error::NoKey(format!(
            "{name} recipients (give --recipient certificates)"
        )));
    }
    let missing: Vec<&str> = to
        .iter()
        .filter(|a| !named.iter().any(|n| n.eq_ignore_ascii_case(a)))
        .map(String::as_str)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::NoKey(format!(
        "{name} recipients {} (no --recipient certificate names {})",
        missing.join(", "),
        if missing.len() == 1 { "it" } else { "them" }
    )))
}

/// The author's addresses and every recipient's.
#[derive(Clone, Copy)]
struct Parties<'a> {
    from: &'a [String],
    to: &'a [String],
}

/// The message as the mechanisms take it, and the convention their output goes back to: for a
/// large message whose bodies must be re-encoded as they are read ([`Content::seven_bit`]),
/// brought to 7 bit first, in CRLF (so the mechanisms find nothing left to re-encode, and
/// keep CRLF), with the convention of the message; otherwise the message as it is.
fn seven_bit<'m>(
    message: &'m Message,
    content: &dyn Content,
) -> Result<(std::borrow::Cow<'m, [u8]>, Option<crate::message::Eol>)> {
    use std::borrow::Cow;
    Ok(match content.seven_bit(message.bytes())? {
        None => (Cow::Borrowed(message.bytes()), None),
        Some(m) => (
            Cow::Owned(m),
            Some(crate::message::Eol::detect(message.bytes())),
        ),
    })
}

/// `out` back in the convention [`seven_bit`] said.
fn back(out: Vec<u8>, eol: Option<crate::message::Eol>) -> Vec<u8> {
    match eol {
        None => out,
        Some(eol) => match crate::message::eol::to_eol(&out, eol) {
            std::borrow::Cow::Borrowed(_) => out,
            std::borrow::Cow::Owned(v) => v,
        },
    }
}

fn protect_smime(
    message: &Message,
    d: &Demands,
    keys: &Keys,
    (now, who): (i64, Parties<'_>),
    content: &dyn Content,
) -> Result<Vec<u8>> {
    let signer = match d.sign {
        true => {
            let signer = keys.smime_signer(who.from)?;
            d.check_smime_key(signer)?;
            Some(signer)
        }
        false => None,
    };
    let (bytes, eol) = seven_bit(message, content)?;
    let mut bytes = bytes.into_owned();
    if let Some(signer) = signer {
        let o = smime::SignOptions {
            digest: Some(d.smime_digest()?),
            now,
            header_protection: d.header_protection,
            secure_headers: (!d.secure_headers.is_empty()).then(|| {
                (
                    true,
                    d.secure_headers.iter().map(|h| (h.clone(), 0)).collect(),
                )
            }),
            label: d.label.clone(),
            ..Default::default()
        };
        bytes = smime::sign_with(&bytes, signer, &o, content)?;
    }
    if d.encrypt {
        let o = smime::EncryptOptions {
            cipher: Some(d.smime_cipher()?),
            now,
            header_protection: d.header_protection,
            ..Default::default()
        };
        bytes = smime::encrypt_with(&bytes, &keys.smime_recipients, &o, content)?;
    }
    Ok(back(bytes, eol))
}

fn protect_pgp(
    message: &Message,
    d: &Demands,
    keys: &Keys,
    (now, who): (i64, Parties<'_>),
    content: &dyn Content,
) -> Result<Vec<u8>> {
    let signer = if d.sign {
        let s = keys.pgp_signer(who.from)?;
        d.check_pgp_key(s.cert())?;
        Some(s)
    } else {
        None
    };
    if d.encrypt {
        let (bytes, eol) = seven_bit(message, content)?;
        let mut o = pgp::EncryptOptions::new(now);
        o.header_protection = d.header_protection;
        if let Some(s) = signer {
            o = o.signed_by(s, d.pgp_combined);
        }
        let out = pgp::encrypt_with(&bytes, &keys.pgp_recipients, &o, content)?;
        return Ok(back(out, eol));
    }
    let Some(s) = signer else {
        return Ok(message.bytes().to_vec());
    };
    let mut o = pgp::SignOptions::new(now);
    o.header_protection = d.header_protection;
    if let Some(h) = d.pgp_hash()? {
        o = o.with_hash(h);
    }
    let (bytes, eol) = seven_bit(message, content)?;
    let out = pgp::sign_with(&bytes, &s, &o, content)?;
    Ok(back(out, eol))
}
