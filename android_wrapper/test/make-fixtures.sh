#!/usr/bin/env bash
# Real APKs for the update verification tests (UpdateVerifierTest, UpdateApkManifestTest), made from the
# app just built: `make-fixtures.sh BUILD_DIR`, called by `make test-android` with
#   ANDROID_APK (the signed app), ANDROID_KEYSTORE, ANDROID_KEYSTORE_PASSWORD, ANDROID_KEY_ALIAS
#   (ANDROID_KEY_PASSWORD if the key's differs) — the key that signed it —, ANDROID_JAR, and optionally
#   AAPT, APKSIGNER, ZIPALIGN, FIXTURES_DIR (default BUILD_DIR/fixtures).
# Writes into FIXTURES_DIR:
#   newer.apk      same package, same key, versionCode + 1            → accepted
#   stranger.apk   same package, versionCode + 1, a stranger's key    → wrong_signer
#   older.apk      same package, same key, versionCode - 1            → not_newer
#   other-package.apk  package com.daidaitong.stranger, same key, + 1 → wrong_package
#   tampered.apk   newer.apk with one entry's bytes changed after signing → bad_signature
#   unsigned-entry.apk newer.apk with an entry added after signing   → unsigned
#   v2-only.apk    newer.apk signed by our key with the v2 scheme only → unsigned (keep v1: minSdk 23)
#   expected.txt   "file package versionCode" for each, as `aapt dump xmltree` reads them (the
#                  binary manifest reader's independent oracle), "own …" for the app itself, and
#                  "own-signer"/"stranger-signer" SHA-256 as apksigner prints them.
set -euo pipefail
BUILD_DIR=${1:?usage: make-fixtures.sh BUILD_DIR}
HERE=$(cd "$(dirname "$0")/.." && pwd)
: "${ANDROID_APK:?}" "${ANDROID_KEYSTORE:?}" "${ANDROID_KEYSTORE_PASSWORD:?}" "${ANDROID_KEY_ALIAS:?}" "${ANDROID_JAR:?}"
AAPT=${AAPT:-aapt}
APKSIGNER=${APKSIGNER:-apksigner}
ZIPALIGN=${ZIPALIGN:-zipalign}
F=${FIXTURES_DIR:-$BUILD_DIR/fixtures}
MANIFEST=${ANDROID_MANIFEST:-$HERE/AndroidManifest.xml}
RES=${ANDROID_RES:-$HERE/res}
export DDT_FIX_KS_PASS=$ANDROID_KEYSTORE_PASSWORD DDT_FIX_KEY_PASS=${ANDROID_KEY_PASSWORD:-$ANDROID_KEYSTORE_PASSWORD}
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
rm -rf "$F"
mkdir -p "$F"

# "package versionCode" as aapt reads the binary manifest (xmltree: manifest_of prints versionCode 0 as '').
manifest_of() {
  local t pkg hex
  t=$("$AAPT" dump xmltree "$1" AndroidManifest.xml)
  pkg=$(sed -n 's/^ *A: package="\([^"]*\)".*/\1/p' <<<"$t" | head -n1)
  hex=$(sed -n 's/^ *A: android:versionCode(0x0101021b)=(type 0x1[01])\(0x[0-9a-f]*\).*/\1/p' <<<"$t" | head -n1)
  echo "$pkg $((hex))"
}
signer_of() {
  "$APKSIGNER" verify --print-certs "$1" | sed -n 's/^Signer #1 certificate SHA-256 digest: //p' | head -n1
}
read -r PKG CUR <<<"$(manifest_of "$ANDROID_APK")"
[ -n "$CUR" ] || { echo "make-fixtures: cannot read the app's versionCode" >&2; exit 1; }
# The app's own code goes into every fixture (jar is the JDK's, already needed for javac).
(cd "$W" && jar xf "$ANDROID_APK" classes.dex)

