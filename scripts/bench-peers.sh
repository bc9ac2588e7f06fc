#!/usr/bin/env bash
# Installs the tools `npm run bench` compares Shardvault with, from Debian, only when
# missing: rclone (crypt), python3-zfec (Tahoe's Reed-Solomon coder, for Debian's
# /usr/bin/python3), libgfshare-bin (gfsplit/gfcombine) and GNU time (peak RSS of a child).
# `apt-get update` runs first, and only when something is missing. A package that can't be
# installed is reported and skipped: the bench then skips that peer with a reason.
# Exit status: 0 always (a missing peer is not an error for the bench).
set -uo pipefail

have_rclone() { command -v rclone >/dev/null 2>&1; }
have_gfshare() { command -v gfsplit >/dev/null 2>&1 && command -v gfcombine >/dev/null 2>&1; }
have_zfec() { [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import zfec.easyfec' >/dev/null 2>&1; }
have_time() { [ -x /usr/bin/time ]; }

missing=()
check() { # check FUNCTION PACKAGE
  if "$1"; then
    echo "ok       $2"
  else
    echo "missing  $2"
    missing+=("$2")
  fi
}
check have_rclone rclone
check have_zfec python3-zfec
check have_gfshare libgfshare-bin
check have_time time

if [ "${#missing[@]}" -eq 0 ]; then
  echo "nothing to install"
  exit 0
fi

SUDO=''
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO='sudo'
  else
    echo "not root and no sudo: can't install ${missing[*]}; the bench will skip what is missing"
    exit 0
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "no apt-get on this system: install ${missing[*]} by hand; the bench will skip what is missing"
  exit 0
fi

echo "running apt-get update"
$SUDO apt-get update -qq || echo "apt-get update failed; trying the install anyway"
# One package at a time, so one that can't be had does not stop the others.
for pkg in "${missing[@]}"; do
  if DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "$pkg" >/dev/null; then
    echo "installed $pkg"
  else
    echo "could not install $pkg; the bench will skip it"
  fi
done
exit 0
