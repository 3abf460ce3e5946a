//! The `ximf sendmail` argument vector (sendmail's clustered getopt options mixed with ximf's
//! own long options and the recipients).
//!
//! The input is the argument vector, NUL-separated (any octets: arguments need not be UTF-8).
//! Whatever `parse` accepts, every recipient it reports must reach the real sendmail.
#![no_main]

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use libfuzzer_sys::fuzz_target;
use ximf::sendmail::argv;

fuzz_target!(|data: &[u8]| {
    ximf_fuzz::init();
    if data.len() > 16 << 10 {
        return;
    }
    let args: Vec<OsString> = data
        .split(|&b| b == 0)
        .take(256)
        .map(|a| OsString::from_vec(a.to_vec()))
        .collect();
    if let Ok(inv) = argv::parse(&args) {
        for r in &inv.recipients {
            assert!(
                inv.passthrough
                    .iter()
                    .any(|p| p.to_string_lossy().contains(r.as_str())),
                "recipient {r:?} is not passed on: {:?}",
                inv.passthrough
            );
        }
    }
});
