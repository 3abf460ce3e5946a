#!/usr/bin/env bash
# Header-level benchmark: ximf stamp and ximf verify on a 4 KiB and a 64 MiB message, measured in
# the same run as the peer formail (procmail's header editor: adding fields, extracting a field)
# and cp/cat (the copy floor). Prints hyperfine tables, the ratios and ximf's peak RSS.
# Needs hyperfine, formail (procmail) and /usr/bin/time; run scripts/setup.sh first.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
ximf=$PWD/target/release/ximf
# The stamped 64 MiB message is a few hundred bytes over the default --max-size.
big=(--max-size $((65 << 20)))
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The binary runs from a fresh copy, as an installed one would: the file the linker wrote in
# place (target/release/ximf) starts some 0.5 ms slower on this machine (more page faults).
cp "$ximf" "$work/ximf"
ximf=$work/ximf

make_msg() { # total_size_bytes file: the sample's header section, then body text up to the size
  sed -n '1,/^$/p' testdata/messages/plain.eml > "$2"
  local body=$(( $1 - $(stat -c %s "$2") ))
  # Process substitution: yes dies of SIGPIPE outside pipefail's view.
  head -c "$body" < <(yes 'The quick brown fox jumps over the lazy dog, 0123456789 times over and again.') >> "$2"
}
make_msg 4096 "$work/4k.eml"
make_msg $((64 << 20)) "$work/64m.eml"
sets=(--set X-XIMF-Security-Classification=example-confidential --set X-XIMF-Primary-Precedence=priority)
fields=(-A 'X-XIMF-NAME: Example' -A 'X-XIMF-Version: 2.0'
  -A 'X-XIMF-Security-Policy-Identifier: 1.3.6.1.4.1.32473.1.1'
  -A 'X-XIMF-Security-Classification: example-confidential'
  -A 'X-XIMF-Security-Classification-Identifier: 3' -A 'X-XIMF-Primary-Precedence: priority')

median() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['results'][int(sys.argv[2])]['median'])" "$@"; }

# -N: no intermediate shell, so small timings are not shell noise. formail reads stdin only, so
# it runs under `sh -c` and carries one extra sh start (about 1 ms) in its figures.
for size in 4k 64m; do
  msg=$work/$size.eml
  "$ximf" stamp "${sets[@]}" "$msg" > "$work/$size.stamped"
  echo "== $size: stamp"
  hyperfine -N -w 3 -m 20 --export-json "$work/s.json" \
    "$ximf stamp ${sets[*]} $msg -o $work/out.eml" \
    "sh -c \"formail ${fields[*]@Q} < $msg > $work/out2.eml\"" \
    "cp $msg $work/out2.eml"
  x=$(median "$work/s.json" 0); f=$(median "$work/s.json" 1); c=$(median "$work/s.json" 2)
  printf 'RATIO %s stamp: ximf/formail = %.2f  ximf/cp = %.2f\n' "$size" \
    "$(python3 -c "print($x/$f)")" "$(python3 -c "print($x/$c)")"
  echo "== $size: header verify"
  hyperfine -N -w 3 -m 20 --export-json "$work/v.json" \
    "$ximf ${big[*]} verify $work/$size.stamped" \
    "sh -c \"formail -x X-XIMF-Security-Classification < $work/$size.stamped\"" \
    "cat $work/$size.stamped"
  x=$(median "$work/v.json" 0); f=$(median "$work/v.json" 1); c=$(median "$work/v.json" 2)
  printf 'RATIO %s verify: ximf/formail-x = %.2f  ximf/cat = %.2f\n' "$size" \
    "$(python3 -c "print($x/$f)")" "$(python3 -c "print($x/$c)")"
done
for op in stamp verify; do
  if [ $op = stamp ]; then cmd=("$ximf" stamp "${sets[@]}" "$work/64m.eml" -o "$work/out.eml")
  else cmd=("$ximf" "${big[@]}" verify "$work/64m.stamped"); fi
  rss=$( { /usr/bin/time -f '%M' "${cmd[@]}" > /dev/null; } 2>&1 | tail -1)
  echo "PEAK-RSS 64m $op: $((rss / 1024)) MiB (message 64 MiB)"
done
