#!/usr/bin/env bash
# Checks a built APK the way a phone's installer and the store would: its signature verifies
# (apksigner), it is aligned (zipalign -c -p 4), and `aapt dump badging` shows our package, the
# permissions the app needs and a launcher activity. Fails loudly on the first thing missing.
set -euo pipefail
APK=${1:?usage: android-check.sh APK}
PACKAGE=com.daidaitong.officer
fail() { echo "android-check: FAILED: $*" >&2; exit 1; }

apksigner verify "$APK" || fail "apksigner verify refused $APK"
zipalign -c -p 4 "$APK" || fail "$APK is not 4-byte aligned (zipalign -c -p 4)"
badging=$(aapt dump badging "$APK") || fail "aapt dump badging cannot read $APK"

grep -q "^package: name='$PACKAGE' " <<<"$badging" || fail "package is not $PACKAGE"
grep -q "^sdkVersion:'23'$" <<<"$badging" || fail "minSdkVersion is not 23"
for p in INTERNET CAMERA ACCESS_FINE_LOCATION READ_PHONE_STATE FOREGROUND_SERVICE \
         ACCESS_NETWORK_STATE REQUEST_INSTALL_PACKAGES RECEIVE_BOOT_COMPLETED; do
  grep -q "^uses-permission: name='android.permission.$p'" <<<"$badging" || fail "permission $p not requested"
done
grep -q "^launchable-activity: name='$PACKAGE.MainActivity'" <<<"$badging" || fail "no launcher activity $PACKAGE.MainActivity"
grep -q "^application: .*icon='res/" <<<"$badging" || fail "no launcher icon"
# The compiled manifest: no backup of the app's data (tokens, the queue), the camera's photo provider
# private, and the app's components as declared (name exported) — read from the binary XML.
tree=$(aapt dump xmltree "$APK" AndroidManifest.xml) || fail "aapt cannot read the manifest of $APK"
grep -q 'A: android:allowBackup([^)]*)=(type 0x12)0x0$' <<<"$tree" || fail "android:allowBackup is not false"
components=$(awk '
  /E: (activity|service|receiver|provider) / { if (el) print el, name, ex; el=$2; name=""; ex="default"; next }
  /E: application / { next }
  el && /A: android:name\(/ && name == "" { match($0, /Raw: "[^"]*"/); name=substr($0, RSTART+6, RLENGTH-7) }
  el && /A: android:exported\(/ { ex = ($0 ~ /0xffffffff$/) ? "exported" : "private" }
  END { if (el) print el, name, ex }' <<<"$tree")
grep -qx "provider .CaptureProvider private" <<<"$components" || fail "CaptureProvider is not declared private (exported=false): $components"
grep -qx "activity .MainActivity exported" <<<"$components" || fail "MainActivity is not exported (the launcher needs it)"
# A thin shell: the APK stays under 200 KB (ANDROID_MAX_APK_BYTES to change the bound).
size=$(stat -c %s "$APK")
[ "$size" -le "${ANDROID_MAX_APK_BYTES:-204800}" ] || fail "$APK is $size bytes, above ${ANDROID_MAX_APK_BYTES:-204800}: the shell is no longer thin"
code=$(sed -n "s/^package: .* versionCode='\([0-9]*\)'.*/\1/p" <<<"$badging")
# The build's output-metadata.json (the record of what was built) describes this very file.
meta=$(dirname "$APK")/output-metadata.json
if [ -f "$meta" ]; then
  grep -q "\"size\":$(stat -c %s "$APK")," "$meta" || fail "$meta: size is not the APK's"
  grep -q "\"sha256\":\"$(sha256sum "$APK" | cut -d' ' -f1)\"" "$meta" || fail "$meta: sha256 is not the APK's"
  grep -q "\"version_code\":$code," "$meta" || fail "$meta: version_code is not the APK's ($code)"
  grep -q "\"package\":\"$PACKAGE\"" "$meta" || fail "$meta: package is not $PACKAGE"
fi
echo "android-check: $APK verifies, is aligned, $PACKAGE versionCode $code with its permissions and launcher, $size bytes"
