"""S3PhotoStore and its upload staging against a real S3 server (the private SeaweedFS of
scripts/seaweedfs-test-server.sh): checksums refused by the server, streaming, resuming an upload
on another host, and the faults mapped to StoreMisconfigured / StoreUnavailable.

The behaviour the local store shares is tested over both stores in test_photo_store.py and
test_uploads.py; here what only an object store has."""
from __future__ import annotations

import hashlib
import io
import os
import random
import socket
import threading
import tracemalloc
from contextlib import contextmanager
from pathlib import Path

import pytest
from PIL import Image

from app.storage import StoreMisconfigured, StoreUnavailable, make_store
from app.storage.s3 import ChecksumMismatch, S3PhotoStore, parse_store_url
from app.storage.s3_uploads import ObjectUploads
from app.storage.uploads import UploadTooLong
from tests.support.stores import S3_MISSING, s3_available, s3_config, s3_store

pytestmark = pytest.mark.skipif(not s3_available(), reason=S3_MISSING)

MiB = 1024 * 1024


def _staged(store, data: bytes, name: str = "src") -> tuple[str, Path]:
    path = store.uploads_dir / name
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest(), path


def _jpeg(size=(1200, 900), seed=1) -> bytes:
    out = io.BytesIO()
    Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3)).save(out, "JPEG")
    return out.getvalue()


@contextmanager
def _held_lock():
    lock = threading.Lock()

    @contextmanager
    def factory(key: str):
        with lock:
            yield

    yield factory


@pytest.fixture()
def store(tmp_path) -> S3PhotoStore:
    return s3_store(tmp_path)


def test_the_store_url_gives_bucket_and_prefix():
    assert parse_store_url("s3://photos/ddt/prod") == ("photos", "ddt/prod/")
    assert parse_store_url("s3://photos") == ("photos", "")
    assert parse_store_url("s3://photos/") == ("photos", "")
    with pytest.raises(ValueError, match="names no bucket"):
        parse_store_url("s3:///prefix")


def test_keys_are_content_addressed_under_the_prefix(store):
    sha = "ab" + "cd" + "e" * 60
    assert store.object_key(sha) == f"{store.prefix}objects/ab/cd/{sha}"
    assert store.derivative_key(sha, "thumb") == f"{store.prefix}derived/thumb/ab/{sha}.jpg"


def test_round_trip_in_the_bucket(store):
    data = os.urandom(3000)
    sha, src = _staged(store, data)
    store.put_file(sha, src)
    assert not src.exists()
    # Really in the bucket, under its content-addressed key.
    assert store.client.get_object(Bucket=store.bucket, Key=store.object_key(sha))["Body"].read() == data
    with store.open(sha) as f:
        assert f.read(10) == data[:10]
        f.seek(0)  # Pillow seeks
        assert f.read() == data
    assert store.size(sha) == 3000 and list(store.iter_objects()) == [sha]
    store.delete(sha)
    assert not store.exists(sha)
    with pytest.raises(FileNotFoundError):
        store.open(sha)


def test_the_server_refuses_bytes_that_do_not_match_their_hash(store):
    # The SHA-256 travels with the bytes (ChecksumSHA256) and the server checks it: a file whose
    # bytes are not what its name says is refused, nothing is stored, the source stays.
    sha = hashlib.sha256(b"what the phone said").hexdigest()
    _, src = _staged(store, b"what arrived instead")
    with pytest.raises(ChecksumMismatch):
        store.put_file(sha, src)
    assert not store.exists(sha) and src.exists()
    # The same with the client alone: the server itself refuses a wrong checksum.
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as refused:
        store.client.put_object(Bucket=store.bucket, Key=f"{store.prefix}probe", Body=b"abc",
                                ChecksumSHA256="n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg=")  # of b"123"
    assert refused.value.response["Error"]["Code"] == "BadDigest"


def test_the_store_tells_the_checksum_it_checked(tmp_path):
    store = s3_store(tmp_path, S3_MULTIPART_BYTES=6 * MiB, S3_PART_BYTES=5 * MiB)
    sha, src = _staged(store, b"a photo")
    store.put_file(sha, src)
    assert store.stored_sha256(sha) == sha
    big, src = _staged(store, os.urandom(7 * MiB), "big")
    store.put_file(big, src)
    assert store.stored_sha256(big) is None  # in parts: no whole-object SHA-256 kept
    with pytest.raises(FileNotFoundError):
        store.stored_sha256("c" * 64)


