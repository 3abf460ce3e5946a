//! Shared helpers of the mail-flow tests (`tests/mailflow_*.rs`, `r10_recipes`, `r11_*`,
//! `r12_files`): temp dirs other users can read, the recording stand-in sendmail, a private
//! Postfix, an SMTP client; with the process helpers of `support` they use.

pub use super::serial::free_port;
pub use super::{LIMIT, NOW, code, err, is_root, out, require, root, run, wait_for, ximf_bin};

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::Ximf;

/// The recording stand-in sendmail.
pub fn fake_sendmail() -> PathBuf {
    root().join("testdata/bin/fake-sendmail")
}

/// A file of `testdata/mailflow/`.
pub fn mailflow(name: &str) -> PathBuf {
    root().join("testdata/mailflow").join(name)
}

/// A temporary directory every user may enter and read (Postfix's delivery agents and
/// sieve-test run as other users); removed on drop.
pub struct Scratch {
    dir: tempfile::TempDir,
}

impl Scratch {
    /// A new directory, mode 0755.
    pub fn new() -> Scratch {
        let dir = tempfile::Builder::new()
            .prefix("ximf-mailflow.")
            .tempdir_in("/tmp")
            .expect("tempdir");
        set_mode(dir.path(), 0o755);
        Scratch { dir }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A path inside it.
    pub fn join(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes a file (mode 0644) and returns its path.
    pub fn write(&self, name: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("mkdir");
        }
        std::fs::write(&p, data).expect("write");
        set_mode(&p, 0o644);
        p
    }

    /// Writes an executable script (mode 0755) and returns its path.
    pub fn script(&self, name: &str, text: &str) -> PathBuf {
        let p = self.write(name, text);
        set_mode(&p, 0o755);
        p
    }

    /// A copy of the built-in catalog (`profiles/builtin`) at `profile/`, for users without
    /// access to the build tree (nobody, for sieve-test and Postfix's pipe).
    pub fn builtin_profile(&self) -> PathBuf {
        let dir = self.join("profile");
        copy_dir(&root().join("profiles/builtin"), &dir);
        dir
    }

    /// A copy of the ximf binary inside the directory, so users without access to the build
    /// tree (nobody, for sieve-test and Postfix's pipe) can run it.
    pub fn ximf_copy(&self) -> PathBuf {
        let p = self.join("ximf");
        std::fs::copy(ximf_bin(), &p).expect("copy ximf");
        set_mode(&p, 0o755);
        p
    }
}

/// chmod.
pub fn set_mode(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Copies a directory tree, readable by everyone (files 0644, directories 0755).
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    set_mode(to, 0o755);
    for e in std::fs::read_dir(from).expect("read_dir").flatten() {
        let p = e.path();
        if p.is_dir() {
            copy_dir(&p, &to.join(e.file_name()));
        } else {
            std::fs::copy(&p, to.join(e.file_name())).expect("copy");
            set_mode(&to.join(e.file_name()), 0o644);
        }
    }
}

/// The files in a Maildir's `new/` and `cur/`.
pub fn maildir_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for sub in ["new", "cur"] {
        if let Ok(rd) = std::fs::read_dir(dir.join(sub)) {
            out.extend(rd.filter_map(|e| e.ok()).map(|e| e.path()));
        }
    }
    out.sort();
    out
}

/// The shipped filter script `testdata/mailflow/NAME` (`ximf-filter`, `ximf-verify`) as
/// installed here: its `XIMF=` names `ximf`, its `XIMF_PROFILE=` names `profile`.
pub fn shipped_filter(name: &str, ximf: &Path, profile: &Path) -> String {
    let text = std::fs::read_to_string(mailflow(name))
        .unwrap_or_else(|e| panic!("shipped {name}: {e}"))
        .replace(
            "XIMF=/usr/local/bin/ximf",
            &format!("XIMF={}", ximf.display()),
        )
        .replace(
            "XIMF_PROFILE=/etc/ximf",
            &format!("XIMF_PROFILE={}", profile.display()),
        );
    assert!(
        text.contains(&ximf.display().to_string()),
        "{name} no longer sets XIMF=/usr/local/bin/ximf"
    );
    text
}

