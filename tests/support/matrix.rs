//! Support for `tests/engine_matrix.rs`: the real peers (openssl, gpgsm, gpg, sq) and the real
//! `ximf` binary make every message, once per process; byte-level editors build the attack
//! variants; `Row`/`run_table` run one table of expected outcomes against `ximf verify --format
//! json`. Nothing here links to the ximf library: the engine under test is only the binary.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use serde_json::Value;

pub use super::code;
pub use super::fixtures::{BOTH_EOLS, Eol, eol, to_crlf};

// ---- clocks and keys ---------------------------------------------------------------------

/// The S/MIME tests' clock (testdata/keys/smime/README.md); also used for mixed S/MIME + OpenPGP
/// messages (alice's and bob's OpenPGP keys never expire, the X.509 test PKI runs to 2120).
pub const NOW_SMIME: &str = "2026-11-29T00:00:00Z";
/// The OpenPGP tests' clock (testdata/keys/pgp/README.md).
pub const NOW_PGP: &str = "2026-06-01T00:00:00Z";
/// When gpg and sq sign (before NOW_PGP, after the keys' creation).
pub const PEER_TIME: &str = "20260501T000000";
/// When the `expired` OpenPGP key signs (it was valid 2024-01-01..2025-01-01).
pub const EXPIRED_TIME: &str = "20240601T000000";

/// The body every message carries, and the marker tests look for after decryption.
pub const BODY: &str = "Hello Bob,\r\n\r\nthe figures are attached.\r\nAlice\r\n";
pub const MARK: &str = "the figures are attached";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mech {
    Smime,
    Pgp,
    /// S/MIME and OpenPGP layers in one message.
    Mixed,
}

impl Mech {
    pub fn now(self) -> &'static str {
        match self {
            Mech::Smime | Mech::Mixed => NOW_SMIME,
            Mech::Pgp => NOW_PGP,
        }
    }
    pub fn json(self) -> &'static str {
        match self {
            Mech::Smime => "smime",
            Mech::Pgp => "openpgp",
            Mech::Mixed => "mixed",
        }
    }
}

/// Who made the message (or its outermost layer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Maker {
    Ximf,
    Openssl,
    OpensslOpaque,
    Gpgsm,
    Gpg,
    Sq,
}

