#!/usr/bin/env bash
# make test-android: builds the APK, checks it (scripts/android-check.sh), makes the update fixtures
# (android_wrapper/test/make-fixtures.sh, if present) and runs every JUnit test class under
# android_wrapper/test/ on the JVM with JUnitCore. The app's pure classes (protocol, origin policy,
# trail storage, update verification) run there without android.jar on the runtime classpath; the
# real org.json is Debian's libandroid-json-java (android.jar's is stubs).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/android-lock.sh
. scripts/android-lock.sh
start=$(date +%s%N)
scripts/android-build.sh
OUT=$PWD/android_wrapper/build
# shellcheck disable=SC1091
. "$OUT/build.env"
scripts/android-check.sh "$ANDROID_APK"

JUNIT_CP=/usr/share/java/junit4.jar:/usr/share/java/hamcrest-core.jar
JSON_JAR=/usr/share/java/com.android.json.jar
FIXTURES=$OUT/fixtures

if [ -x android_wrapper/test/make-fixtures.sh ] || [ -f android_wrapper/test/make-fixtures.sh ]; then
  if [ "$SIGNING_KIND" = debug ]; then
    ks_pass=android key_pass=android
  else
    ks_pass=$ANDROID_KEYSTORE_PASSWORD key_pass=${ANDROID_KEY_PASSWORD:-$ANDROID_KEYSTORE_PASSWORD}
  fi
  ANDROID_APK=$ANDROID_APK ANDROID_JAR=$ANDROID_JAR DX_JAR=$DX_JAR \
  ANDROID_KEYSTORE=$SIGNING_KEYSTORE ANDROID_KEY_ALIAS=$SIGNING_KEY_ALIAS \
  ANDROID_KEYSTORE_PASSWORD=$ks_pass ANDROID_KEY_PASSWORD=$key_pass \
  AAPT=aapt APKSIGNER=apksigner ZIPALIGN=zipalign FIXTURES_DIR=$FIXTURES \
    bash android_wrapper/test/make-fixtures.sh "$OUT"
fi

rm -rf "$OUT/test-classes"
mkdir -p "$OUT/test-classes"
mapfile -t sources < <(find android_wrapper/test -name '*.java' | sort)
[ ${#sources[@]} -gt 0 ] || { echo "test-android: no JUnit tests under android_wrapper/test" >&2; exit 1; }
# Compiling may see android.jar (after the real org.json); running does not.
javac -nowarn -encoding UTF-8 -d "$OUT/test-classes" -cp "$OUT/classes:$JUNIT_CP:$JSON_JAR:$ANDROID_JAR" "${sources[@]}"
mapfile -t classes < <(printf '%s\n' "${sources[@]}" | grep 'Test\.java$' | sed -e 's#^android_wrapper/test/##' -e 's#\.java$##' -e 's#/#.#g' | sort)

log=$OUT/junit.log
set +e
java -cp "$OUT/test-classes:$OUT/classes:$JUNIT_CP:$JSON_JAR" \
  -Dprotocol.dir="$PWD/android_wrapper/protocol" -Dfixtures.dir="$FIXTURES" -Dapk.path="$ANDROID_APK" \
  -Dandroid.jar="$ANDROID_JAR" -Dsrc.dir="$PWD/android_wrapper/src" \
  org.junit.runner.JUnitCore "${classes[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
ok=$(sed -n 's/^OK (\([0-9]*\) tests\{0,1\})$/\1/p' "$log" | tail -n1)
if [ "$status" = 0 ] && [ -n "$ok" ]; then
  passed=$ok failed=0
else
  run=$(sed -n 's/^Tests run: \([0-9]*\), *Failures: \([0-9]*\).*/\1/p' "$log" | tail -n1)
  failed=$(sed -n 's/^Tests run: \([0-9]*\), *Failures: \([0-9]*\).*/\2/p' "$log" | tail -n1)
  run=${run:-0} failed=${failed:-1}
  passed=$(( run - failed ))
fi
echo "JUnit (${#classes[@]} classes: ${classes[*]##*.})"
echo "$passed passed, $failed failed"
ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "test-android finished in ${ms} ms"
[ "$status" = 0 ] && [ "$failed" = 0 ]
