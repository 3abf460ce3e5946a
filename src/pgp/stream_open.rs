//! Opening an OpenPGP message as a stream (issue 13, "one pass, bounded memory"): the message
//! is read front to back in fixed pieces, its armor decoded and its packet framing checked as
//! it comes ([`super::armor::Dearmor`], [`super::armor::Framing`]), and the plaintext written
//! out as Sequoia decrypts it. Nothing held grows with the message. [`super::verify::open_with`]
//! is this with a buffer on each side, so the rules of opening exist once, here.
//!
//! Streaming means the plaintext leaves before the end of the message is seen, and so before
//! the MDC/AEAD tag, the armor checksum and the signatures are checked: the caller writes it to
//! a spool and trusts it only once `open_stream` has returned `Ok`, discarding it otherwise.

use std::io::{self, Read, Write};

use openpgp::Cert;
use openpgp::parse::Parse as _;
use openpgp::parse::stream::DecryptorBuilder;
use sequoia_openpgp as openpgp;

use super::agent::AgentKeys;
use super::armor::{Dearmor, Framing};
use super::verify::{Helper, OpenFailure, guarded};
use super::{policy, system_time};
use crate::secure::outcome::Signer;

/// Octets read from the input at a time.
const READ_SIZE: usize = 64 * 1024;

/// Plaintext copied to the output at a time (the spool buffers its writes). Small, like the
/// hold-back: Sequoia's readers below size their buffers to what is asked of them, and these
/// two cut the heap of a large decrypt from 2.0 to 1.6 MiB.
const COPY_SIZE: usize = 16 * 1024;

/// Plaintext Sequoia holds back before handing any out. Its default (25 MiB) is there to
/// check signatures before the data is released; we need no such wait, because our caller
/// spools the output and judges nothing before `open_stream` returns (the spool is dropped on
/// any error), so the hold-back is only memory.
const HOLD_BACK: usize = 16 * 1024;

/// What a streamed open learned; the plaintext itself went to `out`.
#[derive(Debug)]
pub struct Streamed {
    /// The symmetric cipher (`aes256`, with the AEAD mode when there is one); none when the
    /// OpenPGP message was not encrypted at all (a signed or bare literal message).
    pub cipher: Option<String>,
    /// Signatures inside the encryption (RFC 3156 §6.2 combined messages).
    pub signers: Vec<Signer>,
}

/// Decrypts the OpenPGP message read from `input` (ASCII-armored or binary) with `keys`, then
/// the keys `agent` holds, checking signatures inside it against `keyring` at `now` (unix
/// seconds), and writes the plaintext to `out` as it comes, in bounded memory.
///
/// Fails, in one line, when no key opens the message, when it is malformed, truncated or
/// tampered with (found at its end: what was written to `out` is then garbage to discard), or
/// when the plaintext would pass `max_output` bytes (counted as it is written, so a
/// compression bomb costs at most that much). A failure to read `input` or to write `out` is
/// [`OpenFailure::io`], never a verdict on the message.
///
/// `input` must be `Send + Sync` because Sequoia's parser requires it of its reader.
pub(crate) fn open_stream(
    input: &mut (dyn Read + Send + Sync),
    keys: &[Cert],
    agent: Option<AgentKeys<'_>>,
    keyring: &[Cert],
    now: i64,
    max_output: u64,
    out: &mut dyn Write,
) -> Result<Streamed, OpenFailure> {
    let t = system_time(now);
    // No early refusal without keys: a message that is only signed needs none, and only
    // parsing tells (the helper's decrypt fails when an encrypted one needs a key).
    let keyless = keys.is_empty() && agent.is_none_or(|a| a.certs.is_empty());
    let mut helper = Helper::new(keyring, keys, t);
    helper.agent = agent;
    let agent_failure = helper.agent_failure.clone();
    let no_key = helper.no_key.clone();
    let mut source = Source::new(input);
    let mut sink = Sink { out, failed: None };
    // A short SEIPD nested inside a decrypted or compressed packet still reaches an unwrap in
    // Sequoia 2.4 (see armor.rs), as may a read error at the wrong moment. Such input is
    // hostile, not a bug of ours: catch the panic and call it malformed (no exit 70).
    let run = guarded(|| decrypt(&mut source, &mut sink, helper, t, max_output));
    // Whatever Sequoia said, the input is read to its end, so that a read error, broken armor
    // or a truncated packet is what the failure says, as when the whole message was checked
    // before decryption (and a message with trailing garbage is refused).
    source.drain();
    let fail = |message: String, agent: Option<crate::Error>| OpenFailure {
        message,
        agent,
        io: None,
    };
    match source.fault.take() {
        Some(Fault::Read(e)) => {
            return Err(OpenFailure {
                message: format!("cannot read the OpenPGP message: {e}"),
                agent: None,
                io: Some(e),
            });
        }
        Some(Fault::Malformed(why)) => return Err(fail(format!("cannot decrypt: {why}"), None)),
        None => {}
    }
    if let Some(e) = sink.failed.take() {
        return Err(OpenFailure {
            message: format!("cannot write the plaintext: {e}"),
            agent: None,
            io: Some(e),
        });
    }
    let (why, key) = match run {
        Ok(Ok(helper)) => {
            return Ok(Streamed {
                cipher: helper.cipher.clone(),
                signers: helper
                    .outcomes
                    .into_iter()
                    .map(|o| o.into_signer(t))
                    .collect(),
            });
        }
        Ok(Err((why, key))) => (why, key.unwrap_or_else(|| no_key.get())),
        Err(why) => (why, false),
    };
    if !key {
        return Err(fail(format!("cannot decrypt: {why}"), None));
    }
    let agent = agent_failure.borrow_mut().take();
    let why = match &agent {
        // The finding takes the error line, not the hint for the command line.
        Some(e) => e.to_string().lines().next().unwrap_or_default().to_owned(),
        None if keyless => "the message is encrypted and no key was given".into(),
        None => format!("no key opens the message: {why}"),
    };
    Err(fail(why, agent))
}

