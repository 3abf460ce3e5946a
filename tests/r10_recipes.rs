//! Issue 10, "How it is shown": the README's mail-flow recipes as printed, with real peers.
//!
//! 1. The procmail recipe and the Sieve script (with its `plugin { }` settings and the
//!    `ximf-verify` wrapper), copied out of README.md at test time with only the binary path
//!    (`/usr/local/bin/ximf`), the profile path (`/etc/ximf`) and the filter directory replaced,
//!    run by the real procmail and the real sieve-test. The trust anchors come from the
//!    user's configuration file (`~/.config/ximf/config.toml`, `[trust] ca`), never from a
//!    flag: a genuinely signed message lands in the inbox / is kept with `X-XIMF-Verify: pass`,
//!    a tampered copy goes to Quarantine.
//! 2. mutt in batch mode sends through `ximf sendmail`: signed with an OpenPGP key that only
//!    gpg-agent holds (`--key 0xFPR`, passphrase preset in the agent) and encrypted to bob found
//!    by address in the GnuPG keyring; and signed with S/MIME and encrypted to bob found by
//!    address in the config's `cert_dir`. The receiving side decrypts with bob's key and finds
//!    the signature valid: OpenPGP with the config's `trust.keyring`, S/MIME with the config's
//!    `trust.ca` and with the system store (`SSL_CERT_FILE`) alone.
//!
//! The filters run without `--now` in the recipe; the test fixes the clock by replacing the
//! recipe's binary with a two-line script that adds `--now` and runs the binary under test.
//! A missing peer program is a skip with the reason on stderr, as in the mailflow tests.

use crate::support::mailflow::*;
use crate::support::{Ximf, find_program};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// OpenPGP tests' time (testdata/keys/pgp/README.md).
const PGP_NOW: &str = "2026-06-01T00:00:00Z";
/// When gpg makes the agent's key: before [`PGP_NOW`].
const KEY_TIME: &str = "20250101T000000!";
/// The agent key's passphrase; it must never show up in what ximf writes.
const PASS: &str = "r10 recipes&agent;pass";
/// The installed paths the README's recipes name.
const README_BIN: &str = "/usr/local/bin/ximf";
const README_PROFILE: &str = "/etc/ximf";
const README_FILTER_DIR: &str = "/usr/local/lib/ximf/sieve-filter";

// ---------------------------------------------------------------------------------------------
// README.md

/// The fenced code blocks of README.md, in order: (info string, body without the fences).
fn fences() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(root().join("README.md")).expect("README.md");
    let mut blocks = Vec::new();
    let mut open: Option<(String, usize, String)> = None;
    for line in text.lines() {
        let trimmed = line.trim_start();
        let indent = line.len() - trimmed.len();
        match open.take() {
            None => {
                if let Some(info) = trimmed.strip_prefix("```") {
                    open = Some((info.trim().to_owned(), indent, String::new()));
                }
            }
            Some((info, ind, mut body)) => {
                if trimmed.starts_with("```") {
                    blocks.push((info, body));
                } else {
                    body.push_str(line.get(ind..).unwrap_or(trimmed));
                    body.push('\n');
                    open = Some((info, ind, body));
                }
            }
        }
    }
    assert!(open.is_none(), "README.md has an unclosed fence");
    blocks
}

/// The one block of README.md with info string `lang`, and its index.
fn only_block(blocks: &[(String, String)], lang: &str) -> (usize, String) {
    let found: Vec<usize> = (0..blocks.len()).filter(|&i| blocks[i].0 == lang).collect();
    assert_eq!(found.len(), 1, "README.md: one ```{lang} block expected");
    (found[0], blocks[found[0]].1.clone())
}

/// The README's Sieve setup: the script, the Dovecot settings and the wrapper program.
struct SieveRecipe {
    script: String,
    conf: String,
    wrapper: String,
}

