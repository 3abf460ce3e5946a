#!/usr/bin/env bash
# Large messages in bounded memory (issue 13): `ximf verify` of 64 MiB S/MIME and PGP/MIME
# messages against the floor (`openssl dgst -sha256` of the same file: read plus hash) and the
# peers (openssl cms -verify; gpg and sq on the detached part), timed in the same run with
# hyperfine; then the peak RSS (GNU time) of ximf for 64 and 512 MiB, from the file and from a
# pipe, beside the peers'. Then decrypt and protect (see below), and protect --sign of a 64 MiB
# 8-bit text part that is re-encoded as it is read. Run: benches/stream.sh [RUNS]. Needs about 3 GiB in $TMPDIR.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-10}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$root/target}
cargo build --quiet --release --manifest-path "$root/Cargo.toml"
sk=$root/testdata/keys/smime
pk=$root/testdata/keys/pgp
w=$(mktemp -d)
trap 'rm -rf "$w"' EXIT
# A copy: a freshly linked binary starts slower (the page cache has not seen it yet).
cp "$CARGO_TARGET_DIR/release/ximf" "$w/ximf"
x=$w/ximf
export GNUPGHOME=$w/gnupg
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --import "$pk/alice.key" 2>/dev/null
now=2026-11-30T00:00:00Z
# gpg signs at the real time: the PGP verdicts are taken at it too.
pnow=$(date -u -d '+1 min' +%Y-%m-%dT%H:%M:%SZ)
max="--max-size 2000000000"

text() { # FILE BYTES: a text/plain entity of printable CRLF lines
  python3 - "$1" "$2" <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
line = b"The quick brown fox jumps over the lazy dog, 0123456789 times over."
with open(path, "wb") as f:
    f.write(b"Content-Type: text/plain; charset=us-ascii\r\n\r\n")
    n = i = 0
    block = b"".join(line[:20 + k % 40] + b"\r\n" for k in range(4000))
    while n < size:
        f.write(block)
        n += len(block)
PY
}
make() { # NAME BYTES: NAME-smime.eml (openssl), NAME-pgp.eml (gpg) and the PGP part + sig
  text "$w/$1.txt" "$2"
  openssl cms -sign -md sha256 -in "$w/$1.txt" -signer "$sk/alice.crt" -inkey "$sk/alice.key" \
    -certfile "$sk/inter.crt" -from alice@example.org -to bob@example.org -subject big \
    -out "$w/$1-smime.eml"
  gpg --batch --quiet --detach-sign --armor --digest-algo SHA256 -u alice@example.org \
    -o "$w/$1.sig" "$w/$1.txt"
  {
    printf 'From: alice@example.org\r\nTo: bob@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\n'
    printf 'Content-Type: multipart/signed; micalg=pgp-sha256;\r\n protocol="application/pgp-signature"; boundary="b"\r\n\r\n--b\r\n'
    cat "$w/$1.txt"
    printf '\r\n--b\r\nContent-Type: application/pgp-signature\r\n\r\n'
    sed 's/$/\r/' "$w/$1.sig"
    printf '\r\n--b--\r\n'
  } > "$w/$1-pgp.eml"
}
vs() { echo "$x $max --now $now verify --ca $sk/root.crt"; }
vp() { echo "$x $max --now $pnow verify --keyring $pk/alice.cert"; }

make 64m $((64 << 20))
for m in smime pgp; do
  v=$([ $m = smime ] && vs || vp)
  $v "$w/64m-$m.eml" > /dev/null || { echo "ximf does not pass 64m-$m.eml" >&2; exit 1; }
done