/// Sequoia's part: the error says why, and whether it was for want of a key (`None`: ask the
/// helper).
fn decrypt<'a>(
    source: &mut Source<'_>,
    sink: &mut Sink<'_>,
    helper: Helper<'a>,
    now: std::time::SystemTime,
    max_output: u64,
) -> Result<Helper<'a>, (String, Option<bool>)> {
    let lp = policy::lenient();
    let mut d = DecryptorBuilder::from_reader(source)
        .map(|b| b.buffer_size(HOLD_BACK))
        .and_then(|b| b.with_policy(&lp, Some(now), helper))
        .map_err(|e| (e.to_string(), None))?;
    // Integrity failures (MDC/AEAD) surface here, at the end of the data.
    copy_bounded(&mut d, sink, max_output).map_err(|e| (e.to_string(), Some(false)))?;
    if !d.message_processed() {
        return Err(("the OpenPGP message is truncated".into(), Some(false)));
    }
    Ok(d.into_helper())
}

/// Copies `r` to `w` through a fixed buffer, failing once more than `max` bytes come out: the
/// count runs while inflating, so a compression bomb costs at most `max` bytes written and
/// the time to produce them.
fn copy_bounded(r: &mut impl Read, w: &mut impl Write, max: u64) -> io::Result<()> {
    let mut buf = vec![0u8; COPY_SIZE];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(()),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let room = max - total;
        if n as u64 > room {
            // `room` is below `n`, a usize.
            w.write_all(&buf[..room as usize])?;
            return Err(io::Error::other(format!(
                "the content exceeds the output limit of {max} bytes"
            )));
        }
        w.write_all(&buf[..n])?;
        total += n as u64;
    }
}

/// Why the input could not be decoded; kept by [`Source`], since Sequoia's own error for it
/// would say something else (or the parser would panic on the short read).
#[derive(Debug)]
enum Fault {
    /// The input itself failed: not a verdict on the message.
    Read(io::Error),
    /// The armor or the packet framing is broken.
    Malformed(String),
}

/// The input as Sequoia reads it: dearmored and framing-checked on the way, in fixed pieces.
struct Source<'a> {
    input: &'a mut (dyn Read + Send + Sync),
    raw: Vec<u8>,
    /// `None` until the first octet tells armor (`Some(Some(_))`) from binary.
    armor: Option<Option<Dearmor>>,
    framing: Framing,
    /// Decoded octets not handed on yet, from `pos`.
    ready: Vec<u8>,
    pos: usize,
    eof: bool,
    fault: Option<Fault>,
}

