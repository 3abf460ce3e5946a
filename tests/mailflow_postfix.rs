//! Postfix with `ximf verify --annotate` as a pipe(8) content filter (the shipped
//! testdata/mailflow/ximf-filter), on a private Postfix instance listening on 127.0.0.1 only:
//! conforming mail is delivered annotated; a temporary failure of the filter (exit 75) leaves
//! the message deferred in the queue, never bounced or lost (design.md §6, style.md §3).
//!
//! Needs root (Postfix's master, and pipe(8) switching to nobody). The shipped filter reinjects
//! with `sendmail -G -i`; here it reinjects over SMTP to a second loopback smtpd instead,
//! because Postfix lets an unprivileged user (the filter runs as nobody) use a private
//! configuration directory only when /etc/postfix/main.cf lists it, and a test must not edit
//! /etc. Everything ximf does is the same either way.

use crate::support::mailflow::*;
use std::path::Path;

/// Starts Postfix: smtpd on `port` with `content_filter = ximf:dummy`, a reinjection smtpd on
/// another port without it, and the `ximf` pipe(8) service running the shipped filter script
/// with `profile`.
fn postfix_with_filter(s: &Scratch, profile: &Path) -> (Postfix, u16) {
    let ximf = s.ximf_copy();
    let port = free_port();
    let reinject_port = free_port();
    let reinject = s.script(
        "reinject",
        &format!(
            r#"#!/bin/bash
# Test stand-in for `sendmail -G -i -f SENDER -- RCPT...`: the same message over SMTP.
set -u
sender= rcpts=()
while [ $# -gt 0 ]; do
  case $1 in -G|-i) shift ;; -f) sender=$2; shift 2 ;; --) shift; rcpts+=("$@"); break ;; *) rcpts+=("$1"); shift ;; esac
done
exec 3<>/dev/tcp/127.0.0.1/{reinject_port} || exit 75
expect() {{ while IFS= read -r line <&3; do case $line in "$1-"*) ;; "$1"*) return 0 ;; *) echo "reinject: $line" >&2; exit 75 ;; esac; done; exit 75; }}
expect 220
printf 'EHLO filter.example.net\r\n' >&3; expect 250
printf 'MAIL FROM:<%s>\r\n' "$sender" >&3; expect 250
for r in "${{rcpts[@]}}"; do printf 'RCPT TO:<%s>\r\n' "$r" >&3; expect 250; done
printf 'DATA\r\n' >&3; expect 354
sed -e 's/\r$//' -e 's/^\./../' -e 's/$/\r/' >&3
printf '.\r\n' >&3; expect 250
printf 'QUIT\r\n' >&3
"#
        ),
    );
    let filter = shipped_filter("ximf-filter", &ximf, profile).replace(
        "SENDMAIL=\"/usr/sbin/sendmail -G -i\"",
        &format!("SENDMAIL=\"{} -G -i\"", reinject.display()),
    );
    assert!(filter.contains(&reinject.display().to_string()));
    let filter = s.script("ximf-filter", &filter);
    let master = format!(
        "127.0.0.1:{port} inet n - n - - smtpd\n  -o content_filter=ximf:dummy\n\
         127.0.0.1:{reinject_port} inet n - n - - smtpd\n  -o content_filter=\n  \
         -o receive_override_options=no_unknown_recipient_checks,no_header_body_checks\n\
         ximf unix - n n - 10 pipe\n  flags=Rq user=nobody null_sender=\n  \
         argv={} -f ${{sender}} -- ${{recipient}}\n",
        filter.display()
    );
    (Postfix::start(s.path(), "", &master), port)
}