hyperfine -N --style none --warmup 2 --runs "$runs" --export-json "$w/t.json" \
  -n dgst "openssl dgst -sha256 $w/64m-smime.eml" \
  -n ximf-smime "$(vs) $w/64m-smime.eml" \
  -n openssl-cms "openssl cms -verify -in $w/64m-smime.eml -CAfile $sk/root.crt -attime 1795910400 -out /dev/null" \
  -n ximf-pgp "$(vp) $w/64m-pgp.eml" \
  -n gpg "gpg --batch --quiet --verify $w/64m.sig $w/64m.txt" \
  -n sq "sq verify --signer-cert $pk/alice.cert --detached $w/64m.sig $w/64m.txt" \
  > /dev/null 2>&1
echo "64 MiB verify, mean of $runs runs (ratio: to openssl dgst -sha256 of the same file)"
python3 - "$w/t.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
for k in ["dgst", "ximf-smime", "openssl-cms", "ximf-pgp", "gpg", "sq"]:
    print(f"  {k:<12} {r[k] * 1000:8.1f} ms  {r[k] / r['dgst']:5.2f}x")
PY

rss() { /usr/bin/time -o "$w/rss" -f '%M' "$@" > /dev/null 2>&1; tail -1 "$w/rss"; }
rss_pipe() { # FILE COMMAND: the command reads FILE through a pipe (cat's own RSS not counted)
  cat "$1" | /usr/bin/time -o "$w/rss" -f '%M' $2 > /dev/null 2>&1; tail -1 "$w/rss"; }
mib() { python3 -c "print(f'{$1/1024:.1f}')"; }
echo "peak RSS, MiB (ximf from the file / from a pipe; the peers from the file)"
printf '  %-8s %14s %14s %12s %14s %10s\n' size ximf-smime ximf-pgp openssl-cms gpg sq
for size in 64 512; do
  [ "$size" = 512 ] && make 512m $((512 << 20))
  n=${size}m
  a=$(rss $(vs) "$w/$n-smime.eml"); b=$(rss_pipe "$w/$n-smime.eml" "$(vs)")
  c=$(rss $(vp) "$w/$n-pgp.eml"); d=$(rss_pipe "$w/$n-pgp.eml" "$(vp)")
  e=$( [ "$size" = 64 ] && rss openssl cms -verify -in "$w/$n-smime.eml" -CAfile "$sk/root.crt" -attime 1795910400 -out /dev/null || echo 0)
  f=$(rss gpg --batch --quiet --verify "$w/$n.sig" "$w/$n.txt")
  g=$(rss sq verify --signer-cert "$pk/alice.cert" --detached "$w/$n.sig" "$w/$n.txt")
  printf '  %-8s %6s / %-6s %6s / %-6s %12s %14s %10s\n' "$size MiB" "$(mib $a)" "$(mib $b)" \
    "$(mib $c)" "$(mib $d)" "$( [ "$e" = 0 ] && echo - || mib $e)" "$(mib $f)" "$(mib $g)"
  rm -f "$w/$n"*
done

