#!/usr/bin/env bash
# Builds every fuzz target and runs each for a short time (FUZZ_SMOKE_SECONDS, default 20),
# seeded as scripts/fuzz.sh seeds it. Fails when a target does not build or finds a crash, a
# timeout or an out-of-memory input (left in fuzz/artifacts/TARGET/). Prints execs/s per target.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${FUZZ_SMOKE_SECONDS:-20}"

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz-smoke.sh: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
  exit 69
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke.sh: installing cargo-fuzz" >&2
  cargo install --locked cargo-fuzz
fi

cargo +nightly fuzz build
logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
failed=()
summary=()
for t in $(cargo +nightly fuzz list); do
  echo "== $t (${seconds}s)" >&2
  if scripts/fuzz.sh "$t" "$seconds" > "$logs/$t.log" 2>&1; then
    status=ok
  else
    status=FAILED
    failed+=("$t")
    tail -n 60 "$logs/$t.log" >&2
  fi
  execs="$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$logs/$t.log" | grep -o '[0-9]*$' || true)"
  rate="$(grep -o 'stat::average_exec_per_sec: *[0-9]*' "$logs/$t.log" | grep -o '[0-9]*$' || true)"
  summary+=("$(printf '%-18s %-6s %10s execs %8s execs/s' "$t" "$status" "${execs:-?}" "${rate:-?}")")
done
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz-smoke.sh: failed: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz-smoke.sh: $(cargo +nightly fuzz list | wc -l) targets, no crash"