fn sieve_recipe() -> SieveRecipe {
    let blocks = fences();
    let (at, script) = only_block(&blocks, "sieve");
    let after = &blocks[at + 1..];
    let conf = after
        .iter()
        .find(|(_, b)| b.contains("sieve_filter_bin_dir"))
        .expect("README.md: the plugin { } settings after the Sieve script")
        .1
        .clone();
    let wrapper = after
        .iter()
        .find(|(lang, _)| lang == "sh")
        .expect("README.md: the wrapper ```sh block after the Sieve script")
        .1
        .clone();
    assert!(
        wrapper.starts_with("#!/bin/sh\n") && wrapper.contains("verify --annotate"),
        "the first ```sh block after the Sieve script is not the wrapper:\n{wrapper}"
    );
    SieveRecipe {
        script,
        conf,
        wrapper,
    }
}

/// `text` with `from` replaced by `to`; `from` must be there (else the README changed).
fn substitute(text: &str, from: &str, to: &Path) -> String {
    assert!(
        text.contains(from),
        "README block no longer names {from}:\n{text}"
    );
    text.replace(from, &to.display().to_string())
}

// ---------------------------------------------------------------------------------------------
// Environment

/// The program on PATH (or in /usr/sbin, /sbin), or None with the reason printed.
fn have(program: &str) -> Option<PathBuf> {
    let found = find_program(program);
    if found.is_none() {
        eprintln!("skipped: {program} is not installed (scripts/setup.sh installs it)");
    }
    found
}

/// Keeps a child away from the developer's own configuration and keyring: HOME is `home`, no
/// config variable, the system config a file that does not exist, no GnuPG home.
fn isolated<'a>(cmd: &'a mut Command, s: &Scratch, home: &Path) -> &'a mut Command {
    cmd.env("HOME", home)
        .env("XIMF_SYSTEM_CONFIG", s.join("no-system-config.toml"))
        .env("GNUPGHOME", s.join("no-gnupg"))
        .env_remove("XIMF_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XIMF_CONTEXT")
        .env_remove("XIMF_SENDMAIL_DEPTH")
}

fn key(rel: &str) -> PathBuf {
    root().join("testdata/keys").join(rel)
}

fn text(p: &Path) -> String {
    p.display().to_string()
}

/// The header section of a stored message, folded lines joined.
fn unfolded_header(message: &str) -> String {
    header(message.as_bytes())
        .replace("\n ", " ")
        .replace("\n\t", " ")
}

/// procmail ends every message it delivers with an empty line: take it off before comparing.
fn unpad(v: &[u8]) -> &[u8] {
    match v.strip_suffix(b"\n") {
        Some(rest) if rest.ends_with(b"\n") => rest,
        _ => v,
    }
}

// ---------------------------------------------------------------------------------------------
// Part 1: procmail and Sieve

/// What the filter tests share: the binary (behind a clock-fixing script named `ximf`), a copy
/// of the built-in profile, the anchor, and a home whose config names it; all readable by
/// nobody (sieve-test runs as nobody).
struct Filters {
    s: Scratch,
    /// The script that stands in for /usr/local/bin/ximf.
    bin: PathBuf,
    /// Stands in for /etc/ximf.
    profile: PathBuf,
    /// HOME with `.config/ximf/config.toml` naming the anchor.
    home: PathBuf,
}

impl Filters {
    fn new(copy_binary: bool) -> Filters {
        let s = Scratch::new();
        // Users without access to the build tree (nobody, for sieve-test) need their own copy.
        let real = if copy_binary {
            s.ximf_copy()
        } else {
            ximf_bin()
        };
        let bin = s.script(
            "bin/ximf",
            &format!(
                "#!/bin/sh\n# The README's binary, at the tests' fixed time.\nexec \"{}\" --now {NOW} \"$@\"\n",
                real.display()
            ),
        );
        set_mode(&s.join("bin"), 0o755);
        let profile = s.builtin_profile();
        let anchor = s.write(
            "anchors/root.crt",
            std::fs::read(key("smime/root.crt")).expect("root.crt"),
        );
        let home = s.join("home");
        s.write(
            "home/.config/ximf/config.toml",
            format!("[trust]\nca = [\"{}\"]\n", anchor.display()),
        );
        Filters {
            s,
            bin,
            profile,
            home,
        }
    }

    /// The README's recipe text with this installation's paths.
    fn installed(&self, recipe: &str) -> String {
        let t = substitute(recipe, README_BIN, &self.bin);
        let t = substitute(&t, README_PROFILE, &self.profile);
        assert!(
            !t.contains("/usr/local/") && !t.contains("/etc/"),
            "an installed path is left in the recipe:\n{t}"
        );
        t
    }
}

