//! The milter's engine (issue 11): one SMTP transaction as a milter sees it — envelope
//! recipients, header fields one by one, body chunks — collected into a bounded buffer, verified
//! as `ximf verify` would, and turned into what the MTA should do with it. Independent of the
//! milter protocol crate: `ximf milter` (src/cli/milter.rs) feeds a [`Session`] from the wire and
//! maps a [`Decision`] back onto it.
//!
//! # What the milter sees (Postfix, Sendmail 8 protocol)
//!
//! The MTA sends each header field as name and value, a folded value with its lines joined by LF,
//! and the body as chunks of CRLF lines (Postfix `milter8.c`); it hides its own `Received:`
//! field. [`Session`] rebuilds the message in wire form (CRLF) from that, so a signature over the
//! body verifies exactly as it would from the queue file. The value keeps the space after the
//! colon when the MTA agreed to send it (`SMFIP_HDR_LEADSPC`); otherwise one space is put back,
//! since that is the one the MTA removed.
//!
//! # Forged verdicts
//!
//! Each field is scrubbed as it arrives, with the same rule as `verify --annotate`
//! ([`render::scrub_forged_verdicts`]): `Authentication-Results` and `X-XIMF-Verify` fields that
//! claim our authserv-id (or whose id cannot be read) are deleted, and a verdict hidden after a
//! bare CR inside another field is cut out of it. The MTA is told with "change header" requests:
//! an empty value deletes. Their index counts fields of the same name as received (RFC 5322
//! names compare case-insensitively); they are listed highest index first, so that an MTA that
//! renumbers after a deletion (Postfix) and one that does not (Sendmail) delete the same fields.
//! Fields are only ever inserted after every change, because Postfix numbers its own
//! `Received:` field once a milter has inserted above it.
//!
//! # Bounds
//!
//! A session holds at most `max_size` bytes of message (plus one header field in flight); past
//! that it drops what it holds and counts on, and the verdict is the configured failure action
//! for an oversize message. Envelope recipients are bounded by [`MAX_RECIPIENTS`].

use std::collections::HashMap;
use std::sync::Arc;

use crate::clock::Clock;
use crate::message::{Eol, Message, encode};
use crate::policy::Model;
use crate::policy::select::{Context, select};
use crate::profile::Profile;
use crate::report::{Report, Severity, render};
use crate::secure::{Keys, Limits};
use crate::verify::{VerifyOptions, verify};
use crate::{Error, Result};

/// At most this many envelope recipients are kept per message; more is a finding
/// (`limit-exceeded`), never a silently shorter list that a recipient rule would not see.
pub const MAX_RECIPIENTS: usize = 10_000;

/// The longest SMTP reply text we send (RFC 5321 §4.5.3.1.5 allows 512 octets per reply line,
/// code and status included).
const MAX_REPLY_TEXT: usize = 400;

/// The role the milter plays on the path (RFC 5598 agents), as `--agent` names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    /// Submission: the correspondence policy is enforced before the message leaves.
    Msa,
    /// Relay: verify and annotate.
    Mta,
    /// Delivery: verify and annotate.
    Mda,
    /// Boundary between domains: verify and annotate.
    Gateway,
}

impl Agent {
    /// The name rules scope to (`agent="mta"` in a profile).
    pub fn as_str(self) -> &'static str {
        match self {
            Agent::Msa => "msa",
            Agent::Mta => "mta",
            Agent::Mda => "mda",
            Agent::Gateway => "gateway",
        }
    }
}

/// What happens to a message whose verdict is `fail` (or that exceeds the size bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnFail {
    /// Accept it with the verdict fields added, as `verify --annotate` writes them.
    Annotate,
    /// Accept it annotated, and ask the MTA to hold it (Postfix: the hold queue).
    Quarantine,
    /// Refuse it at end of data with a 5xx reply naming the rule.
    Reject,
    /// Refuse it at end of data with a 4xx reply: the client keeps it and retries.
    Tempfail,
}

/// What happens when ximf itself fails on a message (not the message: ximf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnError {
    /// A 4xx reply: the client keeps the message and retries.
    Tempfail,
    /// Accept it; forged verdicts are still removed and `X-XIMF-Verify: temperror` is added.
    Accept,
}

