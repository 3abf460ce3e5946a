#!/usr/bin/env bash
# The main job on built-in defaults: install what is needed, build, stamp a sample message with
# the built-in "Example" profile, verify it, sign it with the test keys, verify the signature,
# and show the reports.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh >/dev/null
cargo build --release --quiet
ximf=target/release/ximf
sample=testdata/messages/plain.eml
echo "== built-in profiles"
"$ximf" profile list
echo "== ximf stamp (built-in instance Example) < $sample"
stamped=$("$ximf" stamp \
  --set X-XIMF-Security-Classification=example-confidential \
  --set X-XIMF-Privacy-Mark=example-need-to-know \
  --set X-XIMF-Primary-Precedence=priority \
  --set 'X-XIMF-Reply-Before=2026-12-01T12:00:00Z' \
  "$sample")
printf '%s\n' "$stamped" | sed -n '1,/^$/p'
echo "== ximf verify --format json"
printf '%s\n' "$stamped" | "$ximf" verify --format json
keys=testdata/keys/smime
echo "== ximf protect --sign (S/MIME, test key of alice@example.org), then verify against the test CA"
printf '%s\n' "$stamped" \
  | "$ximf" protect --sign --key "$keys/alice.key" --cert "$keys/alice.chain.pem" \
  | "$ximf" verify --ca "$keys/root.crt"
echo "== ximf verify of the unstamped sample against Example (expected: fail, exit 1)"
"$ximf" verify --instance Example "$sample" || echo "(exit $?)"
