"""Photo store on any S3-compatible object store (AWS S3, Aliyun OSS, Tencent COS, Huawei OBS,
MinIO, Ceph RGW, SeaweedFS), chosen by ``PHOTO_STORE=s3://bucket/prefix``.

Keys under ``prefix`` mirror the local store, so a store moved from disk keeps its layout::

    objects/ab/cd/<sha256>          originals, never modified once written
    derived/<kind>/ab/<sha256>.jpg  cached thumbnails and screen-size views
    uploads/<key>/<offset:012d>     half-finished resumable uploads (app/storage/s3_uploads.py)
    uploads/<key>.proven            the proof note of a verified upload

Every write carries the SHA-256 of its bytes (``ChecksumSHA256``): the server refuses bytes that
do not match, so an original's key is checked by the store itself. Big originals go in parts,
each part checked the same way. Reads are streamed into a spooled temporary file (seekable, as
Pillow needs, and on disk beyond a megabyte). Short timeouts and few retries: a store that is down
or slow fails the request fast with ``StoreUnavailable`` (the phone keeps its photo and retries);
a store that refuses us (credentials, bucket, permission) raises ``StoreMisconfigured``.
"""
from __future__ import annotations

import base64
import hashlib
import os
import re
import secrets
import tempfile
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import boto3
from botocore.config import Config as BotoConfig
from botocore.exceptions import BotoCoreError, ClientError

from app.storage import (
    DERIVATIVES,
    LockFactory,
    StoreMisconfigured,
    StoreUnavailable,
    check_sha256,
    render_derivative,
)

__all__ = ["S3PhotoStore", "ChecksumMismatch"]

_SHA256_NAME = re.compile(r"[0-9a-f]{64}")
READ_BUFFER = 1024 * 1024
SPOOL_BYTES = 1024 * 1024  # open(): a photo larger than this is spooled to disk, not kept in memory
MIN_PART_BYTES = 5 * 1024 * 1024  # S3's smallest part (but the last)

# Answers that mean "someone must fix the configuration" rather than "try again later".
_MISCONFIGURED = {
    "AccessDenied", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch", "NoSuchBucket",
    "InvalidBucketName", "AuthorizationHeaderMalformed", "InvalidToken", "ExpiredToken", "AccountProblem",
    "PermanentRedirect", "AuthorizationQueryParametersError", "403", "401", "Forbidden",
}
_CHECKSUM_REFUSED = {"BadDigest", "InvalidDigest", "XAmzContentSHA256Mismatch", "InvalidChecksum"}
_NOT_FOUND = {"NoSuchKey", "404", "NotFound"}


class ChecksumMismatch(ValueError):
    """The store refused the bytes: they do not hash to the SHA-256 they were stored under."""


def _b64_sha256(hex_digest: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_digest)).decode("ascii")


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code") or exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or "")


def _status(exc: ClientError) -> int:
    return int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)


def parse_store_url(raw: str) -> tuple[str, str]:
    """``s3://bucket/some/prefix`` → ("bucket", "some/prefix/"); the prefix may be empty."""
    rest = raw.strip()[len("s3://"):]
    bucket, _, prefix = rest.partition("/")
    if not bucket:
        raise ValueError(f"PHOTO_STORE {raw!r} names no bucket; expected s3://bucket/prefix")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


_clients: dict[tuple, Any] = {}
_clients_lock = threading.Lock()


def _client(settings: tuple) -> Any:
    # Making a client loads botocore's service model (tens of ms): one per process and settings.
    # Clients are thread-safe; the pid keeps a forked worker from sharing its parent's connections.
    key = (os.getpid(), *settings)
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            endpoint, region, access_key, secret_key, style, connect_s, read_s, attempts = settings
            client = boto3.session.Session().client(
                "s3",
                endpoint_url=endpoint or None,
                region_name=region or "us-east-1",
                aws_access_key_id=access_key or None,
                aws_secret_access_key=secret_key or None,
                config=BotoConfig(
                    connect_timeout=connect_s,
                    read_timeout=read_s,
                    retries={"max_attempts": attempts, "mode": "standard"},
                    s3={"addressing_style": style},
                    signature_version="s3v4",
                    # We give the SHA-256 ourselves; no extra CRC over the body.
                    request_checksum_calculation="when_required",
                    response_checksum_validation="when_required",
                    max_pool_connections=20,
                ),
            )
            _clients[key] = client
        return client


