# Sourced by scripts/android-build.sh and android-test.sh: one build at a time in this working copy
# (two would empty each other's build/ folder). The lock is held until the calling script exits; a
# script called by one that holds it (android-test.sh → android-build.sh) does not wait for itself.
if [ -z "${DDT_ANDROID_LOCKED:-}" ]; then
  mkdir -p android_wrapper/build
  exec 9>android_wrapper/build/.lock
  flock 9
  export DDT_ANDROID_LOCKED=1
fi
