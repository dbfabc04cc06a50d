#!/usr/bin/env bash
# make android: the officer's app as a signed, zipaligned APK, android_wrapper/build/daidaitong-officer.apk,
# with Debian's tools only: aapt package → javac → dx → aapt add → zipalign → apksigner.
# Signing: the release key when ANDROID_KEYSTORE, ANDROID_KEYSTORE_PASSWORD and ANDROID_KEY_ALIAS are set
# (ANDROID_KEY_PASSWORD too if the key's differs); otherwise a debug key made once and kept outside the
# repository (ANDROID_DEBUG_KEYSTORE, default ~/.config/daidaitong/android-debug.keystore) so that every
# build has the same signer (the app installs an update only from its own signer). A debug build is
# debuggable and accepts http:// servers on this machine or the LAN; a release build only https://.
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/android-lock.sh
. scripts/android-lock.sh
start=$(date +%s%N)
TOOLS=$(scripts/ensure-android-toolchain.sh --print-dir | tail -n1)
ANDROID_JAR=$TOOLS/root/usr/lib/android-sdk/platforms/android-23/android.jar
DX_JAR=$TOOLS/root/usr/share/java/com.android.dx.jar
SRC=android_wrapper
OUT=$PWD/$SRC/build
PACKAGE=com.daidaitong.officer

prop() { sed -n "s/^$1=//p" "$SRC/version.properties" | tr -d '\r' | tail -n1; }
VERSION_CODE=$(prop version_code)
VERSION_NAME=$(prop version_name)
[[ "$VERSION_CODE" =~ ^[1-9][0-9]{0,8}$ ]] || { echo "version.properties: version_code must be a positive integer" >&2; exit 1; }
[ -n "$VERSION_NAME" ] || { echo "version.properties: version_name missing" >&2; exit 1; }

if [ -n "${ANDROID_KEYSTORE:-}" ]; then
  : "${ANDROID_KEYSTORE_PASSWORD:?ANDROID_KEYSTORE is set: ANDROID_KEYSTORE_PASSWORD must be too}"
  : "${ANDROID_KEY_ALIAS:?ANDROID_KEYSTORE is set: ANDROID_KEY_ALIAS must be too}"
  KEYSTORE=$ANDROID_KEYSTORE KEY_ALIAS=$ANDROID_KEY_ALIAS
  export DDT_KS_PASS=$ANDROID_KEYSTORE_PASSWORD DDT_KEY_PASS=${ANDROID_KEY_PASSWORD:-$ANDROID_KEYSTORE_PASSWORD}
  KIND=release
else
  KEYSTORE=${ANDROID_DEBUG_KEYSTORE:-$HOME/.config/daidaitong/android-debug.keystore}
  KEY_ALIAS=daidaitong-debug
  export DDT_KS_PASS=android DDT_KEY_PASS=android
  KIND=debug
  if [ ! -f "$KEYSTORE" ]; then
    mkdir -p "$(dirname "$KEYSTORE")"
    echo "Making the debug signing key (once): $KEYSTORE"
    keytool -genkeypair -keystore "$KEYSTORE" -storetype PKCS12 -storepass android -keypass android \
      -alias "$KEY_ALIAS" -keyalg RSA -keysize 2048 -validity 10000 \
      -dname "CN=Daidaitong debug, O=Daidaitong" >/dev/null 2>&1
  fi
fi

rm -rf "$OUT/gen" "$OUT/classes" "$OUT/dex" "$OUT"/*.apk "$OUT"/*.idsig
mkdir -p "$OUT/gen" "$OUT/classes" "$OUT/dex"
debug_flag=()
[ "$KIND" = debug ] && debug_flag=(--debug-mode)

# 1. Resources and manifest → R.java and the unsigned package.
aapt package -f -m -J "$OUT/gen" -M "$SRC/AndroidManifest.xml" -S "$SRC/res" -I "$ANDROID_JAR" \
  --min-sdk-version 23 --target-sdk-version 28 \
  --version-code "$VERSION_CODE" --version-name "$VERSION_NAME" "${debug_flag[@]}" \
  -F "$OUT/app.unaligned.apk"
# 2. Java 8 against the API 23 platform (newer APIs only by reflection behind Build.VERSION.SDK_INT).
javac -nowarn -Xlint:-options -encoding UTF-8 -source 8 -target 8 -bootclasspath "$ANDROID_JAR" \
  -d "$OUT/classes" $(find "$SRC/src" "$OUT/gen" -name '*.java' | sort)
# 3. Dalvik bytecode.
java -jar "$DX_JAR" --dex --min-sdk-version=23 --output="$OUT/dex/classes.dex" "$OUT/classes"
# 4. Into the package.
(cd "$OUT/dex" && aapt add -f ../app.unaligned.apk classes.dex >/dev/null)
# 5. Aligned, then 6. signed (v1+v2 schemes; the password from the environment, never on the command line).
zipalign -f -p 4 "$OUT/app.unaligned.apk" "$OUT/app.aligned.apk"
apksigner sign --ks "$KEYSTORE" --ks-key-alias "$KEY_ALIAS" --ks-pass env:DDT_KS_PASS --key-pass env:DDT_KEY_PASS \
  --min-sdk-version 23 --out "$OUT/daidaitong-officer.apk" "$OUT/app.aligned.apk"
rm -f "$OUT/app.unaligned.apk" "$OUT/app.aligned.apk" "$OUT/daidaitong-officer.apk.idsig"

APK=$OUT/daidaitong-officer.apk
SIZE=$(stat -c %s "$APK")
SHA=$(sha256sum "$APK" | cut -d' ' -f1)
printf '{"package":"%s","version_code":%s,"version_name":"%s","size":%s,"sha256":"%s","signing":"%s"}\n' \
  "$PACKAGE" "$VERSION_CODE" "$VERSION_NAME" "$SIZE" "$SHA" "$KIND" > "$OUT/output-metadata.json"
# What make-fixtures.sh and the checks need to know about this build.
{
  echo "ANDROID_APK=$APK"; echo "ANDROID_JAR=$ANDROID_JAR"; echo "DX_JAR=$DX_JAR"
  echo "SIGNING_KEYSTORE=$KEYSTORE"; echo "SIGNING_KEY_ALIAS=$KEY_ALIAS"; echo "SIGNING_KIND=$KIND"
} > "$OUT/build.env"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "Built $APK: $PACKAGE $VERSION_NAME (version code $VERSION_CODE), $KIND key, $SIZE bytes ($(( (SIZE + 1023) / 1024 )) KiB), sha256 $SHA, in ${ms} ms"
