//! The one integration-test binary. Every former `tests/NAME.rs` binary is a module here, so
//! Sequoia, OpenSSL and the library link once instead of once per file; `support` holds what
//! the modules share (running `ximf`, fixtures, peers, the mail-flow scaffolding, and the locks
//! that keep tests sharing a process from meeting on a resource: `support::serial`).
//!
//! The modules' tests run as threads of this one process: nothing here may change the
//! process's environment or working directory (children get theirs through `Command`).

mod support;

mod cli;
mod engine_matrix;
mod golden;
mod mailflow_install;
mod mailflow_mutt;
mod mailflow_postfix;
mod mailflow_procmail;
mod mailflow_sendmail;
mod mailflow_sieve;
mod message;
mod pgp_interop;
mod pgp_tamper;
mod policy;
mod policy_schemas;
mod profiles;
mod r10_agent;
mod r10_config;
mod r10_keys;
mod r10_lookup;
mod r10_recipes;
mod r11_flow;
mod r11_milter;
mod r12_files;
mod r12_limits;
mod r12_profile_limits;
mod r12_props;
mod r13_decrypt;
mod r13_protect;
mod r13_smime_stream;
mod r13_stream;
mod r9_attacks;
mod r9_protect;
mod readme_codes;
mod schemas;
mod smime_gpgsm;
mod smime_interop;
mod smime_oaep;
mod smime_tamper;
mod verify;
