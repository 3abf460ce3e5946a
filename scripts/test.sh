#!/usr/bin/env bash
# The whole test suite, runnable on a fresh Debian machine: installs the system packages and the
# peer tools (scripts/setup.sh, idempotent), then checks formatting and lints and runs every
# unit, integration and CLI test against the real peers.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
cargo fmt --all -- --check
cargo clippy --all-targets -- -D warnings
cargo test --all-targets
