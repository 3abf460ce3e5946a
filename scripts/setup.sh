#!/usr/bin/env bash
# Installs what ximf needs on a fresh Debian machine: build deps and the real peer tools the
# tests drive (openssl, gpgsm, gpg, sq, xmllint, mutt, procmail, Sieve, Postfix, hyperfine).
# Idempotent: packages already present are skipped by apt.
set -euo pipefail
# capnproto: sequoia-gpg-agent's sequoia-ipc runs `capnp` in its build script (issue 10).
pkgs=(pkg-config libssl-dev libclang-dev clang capnproto
      openssl gnupg gpgsm sq libxml2-utils mutt procmail
      dovecot-core dovecot-sieve postfix hyperfine time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  # Postfix asks for a mail name during install: preseed a local-only configuration.
  echo "postfix postfix/main_mailer_type select Local only" | $SUDO debconf-set-selections
  echo "postfix postfix/mailname string localhost" | $SUDO debconf-set-selections
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
