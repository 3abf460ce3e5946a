//! Issue 11: `ximf milter`. First the milter protocol spoken by hand (no root needed): option
//! negotiation, forged verdicts deleted and ours inserted, a message in progress finished after
//! SIGTERM. Then with the real Postfix on loopback (`smtpd_milters`, as root, skipped with a
//! message otherwise): conforming signed mail delivered with the verdict fields; tampered mail
//! refused with a 5.7.7 reply (reject) or held (quarantine); an MSA policy violation refused at
//! SMTP time naming the rule; the milter killed mid-session loses nothing (Postfix's
//! `milter_default_action = tempfail` gives the client a 4xx and the client retries).
//!
//! The Postfix main.cf lines and the systemd unit's command line are the ones the README
//! prints: [`MAIN_CF`], and `ExecStart=` read from `scripts/ximf-milter.service`.

use crate::support::Ximf;
use crate::support::fixtures::to_crlf;
use crate::support::mailflow::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The authserv-id the tests give the milter.
const AUTHSERV: &str = "mx.example.net";

/// Monday 2026-11-30 10:00 at +01:00: office hours for the corporate example.
const MONDAY: &str = "2026-11-30T09:00:00Z";

/// The README's main.cf lines, verbatim but for the port.
const MAIN_CF: &str = "smtpd_milters = inet:127.0.0.1:8891
non_smtpd_milters = $smtpd_milters
milter_default_action = tempfail
";

fn key(name: &str) -> String {
    root()
        .join("testdata/keys/smime")
        .join(name)
        .display()
        .to_string()
}

fn corporate() -> String {
    root()
        .join("schemas/examples/corporate.xml")
        .display()
        .to_string()
}

fn ximf_ok(args: &[&str], input: &[u8]) -> Vec<u8> {
    Ximf::new().args(args).stdin(input).ok()
}

/// The built-in Example instance's message, stamped and signed by Alice (S/MIME).
fn signed() -> Vec<u8> {
    Ximf::new()
        .now(NOW)
        .args(["protect", "--sign"])
        .smime_signer("alice")
        .stdin(stamped())
        .ok()
}

/// [`signed`] with its body changed after signing.
fn tampered() -> Vec<u8> {
    let s = String::from_utf8(signed()).expect("ascii");
    assert!(s.contains("all good"));
    s.replace("all good", "all bad").into_bytes()
}

/// A running `ximf milter`; killed on drop.
struct Milter {
    child: Child,
    log: PathBuf,
}