/// How the milter judges and acts.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Settings {
    /// The role; rules scoped to other agents are skipped.
    pub agent: Agent,
    /// What a `fail` verdict does.
    pub on_fail: OnFail,
    /// What a failure of ximf itself does.
    pub on_error: OnError,
    /// The largest message held, in bytes.
    pub max_size: u64,
    /// The authserv-id of the verdict fields (RFC 8601 §2.5).
    pub authserv_id: String,
    /// Check against this instance instead of the one the message names.
    pub instance: Option<String>,
    /// The usage whose correspondence type (in `context`) is the floor of what is checked.
    pub usage: Option<String>,
    /// Context facts for the selection; `time` (at each message) and `os` are filled in when
    /// not given.
    pub context: Context,
    /// The operating system name for the `os` context fact.
    pub os: String,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            agent: Agent::Mta,
            on_fail: OnFail::Annotate,
            on_error: OnError::Tempfail,
            max_size: 64 << 20,
            authserv_id: "localhost".into(),
            instance: None,
            usage: None,
            context: Context::default(),
            os: std::env::consts::OS.into(),
        }
    }
}

/// A header field change for the MTA (milter "change header").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderChange {
    /// The field name as received.
    pub name: String,
    /// Which field of that name, 1-based, counted as received.
    pub index: u32,
    /// The new value (as after the colon: leading space, folded lines joined by LF); none
    /// deletes the field.
    pub value: Option<String>,
}

/// An SMTP reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// `550`, `451`, ...
    pub code: u16,
    /// The RFC 3463 enhanced status code, `5.7.1`.
    pub status: String,
    /// The text: printable ASCII, one line, bounded.
    pub text: String,
}

impl std::fmt::Display for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {} {}", self.code, self.status, self.text)
    }
}

/// What the MTA does with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Take it, with the header changes of the decision.
    Accept,
    /// Take it, with the changes, and hold it; the reason goes to the MTA's log.
    Quarantine(String),
    /// Refuse it permanently.
    Reject(Reply),
    /// Refuse it temporarily.
    Tempfail(Reply),
}

/// The outcome for one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Changes to fields as received, in the order to apply them (before any insertion).
    pub changes: Vec<HeaderChange>,
    /// Fields to add at the top of the header, top first: (name, value as after the colon, with
    /// its leading space and folded lines joined by LF).
    pub insert: Vec<(String, String)>,
    /// Accept, hold, reject or tempfail.
    pub action: Action,
    /// `pass`, `fail`, `none` (too large) or `temperror` (ximf failed).
    pub verdict: &'static str,
    /// The finding codes behind the verdict, comma-separated (`none` when there are none).
    pub codes: String,
}

impl Decision {
    /// One line for the log: verdict, codes and action.
    pub fn summary(&self) -> String {
        let action = match &self.action {
            Action::Accept if self.insert.is_empty() => "accept".to_owned(),
            Action::Accept => "accept annotated".to_owned(),
            Action::Quarantine(_) => "hold".to_owned(),
            Action::Reject(r) | Action::Tempfail(r) => format!("reply {r}"),
        };
        format!("{} ({}): {action}", self.verdict, self.codes)
    }
}

/// Everything a session collected for one message, ready for [`Filter::decide`].
#[derive(Debug, Default)]
pub struct Collected {
    /// The message in wire form; none when it exceeded the size bound.
    message: Option<Vec<u8>>,
    /// Its size in bytes (counted on past the bound).
    size: u64,
    /// Envelope recipients (RCPT TO), without angle brackets.
    recipients: Vec<String>,
    /// More recipients than [`MAX_RECIPIENTS`] were given.
    too_many_recipients: bool,
    /// Forged verdict removals, in the order to apply them.
    changes: Vec<HeaderChange>,
}

impl Collected {
    /// The forged-verdict removals: what [`Filter::fallback`] still applies.
    pub fn changes(&self) -> &[HeaderChange] {
        &self.changes
    }

    /// The message size in bytes, as received.
    pub fn size(&self) -> u64 {
        self.size
    }
}

