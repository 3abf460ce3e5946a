//! One way to run the real `ximf`: [`Ximf`], a builder for the argument lists the tests kept
//! copying (the clock, the Example instance's fields, an S/MIME signing identity, a private
//! environment), run under [`super::LIMIT`].

use std::ffi::OsStr;
use std::path::Path;
use std::process::{Command, Output};

use super::{code, err, keys, out, root, ximf_bin};

/// `ximf` with arguments, environment, working directory and stdin still to be chosen.
pub struct Ximf {
    cmd: Command,
    stdin: Vec<u8>,
}

impl Default for Ximf {
    fn default() -> Self {
        Self::new()
    }
}

impl Ximf {
    /// `ximf`, in the repository root, with the caller's environment.
    pub fn new() -> Ximf {
        let mut cmd = Command::new(ximf_bin());
        cmd.current_dir(root());
        Ximf {
            cmd,
            stdin: Vec::new(),
        }
    }

    /// One more argument.
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Ximf {
        self.cmd.arg(a);
        self
    }

    /// More arguments.
    pub fn args<I, S>(mut self, args: I) -> Ximf
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// `--now T`.
    pub fn now(self, t: &str) -> Ximf {
        self.args(["--now", t])
    }

    /// `stamp` with the built-in Example instance's mandatory fields.
    pub fn stamp_example(self) -> Ximf {
        self.arg("stamp").args(super::EXAMPLE_FIELDS)
    }

    /// `--key smime/WHO.key --cert smime/WHO.chain.pem`: WHO's S/MIME signing identity.
    pub fn smime_signer(self, who: &str) -> Ximf {
        self.arg("--key")
            .arg(keys(&format!("smime/{who}.key")))
            .arg("--cert")
            .arg(keys(&format!("smime/{who}.chain.pem")))
    }

    /// The working directory.
    pub fn dir(mut self, dir: impl AsRef<Path>) -> Ximf {
        self.cmd.current_dir(dir);
        self
    }

    /// One environment variable of the child.
    pub fn env(mut self, k: impl AsRef<OsStr>, v: impl AsRef<OsStr>) -> Ximf {
        self.cmd.env(k, v);
        self
    }

    /// Environment variables of the child.
    pub fn envs<I, K, V>(mut self, vars: I) -> Ximf
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<OsStr>,
        V: AsRef<OsStr>,
    {
        self.cmd.envs(vars);
        self
    }

    /// Keeps the child away from the caller's configuration: none of the variables that choose
    /// a config file, a context or the sendmail depth (a private HOME is [`super::world`]'s).
    pub fn no_config_env(mut self) -> Ximf {
        for k in [
            "XIMF_CONFIG",
            "XDG_CONFIG_HOME",
            "XIMF_CONTEXT",
            "XIMF_SENDMAIL_DEPTH",
        ] {
            self.cmd.env_remove(k);
        }
        self
    }

    /// Whatever else the command needs, done by `f` (e.g. a test's own environment helper).
    pub fn configure(mut self, f: impl FnOnce(&mut Command)) -> Ximf {
        f(&mut self.cmd);
        self
    }

    /// What the child reads on stdin.
    pub fn stdin(mut self, data: impl AsRef<[u8]>) -> Ximf {
        self.stdin = data.as_ref().to_vec();
        self
    }

    /// Runs it (killed, and the test failed, after [`super::LIMIT`]).
    pub fn run(mut self) -> Output {
        super::run(&mut self.cmd, &self.stdin)
    }

    /// Runs it, asserting exit 0; its stdout.
    #[track_caller]
    pub fn ok(mut self) -> Vec<u8> {
        let shown = format!("{:?}", self.cmd);
        let o = super::run(&mut self.cmd, &self.stdin);
        assert_eq!(code(&o), 0, "{shown}: {}{}", out(&o), err(&o));
        o.stdout
    }
}

/// Runs `ximf args` in the repository root, feeding `stdin`.
pub fn ximf(args: &[&str], stdin: &[u8]) -> Output {
    Ximf::new().args(args).stdin(stdin).run()
}
