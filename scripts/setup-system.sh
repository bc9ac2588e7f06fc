#!/usr/bin/env bash
# Installs the Debian packages the tests need: real servers for the conformance and fault
# suites, and Chromium for the browser end-to-end tests. `npm test` runs it first, so on a
# fresh machine `npm ci && npm test` is the whole set-up.
#
# Idempotent and quick when nothing is missing (one line, no apt-get). When something is
# missing it installs it if it can without asking: as root, or with sudo that needs no
# password. Otherwise it stops at once and prints the one command to run (it never waits at
# a password prompt: a test run has no one to type it).
# Add a package as one "command package" line below. SHARDVAULT_SYSTEM_PACKAGES replaces
# the list (the script's own test uses it).
set -euo pipefail

# command-to-check  debian-package
PACKAGES="${SHARDVAULT_SYSTEM_PACKAGES:-
sshd       openssh-server
ssh-keygen openssh-client
rclone     rclone
apache2    apache2
htpasswd   apache2-utils
chromium   chromium
strace     strace
litmus     litmus
}"

missing=()
while read -r cmd pkg; do
  [ -z "$cmd" ] && continue
  # sbin is not on every user's PATH; sshd and apache2 live there.
  if ! PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null 2>&1; then
    echo "missing  $pkg ($cmd not found)"
    missing+=("$pkg")
  fi
done <<<"$PACKAGES"

if [ "${#missing[@]}" -eq 0 ]; then
  echo "setup-system: the packages the tests need are installed"
  exit 0
fi

here="$(cd "$(dirname "$0")" && pwd)"
if [ "$(id -u)" -eq 0 ]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  SUDO=(sudo -n)
else
  echo "setup-system: the tests need these Debian packages: ${missing[*]}" >&2
  echo "setup-system: installing them needs root; run this once, then the tests again:" >&2
  echo "  sudo bash $here/setup-system.sh" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "setup-system: no apt-get here; install these packages (Debian names) with your system's tools: ${missing[*]}" >&2
  exit 1
fi

echo "running apt-get update"
"${SUDO[@]}" apt-get update
echo "installing: ${missing[*]}"
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
echo "installed: ${missing[*]}"
