#!/usr/bin/env bash
# OpenPGP verify benchmark: `ximf verify` vs `gpg --verify` and `sq verify` on
# 4 KiB, 1 MiB and 64 MiB multipart/signed messages, in one run, with ratios (design.md §7).
#
# The messages are signed by gpg (Ed25519, SHA-256) at run time. gpg and sq get the RFC 3156
# parts pre-split into files (they cannot read MIME); ximf reads the whole message, finds the
# parts and canonicalizes. A second ximf row verifies the same message stored with LF endings.
#
# Usage: benches/pgp.sh [RUNS]     needs hyperfine, gpg, sq, python3
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-10}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
cargo build --quiet --release --manifest-path "$root/Cargo.toml"
bin=$CARGO_TARGET_DIR/release/ximf
keys=$root/testdata/keys/pgp

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The binary runs from a fresh copy, as an installed one would: the file the linker wrote in
# place (target/release/ximf) starts some 0.5 ms slower on this machine (more page faults).
cp "$bin" "$work/ximf"
bin=$work/ximf
export GNUPGHOME=$work/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --import "$keys/alice.key" 2>/dev/null
gpg --batch --quiet --import-ownertrust <<<"$(gpg --with-colons --fingerprint alice@example.org | awk -F: '/^fpr/ {print $10 ":6:"; exit}')" 2>/dev/null
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)

printf '%-8s %-10s %12s %12s %12s %10s %10s %12s\n' size ximf-lf ximf gpg sq gpg/ximf sq/ximf ximf-maxrss
for size in 4096 1048576 67108864; do
    d=$work/$size
    mkdir "$d"
    # A base64 body (76-column lines, CRLF) of about $size bytes.
    head -c $((size * 3 / 4)) /dev/urandom | base64 -w 76 | sed 's/$/\r/' > "$d/body"
    printf 'Content-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n' > "$d/part"
    cat "$d/body" >> "$d/part"
    gpg --batch --quiet --detach-sign --armor --digest-algo SHA256 -u alice@example.org -o "$d/sig" "$d/part"
    {
        printf 'From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: bench\r\n'
        printf 'MIME-Version: 1.0\r\nContent-Type: multipart/signed; micalg=pgp-sha256;\r\n'
        printf ' protocol="application/pgp-signature"; boundary="bench-b"\r\n\r\n--bench-b\r\n'
        cat "$d/part"
        printf '\r\n--bench-b\r\nContent-Type: application/pgp-signature\r\n\r\n'
        sed 's/$/\r/' "$d/sig"
        printf '\r\n--bench-b--\r\n'
    } > "$d/msg.eml"
    tr -d '\r' < "$d/msg.eml" > "$d/msg-lf.eml"
    for m in msg.eml msg-lf.eml; do
        status=$("$bin" --max-size 100000000 --now "$now" verify --keyring "$keys/alice.cert" "$d/$m") || {
            echo "ximf does not verify $m ($size bytes): $status" >&2
            exit 1
        }
    done
    hyperfine --style none --warmup 2 --runs "$runs" --export-json "$d/h.json" \
        -n ximf-lf "$bin --max-size 100000000 --now $now verify --keyring $keys/alice.cert $d/msg-lf.eml" \
        -n ximf "$bin --max-size 100000000 --now $now verify --keyring $keys/alice.cert $d/msg.eml" \
        -n gpg "gpg --batch --quiet --verify $d/sig $d/part" \
        -n sq "sq verify --signer-cert $keys/alice.cert --detached $d/sig $d/part" \
        > /dev/null 2>&1
    rss=$( { /usr/bin/time -f '%M' "$bin" --max-size 100000000 --now "$now" verify --keyring "$keys/alice.cert" "$d/msg.eml" > /dev/null; } 2>&1 | tail -1)
    python3 - "$d/h.json" "$size" "$rss" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
size, rss = int(sys.argv[2]), int(sys.argv[3])
label = f"{size // 1024} KiB" if size < 1 << 20 else f"{size >> 20} MiB"
ms = lambda s: f"{s * 1000:.1f} ms"
print(f"{label:<8} {ms(r['ximf-lf']):>10} {ms(r['ximf']):>12} {ms(r['gpg']):>12} {ms(r['sq']):>12} "
      f"{r['gpg'] / r['ximf']:>9.1f}x {r['sq'] / r['ximf']:>9.1f}x {rss / 1024:>9.1f} MiB")
PY
done