/// A genuinely signed message (alice's S/MIME key, at [`NOW`]) and a copy whose signed body
/// was changed afterwards.
fn signed_and_tampered(s: &Scratch) -> (Vec<u8>, Vec<u8>) {
    let empty = s.join("signer-home");
    let ximf = || {
        Ximf::new().configure(|c| {
            isolated(c, s, &empty);
        })
    };
    let stamped = ximf().stamp_example().stdin(PLAIN).ok();
    let signed = ximf()
        .now(NOW)
        .args(["protect", "--sign"])
        .smime_signer("alice")
        .stdin(stamped)
        .ok();
    let t = String::from_utf8(signed.clone()).expect("ascii");
    assert!(t.contains("multipart/signed"), "{t}");
    assert_eq!(t.matches("all good").count(), 1, "{t}");
    let tampered = t.replace("all good", "all well").into_bytes();
    (signed, tampered)
}

/// `procmail -m VAR=... RCFILE < msg`: the variables a delivery gives procmail (HOME, MAILDIR,
/// the default mailbox), set on its command line because procmail builds the environment of
/// its filters itself (it does not pass its caller's on).
fn procmail(f: &Filters, program: &Path, rc: &Path, home: &Path, msg: &[u8]) -> Output {
    let assign = |k: &str, v: &Path| format!("{k}={}", v.display());
    let maildir = f.s.join("Mail");
    std::fs::create_dir_all(&maildir).expect("mkdir");
    run(
        Command::new(program)
            .arg("-m")
            .arg(assign("HOME", home))
            .arg(assign("MAILDIR", &maildir))
            // The README's recipe falls through to procmail's default delivery ($DEFAULT):
            // the inbox, here a Maildir.
            .arg(assign("DEFAULT", &maildir.join("inbox/")))
            .arg(assign("LOGFILE", &f.s.join("procmail.log")))
            .arg(rc),
        msg,
    )
}

fn read_all(files: &[PathBuf]) -> Vec<Vec<u8>> {
    files
        .iter()
        .map(|p| std::fs::read(p).expect("stored message"))
        .collect()
}

#[test]
fn r10_readme_procmail_recipe_passes_signed_mail_with_config_anchors() {
    let Some(procmail_bin) = have("procmail") else {
        return;
    };
    let f = Filters::new(false);
    let (_, procmail_block) = only_block(&fences(), "procmail");
    let rc = f.s.write("procmailrc", f.installed(&procmail_block));
    let (signed, tampered) = signed_and_tampered(&f.s);
    let folder = |name: &str| maildir_files(&f.s.join("Mail").join(name));
    let log = || std::fs::read_to_string(f.s.join("procmail.log")).unwrap_or_default();

    // Genuinely signed: annotated pass (the config's anchor), delivered to the inbox.
    let o = procmail(&f, &procmail_bin, &rc, &f.home, &signed);
    assert_eq!(code(&o), 0, "{}\n{}", err(&o), log());
    let inbox = read_all(&folder("inbox"));
    assert_eq!(inbox.len(), 1, "not in the inbox: {}", log());
    let got = String::from_utf8_lossy(&inbox[0]).into_owned();
    let h = unfolded_header(&got);
    assert!(
        h.contains("X-XIMF-Verify: pass (authserv-id=mx.example.org; instance=Example;"),
        "{got}"
    );
    assert!(
        h.contains("Authentication-Results: mx.example.org; smime=pass"),
        "{got}"
    );
    assert!(
        unpad(&inbox[0]).ends_with(&signed),
        "only fields on top: {got}"
    );

    // Tampered after signing: fail, quarantined.
    let o = procmail(&f, &procmail_bin, &rc, &f.home, &tampered);
    assert_eq!(code(&o), 0, "{}\n{}", err(&o), log());
    let q = read_all(&folder(".Quarantine"));
    assert_eq!(q.len(), 1, "not quarantined: {}", log());
    let h = unfolded_header(&String::from_utf8_lossy(&q[0]));
    assert!(h.contains("X-XIMF-Verify: fail ("), "{h}");
    assert!(h.contains("signature-invalid"), "{h}");

    // The same signed message for a user whose config names no anchor: untrusted, quarantined.
    // So the pass above came from the config file, not from a flag or the system store.
    let bare = f.s.join("home-without-anchors");
    f.s.write("home-without-anchors/.config/ximf/config.toml", "");
    let o = procmail(&f, &procmail_bin, &rc, &bare, &signed);
    assert_eq!(code(&o), 0, "{}\n{}", err(&o), log());
    let q = read_all(&folder(".Quarantine"));
    assert_eq!(q.len(), 2, "{}", log());
    assert!(
        q.iter()
            .any(|m| unfolded_header(&String::from_utf8_lossy(m)).contains("signature-untrusted")),
        "{}",
        log()
    );
    assert_eq!(folder("inbox").len(), 1);
    assert!(folder(".Unchecked").is_empty(), "{}", log());
}