def test_put_of_a_stored_hash_is_idempotent_and_consumes_the_source(store):
    data = os.urandom(500)
    sha, first = _staged(store, data, "first")
    store.put_file(sha, first)
    # Already there: nothing is sent (these other bytes would be refused by the server if they were).
    _, second = _staged(store, b"other bytes, never sent", "second")
    store.put_file(sha, second)
    assert not second.exists()
    assert store.open(sha).read() == data


def test_a_derivative_is_rendered_once_and_cached_in_the_bucket(store):
    sha, src = _staged(store, _jpeg())
    store.put_file(sha, src)
    thumb = store.derivative(sha, "thumb")
    assert Image.open(io.BytesIO(thumb)).size == (320, 240)
    key = store.derivative_key(sha, "thumb")
    assert store.has_key(key)
    # The cached object is what is served from now on (not rendered again).
    store.client.put_object(Bucket=store.bucket, Key=key, Body=b"cached")
    assert store.derivative(sha, "thumb") == b"cached"
    store.delete(sha)
    assert not store.has_key(key) and not store.exists(sha)


def test_iteration_is_ascending_across_pages(store):
    shas = []
    for i in range(7):
        sha, src = _staged(store, f"photo {i}".encode(), f"p{i}")
        store.put_file(sha, src)
        shas.append(sha)
    store.derivative_key(shas[0], "thumb")  # derivatives and other keys are not objects
    store.client.put_object(Bucket=store.bucket, Key=f"{store.prefix}objects/stray.tmp", Body=b"x")
    store.list_page = 3  # several pages of three keys
    assert list(store.iter_objects()) == sorted(shas)


def test_a_large_photo_goes_in_checked_parts_and_never_whole_in_memory(tmp_path):
    store = s3_store(tmp_path, S3_MULTIPART_BYTES=6 * MiB, S3_PART_BYTES=5 * MiB)
    size = 24 * MiB + 123
    src = store.uploads_dir / "big"
    digest = hashlib.sha256()
    rng = random.Random(5)
    with src.open("wb") as out:
        for _ in range(25):
            block = rng.randbytes(MiB)[: size - out.tell()]
            digest.update(block)
            out.write(block)
    sha = digest.hexdigest()

    tracemalloc.start()
    try:
        store.put_file(sha, src)
        _, peak_put = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        check = hashlib.sha256()
        with store.open(sha) as f:
            while block := f.read(MiB):
                check.update(block)
        _, peak_read = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert check.hexdigest() == sha and store.size(sha) == size
    # One part (5 MiB) at most in memory while sending; a megabyte or so while reading.
    assert peak_put < 12 * MiB, peak_put
    assert peak_read < 6 * MiB, peak_read


def test_a_photo_put_in_one_request_is_streamed_from_its_file(store):
    data = os.urandom(14 * MiB)  # the largest photo the phones send goes in one request
    sha, src = _staged(store, data)
    del data
    tracemalloc.start()
    try:
        store.put_file(sha, src)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert store.size(sha) == 14 * MiB
    assert peak < 7 * MiB, peak


def test_a_large_file_that_is_not_what_its_name_says_is_not_stored(tmp_path):
    store = s3_store(tmp_path, S3_MULTIPART_BYTES=6 * MiB, S3_PART_BYTES=5 * MiB)
    src = store.uploads_dir / "big"
    src.write_bytes(os.urandom(7 * MiB))
    sha = hashlib.sha256(b"something else").hexdigest()
    with pytest.raises(ChecksumMismatch):
        store.put_file(sha, src)
    assert not store.exists(sha) and src.exists()
    # The parts were aborted, not left to pile up.
    pending = store.client.list_multipart_uploads(Bucket=store.bucket, Prefix=store.prefix).get("Uploads", [])
    assert pending == []


# -- uploads staged in the bucket ------------------------------------------------------------------


