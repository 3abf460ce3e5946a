//! Handing the finished message to the real sendmail, with a bound on how long it may take.
//!
//! What the caller learns, and why:
//!
//! - The program cannot be started (missing, not executable): [`Error::Unavailable`], exit 69,
//!   as sysexits.h says of a service that is not there.
//! - It exits with a status: that status, unchanged ([`Handoff::Exited`]); mutt and scripts
//!   know sendmail's codes (75 means "try later") and must see them as if ximf were not there.
//! - It exits 0 but did not read the whole message (the pipe broke): [`Error::Io`], exit 74. We
//!   cannot tell whether it queued a truncated message or nothing, so we say "not sent" and keep
//!   the message: a possible duplicate is better than a possible loss.
//! - It is killed by a signal: [`Error::TempFail`], exit 75. A signal comes from outside (the
//!   OOM killer, a shutdown, an administrator), not from the message, so trying again later is
//!   the right advice; a real sendmail queues nothing it was killed in the middle of.
//! - It runs longer than the timeout: it is killed, [`Error::TempFail`], exit 75 (style.md §7:
//!   never block without a bound).
//!
//! The program runs in a process group of its own, and whenever we report "not sent" after
//! starting it (timeout, killed by a signal, exited 0 without reading everything) the whole
//! group is killed with `SIGKILL`, not only the program itself: a sendmail that forked a
//! helper (a queue runner, a background delivery) must not deliver after ximf said nothing was
//! sent and kept the message as a dead letter — that would send it twice, or send a truncated
//! copy. A program that exits with a status of its own is left alone, helpers included: it
//! answered, and that answer is passed through. A side effect of the own group: a terminal's
//! Ctrl-C reaches ximf, not the real sendmail.

use crate::{Error, Result};
use std::ffi::OsString;
use std::io::{Read, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How to run the real sendmail.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct DeliverOptions {
    /// The longest the program may run, reading included.
    pub timeout: Duration,
    /// Extra environment variables for the program.
    pub env: Vec<(OsString, OsString)>,
}

impl Default for DeliverOptions {
    fn default() -> Self {
        DeliverOptions {
            timeout: Duration::from_secs(DEFAULT_TIMEOUT_SECS),
            env: Vec::new(),
        }
    }
}

/// The default bound on the real sendmail, in seconds: Postfix's own `sendmail` gives up on
/// a stuck `postdrop` well before this, so reaching it means something is truly hung.
pub const DEFAULT_TIMEOUT_SECS: u64 = 300;

/// What the real sendmail did with the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handoff {
    /// It read the whole message and exited with this status (0: accepted).
    Exited(u8),
}

/// Linux's default pipe capacity: a smaller message is written whole without a reader.
const PIPE_BUFFER: usize = 65536;

