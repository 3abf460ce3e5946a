//! What tests sharing one process must not share at the same time. All integration tests are
//! threads of one binary (tests/main.rs), so a resource two of them could meet on is handed out
//! here, and nowhere else:
//!
//! - [`lock`]`(`[`Resource`]`)`: a named, process-wide lock, held for as long as the guard
//!   lives. A test that panicked while holding one does not poison it for the others.
//! - [`free_port`]: a loopback TCP port no other test of this process has been given.
//!
//! What needs neither: private Postfix instances (each has its own configuration, queue, data
//! directory, log and ports), GnuPG homes (every test or fixture has its own, or holds the
//! fixture's lock), Scratch directories and temp dirs (unique names), and the process
//! environment and working directory, which no test changes (children get theirs through
//! `Command`).

use std::collections::BTreeSet;
use std::net::TcpListener;
use std::sync::{Mutex, MutexGuard};

/// A resource tests take turns at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// Runs whose wall time and maximum RSS a test asserts (`support::measure`): one at a
    /// time, so a bound never pays for another measured run (the largest feed 60 MiB).
    Measured,
}

impl Resource {
    fn mutex(self) -> &'static Mutex<()> {
        static MEASURED: Mutex<()> = Mutex::new(());
        match self {
            Resource::Measured => &MEASURED,
        }
    }
}

/// Waits for `r` and holds it until the guard is dropped.
pub fn lock(r: Resource) -> MutexGuard<'static, ()> {
    r.mutex()
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A TCP port on 127.0.0.1 that was free a moment ago and that no other test of this process
/// has been given (the kernel may hand a port it just freed to the next bind(0), and a test
/// binds its port only later, in a child).
pub fn free_port() -> u16 {
    static GIVEN: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    let mut given = GIVEN.lock().unwrap_or_else(|p| p.into_inner());
    loop {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        if given.insert(port) {
            return port;
        }
    }
}