impl Milter {
    /// Starts `ximf ARGS` and waits until `socket` accepts connections.
    fn start(s: &Scratch, name: &str, args: &[String], socket: &Endpoint) -> Milter {
        let log = s.join(&format!("{name}.log"));
        let child = Command::new(ximf_bin())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("log"))
            .spawn()
            .expect("spawn ximf milter");
        let mut m = Milter { child, log };
        let start = Instant::now();
        while socket.connect().is_none() {
            if let Ok(Some(status)) = m.child.try_wait() {
                panic!("ximf milter exited {status}: {}", m.log_text());
            }
            assert!(start.elapsed() < LIMIT, "milter not listening");
            std::thread::sleep(Duration::from_millis(50));
        }
        m
    }

    fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn signal(&self, sig: &str) {
        let ok = Command::new("kill")
            .args([sig, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(ok.success());
    }

    /// Waits for the process to exit; its exit code.
    fn wait(&mut self) -> i32 {
        let start = Instant::now();
        loop {
            if let Some(s) = self.child.try_wait().expect("wait") {
                return s.code().unwrap_or(-1);
            }
            assert!(start.elapsed() < LIMIT, "milter did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Milter {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Where a milter listens.
enum Endpoint {
    Inet(u16),
    Unix(PathBuf),
}

trait Duplex: Read + Write {}
impl<T: Read + Write> Duplex for T {}

impl Endpoint {
    fn flag(&self) -> String {
        match self {
            Endpoint::Inet(p) => format!("inet:127.0.0.1:{p}"),
            Endpoint::Unix(p) => format!("unix:{}", p.display()),
        }
    }

    fn connect(&self) -> Option<Box<dyn Duplex>> {
        match self {
            Endpoint::Inet(p) => std::net::TcpStream::connect(("127.0.0.1", *p))
                .ok()
                .map(|s| Box::new(s) as Box<dyn Duplex>),
            Endpoint::Unix(p) => std::os::unix::net::UnixStream::connect(p)
                .ok()
                .map(|s| Box::new(s) as Box<dyn Duplex>),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The protocol by hand (Sendmail 8 milter protocol, version 6), no Postfix needed.

/// The MTA side of one milter connection.
struct Mta {
    s: Box<dyn Duplex>,
}

impl Mta {
    fn connect(e: &Endpoint) -> Mta {
        let s = e.connect().expect("connect to the milter");
        Mta { s }
    }

    fn send(&mut self, cmd: u8, data: &[u8]) {
        let len = u32::try_from(data.len() + 1).expect("len");
        self.s.write_all(&len.to_be_bytes()).expect("send");
        self.s.write_all(&[cmd]).expect("send");
        self.s.write_all(data).expect("send");
    }

    /// The next reply packet, or none at end of stream.
    fn read(&mut self) -> Option<(u8, Vec<u8>)> {
        let mut len = [0u8; 4];
        self.s.read_exact(&mut len).ok()?;
        let mut data = vec![0u8; u32::from_be_bytes(len) as usize];
        self.s.read_exact(&mut data).ok()?;
        let cmd = data.remove(0);
        Some((cmd, data))
    }

    fn expect(&mut self, want: u8) -> Vec<u8> {
        let (cmd, data) = self.read().expect("reply");
        assert_eq!(
            cmd as char,
            want as char,
            "{}",
            String::from_utf8_lossy(&data)
        );
        data
    }

    /// Option negotiation offering every action and protocol step Postfix offers; the
    /// milter's protocol flags.
    fn negotiate(&mut self) -> u32 {
        let mut o = Vec::new();
        o.extend(6u32.to_be_bytes());
        o.extend(0x1ffu32.to_be_bytes());
        o.extend(0x1f_ffffu32.to_be_bytes());
        self.send(b'O', &o);
        let r = self.expect(b'O');
        assert_eq!(r[..4], 6u32.to_be_bytes());
        u32::from_be_bytes([r[8], r[9], r[10], r[11]])
    }

    fn header(&mut self, name: &str, value: &str) {
        self.send(b'L', format!("{name}\0{value}\0").as_bytes());
        self.expect(b'c');
    }

    /// End of message; every reply up to the final action, as (command, text).
    fn end(&mut self) -> Vec<(char, String)> {
        self.send(b'E', b"");
        let mut out = Vec::new();
        loop {
            let (cmd, data) = self.read().expect("end-of-message reply");
            let text = match cmd {
                // index (4 bytes), name NUL value NUL
                b'm' | b'i' => format!(
                    "{} {}",
                    u32::from_be_bytes([data[0], data[1], data[2], data[3]]),
                    String::from_utf8_lossy(&data[4..]).replace('\0', "|")
                ),
                _ => String::from_utf8_lossy(&data).replace('\0', "|"),
            };
            out.push((cmd as char, text));
            if matches!(cmd, b'c' | b'a' | b'r' | b't' | b'y' | b'd') {
                return out;
            }
        }
    }
}

fn builtin_milter(s: &Scratch, e: &Endpoint, extra: &[&str]) -> Milter {
    let mut args: Vec<String> = ["--now", NOW, "milter", "--socket"]
        .iter()
        .map(|a| a.to_string())
        .collect();
    args.push(e.flag());
    args.extend(
        [
            "--authserv-id",
            AUTHSERV,
            "--ca",
            &key("root.crt"),
            "--no-system-ca",
        ]
        .iter()
        .map(|a| a.to_string()),
    );
    args.extend(extra.iter().map(|a| a.to_string()));
    Milter::start(s, "milter", &args, e)
}

#[test]
fn r11_milter_protocol_annotates_and_removes_forged_verdicts() {
    let s = Scratch::new();
    let e = Endpoint::Unix(s.join("milter.sock"));
    let mut milter = builtin_milter(&s, &e, &[]);
    let mut mta = Mta::connect(&e);
    let protocol = mta.negotiate();
    // The leading space is asked for (signatures cover it), connect/helo/unknown/data are not.
    assert_ne!(protocol & 0x10_0000, 0, "{protocol:#x}");
    assert_eq!(protocol & 0x303, 0x303, "{protocol:#x}");
    mta.send(b'M', b"<alice@example.org>\0");
    mta.expect(b'c');
    let message = String::from_utf8(signed()).expect("ascii");
    let (head, body) = message.split_once("\n\n").expect("header and body");
    mta.header(
        "X-XIMF-Verify",
        &format!(" pass (authserv-id={AUTHSERV}; forged)"),
    );
    mta.header("Authentication-Results", " other.example; smime=pass");
    let mut fields: Vec<String> = Vec::new();
    for line in head.lines() {
        match (line.starts_with([' ', '\t']), fields.last_mut()) {
            (true, Some(f)) => {
                f.push('\n');
                f.push_str(line);
            }
            _ => fields.push(line.to_owned()),
        }
    }
    for f in &fields {
        let (n, v) = f.split_once(':').expect("field");
        mta.header(n, v);
    }
    mta.send(b'N', b"");
    mta.expect(b'c');
    for chunk in to_crlf(body.as_bytes()).chunks(100) {
        mta.send(b'B', chunk);
        mta.expect(b'c');
    }
    let replies = mta.end();
    assert_eq!(
        replies,
        [
            ('m', "1 X-XIMF-Verify||".to_owned()),
            (
                'i',
                format!(
                    "0 Authentication-Results| {AUTHSERV}; smime=pass\n body.smime-identifier=alice@example.org|"
                )
            ),
            (
                'i',
                format!(
                    "1 X-XIMF-Verify| pass (authserv-id={AUTHSERV}; instance=Example;\n correspondence=none; codes=none)|"
                )
            ),
            ('c', String::new()),
        ],
        "{}",
        milter.log_text()
    );
    mta.send(b'A', b"");
    mta.send(b'Q', b"");
    assert!(mta.read().is_none(), "the milter closes after QUIT");

    // SIGTERM: exits 0 and removes its socket.
    milter.signal("-TERM");
    assert_eq!(milter.wait(), 0, "{}", milter.log_text());
    assert!(!s.join("milter.sock").exists());
}

#[test]
fn r11_milter_finishes_the_message_in_progress_after_sigterm() {
    let s = Scratch::new();
    let e = Endpoint::Inet(free_port());
    let mut milter = builtin_milter(&s, &e, &["--on-fail", "reject"]);
    // An idle connection is closed at once on SIGTERM; a busy one finishes its message.
    let mut idle = Mta::connect(&e);
    idle.negotiate();
    let mut busy = Mta::connect(&e);
    busy.negotiate();
    busy.send(b'M', b"<alice@example.org>\0");
    busy.expect(b'c');
    busy.header("Subject", " hi");
    milter.signal("-TERM");
    assert!(idle.read().is_none(), "idle connection closed");
    std::thread::sleep(Duration::from_millis(300));
    assert!(milter.child.try_wait().expect("wait").is_none());
    busy.header("From", " alice@example.org");
    busy.send(b'N', b"");
    busy.expect(b'c');
    busy.send(b'B', b"hello\r\n");
    busy.expect(b'c');
    // No X-XIMF-NAME and the built-in catalog's plain instance has no rules: pass.
    let replies = busy.end();
    assert_eq!(replies.last().map(|r| r.0), Some('c'), "{replies:?}");
    assert!(busy.read().is_none(), "closed after the message");
    assert_eq!(milter.wait(), 0, "{}", milter.log_text());
}

#[test]
fn r11_milter_oversize_stops_the_body_and_takes_the_failure_action() {
    let s = Scratch::new();
    let e = Endpoint::Inet(free_port());
    let milter = builtin_milter(&s, &e, &["--max-size", "2000", "--on-fail", "reject"]);
    let mut mta = Mta::connect(&e);
    // SMFIP_SKIP agreed: the MTA may stop sending the body once ximf has seen enough.
    assert_ne!(mta.negotiate() & 0x400, 0);
    mta.send(b'M', b"<alice@example.org>\0");
    mta.expect(b'c');
    mta.header("Subject", " big");
    mta.send(b'N', b"");
    mta.expect(b'c');
    mta.send(b'B', &[b'x'; 1500]);
    mta.expect(b'c');
    mta.send(b'B', &[b'x'; 1500]);
    mta.expect(b's');
    let replies = mta.end();
    assert_eq!(
        replies,
        [(
            'y',
            "552 5.3.4 ximf: message too large: 3016 bytes, the limit is 2000|".to_owned()
        )],
        "{}",
        milter.log_text()
    );
}

#[test]
fn r11_milter_usage_errors_are_one_line() {
    let cases: [(&[&str], i32, &str); 4] = [
        (&["milter", "--socket", "inet:8891"], 64, "ximf milter: "),
        (&["milter", "--socket", "tcp:1@h"], 64, "ximf milter: "),
        (
            &[
                "milter",
                "--socket",
                "inet:127.0.0.1:1",
                "--usage",
                "private",
            ],
            78,
            "ximf milter: usage 'private': no correspondence type fits",
        ),
        (
            &["milter", "--socket", "unix:/nonexistent/dir/x.sock"],
            75,
            "ximf milter: unix:/nonexistent/dir/x.sock: ",
        ),
    ];
    for (args, want, start) in cases {
        let o = run(Command::new(ximf_bin()).args(args), b"");
        assert_eq!(code(&o), want, "{args:?}: {}", err(&o));
        assert!(err(&o).starts_with(start), "{args:?}: {}", err(&o));
        assert!(o.stdout.is_empty());
    }
}

// ---------------------------------------------------------------------------------------------
// The real Postfix.

fn skip_unless_root() -> bool {
    if !is_root() {
        eprintln!("skipped: starting a private Postfix needs root (CI runs as root)");
        return true;
    }
    false
}

/// A private Postfix whose smtpd on the returned port uses the milter on `milter_port`, with
/// the README's main.cf lines.
fn postfix_with_milter(s: &Scratch, milter_port: u16) -> (Postfix, u16) {
    let port = free_port();
    let main = MAIN_CF.replace("8891", &milter_port.to_string());
    let master = format!("127.0.0.1:{port} inet n - n - - smtpd\n");
    (Postfix::start(s.path(), &main, &master), port)
}

/// The systemd unit's `ExecStart=` words, with the binary, the config file and the port
/// replaced for the test, and the hidden `--now` added.
fn unit_command(config: &Path, milter_port: u16) -> Vec<String> {
    let unit =
        std::fs::read_to_string(root().join("scripts/ximf-milter.service")).expect("unit file");
    let line = unit
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart=");
    let mut words: Vec<String> = line.split_whitespace().map(str::to_owned).collect();
    assert_eq!(words[0], "/usr/local/bin/ximf");
    words.remove(0);
    let mut out = Vec::new();
    for w in words {
        out.push(match w.as_str() {
            "/etc/ximf/config.toml" => config.display().to_string(),
            "inet:127.0.0.1:8891" => format!("inet:127.0.0.1:{milter_port}"),
            _ => w,
        });
    }
    assert!(out.contains(&config.display().to_string()), "{line}");
    out.extend([
        "--now".into(),
        NOW.into(),
        "--authserv-id".into(),
        AUTHSERV.into(),
    ]);
    out
}

/// A config file naming the built-in catalog (copied) and the test root as the only anchor.
fn test_config(s: &Scratch) -> PathBuf {
    let profile = s.builtin_profile();
    s.write(
        "config.toml",
        format!(
            "profile = \"{}\"\n[trust]\nca = [\"{}\"]\nsystem_ca = false\n",
            profile.display(),
            key("root.crt")
        ),
    )
}

/// The delivered messages' header sections.
fn delivered(pf: &Postfix, n: usize) -> Vec<String> {
    wait_for(&format!("{n} deliveries"), || {
        maildir_files(&pf.maildir()).len() >= n
    });
    maildir_files(&pf.maildir())
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("delivered"))
        .collect()
}

fn field<'a>(header: &'a str, name: &str) -> Vec<&'a str> {
    header
        .lines()
        .filter(|l| {
            l.split_once(':')
                .is_some_and(|(n, _)| n.eq_ignore_ascii_case(name))
        })
        .collect()
}

#[test]
fn r11_postfix_milter_delivers_signed_mail_with_the_verdict_fields() {
    if skip_unless_root() {
        return;
    }
    let s = Scratch::new();
    let milter_port = free_port();
    let e = Endpoint::Inet(milter_port);
    let config = test_config(&s);
    let milter = Milter::start(&s, "milter", &unit_command(&config, milter_port), &e);
    let (pf, port) = postfix_with_milter(&s, milter_port);
    // A sender's forged verdicts for our authserv-id go; another domain's stays.
    let mut forged = format!(
        "X-XIMF-Verify: pass (authserv-id={AUTHSERV}; forged)\n\
         Authentication-Results: {AUTHSERV}; smime=pass\n\
         Authentication-Results: other.example; smime=pass\n"
    )
    .into_bytes();
    forged.extend(signed());
    let reply = smtp_send(port, "alice@example.org", &["bob@example.org"], &forged);
    assert!(reply.starts_with("250"), "{reply}\n{}", milter.log_text());
    let m = delivered(&pf, 1).remove(0);
    let h = header(m.as_bytes());
    let verdicts = field(&h, "X-XIMF-Verify");
    assert_eq!(
        verdicts,
        [format!(
            "X-XIMF-Verify: pass (authserv-id={AUTHSERV}; instance=Example;"
        )],
        "{h}"
    );
    assert_eq!(
        field(&h, "Authentication-Results"),
        [
            format!("Authentication-Results: {AUTHSERV}; smime=pass"),
            "Authentication-Results: other.example; smime=pass".to_owned()
        ],
        "{h}"
    );
    assert!(h.contains("body.smime-identifier=alice@example.org"), "{h}");
    // Ours are on top, above Postfix's own Received: (below what delivery adds).
    let delivery = ["Return-Path:", "X-Original-To:", "Delivered-To:"];
    let top: Vec<&str> = h
        .lines()
        .filter(|l| !l.starts_with([' ', '\t']))
        .skip_while(|l| delivery.iter().any(|d| l.starts_with(d)))
        .take(3)
        .collect();
    assert!(
        top[0].starts_with("Authentication-Results: mx.example.net"),
        "{h}"
    );
    assert!(top[1].starts_with("X-XIMF-Verify: pass"), "{h}");
    assert!(top[2].starts_with("Received: "), "{h}");
    // The message itself is intact: it still verifies, as delivered.
    let o = run(
        Command::new(ximf_bin()).args([
            "--now",
            NOW,
            "verify",
            "--ca",
            &key("root.crt"),
            "--no-system-ca",
            "-",
        ]),
        m.as_bytes(),
    );
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));

    // Annotate (the unit's default): a tampered message is delivered with a fail verdict.
    let reply = smtp_send(port, "alice@example.org", &["bob@example.org"], &tampered());
    assert!(reply.starts_with("250"), "{reply}");
    let all = delivered(&pf, 2);
    let bad = all
        .iter()
        .find(|m| m.contains("all bad"))
        .expect("tampered delivered");
    let h = header(bad.as_bytes());
    let v = field(&h, "X-XIMF-Verify");
    assert_eq!(v.len(), 1, "{h}");
    assert!(v[0].starts_with("X-XIMF-Verify: fail"), "{h}");
    assert!(h.contains("signature-invalid"), "{h}");
    assert!(
        h.contains(&format!("Authentication-Results: {AUTHSERV}; smime=fail")),
        "{h}"
    );
    let log = pf.log_text();
    assert!(!log.contains("status=bounced"), "{log}");
}

#[test]
fn r11_postfix_milter_rejects_tampered_mail_with_5_7_7() {
    if skip_unless_root() {
        return;
    }
    let s = Scratch::new();
    let milter_port = free_port();
    let e = Endpoint::Inet(milter_port);
    let milter = builtin_milter(&s, &e, &["--on-fail", "reject"]);
    let (pf, port) = postfix_with_milter(&s, milter_port);
    let reply = smtp_send(port, "alice@example.org", &["bob@example.org"], &tampered());
    assert!(
        reply.starts_with("550 5.7.7 ximf: signature-invalid: "),
        "{reply}\n{}",
        milter.log_text()
    );
    let reply = smtp_send(port, "alice@example.org", &["bob@example.org"], &signed());
    assert!(reply.starts_with("250"), "{reply}");
    let all = delivered(&pf, 1);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(maildir_files(&pf.maildir()).len(), 1);
    assert!(all[0].contains("X-XIMF-Verify: pass"), "{}", all[0]);
    let log = pf.log_text();
    assert!(log.contains("milter-reject: END-OF-MESSAGE"), "{log}");
    assert!(
        milter.log_text().contains("signature-invalid"),
        "{}",
        milter.log_text()
    );
}

#[test]
fn r11_postfix_milter_holds_tampered_mail_in_quarantine_mode() {
    if skip_unless_root() {
        return;
    }
    let s = Scratch::new();
    let milter_port = free_port();
    let e = Endpoint::Inet(milter_port);
    let _milter = builtin_milter(&s, &e, &["--on-fail", "quarantine"]);
    let (pf, port) = postfix_with_milter(&s, milter_port);
    let reply = smtp_send(port, "alice@example.org", &["bob@example.org"], &tampered());
    assert!(reply.starts_with("250"), "{reply}");
    let queue_id = reply
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_owned();
    let held = || {
        let o = run(
            Command::new(require("postqueue"))
                .arg("-c")
                .arg(&pf.config)
                .arg("-j"),
            b"",
        );
        out(&o)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v["queue_id"] == queue_id.as_str())
    };
    wait_for("the message on hold", || {
        held().is_some_and(|v| v["queue_name"] == "hold")
    });
    assert!(maildir_files(&pf.maildir()).is_empty());
    // Held with the verdict fields, so whoever releases it sees why.
    let o = run(
        Command::new(require("postcat"))
            .arg("-c")
            .arg(&pf.config)
            .args(["-h", "-q", &queue_id]),
        b"",
    );
    let h = out(&o);
    assert!(h.contains("X-XIMF-Verify: fail"), "{h}{}", err(&o));
    assert!(pf.log_text().contains("milter-hold"), "{}", pf.log_text());
}

#[test]
fn r11_postfix_msa_refuses_policy_violations_at_smtp_time() {
    if skip_unless_root() {
        return;
    }
    let s = Scratch::new();
    let milter_port = free_port();
    let e = Endpoint::Inet(milter_port);
    let corp = corporate();
    let args: Vec<String> = [
        "-p",
        &corp,
        "--now",
        MONDAY,
        "milter",
        "--socket",
        &e.flag(),
        "--agent",
        "msa",
        "--usage",
        "professional",
        "--context",
        "network=office",
        "--ca",
        &key("root.crt"),
        "--no-system-ca",
    ]
    .iter()
    .map(|a| a.to_string())
    .collect();
    let milter = Milter::start(&s, "msa", &args, &e);
    // Submission gets its own milter, as the README's master.cf `-o` override does it.
    let port = free_port();
    let master = format!(
        "127.0.0.1:{port} inet n - n - - smtpd\n  -o smtpd_milters=inet:127.0.0.1:{milter_port}\n"
    );
    let _pf = Postfix::start(s.path(), "milter_default_action = tempfail", &master);
    let msg = b"From: Alice <alice@example.org>\nTo: bob@example.org\nCc: archive@example.org\n\
Subject: figures\nDate: Mon, 30 Nov 2026 09:00:00 +0000\n\nbody\n";
    let office = ["--usage", "professional", "--context", "network=office"];
    let mut stamp = vec!["-p", &corp, "--now", MONDAY, "stamp"];
    stamp.extend(office);
    stamp.extend([
        "--set",
        "X-XIMF-Security-Classification=corp-internal",
        "--set",
        "X-XIMF-Primary-Precedence=routine",
    ]);
    let stamped = ximf_ok(&stamp, msg);
    let (k, c) = (key("alice.key"), key("alice.chain.pem"));
    let mut protect = vec!["-p", &corp, "--now", MONDAY, "protect"];
    protect.extend(office);
    protect.extend(["--key", &k, "--cert", &c]);
    let signed = ximf_ok(&protect, &stamped);
    // As submitted: To and Cc as the type demands.
    let ok = ["bob@example.org", "archive@example.org"];
    let reply = smtp_send(port, "alice@example.org", &ok, &signed);
    assert!(reply.starts_with("250"), "{reply}\n{}", milter.log_text());
    // The same message with a hidden (Bcc) recipient outside the allowed domains: refused at
    // end of data, naming the rule and the recipient.
    let bcc = [
        "bob@example.org",
        "archive@example.org",
        "eve@attacker.example",
    ];
    let reply = smtp_send(port, "alice@example.org", &bcc, &signed);
    assert!(
        reply.starts_with("550 5.7.1 ximf: recipient-domain-not-allowed: eve@attacker.example: "),
        "{reply}"
    );
    // A recipient in an allowed domain but not cleared for corp-internal (need-to-know).
    let uncleared = [
        "bob@example.org",
        "archive@example.org",
        "friend@example.net",
    ];
    let reply = smtp_send(port, "alice@example.org", &uncleared, &signed);
    assert!(
        reply.starts_with("550 5.7.1 ximf: need-to-know: friend@example.net "),
        "{reply}"
    );
    // Unsigned, although the type demands a signature.
    let reply = smtp_send(port, "alice@example.org", &ok, &stamped);
    assert!(reply.starts_with("550 5.7."), "{reply}");
    assert!(reply.contains("ximf: signature-"), "{reply}");
}

/// One SMTP session, step by step.
struct Smtp {
    r: BufReader<std::net::TcpStream>,
    w: std::net::TcpStream,
}

impl Smtp {
    fn connect(port: u16) -> Smtp {
        let w = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
        w.set_read_timeout(Some(LIMIT)).expect("timeout");
        let r = BufReader::new(w.try_clone().expect("clone"));
        let mut s = Smtp { r, w };
        let g = s.reply();
        assert!(g.starts_with("220"), "{g}");
        s
    }

    fn reply(&mut self) -> String {
        loop {
            let mut l = String::new();
            self.r.read_line(&mut l).expect("reply");
            assert!(!l.is_empty(), "connection closed");
            if l.as_bytes().get(3) != Some(&b'-') {
                return l;
            }
        }
    }

    fn cmd(&mut self, line: &str) -> String {
        self.w
            .write_all(format!("{line}\r\n").as_bytes())
            .expect("send");
        self.reply()
    }
}

#[test]
fn r11_postfix_loses_nothing_when_the_milter_dies_mid_session() {
    if skip_unless_root() {
        return;
    }
    let s = Scratch::new();
    let milter_port = free_port();
    let e = Endpoint::Inet(milter_port);
    let mut milter = builtin_milter(&s, &e, &[]);
    let (pf, port) = postfix_with_milter(&s, milter_port);
    let message = signed();
    let mut smtp = Smtp::connect(port);
    assert!(smtp.cmd("EHLO client.example.net").starts_with("250"));
    assert!(smtp.cmd("MAIL FROM:<alice@example.org>").starts_with("250"));
    assert!(smtp.cmd("RCPT TO:<bob@example.org>").starts_with("250"));
    assert!(smtp.cmd("DATA").starts_with("354"));
    let text = String::from_utf8(message.clone()).expect("ascii");
    for line in text.lines() {
        let dot = if line.starts_with('.') { "." } else { "" };
        smtp.w
            .write_all(format!("{dot}{line}\r\n").as_bytes())
            .expect("data");
    }
    // The milter dies while the client is in DATA.
    milter.signal("-KILL");
    milter.wait();
    let reply = smtp.cmd(".");
    assert!(
        reply.starts_with('4'),
        "the client is told to retry: {reply}"
    );
    let _ = smtp.cmd("QUIT");
    // Nothing was queued or delivered: the message is still the client's.
    assert!(!pf.queue().contains("bob@example.org"), "{}", pf.queue());
    assert!(maildir_files(&pf.maildir()).is_empty());
    // The milter is back (systemd restarts it); the client retries and it goes through.
    let _milter = builtin_milter(&s, &e, &[]);
    let reply = smtp_send(port, "alice@example.org", &["bob@example.org"], &message);
    assert!(reply.starts_with("250"), "{reply}");
    let m = delivered(&pf, 1).remove(0);
    assert!(m.contains("X-XIMF-Verify: pass"), "{m}");
    let log = pf.log_text();
    assert!(!log.contains("status=bounced"), "{log}");
}
