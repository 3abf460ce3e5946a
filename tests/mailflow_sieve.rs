//! Pigeonhole Sieve with `vnd.dovecot.filter` (sieve_extprograms): the shipped script
//! (testdata/mailflow/ximf.sieve) runs the shipped `ximf-verify` wrapper from
//! `sieve_filter_bin_dir`, annotates, and files by verdict; a failing filter leaves the message
//! unchanged and it is filed as unchecked (design.md §6).
//!
//! sieve-test refuses to run as root, so as root it runs as nobody (setpriv), and every file it
//! touches lives in a directory nobody can read.

use crate::support::mailflow::*;
use std::path::Path;
use std::process::Output;

/// The shipped files, with the test's paths written in where an installation has its own.
struct Shipped {
    s: Scratch,
    sieve: Sieve,
}

impl Shipped {
    fn new(profile: &Path) -> Shipped {
        let s = Scratch::new();
        let ximf = s.ximf_copy();
        let profile = if profile.starts_with(root()) {
            // nobody may not reach the build tree: copy the profile directory too.
            let dest = s.join("profile");
            copy_dir(profile, &dest);
            dest
        } else {
            profile.to_owned()
        };
        let bin = Sieve::filter_dir(&s);
        s.script(
            "sieve-filter/ximf-verify",
            &shipped_filter("ximf-verify", &ximf, &profile),
        );
        let conf = std::fs::read_to_string(mailflow("90-sieve-ximf.conf"))
            .expect("conf")
            .replace(
                "/usr/local/lib/ximf/sieve-filter",
                &bin.display().to_string(),
            );
        let script = std::fs::read(mailflow("ximf.sieve")).expect("script");
        let sieve = Sieve::install(&s, "ximf.sieve", script, "dovecot.conf", &conf);
        Shipped { s, sieve }
    }

    /// `sieve-test [-e] ... msg` with HOME in the scratch directory.
    fn run(&self, name: &str, msg: &[u8], execute: bool) -> Output {
        let mail = self.s.write(name, msg);
        let mut cmd = self.sieve.command(&mail, execute);
        run(cmd.env("HOME", self.s.path()), b"")
    }

    fn stored(&self, folder: &str) -> Vec<String> {
        self.sieve.stored(folder)
    }
}

/// What sieve-test lists under "Performed actions".
fn actions(o: &Output) -> String {
    let text = out(o);
    text.split("Performed actions:")
        .nth(1)
        .unwrap_or_default()
        .split("Implicit keep:")
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned()
}

#[test]
fn sieve_annotates_and_files_by_verdict() {
    let sv = Shipped::new(&root().join("profiles/builtin"));
    let good = stamped();
    let bad = PLAIN.replacen("Subject:", "X-XIMF-NAME: Example\nSubject:", 1);

    // Dry run: the actions sieve-test would take.
    let o = sv.run("good.eml", &good, false);
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    assert_eq!(
        actions(&o),
        "* store message in folder: INBOX",
        "{}",
        out(&o)
    );
    let o = sv.run("bad.eml", bad.as_bytes(), false);
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    assert_eq!(
        actions(&o),
        "* store message in folder: Quarantine\n        + create mailbox if it does not exist",
        "{}",
        out(&o)
    );

    // Executed: the stored messages carry the verdict on top and are otherwise unchanged.
    let o = sv.run("good.eml", &good, true);
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    let o = sv.run("bad.eml", bad.as_bytes(), true);
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    let inbox = sv.stored("INBOX");
    assert_eq!(inbox.len(), 1, "{inbox:?}");
    assert!(
        inbox[0].starts_with("X-XIMF-Verify: pass (authserv-id=mx.example.org; instance=Example;"),
        "{}",
        inbox[0]
    );
    assert!(inbox[0].as_bytes().ends_with(&good));
    let q = sv.stored("Quarantine");
    assert_eq!(q.len(), 1, "{q:?}");
    assert!(q[0].starts_with("X-XIMF-Verify: fail ("), "{}", q[0]);
    assert!(
        q[0].contains("codes=missing-version,missing-mandatory-header"),
        "{}",
        q[0]
    );
    assert!(q[0].ends_with(&bad));
}

#[test]
fn a_failing_filter_leaves_the_message_unchanged_and_unchecked() {
    let s = Scratch::new();
    let broken = s.write(
        "broken.xml",
        "<ximf:instance xmlns:ximf=\"http://eads.org/ximf/\"",
    );
    let sv = Shipped::new(&broken);
    let good = stamped();
    let o = sv.run("good.eml", &good, true);
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    let said = out(&o) + &err(&o);
    assert!(
        said.contains("stored mail into mailbox 'Unchecked'"),
        "{said}"
    );
    let kept = sv.stored("Unchecked");
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert_eq!(
        kept[0].as_bytes(),
        &good[..],
        "the message must be as it came"
    );
    assert!(sv.stored("INBOX").is_empty() && sv.stored("Quarantine").is_empty());
}
