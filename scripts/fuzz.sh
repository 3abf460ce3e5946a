#!/usr/bin/env bash
# Runs one fuzz target for a while: scripts/fuzz.sh TARGET SECONDS [LIBFUZZER-ARGS...]
#
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`). The corpus is
# fuzz/corpus/TARGET (not committed); when it is empty it is seeded from fuzz/seeds/TARGET and
# testdata/ (messages in LF and CRLF, the golden messages, profiles, keys) and, for the profile
# loader, the field profiles in ../shared/profiles when they are there. A crash, a timeout
# (FUZZ_TIMEOUT seconds per input, default 30) or an input that needs more than
# FUZZ_RSS_MB MiB (default 2048) stops the run with a non-zero status and leaves the input in
# fuzz/artifacts/TARGET/. libFuzzer's final statistics (execs/s, peak RSS) end the output.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: scripts/fuzz.sh TARGET SECONDS [LIBFUZZER-ARGS...]" >&2
  echo "targets: $(ls fuzz/fuzz_targets | sed 's/\.rs$//' | tr '\n' ' ')" >&2
  exit 64
}
[ $# -ge 2 ] || usage
target="$1"
seconds="$2"
shift 2
[ -f "fuzz/fuzz_targets/$target.rs" ] || usage
[[ "$seconds" =~ ^[0-9]+$ ]] || usage

if ! cargo +nightly --version >/dev/null 2>&1; then
  echo "fuzz.sh: the nightly toolchain is needed (rustup toolchain install nightly)" >&2
  exit 69
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz" >&2
  cargo install --locked cargo-fuzz
fi

corpus="fuzz/corpus/$target"
mkdir -p "$corpus"

# --- seeding ---------------------------------------------------------------------------------
seed() { # NAME < content; named by content, so a seed given twice is kept once
  local tmp
  tmp="$(mktemp "$corpus/.seed.XXXXXX")"
  cat > "$tmp"
  mv "$tmp" "$corpus/$1-$(sha1sum < "$tmp" | cut -c1-12)"
}
seed_file() { # FILE [NAME]
  [ -f "$1" ] || return 0
  seed "${2:-$(basename "$1")}" < "$1"
}
crlf() { sed 's/\r$//; s/$/\r/' "$1"; }
header_of() { sed -n '/^\r\{0,1\}$/q; p' "$1"; }
body_of() { sed '1,/^\r\{0,1\}$/d' "$1"; }
messages() { # every message of testdata/ and the made seeds
  ls testdata/messages/*.eml
  find testdata/golden -name '*.eml' | sort
  ls fuzz/seeds/message_verify/*.eml 2>/dev/null || true
}
# A file tree for the profile_load target: NAME\0CONTENT\0... with the first file loaded.
archive() { # DIR FIRST [FILES...]
  local dir="$1"
  shift
  for f in "$@"; do
    printf '%s\0' "$f"
    cat "$dir/$f"
    printf '\0'
  done
}

if [ -z "$(ls -A "$corpus")" ]; then
  for f in fuzz/seeds/"$target"/*; do seed_file "$f"; done
  case "$target" in
    message_verify | protect_both_ways)
      while read -r f; do
        seed_file "$f" "$(basename "$f" .eml).eml"
        crlf "$f" | seed "$(basename "$f" .eml).crlf.eml"
      done < <(messages)
      ;;
    header_protection)
      # OUTER\0INNER\0FLAGS BODY; flags: 0x00 template only, 0x40/0x44/0x48 also protect
      # (OpenPGP signed / signed and encrypted / S/MIME signed).
      tmp="$(mktemp)"
      while read -r f; do
        crlf "$f" > "$tmp"
        for flags in '\x00' '\x40' '\x44' '\x48' '\x21'; do
          { header_of "$tmp"; printf '\0'; header_of "$tmp"; printf '\0'"$flags"; body_of "$tmp"; } |
            seed "$(basename "$f" .eml).hp"
        done
      done < <(messages | grep -v -e encrypted -e '\.crlf\.')
      rm -f "$tmp"
      ;;
    profile_load)
      for f in testdata/profiles/*/*.xml profiles/builtin/example/headers-*.xml; do
        seed_file "$f"
      done
      (cd profiles/builtin && archive . ximfmail-profile.xml example/*.xml) | seed builtin.tree
      (cd profiles/builtin/example && archive . headers-example.xml dictionary-example.xml \
        ihm-example.xml rules-example.xml) | seed example-dir.tree
      tb=../shared/profiles/trustedbird
      if [ -f "$tb/ximfmail-profile.xml" ]; then
        for d in "$tb"/*/; do
          d="$(basename "$d")"
          (cd "$tb" && archive . ximfmail-profile.xml "$d"/*.xml) | seed "$d.tree"
        done
        seed_file "$tb/secureHeadersDefault.xml"
      fi
      ;;
    cms_parse)
      for f in testdata/keys/smime/*.p12; do seed_file "$f"; done
      if command -v openssl >/dev/null; then
        for f in testdata/keys/smime/*.crt; do
          openssl x509 -in "$f" -outform DER | seed "$(basename "$f" .crt).der"
        done
      fi
      ;;
    pgp_verify)
      for f in testdata/keys/pgp/*.cert testdata/keys/pgp/*.key; do seed_file "$f"; done
      ;;
    rfc2047)
      while read -r f; do
        { grep -a -i -h -e '^Subject:' -e '^X-XIMF-' -e '^From:' "$f" || true; } |
          sed 's/^[^:]*: *//; s/\r$//' |
          while IFS= read -r v; do printf '%s' "$v" | seed value; done
      done < <(messages)
      ;;
    sendmail_argv)
      for f in testdata/golden/stamp/*/args; do
        tr '\n' '\0' < "$f" | seed args
      done
      ;;
    config_parse) ;;
  esac
  echo "fuzz.sh: seeded $corpus with $(ls "$corpus" | wc -l) inputs" >&2
fi

# --- running ---------------------------------------------------------------------------------
case "$target" in
  profile_load) max_len=131072 ;;
  message_verify | cms_parse | pgp_verify) max_len=65536 ;;
  header_protection) max_len=16384 ;;
  *) max_len=4096 ;;
esac
exec cargo +nightly fuzz run "$target" "$corpus" -- \
  -max_total_time="$seconds" -timeout="${FUZZ_TIMEOUT:-30}" -rss_limit_mb="${FUZZ_RSS_MB:-2048}" \
  -max_len="$max_len" -print_final_stats=1 "$@"
