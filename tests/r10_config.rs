//! Issue 10, points 4 and 5: the system CA store anchors S/MIME signers (`--no-system-ca` and
//! `trust.system_ca = false` turn it off), and one configuration file serves every command —
//! `--config`, else `$XIMF_CONFIG`, else `$XDG_CONFIG_HOME/ximf/config.toml`, else the system
//! file — with `~` and `$HOME` expanded in its paths and in path flags, and `ximf config show`
//! saying where each value came from.
//!
//! Every child runs with its own HOME and none of the caller's configuration variables. The
//! system file is replaced through the hidden `$XIMF_SYSTEM_CONFIG` (the real /etc is never
//! written or read), and OpenSSL's default store through `$SSL_CERT_FILE` / `$SSL_CERT_DIR`, so
//! no test depends on the machine's CA store or configuration.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::support::world::{World, s};
use crate::support::{NOW, code, err, out, root};

fn key(name: &str) -> PathBuf {
    root().join("testdata/keys/smime").join(name)
}

/// A child's world ([`World`]) with an empty system CA store and no configuration unless a
/// test writes one: OpenSSL's default store is a bundle that does not exist and an empty
/// directory.
fn world() -> World {
    let w = World::new();
    std::fs::create_dir(w.path("certs")).expect("mkdir");
    std::fs::create_dir(w.path("etc")).expect("mkdir");
    let (none, certs) = (w.text("certs/none.pem"), w.text("certs"));
    w.with("SSL_CERT_FILE", &none).with("SSL_CERT_DIR", &certs)
}

fn plain() -> Vec<u8> {
    std::fs::read(root().join("testdata/messages/plain.eml")).expect("plain")
}

/// The plain test message stamped for the built-in Example instance and signed by alice.
fn signed(w: &World) -> Vec<u8> {
    let stamped = w.ximf().now(NOW).stamp_example().stdin(plain()).ok();
    w.ximf()
        .now(NOW)
        .args(["protect", "--sign"])
        .smime_signer("alice")
        .stdin(stamped)
        .ok()
}

#[track_caller]
fn assert_valid(o: &Output) {
    assert_eq!(code(o), 0, "{}{}", out(o), err(o));
    assert!(
        out(o).contains("signature=smime:valid signer=alice@example.org"),
        "{}",
        out(o)
    );
}

#[track_caller]
fn assert_untrusted(o: &Output) {
    assert_eq!(code(o), 1, "{}{}", out(o), err(o));
    assert!(out(o).contains("signature-untrusted"), "{}", out(o));
}

/// The value and source `config show` prints for `key`.
fn shown(o: &Output, key: &str) -> Option<(String, String)> {
    out(o).lines().find_map(|l| {
        let rest = l.strip_prefix(key)?.strip_prefix(" = ")?;
        let (value, source) = rest.split_once("  # from ")?;
        Some((value.to_owned(), source.to_owned()))
    })
}

#[test]
fn r10_system_store_anchors_signers_unless_turned_off() {
    let w = world();
    let msg = signed(&w);
    // The test root is not in the (empty) store: untrusted, as before without --ca.
    assert_untrusted(&w.run(&["--now", NOW, "verify"], &msg));
    // --ca still works on its own.
    let ca = s(&key("root.crt"));
    assert_valid(&w.run(&["--now", NOW, "verify", "--ca", &ca], &msg));

    // The store as a bundle file: OpenSSL's default-path mechanism honours $SSL_CERT_FILE.
    std::fs::copy(key("root.crt"), w.path("certs/bundle.pem")).expect("copy");
    let bundle = s(&w.path("certs/bundle.pem"));
    let w = w.with("SSL_CERT_FILE", &bundle);
    assert_valid(&w.run(&["--now", NOW, "verify"], &msg));
    assert_untrusted(&w.run(&["--now", NOW, "verify", "--no-system-ca"], &msg));
    // --no-system-ca leaves --ca alone.
    assert_valid(&w.run(
        &["--now", NOW, "verify", "--no-system-ca", "--ca", &ca],
        &msg,
    ));
    // The config's trust.system_ca = false does what the flag does.
    let cfg = w.write("off.toml", "[trust]\nsystem_ca = false\n");
    assert_untrusted(&w.run(&["--now", NOW, "--config", &s(&cfg), "verify"], &msg));
    let on = w.write("on.toml", "[trust]\nsystem_ca = true\n");
    assert_valid(&w.run(&["--now", NOW, "verify", "--config", &s(&on)], &msg));
}

