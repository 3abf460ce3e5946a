//! scripts/install.sh puts the binary, the man pages (with EXIT STATUS) and the bash, zsh and
//! fish completions under a prefix; the pages and completions come from `ximf generate`.

use crate::support::mailflow::*;
use std::process::Command;

#[test]
fn install_script_installs_binary_man_pages_and_completions() {
    let s = Scratch::new();
    let o = run(
        Command::new("bash")
            .arg(root().join("scripts/install.sh"))
            .args(["--prefix", "/usr/local", "--destdir"])
            .arg(s.path())
            .arg("--bin")
            .arg(ximf_bin()),
        b"",
    );
    assert_eq!(code(&o), 0, "{}{}", out(&o), err(&o));
    let p = s.join("usr/local");
    let installed = p.join("bin/ximf");
    let o = run(Command::new(&installed).arg("--version"), b"");
    assert_eq!(code(&o), 0);
    assert!(out(&o).starts_with("ximf "), "{}", out(&o));

    for page in ["ximf", "ximf-sendmail", "ximf-verify", "ximf-stamp"] {
        let f = p.join(format!("share/man/man1/{page}.1"));
        let roff = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
        assert!(roff.contains(".SH \"EXIT STATUS\""), "{page}");
        assert!(roff.contains("\\fB75\\fR"), "{page}");
    }
    assert!(
        !p.join("share/man/man1/ximf-generate.1").exists(),
        "generate is hidden"
    );
    // Rendered by man(1) when it is there.
    if let Ok(o) = Command::new("man")
        .arg("-l")
        .arg(p.join("share/man/man1/ximf-sendmail.1"))
        .env("MANPAGER", "cat")
        .env("MANWIDTH", "100")
        .output()
        && o.status.success()
    {
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(text.contains("EXIT STATUS"), "{text}");
        assert!(text.contains("--sendmail-command"), "{text}");
    }

    let bash = p.join("share/bash-completion/completions/ximf");
    let o = run(
        Command::new("bash")
            .arg("-c")
            .arg(format!("source '{}' && complete -p ximf", bash.display())),
        b"",
    );
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(out(&o).contains("-F _ximf"), "{}", out(&o));
    let zsh = std::fs::read_to_string(p.join("share/zsh/site-functions/_ximf")).expect("zsh");
    assert!(zsh.starts_with("#compdef ximf"), "{zsh}");
    assert!(zsh.contains("sendmail"), "zsh completion lacks sendmail");
    let fish =
        std::fs::read_to_string(p.join("share/fish/vendor_completions.d/ximf.fish")).expect("fish");
    assert!(fish.contains("complete -c ximf"), "{fish}");
    assert!(
        fish.contains("sendmail-command"),
        "fish completion lacks sendmail's flags"
    );

    for f in [
        "procmailrc",
        "ximf.sieve",
        "ximf-verify",
        "ximf-filter",
        "90-sieve-ximf.conf",
    ] {
        assert!(p.join("share/doc/ximf/mailflow").join(f).is_file(), "{f}");
    }
}

#[test]
fn generate_writes_a_page_with_exit_status_to_stdout() {
    let o = run(Command::new(ximf_bin()).args(["generate", "man"]), b"");
    assert_eq!(code(&o), 0, "{}", err(&o));
    let page = out(&o);
    assert!(page.starts_with(".ie \\n(.g .ds Aq"), "{page}");
    assert!(page.contains(".TH ximf 1"), "{page}");
    assert!(page.contains(".SH \"EXIT STATUS\""), "{page}");
    let o = run(
        Command::new(ximf_bin()).args(["generate", "completions", "tcsh"]),
        b"",
    );
    assert_eq!(code(&o), 64, "an unknown shell is a usage error");
    // Hidden: not in --help.
    let o = run(Command::new(ximf_bin()).arg("--help"), b"");
    assert!(!out(&o).contains("generate"), "{}", out(&o));
}
