//! `ximf sendmail`: a drop-in `$sendmail` for mutt and `sendmail -oi -t` users (design.md §2,
//! §6). The message goes out only once it is complete and conforms; on any failure nothing is
//! sent and the message is kept.
//!
//! The flow, and the module doing each part:
//!
//! 1. [`argv`]: the command line, hand-parsed: ximf's own options are taken out, sendmail's are
//!    kept verbatim for the real sendmail.
//! 2. [`config`]: the TOML file with defaults, identities and the real sendmail.
//! 3. [`prepare`] (here): the XIMF fields the message lacks are completed — values the user
//!    already put in the message (mutt's `my_hdr X-XIMF-...`) are kept and checked, `--set`
//!    and the config only fill what is missing — then stamped ([`crate::stamp`], which refuses
//!    a bad value with exit 65) and verified as the sending agent would be; protection is
//!    demanded or not.
//! 4. [`deliver`]: the finished message is piped to the real sendmail, whose exit status is
//!    passed through; missing → 69, killed or hung → 75.
//! 5. [`dead_letter`]: when anything failed, the original message is appended to an mbox.

pub mod argv;
pub mod config;
pub mod dead_letter;
pub mod deliver;

use crate::message::Message;
use crate::profile::{Instance, Profile};
use crate::stamp::{NAME_FIELD, StampOptions, VERSION_FIELD, is_ximf_field};
use crate::verify::{VerifyOptions, verify};
use crate::{Error, Result};

/// What the sender asked for, from flags and config merged by the caller (flags first).
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Request {
    /// `--instance`: an explicit choice; a message naming another instance is refused.
    pub instance: Option<String>,
    /// The config's `instance`: used only when neither the message nor `--instance` names one.
    pub default_instance: Option<String>,
    /// `--set` values: fill headers the message has no field for.
    pub sets: Vec<(String, String)>,
    /// The config's `[set]` values: fill what neither the message nor `--set` gives; a header
    /// the instance does not define is skipped (one file serves several instances).
    pub default_sets: Vec<(String, String)>,
    /// Write compatibility aliases.
    pub compat: bool,
    /// `--usage`.
    pub usage: Option<String>,
    /// `--sign` or config `sign`.
    pub sign: bool,
    /// `--encrypt` or config `encrypt`.
    pub encrypt: bool,
    /// `--mechanism` or config `mechanism`.
    pub mechanism: Option<String>,
    /// The context for `usage` (config `[context]`, `$XIMF_CONTEXT`, `--context`, time, os).
    pub context: crate::policy::select::Context,
    /// Keys from the KEYS flags and the config's identities and trust.
    pub keys: crate::protect::Keys,
    /// The envelope recipients (the arguments for the real sendmail): encryption needs a key
    /// for each of them too.
    pub envelope: Vec<String>,
    /// Recipients' certificates to find by address when encrypting (issue 10 point 3).
    pub lookup: Option<crate::protect::Lookup>,
    /// Unix time for signatures and certificate validity.
    pub now: i64,
}