def test_an_upload_begun_on_one_host_resumes_and_finishes_on_another(tmp_path):
    config = s3_config(tmp_path)
    host_a = make_store(config)
    # Another host: its own scratch folder and its own client; only the bucket is shared.
    host_b = make_store({**config, "PHOTO_SCRATCH_DIR": tmp_path / "b", "S3_CONNECT_TIMEOUT": 2.5})
    assert host_a.uploads_dir != host_b.uploads_dir and host_a.client is not host_b.client
    data = _jpeg(seed=2)
    sha = hashlib.sha256(data).hexdigest()
    with _held_lock() as lock:
        a, b = host_a.upload_staging(lock), host_b.upload_staging(lock)
        with a.lock("u1"):
            assert a.append("u1", io.BytesIO(data[:40_000]), room=len(data)) == 40_000
        assert b.offset("u1") == 40_000 and not b.complete("u1", len(data))
        with b.lock("u1"):
            b.append("u1", io.BytesIO(data[40_000:]), room=len(data) - 40_000)
        assert a.complete("u1", len(data)) and b.complete("u1", len(data))
        with b.received_copy("u1") as copy:
            assert hashlib.sha256(copy.read_bytes()).hexdigest() == sha
            b.store_verified("u1", sha, copy)
        assert not copy.exists()
        # Host A sees the upload settled by B: no staged bytes, the proof, the object.
        assert a.offset("u1") == 0 and a.proven("u1", sha) and host_a.open(sha).read() == data
        a.clear_proof("u1")
        assert not b.has_proof("u1")
    # Nothing of the upload is left in the bucket.
    left = [k for k, _ in host_a.list_keys(f"{host_a.prefix}uploads/", "list")]
    assert left == []


def test_a_chunk_is_put_only_whole_and_a_too_long_body_leaves_nothing(store):
    with _held_lock() as lock:
        staging = store.upload_staging(lock)
        staging.append("u2", io.BytesIO(b"x" * 1000), room=5000)
        with pytest.raises(UploadTooLong):
            staging.append("u2", io.BytesIO(b"y" * 4001), room=4000)
        assert staging.offset("u2") == 1000
        chunks = [k for k, _ in store.list_keys(f"{store.prefix}uploads/u2/", "list")]
        assert chunks == [f"{store.prefix}uploads/u2/{0:012d}"]


def test_the_offset_is_the_contiguous_run_of_chunks_from_zero(store):
    with _held_lock() as lock:
        staging = store.upload_staging(lock)
        staging.append("u3", io.BytesIO(b"a" * 100), room=1000)
        staging.append("u3", io.BytesIO(b"b" * 100), room=900)
        # A stray chunk that does not continue the run (left by a crash) counts for nothing.
        store.client.put_object(Bucket=store.bucket, Key=f"{store.prefix}uploads/u3/{500:012d}", Body=b"z" * 10)
        assert staging.offset("u3") == 200
        with staging.received_copy("u3") as copy:
            assert copy.read_bytes() == b"a" * 100 + b"b" * 100
        assert not copy.exists()  # removed on exit when not consumed
        staging.discard("u3")
        assert staging.offset("u3") == 0
        assert list(store.list_keys(f"{store.prefix}uploads/u3/", "list")) == []


def test_what_one_host_remembers_under_the_lock_is_what_the_bucket_says(tmp_path):
    # Under the lock a staging remembers its listing (a LIST saved per step); it must always agree
    # with a fresh look at the bucket — here even when an append joins a stray chunk to the run.
    config = s3_config(tmp_path)
    host_a, host_b = make_store(config), make_store({**config, "PHOTO_SCRATCH_DIR": tmp_path / "b"})
    with _held_lock() as lock:
        a = host_a.upload_staging(lock)
        host_a.client.put_object(Bucket=host_a.bucket, Key=f"{host_a.prefix}uploads/u5/{100:012d}", Body=b"s" * 10)
        with a.lock("u5"):
            assert a.offset("u5") == 0
            a.append("u5", io.BytesIO(b"a" * 100), room=110)
            fresh = host_b.upload_staging(lock)
            assert a.offset("u5") == fresh.offset("u5") == 110 and a.complete("u5", 110)
            with a.received_copy("u5") as copy:
                assert copy.read_bytes() == b"a" * 100 + b"s" * 10
            a.discard("u5")
            assert a.offset("u5") == fresh.offset("u5") == 0