/// The Sieve files of the README installed in `f`.
fn install_sieve(f: &Filters) -> Sieve {
    let recipe = sieve_recipe();
    // The program the script calls is the wrapper's file name in sieve_filter_bin_dir.
    let name = recipe
        .script
        .split("filter \"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .expect("the Sieve script calls filter \"NAME\"")
        .to_owned();
    let bin_dir = Sieve::filter_dir(&f.s);
    f.s.script(
        &format!("sieve-filter/{name}"),
        &f.installed(&recipe.wrapper),
    );
    let conf = substitute(&recipe.conf, README_FILTER_DIR, &bin_dir);
    Sieve::install(
        &f.s,
        "readme.sieve",
        &recipe.script,
        "90-sieve-ximf.conf",
        &conf,
    )
}

/// `sieve-test -e ... MSG` with HOME the user's home (Dovecot gives the filter program HOME,
/// USER and the envelope, nothing else).
fn deliver(sv: &Sieve, f: &Filters, name: &str, msg: &[u8]) -> Output {
    let mail = f.s.write(name, msg);
    run(isolated(&mut sv.command(&mail, true), &f.s, &f.home), b"")
}

#[test]
fn r10_readme_sieve_script_passes_signed_mail_with_config_anchors() {
    let Some(_) = have("sieve-test") else {
        return;
    };
    if is_root() && have("setpriv").is_none() {
        return;
    }
    let f = Filters::new(true);
    let sv = install_sieve(&f);
    let (signed, tampered) = signed_and_tampered(&f.s);

    let o = deliver(&sv, &f, "signed.eml", &signed);
    let said = out(&o) + &err(&o);
    assert_eq!(code(&o), 0, "{said}");
    assert!(said.contains("stored mail into mailbox 'INBOX'"), "{said}");
    let inbox = sv.stored("INBOX");
    assert_eq!(inbox.len(), 1, "{said}");
    let h = unfolded_header(&inbox[0]);
    assert!(
        h.contains("X-XIMF-Verify: pass (authserv-id=mx.example.org; instance=Example;"),
        "{}",
        inbox[0]
    );
    assert!(
        h.contains("Authentication-Results: mx.example.org; smime=pass"),
        "{h}"
    );
    assert!(inbox[0].as_bytes().ends_with(&signed), "{}", inbox[0]);

    let o = deliver(&sv, &f, "tampered.eml", &tampered);
    let said = out(&o) + &err(&o);
    assert_eq!(code(&o), 0, "{said}");
    assert!(
        said.contains("stored mail into mailbox 'Quarantine'"),
        "{said}"
    );
    let q = sv.stored("Quarantine");
    assert_eq!(q.len(), 1, "{said}");
    let h = unfolded_header(&q[0]);
    assert!(h.contains("X-XIMF-Verify: fail ("), "{h}");
    assert!(h.contains("signature-invalid"), "{h}");
    assert_eq!(sv.stored("INBOX").len(), 1);
    assert!(sv.stored("Unchecked").is_empty());
}

// ---------------------------------------------------------------------------------------------
// Part 2: mutt through ximf sendmail

