//! Input and output: `-` means stdin/stdout, `-o` writes atomically (temp file + rename), and
//! nothing reaches stdout unless the whole result is ready (style.md §2).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use ximf::{Error, Result};

/// Reads the input message: a file, or stdin for `-`/none. Refuses an interactive stdin.
pub fn read_input(file: Option<&Path>, limit: u64) -> Result<Vec<u8>> {
    match file {
        Some(p) if p != Path::new("-") => {
            let f = std::fs::File::open(p).map_err(|source| Error::Input {
                path: p.to_owned(),
                source,
            })?;
            let size = f.metadata().map(|m| m.len()).unwrap_or(0);
            ximf::message::read_bounded_sized(f, limit, size).map_err(|e| match e {
                Error::Io(source) => Error::Input {
                    path: p.to_owned(),
                    source,
                },
                e => e,
            })
        }
        _ => {
            let stdin = std::io::stdin();
            if stdin.is_terminal() {
                return Err(Error::Usage(
                    "no input: stdin is a terminal\nhint: give a FILE or pipe a message in".into(),
                ));
            }
            ximf::message::read_bounded(stdin.lock(), limit)
        }
    }
}

/// An input opened and read up to a bound, the rest left unread: `verify` decides from the
/// first bytes whether it holds an mbox (read on, to its own bound) or one message too large
/// to check (copied through by `--annotate` without holding it all).
pub struct Opened {
    /// The first bytes: at most the bound plus one.
    pub head: Vec<u8>,
    /// True when there was more than the bound.
    pub over: bool,
    /// Where the rest comes from.
    pub rest: Box<dyn std::io::Read>,
    /// The file's name for messages (`-` for stdin).
    pub name: PathBuf,
    /// The input file, when it is one (read again by offset for a large message).
    pub file: Option<std::fs::File>,
}

impl Opened {
    /// The whole input, failing with [`Error::TooLarge`] past `limit` bytes.
    pub fn read_all(mut self, limit: u64) -> Result<Vec<u8>> {
        use std::io::Read;
        let have = self.head.len() as u64;
        let room = limit.saturating_add(1).saturating_sub(have);
        (&mut self.rest).take(room).read_to_end(&mut self.head)?;
        if self.head.len() as u64 > limit {
            return Err(Error::TooLarge { limit });
        }
        Ok(self.head)
    }

    /// The whole input as a [`ximf::stream::Source`]: the file itself, or a spool of the pipe
    /// (at most `limit + 1` bytes of it; the caller checks the length against `limit`).
    pub fn source(&mut self, limit: u64) -> Result<ximf::stream::Source> {
        let cant = |name: &Path| {
            let name = name.to_owned();
            move |source| Error::Input { path: name, source }
        };
        match self.file.take() {
            Some(f) => {
                // The first bytes are read again from the file as needed: not held meanwhile
                // (a MiB of the peak memory).
                self.head = Vec::new();
                ximf::stream::Source::file(f).map_err(cant(&self.name))
            }
            None => {
                let head = std::mem::take(&mut self.head);
                ximf::stream::Source::spool(&head, &mut self.rest, limit)
            }
        }
    }
}

/// An input over the streaming threshold ([`Opened::large`]).
pub enum Large {
    /// Nothing to leave out, or no header: held whole, as below the threshold.
    Whole(Vec<u8>),
    /// Kept in its source, read as a skeleton that leaves out bodies of at least `min_elide`.
    Skeleton {
        source: ximf::stream::Source,
        skeleton: ximf::stream::Skeleton,
        min_elide: u64,
    },
}