class S3PhotoStore:
    def __init__(self, client: Any, bucket: str, prefix: str, scratch_dir: Path, *,
                 endpoint: str = "", multipart_bytes: int = 16 * 1024 * 1024,
                 part_bytes: int = 8 * 1024 * 1024) -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.endpoint = endpoint or "AWS S3"
        self.multipart_bytes = max(multipart_bytes, 1)
        self.part_bytes = max(part_bytes, MIN_PART_BYTES)
        self.list_page = 1000
        self._scratch = Path(scratch_dir)
        self._scratch.mkdir(parents=True, exist_ok=True)

    @classmethod
    def from_config(cls, raw: str, config: Mapping) -> S3PhotoStore:
        bucket, prefix = parse_store_url(raw)
        endpoint = str(config.get("S3_ENDPOINT_URL") or "").strip()
        style = str(config.get("S3_ADDRESSING_STYLE") or "").strip().lower()
        if not style:
            # Self-hosted stores (MinIO, SeaweedFS, Ceph) at an endpoint of their own answer by
            # path; AWS by virtual host. Aliyun OSS, Tencent COS and Huawei OBS need "virtual".
            style = "path" if endpoint else "virtual"
        if style not in ("path", "virtual", "auto"):
            raise ValueError(f"S3_ADDRESSING_STYLE {style!r}: expected 'path', 'virtual' or 'auto'")

        def setting(name: str) -> str:
            return str(config.get(name) or os.environ.get(name) or "")

        settings = (
            endpoint,
            setting("AWS_DEFAULT_REGION"),
            setting("AWS_ACCESS_KEY_ID"),
            setting("AWS_SECRET_ACCESS_KEY"),
            style,
            float(config.get("S3_CONNECT_TIMEOUT") or 3),
            float(config.get("S3_READ_TIMEOUT") or 20),
            int(config.get("S3_MAX_ATTEMPTS") or 3),
        )
        scratch = config.get("PHOTO_SCRATCH_DIR") or Path(config.get("INSTANCE_DIR") or tempfile.gettempdir()) / "photo-scratch"
        return cls(_client(settings), bucket, prefix, Path(scratch), endpoint=endpoint,
                   multipart_bytes=int(config.get("S3_MULTIPART_BYTES") or 16 * 1024 * 1024),
                   part_bytes=int(config.get("S3_PART_BYTES") or 8 * 1024 * 1024))

    def __repr__(self) -> str:
        return f"S3PhotoStore(s3://{self.bucket}/{self.prefix} at {self.endpoint})"

    @property
    def where(self) -> str:
        return f"bucket {self.bucket!r} at {self.endpoint}"

    # -- keys ----------------------------------------------------------------------------------

    def object_key(self, sha256: str) -> str:
        sha256 = check_sha256(sha256)
        return f"{self.prefix}objects/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def derivative_key(self, sha256: str, kind: str) -> str:
        sha256 = check_sha256(sha256)
        if kind not in DERIVATIVES:
            raise ValueError(f"unknown derivative kind {kind!r}; expected one of {sorted(DERIVATIVES)}")
        return f"{self.prefix}derived/{kind}/{sha256[:2]}/{sha256}.jpg"

    # -- errors --------------------------------------------------------------------------------

    @contextmanager
    def errors(self, doing: str) -> Iterator[None]:
        """Map the client's errors to the store's: down or slow → StoreUnavailable; refused →
        StoreMisconfigured; a missing key → FileNotFoundError; refused bytes → ChecksumMismatch."""
        try:
            yield
        except ClientError as exc:
            code, status = _code(exc), _status(exc)
            if code in _NOT_FOUND:
                raise FileNotFoundError(f"{doing}: not in {self.where}") from None
            if code in _CHECKSUM_REFUSED:
                raise ChecksumMismatch(f"{doing}: {self.where} refused the bytes ({code}): they do not match their SHA-256") from None
            if code in _MISCONFIGURED or status in (401, 403):
                raise StoreMisconfigured(
                    f"photo store {self.where} refused to {doing} ({code}): check PHOTO_STORE, S3_ENDPOINT_URL, "
                    "AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY and the bucket's permissions") from None
            if status >= 500 or code in ("SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "503", "500"):
                raise StoreUnavailable(f"photo store {self.where} could not {doing} now ({code}); try again later") from None
            # Any other refusal (a request this store does not support, a bucket policy): an operator must look.
            raise StoreMisconfigured(f"photo store {self.where} refused to {doing} ({code} {exc.response.get('Error', {}).get('Message', '')}); "
                                     "check that PHOTO_STORE and S3_ENDPOINT_URL name an S3-compatible store and the bucket's settings") from None
        except BotoCoreError as exc:
            # Connection refused or reset, DNS, timeouts, retries exhausted: the store is not there now.
            raise StoreUnavailable(f"photo store {self.where} is unreachable ({type(exc).__name__}) "
                                   f"while trying to {doing}; check S3_ENDPOINT_URL or try again later") from None

    # -- PhotoStore ----------------------------------------------------------------------------

    @property
    def uploads_dir(self) -> Path:
        return self._scratch

    def check(self) -> None:
        with self.errors("reach the bucket"):
            try:
                self.client.head_bucket(Bucket=self.bucket)
            except ClientError as exc:
                if _code(exc) in _NOT_FOUND:  # HEAD answers no body: 404 here is a missing bucket
                    raise StoreMisconfigured(f"photo store bucket {self.bucket!r} does not exist at {self.endpoint}: "
                                             "create it or fix PHOTO_STORE / S3_ENDPOINT_URL") from None
                raise
        probe = f"{self.prefix}check/{secrets.token_hex(8)}"
        with self.errors("write a probe object"):
            self.client.put_object(Bucket=self.bucket, Key=probe, Body=b"ok",
                                   ChecksumSHA256=_b64_sha256(hashlib.sha256(b"ok").hexdigest()))
        with self.errors("delete a probe object"):
            self.client.delete_object(Bucket=self.bucket, Key=probe)

    def upload_staging(self, lock: LockFactory | None = None):
        from app.storage.s3_uploads import ObjectUploads

        return ObjectUploads(self, lock)

    def put_file(self, sha256: str, src: Path) -> None:
        key = self.object_key(sha256)
        src = Path(src)
        if self.exists(sha256):
            # Same hash, same bytes: the photo was uploaded before (a retry, or a second phone).
            src.unlink(missing_ok=True)
            return
        size = src.stat().st_size
        if size > self.multipart_bytes:
            self._put_multipart(key, sha256, src)
        else:
            with src.open("rb") as body, self.errors("store a photo"):
                self.client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentLength=size,
                                       ChecksumSHA256=_b64_sha256(sha256))
        src.unlink(missing_ok=True)

    def put_bytes(self, key: str, data: bytes, doing: str) -> None:
        with self.errors(doing):
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data,
                                   ChecksumSHA256=_b64_sha256(hashlib.sha256(data).hexdigest()))

    def _put_multipart(self, key: str, sha256: str, src: Path) -> None:
        """Parts of ``part_bytes`` (read one at a time), each checked by the server; the whole file
        is hashed on the way and the upload aborted unless it matches ``sha256``."""
        with self.errors("start storing a photo"):
            upload_id = self.client.create_multipart_upload(
                Bucket=self.bucket, Key=key, ChecksumAlgorithm="SHA256")["UploadId"]
        whole = hashlib.sha256()
        parts = []
        try:
            with src.open("rb") as f:
                number = 1
                while block := f.read(self.part_bytes):
                    whole.update(block)
                    checksum = base64.b64encode(hashlib.sha256(block).digest()).decode("ascii")
                    with self.errors("store a part of a photo"):
                        answer = self.client.upload_part(
                            Bucket=self.bucket, Key=key, UploadId=upload_id, PartNumber=number,
                            Body=block, ChecksumAlgorithm="SHA256", ChecksumSHA256=checksum)
                    parts.append({"PartNumber": number, "ETag": answer["ETag"], "ChecksumSHA256": checksum})
                    number += 1
                    del block
            if whole.hexdigest() != sha256:
                raise ChecksumMismatch(f"store a photo: the file does not hash to {sha256}")
            with self.errors("finish storing a photo"):
                self.client.complete_multipart_upload(
                    Bucket=self.bucket, Key=key, UploadId=upload_id, MultipartUpload={"Parts": parts})
        except BaseException:
            try:
                self.client.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=upload_id)
            except Exception:  # noqa: BLE001 — the store's own lifecycle rule removes what is left
                pass
            raise

    def exists(self, sha256: str) -> bool:
        return self.has_key(self.object_key(sha256))

    def has_key(self, key: str) -> bool:
        try:
            with self.errors("look up an object"):
                self.client.head_object(Bucket=self.bucket, Key=key)
        except FileNotFoundError:
            return False
        return True

    def size(self, sha256: str) -> int:
        with self.errors("look up a photo"):
            return int(self.client.head_object(Bucket=self.bucket, Key=self.object_key(sha256))["ContentLength"])

    def stored_sha256(self, sha256: str) -> str | None:
        """The whole object's SHA-256 as the store recorded and checked it on write (hex), to verify
        without reading the bytes back; None when it keeps none for the whole object (an object
        put in parts has a checksum of its parts' checksums); FileNotFoundError when absent."""
        with self.errors("look up a photo's checksum"):
            head = self.client.head_object(Bucket=self.bucket, Key=self.object_key(sha256), ChecksumMode="ENABLED")
        value = head.get("ChecksumSHA256") or ""
        if not value or "-" in value or head.get("ChecksumType") == "COMPOSITE":
            return None
        return base64.b64decode(value).hex()

    def open(self, sha256: str) -> BinaryIO:
        return self.open_key(self.object_key(sha256), "read a photo")

    def open_key(self, key: str, doing: str) -> BinaryIO:
        out = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES, dir=self._scratch)
        try:
            self.copy_key_into(key, out, doing)
            out.seek(0)
        except BaseException:
            out.close()
            raise
        return out  # type: ignore[return-value]

    def copy_key_into(self, key: str, out: BinaryIO, doing: str) -> None:
        """Stream the object ``key`` into ``out``, a megabyte at a time."""
        with self.errors(doing):
            body = self.client.get_object(Bucket=self.bucket, Key=key)["Body"]
            try:
                while block := body.read(READ_BUFFER):
                    out.write(block)
            finally:
                body.close()

    def derivative(self, sha256: str, kind: str) -> bytes:
        key = self.derivative_key(sha256, kind)
        try:
            with self.errors("read a cached view"):
                return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()
        except FileNotFoundError:
            pass
        with self.open(sha256) as original:
            data = render_derivative(original, kind)
        # A cache: two hosts rendering the same view write the same bytes.
        self.put_bytes(key, data, "cache a view")
        return data

    def delete(self, sha256: str) -> None:
        # Derivatives first: a derivative without its original would outlive a failed delete.
        keys = [self.derivative_key(sha256, kind) for kind in DERIVATIVES] + [self.object_key(sha256)]
        for key in keys:
            with self.errors("delete a photo"):
                self.client.delete_object(Bucket=self.bucket, Key=key)

    def iter_objects(self) -> Iterator[str]:
        start = f"{self.prefix}objects/"
        for key, _size in self.list_keys(start, "list the photos"):
            name = key.rsplit("/", 1)[-1]
            if _SHA256_NAME.fullmatch(name) and key == self.object_key(name):
                yield name

    def list_keys(self, prefix: str, doing: str) -> Iterator[tuple[str, int]]:
        """(key, size) under ``prefix``, ascending (S3 lists in key order), page by page."""
        token = None
        while True:
            kwargs = {"Bucket": self.bucket, "Prefix": prefix, "MaxKeys": self.list_page}
            if token:
                kwargs["ContinuationToken"] = token
            with self.errors(doing):
                page = self.client.list_objects_v2(**kwargs)
            for item in page.get("Contents", []):
                yield item["Key"], int(item["Size"])
            if not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")

    def delete_keys(self, keys: list[str], doing: str) -> None:
        for start in range(0, len(keys), 1000):
            batch = keys[start:start + 1000]
            with self.errors(doing):
                answer = self.client.delete_objects(
                    Bucket=self.bucket, Delete={"Objects": [{"Key": k} for k in batch], "Quiet": True})
            if answer.get("Errors"):
                first = answer["Errors"][0]
                raise StoreUnavailable(f"photo store {self.where} could not {doing} ({first.get('Code')}); try again later")