/// A muttrc sending as alice through `sendmail`, with a my_hdr XIMF field.
fn muttrc(s: &Scratch, sendmail: &str) -> PathBuf {
    s.write(
        "muttrc",
        format!(
            "set sendmail=\"{sendmail}\"\n\
             set from=\"alice@example.org\"\n\
             set realname=\"Alice Example\"\n\
             set use_from=yes\n\
             set envelope_from=yes\n\
             set use_8bitmime=yes\n\
             set send_charset=\"utf-8\"\n\
             set record=\"\"\n\
             set copy=no\n\
             set tmpdir=\"{tmp}\"\n\
             set hostname=\"example.org\"\n\
             my_hdr X-XIMF-Security-Classification: example-restricted\n",
            tmp = s.path().display()
        ),
    )
}

/// `mutt -n -F muttrc -s SUBJECT bob@example.org < body` with HOME `home` (whose
/// `.config/ximf/config.toml` is the sender's config) and `gnupg` as GNUPGHOME.
fn mutt(s: &Scratch, mutt: &Path, rc: &Path, home: &Path, gnupg: &Path) -> Output {
    let mut cmd = Command::new(mutt);
    cmd.arg("-n")
        .arg("-F")
        .arg(rc)
        .args(["-s", "Sealed figures", "bob@example.org"]);
    isolated(&mut cmd, s, home)
        .env("GNUPGHOME", gnupg)
        .env("FAKE_SENDMAIL_RECORD", s.join("rec"))
        .env_remove("DISPLAY")
        .env_remove("GPG_TTY");
    run(
        &mut cmd,
        "Grüße, Bob.\nFrom the figures: all good.\n".as_bytes(),
    )
}

/// The config lines every sender config shares: the recorder as the real sendmail, the dead
/// letter, the precedence the message lacks.
fn sender_common(s: &Scratch) -> String {
    format!(
        "sendmail_command = \"{}\"\ndead_letter = \"{}\"\nsign = true\nencrypt = true\n",
        fake_sendmail().display(),
        s.join("dead.letter").display()
    )
}

const SENDER_SET: &str = "[set]\n\"X-XIMF-Primary-Precedence\" = \"routine\"\n";

/// The recorded message, checked for what the recorder got: bob only, encrypted.
fn recorded(s: &Scratch, o: &Output) -> Vec<u8> {
    assert_eq!(code(o), 0, "mutt: {}{}", out(o), err(o));
    assert!(
        !s.join("dead.letter").exists(),
        "{}",
        std::fs::read_to_string(s.join("dead.letter")).unwrap_or_default()
    );
    let argv = std::fs::read_to_string(s.join("rec.argv")).expect("the recorder ran");
    assert!(argv.ends_with("--\nbob@example.org\n"), "{argv}");
    let sent = std::fs::read(s.join("rec.msg")).expect("recorded message");
    let t = String::from_utf8_lossy(&sent);
    assert!(!t.contains("all good"), "the text went out in clear: {t}");
    for (what, bytes) in [
        ("message", &sent),
        ("mutt's stdout", &o.stdout),
        ("mutt's stderr", &o.stderr),
    ] {
        assert!(
            !bytes.windows(PASS.len()).any(|w| w == PASS.as_bytes()),
            "the passphrase is in the {what}"
        );
    }
    sent
}

/// A GnuPG home with alice's passphrase-protected Ed25519 key (made by gpg, so only the agent
/// holds its secret) and bob's public certificate imported; the agent cannot ask for a
/// passphrase (no pinentry), so signing works only from the preset cache. Stopped on drop.
struct Agent {
    dir: tempfile::TempDir,
    fpr: String,
}

