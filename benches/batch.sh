#!/usr/bin/env bash
# Batch and start-up benchmark (issue 13 points 3-4), peers in the same run:
#
# - start-up: `ximf --version` against `openssl version` and `gpg --version`, and a 4 KiB
#   signed message verified in one process: `ximf verify` against `openssl cms -verify`
#   (S/MIME) and `gpg --verify` / `sq verify` (PGP/MIME, parts pre-split for the peers);
# - batch: COUNT (default 10,000) small signed messages of each kind (100 distinct
#   signatures, copied) verified by one `ximf verify DIR` on every core, in messages/s, against
#   one peer process per message (timed on the first 200 messages).
#
# Usage: benches/batch.sh [COUNT]     needs openssl, gpg, sq, hyperfine, python3
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
count=${1:-10000}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
cargo build --quiet --release --manifest-path "$root/Cargo.toml"
bin=$CARGO_TARGET_DIR/release/ximf
K=$root/testdata/keys/smime
P=$root/testdata/keys/pgp
# A backtrace captured for every internal anyhow error inside Sequoia is not what users run.
unset RUST_BACKTRACE RUST_LIB_BACKTRACE
now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
epoch=$(date -u +%s)

W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
# The binary runs from a fresh copy, as an installed one would: the file the linker wrote in
# place (target/release/ximf) starts some 0.5 ms slower on this machine (more page faults).
cp "$bin" "$W/ximf"
bin=$W/ximf
export GNUPGHOME=$W/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --import "$P/alice.key" 2>/dev/null
gpg --batch --quiet --import-ownertrust <<<"$(gpg --with-colons --fingerprint alice@example.org | awk -F: '/^fpr/ {print $10 ":6:"; exit}')" 2>/dev/null

