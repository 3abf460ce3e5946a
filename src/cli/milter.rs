//! `ximf milter`: the milter protocol (miltr-server, on a tokio runtime made here) around the
//! library's per-message engine ([`ximf::milter`]). Verification is synchronous and runs on
//! tokio's blocking pool, so slow signature checks never stall other connections.

use super::keys::{KeyArgs, PolicyArgs};
use super::{Ctx, Outcome};
use async_trait::async_trait;
use miltr_common::actions::{Action as MilterAction, Continue, Replycode, Skip};
use miltr_common::commands::{Body, Header, Macro, Mail, Recipient};
use miltr_common::encoding::Writable;
use miltr_common::modifications::ModificationResponse;
use miltr_common::modifications::headers::{ChangeHeader, InsertHeader};
use miltr_common::modifications::quarantine::Quarantine;
use miltr_common::optneg::{Capability, OptNeg, Protocol};
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context as TaskContext, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_util::compat::TokioAsyncReadCompatExt;
use tokio_util::sync::{CancellationToken, WaitForCancellationFutureOwned};
use ximf::milter::{Action, Agent, Decision, Filter, OnError, OnFail, Session, Settings};
use ximf::{Error, Result};

// The command's help is the one-line doc of its variant in cli/mod.rs, applied last. This
// text is a comment, not a doc comment: subcommands are built deferred, which would apply a
// doc comment here after the variant's and change `--help`.
//
// Serve as a milter: verify, annotate, hold or refuse mail at SMTP time
//
// Listens on --socket for an MTA (Postfix smtpd_milters, Sendmail InputMailFilters) and judges
// every message with the same profile, keys and trust as `verify`. As mta, mda or gateway it
// adds Authentication-Results / X-XIMF-Verify exactly as `verify --annotate` does and removes
// forged ones; --on-fail says what a failing message gets. As msa it enforces the
// correspondence type's policy (size, recipient domains with the envelope recipients,
// need-to-know, mandatory fields) and refuses violations with a 5.7.x reply naming the rule.
// Runs until SIGTERM or SIGINT, then finishes the messages in progress (at most 30 s).
#[derive(Debug, clap::Args)]
#[command(
    after_help = "Examples:\n  ximf -p /etc/ximf milter --socket inet:127.0.0.1:8891 \
    --ca /etc/ximf/ca.pem\n  ximf -p /etc/ximf milter --socket unix:/run/ximf/msa.sock --agent msa \
    --usage professional --context network=office\n\nPostfix main.cf: smtpd_milters = \
    inet:127.0.0.1:8891, milter_default_action = tempfail"
)]
pub struct Args {
    /// Where to listen: unix:PATH, inet:PORT@HOST (libmilter) or inet:HOST:PORT (Postfix)
    #[arg(long, value_name = "SOCKET", value_parser = parse_socket)]
    socket: Socket,
    /// The agent ximf acts as: msa enforces the correspondence policy at submission; mta, mda
    /// and gateway verify and annotate
    #[arg(long, value_name = "AGENT", default_value = "mta",
          value_parser = ["msa", "mta", "mda", "gateway"])]
    agent: String,
    /// What a failing or oversize message gets [default: reject as msa, else annotate]
    #[arg(long, value_name = "ACTION", value_parser = ["annotate", "quarantine", "reject", "tempfail"])]
    on_fail: Option<String>,
    /// What a message gets when ximf itself fails: tempfail (the client retries) or accept
    #[arg(long, value_name = "ACTION", default_value = "tempfail",
          value_parser = ["tempfail", "accept"])]
    on_error: String,
    /// Check against this instance instead of the one the message names
    #[arg(long, value_name = "NAME")]
    instance: Option<String>,
    /// The authserv-id of the added fields [default: /etc/mailname or the host name]
    #[arg(long, value_name = "ID")]
    authserv_id: Option<String>,
    /// Most connections served at once; more wait until one ends
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u32).range(1..))]
    max_connections: u32,
    /// Permissions of a unix socket (octal)
    #[arg(long, value_name = "MODE", default_value = "660", value_parser = parse_mode)]
    socket_mode: u32,
    #[command(flatten)]
    policy: PolicyArgs,
    #[command(flatten)]
    keys: KeyArgs,
}

/// A listening address, as milter configurations write them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Socket {
    /// `unix:PATH` (or `local:PATH`).
    Unix(PathBuf),
    /// `inet:PORT@HOST`, `inet:HOST:PORT`, `inet6:PORT@HOST`.
    Inet(String, u16),
}