# Decrypt and protect (issue 13): the same text entity encrypted to bob by the peers (openssl
# cms, AES-256-CBC, BER; gpg uncompressed, so the plaintext is as large as it says), then ximf
# decrypt against the peers' decrypt, and ximf protect (sign, encrypt) of a message with a
# base64 attachment of the size (random data: what a large message mostly is; a text body with
# trailing blanks must be re-encoded and is held in memory); peak RSS from the file and from a
# pipe (the output goes to a file: its spool is on disk).
gpg --batch --quiet --import "$pk/bob.key" 2>/dev/null
msg() { # NAME BYTES: NAME-plain.eml (attachment), NAME-enc-smime.eml, NAME-enc-pgp.eml
  text "$w/$1.txt" "$2"
  python3 - "$w/$1-plain.eml" "$2" <<'PY'
import base64, os, sys
path, size = sys.argv[1], int(sys.argv[2])
with open(path, "wb") as f:
    f.write(b"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: big\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
            b"--m\r\nContent-Type: text/plain\r\n\r\nSee the attachment.\r\n--m\r\n"
            b"Content-Type: application/octet-stream; name=\"data.bin\"\r\n"
            b"Content-Transfer-Encoding: base64\r\n\r\n")
    block = base64.encodebytes(os.urandom(57 * 1024)).replace(b"\n", b"\r\n")
    n = 0
    while n < size:
        f.write(block)
        n += len(block)
    f.write(b"--m--\r\n")
PY
  openssl cms -encrypt -aes256 -stream -in "$w/$1.txt" -from alice@example.org \
    -to bob@example.org -subject big -out "$w/$1-enc-smime.eml" "$sk/bob.crt"
  gpg --batch --quiet --trust-model always -z 0 --armor --encrypt -r bob@example.org \
    -o "$w/$1.asc" "$w/$1.txt"
  { printf 'From: alice@example.org\r\nTo: bob@example.org\r\nSubject: big\r\nMIME-Version: 1.0\r\n'
    printf 'Content-Type: multipart/encrypted; protocol="application/pgp-encrypted"; boundary="e"\r\n\r\n'
    printf -- '--e\r\nContent-Type: application/pgp-encrypted\r\n\r\nVersion: 1\r\n\r\n'
    printf -- '--e\r\nContent-Type: application/octet-stream\r\n\r\n'
    sed 's/$/\r/' "$w/$1.asc"; printf '\r\n--e--\r\n'; } > "$w/$1-enc-pgp.eml"
  rm -f "$w/$1.txt" "$w/$1.asc"
}
ds() { echo "$x $max --now $now decrypt --key $sk/bob.key --cert $sk/bob.crt"; }
dp() { echo "$x $max --now $now decrypt --key $pk/bob.key"; }
ps_() { echo "$x $max --now $now protect --mechanism smime --key $sk/alice.key --cert $sk/alice.chain.pem --recipient $sk/bob.crt $1"; }
pp() { echo "$x $max --now $now protect --mechanism openpgp --key $pk/alice.key --recipient $pk/bob.cert $1"; }
msg 64m $((64 << 20))
for c in "$(ds) $w/64m-enc-smime.eml" "$(dp) $w/64m-enc-pgp.eml"; do
  $c -o "$w/out.eml" || { echo "ximf cannot decrypt: $c" >&2; exit 1; }
done
hyperfine -N --style none --warmup 1 --runs "$runs" --export-json "$w/d.json" \
  -n ximf-decrypt-smime "$(ds) -o $w/out.eml $w/64m-enc-smime.eml" \
  -n openssl-cms-decrypt "openssl cms -decrypt -in $w/64m-enc-smime.eml -recip $sk/bob.crt -inkey $sk/bob.key -out $w/out.eml" \
  -n ximf-decrypt-pgp "$(dp) -o $w/out.eml $w/64m-enc-pgp.eml" \
  -n gpg-decrypt "gpg --batch --quiet --yes -o $w/out.eml --decrypt $w/64m-enc-pgp.eml" \
  -n ximf-sign-smime "$(ps_ --sign) -o $w/out.eml $w/64m-plain.eml" \
  -n ximf-encrypt-smime "$(ps_ --encrypt) -o $w/out.eml $w/64m-plain.eml" \
  -n openssl-cms-encrypt "openssl cms -encrypt -aes256 -in $w/64m-plain.eml -out $w/out.eml $sk/bob.crt" \
  -n ximf-sign-pgp "$(pp --sign) -o $w/out.eml $w/64m-plain.eml" \
  -n ximf-encrypt-pgp "$(pp --encrypt) -o $w/out.eml $w/64m-plain.eml" \
  -n gpg-encrypt "gpg --batch --quiet --yes --trust-model always -z 0 -e -r bob@example.org -o $w/out.eml $w/64m-plain.eml" \
  > /dev/null 2>&1
