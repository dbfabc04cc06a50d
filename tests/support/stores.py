"""The photo stores the tests run on: the local one, and the S3 one on the private SeaweedFS that
scripts/seaweedfs-test-server.sh starts (the MariaDB phase of `make test` always runs inside it)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import pytest

from app.storage import make_store

S3_MISSING = ("TEST_S3_ENDPOINT_URL is unset: the S3 store is tested against a real SeaweedFS, run the tests "
              "under scripts/seaweedfs-test-server.sh (the MariaDB phase of `make test` does)")


def s3_available() -> bool:
    return bool(os.environ.get("TEST_S3_ENDPOINT_URL"))


def s3_config(tmp_path: Path, *, readonly: bool = False, **extra) -> dict:
    """Settings for an S3 store under a prefix of its own in the test bucket (skips without SeaweedFS)."""
    if not s3_available():
        pytest.skip(S3_MISSING)
    who = "TEST_S3_READONLY" if readonly else "TEST_S3"
    return {
        "PHOTO_STORE": f"s3://{os.environ['TEST_S3_BUCKET']}/t-{secrets.token_hex(8)}",
        "S3_ENDPOINT_URL": os.environ["TEST_S3_ENDPOINT_URL"],
        "AWS_ACCESS_KEY_ID": os.environ[f"{who}_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": os.environ[f"{who}_SECRET_ACCESS_KEY"],
        "AWS_DEFAULT_REGION": "us-east-1",
        "PHOTO_SCRATCH_DIR": tmp_path / f"scratch-{secrets.token_hex(4)}",
        **extra,
    }


def s3_store(tmp_path: Path, **extra):
    return make_store(s3_config(tmp_path, **extra))


def make_test_store(kind: str, tmp_path: Path):
    """"local" or "s3": a fresh, empty store."""
    if kind == "local":
        return make_store({"PHOTO_STORE": "local", "PHOTO_DIR": tmp_path / "photos"})
    return s3_store(tmp_path)


def store_has_derivative(store, sha256: str, kind: str) -> bool:
    """Whether ``kind`` of ``sha256`` is cached (a file on disk, an object in the bucket)."""
    if hasattr(store, "derivative_path"):
        return store.derivative_path(sha256, kind).exists()
    return store.has_key(store.derivative_key(sha256, kind))


def staged_uploads(store) -> list[str]:
    """The keys of the uploads that have bytes staged (a part file on disk, chunks in the bucket)."""
    if hasattr(store, "object_key"):
        names = {key[len(store.prefix) + len("uploads/"):].split("/", 1)[0]
                 for key, _ in store.list_keys(f"{store.prefix}uploads/", "list the staged uploads")
                 if not key.endswith(".proven")}
        return sorted(names)
    return sorted(p.stem for p in Path(store.uploads_dir).glob("*.part"))


def damage_stored(store, sha256: str) -> None:
    """Flip the last bit of a stored original behind the store's back (the disk rotted, someone
    edited the bucket): its bytes no longer hash to its name."""
    if hasattr(store, "object_key"):
        key = store.object_key(sha256)
        data = bytearray(store.client.get_object(Bucket=store.bucket, Key=key)["Body"].read())
        data[-1] ^= 0x01
        store.client.put_object(Bucket=store.bucket, Key=key, Body=bytes(data))
        return
    path = store.object_path(sha256)
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.chmod(0o600)
    path.write_bytes(bytes(data))
