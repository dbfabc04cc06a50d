#!/usr/bin/env bash
# Debian packages the test suite drives for real: Chromium (browser tests), MariaDB
# (the production database engine) and nginx (the load balancer in front of several app hosts,
# tests/e2e/test_multihost.py). Installed when missing; needs root, as CI has.
set -euo pipefail
missing=()
[ -x /usr/lib/chromium/chromium ] || missing+=(chromium)
command -v mariadbd >/dev/null 2>&1 || missing+=(mariadb-server)
[ -x /usr/sbin/nginx ] || missing+=(nginx-light)
# A CJK font so pages and generated test images render Chinese text.
[ -d /usr/share/fonts/opentype/noto ] || missing+=(fonts-noto-cjk)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "The tests need these Debian packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing ${missing[*]} from Debian's packages…"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The Android app's build tools (aapt, apksigner, zipalign, JUnit; Debian 11's android.jar and dx).
"$(dirname "$0")/ensure-android-toolchain.sh"