#[test]
fn r10_system_store_as_a_hashed_directory() {
    let w = world();
    let msg = signed(&w);
    // $SSL_CERT_DIR: certificates named by subject hash, as c_rehash / update-ca-certificates
    // make them.
    let hash = Command::new("openssl")
        .args(["x509", "-noout", "-subject_hash", "-in"])
        .arg(key("root.crt"))
        .output()
        .expect("openssl");
    assert!(hash.status.success());
    let name = format!("{}.0", String::from_utf8_lossy(&hash.stdout).trim());
    std::fs::copy(key("root.crt"), w.path("certs").join(name)).expect("copy");
    assert_valid(&w.run(&["--now", NOW, "verify"], &msg));
    assert_untrusted(&w.run(&["--now", NOW, "verify", "--no-system-ca"], &msg));
}

#[test]
fn r10_precedence_flag_env_xdg_system() {
    let w = world();
    let flag = w.write("flag.toml", "usage = \"flag\"\n");
    let env = w.write("env.toml", "usage = \"env\"\n");
    let xdg = w.write("xdg/ximf/config.toml", "usage = \"xdg\"\n");
    let dotconfig = w.write("home/.config/ximf/config.toml", "usage = \"home\"\n");
    let system = w.write("etc/config.toml", "usage = \"system\"\n");
    let xdg_dir = s(&w.path("xdg"));
    let w = w
        .with("XIMF_CONFIG", &s(&env))
        .with("XDG_CONFIG_HOME", &xdg_dir);
    let show = |w: &World, extra: &[&str]| {
        let mut args = extra.to_vec();
        args.extend(["config", "show"]);
        let o = w.run(&args, b"");
        assert_eq!(code(&o), 0, "{}", err(&o));
        o
    };
    let q = |p: &Path| format!("\"{}\"", p.display());

    let o = show(&w, &["--config", &s(&flag)]);
    assert_eq!(
        shown(&o, "config"),
        Some((q(&flag), "flag --config".into()))
    );
    assert_eq!(shown(&o, "usage"), Some(("\"flag\"".into(), s(&flag))));
    // The flag is global: after the subcommand too.
    let o = w.run(&["config", "show", "--config", &s(&flag)], b"");
    assert_eq!(shown(&o, "usage").map(|v| v.0), Some("\"flag\"".into()));

    let o = show(&w, &[]);
    assert_eq!(
        shown(&o, "config"),
        Some((q(&env), "env XIMF_CONFIG".into()))
    );
    assert_eq!(shown(&o, "usage"), Some(("\"env\"".into(), s(&env))));

    let w = w.with("XIMF_CONFIG", "");
    let o = show(&w, &[]);
    assert_eq!(shown(&o, "config"), Some((q(&xdg), "default".into())));
    assert_eq!(shown(&o, "usage"), Some(("\"xdg\"".into(), s(&xdg))));

    // $XDG_CONFIG_HOME unset: ~/.config.
    let w = w.with("XDG_CONFIG_HOME", "");
    let o = show(&w, &[]);
    assert_eq!(shown(&o, "usage"), Some(("\"home\"".into(), s(&dotconfig))));

    std::fs::remove_file(&dotconfig).expect("rm");
    let o = show(&w, &[]);
    assert_eq!(shown(&o, "config"), Some((q(&system), "default".into())));
    assert_eq!(shown(&o, "usage"), Some(("\"system\"".into(), s(&system))));

    // No file anywhere: every default, and that is fine.
    std::fs::remove_file(&system).expect("rm");
    let o = show(&w, &[]);
    assert_eq!(shown(&o, "config"), Some(("none".into(), "default".into())));
    assert_eq!(shown(&o, "usage"), None);
}

