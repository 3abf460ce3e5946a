#!/usr/bin/env bash
# Regenerates the made seeds of fuzz/seeds/ (committed, so fuzzing needs none of these tools):
#   cms_parse/       CMS from `openssl cms` with the S/MIME test PKI: detached and opaque
#                    SignedData (RSA, RSA-PSS, ECDSA; DER and streamed BER), EnvelopedData
#                    (RSA v1.5, OAEP, ECDH), AuthEnvelopedData (AES-GCM), a certs-only bundle
#   pgp_verify/      OpenPGP from `sq` and `gpg` with the OpenPGP test keys: detached signatures
#                    (armored, binary), inline and cleartext-signed messages, messages
#                    encrypted to bob (signed or not, compressed or not)
#   message_verify/  whole messages from `ximf protect`: S/MIME and OpenPGP signed, signed and
#                    encrypted, without header protection, in LF and CRLF
# Detached signatures are made over seeds/signed-part.txt, the part the targets put first in
# their multipart/signed template. Needs openssl, sq (0.27), gpg and a built ximf
# (cargo build).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
k="$root/testdata/keys"
part="$here/signed-part.txt"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# --- CMS -------------------------------------------------------------------------------------
c="$here/cms_parse"
mkdir -p "$c"
sign() { # NAME SIGNER ARGS...
  local name="$1" who="$2"
  shift 2
  openssl cms -sign -binary -in "$part" -signer "$k/smime/$who.crt" -inkey "$k/smime/$who.key" \
    -certfile "$k/smime/inter.crt" -md sha256 -outform DER -out "$c/$name.der" "$@"
}
sign signed-detached-rsa alice
sign signed-detached-pss alice -keyopt rsa_padding_mode:pss
sign signed-detached-ecdsa carol
sign signed-opaque-rsa alice -nodetach
sign signed-opaque-ber alice -nodetach -stream
sign signed-detached-ber carol -stream
sign signed-nocerts alice -nocerts
encrypt() { # NAME RECIPIENT ARGS...
  local name="$1" who="$2"
  shift 2
  openssl cms -encrypt -binary -in "$part" -recip "$k/smime/$who.crt" -outform DER \
    -out "$c/$name.der" "$@"
}
encrypt enveloped-rsa-aes256 bob -aes256
encrypt enveloped-oaep-aes128 bob -aes128 -keyopt rsa_padding_mode:oaep
encrypt enveloped-ecdh carol -aes256
encrypt auth-enveloped-gcm bob -aes-256-gcm
encrypt enveloped-ber bob -aes256 -stream
openssl crl2pkcs7 -nocrl -certfile "$k/smime/alice.chain.pem" -outform DER -out "$c/certs-only.der"

# --- OpenPGP ---------------------------------------------------------------------------------
p="$here/pgp_verify"
t="2026-05-01T00:00:00Z" # before the targets' clock (2026-06-01)
mkdir -p "$p"
sq sign --time "$t" --detached --signer-key "$k/pgp/alice.key" "$part" > "$p/detached-alice.asc"
sq sign --time "$t" --detached --binary --signer-key "$k/pgp/bob.key" "$part" > "$p/detached-bob.sig"
sq sign --time "$t" --signer-key "$k/pgp/alice.key" "$part" > "$p/inline-signed.asc"
sq sign --time "$t" --cleartext-signature --signer-key "$k/pgp/alice.key" "$part" > "$p/cleartext.asc"
sq encrypt --time "$t" --recipient-cert "$k/pgp/bob.cert" --compression none "$part" > "$p/encrypted.asc"
sq encrypt --time "$t" --binary --recipient-cert "$k/pgp/bob.cert" --compression zip "$part" \
  > "$p/encrypted-zip.pgp"
# Signed and encrypted in one OpenPGP message (RFC 3156 §6.2): sq dates such a signature now
# whatever --time says, so gpg makes these, at a faked time.
export GNUPGHOME="$tmp/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg -q --batch --import "$k/pgp/alice.key" "$k/pgp/bob.key" 2>/dev/null
g=(gpg -q --batch --yes --faked-system-time 20260501T000000! --trust-model always --armor)
"${g[@]}" -u alice@example.org -r bob@example.org --sign --encrypt -o "$p/encrypted-signed.asc" "$part"
"${g[@]}" -u bob@example.org -r alice@example.org -r bob@example.org --sign --encrypt \
  -o "$p/encrypted-two.asc" "$part"
"${g[@]}" -u alice@example.org --compress-algo zlib -r bob@example.org --sign --encrypt \
  -o "$p/encrypted-signed-zlib.asc" "$part"
gpgconf --kill all 2>/dev/null || true

# --- Messages --------------------------------------------------------------------------------
m="$here/message_verify"
mkdir -p "$m"
ximf="$root/target/debug/ximf"
[ -x "$ximf" ] || (cd "$root" && cargo build -q --bin ximf)
now="2026-06-01T00:00:00Z"
msg="$root/testdata/messages/plain.eml"
protect() { # NAME ARGS...
  local name="$1"
  shift
  "$ximf" --now "$now" protect "$@" "$msg" > "$m/$name.eml"
  sed 's/$/\r/' "$m/$name.eml" > "$m/$name.crlf.eml"
}
sm=(--mechanism smime --key "$k/smime/alice.key" --cert "$k/smime/alice.chain.pem")
pg=(--mechanism openpgp --key "$k/pgp/alice.key")
protect smime-signed --sign "${sm[@]}"
protect smime-signed-encrypted --sign --encrypt "${sm[@]}" --recipient "$k/smime/bob.crt"
protect pgp-signed --sign "${pg[@]}"
protect pgp-signed-encrypted --sign --encrypt "${pg[@]}" --recipient "$k/pgp/bob.cert"
echo "seeds written under $here"
