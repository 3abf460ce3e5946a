#!/usr/bin/env bash
# Regenerates the OpenPGP test keys in testdata/keys/pgp/ (see the README there).
#
# Every key is created at a fixed instant so that the tests' fixed `now`
# (2026-06-01T00:00:00Z) falls inside the validity of the good keys, after the expiry of
# the expired key and after the revocation of the revoked key. Needs `sq` (0.27) and `gpg` (2.2).
set -euo pipefail

out="${1:-$(dirname "$0")/../testdata/keys/pgp}"
mkdir -p "$out"
cd "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

gen() { # name userid suite creation [expiry]
    local name=$1 uid=$2 suite=$3 created=$4 expires=${5:-never}
    rm -f "$name.key" "$name.rev"
    sq --force key generate --userid "$uid" --cipher-suite "$suite" \
        --creation-time "$created" --expires "$expires" \
        --export "$name.key" --rev-cert "$tmp/$name.rev"
    sq --force key extract-cert --output "$name.cert" "$name.key"
}

gen alice "Alice <alice@example.org>" cv25519 20250101T000000Z
gen bob "Bob <bob@example.org>" rsa3k 20250101T000000Z
gen expired "Expired <expired@example.org>" cv25519 20240101T000000Z 20250101T000000Z
gen revoked "Revoked <revoked@example.org>" cv25519 20250101T000000Z
gen mallory "Mallory <mallory@example.org>" cv25519 20250101T000000Z

# The revoked key: a "compromised" revocation dated before the tests' now.
sq revoke certificate --certificate revoked.key --time 20260101T000000Z \
    compromised "test key, revoked on purpose" > "$tmp/revocation.asc"
# Sequoia puts the misplaced revocation back beside the primary key when it re-reads the ring.
{ sq dearmor revoked.key; sq dearmor "$tmp/revocation.asc"; } > "$tmp/revoked.bin"
sq --force keyring merge --output "$tmp/revoked.key" "$tmp/revoked.bin"
mv "$tmp/revoked.key" revoked.key
sq --force key extract-cert --output revoked.cert revoked.key

# The weak key: RSA-1024, which sq cannot make; gpg can, at a faked creation time.
export GNUPGHOME="$tmp/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg --batch --quiet --faked-system-time 20250101T000000! --pinentry-mode loopback --passphrase '' \
    --quick-gen-key "Weak <weak@example.org>" rsa1024 sign,encr never 2>/dev/null
gpg --batch --armor --pinentry-mode loopback --passphrase '' --export-secret-keys weak@example.org > weak.key
gpg --batch --armor --export weak@example.org > weak.cert

ls -l "$PWD"