echo "64 MiB decrypt and protect, mean of $runs runs"
python3 - "$w/d.json" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
for k, peer in [("ximf-decrypt-smime", "openssl-cms-decrypt"), ("ximf-decrypt-pgp", "gpg-decrypt"),
                ("ximf-sign-smime", None), ("ximf-encrypt-smime", "openssl-cms-encrypt"),
                ("ximf-sign-pgp", None), ("ximf-encrypt-pgp", "gpg-encrypt")]:
    line = f"  {k:<20} {r[k] * 1000:8.1f} ms"
    if peer:
        line += f"   {peer:<20} {r[peer] * 1000:8.1f} ms  ratio (peer / ximf) {r[peer] / r[k]:5.2f}x"
    print(line)
PY
echo "peak RSS, MiB (from the file / from a pipe)"
printf '  %-8s %15s %15s %15s %15s %15s %15s\n' size decrypt-smime decrypt-pgp sign-smime encrypt-smime sign-pgp encrypt-pgp
for size in 64 512; do
  [ "$size" = 512 ] && msg 512m $((512 << 20))
  n=${size}m
  row=()
  # COMMAND|FILE (a command line holds colons: --now).
  for c in "$(ds)|$w/$n-enc-smime.eml" "$(dp)|$w/$n-enc-pgp.eml" "$(ps_ --sign)|$w/$n-plain.eml" \
           "$(ps_ --encrypt)|$w/$n-plain.eml" "$(pp --sign)|$w/$n-plain.eml" "$(pp --encrypt)|$w/$n-plain.eml"; do
    cmd=${c%%|*}; f=${c##*|}
    $cmd -o "$w/out.eml" "$f" || { echo "ximf failed: $cmd $f" >&2; exit 1; }
    a=$(rss $cmd -o "$w/out.eml" "$f"); b=$(rss_pipe "$f" "$cmd -o $w/out.eml")
    row+=("$(mib $a) / $(mib $b)")
  done
  printf '  %-8s %15s %15s %15s %15s %15s %15s\n' "$size MiB" "${row[@]}"
  rm -f "$w/$n"* "$w/out.eml"
done


# A body that must be re-encoded (issue 13): a 64 MiB 8-bit UTF-8 text part, which signing
# brings to quoted-printable as it is read from the input, never held whole.
python3 - "$w/8bit.eml" $((64 << 20)) <<'PY'
import sys
path, size = sys.argv[1], int(sys.argv[2])
line = "Grüße aus Köln, 0123456789 — la même chose, trailing blank \r\n".encode()
with open(path, "wb") as f:
    f.write(b"From: alice@example.org\r\nTo: bob@example.org\r\nSubject: big\r\n"
            b"MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"m\"\r\n\r\n"
            b"--m\r\nContent-Type: text/plain; charset=utf-8\r\n"
            b"Content-Transfer-Encoding: 8bit\r\n\r\n")
    block = line * 1024
    n = 0
    while n < size:
        f.write(block)
        n += len(block)
    f.write(b"\r\n--m--\r\n")
PY
hyperfine -N --style none --warmup 1 --runs 3 --export-json "$w/r.json" \
  -n ximf-sign-smime-8bit "$(ps_ --sign) -o $w/out.eml $w/8bit.eml" \
  -n ximf-sign-pgp-8bit "$(pp --sign) -o $w/out.eml $w/8bit.eml" > /dev/null 2>&1
echo "64 MiB 8-bit text re-encoded as it is read (protect --sign), mean of 3 runs, peak RSS from the file"
python3 - "$w/r.json" <<'PY' > "$w/r.txt"
import json, sys
for x in json.load(open(sys.argv[1]))["results"]:
    print(x["command"], f"{x['mean'] * 1000:.1f}")
PY
while read -r name ms; do
  case $name in *smime*) cmd=$(ps_ --sign) ;; *) cmd=$(pp --sign) ;; esac
  printf '  %-22s %8s ms   RSS %s MiB\n' "$name" "$ms" "$(mib "$(rss $cmd -o "$w/out.eml" "$w/8bit.eml")")"
done < "$w/r.txt"
rm -f "$w/8bit.eml" "$w/out.eml"