impl Opened {
    /// An input found over `first` bytes (the streaming threshold): refused past `max`, else
    /// kept in its file or a spool and read as a skeleton (ximf::stream). A read failure now,
    /// of an input read once already (a file truncated meanwhile), is an I/O error (74).
    pub fn large(&mut self, first: u64, max: u64, threshold: u64) -> Result<Large> {
        if first >= max {
            return Err(Error::TooLarge { limit: max });
        }
        let source = self.source(max)?;
        if source.len() > max {
            return Err(Error::TooLarge { limit: max });
        }
        let name = self.name.clone();
        let unreadable = |e: std::io::Error| {
            Error::Io(std::io::Error::new(
                e.kind(),
                format!("{}: {e}", name.display()),
            ))
        };
        let min_elide = ximf::stream::MIN_ELIDE.min(threshold);
        let skeleton = ximf::stream::skeleton::build(&source, min_elide).map_err(unreadable)?;
        Ok(match skeleton.filter(|s| !s.elisions.is_empty()) {
            Some(skeleton) => Large::Skeleton {
                source,
                skeleton,
                min_elide,
            },
            None => Large::Whole(source.read_range(0..source.len()).map_err(unreadable)?),
        })
    }
}

/// Opens the input (a file, or stdin for `-`/none; an interactive stdin is refused as in
/// [`read_input`]) and reads at most `limit + 1` bytes of it.
pub fn open_input(file: Option<&Path>, limit: u64) -> Result<Opened> {
    use std::io::Read;
    // A regular file's size sizes the buffer: one read instead of a doubling series of them
    // (ten for an 8 KiB message), and no regrowing copies.
    let mut size = 0;
    let mut handle = None;
    let (name, reader): (PathBuf, Box<dyn Read>) = match file {
        Some(p) if p != Path::new("-") => {
            let f = std::fs::File::open(p).map_err(|source| Error::Input {
                path: p.to_owned(),
                source,
            })?;
            let meta = f.metadata().ok();
            size = meta.as_ref().map_or(0, |m| m.len());
            // Only a regular file can be read again by offset; a FIFO or device named as
            // FILE is spooled like a pipe.
            if meta.is_some_and(|m| m.is_file()) {
                handle = f.try_clone().ok();
            }
            (p.to_owned(), Box::new(f))
        }
        _ => {
            if std::io::stdin().is_terminal() {
                return Err(Error::Usage(
                    "no input: stdin is a terminal\nhint: give a FILE or pipe a message in".into(),
                ));
            }
            (PathBuf::from("-"), Box::new(std::io::stdin()))
        }
    };
    let mut rest = reader;
    let bound = limit.saturating_add(1);
    let mut head = Vec::with_capacity(usize::try_from(size.min(bound)).unwrap_or(0));
    (&mut rest)
        .take(bound)
        .read_to_end(&mut head)
        .map_err(|source| Error::Input {
            path: name.clone(),
            source,
        })?;
    Ok(Opened {
        over: head.len() as u64 > limit,
        head,
        rest,
        name,
        file: handle,
    })
}

/// Reads a small auxiliary file (key, certificate, config).
pub fn read_file(p: &Path) -> Result<Vec<u8>> {
    std::fs::read(p).map_err(|source| Error::Input {
        path: p.to_owned(),
        source,
    })
}

/// Refuses `-o` naming the input file: writing it would destroy the message we read.
pub fn check_distinct(input: Option<&Path>, output: Option<&Path>) -> Result<()> {
    if let (Some(i), Some(o)) = (input, output)
        && i != Path::new("-")
        && o != Path::new("-")
    {
        let same = match (std::fs::canonicalize(i), std::fs::canonicalize(o)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            return Err(Error::Usage(format!(
                "{}: output is the input file\nhint: write to another file, then rename",
                o.display()
            )));
        }
    }
    Ok(())
}

/// Where a payload goes.
pub enum Sink {
    /// Standard output.
    Stdout,
    /// A file, written atomically.
    File(PathBuf),
}

impl Sink {
    /// `-o FILE`, or stdout for none or `-`.
    pub fn new(o: Option<&Path>) -> Sink {
        match o {
            Some(p) if p != Path::new("-") => Sink::File(p.to_owned()),
            _ => Sink::Stdout,
        }
    }