/// `ximf sendmail` with HOME in `s` (so the default dead letter is `s/dead.letter`), the
/// stand-in sendmail recording to `s/rec.*`, and no configuration from the environment.
pub fn sendmail_in(s: &Scratch) -> Ximf {
    Ximf::new()
        .arg("sendmail")
        .no_config_env()
        .env("HOME", s.path())
        .env("FAKE_SENDMAIL_RECORD", s.join("rec"))
}

/// [`PLAIN`] stamped for the built-in Example instance.
pub fn stamped() -> Vec<u8> {
    Ximf::new().stamp_example().stdin(PLAIN).ok()
}

/// Pigeonhole's sieve-test with a script and its settings, delivering into a Maildir. sieve-test
/// refuses to run as root, so as root it runs as nobody (setpriv), and the directories it writes
/// (the compiled script is saved beside the script) belong to nobody.
pub struct Sieve {
    /// The script.
    pub script: PathBuf,
    /// The Dovecot settings (`plugin { sieve_filter_bin_dir = ... }`).
    pub conf: PathBuf,
    /// Where `-l maildir:` delivers.
    pub maildir: PathBuf,
}

impl Sieve {
    /// The directory for the filter programs, `sieve-filter/` in `s` (mode 0755).
    pub fn filter_dir(s: &Scratch) -> PathBuf {
        let bin = s.join("sieve-filter");
        std::fs::create_dir_all(&bin).expect("mkdir");
        set_mode(&bin, 0o755);
        bin
    }

    /// Writes `script` as `sieve/SCRIPT_NAME` and `conf` as `CONF_NAME` in `s`, and a Maildir.
    pub fn install(
        s: &Scratch,
        script_name: &str,
        script: impl AsRef<[u8]>,
        conf_name: &str,
        conf: &str,
    ) -> Sieve {
        let conf = s.write(conf_name, conf);
        let scripts = s.join("sieve");
        std::fs::create_dir_all(&scripts).expect("mkdir");
        let script = s.write(&format!("sieve/{script_name}"), script);
        let maildir = s.join("Maildir");
        std::fs::create_dir_all(&maildir).expect("mkdir");
        if is_root() {
            for d in [&scripts, &maildir] {
                chown(d, "65534:65534");
            }
        }
        Sieve {
            script,
            conf,
            maildir,
        }
    }

    /// `sieve-test [-e] -c CONF -l maildir:MAILDIR SCRIPT MAIL`, as nobody when we are root;
    /// the caller adds the environment and runs it.
    pub fn command(&self, mail: &Path, execute: bool) -> Command {
        let sieve_test = require("sieve-test");
        let mut cmd = if is_root() {
            let mut c = Command::new(require("setpriv"));
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(sieve_test);
            c
        } else {
            Command::new(sieve_test)
        };
        if execute {
            cmd.arg("-e");
        }
        cmd.arg("-c")
            .arg(&self.conf)
            .arg("-l")
            .arg(format!("maildir:{}", self.maildir.display()))
            .arg(&self.script)
            .arg(mail);
        cmd
    }

    /// The messages filed into `folder` ("INBOX" or a subfolder).
    pub fn stored(&self, folder: &str) -> Vec<String> {
        let dir = if folder == "INBOX" {
            self.maildir.clone()
        } else {
            self.maildir.join(format!(".{folder}"))
        };
        maildir_files(&dir)
            .iter()
            .map(|f| std::fs::read_to_string(f).expect("stored"))
            .collect()
    }
}

