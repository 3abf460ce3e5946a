//! The `ximf` binary: parse flags, run the command, map the result to an exit status.
//! Everything else lives in the library and in `cli/`.
#![forbid(unsafe_code)]

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