impl std::fmt::Display for Socket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Socket::Unix(p) => write!(f, "unix:{}", p.display()),
            Socket::Inet(h, p) => write!(f, "inet:{p}@{h}"),
        }
    }
}

/// Parses `unix:PATH`, `local:PATH`, `inet:PORT@HOST` (libmilter, Sendmail) and
/// `inet:HOST:PORT` (Postfix's smtpd_milters), `inet6:` alike. A host is required: listening on
/// every interface must be asked for (`inet:8891@0.0.0.0`).
pub fn parse_socket(s: &str) -> std::result::Result<Socket, String> {
    let hint = "expected unix:PATH, inet:PORT@HOST or inet:HOST:PORT";
    let (kind, rest) = s.split_once(':').ok_or_else(|| hint.to_owned())?;
    match kind {
        "unix" | "local" if !rest.is_empty() => Ok(Socket::Unix(PathBuf::from(rest))),
        "inet" | "inet6" => {
            let (port, host) = match rest.split_once('@') {
                Some((p, h)) => (p, h),
                None => match rest.rsplit_once(':') {
                    Some((h, p)) => (p, h.trim_start_matches('[').trim_end_matches(']')),
                    None => return Err(format!("'{s}': no host; {hint}")),
                },
            };
            let port: u16 = port
                .parse()
                .ok()
                .filter(|&p| p > 0)
                .ok_or_else(|| format!("'{s}': '{port}' is not a port; {hint}"))?;
            if host.is_empty() {
                return Err(format!("'{s}': no host; {hint}"));
            }
            Ok(Socket::Inet(host.to_owned(), port))
        }
        _ => Err(format!("'{s}': {hint}")),
    }
}

fn parse_mode(s: &str) -> std::result::Result<u32, String> {
    u32::from_str_radix(s, 8)
        .ok()
        .filter(|m| *m <= 0o777)
        .ok_or_else(|| format!("'{s}' is not an octal mode such as 660"))
}

/// Loads everything, binds the socket and serves until SIGTERM/SIGINT. `fixed_clock`: the
/// hidden `--now` was given, so every message is judged at that instant.
pub fn run(args: Args, ctx: &Ctx, fixed_clock: bool) -> Result<Outcome> {
    let loaded = ctx.load(None)?;
    if let Some(n) = &args.instance {
        super::verify::pick_instance(&loaded.profile, Some(n))?;
    }
    let mut models = Vec::new();
    for i in &loaded.profile.instances {
        models.push((i.name.clone(), loaded.model(i)?));
    }
    let keys = Arc::new(args.keys.load(&ctx.config.config)?);
    let agent = match args.agent.as_str() {
        "msa" => Agent::Msa,
        "mda" => Agent::Mda,
        "gateway" => Agent::Gateway,
        _ => Agent::Mta,
    };
    let mut settings = Settings::default();
    settings.on_fail = match (args.on_fail.as_deref(), agent) {
        (Some("quarantine"), _) => OnFail::Quarantine,
        (Some("reject"), _) | (None, Agent::Msa) => OnFail::Reject,
        (Some("tempfail"), _) => OnFail::Tempfail,
        _ => OnFail::Annotate,
    };
    settings.on_error = match args.on_error.as_str() {
        "accept" => OnError::Accept,
        _ => OnError::Tempfail,
    };
    settings.agent = agent;
    settings.max_size = ctx.max_size;
    settings.authserv_id = args
        .authserv_id
        .clone()
        .unwrap_or_else(super::verify::default_authserv_id);
    settings.instance = args.instance.clone();
    settings.usage = args.policy.usage.clone();
    settings.context = context(&args.policy)?;
    let clock: Box<dyn ximf::clock::Clock + Send + Sync> = match fixed_clock {
        true => Box::new(ximf::clock::FixedClock(ctx.now)),
        false => Box::new(ximf::clock::SystemClock),
    };
    let filter = Arc::new(Filter::new(loaded.profile, models, keys, settings, clock)?);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("ximf-milter")
        .build()?;
    runtime.block_on(serve(args, filter))?;
    Ok(Outcome::Done)
}

/// The selection context: `$XIMF_CONTEXT`, then `--context`. `time` is left out unless given,
/// so that each message is judged at its own time.
fn context(p: &PolicyArgs) -> Result<ximf::policy::select::Context> {
    let env = std::env::var("XIMF_CONTEXT").unwrap_or_default();
    let items: Vec<String> = env
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .map(str::to_owned)
        .chain(p.context.iter().cloned())
        .collect();
    if p.usage.is_none() && !p.context.is_empty() {
        return Err(Error::Usage(
            "--context without --usage selects nothing".into(),
        ));
    }
    ximf::policy::select::Context::build(None, &items)
}