def test_staging_in_the_bucket_needs_a_lock_that_holds_across_hosts(store):
    with pytest.raises(ValueError, match="lock"):
        store.upload_staging(None)
    assert isinstance(store.upload_staging(lambda key: _held_lock()), ObjectUploads)


# -- faults ----------------------------------------------------------------------------------------


def test_the_store_checks_itself(store):
    store.check()
    # The probe leaves nothing behind.
    assert list(store.list_keys(store.prefix, "list")) == []


def test_wrong_credentials_are_misconfigured_and_the_secret_is_not_told(tmp_path):
    store = s3_store(tmp_path, AWS_SECRET_ACCESS_KEY="not-the-secret-1234")
    with pytest.raises(StoreMisconfigured) as refused:
        store.check()
    message = str(refused.value)
    assert store.bucket in message and "AWS_SECRET_ACCESS_KEY" in message
    assert "not-the-secret-1234" not in message
    bad_key = s3_store(tmp_path, AWS_ACCESS_KEY_ID="nobody")
    _, src = _staged(bad_key, b"photo")
    with pytest.raises(StoreMisconfigured):
        bad_key.put_file(hashlib.sha256(b"photo").hexdigest(), src)
    assert src.exists()


def test_a_read_only_identity_is_misconfigured(tmp_path):
    store = s3_store(tmp_path, readonly=True)
    with pytest.raises(StoreMisconfigured, match="probe"):
        store.check()
    _, src = _staged(store, b"photo")
    with pytest.raises(StoreMisconfigured):
        store.put_file(hashlib.sha256(b"photo").hexdigest(), src)


def test_a_missing_bucket_is_misconfigured(tmp_path):
    config = s3_config(tmp_path)
    store = make_store({**config, "PHOTO_STORE": "s3://no-such-bucket-here/p"})
    with pytest.raises(StoreMisconfigured, match="no-such-bucket-here"):
        store.check()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_store_that_is_not_there_is_unavailable(tmp_path):
    store = s3_store(tmp_path, S3_ENDPOINT_URL=f"http://127.0.0.1:{_closed_port()}", S3_MAX_ATTEMPTS=1)
    with pytest.raises(StoreUnavailable, match="unreachable"):
        store.check()
    _, src = _staged(store, b"photo")
    with pytest.raises(StoreUnavailable):
        store.put_file(hashlib.sha256(b"photo").hexdigest(), src)
    assert src.exists()  # the photo is kept for the retry


def test_a_store_that_does_not_answer_is_unavailable(tmp_path):
    # A server that accepts connections and never answers: the read timeout ends the wait.
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        store = s3_store(tmp_path, S3_ENDPOINT_URL=f"http://127.0.0.1:{port}", S3_READ_TIMEOUT=0.3,
                         S3_MAX_ATTEMPTS=1)
        with pytest.raises(StoreUnavailable):
            store.exists("a" * 64)


@contextmanager
def _answering(status: int, code: str):
    """An HTTP server on loopback that answers every request with an S3 error document."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    body = f'<?xml version="1.0"?><Error><Code>{code}</Code><Message>said the server</Message></Error>'.encode()

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            self.send_response(status)
            self.send_header("Content-Type", "application/xml")
            self.send_header("Content-Length", str(0 if self.command == "HEAD" else len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _answer

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(("status", "code", "raised"), [
    (503, "SlowDown", StoreUnavailable),
    (500, "InternalError", StoreUnavailable),
    (403, "AccessDenied", StoreMisconfigured),
    (400, "NotImplementedHere", StoreMisconfigured),  # anything else is an operator's matter, never a crash
])
def test_the_stores_answers_are_mapped(tmp_path, status, code, raised):
    with _answering(status, code) as endpoint:
        store = s3_store(tmp_path, S3_ENDPOINT_URL=endpoint, S3_MAX_ATTEMPTS=1)
        _, src = _staged(store, b"photo")
        with pytest.raises(raised):
            store.put_file(hashlib.sha256(b"photo").hexdigest(), src)
        assert src.exists()