    /// Writes the whole payload. On stdout a closed pipe is `Error::Io(BrokenPipe)`, which the
    /// caller maps to 74 for messages and ignores for reports.
    pub fn write(&self, data: &[u8]) -> Result<()> {
        self.write_parts(&[data])
    }

    /// Writes a payload made of consecutive parts (an edited header section, then the body
    /// straight from the input buffer), all or nothing as [`Sink::write`].
    pub fn write_parts(&self, parts: &[&[u8]]) -> Result<()> {
        self.write_stream(parts, &mut std::io::empty())
    }

    /// Writes `parts`, then everything `rest` still holds, copied in small blocks: a message
    /// larger than we hold in memory passes through (`verify --annotate` over `--max-size`).
    /// `-o FILE` stays atomic; on stdout a failure may leave part of it written.
    pub fn write_stream(&self, parts: &[&[u8]], rest: &mut dyn std::io::Read) -> Result<()> {
        match self {
            Sink::Stdout => {
                let mut out = std::io::stdout().lock();
                for p in parts {
                    out.write_all(p)?;
                }
                std::io::copy(rest, &mut out)?;
                out.flush()?;
                Ok(())
            }
            Sink::File(p) => write_atomic(p, &mut |w| {
                parts.iter().try_for_each(|p| w.write_all(p))?;
                std::io::copy(rest, w)?;
                Ok(())
            }),
        }
    }

    /// Writes what `fill` writes, all or nothing: `-o FILE` atomically; stdout only once
    /// `fill` has written everything, to an unlinked 0600 temporary file first. `fill` may
    /// read the input again (a large message, ximf::stream), and a read that fails half way
    /// must not leave half a message on stdout.
    pub fn write_with(&self, fill: &mut dyn FnMut(&mut dyn Write) -> Result<()>) -> Result<()> {
        match self {
            Sink::Stdout => {
                use std::io::Seek;
                let mut spool = std::io::BufWriter::new(tempfile::tempfile()?);
                fill(&mut spool)?;
                let mut file = spool.into_inner().map_err(|e| e.into_error())?;
                file.rewind()?;
                self.write_stream(&[], &mut file)
            }
            Sink::File(p) => write_atomic(p, fill),
        }
    }
}

/// Writes what `fill` writes to a temporary file beside `path`, then renames it over `path`,
/// so a reader never sees half a message. A symbolic link is followed; a device or FIFO is
/// written through.
///
/// The output may be plaintext or key material (design.md §8: never leak), so a new file is
/// created 0600, and replacing an existing file never makes it more readable than it was: the
/// result keeps the old file's permission bits (0600 stays 0600, 0644 stays 0644), without its
/// set-id bits, and without group bits unless it keeps the old group too. The temporary file is
/// created 0600 from the start, so there is no moment in which the plaintext is readable by
/// anyone who could not read the file it replaces.
fn write_atomic(path: &Path, fill: &mut dyn FnMut(&mut dyn Write) -> Result<()>) -> Result<()> {
    let cant = |source| Error::Output {
        path: path.to_owned(),
        source,
    };
    let existing = match std::fs::symlink_metadata(path) {
        // Replace the file the link points to, never the link itself.
        Ok(m) if m.file_type().is_symlink() => {
            let target = std::fs::canonicalize(path).map_err(cant)?;
            return write_atomic(&target, fill);
        }
        // A device or a FIFO cannot be renamed over: write through it (no atomicity to keep).
        Ok(m) if !m.is_file() && !m.is_dir() => {
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .map_err(cant)?;
            return fill(&mut f);
        }
        Ok(m) if m.is_file() => Some(m),
        _ => None,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let (tmp, f) = create_temp(&dir, &name).map_err(cant)?;
    let mut w = std::io::BufWriter::new(f);
    let written = match &existing {
        Some(old) => keep_mode(w.get_ref(), old).map_err(Error::Io),
        None => Ok(()),
    }
    .and_then(|()| fill(&mut w))
    .and_then(|()| w.flush().map_err(Error::Io))
    .and_then(|()| w.get_ref().sync_all().map_err(Error::Io));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, path).map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        cant(e)
    })
}