#[test]
fn r10_missing_named_config_is_78_missing_default_is_fine() {
    let w = world();
    let msg = plain();
    let o = w.run(&["verify", "--config", "/nonexistent/ximf.toml"], &msg);
    assert_eq!(code(&o), 78, "{}", err(&o));
    assert!(o.stdout.is_empty());
    let first = err(&o).lines().next().unwrap_or_default().to_owned();
    assert!(
        first.starts_with("ximf verify: config /nonexistent/ximf.toml: "),
        "{first}"
    );
    let w = w.with("XIMF_CONFIG", "/nonexistent/env.toml");
    for cmd in [
        &["stamp"][..],
        &["verify"],
        &["decrypt"],
        &["config", "show"],
    ] {
        let o = w.run(cmd, &msg);
        assert_eq!(code(&o), 78, "{cmd:?}: {}", err(&o));
        assert!(
            err(&o).contains("hint: $XIMF_CONFIG names this file"),
            "{}",
            err(&o)
        );
    }
    // A broken default file is an error too, naming the place.
    let w = world();
    w.write("etc/config.toml", "profle = \"x\"\n");
    let o = w.run(&["verify"], &msg);
    assert_eq!(code(&o), 78, "{}", err(&o));
    assert!(err(&o).contains("etc/config.toml:1:1"), "{}", err(&o));
    // The profile commands read it too (its `profile` is theirs when no path is given).
    let lint = w.run(&["profile", "list"], b"");
    assert_eq!(code(&lint), 78, "{}", err(&lint));
    // generate reads no configuration.
    let g = w.run(&["generate", "completions", "bash"], b"");
    assert_eq!(code(&g), 0, "{}", err(&g));
}

#[test]
fn r10_profile_from_config_used_by_verify_and_stamp() {
    let w = world();
    let constraint = root().join("testdata/profiles/valid/constraint.xml");
    std::fs::copy(&constraint, w.path("home/constraint.xml")).expect("copy");
    // `~` in the config's path.
    w.write(
        "home/.config/ximf/config.toml",
        "profile = \"~/constraint.xml\"\n",
    );
    let stamped = w.run(
        &["stamp", "--set", "X-XIMF-Primary-Precedence=routine"],
        &plain(),
    );
    assert_eq!(code(&stamped), 0, "{}", err(&stamped));
    assert!(
        out(&stamped).contains("X-XIMF-NAME: Constrained"),
        "{}",
        out(&stamped)
    );
    let v = w.run(&["verify"], &stamped.stdout);
    assert_eq!(code(&v), 0, "{}{}", out(&v), err(&v));
    assert!(
        out(&v).starts_with("pass instance=Constrained"),
        "{}",
        out(&v)
    );
    // -p beats the config: the built-in profile has no such instance.
    let v = w.run(
        &["-p", &s(&root().join("profiles/builtin")), "verify"],
        &stamped.stdout,
    );
    assert_eq!(code(&v), 1, "{}{}", out(&v), err(&v));
    let o = w.run(&["config", "show"], b"");
    assert_eq!(
        shown(&o, "profile"),
        Some((
            format!("\"{}\"", w.path("home/constraint.xml").display()),
            s(&w.path("home/.config/ximf/config.toml"))
        ))
    );
    // `profile list`, `show` and `lint` take it too.
    let o = w.run(&["profile", "list"], b"");
    assert!(
        out(&o).starts_with("Constrained\t"),
        "{}{}",
        out(&o),
        err(&o)
    );
    let o = w.run(&["profile", "show"], b"");
    assert!(out(&o).contains("Constrained"), "{}{}", out(&o), err(&o));
    std::fs::write(w.path("home/broken.xml"), "<ximf><instance").expect("write");
    w.write(
        "home/.config/ximf/config.toml",
        "profile = \"~/broken.xml\"\n",
    );
    let o = w.run(&["profile", "lint"], b"");
    assert_ne!(code(&o), 0, "{}{}", out(&o), err(&o));
    assert!(
        format!("{}{}", out(&o), err(&o)).contains("broken.xml"),
        "{}{}",
        out(&o),
        err(&o)
    );
    w.write(
        "home/.config/ximf/config.toml",
        "profile = \"~/constraint.xml\"\n",
    );
    let o = w.run(&["-p", "~/other.xml", "config", "show"], b"");
    assert_eq!(
        shown(&o, "profile"),
        Some((
            format!("\"{}\"", w.path("home/other.xml").display()),
            "flag -p".into()
        ))
    );
}