/// How long messages in progress may take to finish after SIGTERM.
const GRACE: Duration = Duration::from_secs(30);

/// The largest milter packet accepted: a header field may be as long as Postfix's
/// `header_size_limit` allows; body chunks are 64 KiB.
const MAX_PACKET: usize = 1 << 20;

enum Listener {
    Tcp(tokio::net::TcpListener),
    Unix(tokio::net::UnixListener, PathBuf),
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

impl Listener {
    async fn bind(socket: &Socket, mode: u32) -> Result<Listener> {
        let fail = |e: std::io::Error| Error::TempFail(format!("{socket}: {e}"));
        match socket {
            Socket::Inet(host, port) => {
                let l = tokio::net::TcpListener::bind((host.as_str(), *port))
                    .await
                    .map_err(fail)?;
                Ok(Listener::Tcp(l))
            }
            Socket::Unix(path) => {
                use std::os::unix::fs::{FileTypeExt, PermissionsExt};
                // A socket left by a previous run that was killed: nobody listens on it.
                if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_socket())
                    && std::os::unix::net::UnixStream::connect(path).is_err()
                {
                    std::fs::remove_file(path).map_err(fail)?;
                }
                let l = tokio::net::UnixListener::bind(path).map_err(fail)?;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
                    .map_err(fail)?;
                Ok(Listener::Unix(l, path.clone()))
            }
        }
    }

    async fn accept(&self) -> std::io::Result<Box<dyn Stream>> {
        Ok(match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept().await?;
                // Replies are small and the MTA waits for each: do not delay them.
                s.set_nodelay(true)?;
                Box::new(QuickAck(s))
            }
            Listener::Unix(l, _) => Box::new(l.accept().await?.0),
        })
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix(_, path) = self {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// Accepts connections until a signal, then lets each finish the message it is in.
async fn serve(args: Args, filter: Arc<Filter>) -> Result<()> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    let listener = Listener::bind(&args.socket, args.socket_mode).await?;
    let stop = CancellationToken::new();
    let slots = Arc::new(tokio::sync::Semaphore::new(args.max_connections as usize));
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        let permit = tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            p = slots.clone().acquire_owned() => p,
        };
        // The semaphore is never closed.
        let Ok(permit) = permit else { break };
        let stream = tokio::select! {
            _ = term.recv() => break,
            _ = int.recv() => break,
            s = listener.accept() => s,
        };
        while tasks.try_join_next().is_some() {}
        let stream = match stream {
            Ok(s) => s,
            Err(e) => {
                // Out of descriptors and the like: say so once, breathe, go on.
                eprintln!("ximf milter: accept on {}: {e}", args.socket);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let conn = Conn::new(filter.clone());
        let stop = stop.clone();
        tasks.spawn(async move {
            conn.serve(stream, stop).await;
            drop(permit);
        });
    }
    drop(listener);
    stop.cancel();
    let drained =
        tokio::time::timeout(GRACE, async { while tasks.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        eprintln!(
            "ximf milter: {} connection(s) still busy after {} s; the MTA applies milter_default_action",
            tasks.len(),
            GRACE.as_secs()
        );
    }
    Ok(())
}

/// One MTA connection: the protocol state around a [`Session`].
struct Conn {
    filter: Arc<Filter>,
    session: Session,
    busy: Arc<AtomicBool>,
    skip: bool,
    leading_space: bool,
    queue_id: String,
}

impl Conn {
    fn new(filter: Arc<Filter>) -> Conn {
        let session = filter.session();
        Conn {
            filter,
            session,
            busy: Arc::new(AtomicBool::new(false)),
            skip: false,
            leading_space: false,
            queue_id: "-".into(),
        }
    }

    async fn serve(mut self, stream: Box<dyn Stream>, stop: CancellationToken) {
        let io = Drain {
            inner: stream,
            busy: self.busy.clone(),
            stop: Box::pin(stop.cancelled_owned()),
            stopped: false,
        };
        let mut server = miltr_server::Server::new(&mut self, false, MAX_PACKET);
        if let Err(e) = server.handle_connection(io.compat()).await {
            // The MTA going away mid-command is its business; anything else is worth a line.
            let quiet = matches!(&e, miltr_server::Error::Io(io)
                if matches!(io.kind(), std::io::ErrorKind::UnexpectedEof
                    | std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe));
            if !quiet {
                eprintln!("ximf milter: connection: {e}");
            }
        }
    }

    /// The decision as milter replies: changes first (highest index first), then insertions
    /// at the top, then the verdict.
    fn response(&self, d: Decision) -> ModificationResponse {
        let mut b = ModificationResponse::builder();
        for c in &d.changes {
            let value = c.value.as_deref().map_or("", |v| self.value(v));
            b.push(ChangeHeader::new(
                c.index,
                c.name.as_bytes(),
                value.as_bytes(),
            ));
        }
        for (i, (name, value)) in d.insert.iter().enumerate() {
            let at = u32::try_from(i).unwrap_or(u32::MAX);
            b.push(InsertHeader::new(
                at,
                name.as_bytes(),
                self.value(value).as_bytes(),
            ));
        }
        match d.action {
            Action::Accept => b.contin(),
            Action::Quarantine(why) => {
                b.push(Quarantine::new(why.as_bytes()));
                b.contin()
            }
            Action::Reject(r) | Action::Tempfail(r) => {
                let c = r.code;
                let rcode = [(c / 100 % 10) as u8, (c / 10 % 10) as u8, (c % 10) as u8];
                let mut x = r.status.split('.').map(|n| n.parse::<u16>().unwrap_or(0));
                let xcode = [
                    x.next().unwrap_or(0),
                    x.next().unwrap_or(0),
                    x.next().unwrap_or(0),
                ];
                b.build(Replycode::new(rcode, xcode, &r.text))
            }
        }
    }

    /// A value as the MTA expects it: with the space after the colon when it agreed to keep
    /// it (SMFIP_HDR_LEADSPC), else without (it adds one).
    fn value<'a>(&self, v: &'a str) -> &'a str {
        match self.leading_space {
            true => v,
            false => v.strip_prefix(' ').unwrap_or(v),
        }
    }
}