impl<'a> Source<'a> {
    fn new(input: &'a mut (dyn Read + Send + Sync)) -> Self {
        Source {
            input,
            raw: vec![0u8; READ_SIZE],
            armor: None,
            framing: Framing::default(),
            ready: Vec::new(),
            pos: 0,
            eof: false,
            fault: None,
        }
    }

    /// Reads and decodes the next piece of input into `ready`, or records why it cannot.
    fn fill(&mut self) {
        self.ready.clear();
        self.pos = 0;
        let n = loop {
            match self.input.read(&mut self.raw) {
                Ok(n) => break n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.fault = Some(Fault::Read(e));
                    return;
                }
            }
        };
        let r = if n == 0 {
            self.eof = true;
            match &mut self.armor {
                None => Err(crate::Error::Message(
                    "malformed OpenPGP data: no OpenPGP data".into(),
                )),
                Some(Some(d)) => d.finish(&mut self.ready),
                Some(None) => Ok(()),
            }
            .and_then(|()| self.framing.feed(&self.ready))
            .and_then(|()| self.framing.finish())
        } else {
            let raw = &self.raw[..n];
            // Binary OpenPGP starts with a packet header, bit 7 set; armor never does.
            let armor = self
                .armor
                .get_or_insert_with(|| (raw[0] & 0x80 == 0).then(Dearmor::new));
            match armor {
                Some(d) => d.feed(raw, &mut self.ready),
                None => {
                    self.ready.extend_from_slice(raw);
                    Ok(())
                }
            }
            .and_then(|()| self.framing.feed(&self.ready))
        };
        if let Err(e) = r {
            self.fault = Some(Fault::Malformed(e.to_string()));
        }
    }

    /// Reads the input to its end after Sequoia stopped, for a fault it did not reach.
    fn drain(&mut self) {
        while self.fault.is_none() && !self.eof {
            self.fill();
        }
    }
}

impl Read for Source<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if let Some(f) = &self.fault {
                // Sticky, and only a signal: the fault itself is reported from `self.fault`.
                return Err(match f {
                    Fault::Read(e) => io::Error::new(e.kind(), e.to_string()),
                    Fault::Malformed(why) => {
                        io::Error::new(io::ErrorKind::InvalidData, why.clone())
                    }
                });
            }
            if self.pos < self.ready.len() {
                let n = buf.len().min(self.ready.len() - self.pos);
                buf[..n].copy_from_slice(&self.ready[self.pos..self.pos + n]);
                self.pos += n;
                return Ok(n);
            }
            if self.eof {
                return Ok(0);
            }
            self.fill();
        }
    }
}

/// The caller's output, keeping its first error: a failed write is the caller's I/O, not a
/// verdict on the message.
struct Sink<'a> {
    out: &'a mut dyn Write,
    failed: Option<io::Error>,
}

impl Write for Sink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.out.write(buf).map_err(|e| self.keep(e))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush().map_err(|e| self.keep(e))
    }
}

impl Sink<'_> {
    /// Keeps the first real error and hands Sequoia's side a copy.
    fn keep(&mut self, e: io::Error) -> io::Error {
        let copy = io::Error::new(e.kind(), e.to_string());
        if e.kind() != io::ErrorKind::Interrupted {
            self.failed.get_or_insert(e);
        }
        copy
    }
}

#[cfg(test)]
mod tests {
    //! Against the real `gpg` and `sq`: multi-MiB messages, armored and binary, compressed or
    //! not, signed inside or not, opened as a stream; streaming is shown by counting, not timed.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::path::{Path, PathBuf};
    use std::process::{Command, Stdio};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    /// 2026-06-01, when the test keys are valid (testdata/keys/pgp/README.md).
    const NOW: i64 = 1_780_272_000;
    /// When the peers encrypt and sign: before `NOW`.
    const PEER_TIME: &str = "20260501T000000";
    const MIB: usize = 1 << 20;

    fn key_path(file: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/keys/pgp")
            .join(file)
    }

    fn key(file: &str) -> Cert {
        Cert::from_bytes(&std::fs::read(key_path(file)).unwrap()).unwrap()
    }

