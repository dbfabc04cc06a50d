"""The resumable-upload mechanics (app/storage/uploads.py on a real disk, app/storage/s3_uploads.py in
a real SeaweedFS bucket), apart from who may upload: the same behaviour from both stagings."""
from __future__ import annotations

import hashlib
import io
import threading
from contextlib import contextmanager

import pytest

from app.storage.local import LocalPhotoStore
from app.storage import sha256_of_file
from app.storage.uploads import LocalUploads, UploadTooLong
from tests.support.stores import make_test_store

DATA = bytes(range(256)) * 1000  # 256,000 bytes
SHA = hashlib.sha256(DATA).hexdigest()


def _thread_lock():
    # The S3 staging takes its lock from the caller (GET_LOCK across hosts in the app); here one lock.
    lock = threading.Lock()

    @contextmanager
    def factory(key: str):
        with lock:
            yield

    return factory


@pytest.fixture(params=["local", "s3"])
def uploads(request, tmp_path):
    store = make_test_store(request.param, tmp_path)
    return store.upload_staging(None if request.param == "local" else _thread_lock())


@pytest.fixture()
def local_uploads(tmp_path) -> LocalUploads:
    return LocalUploads(LocalPhotoStore(tmp_path / "photos"))


def test_chunks_append_at_the_offset_and_the_checksum_is_of_the_whole(uploads):
    assert uploads.offset("ab12") == 0
    with uploads.lock("ab12"):
        assert uploads.append("ab12", io.BytesIO(DATA[:100_000]), room=len(DATA)) == 100_000
    assert uploads.offset("ab12") == 100_000 and not uploads.complete("ab12", len(DATA))
    with uploads.lock("ab12"):
        uploads.append("ab12", io.BytesIO(DATA[100_000:]), room=len(DATA) - 100_000)
    assert uploads.complete("ab12", len(DATA))
    with uploads.received_copy("ab12") as copy:
        assert sha256_of_file(copy) == SHA


def test_a_body_longer_than_announced_leaves_the_part_as_it_was(uploads):
    uploads.append("cd34", io.BytesIO(DATA[:1000]), room=len(DATA))
    with pytest.raises(UploadTooLong):
        uploads.append("cd34", io.BytesIO(DATA[1000:5001]), room=4000)
    assert uploads.offset("cd34") == 1000
    with uploads.received_copy("cd34") as copy:
        assert copy.read_bytes() == DATA[:1000]


def test_the_proof_tells_own_verified_bytes_from_someone_elses(uploads):
    uploads.append("ef56", io.BytesIO(DATA), room=len(DATA))
    with uploads.received_copy("ef56") as copy:
        uploads.store_verified("ef56", SHA, copy)  # the proof is written, then the part moves into the store
    assert uploads.store.exists(SHA) and uploads.offset("ef56") == 0 and not uploads.complete("ef56", len(DATA))
    assert uploads.proven("ef56", SHA)
    # Another upload of the same content has no proof of its own: the object proves nothing to it.
    assert not uploads.proven("0123", SHA)
    uploads.clear_proof("ef56")
    assert not uploads.proven("ef56", SHA) and not uploads.has_proof("ef56")


def test_the_lock_keeps_two_appends_of_one_upload_apart(local_uploads):
    uploads = local_uploads
    order: list[str] = []
    inside = threading.Event()

    def second() -> None:
        with uploads.lock("aa99"):
            order.append("second")

    with uploads.lock("aa00"):  # same two-character prefix: the same lock file
        order.append("first in")
        t = threading.Thread(target=second)
        t.start()
        inside.wait(0.2)
        order.append("first out")
    t.join()
    assert order == ["first in", "first out", "second"]
