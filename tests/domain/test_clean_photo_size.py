"""A cleaned photo stays within the size limit it was checked against, so that the stored photo
passes verification's check of the stored bytes (found by the page test's 8 MB phone photo)."""

from __future__ import annotations

import io
import random

from PIL import Image

from devtools.samples import make_card
from domain.photos import PhotoLimits, clean_photo, fit_to_limit


def grainy_jpeg(size: tuple[int, int], quality: int) -> bytes:
    noise = Image.frombytes("RGB", size, random.Random(3).randbytes(size[0] * size[1] * 3))
    out = io.BytesIO()
    Image.blend(make_card(size, "front"), noise, 0.4).save(out, "JPEG", quality=quality)
    return out.getvalue()


def test_a_fitted_grainy_photo_is_still_within_the_limit_once_cleaned() -> None:
    limits = PhotoLimits(max_bytes=600_000)
    data = grainy_jpeg((1600, 1008), 97)
    assert len(data) > limits.max_bytes
    fitted = fit_to_limit(data, limits=limits)
    cleaned = clean_photo(fitted, field="id_card_front", limits=limits)
    assert len(cleaned.data) <= limits.max_bytes
    again = clean_photo(cleaned.data, field="id_card_front", limits=limits)
    assert len(again.data) <= limits.max_bytes


def test_a_photo_well_under_the_limit_keeps_the_usual_quality() -> None:
    data = grainy_jpeg((1000, 630), 60)
    cleaned = clean_photo(data, field="id_card_front")
    out = io.BytesIO()
    with Image.open(io.BytesIO(data)) as image:
        image.save(out, "JPEG", quality=90)
    assert len(cleaned.data) == len(out.getvalue())