/// `ximf verify` of `message` with the built-in profile: (exit code, report).
pub fn verify(message: &[u8]) -> (i32, String) {
    let o = run(Command::new(ximf_bin()).args(["verify", "-"]), message);
    (code(&o), out(&o) + &err(&o))
}

/// The header section of a message, as text.
pub fn header(message: &[u8]) -> String {
    let text = String::from_utf8_lossy(message);
    text.split("\n\n").next().unwrap_or_default().to_owned()
}

/// A private Postfix instance: its own configuration directory, queue, data directory and log,
/// listening on loopback only; stopped on drop.
pub struct Postfix {
    /// The configuration directory (`postfix -c`, `sendmail -C`, `postqueue -c`).
    pub config: PathBuf,
    /// The log (`maillog_file`).
    pub log: PathBuf,
    /// The virtual(8) Maildir base: mail to `bob@example.org` lands in `mail/bob/`.
    pub mail: PathBuf,
}

impl Postfix {
    /// Writes the configuration under `dir` with `main_extra` appended to main.cf and
    /// `master_extra` to master.cf, and starts the master.
    ///
    /// Delivery: every recipient in `example.org` goes to the Maildir `DIR/mail/bob/` through
    /// virtual(8) as uid/gid 65534, so no system account or /etc file is touched.
    pub fn start(dir: &Path, main_extra: &str, master_extra: &str) -> Postfix {
        let config = dir.join("postfix");
        let spool = dir.join("spool");
        let data = dir.join("data");
        let mail = dir.join("mail");
        let log = dir.join("maillog");
        for d in [&config, &spool, &data, &mail] {
            std::fs::create_dir_all(d).expect("mkdir");
            set_mode(d, 0o755);
        }
        chown(&data, "postfix:postfix");
        chown(&mail, "65534:65534");
        let main = format!(
            "compatibility_level = 3.6\n\
             queue_directory = {spool}\n\
             data_directory = {data}\n\
             mail_owner = postfix\n\
             setgid_group = postdrop\n\
             inet_interfaces = loopback-only\n\
             inet_protocols = ipv4\n\
             myhostname = mx.example.net\n\
             mydomain = example.net\n\
             myorigin = example.net\n\
             mydestination =\n\
             mynetworks = 127.0.0.0/8\n\
             relayhost =\n\
             alias_maps =\n\
             alias_database =\n\
             virtual_mailbox_domains = example.org\n\
             virtual_mailbox_base = {mail}\n\
             virtual_mailbox_maps = static:bob/\n\
             virtual_uid_maps = static:65534\n\
             virtual_gid_maps = static:65534\n\
             virtual_minimum_uid = 100\n\
             maillog_file = {log}\n\
             maillog_file_prefixes = {dir}\n\
             smtputf8_enable = no\n\
             {main_extra}\n",
            spool = spool.display(),
            data = data.display(),
            mail = mail.display(),
            log = log.display(),
            dir = dir.display(),
        );
        std::fs::write(config.join("main.cf"), main).expect("main.cf");
        // Debian's master.cf, minus its inet smtpd (a test adds its own on a free port), plus
        // postlogd for maillog_file (there is no syslog in a container).
        let stock = std::fs::read_to_string("/etc/postfix/master.cf").expect("master.cf");
        let mut master: String = stock
            .lines()
            .filter(|l| !l.starts_with("smtp      inet") && !l.starts_with("postlog "))
            .map(|l| format!("{l}\n"))
            .collect();
        master.push_str("postlog   unix-dgram n  -       n       -       1       postlogd\n");
        master.push_str(master_extra);
        std::fs::write(config.join("master.cf"), master).expect("master.cf");
        if let Ok(maps) = std::fs::read("/etc/postfix/dynamicmaps.cf") {
            std::fs::write(config.join("dynamicmaps.cf"), maps).expect("dynamicmaps.cf");
        }
        let pf = Postfix { config, log, mail };
        let o = pf.postfix(&["start"]);
        assert_eq!(
            code(&o),
            0,
            "postfix start: {}{}\nlog:\n{}",
            out(&o),
            err(&o),
            pf.log_text()
        );
        pf
    }