/// One connection's message in progress. Feed it the events of a transaction in order; it
/// holds at most the size bound in memory.
#[derive(Debug)]
pub struct Session {
    max_size: u64,
    authserv_id: String,
    leading_space: bool,
    buf: Vec<u8>,
    size: u64,
    overflow: bool,
    in_body: bool,
    recipients: Vec<String>,
    too_many_recipients: bool,
    counts: HashMap<String, u32>,
    changes: Vec<HeaderChange>,
    field: Vec<u8>,
}

impl Session {
    /// A session holding at most `max_size` bytes of message, scrubbing verdicts that claim
    /// `authserv_id`.
    pub fn new(max_size: u64, authserv_id: &str) -> Session {
        Session {
            max_size,
            authserv_id: authserv_id.to_owned(),
            leading_space: false,
            buf: Vec::new(),
            size: 0,
            overflow: false,
            in_body: false,
            recipients: Vec::new(),
            too_many_recipients: false,
            counts: HashMap::new(),
            changes: Vec::new(),
            field: Vec::new(),
        }
    }

    /// Whether header values arrive with the whitespace after the colon kept
    /// (`SMFIP_HDR_LEADSPC` agreed); without it one space is put back.
    pub fn keep_leading_space(&mut self, yes: bool) {
        self.leading_space = yes;
    }

    /// Starts a new transaction (MAIL FROM), forgetting the previous one.
    pub fn begin(&mut self) {
        let keep = (self.max_size, std::mem::take(&mut self.authserv_id));
        let leading_space = self.leading_space;
        *self = Session::new(keep.0, &keep.1);
        self.leading_space = leading_space;
    }

    /// An envelope recipient (RCPT TO), with or without angle brackets.
    pub fn recipient(&mut self, addr: &str) {
        let a = addr.trim();
        let a = a
            .strip_prefix('<')
            .and_then(|s| s.strip_suffix('>'))
            .unwrap_or(a);
        if a.is_empty() {
            return;
        }
        if self.recipients.len() >= MAX_RECIPIENTS {
            self.too_many_recipients = true;
            return;
        }
        self.recipients.push(a.to_owned());
    }

    /// One header field as the MTA sends it: the name, and the value with folded lines joined
    /// by LF.
    pub fn header(&mut self, name: &[u8], value: &[u8]) {
        let mut field = std::mem::take(&mut self.field);
        field.clear();
        field.extend_from_slice(name);
        field.push(b':');
        if !self.leading_space {
            field.push(b' ');
        }
        // The MTA joins a folded value's lines with LF; the wire form is CRLF.
        for (i, line) in value.split(|&b| b == b'\n').enumerate() {
            if i > 0 {
                field.extend_from_slice(b"\r\n");
            }
            field.extend_from_slice(line);
        }
        field.extend_from_slice(b"\r\n");

        let name_text = String::from_utf8_lossy(name).into_owned();
        let count = self
            .counts
            .entry(name_text.to_ascii_lowercase())
            .or_insert(0);
        *count += 1;
        let index = *count;
        match render::scrub_forged_verdicts(&field, &self.authserv_id) {
            std::borrow::Cow::Borrowed(_) => self.append(&field),
            std::borrow::Cow::Owned(kept) => {
                let rest = kept
                    .strip_prefix(name)
                    .and_then(|r| r.strip_prefix(b":"))
                    .filter(|_| !name.is_empty());
                let value = rest.map(|r| {
                    let r = r.strip_suffix(b"\r\n").unwrap_or(r);
                    String::from_utf8_lossy(r).replace("\r\n", "\n")
                });
                self.changes.push(HeaderChange {
                    name: name_text,
                    index,
                    value,
                });
                self.append(&kept);
            }
        }
        self.field = field;
    }

    /// The end of the header section.
    pub fn end_of_header(&mut self) {
        if !self.in_body {
            self.in_body = true;
            self.append(b"\r\n");
        }
    }

    /// A body chunk (CRLF lines). Returns false once the message is over the size bound: the
    /// rest of the body is not needed.
    pub fn body(&mut self, chunk: &[u8]) -> bool {
        self.end_of_header();
        self.append(chunk);
        !self.overflow
    }

