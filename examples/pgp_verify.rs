//! Verifies one PGP/MIME message with `ximf::pgp::verify`, for `benches/pgp.sh` (the CLI
//! belongs to another work item).
//!
//! Usage: `pgp_verify --now UNIX --keyring CERT [--keyring CERT]... FILE`; prints the signature
//! status and exits 0 when it is `valid` with no error finding, 1 otherwise, 65/78 on bad input.

use std::process::ExitCode;

use ximf::pgp::{VerifyOptions, load_keys, verify};
use ximf::report::Severity;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut keyring = Vec::new();
    let mut now = 0i64;
    let mut file = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--keyring" => {
                let Some(path) = args.next() else {
                    return ExitCode::from(64);
                };
                match std::fs::read(&path)
                    .map_err(ximf::Error::from)
                    .and_then(|d| load_keys(&d))
                {
                    Ok(certs) => keyring.extend(certs),
                    Err(e) => {
                        eprintln!("pgp_verify: {path}: {e}");
                        return ExitCode::from(78);
                    }
                }
            }
            "--now" => match args.next().and_then(|n| n.parse().ok()) {
                Some(n) => now = n,
                None => return ExitCode::from(64),
            },
            _ => file = Some(a),
        }
    }
    let Some(file) = file else {
        eprintln!("pgp_verify: usage: pgp_verify --now UNIX --keyring CERT FILE");
        return ExitCode::from(64);
    };
    let data = match std::fs::read(&file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("pgp_verify: {file}: {e}");
            return ExitCode::from(66);
        }
    };
    let mut opts = VerifyOptions::new(now, keyring);
    opts.skip_content = true;
    match verify(&data, &opts) {
        Ok(v) => {
            println!("{}", v.signature.status);
            let ok = v.signature.status == "valid"
                && !v.findings.iter().any(|f| f.severity == Severity::Error);
            ExitCode::from(if ok { 0 } else { 1 })
        }
        Err(e) => {
            eprintln!("pgp_verify: {file}: {e}");
            ExitCode::from(65)
        }
    }
}