/// The finished message for `message`: XIMF fields completed and stamped, checked, protected.
///
/// Fails with [`Error::Value`] (exit 65) when a value in the message, `--set` or the config
/// breaks the profile, when the message names an instance the profile lacks or one that
/// contradicts `--instance`, or when the stamped message does not verify; with
/// [`Error::Config`] (78) for an unknown `--instance`, a `--usage` the profile has no policy
/// for or no type fits, or a demand the type forbids; and with [`Error::NoKey`] (67) when the
/// protection demanded has no key (encryption: for any recipient of the message or envelope).
pub fn prepare(message: &Message, profile: &Profile, req: &Request) -> Result<Vec<u8>> {
    let instance = choose_instance(message, profile, req)?;
    let model = crate::policy::parse::from_instance(instance)?;
    let selected = match &req.usage {
        Some(u) if model.is_empty() => {
            return Err(Error::Config(format!(
                "usage '{u}': no correspondence type fits: the profile defines no correspondence policy"
            )));
        }
        Some(u) => Some(crate::policy::select::select(
            &model,
            u,
            &req.context,
            "mua",
        )?),
        None => None,
    };
    let named = crate::policy::enforce::named_type(message);
    let opts = StampOptions {
        compat: req.compat,
        // The type the user named (my_hdr) is kept; protect::plan refuses a contradiction.
        correspondence: named.clone().or_else(|| selected.map(|t| t.name.clone())),
        ..StampOptions::default()
    };
    let default_sets: &[(String, String)] = if instance.plain {
        // A plain instance takes no values; defaults meant for XIMF instances do not apply.
        &[]
    } else {
        &req.default_sets
    };
    let values = stamp_values(message, instance, &req.sets, default_sets);
    let stamped = crate::stamp::stamp(message, instance, &values, &opts)?;
    // Defence in depth: check the result as a submitting agent would, so anything stamp lets
    // through that verify would flag (a duplicate field, say) still stops here, not at the
    // recipient.
    let out = Message::parse(stamped)?;
    let vopts = VerifyOptions {
        instance: Some(instance.name.clone()),
        agent: "msa".to_owned(),
        // Header-level only: protection is applied below, and the policy checked there.
        model: Some(crate::policy::Model::default()),
        ..VerifyOptions::default()
    };
    let report = verify(&out, profile, &vopts);
    let wrong = report
        .findings
        .iter()
        .filter(|f| f.severity == crate::report::Severity::Error)
        .map(|f| {
            let header = f.header.clone().unwrap_or_else(|| NAME_FIELD.to_owned());
            (header, format!("{} ({})", f.message, f.code))
        })
        .collect();
    if let Some(e) = crate::stamp::joined_error(wrong) {
        return Err(e);
    }
    // Every recipient the real sendmail will be given, not only those the header shows, is
    // held to the type's recipient rules before anything is handed over (issue 11 point 6).
    let chosen = selected.or_else(|| named.as_deref().and_then(|n| model.get(n)));
    if let Some(t) = chosen {
        check_recipients(t, &model, instance, &out, &req.envelope)?;
    }
    let mechanism = match req.mechanism.as_deref() {
        Some(m) => Some(
            crate::protect::Mechanism::parse(m)
                .ok_or_else(|| Error::Usage(format!("--mechanism '{m}': smime or openpgp")))?,
        ),
        None => None,
    };
    let (out, demands) = crate::protect::plan(
        out,
        Some(instance),
        &model,
        selected,
        (req.sign, req.encrypt, mechanism),
    )?;
    crate::protect::protect_with(
        &out,
        &demands,
        &req.keys,
        req.now,
        &req.envelope,
        req.lookup.as_ref(),
    )
}