    /// Runs `cmd` with `stdin` fed from a thread (the output may be larger than a pipe).
    fn run(mut cmd: Command, stdin: Vec<u8>) -> Vec<u8> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut w = child.stdin.take().unwrap();
        let feeder = std::thread::spawn(move || w.write_all(&stdin));
        let out = child.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "{cmd:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        feeder.join().unwrap().unwrap();
        out.stdout
    }

    /// A GNUPGHOME holding alice's and bob's secret keys; its agent is stopped on drop.
    struct Gpg(tempfile::TempDir);

    impl Gpg {
        fn new() -> Self {
            let g = Gpg(tempfile::tempdir().unwrap());
            for k in ["alice.key", "bob.key"] {
                g.run(&["--import", key_path(k).to_str().unwrap()], Vec::new());
            }
            g
        }

        /// Runs gpg at [`PEER_TIME`].
        fn run(&self, args: &[&str], stdin: Vec<u8>) -> Vec<u8> {
            let t = format!("{PEER_TIME}!");
            let mut all = vec!["--faked-system-time", &t, "--ignore-time-conflict"];
            all.extend_from_slice(args);
            self.run_now(&all, stdin)
        }

        fn run_now(&self, args: &[&str], stdin: Vec<u8>) -> Vec<u8> {
            let mut cmd = Command::new("gpg");
            cmd.arg("--homedir").arg(self.0.path()).args([
                "--batch",
                "--yes",
                "--trust-model",
                "always",
                "--pinentry-mode",
                "loopback",
                "--passphrase",
                "",
            ]);
            cmd.args(args);
            run(cmd, stdin)
        }
    }

    impl Drop for Gpg {
        fn drop(&mut self) {
            let _ = Command::new("gpgconf")
                .arg("--homedir")
                .arg(self.0.path())
                .args(["--kill", "gpg-agent"])
                .status();
        }
    }

    fn sq(args: &[&str], stdin: Vec<u8>) -> Vec<u8> {
        let mut cmd = Command::new("sq");
        cmd.args(args);
        run(cmd, stdin)
    }

    /// `size` bytes of text lines that are not all alike (compressible, but not to nothing).
    fn text(size: usize) -> Vec<u8> {
        let mut v = Vec::with_capacity(size + 80);
        let mut x = 0x2545_f491_u32;
        while v.len() < size {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            v.extend_from_slice(
                format!("line {x:08x}: the quick brown fox {}\r\n", x % 977).as_bytes(),
            );
        }
        v.truncate(size);
        v
    }

    /// A reader over a buffer that counts what it handed out.
    struct CountingRead<'a> {
        data: &'a [u8],
        read: Arc<AtomicU64>,
    }

    impl Read for CountingRead<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            let n = self.data.read(buf)?;
            self.read.fetch_add(n as u64, Ordering::SeqCst);
            Ok(n)
        }
    }

    /// A writer that notes how much input had been read when the first plaintext came.
    struct CountingWrite {
        out: Vec<u8>,
        read: Arc<AtomicU64>,
        read_at_first_write: Option<u64>,
    }

    impl Write for CountingWrite {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if !buf.is_empty() {
                self.read_at_first_write
                    .get_or_insert(self.read.load(Ordering::SeqCst));
            }
            self.out.write(buf)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    /// Opens `msg` as a stream with alice's key and bob's certificate: the result, the
    /// plaintext, and how much of `msg` had been read when the first plaintext came out.
    fn stream(msg: &[u8], max: u64) -> (Result<Streamed, OpenFailure>, Vec<u8>, Option<u64>) {
        stream_at(msg, max, NOW)
    }

    fn stream_at(
        msg: &[u8],
        max: u64,
        now: i64,
    ) -> (Result<Streamed, OpenFailure>, Vec<u8>, Option<u64>) {
        let (keys, keyring) = ([key("alice.key")], [key("bob.cert")]);
        let read = Arc::new(AtomicU64::new(0));
        let mut input = CountingRead {
            data: msg,
            read: read.clone(),
        };
        let mut out = CountingWrite {
            out: Vec::new(),
            read,
            read_at_first_write: None,
        };
        let r = open_stream(&mut input, &keys, None, &keyring, now, max, &mut out);
        (r, out.out, out.read_at_first_write)
    }

    fn signers(s: &[Signer]) -> String {
        format!("{s:?}")
    }

    /// Streams `msg`, checks it against the reference plaintext and `open_with`, and that the
    /// first plaintext left before a quarter of the message (and 1 MiB) was read; the signers
    /// are returned.
    fn check_streams(what: &str, msg: &[u8], plain: &[u8], now: i64) -> Vec<Signer> {
        let (r, out, first) = stream_at(msg, 64 * MIB as u64, now);
        let s = r.unwrap_or_else(|e| panic!("{what}: {e:?}"));
        assert!(out == plain, "{what}: the plaintext differs from gpg's");
        // Sequoia's default hold-back would have read all of these before the first octet
        // came out; ours releases it after a bound that does not grow with the message.
        let first = first.unwrap();
        assert!(
            first < msg.len() as u64 / 4 && first < MIB as u64,
            "{what}: plaintext came out only after {first} of {} octets",
            msg.len()
        );
        let whole = crate::pgp::open_with(
            msg,
            &[key("alice.key")],
            None,
            &[key("bob.cert")],
            now,
            64 * MIB as u64,
        )
        .unwrap();
        assert!(whole.plaintext == plain, "{what}: open_with differs");
        assert_eq!(whole.cipher, s.cipher, "{what}");
        assert_eq!(signers(&whole.signers), signers(&s.signers), "{what}");
        s.signers
    }

    #[test]
    fn gpg_messages_stream_as_gpg_decrypts_them() {
        let gpg = Gpg::new();
        let plain = text(8 * MIB);
        let cases: [(&str, &[&str]); 4] = [
            ("binary, uncompressed", &["--compress-algo", "none"]),
            ("armored, zlib", &["--armor", "--compress-algo", "zlib"]),
            (
                "binary, signed, zip",
                &["--sign", "-u", "bob@example.org", "--compress-algo", "zip"],
            ),
            (
                "armored, signed, uncompressed",
                &[
                    "--armor",
                    "--sign",
                    "-u",
                    "bob@example.org",
                    "--compress-algo",
                    "none",
                ],
            ),
        ];
        for (what, extra) in cases {
            let mut args = vec!["--encrypt", "-r", "alice@example.org"];
            args.extend_from_slice(extra);
            let msg = gpg.run(&args, plain.clone());
            assert!(msg.len() > MIB, "{what}: {} octets", msg.len());
            let theirs = gpg.run(&["--decrypt"], msg.clone());
            assert!(theirs == plain, "{what}: gpg's own round trip");
            let signers = check_streams(what, &msg, &theirs, NOW);
            if what.contains("signed") {
                assert_eq!(signers.len(), 1, "{what}");
                assert_eq!(
                    signers[0].status,
                    crate::secure::SignatureStatus::Valid,
                    "{what}: {signers:?}"
                );
            } else {
                assert!(signers.is_empty(), "{what}");
            }
        }
    }

    #[test]
    fn sq_messages_stream() {
        let plain = text(8 * MIB);
        let alice = key_path("alice.cert");
        let bob = key_path("bob.key");
        let time = "2026-05-01T00:00:00Z";
        for (what, extra) in [
            (
                "armored, signed, zip",
                vec!["--signer-key", bob.to_str().unwrap()],
            ),
            (
                "binary, uncompressed",
                vec!["--binary", "--compression", "none"],
            ),
        ] {
            let mut args = vec![
                "encrypt",
                "--time",
                time,
                "--recipient-cert",
                alice.to_str().unwrap(),
            ];
            args.extend(extra);
            let msg = sq(&args, plain.clone());
            // sq 0.27 dates its signatures now whatever `--time` says: check them after.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_secs() as i64;
            // The reference is what went in: gpg 2.2 misreads sq's compressed multi-MiB
            // messages ("indeterminate length for invalid packet type 10").
            let signers = check_streams(what, &msg, &plain, now);
            assert_eq!(
                signers.len(),
                usize::from(what.contains("signed")),
                "{what}"
            );
            for s in signers {
                assert_eq!(
                    s.status,
                    crate::secure::SignatureStatus::Valid,
                    "{what}: {s:?}"
                );
            }
        }
    }

    #[test]
    fn a_compression_bomb_stops_at_the_limit() {
        let gpg = Gpg::new();
        let bomb = gpg.run(
            &[
                "--encrypt",
                "-r",
                "alice@example.org",
                "--compress-algo",
                "zlib",
                "--compress-level",
                "9",
            ],
            vec![0u8; 64 * MIB],
        );
        assert!(bomb.len() < MIB, "{} octets", bomb.len());
        let (r, out, _) = stream(&bomb, MIB as u64);
        let e = r.unwrap_err();
        assert!(
            e.message
                == format!("cannot decrypt: the content exceeds the output limit of {MIB} bytes"),
            "{e:?}"
        );
        assert!(e.io.is_none() && e.agent.is_none());
        assert!(out.len() <= MIB, "{} bytes written", out.len());
        // Exactly at the limit is within it.
        let (r, out, _) = stream(&bomb, 64 * MIB as u64);
        assert!(r.is_ok() && out.len() == 64 * MIB);
    }

    #[test]
    fn a_truncated_message_fails_without_a_panic() {
        let gpg = Gpg::new();
        let plain = text(MIB);
        for extra in [
            &[][..],
            &["--armor"][..],
            &["--sign", "-u", "bob@example.org"][..],
        ] {
            let mut args = vec![
                "--encrypt",
                "-r",
                "alice@example.org",
                "--compress-algo",
                "none",
            ];
            args.extend_from_slice(extra);
            let msg = gpg.run(&args, plain.clone());
            let n = msg.len();
            // (An armored message cut by its last LF only is whole.)
            for cut in [1, 40, 300, 600, n / 2, n - 100, n - 23, n - 2] {
                let (r, _, _) = stream(&msg[..cut], 64 * MIB as u64);
                let e = r
                    .err()
                    .unwrap_or_else(|| panic!("{extra:?} cut at {cut} opened"));
                assert!(e.message.starts_with("cannot decrypt: "), "{cut}: {e:?}");
                assert!(e.io.is_none(), "{cut}: {e:?}");
            }
        }
    }

    /// A reader that hands out `ok` octets of `data`, then fails.
    struct FailingRead<'a> {
        data: &'a [u8],
        ok: usize,
    }

    impl Read for FailingRead<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.ok == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::BrokenPipe,
                    "the disk is gone",
                ));
            }
            let n = buf.len().min(self.ok).min(self.data.len());
            let n = self.data.read(&mut buf[..n])?;
            self.ok -= n;
            Ok(n)
        }
    }

    #[test]
    fn a_read_error_is_io_not_a_verdict() {
        let gpg = Gpg::new();
        let plain = text(2 * MIB);
        for armor in [false, true] {
            let mut args = vec!["--encrypt", "-r", "alice@example.org"];
            if armor {
                args.push("--armor");
            }
            let msg = gpg.run(&args, plain.clone());
            for ok in [0, 10, 5000, msg.len() / 2, msg.len() - 1] {
                let mut input = FailingRead { data: &msg, ok };
                let mut out = Vec::new();
                let e = open_stream(
                    &mut input,
                    &[key("alice.key")],
                    None,
                    &[],
                    NOW,
                    64 * MIB as u64,
                    &mut out,
                )
                .err()
                .unwrap_or_else(|| panic!("{ok}: opened"));
                let io = e.io.as_ref().unwrap_or_else(|| panic!("{ok}: {e:?}"));
                assert_eq!(io.kind(), io::ErrorKind::BrokenPipe, "{ok}");
                assert_eq!(
                    e.message, "cannot read the OpenPGP message: the disk is gone",
                    "{ok}"
                );
            }
        }
        // Broken armor is a verdict, not I/O.
        let mut star = gpg.run(&["--encrypt", "--armor", "-r", "alice@example.org"], plain);
        let at = star.len() / 2;
        star[at] = b'*';
        let (r, _, _) = stream(&star, 64 * MIB as u64);
        let e = r.err().unwrap();
        assert!(
            e.io.is_none() && e.message.contains("is not base64"),
            "{e:?}"
        );
    }

    /// A writer that fails after `ok` bytes.
    struct FailingWrite {
        ok: usize,
    }

    impl Write for FailingWrite {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.ok == 0 {
                return Err(io::Error::new(
                    io::ErrorKind::StorageFull,
                    "the spool is full",
                ));
            }
            let n = buf.len().min(self.ok);
            self.ok -= n;
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn a_write_error_is_io_not_a_verdict() {
        let gpg = Gpg::new();
        let msg = gpg.run(&["--encrypt", "-r", "alice@example.org"], text(MIB));
        let mut input = &msg[..];
        let e = open_stream(
            &mut input,
            &[key("alice.key")],
            None,
            &[],
            NOW,
            64 * MIB as u64,
            &mut FailingWrite { ok: 1000 },
        )
        .err()
        .unwrap();
        assert_eq!(e.io.map(|e| e.kind()), Some(io::ErrorKind::StorageFull));
        assert_eq!(e.message, "cannot write the plaintext: the spool is full");
    }
}
