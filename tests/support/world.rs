//! A child's private world: a temporary directory with a home, and an environment that names
//! it and keeps the caller's configuration away (r10_config, r10_lookup).

use std::path::{Path, PathBuf};
use std::process::Output;

use super::Ximf;

/// A temporary directory `DIR` with `DIR/home` as HOME and `DIR/etc/config.toml` as the system
/// configuration file (`$XIMF_SYSTEM_CONFIG`; the real /etc is never read), plus whatever
/// variables a test adds with [`World::with`], and the leading arguments of [`World::with_args`].
pub struct World {
    dir: tempfile::TempDir,
    env: Vec<(String, String)>,
    args: Vec<String>,
}

impl Default for World {
    fn default() -> Self {
        Self::new()
    }
}

impl World {
    /// A new world with an empty home.
    pub fn new() -> World {
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::create_dir(dir.path().join("home")).expect("mkdir");
        let p = |rel: &str| dir.path().join(rel).display().to_string();
        let env = vec![
            ("HOME".to_owned(), p("home")),
            ("XIMF_SYSTEM_CONFIG".to_owned(), p("etc/config.toml")),
        ];
        World {
            dir,
            env,
            args: Vec::new(),
        }
    }

    /// A path inside the world.
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// A path inside the world, as text (for arguments and config files).
    pub fn text(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }

    /// The home directory.
    pub fn home(&self) -> PathBuf {
        self.path("home")
    }

    /// Writes a file (making its directories) and returns its path.
    pub fn write(&self, rel: &str, data: impl AsRef<[u8]>) -> PathBuf {
        let p = self.path(rel);
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d).expect("mkdir");
        }
        std::fs::write(&p, data).expect("write");
        p
    }

    /// The world with environment variable `k` set to `v` for every child.
    pub fn with(mut self, k: &str, v: &str) -> World {
        self.env.retain(|(key, _)| key != k);
        self.env.push((k.to_owned(), v.to_owned()));
        self
    }

    /// The world with `args` before every child's own arguments.
    pub fn with_args(mut self, args: &[&str]) -> World {
        self.args.extend(args.iter().map(|a| a.to_string()));
        self
    }

    /// `ximf` in the world: its directory, its environment, none of the caller's configuration
    /// variables, the world's leading arguments.
    pub fn ximf(&self) -> Ximf {
        Ximf::new()
            .dir(self.dir.path())
            .no_config_env()
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .args(&self.args)
    }

    /// `ximf ARGS` in the world, fed `stdin`.
    pub fn run(&self, args: &[&str], stdin: &[u8]) -> Output {
        self.ximf().args(args).stdin(stdin).run()
    }
}

/// A path as text.
pub fn s(p: &Path) -> String {
    p.display().to_string()
}