/// Runs `command` (program and its own words) with `args` appended, writes `message` to its
/// stdin, and waits for it at most `opts.timeout`. Its stdout and stderr are ours, so its
/// diagnostics reach the caller (mutt shows them).
///
/// Fails with [`Error::Unavailable`] when the program cannot be started, [`Error::Io`] when it
/// exited 0 without reading the whole message, and [`Error::TempFail`] when it was killed by a
/// signal or ran past the timeout. A non-zero exit is not an error here: it is
/// [`Handoff::Exited`] with that status, which the caller passes through.
pub fn deliver(
    command: &[OsString],
    args: &[OsString],
    message: &[u8],
    opts: &DeliverOptions,
) -> Result<Handoff> {
    let Some((program, words)) = command.split_first() else {
        return Err(Error::Config("sendmail command: empty".into()));
    };
    let shown = program.to_string_lossy().into_owned();
    let (reader, mut stdin) = std::io::pipe()?;
    // A message that fits in the pipe buffer is written whole even if the child never reads,
    // so no broken pipe tells us it was ignored. Keep our own read end for that case, and look
    // for leftovers once the child is gone. (Larger messages keep the broken-pipe signal: with
    // a read end of ours open, a child that stops reading would leave the writer blocked.)
    let leftover_check = if message.len() < PIPE_BUFFER {
        Some(reader.try_clone()?)
    } else {
        None
    };
    let mut child = Command::new(program)
        .args(words)
        .args(args)
        .envs(opts.env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::from(reader))
        // Its own group (pgid = its pid), so that `killpg` reaches every process it starts.
        .process_group(0)
        .spawn()
        .map_err(|e| Error::Unavailable(format!("{shown}: cannot run: {e}")))?;
    // Write from another thread: a child that neither reads nor exits would block a write to a
    // full pipe forever, and the timeout below must still fire.
    // The result comes back over a channel rather than through `join`, so that a grandchild
    // holding the pipe open (and never reading) cannot make us wait past the deadline either.
    let data = message.to_vec();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = stdin.write_all(&data).and_then(|()| stdin.flush());
        drop(stdin);
        let _ = tx.send(r);
    });
    let deadline = Instant::now() + opts.timeout;
    let mut pause = Duration::from_millis(1);
    let status = loop {
        if let Some(s) = child.try_wait()? {
            break s;
        }
        if Instant::now() >= deadline {
            kill_group(&mut child);
            let _ = child.wait();
            return Err(Error::TempFail(format!(
                "{shown}: no answer within {} s; killed it",
                opts.timeout.as_secs()
            )));
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    };
    if let Some(sig) = status.signal() {
        kill_group(&mut child);
        return Err(Error::TempFail(format!("{shown}: killed by signal {sig}")));
    }
    let code = status
        .code()
        .and_then(|c| u8::try_from(c).ok())
        .unwrap_or(70);
    if code != 0 {
        // It refused the message; whether it read all of it does not matter.
        return Ok(Handoff::Exited(code));
    }
    let left = deadline.saturating_duration_since(Instant::now());
    let written = rx.recv_timeout(left).unwrap_or_else(|_| {
        Err(std::io::Error::new(
            std::io::ErrorKind::TimedOut,
            "the message was not read before the deadline",
        ))
    });
    if written.is_ok()
        && let Some(mut check) = leftover_check
    {
        // Every write end is closed now (the writer thread is done), so this read cannot block:
        // it returns what the child left unread, or end-of-file.
        let mut byte = [0u8; 1];
        if check.read(&mut byte).unwrap_or(0) > 0 {
            kill_group(&mut child);
            return Err(Error::Io(std::io::Error::other(format!(
                "{shown}: exited 0 without reading the whole message"
            ))));
        }
    }
    match written {
        Ok(()) => Ok(Handoff::Exited(0)),
        Err(e) => {
            kill_group(&mut child);
            Err(Error::Io(std::io::Error::new(
                e.kind(),
                format!("{shown}: exited 0 without reading the whole message: {e}"),
            )))
        }
    }
}

/// Kills the process group the real sendmail leads (see the module docs), and the program
/// itself should the group be gone.
///
/// The group's id is the program's process id, which the kernel does not hand out again while
/// the program is unreaped or any member of its group lives; on a timeout the program is not
/// reaped yet. After it was reaped (it died by a signal, or exited) and with no member left,
/// `killpg` fails with `ESRCH`; only a new group led by a reused id in the instant between
/// could be hit, as with any `kill` after `wait`.
fn kill_group(child: &mut std::process::Child) {
    let pgid = rustix::process::Pid::from_child(child);
    if rustix::process::kill_process_group(pgid, rustix::process::Signal::KILL).is_err() {
        let _ = child.kill();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sh(script: &str) -> Vec<OsString> {
        vec!["/bin/sh".into(), "-c".into(), script.into(), "sh".into()]
    }

    #[test]
    fn status_passes_through_and_args_are_appended() {
        let o = DeliverOptions::default();
        let got = deliver(
            &sh("cat >/dev/null; exit \"$1\""),
            &["75".into()],
            b"x\n",
            &o,
        );
        assert_eq!(got.expect("ran"), Handoff::Exited(75));
        let got = deliver(&sh("cat >/dev/null"), &[], b"x\n", &o);
        assert_eq!(got.expect("ran"), Handoff::Exited(0));
    }

    #[test]
    fn failures_have_their_classes() {
        use crate::ErrorClass::*;
        let o = DeliverOptions::default();
        let class = |r: Result<Handoff>| r.expect_err("fails").class();
        assert_eq!(
            class(deliver(&["/nonexistent/sendmail".into()], &[], b"", &o)),
            Unavailable
        );
        assert_eq!(class(deliver(&sh("kill -9 $$"), &[], b"x\n", &o)), TempFail);
        // Exits 0 at once without reading a message larger than a pipe buffer.
        let big = vec![b'x'; 1 << 20];
        assert_eq!(class(deliver(&sh("exit 0"), &[], &big, &o)), Io);
        let quick = DeliverOptions {
            timeout: Duration::from_millis(200),
            ..DeliverOptions::default()
        };
        assert_eq!(
            class(deliver(&sh("exec sleep 30"), &[], &big, &quick)),
            TempFail
        );
    }
}