/// Starts Postfix configured by the README's recipe as printed (testdata/mailflow/
/// postfix-master.cf and postfix-main.cf, which README.md shows verbatim), with the shipped
/// filter re-injecting through the real `sendmail -G -i`, postdrop and pickup(8).
///
/// What differs from a production install is due to this Postfix being a private instance run
/// by a test: the smtpd listens on a free loopback port and is not chrooted (there is no chroot
/// tree); the filter runs as nobody and its sendmail gets the private configuration from
/// `MAIL_CONFIG` (sendmail refuses `-C` from a user other than root unless /etc lists it);
/// and the set-gid postdrop, which accepts a private configuration directory only when
/// /etc/postfix/main.cf lists it (alternate_config_directories; a test must not edit /etc), is
/// replaced by a copy without set-gid, with the maildrop directory writable by all (the
/// Postfix 1 layout) so that nobody can drop mail there for pickup.
fn postfix_from_the_recipe(s: &Scratch, profile: &Path) -> (Postfix, u16) {
    let ximf = s.ximf_copy();
    let port = free_port();
    let config = s.join("postfix");
    let filter = shipped_filter("ximf-filter", &ximf, profile).replace(
        "SENDMAIL=\"/usr/sbin/sendmail -G -i\"",
        &format!(
            "SENDMAIL=\"env MAIL_CONFIG={} /usr/sbin/sendmail -G -i\"",
            config.display()
        ),
    );
    assert!(
        filter.contains("MAIL_CONFIG="),
        "the filter's SENDMAIL line moved"
    );
    let filter = s.script("ximf-filter", &filter);
    let recipe = std::fs::read_to_string(mailflow("postfix-master.cf")).expect("recipe");
    let main = std::fs::read_to_string(mailflow("postfix-main.cf")).expect("recipe");
    let mut master = String::new();
    for line in recipe.lines().filter(|l| !l.starts_with('#')) {
        let line = match line.strip_prefix("smtp      inet  n       -       y ") {
            Some(rest) => format!("127.0.0.1:{port} inet  n       -       n {rest}"),
            None => line.replace("user=ximf ", "user=nobody ").replace(
                "/usr/local/lib/ximf/ximf-filter",
                &filter.display().to_string(),
            ),
        };
        master.push_str(&line);
        master.push('\n');
    }
    for want in ["127.0.0.1:", "-o content_filter=ximf:dummy", "user=nobody "] {
        assert!(
            master.contains(want),
            "recipe changed: {want} not in\n{master}"
        );
    }
    assert!(
        !main.lines().any(|l| l.starts_with("content_filter")),
        "{main}"
    );
    let bin = s.join("bin");
    std::fs::create_dir_all(&bin).expect("mkdir");
    for e in std::fs::read_dir("/usr/sbin").expect("/usr/sbin").flatten() {
        let name = e.file_name();
        let n = name.to_string_lossy();
        if n == "postdrop" {
            std::fs::copy(e.path(), bin.join(&name)).expect("copy postdrop");
            set_mode(&bin.join(&name), 0o755);
        } else if n.starts_with("post") || n == "sendmail" {
            std::os::unix::fs::symlink(e.path(), bin.join(&name)).expect("symlink");
        }
    }
    set_mode(&bin, 0o755);
    let main = format!("{main}\ncommand_directory = {}\n", bin.display());
    let pf = Postfix::start(s.path(), &main, &master);
    set_mode(&s.join("spool/maildrop"), 0o1733);
    set_mode(&s.join("spool/public"), 0o711);
    (pf, port)
}

#[test]
fn postfix_content_filter_delivers_annotated_mail() {
    if !is_root() {
        eprintln!("skipped: starting a private Postfix needs root (CI runs as root)");
        return;
    }
    let s = Scratch::new();
    // nobody may not reach the build tree: the pipe(8) user reads the scratch directory's copy.
    let profile = s.builtin_profile();
    let (pf, port) = postfix_with_filter(&s, &profile);
    let good = stamped();
    let reply = smtp_send(port, "alice@example.org", &["bob@example.org"], &good);
    assert!(reply.starts_with("250"), "{reply}");
    let bad = PLAIN
        .replacen("Subject:", "X-XIMF-NAME: Example\nSubject:", 1)
        .replace("Quarterly figures", "Missing values");
    let reply = smtp_send(
        port,
        "alice@example.org",
        &["bob@example.org"],
        bad.as_bytes(),
    );
    assert!(reply.starts_with("250"), "{reply}");
    wait_for("two deliveries", || maildir_files(&pf.maildir()).len() == 2);
    let mut verdicts = Vec::new();
    for f in maildir_files(&pf.maildir()) {
        let m = std::fs::read_to_string(&f).expect("delivered");
        let h = header(m.as_bytes());
        let line = h
            .lines()
            .find(|l| l.starts_with("X-XIMF-Verify: "))
            .unwrap_or_else(|| panic!("not annotated:\n{m}\nlog:\n{}", pf.log_text()));
        assert_eq!(h.matches("X-XIMF-Verify:").count(), 1, "{h}");
        let subject = h
            .lines()
            .find(|l| l.starts_with("Subject: "))
            .unwrap_or_default();
        verdicts.push(format!("{subject} => {}", &line[15..19]));
        // Postfix adds trace fields; the message itself is intact below them.
        assert!(
            m.ends_with("Hello Bob,\nFrom the figures: all good.\n"),
            "{m}"
        );
    }
    verdicts.sort();
    assert_eq!(
        verdicts,
        [
            "Subject: Missing values => fail",
            "Subject: Quarterly figures => pass"
        ]
    );
    let log = pf.log_text();
    assert!(log.contains("relay=ximf"), "{log}");
    assert!(!log.contains("status=bounced"), "{log}");
}

