//! The configuration file reader (TOML, unknown keys refused, paths resolved against the
//! file's directory and `~`/`$HOME`).
//!
//! The input is the file's text. It is parsed as `/etc/ximf/config.toml` with and without a
//! home directory; what parses is then read the ways the commands read it.
#![no_main]

use std::path::Path;

use libfuzzer_sys::fuzz_target;
use ximf::config::Config;

fuzz_target!(|data: &[u8]| {
    ximf_fuzz::init();
    if data.len() > 64 << 10 {
        return;
    }
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("/etc/ximf/config.toml");
    for home in [Some(Path::new("/home/alice")), None] {
        let Ok(c) = Config::parse(text, path, home) else {
            continue;
        };
        let _ = c.set_pairs();
        let _ = c.context_items();
        let _ = c.entries();
        let _ = c.system_ca();
        let _ = c.identity("alice@example.org");
        if let Some(w) = &c.sendmail_command {
            let _ = w.to_vec();
        }
        for p in [&c.profile, &c.dead_letter, &c.cert_dir]
            .into_iter()
            .flatten()
        {
            // Relative paths were resolved against the file's directory.
            assert!(p.is_absolute(), "unresolved path {p:?}");
        }
    }
});
