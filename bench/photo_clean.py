"""What does it cost to serve a photo's original clean (no EXIF/GPS, nothing appended)?

Run from the repository root:

    .venv/bin/python bench/photo_clean.py [N]

It makes N (default 20) photos of the weight the phone app uploads — generated forms with photo
effects, long edge 1600 px, JPEG quality 80 — each with EXIF (GPS, camera, orientation) and an HTML
tail, and times, per photo, `storage.clean_image` (what `/photos/<id>/original` and the ZIP now send)
against the two ways it could have been done: sending the stored bytes as they are (what was served
before: no cleaning at all) and re-encoding with Pillow (the "view" derivative at full size, which
would lose the original's exact pixels). Each photo: the best of 3 runs; printed: the median over the
photos, in milliseconds, and the sizes.
"""
from __future__ import annotations

import io
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PIL import Image  # noqa: E402

from app.storage.clean import clean_image  # noqa: E402
from tests.support.form_images import random_fields, render_form  # noqa: E402


def phone_photo(seed: int) -> bytes:
    rng = random.Random(seed)
    image = render_form(random_fields(rng), kind="iou", size=(1600, 1200), rng=rng, photo_effects=True)
    exif = Image.Exif()
    exif[0x0112] = 6
    exif[0x010F] = "HUAWEI"
    exif.get_ifd(0x8825).update({1: "N", 2: (30.0, 39.0, 36.5), 3: "E", 4: (104.0, 5.0, 28.1)})
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=80, exif=exif.tobytes())
    return out.getvalue() + b"<html><script>alert(1)</script></html>"


def best_ms(fn, data: bytes, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(data)
        times.append((time.perf_counter() - start) * 1000)
    return min(times)


def reencode(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        out = io.BytesIO()
        img.convert("RGB").save(out, "JPEG", quality=95)
        return out.getvalue()


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    photos = [phone_photo(seed) for seed in range(n)]
    clean = [best_ms(clean_image, p) for p in photos]
    copy = [best_ms(bytes, p) for p in photos]
    pillow = [best_ms(reencode, p) for p in photos]
    sizes = [len(p) for p in photos]
    cleaned = [len(clean_image(p)) for p in photos]
    print(f"{n} photos 1600x1200 q80, median {statistics.median(sizes) / 1024:.0f} KB "
          f"(cleaned {statistics.median(cleaned) / 1024:.0f} KB)")
    print(f"  clean_image (served now):          {statistics.median(clean):7.1f} ms a photo")
    print(f"  bytes as stored (served before):   {statistics.median(copy):7.1f} ms a photo")
    print(f"  Pillow re-encode q95 (not chosen): {statistics.median(pillow):7.1f} ms a photo")


if __name__ == "__main__":
    main()
