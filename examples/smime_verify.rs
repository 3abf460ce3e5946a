//! Verifies one S/MIME message for the benchmark (benches/smime.sh): exit 0 when the signature is
//! valid, 1 otherwise, 2 on usage or read errors.
//!
//! Usage: `smime_verify MESSAGE CA_PEM [NOW_UNIX_SECONDS]`

use std::process::ExitCode;

use ximf::smime::{self, VerifyOptions};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: smime_verify MESSAGE CA_PEM [NOW]");
        return ExitCode::from(2);
    }
    let (Ok(msg), Ok(ca)) = (std::fs::read(&args[1]), std::fs::read(&args[2])) else {
        eprintln!("smime_verify: cannot read input");
        return ExitCode::from(2);
    };
    let mut opts = VerifyOptions::default();
    opts.anchors = match smime::parse_certs(&ca) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("smime_verify: {e}");
            return ExitCode::from(2);
        }
    };
    opts.now = args
        .get(3)
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_795_910_400);
    match smime::verify(&msg, &opts) {
        Ok(v) if v.signature.status == "valid" => ExitCode::SUCCESS,
        Ok(v) => {
            eprintln!("smime_verify: {} {:?}", v.signature.status, v.findings);
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("smime_verify: {e}");
            ExitCode::from(1)
        }
    }
}
