#!/usr/bin/env bash
# S/MIME verify benchmark (design.md §7): `ximf verify` vs `openssl cms -verify`
# on 4 KiB, 1 MiB and 64 MiB detached-signed messages made by `openssl cms -sign`, plus ximf's
# peak RSS on 64 MiB. Needs openssl, hyperfine, python3 and GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
K=testdata/keys/smime
NOW=1795910400
TARGET=${CARGO_TARGET_DIR:-target}
cargo build --release --quiet
BIN=$TARGET/release/ximf
NOW3339=$(date -u -d @$NOW +%Y-%m-%dT%H:%M:%SZ)
# A 64 MiB payload plus its signature is over the default --max-size (64 MiB).
MAX="--max-size 100000000"
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# The binary runs from a fresh copy, as an installed one would: the file the linker wrote in
# place (target/release/ximf) starts some 0.5 ms slower on this machine (more page faults).
cp "$BIN" "$W/ximf"
BIN=$W/ximf

make_msg() { # NAME BYTES
  python3 - "$W/$1.txt" "$2" <<'PY'
import sys, random
path, size = sys.argv[1], int(sys.argv[2])
random.seed(1)
alpha = b"abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789.,"
line = bytes(random.choice(alpha) for _ in range(4096))
with open(path, "wb") as f:
    f.write(b"Content-Type: text/plain; charset=us-ascii\r\n\r\n")
    n = 0
    i = 0
    while n < size:
        chunk = line[i % 4000:i % 4000 + 75].strip() or b"x"
        f.write(chunk + b"\r\n")
        n += len(chunk) + 2
        i += 75
PY
  openssl cms -sign -in "$W/$1.txt" -signer $K/alice.crt -inkey $K/alice.key -certfile $K/inter.crt \
    -md sha256 -from alice@example.org -to bob@example.org -subject bench -out "$W/$1.eml"
  "$BIN" $MAX --now $NOW3339 verify --ca $K/root.crt "$W/$1.eml" >/dev/null
  openssl cms -verify -in "$W/$1.eml" -CAfile $K/root.crt -attime $NOW -out /dev/null 2>/dev/null
}

printf '%-8s %14s %14s %8s\n' size openssl_ms ximf_ms ratio
for spec in 4k:4096 1m:1048576 64m:67108864 64m-lf:0; do
  name=${spec%%:*}; bytes=${spec##*:}
  if [ "$name" = 64m-lf ]; then
    # The same message stored with LF endings (as procmail/mutt hand it over): ximf
    # canonicalizes to CRLF while hashing, without a copy.
    tr -d '\r' < "$W/64m.eml" > "$W/$name.eml"
  else
    make_msg "$name" "$bytes"
  fi
  runs=20; case $name in 64m*) runs=5 ;; esac
  hyperfine -N --warmup 1 --runs $runs --export-json "$W/$name.json" \
    "openssl cms -verify -in $W/$name.eml -CAfile $K/root.crt -attime $NOW -out /dev/null" \
    "$BIN $MAX --now $NOW3339 verify --ca $K/root.crt $W/$name.eml" >/dev/null 2>&1
  python3 - "$W/$name.json" "$name" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
o, x = r[0]["mean"] * 1000, r[1]["mean"] * 1000
print(f"{sys.argv[2]:<8} {o:14.2f} {x:14.2f} {o / x:7.1f}x")
PY
done
size=$(stat -c %s "$W/64m.eml")
rss=$(/usr/bin/time -v "$BIN" $MAX --now $NOW3339 verify --ca $K/root.crt "$W/64m.eml" 2>&1 >/dev/null | awk -F: '/Maximum resident/ {gsub(/ /,"",$2); print $2}')
python3 -c "import sys; s=$size; r=$rss*1024; print(f'ximf peak RSS on 64 MiB: {r/2**20:.1f} MiB for a {s/2**20:.1f} MiB message ({r/s:.2f}x)')"

# Batch (design.md §7): 1000 small signed messages, one ximf process over the directory (all
# cores) vs one `openssl cms -verify` process per message.
mkdir "$W/batch"
make_msg small 2048
for i in $(seq -w 1 1000); do cp "$W/small.eml" "$W/batch/$i.eml"; done
hyperfine -N --warmup 1 --runs 3 --export-json "$W/batch.json" \
  "sh -c 'for f in $W/batch/*.eml; do openssl cms -verify -in \$f -CAfile $K/root.crt -attime $NOW -out /dev/null 2>/dev/null || exit 1; done'" \
  "$BIN --now $NOW3339 verify --ca $K/root.crt $W/batch" >/dev/null 2>&1
python3 - "$W/batch.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))["results"]
o, x = r[0]["mean"], r[1]["mean"]
print(f"batch of 1000: openssl loop {o:.2f} s, ximf one process {x:.3f} s, {o / x:.1f}x")
PY
