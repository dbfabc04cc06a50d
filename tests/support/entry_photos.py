"""A real photographed form (generated) attached to an application as a received photo."""
from __future__ import annotations

import random
from datetime import datetime, timezone

from app.extensions import db
from app.models import Application, Photo
from app.storage import make_store, sha256_of_file
from tests.support.form_images import FormFields, random_fields, render_form


def attach_form_photo(app, app_id: int, *, kind: str = "iou", seed: int = 4242,
                      min_amount: int = 0, max_amount: int = 10**9) -> tuple[int, FormFields]:
    """Render a form whose amount lies in [min_amount, max_amount] and add it as photo (9) of item 2."""
    rng = random.Random(seed)
    fields = random_fields(rng)
    while not min_amount <= fields.amount <= max_amount:
        fields = random_fields(rng)
    image = render_form(fields, kind=kind, size=(1600, 1200), rng=rng, photo_effects=False)
    store = make_store(app.config)
    tmp = store.uploads_dir / f"form-{seed}.jpg"
    image.save(tmp, "JPEG", quality=85)
    digest, size = sha256_of_file(tmp), tmp.stat().st_size
    store.put_file(digest, tmp)
    with app.app_context():
        a = db.session.get(Application, app_id)
        photo = Photo(application=a, collection_item_id=a.product.items[1].id, sequence=9, sha256=digest,
                      size_bytes=size, width=1600, height=1200, received_at=datetime.now(timezone.utc))
        db.session.add(photo)
        db.session.commit()
        return photo.id, fields
