//! Runs the real `ximf` under GNU time: the exit status, its own output, its maximum resident
//! set size and the wall time — the bounds the limit tests assert (no benchmark timings).
#![allow(clippy::unwrap_used)]

use std::io::Write as _;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::serial::{Resource, lock};

/// What one run measured.
pub struct Measured {
    /// The exit status (-1 when killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: Vec<u8>,
    /// Standard error without GNU time's own lines.
    pub stderr: String,
    /// Maximum resident set size, KiB.
    pub rss_kib: u64,
    /// Wall time.
    pub took: Duration,
}

/// Runs `ximf args` in the repository root with no configuration from the environment, feeding
/// `input` on stdin; holds
/// [`Resource::Measured`] while it runs, so no other measured run shares the machine with it.
pub fn run(args: &[&str], input: &[u8]) -> Measured {
    let _turn = lock(Resource::Measured);
    let start = Instant::now();
    let mut child = Command::new("/usr/bin/time")
        .args(["-f", "XIMF-MAXRSS %M"])
        .arg(env!("CARGO_BIN_EXE_ximf"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env_remove("XIMF_CONFIG")
        .env_remove("XDG_CONFIG_HOME")
        .env_remove("XIMF_CONTEXT")
        .env_remove("XIMF_SENDMAIL_DEPTH")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("GNU time (scripts/setup.sh installs it)");
    let mut stdin = child.stdin.take().unwrap();
    let data = input.to_vec();
    // Fed from a thread: a large input must not deadlock against a full stdout pipe.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let took = start.elapsed();
    let all = String::from_utf8_lossy(&out.stderr).into_owned();
    let rss_kib = all
        .lines()
        .find_map(|l| l.strip_prefix("XIMF-MAXRSS "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let stderr = all
        .lines()
        .filter(|l| !l.starts_with("XIMF-MAXRSS") && !l.starts_with("Command exited"))
        .map(|l| format!("{l}\n"))
        .collect();
    Measured {
        code: out.status.code().unwrap_or(-1),
        stdout: out.stdout,
        stderr,
        rss_kib,
        took,
    }
}
