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
code=$(sed -n "s/^package: .* versionCode='\([0-9]*\)'.*/\1/p" <<<"$badging")
# The build's output-metadata.json (what `flask android publish` reads) describes this very file.
meta=$(dirname "$APK")/output-metadata.json
if [ -f "$meta" ]; then
  grep -q "\"size\":$(stat -c %s "$APK")," "$meta" || fail "$meta: size is not the APK's"
  grep -q "\"sha256\":\"$(sha256sum "$APK" | cut -d' ' -f1)\"" "$meta" || fail "$meta: sha256 is not the APK's"
  grep -q "\"version_code\":$code," "$meta" || fail "$meta: version_code is not the APK's ($code)"
  grep -q "\"package\":\"$PACKAGE\"" "$meta" || fail "$meta: package is not $PACKAGE"
fi
echo "android-check: $APK verifies, is aligned, $PACKAGE versionCode $code with its permissions and launcher"
