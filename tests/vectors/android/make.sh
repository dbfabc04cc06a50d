#!/usr/bin/env bash
# The small APKs the server's tests publish (tests/integration/test_android_releases.py and
# tests/unit/test_apk.py): a manifest and nothing else, built with Debian's aapt against API 23's
# android.jar (scripts/ensure-android-toolchain.sh), signed (v1 and v2) by apksigner with a throwaway
# key made here; officer-4-unsigned.apk is left unsigned. The server only checks that a signature is
# there; the phone checks the signer. Run again only to change them; the APKs are committed.
set -euo pipefail
cd "$(dirname "$0")"
ANDROID_JAR=${ANDROID_JAR:-$(../../../scripts/ensure-android-toolchain.sh --print-dir | tail -n1)/root/usr/lib/android-sdk/platforms/android-23/android.jar}
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
make_apk() {  # OUT PACKAGE VERSION_CODE VERSION_NAME
  cat >"$work/AndroidManifest.xml" <<XML
<?xml version="1.0" encoding="utf-8"?>
<manifest xmlns:android="http://schemas.android.com/apk/res/android"
    package="$2" android:versionCode="$3" android:versionName="$4">
    <uses-sdk android:minSdkVersion="23" android:targetSdkVersion="28"/>
    <application android:label="test"/>
</manifest>
XML
  aapt package -f -M "$work/AndroidManifest.xml" -I "$ANDROID_JAR" -F "$work/unsigned.apk"
  if [ "${5:-sign}" = sign ]; then
    apksigner sign --ks "$work/test.p12" --ks-pass pass:test-only --min-sdk-version 23 \
      --out "$1" "$work/unsigned.apk"
    rm -f "$1.idsig"
  else
    cp "$work/unsigned.apk" "$1"
  fi
}
keytool -genkeypair -keystore "$work/test.p12" -storetype PKCS12 -storepass test-only -alias test \
  -keyalg RSA -keysize 2048 -validity 3650 -dname "CN=Daidaitong test fixtures" >/dev/null 2>&1
make_apk officer-1.apk com.daidaitong.officer 1 0.1.0
make_apk officer-2.apk com.daidaitong.officer 2 0.2.0
make_apk officer-3.apk com.daidaitong.officer 3 "0.3.0 测试"
make_apk other-package.apk com.example.other 9 9.0
make_apk officer-4-unsigned.apk com.daidaitong.officer 4 0.4.0 unsigned