    /// The message and what is known about it; the session is ready for the next transaction
    /// (the recipients are kept until [`Session::begin`], as the envelope is).
    pub fn finish(&mut self) -> Collected {
        self.end_of_header();
        let mut changes = std::mem::take(&mut self.changes);
        // Highest index first, so that no deletion renumbers a field still to be changed.
        changes.sort_by_key(|c| std::cmp::Reverse(c.index));
        let message = (!self.overflow).then(|| std::mem::take(&mut self.buf));
        let c = Collected {
            message,
            size: self.size,
            recipients: self.recipients.clone(),
            too_many_recipients: self.too_many_recipients,
            changes,
        };
        self.buf = Vec::new();
        self.size = 0;
        self.overflow = false;
        self.in_body = false;
        self.counts.clear();
        c
    }

    fn append(&mut self, data: &[u8]) {
        self.size = self.size.saturating_add(data.len() as u64);
        if self.overflow {
            return;
        }
        if self.size > self.max_size {
            // Over the bound: free what we hold and only count from here on.
            self.overflow = true;
            self.buf = Vec::new();
            return;
        }
        let need = self.buf.len() + data.len();
        if need > self.buf.capacity() {
            // Grow by doubling, but never past the bound: memory per connection stays at most
            // `max_size`, not twice it.
            let cap = usize::try_from(self.max_size).unwrap_or(usize::MAX);
            let want = (self.buf.capacity() * 2).clamp(need, cap.max(need));
            self.buf.reserve_exact(want - self.buf.len());
        }
        self.buf.extend_from_slice(data);
    }
}

/// The judging side, shared by every connection: profile, policy models, keys, settings and the
/// clock.
pub struct Filter {
    profile: Profile,
    models: Vec<(String, Model)>,
    keys: Arc<Keys>,
    settings: Settings,
    clock: Box<dyn Clock + Send + Sync>,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Filter {
    /// A filter over `profile`, with `models` giving each instance's correspondence model (by
    /// instance name; an instance without one uses its own rules).
    ///
    /// Fails with [`Error::Config`] when `settings.usage` is given but no instance has a
    /// correspondence policy, or when the usage and context select no type of some instance's
    /// policy now: a milter must not find that out on the first message.
    pub fn new(
        profile: Profile,
        models: Vec<(String, Model)>,
        keys: Arc<Keys>,
        settings: Settings,
        clock: Box<dyn Clock + Send + Sync>,
    ) -> Result<Filter> {
        let filter = Filter {
            profile,
            models,
            keys,
            settings,
            clock,
        };
        if let Some(usage) = &filter.settings.usage {
            let mut any = false;
            for (_, model) in filter.models.iter().filter(|(_, m)| !m.is_empty()) {
                any = true;
                select(
                    model,
                    usage,
                    &filter.context(),
                    filter.settings.agent.as_str(),
                )?;
            }
            if !any {
                return Err(Error::Config(format!(
                    "usage '{usage}': no correspondence type fits: the profile defines no correspondence policy"
                )));
            }
        }
        Ok(filter)
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// A session for one connection.
    pub fn session(&self) -> Session {
        Session::new(self.settings.max_size, &self.settings.authserv_id)
    }

    /// Verifies the collected message and decides. Slow (signature checks): run it off the
    /// protocol's event loop.
    ///
    /// Fails with [`Error::Config`] when the configured usage and context select no type at
    /// this moment; the caller then applies [`Filter::fallback`].
    pub fn decide(&self, mut c: Collected) -> Result<Decision> {
        let changes = std::mem::take(&mut c.changes);
        let Some(bytes) = c.message.take() else {
            return Ok(self.oversize(changes, c.size));
        };
        let mut report = match Message::parse(bytes) {
            Ok(m) => self.report(&m, &c)?,
            Err(Error::Message(why)) => {
                let mut r = Report::default();
                r.push("not-a-message", Severity::Error, None, why);
                r
            }
            Err(e) => return Err(e),
        };
        if c.too_many_recipients {
            report.push(
                "limit-exceeded",
                Severity::Error,
                None,
                format!("more than {MAX_RECIPIENTS} envelope recipients"),
            );
        }
        report.finish();
        Ok(self.judge(&report, changes))
    }

    /// The decision when ximf failed on a message (an error, a panic): `--on-error`. Forged
    /// verdicts are removed whenever the message is accepted.
    pub fn fallback(&self, changes: Vec<HeaderChange>, why: &str) -> Decision {
        let codes = "internal-error".to_owned();
        match self.settings.on_error {
            OnError::Tempfail => Decision {
                changes: Vec::new(),
                insert: Vec::new(),
                action: Action::Tempfail(reply(451, "4.3.0", &format!("ximf: {why}"))),
                verdict: "temperror",
                codes,
            },
            OnError::Accept => {
                let insert = match self.settings.agent {
                    Agent::Msa => Vec::new(),
                    _ => self.fields(&[(
                        render::VERIFY_FIELD.to_owned(),
                        format!(
                            "temperror (authserv-id={}; ximf failed)",
                            self.settings.authserv_id
                        ),
                    )]),
                };
                Decision {
                    changes,
                    insert,
                    action: Action::Accept,
                    verdict: "temperror",
                    codes,
                }
            }
        }
    }

    /// The context at this moment: `time` and `os` filled in when not configured.
    fn context(&self) -> Context {
        self.settings
            .context
            .clone()
            .with_defaults(self.clock.now(), &self.settings.os)
    }

    /// The report `ximf verify --agent AGENT [--usage U --context ...]` would give; the MSA
    /// also holds the envelope recipients to the type's recipient rules (Bcc is only there).
    fn report(&self, message: &Message, c: &Collected) -> Result<Report> {
        let agent = self.settings.agent.as_str();
        let mut opts = VerifyOptions {
            instance: self.settings.instance.clone(),
            agent: agent.to_owned(),
            keys: Some(self.keys.clone()),
            now: self.clock.now(),
            limits: Limits::with_max_output(self.settings.max_size),
            ..VerifyOptions::default()
        };
        if self.settings.agent == Agent::Msa {
            opts.envelope = c.recipients.clone();
        }
        let instance = match &self.settings.instance {
            Some(n) => self.profile.instance(n),
            None => message
                .get(crate::stamp::NAME_FIELD)
                .and_then(|f| self.profile.instance(&f.value(message.bytes()))),
        };
        if let Some(i) = instance
            && let Some((_, model)) = self
                .models
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&i.name))
        {
            if let Some(usage) = self.settings.usage.as_deref()
                && !model.is_empty()
            {
                let t = select(model, usage, &self.context(), agent)?;
                opts.floor = Some(t.name.clone());
            }
            opts.model = Some(model.clone());
        }
        Ok(verify(message, &self.profile, &opts))
    }