# An unsigned, aligned package of our manifest and resources with the given version code (+ aapt options).
# The code is written into a copy of the manifest (aapt's --version-code skips 0, the "lower" of version 1).
package() {
  local name=$1 code=$2; shift 2
  sed "s|<manifest |<manifest android:versionCode=\"$code\" android:versionName=\"fixture-$code\" |" \
    "$MANIFEST" > "$W/$name.xml"
  mkdir -p "$W/$name.m" && mv "$W/$name.xml" "$W/$name.m/AndroidManifest.xml"
  "$AAPT" package -f -M "$W/$name.m/AndroidManifest.xml" -S "$RES" -I "$ANDROID_JAR" --min-sdk-version 23 \
    --target-sdk-version 28 "$@" -F "$W/$name.unaligned.apk" >/dev/null
  (cd "$W" && "$AAPT" add -f "$name.unaligned.apk" classes.dex >/dev/null)
  "$ZIPALIGN" -f -p 4 "$W/$name.unaligned.apk" "$W/$name.aligned.apk"
}
sign_ours() {
  "$APKSIGNER" sign --ks "$ANDROID_KEYSTORE" --ks-key-alias "$ANDROID_KEY_ALIAS" --ks-pass env:DDT_FIX_KS_PASS \
    --key-pass env:DDT_FIX_KEY_PASS --min-sdk-version 23 --out "$F/$1.apk" "$W/$1.aligned.apk"
}

package newer $((CUR + 1))
sign_ours newer
package older $((CUR - 1))
sign_ours older
package other-package $((CUR + 1)) --rename-manifest-package com.daidaitong.stranger
sign_ours other-package

keytool -genkeypair -keystore "$W/stranger.p12" -storetype PKCS12 -storepass stranger -keypass stranger \
  -alias stranger -keyalg RSA -keysize 2048 -validity 3650 -dname "CN=Stranger, O=Elsewhere" >/dev/null 2>&1
cp "$W/newer.aligned.apk" "$W/stranger.aligned.apk"
"$APKSIGNER" sign --ks "$W/stranger.p12" --ks-key-alias stranger --ks-pass pass:stranger --key-pass pass:stranger \
  --min-sdk-version 23 --out "$F/stranger.apk" "$W/stranger.aligned.apk"

# Our key, but only the v2 scheme (what apksigner does by default for minSdk 24 and later): the
# verifier reads v1 signatures, so such a release must be refused, never trusted unchecked.
cp "$W/newer.aligned.apk" "$W/v2-only.aligned.apk"
"$APKSIGNER" sign --ks "$ANDROID_KEYSTORE" --ks-key-alias "$ANDROID_KEY_ALIAS" --ks-pass env:DDT_FIX_KS_PASS \
  --key-pass env:DDT_FIX_KEY_PASS --min-sdk-version 23 --v1-signing-enabled false --v2-signing-enabled true \
  --out "$F/v2-only.apk" "$W/v2-only.aligned.apk"

# After signing: one entry's content changed (its digest in the v1 manifest no longer matches) …
cp "$F/newer.apk" "$F/tampered.apk"
printf 'tampered' >> "$W/classes.dex"
(cd "$W" && "$AAPT" remove "$F/tampered.apk" classes.dex >/dev/null && "$AAPT" add "$F/tampered.apk" classes.dex >/dev/null)
# … and an entry added that no signature covers.
cp "$F/newer.apk" "$F/unsigned-entry.apk"
echo "not signed" > "$W/extra.txt"
(cd "$W" && "$AAPT" add "$F/unsigned-entry.apk" extra.txt >/dev/null)
rm -f "$F"/*.idsig

{
  echo "own $(manifest_of "$ANDROID_APK")"
  echo "own-signer $(signer_of "$ANDROID_APK")"
  echo "stranger-signer $(signer_of "$F/stranger.apk")"
  for f in newer stranger older other-package tampered unsigned-entry v2-only; do
    echo "$f.apk $(manifest_of "$F/$f.apk")"
  done
} > "$F/expected.txt"
echo "make-fixtures: $(ls "$F" | wc -l) files in $F (app $PKG versionCode $CUR)"
