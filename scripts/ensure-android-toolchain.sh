#!/usr/bin/env bash
# The Android app's build tools, from Debian's packages only (no Gradle, no Google hosts).
# Debian 12 has aapt, apksigner, zipalign, JUnit 4 and the real org.json; it has no platform
# android.jar and no dexer, which Debian 11 has (libandroid-23-java, dalvik-exchange). Those two are
# fetched with apt through a PRIVATE state and sources list (the system's sources stay untouched)
# and unpacked into a private folder. Idempotent: a second run only checks that the files are there.
# Prints the folder holding android.jar and dx.jar as its last line when called with --print-dir.
set -euo pipefail

DIR=${DDT_ANDROID_TOOLCHAIN:-}
if [ -z "$DIR" ]; then
  if [ "$(id -u)" = 0 ]; then DIR=/var/cache/daidaitong-android; else DIR=${XDG_CACHE_HOME:-$HOME/.cache}/daidaitong-android; fi
fi
ANDROID_JAR=$DIR/root/usr/lib/android-sdk/platforms/android-23/android.jar
DX_JAR=$DIR/root/usr/share/java/com.android.dx.jar

# 1. Debian 12's own packages.
missing=()
command -v aapt >/dev/null 2>&1 || missing+=(aapt)
command -v apksigner >/dev/null 2>&1 || missing+=(apksigner)
command -v zipalign >/dev/null 2>&1 || missing+=(zipalign)
[ -f /usr/share/java/junit4.jar ] || missing+=(junit4)
[ -f /usr/share/java/com.android.json.jar ] || missing+=(libandroid-json-java)
command -v javac >/dev/null 2>&1 || missing+=(default-jdk-headless)
command -v keytool >/dev/null 2>&1 || missing+=(default-jdk-headless)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "The Android build needs these Debian packages: ${missing[*]}. Install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
  fi
  echo "Installing ${missing[*]} from Debian's packages…" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Debian 11's android.jar (API 23) and dx, into $DIR.
if [ ! -f "$ANDROID_JAR" ] || [ ! -f "$DX_JAR" ]; then
  # The Debian archive the machine already uses (deb822 or one-line sources), else deb.debian.org.
  mirror=$(grep -hsE '^(URIs:|deb )' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list /etc/apt/sources.list 2>/dev/null \
    | grep -oE 'https?://[^ ]+/debian/?( |$)' | grep -v security | head -n1 | tr -d ' ' || true)
  mirror=${mirror:-http://deb.debian.org/debian}
  mirror=${mirror%/}
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
  work=$DIR/apt
  fetched=
  # Debian 11 on the machine's mirror; once it has left the mirrors, on archive.debian.org.
  for m in "$mirror" http://archive.debian.org/debian; do
    echo "Fetching libandroid-23-java and dalvik-exchange from Debian 11 ($m) into $DIR…" >&2
    rm -rf "$work"
    mkdir -p "$work/etc/preferences.d" "$work/state/lists/partial" "$work/cache/archives/partial" "$work/debs" "$DIR/root"
    echo "deb [signed-by=$keyring] $m bullseye main" > "$work/etc/sources.list"
    : > "$work/state/status"
    apt_private=(-o Dir::Etc::SourceList="$work/etc/sources.list" -o Dir::Etc::SourceParts=/dev/null
      -o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts="$work/etc/preferences.d"
      -o Dir::State="$work/state" -o Dir::State::status="$work/state/status" -o Dir::Cache="$work/cache"
      -o APT::Architecture="$(dpkg --print-architecture)" -o Debug::NoLocking=1 -o APT::Sandbox::User="$(id -un)" -qq)
    if apt-get "${apt_private[@]}" update \
      && (cd "$work/debs" && apt-get "${apt_private[@]}" download dalvik-exchange libandroid-23-java); then
      fetched=1
      break
    fi
  done
  [ -n "$fetched" ] || { echo "Android toolchain: could not fetch Debian 11's dalvik-exchange and libandroid-23-java" >&2; exit 1; }
  for deb in "$work"/debs/*.deb; do dpkg-deb -x "$deb" "$DIR/root"; done
  rm -rf "$work/state/lists" "$work/cache"
fi
for f in "$ANDROID_JAR" "$DX_JAR"; do
  [ -f "$f" ] || { echo "Android toolchain: $f missing after the fetch" >&2; exit 1; }
done
if [ "${1:-}" = --print-dir ]; then echo "$DIR"; fi