impl Agent {
    fn new() -> Agent {
        // Short, under /tmp: the agent's socket path is limited to 108 bytes.
        let dir = tempfile::Builder::new()
            .prefix("xr")
            .tempdir_in("/tmp")
            .expect("tempdir");
        std::fs::write(
            dir.path().join("gpg-agent.conf"),
            "allow-preset-passphrase\npinentry-program /nonexistent/pinentry\n",
        )
        .expect("gpg-agent.conf");
        let mut a = Agent {
            dir,
            fpr: String::new(),
        };
        a.gpg(&[
            "--quick-gen-key",
            "Alice Example <alice@example.org>",
            "ed25519",
            "sign,cert",
            "never",
        ]);
        a.gpg(&["--import", &text(&key("pgp/bob.cert"))]);
        let listing = String::from_utf8(a.gpg(&[
            "--with-colons",
            "--with-keygrip",
            "--list-secret-keys",
            "alice@example.org",
        ]))
        .expect("utf-8");
        let field = |record: &str| -> Vec<String> {
            listing
                .lines()
                .filter_map(|l| l.strip_prefix(record))
                .map(|l| l.trim_matches(':').to_owned())
                .collect()
        };
        a.fpr = field("fpr:").remove(0);
        let grips = field("grp:");
        // Forget what the agent cached while gpg made the key, then preset it as a login
        // script would.
        a.gpgconf(&["--kill", "gpg-agent"]);
        a.gpgconf(&["--launch", "gpg-agent"]);
        let libexec = String::from_utf8(a.gpgconf(&["--list-dirs", "libexecdir"])).expect("utf-8");
        let preset = PathBuf::from(libexec.trim()).join("gpg-preset-passphrase");
        for grip in grips {
            let o = Command::new(&preset)
                .args(["--preset", "-P", PASS, &grip])
                .env("GNUPGHOME", a.path())
                .output()
                .expect("gpg-preset-passphrase");
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
        a
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// gpg in this home, as the key's owner (loopback passphrase, at KEY_TIME).
    fn gpg(&self, args: &[&str]) -> Vec<u8> {
        let o = Command::new("gpg")
            .args([
                "--batch",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                PASS,
                "--faked-system-time",
                KEY_TIME,
                "--ignore-time-conflict",
            ])
            .args(args)
            .env("GNUPGHOME", self.path())
            .output()
            .expect("gpg");
        assert!(
            o.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    }

    fn gpgconf(&self, args: &[&str]) -> Vec<u8> {
        Command::new("gpgconf")
            .args(args)
            .env("GNUPGHOME", self.path())
            .output()
            .expect("gpgconf")
            .stdout
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        self.gpgconf(&["--kill", "gpg-agent"]);
    }
}

/// `ximf --config CONFIG ARGS < msg` on the receiving side (its own HOME, no GnuPG home).
fn receive(s: &Scratch, config: Option<&Path>, args: &[&str], msg: &[u8]) -> Output {
    let home = s.join("bob-home");
    let mut cmd = Command::new(ximf_bin());
    isolated(&mut cmd, s, &home);
    if let Some(c) = config {
        cmd.arg("--config").arg(c);
    }
    run(cmd.args(args), msg)
}

#[test]
fn r10_mutt_signs_with_gpg_agent_and_encrypts_to_an_address_from_the_keyring() {
    let (Some(mutt_bin), Some(_), Some(_), Some(_)) = (
        have("mutt"),
        have("gpg"),
        have("gpg-agent"),
        have("gpgconf"),
    ) else {
        return;
    };
    let s = Scratch::new();
    let agent = Agent::new();
    let alice_cert = s.write(
        "alice.cert",
        agent.gpg(&["--armor", "--export", &agent.fpr]),
    );

    // The sender: sign and encrypt with OpenPGP; the key is the agent's (README: mutt: `set
    // sendmail="ximf sendmail --key 0x1234…ABCD"`), bob's certificate is named nowhere.
    let home = s.join("alice-home");
    s.write(
        "alice-home/.config/ximf/config.toml",
        format!("{}mechanism = \"openpgp\"\n{SENDER_SET}", sender_common(&s)),
    );
    let via = format!(
        "{} --now {PGP_NOW} sendmail --key 0x{}",
        ximf_bin().display(),
        agent.fpr
    );
    let rc = muttrc(&s, &via);
    let o = mutt(&s, &mutt_bin, &rc, &home, agent.path());
    let sent = recorded(&s, &o);
    assert!(
        header(&sent).contains("multipart/encrypted"),
        "{}",
        header(&sent)
    );

    // The receiver: bob's key decrypts, the config's keyring vouches for alice.
    let config = s.write(
        "bob.toml",
        format!("[trust]\nkeyring = [\"{}\"]\n", alice_cert.display()),
    );
    let bob_key = text(&key("pgp/bob.key"));
    let args = ["--now", PGP_NOW, "verify", "--key", &bob_key, "-"];
    let o = receive(&s, Some(&config), &args, &sent);
    let report = out(&o);
    assert_eq!(code(&o), 0, "{report}{}", err(&o));
    assert!(
        report.contains("signature=openpgp:valid signer=alice@example.org"),
        "{report}"
    );
    assert!(report.contains("encryption=decrypted"), "{report}");

    // Without the config's keyring the signer is unknown: the trust came from the config.
    let o = receive(&s, None, &args, &sent);
    assert_eq!(code(&o), 1, "{}", out(&o));
    assert!(out(&o).contains("signature-untrusted"), "{}", out(&o));
}

#[test]
fn r10_mutt_signs_smime_and_encrypts_to_an_address_from_cert_dir() {
    let Some(mutt_bin) = have("mutt") else {
        return;
    };
    let s = Scratch::new();
    // The sender: alice's identity, and a certificate directory holding bob's certificate only.
    let home = s.join("alice-home");
    s.write(
        "alice-home/certs/bob.crt",
        std::fs::read(key("smime/bob.crt")).expect("bob.crt"),
    );
    s.write(
        "alice-home/.config/ximf/config.toml",
        format!(
            "{}mechanism = \"smime\"\ncert_dir = \"~/certs\"\n{SENDER_SET}\
             [identities.\"alice@example.org\"]\nkey = \"{}\"\ncert = \"{}\"\n",
            sender_common(&s),
            key("smime/alice.key").display(),
            key("smime/alice.chain.pem").display(),
        ),
    );
    let via = format!("{} --now {NOW} sendmail", ximf_bin().display());
    let rc = muttrc(&s, &via);
    let o = mutt(&s, &mutt_bin, &rc, &home, &s.join("no-gnupg"));
    let sent = recorded(&s, &o);
    assert!(
        header(&sent).contains("application/pkcs7-mime"),
        "{}",
        header(&sent)
    );

    // The receiver decrypts with bob's key; the anchor comes from the system store
    // ($SSL_CERT_FILE), from the config's trust.ca, or from nowhere.
    let anchors = s.write(
        "system/ca-certificates.crt",
        std::fs::read(key("smime/root.crt")).expect("root.crt"),
    );
    let empty_store = s.write("system/empty.crt", "");
    let no_dir = s.join("system/certs");
    std::fs::create_dir_all(&no_dir).expect("mkdir");
    let (bob_key, bob_crt) = (text(&key("smime/bob.key")), text(&key("smime/bob.crt")));
    let verify_with = |store: &Path, config: Option<&Path>, extra: &[&str]| -> Output {
        let home = s.join("bob-home");
        let mut cmd = Command::new(ximf_bin());
        isolated(&mut cmd, &s, &home)
            .env("SSL_CERT_FILE", store)
            .env("SSL_CERT_DIR", &no_dir);
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        cmd.args(["--now", NOW, "verify"]).args(extra);
        run(
            cmd.args(["--key", &bob_key, "--cert", &bob_crt, "-"]),
            &sent,
        )
    };
    let good = |o: &Output, how: &str| {
        let report = out(o);
        assert_eq!(code(o), 0, "{how}: {report}{}", err(o));
        assert!(
            report.contains("signature=smime:valid signer=alice@example.org"),
            "{how}: {report}"
        );
        assert!(report.contains("encryption=decrypted"), "{how}: {report}");
    };

    // The system store alone (no config, no --ca).
    good(&verify_with(&anchors, None, &[]), "system store");
    // The config's trust.ca alone (an empty system store).
    let config = s.write(
        "bob.toml",
        format!("[trust]\nca = [\"{}\"]\n", key("smime/root.crt").display()),
    );
    good(&verify_with(&empty_store, Some(&config), &[]), "trust.ca");
    // Neither: decrypted, but nothing vouches for alice.
    let o = verify_with(&anchors, None, &["--no-system-ca"]);
    assert_eq!(code(&o), 1, "{}", out(&o));
    assert!(out(&o).contains("smime:untrusted"), "{}", out(&o));
    assert!(out(&o).contains("encryption=decrypted"), "{}", out(&o));
}
