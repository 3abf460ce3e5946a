//! The dead-letter file: where `ximf sendmail` keeps a message it did not send, so that no
//! failure loses mail (design.md §8). mutt in batch mode, cron jobs and scripts have no other
//! copy.
//!
//! The file is an mbox in the `mboxrd` flavour: each message starts with a `From ` line, and
//! every body line matching `>*From ` gets one more `>`, which is reversible (unlike `mboxo`).
//! mutt (`mutt -f ~/dead.letter`), mailx and `formail -s` read it. Appends are serialised with
//! an exclusive `flock(2)` lock, written in one pass, synced, and cut back to the old length on
//! failure, so a full disk never leaves half a message that would corrupt the next entry.

use crate::clock;
use crate::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Longest piece read at once when quoting; a longer line is copied in pieces and only its
/// first piece can be a line start.
const PIECE: u64 = 1 << 20;

/// Appends one message to the mbox at `path`, creating it with mode 0600 (a dead letter may be
/// confidential).
///
/// `sender` goes on the `From ` line (`MAILER-DAEMON` when empty or `<>`); `time` is its date.
/// The message is `head` followed by everything `tail` still yields, so a message larger than
/// ximf's size bound is kept whole without holding it in memory.
///
/// The path is opened without following a symbolic link (`O_NOFOLLOW`): whoever can plant a
/// link where the dead letter goes would otherwise have our message appended to any file we may
/// write. An existing file readable by others (a 0644 `~/dead.letter` from another program) is
/// narrowed to 0600 through the open file before anything is written to it. A device
/// (`/dev/null` to throw dead letters away) is written as it is, its mode untouched.
///
/// Fails with [`Error::Output`] (exit 73) when the file cannot be opened, is a symbolic link,
/// belongs to another user, or cannot be narrowed to 0600; nothing is written then. Fails with
/// [`Error::Io`] (exit 74) when writing fails; the file is then as it was before.
pub fn append(
    path: &Path,
    sender: Option<&str>,
    time: i64,
    head: &[u8],
    tail: &mut dyn Read,
) -> Result<()> {
    let cant = |source| Error::Output {
        path: path.to_owned(),
        source,
    };
    let mut file = open(path).map_err(cant)?;
    file.lock()?;
    let before = file.seek(SeekFrom::End(0))?;
    let written = write_entry(&mut file, sender, time, head, tail).and_then(|()| file.sync_data());
    if let Err(e) = written {
        // Cut the half-written entry off again: the next append must start on a clean line.
        let _ = file.set_len(before);
        return Err(Error::Io(e));
    }
    Ok(())
}

/// Opens (or creates, 0600) the dead letter for appending, refusing a symbolic link, and makes
/// an existing regular file 0600 if it was more open than that.
fn open(path: &Path) -> std::io::Result<File> {
    let opened = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .custom_flags(rustix::fs::OFlags::NOFOLLOW.bits() as i32)
        .open(path);
    let file = match opened {
        Ok(f) => f,
        // O_NOFOLLOW on a link fails with ELOOP, which would read "too many levels of
        // symbolic links": say what happened instead.
        Err(e) if std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) => {
            return Err(std::io::Error::new(
                e.kind(),
                "is a symbolic link; not followed",
            ));
        }
        Err(e) => return Err(e),
    };
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Ok(file);
    }
    let me = rustix::process::geteuid().as_raw();
    if meta.uid() != me {
        // Only root gets here with a file that is not its own and not open to others (anyone
        // else would fail to open it, or to narrow it below): its owner would read our message.
        return Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            format!("belongs to another user (uid {}); not written", meta.uid()),
        ));
    }
    let mode = meta.permissions().mode();
    if mode & 0o077 != 0 {
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(|e| {
                std::io::Error::new(
                    e.kind(),
                    format!(
                        "is open to others (mode {:04o}) and cannot be made 0600: {e}",
                        mode & 0o7777
                    ),
                )
            })?;
    }
    Ok(file)
}