/// Creates `.NAME.ximf-PID[-N].tmp` in `dir`, new (`O_EXCL`, which also never follows a
/// symbolic link) and mode 0600 (less if the umask says so). A name left behind by a crashed
/// run with the same process id is skipped rather than reused.
fn create_temp(dir: &Path, name: &str) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::os::unix::fs::OpenOptionsExt;
    let pid = std::process::id();
    let mut attempt = 0u32;
    loop {
        let tmp = match attempt {
            0 => dir.join(format!(".{name}.ximf-{pid}.tmp")),
            n => dir.join(format!(".{name}.ximf-{pid}-{n}.tmp")),
        };
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
        {
            Ok(f) => return Ok((tmp, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 100 => {
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Gives the new file `f` the permission bits of the file `old` it is about to replace, no
/// more. The owner and group are carried over when we may (root may; anyone may pick a group
/// they belong to). When the group cannot be kept, its bits are dropped: they would otherwise
/// open the file to our group instead. The owner bits need no such care: if we cannot give the
/// file back to its owner, they apply to us, who wrote the content.
fn keep_mode(f: &std::fs::File, old: &std::fs::Metadata) -> std::io::Result<()> {
    use std::os::unix::fs::{MetadataExt, PermissionsExt, fchown};
    let mut mode = old.mode() & 0o777;
    let ours = f.metadata()?;
    if ours.uid() != old.uid() {
        let _ = fchown(f, Some(old.uid()), None);
    }
    if ours.gid() != old.gid() && fchown(f, None, Some(old.gid())).is_err() {
        mode &= !0o070;
    }
    f.set_permissions(std::fs::Permissions::from_mode(mode))
}

/// What `verify` was given to check in one run.
pub struct Inputs {
    /// Every message file, in order.
    pub files: Vec<PathBuf>,
    /// Directories (and maildirs) that hold no message at all.
    pub empty: Vec<PathBuf>,
}

fn is_maildir(d: &Path) -> bool {
    d.join("cur").is_dir() || d.join("new").is_dir()
}

/// The messages named by `paths`: files as given; a maildir (a directory with `cur/` or `new/`)
/// gives the files of both, and, as a Maildir++ root, those of its folders (`.Sent/`, ...) too;
/// any other directory gives its files. Sorted within a directory. A directory without any
/// message is listed in [`Inputs::empty`], so it is reported rather than passed over.
pub fn expand_inputs(paths: &[PathBuf]) -> Result<Inputs> {
    let mut out = Inputs {
        files: Vec::new(),
        empty: Vec::new(),
    };
    for p in paths {
        if !p.is_dir() {
            out.files.push(p.clone());
            continue;
        }
        let dirs: Vec<PathBuf> = if is_maildir(p) {
            let mut roots = vec![p.clone()];
            let folders = std::fs::read_dir(p).map_err(|source| Error::Input {
                path: p.clone(),
                source,
            })?;
            let mut folders: Vec<PathBuf> = folders
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| {
                    f.file_name()
                        .is_some_and(|n| n.to_string_lossy().starts_with('.'))
                        && is_maildir(f)
                })
                .collect();
            folders.sort();
            roots.extend(folders);
            roots
                .iter()
                .flat_map(|r| ["cur", "new"].map(|d| r.join(d)))
                .filter(|d| d.is_dir())
                .collect()
        } else {
            vec![p.clone()]
        };
        let before = out.files.len();
        for d in dirs {
            let entries = std::fs::read_dir(&d).map_err(|source| Error::Input {
                path: d.clone(),
                source,
            })?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file())
                .collect();
            files.sort();
            out.files.extend(files);
        }
        if out.files.len() == before {
            out.empty.push(p.clone());
        }
    }
    Ok(out)
}
