#!/usr/bin/env bash
# Installs the Debian packages the tests need: real servers for the conformance and fault
# suites, and Chromium for the browser end-to-end tests.
# Idempotent: a package whose command is already on PATH is skipped, and `apt-get update`
# runs only when something is missing. Add a package as one "command package" line below.
set -euo pipefail

# command-to-check  debian-package
PACKAGES='
sshd       openssh-server
ssh-keygen openssh-client
rclone     rclone
apache2    apache2
htpasswd   apache2-utils
chromium   chromium
'

missing=()
while read -r cmd pkg; do
  [ -z "$cmd" ] && continue
  # sbin is not on every user's PATH; sshd and apache2 live there.
  if PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1; then
    echo "ok       $pkg ($cmd found)"
  else
    echo "missing  $pkg ($cmd not found)"
    missing+=("$pkg")
  fi
done <<<"$PACKAGES"

if [ "${#missing[@]}" -eq 0 ]; then
  echo "nothing to install"
  exit 0
fi

SUDO=''
if [ "$(id -u)" -ne 0 ]; then SUDO='sudo'; fi

echo "running apt-get update"
$SUDO apt-get update
echo "installing: ${missing[*]}"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}"
echo "installed: ${missing[*]}"