impl Maker {
    pub fn name(self) -> &'static str {
        match self {
            Maker::Ximf => "ximf",
            Maker::Openssl => "openssl",
            Maker::OpensslOpaque => "openssl-opaque",
            Maker::Gpgsm => "gpgsm",
            Maker::Gpg => "gpg",
            Maker::Sq => "sq",
        }
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A committed S/MIME test file (`alice.key`, `root.crt`, ...).
pub fn sk(name: &str) -> String {
    repo()
        .join("testdata/keys/smime")
        .join(name)
        .display()
        .to_string()
}

/// A committed OpenPGP test file (`alice.key`, `bob.cert`, ...).
pub fn pk(name: &str) -> String {
    repo()
        .join("testdata/keys/pgp")
        .join(name)
        .display()
        .to_string()
}

// ---- the per-process work directory ------------------------------------------------------

/// `$TMPDIR/ximf-engine-matrix-<pid>`; directories of earlier runs whose process is gone are
/// removed first (a static is never dropped, so a TempDir would leak).
pub fn work() -> &'static Path {
    static W: OnceLock<PathBuf> = OnceLock::new();
    W.get_or_init(|| {
        let tmp = std::env::temp_dir();
        let prefix = "ximf-engine-matrix-";
        if let Ok(rd) = std::fs::read_dir(&tmp) {
            for e in rd.flatten() {
                let name = e.file_name().to_string_lossy().into_owned();
                if let Some(pid) = name.strip_prefix(prefix)
                    && !Path::new("/proc").join(pid).exists()
                {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let dir = tmp.join(format!("{prefix}{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("work dir");
        dir
    })
}

fn unique(name: &str) -> PathBuf {
    static N: AtomicUsize = AtomicUsize::new(0);
    work().join(format!("{}-{name}", N.fetch_add(1, Ordering::Relaxed)))
}

/// Each peer output is made once per process: `f` runs once per (tag, input).
pub fn memo(tag: &str, input: &[u8], f: impl FnOnce() -> Vec<u8>) -> Vec<u8> {
    type Cells = Mutex<HashMap<(String, Vec<u8>), Arc<OnceLock<Vec<u8>>>>>;
    static CELLS: OnceLock<Cells> = OnceLock::new();
    let cell = {
        let mut m = CELLS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        m.entry((tag.to_owned(), input.to_vec()))
            .or_default()
            .clone()
    };
    cell.get_or_init(f).clone()
}

/// Runs a peer, asserting success; returns stdout.
pub fn run_tool(cmd: Command, stdin: &[u8]) -> Vec<u8> {
    try_tool(cmd, stdin).unwrap_or_else(|e| panic!("{e}"))
}

/// Runs a GnuPG tool on `home`, retrying a few times: an agent stopped by the previous
/// operation may still be shutting down and drop the next connection ("End of file"). Stops
/// the home's agent after a run that succeeded.
fn run_gnupg(home: &Path, make: impl Fn() -> Command, stdin: &[u8]) -> Vec<u8> {
    let mut last = String::new();
    for attempt in 0..5 {
        if attempt > 0 {
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
        match try_tool(make(), stdin) {
            Ok(out) => {
                // Each run's agent goes with it: the next run of this home starts its own.
                let _ = Command::new("gpgconf")
                    .env("GNUPGHOME", home)
                    .args(["--kill", "gpg-agent"])
                    .status();
                return out;
            }
            Err(e) => last = e,
        }
    }
    panic!("{last}")
}

/// Runs a peer; Err names the command and its stderr.
pub fn try_tool(mut cmd: Command, stdin: &[u8]) -> Result<Vec<u8>, String> {
    use std::io::Write as _;
    let desc = format!("{cmd:?}");
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("spawn {desc}: {e}"));
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(format!(
            "{desc} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

// ---- line endings and bytes --------------------------------------------------------------

pub fn find(h: &[u8], n: &[u8]) -> Option<usize> {
    if n.is_empty() || h.len() < n.len() {
        return None;
    }
    h.windows(n.len()).position(|w| w == n)
}

pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Replaces the first `from` (which must occur) by `to`.
pub fn replace1(msg: &[u8], from: &str, to: &str) -> Vec<u8> {
    let at = find(msg, from.as_bytes())
        .unwrap_or_else(|| panic!("{from:?} not in\n{}", String::from_utf8_lossy(msg)));
    cat(&[&msg[..at], to.as_bytes(), &msg[at + from.len()..]])
}

fn hash_of(b: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    b.hash(&mut h);
    h.finish()
}

fn b64(data: &[u8]) -> Vec<u8> {
    use base64::Engine as _;
    let s = base64::engine::general_purpose::STANDARD.encode(data);
    let mut out = Vec::new();
    for chunk in s.as_bytes().chunks(76) {
        out.extend_from_slice(chunk);
        out.extend_from_slice(b"\r\n");
    }
    out
}

// ---- header fields, entities, messages ---------------------------------------------------

/// An ordered list of header fields (name, unfolded value).
#[derive(Clone, Debug)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The author's header: the Example instance's fields as `ximf stamp` writes them.
    pub fn alice() -> Fields {
        Fields(
            [
                ("From", "Alice Example <alice@example.org>"),
                ("To", "Bob Example <bob@example.org>"),
                ("Subject", "Quarterly figures"),
                ("Date", "Sat, 06 Jun 2009 16:10:00 +0000"),
                ("Message-ID", "<20090606161000.1@example.org>"),
                ("X-XIMF-NAME", "Example"),
                ("X-XIMF-Version", "2.0"),
                ("X-XIMF-Security-Policy-Identifier", "1.3.6.1.4.1.32473.1.1"),
                ("X-XIMF-Security-Classification", "example-restricted"),
                ("X-XIMF-Security-Classification-Identifier", "2"),
                ("X-XIMF-Primary-Precedence", "routine"),
                ("MMHS-Primary-Precedence", "1"),
            ]
            .iter()
            .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
            .collect(),
        )
    }

    /// The same header with `From` set to `from` (a raw field value).
    pub fn from(from: &str) -> Fields {
        Fields::alice().set("From", from)
    }

    /// Sets the first field `name` (or appends it).
    pub fn set(mut self, name: &str, value: &str) -> Fields {
        match self
            .0
            .iter_mut()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
        {
            Some(f) => f.1 = value.to_owned(),
            None => self.0.push((name.to_owned(), value.to_owned())),
        }
        self
    }

    /// Inserts a field right after the first field `after`.
    pub fn insert_after(mut self, after: &str, name: &str, value: &str) -> Fields {
        let at = self
            .0
            .iter()
            .position(|(n, _)| n.eq_ignore_ascii_case(after))
            .map_or(self.0.len(), |i| i + 1);
        self.0.insert(at, (name.to_owned(), value.to_owned()));
        self
    }

    pub fn without(mut self, name: &str) -> Fields {
        self.0.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    pub fn header(&self) -> String {
        self.0
            .iter()
            .map(|(n, v)| format!("{n}: {v}\r\n"))
            .collect()
    }
}

/// A text/plain entity without header fields inside.
pub fn plain_entity() -> Vec<u8> {
    format!("Content-Type: text/plain; charset=us-ascii\r\n\r\n{BODY}").into_bytes()
}

/// RFC 9788 signed payload: `hp="clear"` and the protected copies of `f`.
pub fn hp_entity(f: &Fields) -> Vec<u8> {
    format!(
        "Content-Type: text/plain; charset=us-ascii; hp=\"clear\"\r\n{}\r\n{BODY}",
        f.header()
    )
    .into_bytes()
}

/// The older convention (Enigmail, Thunderbird): `protected-headers="v1"`.
pub fn v1_entity(f: &Fields) -> Vec<u8> {
    format!(
        "Content-Type: text/plain; charset=us-ascii; protected-headers=\"v1\"\r\n{}\r\n{BODY}",
        f.header()
    )
    .into_bytes()
}

/// A message: `outer` + MIME-Version + the entity (whose header starts the MIME fields).
pub fn message(outer: &Fields, entity: &[u8]) -> Vec<u8> {
    cat(&[
        outer.header().as_bytes(),
        b"MIME-Version: 1.0\r\n",
        &to_crlf(entity),
    ])
}

/// The plain message the author writes.
pub fn plain_message(outer: &Fields) -> Vec<u8> {
    message(outer, &plain_entity())
}

/// A message whose text/plain body is `body` (inline OpenPGP).
pub fn inline_message(outer: &Fields, body: &[u8]) -> Vec<u8> {
    cat(&[
        outer.header().as_bytes(),
        b"MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n",
        &to_crlf(body),
    ])
}

/// Splits a message (CRLF) into its header fields (each raw, with continuation lines and its
/// CRLF) and the body (after the blank line).
pub fn split(msg: &[u8]) -> (Vec<Vec<u8>>, Vec<u8>) {
    let msg = to_crlf(msg);
    let mut fields: Vec<Vec<u8>> = Vec::new();
    let mut i = 0;
    while i < msg.len() {
        let end = find(&msg[i..], b"\r\n").map_or(msg.len(), |p| i + p + 2);
        let line = &msg[i..end];
        if line == b"\r\n" {
            return (fields, msg[end..].to_vec());
        }
        if (line[0] == b' ' || line[0] == b'\t') && !fields.is_empty() {
            fields.last_mut().unwrap().extend_from_slice(line);
        } else {
            fields.push(line.to_vec());
        }
        i = end;
    }
    (fields, Vec::new())
}

pub fn field_name(raw: &[u8]) -> String {
    let colon = raw.iter().position(|&b| b == b':').unwrap_or(0);
    String::from_utf8_lossy(&raw[..colon]).trim().to_owned()
}

pub fn join(fields: &[Vec<u8>], body: &[u8]) -> Vec<u8> {
    let mut out = fields.concat();
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// The MIME entity of a message: its `Content-*` fields and body (for nesting a whole
/// protected message as one part).
pub fn entity_of(msg: &[u8]) -> Vec<u8> {
    let (fields, body) = split(msg);
    let mime: Vec<Vec<u8>> = fields
        .into_iter()
        .filter(|f| field_name(f).to_ascii_lowercase().starts_with("content-"))
        .collect();
    join(&mime, &body)
}

fn position(fields: &[Vec<u8>], name: &str) -> usize {
    fields
        .iter()
        .position(|f| field_name(f).eq_ignore_ascii_case(name))
        .unwrap_or_else(|| panic!("no {name} field"))
}

/// Inserts the raw field text `raw` (no CRLF needed) before the first outer field `name`.
pub fn insert_before(msg: &[u8], name: &str, raw: &str) -> Vec<u8> {
    let (mut fields, body) = split(msg);
    let at = position(&fields, name);
    fields.insert(at, to_crlf(format!("{raw}\r\n").as_bytes()));
    join(&fields, &body)
}

/// Inserts `raw` after the first outer field `name` (after its continuation lines).
pub fn insert_after(msg: &[u8], name: &str, raw: &str) -> Vec<u8> {
    let (mut fields, body) = split(msg);
    let at = position(&fields, name) + 1;
    fields.insert(at, to_crlf(format!("{raw}\r\n").as_bytes()));
    join(&fields, &body)
}

/// Replaces the first outer field `name` by `raw`.
pub fn replace_field(msg: &[u8], name: &str, raw: &str) -> Vec<u8> {
    let (mut fields, body) = split(msg);
    let at = position(&fields, name);
    fields[at] = to_crlf(format!("{raw}\r\n").as_bytes());
    join(&fields, &body)
}

/// Refolds the first outer field `name`: unfolded, then one parameter per line (tab-indented).
pub fn refold(msg: &[u8], name: &str) -> Vec<u8> {
    let (mut fields, body) = split(msg);
    let at = position(&fields, name);
    let text = String::from_utf8_lossy(&fields[at]).replace("\r\n", "");
    let parts: Vec<&str> = text.split(';').map(str::trim).collect();
    fields[at] = format!("{}\r\n", parts.join(";\r\n\t")).into_bytes();
    join(&fields, &body)
}

/// Adds a copy of the first outer field `name` right after it.
pub fn dup_field(msg: &[u8], name: &str) -> Vec<u8> {
    let (mut fields, body) = split(msg);
    let at = position(&fields, name);
    let copy = fields[at].clone();
    fields.insert(at + 1, copy);
    join(&fields, &body)
}

/// The outer field names of `msg`.
pub fn outer_names(msg: &[u8]) -> Vec<String> {
    split(msg).0.iter().map(|f| field_name(f)).collect()
}

/// A parameter of the first outer Content-Type (quoted or not).
pub fn ct_param(msg: &[u8], param: &str) -> String {
    let (fields, _) = split(msg);
    let ct = &fields[position(&fields, "Content-Type")];
    let text = String::from_utf8_lossy(ct).replace("\r\n", "");
    let lower = text.to_ascii_lowercase();
    let key = format!("{param}=");
    let at = lower
        .find(&key)
        .unwrap_or_else(|| panic!("no {param} in {text}"))
        + key.len();
    let rest = &text[at..];
    if let Some(q) = rest.strip_prefix('"') {
        q[..q.find('"').unwrap()].to_owned()
    } else {
        rest.split(|c: char| c == ';' || c.is_whitespace())
            .next()
            .unwrap()
            .to_owned()
    }
}

/// `micalg` naming another digest than the one it names now.
pub fn swap_micalg(msg: &[u8]) -> Vec<u8> {
    let old = ct_param(msg, "micalg");
    let new = match old.to_ascii_lowercase().as_str() {
        "sha-256" => "sha-512",
        "sha-384" | "sha-512" => "sha-256",
        "pgp-sha256" => "pgp-sha512",
        "pgp-sha512" | "pgp-sha384" => "pgp-sha256",
        other => panic!("unexpected micalg {other}"),
    };
    let (mut fields, body) = split(msg);
    let at = position(&fields, "Content-Type");
    let text = String::from_utf8_lossy(&fields[at]).into_owned();
    let key = text.to_ascii_lowercase().find("micalg=").unwrap() + "micalg=".len();
    let quoted = text[key..].starts_with('"');
    let start = key + usize::from(quoted);
    let len = text[start..]
        .find(|c: char| c == '"' || c == ';' || c.is_whitespace())
        .unwrap_or(text.len() - start);
    fields[at] = format!("{}{new}{}", &text[..start], &text[start + len..]).into_bytes();
    join(&fields, &body)
}

/// A multipart/mixed entity around `parts` (each an entity).
pub fn mixed_entity(parts: &[Vec<u8>]) -> Vec<u8> {
    let b = format!("mix-{:016x}", hash_of(&parts.concat()));
    let mut out = format!("Content-Type: multipart/mixed; boundary=\"{b}\"\r\n\r\n").into_bytes();
    for p in parts {
        out.extend_from_slice(format!("--{b}\r\n").as_bytes());
        out.extend_from_slice(&to_crlf(p));
        if !out.ends_with(b"\r\n") {
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(format!("--{b}--\r\n").as_bytes());
    out
}

pub fn text_part(text: &str) -> Vec<u8> {
    format!("Content-Type: text/plain; charset=us-ascii\r\n\r\n{text}\r\n").into_bytes()
}

pub fn rfc822_part(msg: &[u8]) -> Vec<u8> {
    cat(&[b"Content-Type: message/rfc822\r\n\r\n", &to_crlf(msg)])
}

/// A third, unsigned part inside the outer multipart/signed.
pub fn add_part_to_signed(msg: &[u8]) -> Vec<u8> {
    let b = ct_param(msg, "boundary");
    let close = format!("--{b}--");
    let msg = to_crlf(msg);
    let at = msg
        .windows(close.len())
        .rposition(|w| w == close.as_bytes())
        .expect("close delimiter");
    cat(&[
        &msg[..at],
        format!("--{b}\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\nUnsigned third part: wire the money.\r\n")
            .as_bytes(),
        &msg[at..],
    ])
}

/// Changes the body text (so a signature over it breaks).
pub fn tamper(msg: &[u8]) -> Vec<u8> {
    replace1(msg, MARK, "the figures are ATTACHED")
}

/// One `*` inserted in the middle of the first armored OpenPGP message's base64 body.
pub fn star_in_armor(msg: &[u8]) -> Vec<u8> {
    let begin = find(msg, b"-----BEGIN PGP MESSAGE-----").expect("armor");
    let end = find(msg, b"-----END PGP MESSAGE-----").expect("armor end");
    let mid = begin + (end - begin) / 2;
    // The middle of that line.
    let line_start = msg[..mid].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    let line_end = mid + msg[mid..].iter().position(|&b| b == b'\n').unwrap();
    let at = line_start + (line_end - line_start) / 2;
    cat(&[&msg[..at], b"*", &msg[at..]])
}

// ---- openssl -----------------------------------------------------------------------------

fn strip_mime_version(out: &[u8]) -> Vec<u8> {
    let (fields, body) = split(out);
    let kept: Vec<Vec<u8>> = fields
        .into_iter()
        .filter(|f| !field_name(f).eq_ignore_ascii_case("MIME-Version"))
        .collect();
    join(&kept, &body)
}

fn smime_cert_files(who: &str) -> (String, String) {
    if who == "ceo" {
        let (key, crt) = ceo_x509();
        (crt, key)
    } else {
        (sk(&format!("{who}.crt")), sk(&format!("{who}.key")))
    }
}

/// `openssl cms -sign` of an entity, detached or opaque; returns the signed entity.
pub fn openssl_sign(entity: &[u8], who: &str, opaque: bool) -> Vec<u8> {
    let tag = format!("openssl-sign:{who}:{opaque}");
    let (crt, key) = smime_cert_files(who);
    memo(&tag, entity, || {
        let mut cmd = Command::new("openssl");
        cmd.args([
            "cms", "-sign", "-md", "sha256", "-signer", &crt, "-inkey", &key,
        ])
        .args(["-certfile", &sk("inter.crt")]);
        if opaque {
            cmd.arg("-nodetach");
        }
        strip_mime_version(&run_tool(cmd, &to_crlf(entity)))
    })
}

/// `openssl cms -encrypt` (AES-256-GCM) to bob; returns the application/pkcs7-mime entity.
pub fn openssl_encrypt(entity: &[u8]) -> Vec<u8> {
    memo("openssl-encrypt", entity, || {
        let mut cmd = Command::new("openssl");
        cmd.args(["cms", "-encrypt", "-aes-256-gcm", "-recip", &sk("bob.crt")]);
        strip_mime_version(&run_tool(cmd, &to_crlf(entity)))
    })
}

/// An X.509 certificate for "Chief Executive", issued by the test intermediate, valid
/// 2020..2120, usable for S/MIME signing, and without any e-mail address. (key, cert) paths.
pub fn ceo_x509() -> (String, String) {
    static P: OnceLock<(String, String)> = OnceLock::new();
    P.get_or_init(|| {
        let dir = work().join("ceo-x509");
        std::fs::create_dir_all(&dir).unwrap();
        let key = dir.join("ceo.key");
        let csr = dir.join("ceo.csr");
        let crt = dir.join("ceo.crt");
        let p = |x: &Path| x.display().to_string();
        let mut c = Command::new("openssl");
        c.args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .args(["-out", &p(&key)]);
        run_tool(c, b"");
        let mut c = Command::new("openssl");
        c.args([
            "req",
            "-new",
            "-key",
            &p(&key),
            "-subj",
            "/CN=Chief Executive",
        ])
        .args(["-out", &p(&csr)]);
        run_tool(c, b"");
        std::fs::write(dir.join("index.txt"), "").unwrap();
        std::fs::write(dir.join("serial"), "7000\n").unwrap();
        std::fs::write(
            dir.join("ca.cnf"),
            format!(
                "[ca]\ndefault_ca = d\n[d]\ndatabase = {0}/index.txt\nnew_certs_dir = {0}\n\
                 serial = {0}/serial\ndefault_md = sha256\npolicy = p\nunique_subject = no\n\
                 copy_extensions = none\n[p]\ncommonName = supplied\n[user]\n\
                 basicConstraints = critical, CA:FALSE\n\
                 keyUsage = critical, digitalSignature, keyEncipherment\n\
                 extendedKeyUsage = emailProtection\nsubjectKeyIdentifier = hash\n\
                 authorityKeyIdentifier = keyid\n",
                dir.display()
            ),
        )
        .unwrap();
        let mut c = Command::new("openssl");
        c.args([
            "ca",
            "-batch",
            "-notext",
            "-config",
            &p(&dir.join("ca.cnf")),
        ])
        .args(["-extensions", "user", "-startdate", "20200101000000Z"])
        .args(["-enddate", "21200101000000Z", "-keyfile", &sk("inter.key")])
        .args(["-cert", &sk("inter.crt"), "-in", &p(&csr), "-out", &p(&crt)]);
        run_tool(c, b"");
        (p(&key), p(&crt))
    })
    .clone()
}

// ---- gpgsm -------------------------------------------------------------------------------

/// A GNUPGHOME for gpgsm that trusts the test root and holds alice's and bob's keys. Every
/// operation holds the lock and stops the agent afterwards (no agent outlives the tests).
fn gpgsm_home() -> &'static Mutex<PathBuf> {
    static H: OnceLock<Mutex<PathBuf>> = OnceLock::new();
    H.get_or_init(|| {
        let home = work().join("gpgsm");
        std::fs::create_dir_all(&home).unwrap();
        std::fs::write(home.join("gpg-agent.conf"), "allow-loopback-pinentry\n").unwrap();
        std::fs::write(
            home.join("gpgsm.conf"),
            "disable-crl-checks\ndisable-policy-checks\n",
        )
        .unwrap();
        let fpr = std::fs::read_to_string(sk("root.fpr")).unwrap();
        std::fs::write(home.join("trustlist.txt"), format!("{} S\n", fpr.trim())).unwrap();
        gpgsm_raw(
            &home,
            &["--import", &sk("root.crt"), &sk("inter.crt")],
            b"",
            false,
        );
        for n in ["alice", "bob"] {
            gpgsm_raw(
                &home,
                &["--import", &sk(&format!("{n}.p12"))],
                b"test\n",
                true,
            );
        }
        Mutex::new(home)
    })
}

fn gpgsm_raw(home: &Path, args: &[&str], stdin: &[u8], pass: bool) -> Vec<u8> {
    let make = || {
        let mut cmd = Command::new("gpgsm");
        cmd.env("GNUPGHOME", home)
            .args(["--batch", "--pinentry-mode", "loopback"]);
        if pass {
            cmd.args(["--passphrase-fd", "0"]);
        }
        cmd.args(args);
        cmd
    };
    run_gnupg(home, make, stdin)
}

fn gpgsm_op(tag: &str, entity: &[u8], args: &[&str], pass: bool) -> Vec<u8> {
    memo(tag, entity, || {
        let home = gpgsm_home().lock().unwrap_or_else(|e| e.into_inner());
        let input = unique("gpgsm-in");
        std::fs::write(&input, to_crlf(entity)).unwrap();
        let i = input.display().to_string();
        let mut all: Vec<&str> = args.to_vec();
        all.push(&i);
        // The DER result on stdout (a retried run never meets a half-written file).
        gpgsm_raw(&home, &all, if pass { b"test\n" } else { b"" }, pass)
    })
}

/// gpgsm run on `data` (LF turned into CRLF, as for a MIME entity) with `args`, alice's and
/// bob's keys at hand: its binary output (DER or BER), made once per process.
pub fn gpgsm_binary(tag: &str, data: &[u8], args: &[&str], pass: bool) -> Vec<u8> {
    gpgsm_op(tag, data, args, pass)
}

/// gpgsm detached signature, wrapped in multipart/signed as mail clients do.
pub fn gpgsm_sign(entity: &[u8], who: &str) -> Vec<u8> {
    let addr = format!("{who}@example.org");
    let der = gpgsm_op(
        &format!("gpgsm-sign:{who}"),
        entity,
        &["-u", &addr, "--detach-sign"],
        true,
    );
    let b = format!("gpgsm-{:016x}", hash_of(&der));
    cat(&[
        format!(
            "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\";\r\n \
             micalg=sha-256; boundary=\"{b}\"\r\n\r\n--{b}\r\n"
        )
        .as_bytes(),
        &to_crlf(entity),
        format!(
            "\r\n--{b}\r\nContent-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n\
             Content-Transfer-Encoding: base64\r\n\
             Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n"
        )
        .as_bytes(),
        &b64(&der),
        format!("--{b}--\r\n").as_bytes(),
    ])
}

/// gpgsm enveloped-data (AES-CBC, gpgsm's default) to bob.
pub fn gpgsm_encrypt(entity: &[u8]) -> Vec<u8> {
    let der = gpgsm_op(
        "gpgsm-encrypt",
        entity,
        &["-r", "bob@example.org", "--encrypt"],
        false,
    );
    cat(&[
        b"Content-Type: application/pkcs7-mime; smime-type=enveloped-data; name=\"smime.p7m\"\r\n\
          Content-Transfer-Encoding: base64\r\n\
          Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n",
        &b64(&der),
    ])
}

// ---- gpg and sq --------------------------------------------------------------------------

/// A GNUPGHOME with the committed test keys and a generated key whose only User ID holds no
/// e-mail address ("CEO"); its cert is exported to `pgp_ceo_cert()`.
fn gpg_home() -> &'static Mutex<PathBuf> {
    static H: OnceLock<Mutex<PathBuf>> = OnceLock::new();
    H.get_or_init(|| {
        let home = work().join("gnupg");
        std::fs::create_dir_all(&home).unwrap();
        let keys: Vec<String> = ["alice", "bob", "mallory", "weak", "expired"]
            .iter()
            .map(|n| pk(&format!("{n}.key")))
            .collect();
        let mut args = vec!["--import"];
        args.extend(keys.iter().map(String::as_str));
        gpg_raw(&home, &args, b"", None);
        gpg_raw(
            &home,
            &["--quick-gen-key", "CEO", "ed25519", "sign", "never"],
            b"",
            Some("20250101T000000"),
        );
        let cert = gpg_raw(&home, &["--armor", "--export", "CEO"], b"", None);
        std::fs::write(work().join("ceo.pgp.cert"), cert).unwrap();
        Mutex::new(home)
    })
}

pub fn pgp_ceo_cert() -> String {
    let _ = gpg_home();
    work().join("ceo.pgp.cert").display().to_string()
}

fn gpg_raw(home: &Path, args: &[&str], stdin: &[u8], time: Option<&str>) -> Vec<u8> {
    let make = || {
        let mut cmd = Command::new("gpg");
        cmd.arg("--homedir").arg(home).args([
            "--batch",
            "--yes",
            "--no-tty",
            "--trust-model",
            "always",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]);
        if let Some(t) = time {
            cmd.args([
                "--faked-system-time",
                &format!("{t}!"),
                "--ignore-time-conflict",
            ]);
        }
        cmd.args(args);
        cmd
    };
    run_gnupg(home, make, stdin)
}

fn gpg_op(tag: &str, input: &[u8], args: &[&str], time: &str) -> Vec<u8> {
    memo(tag, input, || {
        let home = gpg_home().lock().unwrap_or_else(|e| e.into_inner());
        gpg_raw(&home, args, input, Some(time))
    })
}

fn pgp_uid(who: &str) -> String {
    if who == "ceo" {
        "CEO".to_owned()
    } else {
        format!("{who}@example.org")
    }
}

fn pgp_time(who: &str) -> &'static str {
    if who == "expired" {
        EXPIRED_TIME
    } else {
        PEER_TIME
    }
}

/// PGP/MIME multipart/signed around `part` (exactly as signed) and an armored signature.
pub fn pgp_signed_entity(part: &[u8], sig: &[u8], micalg: &str) -> Vec<u8> {
    let b = format!("pgp-s-{:016x}", hash_of(sig));
    cat(&[
        format!(
            "Content-Type: multipart/signed; micalg={micalg};\r\n \
             protocol=\"application/pgp-signature\"; boundary=\"{b}\"\r\n\r\n\
             This is an OpenPGP/MIME signed message (RFC 4880 and 3156)\r\n--{b}\r\n"
        )
        .as_bytes(),
        part,
        format!(
            "\r\n--{b}\r\nContent-Type: application/pgp-signature; name=\"signature.asc\"\r\n\
             Content-Description: OpenPGP digital signature\r\n\r\n"
        )
        .as_bytes(),
        &to_crlf(sig),
        format!("\r\n--{b}--\r\n").as_bytes(),
    ])
}

/// PGP/MIME multipart/encrypted around an armored OpenPGP message.
pub fn pgp_encrypted_entity(armored: &[u8]) -> Vec<u8> {
    let b = format!("pgp-e-{:016x}", hash_of(armored));
    cat(&[
        format!(
            "Content-Type: multipart/encrypted;\r\n protocol=\"application/pgp-encrypted\"; \
             boundary=\"{b}\"\r\n\r\nThis is an OpenPGP/MIME encrypted message (RFC 4880 and 3156)\r\n\
             --{b}\r\nContent-Type: application/pgp-encrypted\r\n\
             Content-Description: PGP/MIME version identification\r\n\r\nVersion: 1\r\n\r\n\
             --{b}\r\nContent-Type: application/octet-stream; name=\"encrypted.asc\"\r\n\
             Content-Disposition: inline; filename=\"encrypted.asc\"\r\n\r\n"
        )
        .as_bytes(),
        &to_crlf(armored),
        format!("\r\n--{b}--\r\n").as_bytes(),
    ])
}

/// gpg detached signature (SHA-256) in PGP/MIME.
pub fn gpg_sign(entity: &[u8], who: &str) -> Vec<u8> {
    let part = to_crlf(entity);
    let uid = pgp_uid(who);
    let sig = gpg_op(
        &format!("gpg-sign:{who}"),
        &part,
        &[
            "--detach-sign",
            "--armor",
            "--digest-algo",
            "SHA256",
            "-u",
            &uid,
        ],
        pgp_time(who),
    );
    pgp_signed_entity(&part, &sig, "pgp-sha256")
}

/// gpg encryption to bob (optionally signed by `sign_as` in the same OpenPGP message), in
/// PGP/MIME.
pub fn gpg_encrypt(entity: &[u8], sign_as: Option<&str>) -> Vec<u8> {
    pgp_encrypted_entity(&gpg_encrypt_armor(&to_crlf(entity), sign_as))
}

/// gpg armored encryption of any bytes to bob.
pub fn gpg_encrypt_armor(data: &[u8], sign_as: Option<&str>) -> Vec<u8> {
    let mut args = vec!["--encrypt", "--armor", "-r", "bob@example.org"];
    let uid;
    if let Some(w) = sign_as {
        uid = pgp_uid(w);
        args.extend(["--sign", "-u", &uid]);
    }
    gpg_op(&format!("gpg-encrypt:{sign_as:?}"), data, &args, PEER_TIME)
}

/// gpg cleartext signature.
pub fn gpg_clearsign(text: &[u8], who: &str) -> Vec<u8> {
    let uid = pgp_uid(who);
    gpg_op(
        &format!("gpg-clearsign:{who}"),
        text,
        &["--clearsign", "--digest-algo", "SHA256", "-u", &uid],
        pgp_time(who),
    )
}

fn sq_run(tag: &str, input: &[u8], args: &[&str]) -> Vec<u8> {
    memo(tag, input, || {
        let mut cmd = Command::new("sq");
        cmd.args(args);
        run_tool(cmd, input)
    })
}

/// sq detached signature (sq's default SHA-512) in PGP/MIME.
pub fn sq_sign(entity: &[u8], who: &str) -> Vec<u8> {
    let part = to_crlf(entity);
    let key = pk(&format!("{who}.key"));
    let sig = sq_run(
        &format!("sq-sign:{who}"),
        &part,
        &[
            "sign",
            "--detached",
            "--time",
            PEER_TIME,
            "--signer-key",
            &key,
        ],
    );
    pgp_signed_entity(&part, &sig, "pgp-sha512")
}

/// sq encryption to bob (unsigned: sq 0.27 signs with the real time, not `--time`).
pub fn sq_encrypt(entity: &[u8]) -> Vec<u8> {
    pgp_encrypted_entity(&sq_encrypt_armor(&to_crlf(entity)))
}

pub fn sq_encrypt_armor(data: &[u8]) -> Vec<u8> {
    sq_run(
        "sq-encrypt",
        data,
        &["encrypt", "--recipient-cert", &pk("bob.cert")],
    )
}

pub fn sq_clearsign(text: &[u8], who: &str) -> Vec<u8> {
    let key = pk(&format!("{who}.key"));
    sq_run(
        &format!("sq-clearsign:{who}"),
        text,
        &[
            "sign",
            "--cleartext-signature",
            "--time",
            PEER_TIME,
            "--signer-key",
            &key,
        ],
    )
}

// ---- ximf protect ------------------------------------------------------------------------

fn ximf_protect(tag: &str, msg: &[u8], args: &[String], now: &str) -> Vec<u8> {
    memo(&format!("ximf:{tag}:{now}"), msg, || {
        let mut all: Vec<&str> = vec!["--now", now, "protect"];
        all.extend(args.iter().map(String::as_str));
        let o = super::ximf(&all, msg);
        assert_eq!(
            code(&o),
            0,
            "ximf protect {tag} failed: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        o.stdout
    })
}

fn signer_args(mech: Mech, who: &str) -> Vec<String> {
    match mech {
        Mech::Smime => vec![
            "--key".into(),
            sk(&format!("{who}.key")),
            "--cert".into(),
            sk(&format!("{who}.chain.pem")),
        ],
        Mech::Pgp => vec!["--key".into(), pk(&format!("{who}.key"))],
        Mech::Mixed => panic!("a signer has one mechanism"),
    }
}

fn recipient_args(mech: Mech) -> Vec<String> {
    match mech {
        Mech::Smime => vec!["--recipient".into(), sk("bob.crt")],
        Mech::Pgp => vec!["--recipient".into(), pk("bob.cert")],
        Mech::Mixed => panic!("a recipient has one mechanism"),
    }
}

/// `ximf protect --sign` (S/MIME or PGP/MIME, RFC 9788 header protection), at that mechanism's
/// clock.
pub fn ximf_sign(msg: &[u8], mech: Mech, who: &str) -> Vec<u8> {
    let mut a = vec!["--sign".to_owned()];
    a.extend(signer_args(mech, who));
    ximf_protect(&format!("sign:{mech:?}:{who}"), msg, &a, mech.now())
}

/// `ximf protect --encrypt --mechanism M` to bob.
pub fn ximf_encrypt(msg: &[u8], mech: Mech) -> Vec<u8> {
    let mut a = vec![
        "--encrypt".to_owned(),
        "--mechanism".into(),
        mech.json().into(),
    ];
    a.extend(recipient_args(mech));
    ximf_protect(&format!("encrypt:{mech:?}"), msg, &a, mech.now())
}

/// `ximf protect --sign --encrypt` (sign-then-encrypt) by `who` to bob.
pub fn ximf_sign_encrypt(msg: &[u8], mech: Mech, who: &str) -> Vec<u8> {
    let mut a = vec![
        "--sign".to_owned(),
        "--encrypt".into(),
        "--mechanism".into(),
        mech.json().into(),
    ];
    a.extend(signer_args(mech, who));
    a.extend(recipient_args(mech));
    ximf_protect(&format!("sign-encrypt:{mech:?}:{who}"), msg, &a, mech.now())
}

// ---- makers, uniformly -------------------------------------------------------------------

/// Signs `entity` with a peer; returns the signed entity.
pub fn peer_sign(maker: Maker, entity: &[u8], who: &str) -> Vec<u8> {
    match maker {
        Maker::Openssl => openssl_sign(entity, who, false),
        Maker::OpensslOpaque => openssl_sign(entity, who, true),
        Maker::Gpgsm => gpgsm_sign(entity, who),
        Maker::Gpg => gpg_sign(entity, who),
        Maker::Sq => sq_sign(entity, who),
        Maker::Ximf => panic!("ximf signs whole messages: use ximf_sign"),
    }
}

/// Encrypts `entity` to bob with a peer; returns the encrypted entity.
pub fn peer_encrypt(maker: Maker, entity: &[u8]) -> Vec<u8> {
    match maker {
        Maker::Openssl | Maker::OpensslOpaque => openssl_encrypt(entity),
        Maker::Gpgsm => gpgsm_encrypt(entity),
        Maker::Gpg => gpg_encrypt(entity, None),
        Maker::Sq => sq_encrypt(entity),
        Maker::Ximf => panic!("ximf encrypts whole messages: use ximf_encrypt"),
    }
}

/// A message with header `outer` signed by `who`: ximf signs the plain message (and protects
/// its header, RFC 9788); a peer signs an `hp="clear"` payload carrying the same fields.
pub fn signed(mech: Mech, maker: Maker, who: &str, outer: &Fields) -> Vec<u8> {
    match maker {
        Maker::Ximf => ximf_sign(&plain_message(outer), mech, who),
        _ => message(outer, &peer_sign(maker, &hp_entity(outer), who)),
    }
}

/// Signed by a peer without header protection (the payload has no header fields).
pub fn signed_nohp(maker: Maker, who: &str, outer: &Fields) -> Vec<u8> {
    message(outer, &peer_sign(maker, &plain_entity(), who))
}

/// Encrypted to bob, unsigned.
pub fn encrypted(mech: Mech, maker: Maker, outer: &Fields) -> Vec<u8> {
    match maker {
        Maker::Ximf => ximf_encrypt(&plain_message(outer), mech),
        _ => message(outer, &peer_encrypt(maker, &plain_entity())),
    }
}

/// Signed by alice, then encrypted to bob.
pub fn signed_encrypted(mech: Mech, maker: Maker, outer: &Fields) -> Vec<u8> {
    match maker {
        Maker::Ximf => ximf_sign_encrypt(&plain_message(outer), mech, "alice"),
        _ => message(
            outer,
            &peer_encrypt(maker, &peer_sign(maker, &hp_entity(outer), "alice")),
        ),
    }
}

// ---- running ximf verify -----------------------------------------------------------------

/// The trust every verification gets, and (with `keys`) bob's decryption keys.
pub fn key_args(keys: bool) -> Vec<String> {
    let mut a: Vec<String> = vec!["--ca".into(), sk("root.crt")];
    for n in ["alice", "bob", "expired", "weak"] {
        a.push("--keyring".into());
        a.push(pk(&format!("{n}.cert")));
    }
    a.push("--keyring".into());
    a.push(pgp_ceo_cert());
    if keys {
        a.extend([
            "--key".into(),
            sk("bob.key"),
            "--cert".into(),
            sk("bob.crt"),
            "--key".into(),
            pk("bob.key"),
        ]);
    }
    a
}

pub struct Verified {
    pub code: i32,
    pub report: Option<Value>,
    pub stdout: String,
    pub stderr: String,
}

pub fn verify(msg: &[u8], now: &str, keys: bool) -> Verified {
    let ka = key_args(keys);
    let mut args: Vec<&str> = vec!["--now", now, "--format", "json", "verify"];
    args.extend(ka.iter().map(String::as_str));
    let o = both_ways(
        &args,
        msg,
        "judged as a skeleton, the message got another report",
    );
    Verified {
        code: o.status.code().unwrap_or(-1),
        report: serde_json::from_slice(&o.stdout).ok(),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

pub fn decrypt(msg: &[u8], now: &str) -> std::process::Output {
    let ka = key_args(true);
    let mut args: Vec<&str> = vec!["--now", now, "decrypt"];
    args.extend(ka.iter().map(String::as_str));
    both_ways(
        &args,
        msg,
        "decrypted from a skeleton, the message came out otherwise",
    )
}

/// Runs ximf with `args` on `msg` as it is and with everything left out that may be
/// (`AS_SKELETON`): the same exit code and output both ways, or `why`.
fn both_ways(args: &[&str], msg: &[u8], why: &str) -> std::process::Output {
    let o = super::ximf(args, msg);
    let mut streamed = args.to_vec();
    streamed.extend(super::AS_SKELETON);
    let s = super::ximf(&streamed, msg);
    assert_eq!(
        (s.status.code(), String::from_utf8_lossy(&s.stdout)),
        (o.status.code(), String::from_utf8_lossy(&o.stdout)),
        "{why}"
    );
    o
}

// ---- rows --------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    Pass,
    Fail,
}

/// A finding code, with a severity or `None` for any.
#[derive(Clone, Debug)]
pub struct Code {
    pub severity: Option<&'static str>,
    pub code: &'static str,
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.severity {
            Some(s) => write!(f, "{s}:{}", self.code),
            None => write!(f, "*:{}", self.code),
        }
    }
}

pub enum Check {
    /// The value at a JSON pointer equals this.
    Eq(String, Value),
    /// The value at a JSON pointer differs from this.
    Ne(String, Value),
    /// The array at a JSON pointer has this length.
    Len(String, usize),
    /// Every outer `X-XIMF-*` field has its own `unprotected-header` warning.
    EachXimfUnprotected,
}

pub type Builder = Box<dyn Fn() -> Vec<u8> + Send + Sync>;

/// One row of the matrix: a message, how it is made, and what `ximf verify` must say.
pub struct Row {
    pub name: String,
    pub mech: Mech,
    pub maker: String,
    pub build: Builder,
    pub eols: Vec<Eol>,
    pub keys: bool,
    pub verdict: Verdict,
    pub present: Vec<Code>,
    pub absent: Vec<Code>,
    pub checks: Vec<Check>,
}

pub fn row(
    name: &str,
    mech: Mech,
    maker: impl Into<String>,
    build: impl Fn() -> Vec<u8> + Send + Sync + 'static,
) -> Row {
    Row {
        name: name.to_owned(),
        mech,
        maker: maker.into(),
        build: Box::new(build),
        eols: BOTH_EOLS.to_vec(),
        keys: true,
        verdict: Verdict::Pass,
        present: Vec::new(),
        absent: Vec::new(),
        checks: Vec::new(),
    }
}

impl Row {
    pub fn pass(mut self) -> Row {
        self.verdict = Verdict::Pass;
        self
    }
    pub fn fail(mut self) -> Row {
        self.verdict = Verdict::Fail;
        self
    }
    /// Verify without bob's decryption keys.
    pub fn nokey(mut self) -> Row {
        self.keys = false;
        self
    }
    pub fn err(mut self, code: &'static str) -> Row {
        self.present.push(Code {
            severity: Some("error"),
            code,
        });
        self
    }
    pub fn warn(mut self, code: &'static str) -> Row {
        self.present.push(Code {
            severity: Some("warning"),
            code,
        });
        self
    }
    /// `code` must not appear at any severity.
    pub fn no(mut self, code: &'static str) -> Row {
        self.absent.push(Code {
            severity: None,
            code,
        });
        self
    }
    /// `code` must not appear as an error.
    pub fn no_err(mut self, code: &'static str) -> Row {
        self.absent.push(Code {
            severity: Some("error"),
            code,
        });
        self
    }
    /// No error finding at all.
    pub fn no_errors(self) -> Row {
        self.no_err("*")
    }
    pub fn at(mut self, pointer: &str, v: impl Into<Value>) -> Row {
        self.checks.push(Check::Eq(pointer.to_owned(), v.into()));
        self
    }
    pub fn not_at(mut self, pointer: &str, v: impl Into<Value>) -> Row {
        self.checks.push(Check::Ne(pointer.to_owned(), v.into()));
        self
    }
    pub fn sig(self, status: &str) -> Row {
        self.at("/signature/status", status)
    }
    pub fn sig_mech(self, m: &str) -> Row {
        self.at("/signature/mechanism", m)
    }
    pub fn signer(self, s: &str) -> Row {
        self.at("/signature/signer", s)
    }
    pub fn enc(self, status: &str) -> Row {
        self.at("/encryption/status", status)
    }
    pub fn enc_mech(self, m: &str) -> Row {
        self.at("/encryption/mechanism", m)
    }
    pub fn layers(mut self, n: usize) -> Row {
        self.checks
            .push(Check::Len("/signature/layers".to_owned(), n));
        self
    }
    pub fn layer(self, i: usize, key: &str, v: &str) -> Row {
        self.at(&format!("/signature/layers/{i}/{key}"), v)
    }
    pub fn each_ximf_unprotected(mut self) -> Row {
        self.checks.push(Check::EachXimfUnprotected);
        self
    }
    pub fn label(&self, e: Eol) -> String {
        format!(
            "{} [{} {} {:?}]",
            self.name,
            self.mech.json(),
            self.maker,
            e
        )
    }
}

fn findings(report: &Value) -> Vec<(String, String, String)> {
    report["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|f| {
                    (
                        f["code"].as_str().unwrap_or_default().to_owned(),
                        f["severity"].as_str().unwrap_or_default().to_owned(),
                        f["header"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn has(report: &Value, c: &Code) -> bool {
    findings(report).iter().any(|(code, sev, _)| {
        (c.code == "*" || code == c.code) && c.severity.is_none_or(|s| s == sev)
    })
}

/// Builds and verifies one row in one line-ending form; Err lists every mismatch with the
/// report.
pub fn check_row(row: &Row, e: Eol) -> Result<(), String> {
    let label = row.label(e);
    let built = catch_unwind(AssertUnwindSafe(|| (row.build)()));
    let msg = match built {
        Ok(m) => eol(&m, e),
        Err(p) => {
            let why = p
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_default();
            return Err(format!("{label}: could not build the message: {why}"));
        }
    };
    let v = verify(&msg, row.mech.now(), row.keys);
    let mut bad: Vec<String> = Vec::new();
    if v.code != 0 && v.code != 1 {
        bad.push(format!(
            "exit status {} (want 0 or 1; 70 = panic caught), stderr: {}",
            v.code,
            v.stderr.trim()
        ));
    }
    let Some(report) = v.report else {
        bad.push(format!(
            "no JSON report on stdout: {:?}; stderr: {}",
            v.stdout,
            v.stderr.trim()
        ));
        return Err(format!("{label}:\n  - {}", bad.join("\n  - ")));
    };
    let want = match row.verdict {
        Verdict::Pass => "pass",
        Verdict::Fail => "fail",
    };
    if report["verdict"] != want {
        bad.push(format!("verdict {} (want {want})", report["verdict"]));
    }
    let want_code = if row.verdict == Verdict::Pass { 0 } else { 1 };
    if v.code != want_code && (v.code == 0 || v.code == 1) {
        bad.push(format!("exit {} (want {want_code})", v.code));
    }
    for c in &row.present {
        if !has(&report, c) {
            bad.push(format!("missing finding {c}"));
        }
    }
    for c in &row.absent {
        if has(&report, c) {
            bad.push(format!("unexpected finding {c}"));
        }
    }
    for ch in &row.checks {
        match ch {
            Check::Eq(p, want) => {
                let got = report.pointer(p).cloned().unwrap_or(Value::Null);
                if &got != want {
                    bad.push(format!("{p} = {got} (want {want})"));
                }
            }
            Check::Ne(p, not) => {
                let got = report.pointer(p).cloned().unwrap_or(Value::Null);
                if &got == not {
                    bad.push(format!("{p} = {got} (want anything else)"));
                }
            }
            Check::Len(p, n) => {
                let got = report.pointer(p).and_then(Value::as_array).map(Vec::len);
                if got != Some(*n) {
                    bad.push(format!("{p} has {got:?} entries (want {n})"));
                }
            }
            Check::EachXimfUnprotected => {
                let f = findings(&report);
                for name in outer_names(&msg)
                    .into_iter()
                    .filter(|n| n.to_ascii_lowercase().starts_with("x-ximf-"))
                {
                    let ok = f.iter().any(|(code, sev, h)| {
                        code == "unprotected-header"
                            && sev == "warning"
                            && h.eq_ignore_ascii_case(&name)
                    });
                    if !ok {
                        bad.push(format!("no unprotected-header warning for {name}"));
                    }
                }
            }
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{label}:\n  - {}\n  report: {}",
            bad.join("\n  - "),
            serde_json::to_string_pretty(&report).unwrap_or_default()
        ))
    }
}

/// Runs every row of a table in every line-ending form (a few rows at a time: most of the
/// time is spent waiting for peers); one assertion at the end names each failing row with its
/// report. Each row's outcome is also printed (`--nocapture`).
pub fn run_table(table: &str, rows: Vec<Row>) {
    let started = std::time::Instant::now();
    let jobs: Vec<(&Row, Eol)> = rows
        .iter()
        .flat_map(|r| r.eols.iter().map(move |&e| (r, e)))
        .collect();
    let results: Vec<Mutex<Option<Result<(), String>>>> =
        jobs.iter().map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(&(r, e)) = jobs.get(i) else { break };
                    let res = check_row(r, e);
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(res);
                }
            });
        }
    });
    let mut failures = Vec::new();
    for (&(r, e), res) in jobs.iter().zip(results) {
        let res = res
            .into_inner()
            .unwrap_or_else(|p| p.into_inner())
            .unwrap_or_else(|| Err(format!("{}: not run", r.label(e))));
        match res {
            Ok(()) => eprintln!("ROW PASS {table}: {}", r.label(e)),
            Err(why) => {
                eprintln!("ROW FAIL {table}: {}", r.label(e));
                failures.push(why);
            }
        }
    }
    let total = jobs.len();
    eprintln!(
        "TABLE {table}: {} of {total} rows as specified ({:.1} s)",
        total - failures.len(),
        started.elapsed().as_secs_f64()
    );
    assert!(
        failures.is_empty(),
        "{table}: {} of {total} rows differ from the contract:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}