    /// From the report to the decision.
    fn judge(&self, report: &Report, changes: Vec<HeaderChange>) -> Decision {
        let mut codes: Vec<&str> = report.findings.iter().map(|f| f.code).collect();
        codes.dedup();
        let codes = if codes.is_empty() {
            "none".to_owned()
        } else {
            codes.join(",")
        };
        let annotation = match self.settings.agent {
            // Submission enforces; the verdict fields are the receiving side's to add.
            Agent::Msa if report.passes() || self.settings.on_fail != OnFail::Annotate => {
                Vec::new()
            }
            _ => self.fields(&render::annotation(report, &self.settings.authserv_id)),
        };
        let accept = |action| Decision {
            changes: changes.clone(),
            insert: annotation.clone(),
            action,
            verdict: report.verdict,
            codes: codes.clone(),
        };
        let refuse = |action| Decision {
            changes: Vec::new(),
            insert: Vec::new(),
            action,
            verdict: report.verdict,
            codes: codes.clone(),
        };
        if report.passes() {
            return accept(Action::Accept);
        }
        let first = report
            .findings
            .iter()
            .find(|f| f.severity == Severity::Error);
        let (rule, what) = first.map_or(("fail", ""), |f| (f.code, f.message.as_str()));
        let others: Vec<&str> = report
            .findings
            .iter()
            .filter(|f| f.severity == Severity::Error && f.code != rule)
            .map(|f| f.code)
            .collect();
        let mut text = format!("ximf: {rule}: {what}");
        if !others.is_empty() {
            text.push_str(&format!(" (also: {})", others.join(", ")));
        }
        match self.settings.on_fail {
            OnFail::Annotate => accept(Action::Accept),
            OnFail::Quarantine => accept(Action::Quarantine(format!("ximf: {rule}"))),
            OnFail::Reject => refuse(Action::Reject(reply(550, status_of(rule), &text))),
            OnFail::Tempfail => {
                let status = status_of(rule).replacen('5', "4", 1);
                refuse(Action::Tempfail(reply(451, &status, &text)))
            }
        }
    }