/// Holds every recipient of the message to the recipient rules of `t` (allowed and denied
/// domains, count, need-to-know, archive, privacy) and its header-level rules: To, Cc and Bcc
/// (which `-t` hands over) and every `envelope` recipient (argv, which mutt fills with To, Cc
/// and Bcc and then drops the Bcc field). An envelope recipient the To and Cc fields do not
/// show is a hidden recipient, so a type's privacy rule ("no hidden recipients") holds for
/// Bcc through argv as for a Bcc field.
///
/// Fails with [`Error::Config`] (78) naming every violation, each recipient by address.
pub fn check_recipients(
    t: &crate::policy::CorrespondenceType,
    model: &crate::policy::Model,
    instance: &Instance,
    message: &Message,
    envelope: &[String],
) -> Result<()> {
    use crate::policy::enforce;
    let (recipients, hidden) = envelope_recipients(message, envelope);
    let mut problems = enforce::check_message(t, model, instance, message, &recipients, "mua");
    if !hidden.is_empty() {
        for p in problems
            .iter_mut()
            .filter(|p| p.code == "privacy-violation" && p.header == "Bcc")
        {
            p.message = format!("{}: {}", p.message, hidden.join(", "));
        }
    }
    match crate::stamp::refusal(&problems) {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// The recipients of `message` sent to `envelope` as well ([`check_recipients`]), and the
/// envelope recipients To and Cc do not name (hidden, in order, lower-cased).
pub fn envelope_recipients(
    message: &Message,
    envelope: &[String],
) -> (crate::policy::enforce::Recipients, Vec<String>) {
    use crate::policy::enforce::{Recipients, mailboxes};
    // `<bob@example.org>` and `Bob@Example.org` on argv are the address the header shows.
    let envelope: Vec<String> = envelope
        .iter()
        .map(|a| {
            mailboxes(a)
                .into_iter()
                .next()
                .unwrap_or_else(|| a.trim().to_ascii_lowercase())
        })
        .collect();
    let mut recipients = Recipients::of(message, &envelope);
    let bytes = message.bytes();
    let shown: Vec<String> = ["To", "Cc"]
        .iter()
        .flat_map(|n| message.get_all(n))
        .flat_map(|f| mailboxes(&f.value(bytes)))
        .collect();
    let mut hidden: Vec<String> = Vec::new();
    for a in envelope {
        if !shown.contains(&a) && !hidden.contains(&a) {
            hidden.push(a);
        }
    }
    recipients.bcc |= !hidden.is_empty();
    (recipients, hidden)
}

/// The instance the message is stamped with: the one its `X-XIMF-NAME` names (the user's
/// choice, kept), else `--instance`, else the config's, else the profile's default.
///
/// Fails with [`Error::Value`] (65) when the message names an instance the profile lacks or a
/// different one than `--instance`, and with [`Error::Config`] (78) when `--instance` or the
/// config names an unknown instance or the profile has none.
pub fn choose_instance<'p>(
    message: &Message,
    profile: &'p Profile,
    req: &Request,
) -> Result<&'p Instance> {
    let named = message.value(NAME_FIELD).filter(|v| !v.is_empty());
    if let Some(n) = &named {
        if let Some(flag) = &req.instance
            && !flag.eq_ignore_ascii_case(n)
        {
            return Err(Error::Value {
                header: NAME_FIELD.to_owned(),
                message: format!("the message names instance '{n}' but --instance is '{flag}'"),
            });
        }
        return profile.instance(n).ok_or_else(|| Error::Value {
            header: NAME_FIELD.to_owned(),
            message: format!(
                "instance '{n}' is not in the profile; known: {}",
                profile.names()
            ),
        });
    }
    match req.instance.as_deref().or(req.default_instance.as_deref()) {
        Some(n) => profile.instance(n).ok_or_else(|| {
            Error::Config(format!(
                "instance '{n}' is not in the profile; known: {}",
                profile.names()
            ))
        }),
        None => profile
            .default_instance()
            .ok_or_else(|| Error::Config("the profile has no instance".into())),
    }
}