    /// Runs `postfix -c CONFIG ARGS`.
    pub fn postfix(&self, args: &[&str]) -> Output {
        run(
            Command::new(require("postfix"))
                .arg("-c")
                .arg(&self.config)
                .args(args),
            b"",
        )
    }

    /// The log so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `postqueue -p` output.
    pub fn queue(&self) -> String {
        let o = run(
            Command::new(require("postqueue"))
                .arg("-c")
                .arg(&self.config)
                .arg("-p"),
            b"",
        );
        out(&o) + &err(&o)
    }

    /// The Maildir mail for example.org lands in.
    pub fn maildir(&self) -> PathBuf {
        self.mail.join("bob")
    }
}

impl Drop for Postfix {
    fn drop(&mut self) {
        let _ = Command::new("postfix")
            .arg("-c")
            .arg(&self.config)
            .arg("stop")
            .stdin(Stdio::null())
            .output();
    }
}

pub fn chown(p: &Path, owner: &str) {
    let s = Command::new("chown")
        .arg(owner)
        .arg(p)
        .status()
        .expect("chown");
    assert!(s.success(), "chown {owner} {}", p.display());
}

/// Sends `message` over SMTP to 127.0.0.1:`port` and returns the server's reply to the final
/// dot (e.g. `250 2.0.0 Ok: queued as ...`).
pub fn smtp_send(port: u16, from: &str, to: &[&str], message: &[u8]) -> String {
    use std::io::{BufRead, BufReader};
    let stream = std::net::TcpStream::connect(("127.0.0.1", port)).expect("connect");
    stream.set_read_timeout(Some(LIMIT)).expect("timeout");
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut w = stream;
    let mut reply = |w: &mut std::net::TcpStream, line: Option<&[u8]>| -> String {
        if let Some(l) = line {
            w.write_all(l).expect("send");
            w.write_all(b"\r\n").expect("send");
        }
        // A multi-line reply continues while the fourth character is '-' (RFC 5321 §4.2.1).
        loop {
            let mut l = String::new();
            reader.read_line(&mut l).expect("reply");
            assert!(!l.is_empty(), "connection closed");
            if l.as_bytes().get(3) != Some(&b'-') {
                return l;
            }
        }
    };
    let greeting = reply(&mut w, None);
    assert!(greeting.starts_with("220"), "{greeting}");
    assert!(reply(&mut w, Some(b"EHLO client.example.net")).starts_with("250"));
    let r = reply(&mut w, Some(format!("MAIL FROM:<{from}>").as_bytes()));
    assert!(r.starts_with("250"), "{r}");
    for t in to {
        let r = reply(&mut w, Some(format!("RCPT TO:<{t}>").as_bytes()));
        assert!(r.starts_with("250"), "{r}");
    }
    let r = reply(&mut w, Some(b"DATA"));
    assert!(r.starts_with("354"), "{r}");
    let mut data = Vec::new();
    for line in message.split_inclusive(|&b| b == b'\n') {
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(b".") {
            data.push(b'.');
        }
        data.extend_from_slice(line);
        data.extend_from_slice(b"\r\n");
    }
    w.write_all(&data).expect("data");
    let end = reply(&mut w, Some(b"."));
    let _ = reply(&mut w, Some(b"QUIT"));
    end
}

/// A small message conforming to the built-in profile's Example instance once stamped.
pub const PLAIN: &str = "From: Alice Example <alice@example.org>\n\
To: Bob Example <bob@example.org>\n\
Subject: Quarterly figures\n\
Date: Sat, 06 Jun 2009 16:10:00 +0000\n\
Message-ID: <20090606161000.1@example.org>\n\
\n\
Hello Bob,\n\
From the figures: all good.\n";