# One message each of about 4 KiB for the start-up rows.
python3 - "$W/4k.txt" <<'PY'
import sys, random
random.seed(1)
alpha = "abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789.,"
with open(sys.argv[1], "w", newline="") as f:
    f.write("Content-Type: text/plain; charset=us-ascii\r\n\r\n")
    for _ in range(4096 // 77):
        f.write("".join(random.choice(alpha) for _ in range(75)).strip() + "\r\n")
PY
pgp_mime() { # PART SIG OUT SUBJECT
  {
    printf 'From: Alice <alice@example.org>\r\nTo: Bob <bob@example.org>\r\nSubject: %s\r\n' "$4"
    printf 'MIME-Version: 1.0\r\nContent-Type: multipart/signed; micalg=pgp-sha256;\r\n'
    printf ' protocol="application/pgp-signature"; boundary="bench-b"\r\n\r\n--bench-b\r\n'
    cat "$1"
    printf '\r\n--bench-b\r\nContent-Type: application/pgp-signature\r\n\r\n'
    sed 's/$/\r/' "$2"
    printf '\r\n--bench-b--\r\n'
  } > "$3"
}
openssl cms -sign -in "$W/4k.txt" -signer "$K/alice.crt" -inkey "$K/alice.key" -certfile "$K/inter.crt" \
  -md sha256 -from alice@example.org -to bob@example.org -subject bench -out "$W/4k-smime.eml"
gpg --batch --quiet --detach-sign --armor --digest-algo SHA256 -u alice@example.org -o "$W/4k.sig" "$W/4k.txt"
pgp_mime "$W/4k.txt" "$W/4k.sig" "$W/4k-pgp.eml" bench

# The batches: 100 distinct small messages of each kind, copied to COUNT files.
mkdir "$W/src" "$W/smime" "$W/pgp"
for i in $(seq -w 0 99); do
  printf 'Content-Type: text/plain; charset=us-ascii\r\n\r\nHello %s, this is batch message %s.\r\nA small message of a few hundred bytes.\r\n' "$i" "$i" > "$W/src/$i.txt"
  openssl cms -sign -in "$W/src/$i.txt" -signer "$K/alice.crt" -inkey "$K/alice.key" -certfile "$K/inter.crt" \
    -md sha256 -from alice@example.org -to bob@example.org -subject "batch $i" -out "$W/src/$i-smime.eml"
  gpg --batch --quiet --detach-sign --armor --digest-algo SHA256 -u alice@example.org -o "$W/src/$i.sig" "$W/src/$i.txt"
  pgp_mime "$W/src/$i.txt" "$W/src/$i.sig" "$W/src/$i-pgp.eml" "batch $i"
done
python3 - "$W" "$count" <<'PY'
import shutil, sys
w, n = sys.argv[1], int(sys.argv[2])
for k in range(n):
    for kind in ("smime", "pgp"):
        shutil.copyfile(f"{w}/src/{k % 100:02d}-{kind}.eml", f"{w}/{kind}/{k}.eml")
PY
smime=("$bin" --now "$now" verify --ca "$K/root.crt")
pgp=("$bin" --now "$now" verify --keyring "$P/alice.cert")
for kind in smime pgp; do
  [ $kind = smime ] && cmd=("${smime[@]}") || cmd=("${pgp[@]}")
  "${cmd[@]}" "$W/4k-$kind.eml" > /dev/null
  out=$("${cmd[@]}" "$W/$kind")
  pass=$(grep -c ': pass ' <<<"$out" || true)
  [ "$pass" = "$count" ] || { echo "ximf passes $pass of $count $kind messages" >&2; exit 1; }
done
cat > "$W/peer-smime.sh" <<EOF
for i in \$(seq -w 0 99); do for j in 0 1; do
  openssl cms -verify -in $W/src/\$i-smime.eml -CAfile $K/root.crt -attime $epoch -out /dev/null 2>/dev/null || exit 1
done; done
EOF
cat > "$W/peer-gpg.sh" <<EOF
for i in \$(seq -w 0 99); do for j in 0 1; do
  gpg --batch --quiet --verify $W/src/\$i.sig $W/src/\$i.txt 2>/dev/null || exit 1
done; done
EOF

# Start-up figures are a few ms, and this shared machine drifts by more than the differences
# over a long run: eight short rounds, each command in turn, and the median of all runs.
for round in 1 2 3 4 5 6 7 8; do
  hyperfine -N --style none --warmup 2 --runs 15 --export-json "$W/start-$round.json" \
    -n 'openssl version' 'openssl version' \
    -n 'gpg --version' 'gpg --version' \
    -n 'ximf --version' "$bin --version" \
    -n 'openssl cms 4k' "openssl cms -verify -in $W/4k-smime.eml -CAfile $K/root.crt -attime $epoch -out /dev/null" \
    -n 'ximf smime 4k' "${smime[*]} $W/4k-smime.eml" \
    -n 'gpg 4k' "gpg --batch --quiet --verify $W/4k.sig $W/4k.txt" \
    -n 'sq 4k' "sq verify --signer-cert $P/alice.cert --detached $W/4k.sig $W/4k.txt" \
    -n 'ximf pgp 4k' "${pgp[*]} $W/4k-pgp.eml" > /dev/null 2>&1
done
hyperfine -N --style none --warmup 1 --runs 5 --export-json "$W/batch.json" \
  -n 'ximf smime' "${smime[*]} $W/smime" \
  -n 'ximf pgp' "${pgp[*]} $W/pgp" \
  -n 'openssl loop' "sh $W/peer-smime.sh" \
  -n 'gpg loop' "sh $W/peer-gpg.sh" > /dev/null 2>&1
python3 - "$W" "$W/batch.json" "$count" <<'PY'
import glob, json, statistics, sys
runs = {}
for f in glob.glob(sys.argv[1] + "/start-*.json"):
    for r in json.load(open(f))["results"]:
        runs.setdefault(r["command"], []).extend(r["times"])
s = {c: statistics.median(t) * 1000 for c, t in runs.items()}
b = {r["command"]: r["mean"] for r in json.load(open(sys.argv[2]))["results"]}
n = int(sys.argv[3])
print(f"start-up: ximf --version {s['ximf --version']:.2f} ms, openssl version "
      f"{s['openssl version']:.2f} ms, gpg --version {s['gpg --version']:.2f} ms")
print(f"4 KiB S/MIME verify: ximf {s['ximf smime 4k']:.2f} ms, openssl cms {s['openssl cms 4k']:.2f} ms "
      f"({s['openssl cms 4k'] / s['ximf smime 4k']:.2f}x)")
print(f"4 KiB PGP/MIME verify: ximf {s['ximf pgp 4k']:.2f} ms, gpg {s['gpg 4k']:.2f} ms "
      f"({s['gpg 4k'] / s['ximf pgp 4k']:.2f}x), sq {s['sq 4k']:.2f} ms ({s['sq 4k'] / s['ximf pgp 4k']:.2f}x)")
for kind, peer in (("smime", "openssl loop"), ("pgp", "gpg loop")):
    x = n / b[f"ximf {kind}"]
    p = 200 / b[peer]
    print(f"batch {kind}: ximf {x:,.0f} messages/s ({n} in {b[f'ximf {kind}']:.3f} s, one process, "
          f"every core); {peer.split()[0]} one process per message {p:,.0f} messages/s ({x / p:.0f}x)")
PY
