#!/usr/bin/env bash
# Regenerates the S/MIME test PKI under testdata/keys/smime/ (committed; tests never run this).
# Validity 2020-01-01..2120-01-01 except eve (expired 2021-01-01), so every test may use a fixed
# --now of 2026-11-29T00:00:00Z (1795910400).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=testdata/keys/smime
mkdir -p "$OUT"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
START=20200101000000Z
END=21200101000000Z

cat > "$WORK/ext.cnf" <<'CNF'
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[rsa_user]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = emailProtection
subjectAltName = email:${ENV::EMAIL}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
[ec_user]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyAgreement
extendedKeyUsage = emailProtection
subjectAltName = email:${ENV::EMAIL}
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
CNF

# issue NAME SUBJECT ISSUER EXT START END   (key already in $OUT/NAME.key)
issue() {
  local name=$1 subj=$2 issuer=$3 ext=$4 start=$5 end=$6
  openssl req -new -key "$OUT/$name.key" -subj "$subj" -out "$WORK/$name.csr"
  cat > "$WORK/ca.cnf" <<CNF
[ca]
default_ca = d
[d]
database = $WORK/index.txt
new_certs_dir = $WORK
serial = $WORK/serial
default_md = sha256
policy = p
unique_subject = no
copy_extensions = none
[p]
commonName = supplied
CNF
  touch "$WORK/index.txt"
  [ -f "$WORK/serial" ] || echo 1000 > "$WORK/serial"
  local signer=(-keyfile "$OUT/$issuer.key" -cert "$OUT/$issuer.crt")
  if [ "$issuer" = "$name" ]; then signer=(-keyfile "$OUT/$issuer.key" -selfsign); fi
  EMAIL=${EMAIL:-none@example.org} openssl ca -batch -notext -config "$WORK/ca.cnf" \
    -extfile "$WORK/ext.cnf" -extensions "$ext" -startdate "$start" -enddate "$end" \
    "${signer[@]}" -in "$WORK/$name.csr" -out "$OUT/$name.crt" 2>"$WORK/ca.log" || { cat "$WORK/ca.log"; exit 1; }
}

rsa() { openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:"$2" -out "$OUT/$1.key" 2>/dev/null; }
ec() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:"$2" -pkeyopt ec_param_enc:named_curve -out "$OUT/$1.key"; }

rsa root 3072;   issue root "/CN=ximf test root CA" root ca_ext $START $END
rsa inter 2048;  issue inter "/CN=ximf test intermediate CA" root ca_ext $START $END
rsa alice 2048;  EMAIL=alice@example.org issue alice "/CN=Alice/emailAddress=alice@example.org" inter rsa_user $START $END
rsa bob 2048;    EMAIL=bob@example.org issue bob "/CN=Bob/emailAddress=bob@example.org" inter rsa_user $START $END
ec carol P-256;  EMAIL=carol@example.org issue carol "/CN=Carol" inter ec_user $START $END
ec dave P-384;   EMAIL=dave@example.org issue dave "/CN=Dave" inter ec_user $START $END
rsa eve 2048;    EMAIL=eve@example.org issue eve "/CN=Eve (expired)" inter rsa_user $START 20210101000000Z
rsa walter 1024; EMAIL=walter@example.org issue walter "/CN=Walter (RSA-1024)" inter rsa_user $START $END
rsa rogue 2048;  issue rogue "/CN=rogue CA (not trusted)" rogue ca_ext $START $END
rsa mallory 2048; EMAIL=mallory@example.org issue mallory "/CN=Mallory" rogue rsa_user $START $END
# The archive mailbox the corporate example type copies (tests/policy.rs encrypts to it).
rsa archive 2048; EMAIL=archive@example.org issue archive "/CN=Archive/emailAddress=archive@example.org" inter rsa_user $START $END
for n in alice bob carol dave eve walter mallory; do
  iss=inter; [ $n = mallory ] && iss=rogue
  cat "$OUT/$n.crt" "$OUT/$iss.crt" > "$OUT/$n.chain.pem"
done
# PKCS#12 for gpgsm imports (password "test"). gpgsm 2.2's PKCS#12 parser does not read PBES2,
# so these use the legacy PBE-SHA1-3DES: test-only files, never a model for real keys.
for n in alice bob carol; do
  openssl pkcs12 -export -inkey "$OUT/$n.key" -in "$OUT/$n.crt" -certfile "$OUT/inter.crt" \
    -passout pass:test -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 -out "$OUT/$n.p12"
done
# gpgsm trustlist line for the root (fingerprint with colons + S).
openssl x509 -in "$OUT/root.crt" -noout -fingerprint -sha1 | sed 's/.*=//' > "$OUT/root.fpr"
