//! `ximf generate` (hidden): the man pages and shell completions, generated from the same clap
//! definition as `--help` so they can never drift from it (ripgrep's `rg --generate`,
//! style.md §4). `scripts/install.sh` runs it at install time.

use super::Outcome;
use clap::CommandFactory;
use clap_mangen::Man;
use clap_mangen::roff::{Roff, bold, roman};
use std::path::{Path, PathBuf};
use ximf::{Error, Result};

/// Generate the man pages or a shell completion script
#[derive(Debug, clap::Subcommand)]
pub enum Command {
    /// Write the ximf(1) man page to stdout, or every page into a directory
    Man {
        /// Write ximf.1 and one ximf-COMMAND.1 per command into DIR instead of stdout
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Write the completion script for a shell to stdout
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Runs `generate`.
pub fn run(cmd: Command) -> Result<Outcome> {
    match cmd {
        Command::Man { dir: None } => {
            let page = render(&built(), None)?;
            super::emit_message(None, &page)?;
        }
        Command::Man { dir: Some(dir) } => write_pages(&dir)?,
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut super::Cli::command(), "ximf", &mut out);
            super::emit_message(None, &out)?;
        }
    }
    Ok(Outcome::Done)
}

/// The command tree with global flags propagated, as a page shows them.
fn built() -> clap::Command {
    let mut cmd = super::Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

fn write_pages(dir: &Path) -> Result<()> {
    let root = built();
    let cant = |source| Error::Output {
        path: dir.to_owned(),
        source,
    };
    std::fs::create_dir_all(dir).map_err(cant)?;
    let mut pages = vec![("ximf.1".to_owned(), render(&root, None)?)];
    for sub in root.get_subcommands().filter(|s| !s.is_hide_set()) {
        let name = format!("ximf-{}.1", sub.get_name());
        pages.push((name, render(sub, Some(sub.get_name()))?));
    }
    for (name, page) in pages {
        super::emit_message(Some(&dir.join(name)), &page)?;
    }
    Ok(())
}

/// One page: clap_mangen's sections in its order, with EXIT STATUS (mblaze style) before
/// VERSION.
fn render(cmd: &clap::Command, sub: Option<&str>) -> Result<Vec<u8>> {
    let man = Man::new(cmd.clone());
    let mut out = Vec::new();
    man.render_title(&mut out)?;
    man.render_name_section(&mut out)?;
    man.render_synopsis_section(&mut out)?;
    man.render_description_section(&mut out)?;
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        man.render_options_section(&mut out)?;
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        man.render_subcommands_section(&mut out)?;
    }
    if cmd.get_after_long_help().is_some() || cmd.get_after_help().is_some() {
        man.render_extra_section(&mut out)?;
    }
    exit_status(sub).to_writer(&mut out)?;
    man.render_version_section(&mut out)?;
    Ok(out)
}

fn exit_status(sub: Option<&str>) -> Roff {
    let mut r = Roff::new();
    r.control("SH", ["EXIT STATUS"]);
    if sub == Some("sendmail") {
        r.control("PP", []);
        r.text([roman(
            "When the real sendmail ran and exited, its exit status is passed through unchanged \
             (75 stays 75). Otherwise ximf's own status says why nothing was sent; the message \
             is then appended to the dead-letter file:",
        )]);
    }
    for (code, meaning) in super::exit::TABLE {
        r.control("TP", []);
        r.text([bold(code.to_string())]);
        r.text([roman(*meaning)]);
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_has_an_exit_status_table() {
        let root = built();
        let page = String::from_utf8(render(&root, None).expect("page")).expect("utf8");
        assert!(page.contains(".SH \"EXIT STATUS\""), "{page}");
        for (code, _) in super::super::exit::TABLE {
            assert!(page.contains(&format!("\\fB{code}\\fR")), "{code} missing");
        }
        let sendmail = root.find_subcommand("sendmail").expect("sendmail");
        let page =
            String::from_utf8(render(sendmail, Some("sendmail")).expect("page")).expect("utf8");
        assert!(page.contains("passed through unchanged"), "{page}");
        assert!(page.contains("sendmail\\-command"), "{page}");
    }
}