#[async_trait]
impl miltr_server::Milter for Conn {
    type Error = std::convert::Infallible;

    async fn option_negotiation(
        &mut self,
        theirs: OptNeg,
    ) -> std::result::Result<OptNeg, miltr_server::Error<Self::Error>> {
        // What we do not need is not sent; the leading space is (signatures cover it), and
        // SKIP lets an oversize message's body stop flowing.
        let mut protocol = Protocol::NO_CONNECT
            | Protocol::NO_HELO
            | Protocol::NO_UNKNOWN
            | Protocol::NO_DATA
            | Protocol::SMFIP_HDR_LEADSPC
            | Protocol::SMFIP_SKIP;
        if self.filter.settings().agent != Agent::Msa {
            protocol |= Protocol::NO_RECIPIENT;
        }
        let ours = OptNeg {
            capabilities: Capability::SMFIF_ADDHDRS
                | Capability::SMFIF_CHGHDRS
                | Capability::SMFIF_QUARANTINE,
            protocol,
            ..OptNeg::default()
        };
        let ours = ours
            .merge_compatible(&theirs)
            .map_err(miltr_common::ProtocolError::CompatibilityError)?;
        self.leading_space = ours.protocol.contains(Protocol::SMFIP_HDR_LEADSPC);
        self.skip = ours.protocol.contains(Protocol::SMFIP_SKIP);
        self.session.keep_leading_space(self.leading_space);
        Ok(ours)
    }

    async fn macro_(&mut self, m: Macro) -> std::result::Result<(), Self::Error> {
        for (k, v) in m.macros() {
            if k == b"i" {
                self.queue_id = String::from_utf8_lossy(v).into_owned();
            }
        }
        Ok(())
    }

    async fn mail(&mut self, _mail: Mail) -> std::result::Result<MilterAction, Self::Error> {
        self.busy.store(true, Ordering::Release);
        self.session.begin();
        self.queue_id = "-".into();
        Ok(Continue.into())
    }

    async fn rcpt(&mut self, r: Recipient) -> std::result::Result<MilterAction, Self::Error> {
        self.session.recipient(&r.recipient());
        Ok(Continue.into())
    }

    async fn header(&mut self, h: Header) -> std::result::Result<MilterAction, Self::Error> {
        // The raw bytes: name NUL value NUL. A lossy string would change 8-bit values.
        let mut raw = Default::default();
        h.write(&mut raw);
        let raw: &[u8] = &raw;
        let raw = raw.strip_suffix(&[0]).unwrap_or(raw);
        let (name, value) = match raw.iter().position(|&b| b == 0) {
            Some(i) => (&raw[..i], &raw[i + 1..]),
            None => (raw, &[][..]),
        };
        self.session.header(name, value);
        Ok(Continue.into())
    }

    async fn end_of_header(&mut self) -> std::result::Result<MilterAction, Self::Error> {
        self.session.end_of_header();
        Ok(Continue.into())
    }