fn write_entry(
    file: &mut File,
    sender: Option<&str>,
    time: i64,
    head: &[u8],
    tail: &mut dyn Read,
) -> std::io::Result<()> {
    let mut out = std::io::BufWriter::with_capacity(1 << 16, &mut *file);
    out.write_all(from_line(sender, time).as_bytes())?;
    let mut reader = BufReader::new(head.chain(tail));
    let mut line = Vec::new();
    let mut at_line_start = true;
    let mut ended_with_newline = true;
    loop {
        line.clear();
        let n = (&mut reader).take(PIECE).read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        if at_line_start && is_from_line(&line) {
            out.write_all(b">")?;
        }
        out.write_all(&line)?;
        at_line_start = line.ends_with(b"\n");
        ended_with_newline = at_line_start;
    }
    // An mbox entry ends with an empty line; the message's last line needs its own end first.
    if !ended_with_newline {
        out.write_all(b"\n")?;
    }
    out.write_all(b"\n")?;
    out.flush()
}

/// `From sender Sun Nov 29 03:39:09 2026` (asctime(3) form, UTC), ending in LF.
pub fn from_line(sender: Option<&str>, time: i64) -> String {
    let sender = sender
        .map(str::trim)
        .filter(|s| !s.is_empty() && *s != "<>")
        .map(|s| s.replace(|c: char| c.is_whitespace() || c.is_control(), "_"))
        .unwrap_or_else(|| "MAILER-DAEMON".to_owned());
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let days = time.div_euclid(86400);
    let secs = time.rem_euclid(86400);
    let (y, m, d) = clock::civil_from_days(days);
    format!(
        "From {sender} {} {} {d:2} {:02}:{:02}:{:02} {y}\n",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(m as usize).saturating_sub(1) % 12],
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

/// `>*From ` at the start of a line (mboxrd).
fn is_from_line(line: &[u8]) -> bool {
    let unquoted = line
        .iter()
        .position(|&b| b != b'>')
        .map_or(&[][..], |i| &line[i..]);
    unquoted.starts_with(b"From ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_line_has_asctime_date() {
        assert_eq!(
            from_line(Some("alice@example.org"), 1_795_923_549),
            "From alice@example.org Sun Nov 29 03:39:09 2026\n"
        );
        assert_eq!(
            from_line(Some("<>"), 0),
            "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\n"
        );
        assert_eq!(
            from_line(Some("a b"), 0),
            "From a_b Thu Jan  1 00:00:00 1970\n"
        );
    }

    #[test]
    fn entries_are_quoted_and_appended() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("dead.letter");
        let msg = b"From: a@x\n\nFrom here\n>From there\nFromage\nlast";
        append(&path, None, 0, msg, &mut std::io::empty()).expect("append");
        append(
            &path,
            Some("b@x"),
            0,
            b"Subject: 2\n\n",
            &mut &b"From the tail\n"[..],
        )
        .expect("append");
        let got = std::fs::read(&path).expect("read");
        assert_eq!(
            String::from_utf8_lossy(&got),
            "From MAILER-DAEMON Thu Jan  1 00:00:00 1970\nFrom: a@x\n\n>From here\n>>From there\n\
             Fromage\nlast\n\nFrom b@x Thu Jan  1 00:00:00 1970\nSubject: 2\n\n>From the tail\n\n"
        );
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn links_are_refused_and_open_files_narrowed() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("target");
        std::fs::write(&target, "keep\n").expect("write");
        let link = dir.path().join("dead.letter");
        std::os::unix::fs::symlink(&target, &link).expect("symlink");
        let e = append(&link, None, 0, b"S: x\n\n", &mut std::io::empty()).expect_err("link");
        assert_eq!(e.class(), crate::ErrorClass::CantCreate);
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read(&target).expect("read"), b"keep\n");

        std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        append(&target, None, 0, b"S: x\n\n", &mut std::io::empty()).expect("append");
        let mode = std::fs::metadata(&target)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    #[test]
    fn a_full_device_is_an_io_error() {
        if !Path::new("/dev/full").exists() {
            return;
        }
        let e = append(
            Path::new("/dev/full"),
            None,
            0,
            b"S: x\n\n",
            &mut std::io::empty(),
        )
        .expect_err("/dev/full");
        assert_eq!(e.class(), crate::ErrorClass::Io);
    }
}