    /// A message over the size bound: nothing was verified, so the verdict is `none`, and the
    /// failure action applies (RFC 3463 X.3.4: message too big for system).
    fn oversize(&self, changes: Vec<HeaderChange>, size: u64) -> Decision {
        let max = self.settings.max_size;
        let field = self.fields(&[(
            render::VERIFY_FIELD.to_owned(),
            format!(
                "none (authserv-id={}; too large: over {max} bytes)",
                self.settings.authserv_id
            ),
        )]);
        let text = format!("ximf: message too large: {size} bytes, the limit is {max}");
        let (changes, insert, action) = match self.settings.on_fail {
            OnFail::Annotate => (changes, field, Action::Accept),
            OnFail::Quarantine => (
                changes,
                field,
                Action::Quarantine("ximf: message too large".into()),
            ),
            OnFail::Reject => (
                Vec::new(),
                Vec::new(),
                Action::Reject(reply(552, "5.3.4", &text)),
            ),
            OnFail::Tempfail => (
                Vec::new(),
                Vec::new(),
                Action::Tempfail(reply(452, "4.3.4", &text)),
            ),
        };
        Decision {
            changes,
            insert,
            action,
            verdict: "none",
            codes: "too-large".into(),
        }
    }

    /// Fields as the milter inserts them: the value folded as `--annotate` writes it, after the
    /// colon, with LF between folded lines. A value that cannot be encoded is left out (ours are
    /// printable ASCII, so none is).
    fn fields(&self, add: &[(String, String)]) -> Vec<(String, String)> {
        add.iter()
            .filter_map(|(name, value)| {
                let raw = encode::encode_field(name, value, Eol::Lf).ok()?;
                let text = String::from_utf8_lossy(&raw);
                let v = text.strip_prefix(name.as_str())?.strip_prefix(':')?;
                Some((name.clone(), v.strip_suffix('\n').unwrap_or(v).to_owned()))
            })
            .collect()
    }
}

/// The RFC 3463 status of a refusal for the finding that decided it.
fn status_of(code: &str) -> &'static str {
    match code {
        // X.7.7 Message integrity failure: the content was altered.
        "signature-invalid"
        | "signature-removed"
        | "partially-signed"
        | "protected-header-mismatch"
        | "secure-header-mismatch"
        | "label-mismatch" => "5.7.7",
        // X.7.5 Cryptographic failure: what is needed to validate or decrypt is missing or
        // invalid.
        "signature-untrusted"
        | "signature-expired"
        | "certificate-expired"
        | "key-expired"
        | "key-revoked"
        | "key-invalid"
        | "signer-certificate-missing"
        | "decryption-failed" => "5.7.5",
        // X.7.6 Cryptographic algorithm not supported.
        "weak-algorithm" | "unsupported-algorithm" => "5.7.6",
        // X.7.1 Delivery not authorized, message refused: every other rule, the correspondence
        // type's size and recipient rules included (X.3.4 is for ximf's own --max-size).
        _ => "5.7.1",
    }
}