    async fn body(&mut self, body: Body) -> std::result::Result<MilterAction, Self::Error> {
        let more = self.session.body(body.as_bytes());
        Ok(match (more, self.skip) {
            (false, true) => Skip.into(),
            _ => Continue.into(),
        })
    }

    async fn end_of_body(&mut self) -> std::result::Result<ModificationResponse, Self::Error> {
        let collected = self.session.finish();
        let changes = collected.changes().to_vec();
        let filter = self.filter.clone();
        let decision = match tokio::task::spawn_blocking(move || filter.decide(collected)).await {
            Ok(Ok(d)) => d,
            Ok(Err(e)) => {
                let d = self.filter.fallback(changes, &e.to_string());
                eprintln!("ximf milter: {}: {e}: {}", self.queue_id, d.summary());
                d
            }
            Err(_) => {
                // The panic hook has said what panicked.
                let d = self.filter.fallback(changes, "internal error");
                eprintln!(
                    "ximf milter: {}: internal error: {}",
                    self.queue_id,
                    d.summary()
                );
                d
            }
        };
        if !matches!(decision.action, Action::Accept) || decision.verdict != "pass" {
            eprintln!("ximf milter: {}: {}", self.queue_id, decision.summary());
        }
        let response = self.response(decision);
        self.busy.store(false, Ordering::Release);
        Ok(response)
    }

    async fn abort(&mut self) -> std::result::Result<(), Self::Error> {
        self.session.begin();
        self.busy.store(false, Ordering::Release);
        Ok(())
    }
}

/// A TCP connection that acknowledges at once. Postfix sends some packets that need no reply
/// (macros, events we asked it to skip) and, from another process (cleanup), the next one right
/// after: with our ACK delayed (Linux: 40 ms) its Nagle algorithm holds that write, and every
/// message would wait 40 ms. `TCP_QUICKACK` is not sticky, so it is set again after each read.
struct QuickAck(tokio::net::TcpStream);

impl AsyncRead for QuickAck {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.0).poll_read(cx, buf);
        #[cfg(target_os = "linux")]
        if matches!(r, Poll::Ready(Ok(()))) {
            // Only a latency hint: a failure changes nothing else.
            let _ = socket2::SockRef::from(&this.0).set_tcp_quickack(true);
        }
        r
    }
}

impl AsyncWrite for QuickAck {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().0).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().0).poll_shutdown(cx)
    }
}

/// The connection's byte stream, which ends (EOF) at the next command boundary once shutdown is
/// asked for and no transaction is in progress: the protocol loop then returns cleanly, and a
/// message being judged is finished first.
struct Drain {
    inner: Box<dyn Stream>,
    busy: Arc<AtomicBool>,
    stop: Pin<Box<WaitForCancellationFutureOwned>>,
    stopped: bool,
}

impl AsyncRead for Drain {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if !this.busy.load(Ordering::Acquire) {
            // Polling the token registers this task to be woken when shutdown begins.
            if !this.stopped && this.stop.as_mut().poll(cx).is_ready() {
                this.stopped = true;
            }
            if this.stopped {
                return Poll::Ready(Ok(()));
            }
        }
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Drain {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut TaskContext<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sockets_as_milter_configurations_write_them() {
        let ok = |s: &str| parse_socket(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(
            ok("unix:/run/ximf/milter.sock"),
            Socket::Unix("/run/ximf/milter.sock".into())
        );
        assert_eq!(ok("local:rel.sock"), Socket::Unix("rel.sock".into()));
        assert_eq!(
            ok("inet:8891@127.0.0.1"),
            Socket::Inet("127.0.0.1".into(), 8891)
        );
        assert_eq!(
            ok("inet:127.0.0.1:8891"),
            Socket::Inet("127.0.0.1".into(), 8891)
        );
        assert_eq!(ok("inet6:8891@::1"), Socket::Inet("::1".into(), 8891));
        assert_eq!(ok("inet6:[::1]:8891"), Socket::Inet("::1".into(), 8891));
        for bad in [
            "",
            "8891",
            "unix:",
            "inet:8891",
            "inet:x@127.0.0.1",
            "inet:0@127.0.0.1",
            "inet:70000@h",
            "inet:8891@",
            "tcp:1@h",
        ] {
            assert!(parse_socket(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn modes_are_octal() {
        assert_eq!(parse_mode("660"), Ok(0o660));
        assert_eq!(parse_mode("0600"), Ok(0o600));
        assert!(parse_mode("999").is_err());
        assert!(parse_mode("7777").is_err());
    }
}