#[test]
fn postfix_defers_when_the_filter_fails_temporarily() {
    if !is_root() {
        eprintln!("skipped: starting a private Postfix needs root (CI runs as root)");
        return;
    }
    let s = Scratch::new();
    // A broken profile: ximf exits 78, the filter turns that into 75, pipe(8) defers.
    let broken = s.write(
        "broken.xml",
        "<ximf:instance xmlns:ximf=\"http://eads.org/ximf/\"",
    );
    let (pf, port) = postfix_with_filter(&s, &broken);
    let reply = smtp_send(port, "alice@example.org", &["bob@example.org"], &stamped());
    assert!(reply.starts_with("250"), "{reply}");
    let queue_id = reply
        .split_whitespace()
        .last()
        .unwrap_or_default()
        .to_owned();
    wait_for("the deferral", || pf.log_text().contains("status=deferred"));
    let log = pf.log_text();
    assert!(log.contains("relay=ximf"), "{log}");
    assert!(
        log.contains("deferring"),
        "the filter's reason is logged: {log}"
    );
    assert!(!log.contains("status=bounced"), "{log}");
    let q = pf.queue();
    assert!(
        q.contains(&queue_id),
        "queue id {queue_id} not queued:\n{q}"
    );
    assert!(q.contains("bob@example.org"), "{q}");
    assert!(
        maildir_files(&pf.maildir()).is_empty(),
        "neither delivered nor bounced"
    );
}

#[test]
fn postfix_readme_recipe_filters_each_message_once() {
    if !is_root() {
        eprintln!("skipped: starting a private Postfix needs root (CI runs as root)");
        return;
    }
    let s = Scratch::new();
    let profile = s.builtin_profile();
    let (pf, port) = postfix_from_the_recipe(&s, &profile);
    for subject in ["first", "second"] {
        let m = String::from_utf8(stamped())
            .expect("utf8")
            .replace("Quarterly figures", subject);
        let reply = smtp_send(
            port,
            "alice@example.org",
            &["bob@example.org"],
            m.as_bytes(),
        );
        assert!(reply.starts_with("250"), "{reply}");
    }
    let start = std::time::Instant::now();
    while maildir_files(&pf.maildir()).len() < 2 {
        let log = pf.log_text();
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60)
                && !log.contains("status=deferred"),
            "not delivered:\n{log}"
        );
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    for f in maildir_files(&pf.maildir()) {
        let m = std::fs::read_to_string(&f).expect("delivered");
        let h = header(m.as_bytes());
        assert_eq!(h.matches("X-XIMF-Verify: pass").count(), 1, "{h}");
        assert!(!h.contains("X-XIMF-Verify: fail"), "{h}");
    }
    // Re-injected through pickup, which does not filter again: the filter ran once per
    // message, and no message came back to it (a loop ends in "mail forwarding loop").
    std::thread::sleep(std::time::Duration::from_secs(2));
    let log = pf.log_text();
    assert_eq!(log.matches("relay=ximf").count(), 2, "{log}");
    assert!(log.contains("postfix/pickup"), "{log}");
    assert!(!log.contains("loop"), "{log}");
    assert!(!log.contains("status=bounced"), "{log}");
    assert_eq!(maildir_files(&pf.maildir()).len(), 2);
}