#[test]
fn r10_tilde_and_home_in_flags_and_config() {
    let w = world();
    let msg = signed(&w);
    std::fs::copy(key("root.crt"), w.path("home/root.crt")).expect("copy");
    // Flags: no shell expands these (`--ca=~/x`, mutt's $sendmail, a procmail recipe).
    assert_valid(&w.run(&["--now", NOW, "verify", "--ca=~/root.crt"], &msg));
    assert_valid(&w.run(&["--now", NOW, "verify", "--ca", "$HOME/root.crt"], &msg));
    assert_valid(&w.run(&["--now", NOW, "verify", "--ca", "${HOME}/root.crt"], &msg));
    // --config itself, and `$HOME` inside the file.
    w.write("home/cfg.toml", "[trust]\nca = [\"$HOME/root.crt\"]\n");
    assert_valid(&w.run(&["--now", NOW, "--config", "~/cfg.toml", "verify"], &msg));
    assert_valid(&w.run(&["--now", NOW, "verify", "--config=$HOME/cfg.toml"], &msg));
    // Without the anchors the same message is untrusted, so the expansion is what worked.
    assert_untrusted(&w.run(&["--now", NOW, "verify"], &msg));
    // --key, --cert and -o: sign with files under ~.
    std::fs::copy(key("alice.key"), w.path("home/alice.key")).expect("copy");
    std::fs::copy(key("alice.chain.pem"), w.path("home/alice.pem")).expect("copy");
    let stamped = w
        .ximf()
        .now(NOW)
        .stamp_example()
        .args(["-o", "~/stamped.eml"])
        .stdin(plain())
        .run();
    assert_eq!(code(&stamped), 0, "{}", err(&stamped));
    let o = w.run(
        &[
            "--now",
            NOW,
            "protect",
            "--sign",
            "--key",
            "~/alice.key",
            "--cert",
            "~/alice.pem",
            "~/stamped.eml",
        ],
        b"",
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert_valid(&w.run(&["--now", NOW, "verify", "--ca", "~/root.crt"], &o.stdout));
    // No home: `~` cannot be expanded, a usage error naming it.
    let o = w
        .with("HOME", "")
        .run(&["verify", "--ca", "~/root.crt"], &msg);
    assert_eq!(code(&o), 64, "{}", err(&o));
    assert!(err(&o).contains("~/root.crt"), "{}", err(&o));
}

#[test]
fn r10_config_show_text_and_json() {
    let w = world();
    let cfg = w.write(
        "home/.config/ximf/config.toml",
        "instance = \"Example\"\ncert_dir = \"~/certs\"\nsendmail_command = [\"/bin/true\", \"-x\"]\n\
         [identities.\"alice@example.org\"]\nkey = \"alice.key\"\n[trust]\nca = [\"/etc/ca.pem\"]\n\
         system_ca = false\n[context]\nnetwork = \"office\"\n",
    );
    let src = s(&cfg);
    let dir = cfg.parent().expect("dir");
    let w = w.with("XIMF_CONTEXT", "network=hotel");
    let o = w.run(&["config", "show"], b"");
    assert_eq!(code(&o), 0, "{}", err(&o));
    let home = w.home();
    let expected = format!(
        "config = \"{src}\"  # from default\n\
         profile = \"built-in\"  # from default\n\
         instance = \"Example\"  # from {src}\n\
         sign = false  # from default\n\
         encrypt = false  # from default\n\
         context.network = \"hotel\"  # from env XIMF_CONTEXT\n\
         identities.\"alice@example.org\".key = \"{}\"  # from {src}\n\
         cert_dir = \"{}\"  # from {src}\n\
         trust.ca = [\"/etc/ca.pem\"]  # from {src}\n\
         trust.keyring = []  # from default\n\
         trust.system_ca = false  # from {src}\n\
         sendmail_command = [\"/bin/true\", \"-x\"]  # from {src}\n\
         dead_letter = \"{}\"  # from default\n\
         timeout = 300  # from default\n",
        dir.join("alice.key").display(),
        home.join("certs").display(),
        home.join("dead.letter").display(),
    );
    assert_eq!(out(&o), expected);

    let o = w.run(&["--format", "json", "config", "show"], b"");
    assert_eq!(code(&o), 0, "{}", err(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("json");
    assert_eq!(v["config"]["source"], "default");
    assert_eq!(v["instance"]["value"], "Example");
    assert_eq!(v["instance"]["source"], src.as_str());
    assert_eq!(v["trust.system_ca"]["value"], false);
    assert_eq!(v["timeout"]["value"], 300);
    assert_eq!(v["context.network"]["source"], "env XIMF_CONTEXT");
    assert_eq!(v["cert_dir"]["value"], s(&home.join("certs")).as_str());
}

#[test]
fn r10_sendmail_reads_the_system_file_and_expands_tilde() {
    let w = world();
    let fake = root().join("testdata/bin/fake-sendmail");
    let rec = w.path("rec");
    let w = w.with("FAKE_SENDMAIL_RECORD", &s(&rec));
    // The sendmail command from the system-wide file.
    w.write(
        "etc/config.toml",
        format!(
            "sendmail_command = \"{}\"\n[set]\n\"X-XIMF-Security-Classification\" = \"example-restricted\"\n\
             \"X-XIMF-Primary-Precedence\" = \"routine\"\n",
            fake.display()
        ),
    );
    let o = w.run(&["sendmail", "-oi", "--", "bob@example.org"], &plain());
    assert_eq!(code(&o), 0, "{}", err(&o));
    let sent = std::fs::read_to_string(w.path("rec.msg")).expect("sent");
    assert!(
        sent.contains("X-XIMF-Primary-Precedence: routine"),
        "{sent}"
    );
    // --config ~/... as mutt passes it (no shell), before and after `sendmail`.
    w.write(
        "home/mutt.toml",
        format!(
            "sendmail_command = \"{}\"\ndead_letter = \"~/dl.mbox\"\n",
            fake.display()
        ),
    );
    for args in [
        &[
            "sendmail",
            "--config",
            "~/mutt.toml",
            "--",
            "bob@example.org",
        ][..],
        &[
            "--config",
            "~/mutt.toml",
            "sendmail",
            "--",
            "bob@example.org",
        ],
    ] {
        // The user's file has no [set]: the message does not conform, nothing is sent, and it
        // is kept in the dead letter the user's file names with `~`.
        let o = w.run(args, &plain());
        assert_eq!(code(&o), 65, "{args:?}: {}", err(&o));
        assert!(
            err(&o).contains(&format!(
                "message kept in {}",
                w.path("home/dl.mbox").display()
            )),
            "{}",
            err(&o)
        );
    }
    // The dead letter flag too.
    let o = w.run(
        &[
            "sendmail",
            "--config",
            "$HOME/mutt.toml",
            "--dead-letter",
            "~/other.mbox",
            "--",
            "bob@example.org",
        ],
        &plain(),
    );
    assert_eq!(code(&o), 65, "{}", err(&o));
    assert!(w.path("home/other.mbox").is_file(), "{}", err(&o));
}

#[test]
fn r10_protect_and_decrypt_take_keys_from_the_default_config() {
    let w = world();
    // The user's file names alice's key and certificate and bob's; nothing on the command line.
    w.write(
        "home/.config/ximf/config.toml",
        format!(
            "[identities.\"alice@example.org\"]\nkey = \"{}\"\ncert = \"{}\"\n\
             [identities.\"bob@example.org\"]\nkey = \"{}\"\ncert = \"{}\"\n\
             [trust]\nca = [\"{}\"]\n",
            key("alice.key").display(),
            key("alice.chain.pem").display(),
            key("bob.key").display(),
            key("bob.chain.pem").display(),
            key("root.crt").display(),
        ),
    );
    let stamped = w.ximf().now(NOW).stamp_example().stdin(plain()).run();
    assert_eq!(code(&stamped), 0, "{}", err(&stamped));
    let signed = w.run(&["--now", NOW, "protect", "--sign"], &stamped.stdout);
    assert_eq!(code(&signed), 0, "{}", err(&signed));
    assert_valid(&w.run(&["--now", NOW, "verify"], &signed.stdout));
    // Encrypted to bob with the certificate of his identity, decrypted with his key.
    let sealed = w.run(
        &["--now", NOW, "protect", "--sign", "--encrypt"],
        &stamped.stdout,
    );
    assert_eq!(code(&sealed), 0, "{}", err(&sealed));
    assert!(out(&sealed).contains("nveloped-data"), "{}", out(&sealed));
    let opened = w.run(&["--now", NOW, "decrypt"], &sealed.stdout);
    assert_eq!(code(&opened), 0, "{}", err(&opened));
    assert_valid(&w.run(&["--now", NOW, "verify"], &opened.stdout));
}
