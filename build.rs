//! Links GCC's unwinder statically (`libgcc_eh.a`) on GNU/Linux.
//!
//! Why (issue 13, start-up): Rust's std asks the linker for `-lgcc_s`, and loading
//! `libgcc_s.so.1` runs its constructor, which queries the CPU with CPUID. Under a hypervisor
//! every CPUID traps (3.7 µs each on the 2-core machine the benchmarks run on): with the
//! mapping and relocation of the library that was about 0.07 ms of every start, a twentieth
//! of a small `verify`. Linked whole ahead of std, `libgcc_eh.a` defines every `_Unwind_*`
//! symbol first, so the linker's `--as-needed` leaves `libgcc_s` out. Panics still unwind and
//! are caught (exit 70): the same unwinder, linked in.
//!
//! Left as it is: another target, a compiler that does not know the file, and fuzzing builds
//! (their sanitizers instrument everything and are not about start-up).

use std::path::PathBuf;
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CC");
    let cfg = |k: &str| std::env::var(k).unwrap_or_default();
    if cfg("CARGO_CFG_TARGET_OS") != "linux"
        || cfg("CARGO_CFG_TARGET_ENV") != "gnu"
        || std::env::var_os("CARGO_CFG_FUZZING").is_some()
    {
        return;
    }
    let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
    let Ok(out) = Command::new(cc)
        .arg("-print-file-name=libgcc_eh.a")
        .output()
    else {
        return;
    };
    // A compiler that does not have the file prints the bare name back.
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    let Some(dir) = path
        .parent()
        .filter(|_| path.is_absolute() && path.is_file())
    else {
        return;
    };
    println!("cargo:rustc-link-search=native={}", dir.display());
    println!("cargo:rustc-link-lib=static:+whole-archive=gcc_eh");
}