/// The values to stamp `message` with: every XIMF field already in the message (so stamp
/// checks it and keeps it), then `sets` for headers the message has no field for, then
/// `defaults` for headers neither gives.
///
/// `X-XIMF-NAME`, `X-XIMF-Version` and the instance's technical headers are not values: stamp
/// derives them. Any other `X-XIMF-*` field is passed on, so one the instance does not define
/// is refused by stamp (65) rather than silently dropped.
pub fn stamp_values(
    message: &Message,
    instance: &Instance,
    sets: &[(String, String)],
    defaults: &[(String, String)],
) -> Vec<(String, String)> {
    let bytes = message.bytes();
    let is_technical = |name: &str| {
        instance.headers.iter().any(|h| {
            h.technical_name
                .as_deref()
                .is_some_and(|t| t.eq_ignore_ascii_case(name))
        })
    };
    let mut out: Vec<(String, String)> = message
        .fields()
        .iter()
        .filter(|f| is_ximf_field(&f.name))
        .filter(|f| !f.name_is(NAME_FIELD) && !f.name_is(VERSION_FIELD) && !is_technical(&f.name))
        // The correspondence type is not a header value: stamp writes it from the policy.
        .filter(|f| {
            !f.name_is(crate::policy::TYPE_FIELD) && !f.name_is(crate::policy::TYPE_FIELD_ALT)
        })
        .map(|f| (f.name.clone(), f.value(bytes)))
        .collect();
    // Which header a key means: its name (any case) or its profile id, as stamp reads --set.
    let header_of = |key: &str| {
        let key = key.trim();
        instance
            .headers
            .iter()
            .position(|h| h.name.eq_ignore_ascii_case(key) || h.id == key)
    };
    let mut given: Vec<usize> = out.iter().filter_map(|(k, _)| header_of(k)).collect();
    // Repeats of one header are several items: a source's own repeats must not shadow each
    // other, so `given` grows only after each source.
    let mut from_sets = Vec::new();
    for (k, v) in sets {
        match header_of(k) {
            // An unknown key is passed on so that stamp names it in its refusal.
            None => out.push((k.clone(), v.clone())),
            Some(h) if !given.contains(&h) => {
                out.push((k.clone(), v.clone()));
                from_sets.push(h);
            }
            Some(_) => {}
        }
    }
    given.extend(from_sets);
    for (k, v) in defaults {
        if header_of(k).is_some_and(|h| !given.contains(&h)) {
            out.push((k.clone(), v.clone()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(s: &str) -> Message {
        Message::parse(s.as_bytes().to_vec()).expect("message")
    }

    fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn message_values_win_then_flags_then_config() {
        let profile = crate::profile::builtin();
        let instance = profile.instance("Example").expect("Example");
        let m = msg(
            "From: a@x\nX-XIMF-NAME: Example\nX-XIMF-Security-Classification: example-secret\n\
             X-XIMF-Security-Classification-Identifier: 4\n\nbody\n",
        );
        let got = stamp_values(
            &m,
            instance,
            &pairs(&[
                ("x-ximf-security-classification", "example-restricted"),
                ("X-XIMF-Primary-Precedence", "flash"),
            ]),
            &pairs(&[
                ("X-XIMF-Primary-Precedence", "routine"),
                ("X-XIMF-Copy-Precedence", "routine"),
                ("X-Other-Instance-Header", "x"),
            ]),
        );
        assert_eq!(
            got,
            pairs(&[
                ("X-XIMF-Security-Classification", "example-secret"),
                ("X-XIMF-Primary-Precedence", "flash"),
                ("X-XIMF-Copy-Precedence", "routine"),
            ])
        );
    }

    #[test]
    fn prepare_stamps_checks_and_refuses() {
        let profile = crate::profile::builtin();
        let req = Request {
            compat: true,
            default_sets: pairs(&[("X-XIMF-Primary-Precedence", "routine")]),
            ..Request::default()
        };
        let m = msg("From: a@x\nX-XIMF-Security-Classification: example-restricted\n\nhi\n");
        let out = String::from_utf8(prepare(&m, &profile, &req).expect("stamped")).expect("utf8");
        assert!(out.contains("X-XIMF-NAME: Example\n"), "{out}");
        assert!(
            out.contains("X-XIMF-Primary-Precedence: routine\n"),
            "{out}"
        );
        assert!(out.ends_with("\n\nhi\n"));

        let bad = msg("From: a@x\nX-XIMF-Security-Classification: top-secret\n\nhi\n");
        let e = prepare(&bad, &profile, &req).expect_err("bad value");
        assert_eq!(e.class(), crate::ErrorClass::Data, "{e}");

        let mut other = req.clone();
        other.instance = Some("smtp".into());
        let named = msg("From: a@x\nX-XIMF-NAME: Example\n\nhi\n");
        let e = prepare(&named, &profile, &other).expect_err("conflict");
        assert_eq!(e.class(), crate::ErrorClass::Data, "{e}");

        let mut signed = req.clone();
        signed.sign = true;
        // Signing demanded, no key given: refused with "no key" (67), nothing produced.
        let e = prepare(&m, &profile, &signed).expect_err("protect");
        assert_eq!(e.class(), crate::ErrorClass::NoUser, "{e}");
    }
}