/// A reply whose text is one line of printable ASCII, bounded: SMTP replies are ASCII
/// (RFC 5321 §4.2), and libmilter-style MTAs treat `%` as a format character.
fn reply(code: u16, status: &str, text: &str) -> Reply {
    let mut t: String = text
        .chars()
        .map(|c| match c {
            ' '..='~' if c != '%' => c,
            _ => ' ',
        })
        .collect();
    if t.len() > MAX_REPLY_TEXT {
        t.truncate(MAX_REPLY_TEXT - 3);
        t.push_str("...");
    }
    Reply {
        code,
        status: status.to_owned(),
        text: t,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::FixedClock;

    const PLAIN: &[u8] = b"From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\n\
Subject: Hi\r\n\r\nHello\r\n";

    /// Names the built-in Example instance but carries none of its mandatory fields.
    const UNSTAMPED: &[u8] = b"X-XIMF-NAME: Example\r\nFrom: a@example.org\r\n\r\nx\r\n";

    fn feed(s: &mut Session, message: &[u8]) {
        let text = String::from_utf8_lossy(message).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        // As Postfix sends them: one event per field, folded lines joined by LF, the leading
        // space kept (SMFIP_HDR_LEADSPC).
        let mut fields: Vec<String> = Vec::new();
        for line in head.split("\r\n") {
            match (line.starts_with([' ', '\t']), fields.last_mut()) {
                (true, Some(f)) => {
                    f.push('\n');
                    f.push_str(line);
                }
                _ => fields.push(line.to_owned()),
            }
        }
        for f in fields {
            let (n, v) = f.split_once(':').unwrap_or((&f, ""));
            s.header(n.as_bytes(), v.as_bytes());
        }
        s.end_of_header();
        s.body(body.as_bytes());
    }

    fn session() -> Session {
        let mut s = Session::new(1 << 20, "mx.example.net");
        s.keep_leading_space(true);
        s
    }

    fn filter(settings: Settings) -> Filter {
        let profile = crate::profile::builtin();
        let models = profile
            .instances
            .iter()
            .map(|i| {
                let m = crate::policy::parse::from_instance(i).unwrap_or_default();
                (i.name.clone(), m)
            })
            .collect();
        Filter::new(
            profile,
            models,
            Arc::new(Keys::default()),
            settings,
            Box::new(FixedClock(1_795_910_400)),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn rebuilds_the_message_in_wire_form() {
        let folded = b"From: a@example.org\r\nSubject: one\r\n two\r\n\r\nbody\r\n";
        let mut s = session();
        feed(&mut s, folded);
        let c = s.finish();
        assert_eq!(c.message.as_deref(), Some(&folded[..]));
        assert!(c.changes.is_empty());
        // Without the leading space from the MTA, the one space it removed is put back.
        let mut s = Session::new(1 << 20, "mx.example.net");
        s.header(b"Subject", b"hi");
        s.body(b"x\r\n");
        assert_eq!(
            s.finish().message.as_deref(),
            Some(&b"Subject: hi\r\n\r\nx\r\n"[..])
        );
    }

    #[test]
    fn forged_verdicts_are_deleted_highest_index_first() {
        let m = b"Authentication-Results: other.example; smime=pass\r\n\
X-XIMF-Verify: pass (authserv-id=mx.example.net; instance=x)\r\n\
authentication-results: mx.example.net; smime=pass\r\n\
Authentication-Results: (comment) \"mx.example.net\"; smime=pass\r\n\
Subject: hi\rX-XIMF-Verify: pass (authserv-id=mx.example.net)\r\n\
From: a@example.org\r\n\r\nbody\r\n";
        let mut s = session();
        feed(&mut s, m);
        let c = s.finish();
        let changes: Vec<(String, u32, Option<String>)> = c
            .changes
            .iter()
            .map(|h| (h.name.clone(), h.index, h.value.clone()))
            .collect();
        assert_eq!(
            changes,
            [
                ("Authentication-Results".to_owned(), 3, None),
                ("authentication-results".to_owned(), 2, None),
                ("X-XIMF-Verify".to_owned(), 1, None),
                ("Subject".to_owned(), 1, Some(" hi".to_owned())),
            ]
        );
        // What is verified is what will be delivered.
        let text = String::from_utf8_lossy(c.message.as_deref().unwrap_or_default()).into_owned();
        assert_eq!(
            text,
            "Authentication-Results: other.example; smime=pass\r\nSubject: hi\r\n\
From: a@example.org\r\n\r\nbody\r\n"
        );
    }

    #[test]
    fn memory_is_bounded_by_max_size() {
        let mut s = Session::new(100, "mx");
        s.header(b"Subject", b"hi");
        assert!(s.body(&[b'x'; 80]));
        assert!(!s.body(&[b'x'; 80]));
        assert_eq!(s.buf.capacity(), 0);
        assert!(!s.body(&[b'x'; 80]));
        let c = s.finish();
        assert!(c.message.is_none());
        assert_eq!(c.size, 13 + 2 + 240);
        // Growth stops at the bound instead of doubling past it.
        let mut s = Session::new(1000, "mx");
        s.header(b"Subject", b" hi");
        for _ in 0..9 {
            s.body(&[b'x'; 100]);
        }
        assert!(s.buf.capacity() <= 1000, "{}", s.buf.capacity());
    }

    #[test]
    fn recipients_are_bounded_and_unbracketed() {
        let mut s = session();
        s.recipient("<Bob@Example.org>");
        s.recipient("carol@example.org");
        s.recipient("<>");
        assert_eq!(s.recipients, ["Bob@Example.org", "carol@example.org"]);
        for _ in 0..MAX_RECIPIENTS {
            s.recipient("x@example.org");
        }
        assert!(s.too_many_recipients);
        assert_eq!(s.recipients.len(), MAX_RECIPIENTS);
        s.begin();
        assert!(s.recipients.is_empty() && !s.too_many_recipients);
    }

    #[test]
    fn failure_actions() {
        let mut s = session();
        feed(&mut s, UNSTAMPED);
        let c = s.finish();
        let annotate = filter(Settings {
            authserv_id: "mx.example.net".into(),
            ..Settings::default()
        });
        let mut s = session();
        feed(&mut s, UNSTAMPED);
        let d = annotate
            .decide(s.finish())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.verdict, "fail");
        assert_eq!(d.action, Action::Accept);
        assert!(
            d.insert.iter().any(|(n, v)| n == "X-XIMF-Verify"
                && v.starts_with(" fail (authserv-id=mx.example.net;")),
            "{d:?}"
        );
        let reject = filter(Settings {
            on_fail: OnFail::Reject,
            ..Settings::default()
        });
        let d = reject.decide(c).unwrap_or_else(|e| panic!("{e}"));
        match &d.action {
            Action::Reject(r) => {
                assert_eq!((r.code, r.status.as_str()), (550, "5.7.1"));
                assert!(r.text.starts_with("ximf: "), "{r}");
            }
            a => panic!("{a:?}"),
        }
        assert!(d.insert.is_empty() && d.changes.is_empty());
        let tempfail = filter(Settings {
            on_fail: OnFail::Tempfail,
            ..Settings::default()
        });
        let mut s = session();
        feed(&mut s, UNSTAMPED);
        let d = tempfail
            .decide(s.finish())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            matches!(&d.action, Action::Tempfail(r) if r.code == 451 && r.status.starts_with("4.")),
            "{d:?}"
        );
    }

    #[test]
    fn oversize_follows_the_failure_action() {
        let f = filter(Settings {
            max_size: 10,
            on_fail: OnFail::Quarantine,
            ..Settings::default()
        });
        let mut s = f.session();
        feed(&mut s, PLAIN);
        let d = f.decide(s.finish()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d.verdict, "none");
        assert!(matches!(d.action, Action::Quarantine(_)));
        assert_eq!(d.insert.len(), 1);
        assert!(
            d.insert[0]
                .1
                .starts_with(" none (authserv-id=localhost; too large")
        );
    }

    #[test]
    fn fallback_never_loses_mail() {
        let f = filter(Settings::default());
        let d = f.fallback(Vec::new(), "panic");
        assert!(matches!(&d.action, Action::Tempfail(r) if r.code == 451));
        let f = filter(Settings {
            on_error: OnError::Accept,
            ..Settings::default()
        });
        let gone = HeaderChange {
            name: "X-XIMF-Verify".into(),
            index: 1,
            value: None,
        };
        let d = f.fallback(vec![gone.clone()], "panic");
        assert_eq!(d.action, Action::Accept);
        assert_eq!(d.changes, [gone]);
        assert!(d.insert[0].1.starts_with(" temperror"));
    }

    #[test]
    fn replies_are_one_ascii_line() {
        let r = reply(550, "5.7.1", &format!("a%b\r\nc é {}", "x".repeat(600)));
        assert!(r.text.starts_with("a b  c   x"));
        assert!(r.text.len() <= MAX_REPLY_TEXT);
        assert!(r.text.bytes().all(|b| (b' '..=b'~').contains(&b)));
    }
}
