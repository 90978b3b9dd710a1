"""ID-card photo checks: real format, size, resolution, card shape, sharpness, metadata.

Pure functions on bytes (no file I/O, no clock), so they run the same in the API edge, an
activity, or the client that offers to shrink a photo before upload.
"""

from __future__ import annotations

import hashlib
import io
import math
from dataclasses import dataclass

from PIL import Image, ImageFilter, ImageOps, ImageStat, UnidentifiedImageError

from domain.rules import RuleViolation
from domain.texts import PHOTOS

_ACCEPTED = ("JPEG", "PNG")  # Pillow reports multi-picture phone JPEGs as "MPO": kept as JPEG
_SHARPNESS_SIDE = 800  # sharpness is measured with the longer side scaled to this many pixels
# Pillow copies the 1-pixel border unfiltered, so it is cropped before measuring. Offset 128
# keeps negative responses; only |response| > 128 is clipped, far above the threshold region.
_LAPLACIAN = ImageFilter.Kernel((3, 3), (0, 1, 0, 1, -4, 1, 0, 1, 0), scale=1, offset=128)
_QUALITIES = range(95, 59, -5)  # fit_to_limit: 95, 90, ..., 60
_DOWNSCALE_STEP = 0.85
_SAME_PICTURE_MAX_DISTANCE = 4  # of 64 average-hash bits


@dataclass(frozen=True)
class PhotoLimits:
    max_bytes: int = 4 * 1024 * 1024
    min_width: int = 640  # longer side, after EXIF orientation
    min_height: int = 400  # shorter side, after EXIF orientation
    aspect: float = 85.6 / 54.0  # ID-1 card, landscape
    aspect_tolerance: float = 0.25  # relative: accepts some margin around the card (4:3, 16:9)
    # Calibrated in tests/domain/test_photos.py on synthetic 1000x630 cards (black text on white):
    # sharp 1325 (front) / 1139 (back); GaussianBlur(2) 47, GaussianBlur(4) 2; at 50% contrast
    # 767; the card at 70% of a 4:3 grey frame 666; fit_to_limit output (2168 px, q<=95) 1132.
    # 100 (the usual OpenCV rule of thumb) rejects blur from radius ~1.7 on and keeps a margin
    # of 6x or more for the sharp variants; real photos have less contrast than these cards.
    min_sharpness: float = 100.0
    # Decompression-bomb guard, checked from the header before any pixel is decoded; a 48 MP
    # phone photo still fits. Keep it below Pillow's own refusal (2 x 89,478,485 pixels), so
    # that what the applicant reads is this limit.
    max_pixels: int = 50_000_000
    # The longer side of the photo as stored: plenty to read a card, and what every later
    # check and every reviewer's page decodes (an 8,900 x 5,600 PNG cost 3.4 s and 460 MB).
    stored_max_side: int = 2400


@dataclass(frozen=True)
class CleanPhoto:
    data: bytes  # re-encoded, no metadata
    format: str  # "JPEG" | "PNG"
    width: int
    height: int
    sha256: str  # hex digest of data
    sharpness: float


def _refuse(key: str, field: str, **params: object) -> RuleViolation:
    zh, en = PHOTOS[key]
    code = ".".join(key.split(".")[:2])
    return RuleViolation(code, field, zh.format(**params), en.format(**params))


def _human(n: int) -> str:
    return f"{n / 2**20:.3g}MB" if n >= 2**20 else f"{n / 1024:.0f}KB"


def _pixels(n: int) -> str:
    return f"{n:,}"


def _open(
    data: bytes,
    field: str,
    *,
    formats: tuple[str, ...] | None,
    max_pixels: int | None,
    max_side: int | None = None,
) -> tuple[Image.Image, str]:
    """Decode by content (never by file name), then apply the EXIF orientation. A JPEG larger
    than `max_side` is decoded at a reduced scale (never below it): less time and memory."""
    try:
        with Image.open(io.BytesIO(data), formats=formats) as probe:
            fmt, (width, height) = probe.format or "", probe.size
            probe.verify()
    except UnidentifiedImageError as exc:
        raise _refuse("photo.format", field) from exc
    except Image.DecompressionBombError as exc:
        # Pillow refuses a header past its own limit before we can read it: our limit, still.
        limit = max_pixels or 2 * (Image.MAX_IMAGE_PIXELS or 0)
        raise _refuse("photo.too_large.pixels", field, limit=_pixels(limit)) from exc
    except (OSError, SyntaxError, ValueError, EOFError) as exc:
        raise _refuse("photo.format.damaged", field) from exc
    if max_pixels is not None and width * height > max_pixels:
        raise _refuse("photo.too_large.pixels", field, limit=_pixels(max_pixels))
    try:  # verify() leaves the image unusable: decode again for the pixels
        with Image.open(io.BytesIO(data), formats=formats) as image:
            if max_side is not None and image.format == "JPEG":
                image.draft(image.mode, (max_side, max_side))
            image.load()
            return ImageOps.exif_transpose(image), fmt
    except (OSError, SyntaxError, ValueError, EOFError) as exc:  # e.g. truncated JPEG data
        raise _refuse("photo.format.damaged", field) from exc


def _to_rgb(image: Image.Image) -> Image.Image:
    if image.mode in ("L", "RGB"):
        return image
    if not image.has_transparency_data:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    flat = Image.new("RGB", rgba.size, "white")
    flat.paste(rgba, mask=rgba.getchannel("A"))
    return flat


_CLEAN_QUALITY = 90


def _encode(image: Image.Image, fmt: str, quality: int = _CLEAN_QUALITY) -> bytes:
    """Save pixels only: EXIF (GPS), XMP, ICC, comments and text chunks are all dropped."""
    if fmt == "JPEG":
        image = _to_rgb(image)
    elif image.mode not in ("L", "LA", "RGB", "RGBA"):
        image = image.convert("RGBA" if image.has_transparency_data else "RGB")
    # Pillow's encoders fall back to info for ICC profile, comment and transparency. Only
    # images decoded in this module get here, so clearing it in place is safe.
    image.info = {}
    out = io.BytesIO()
    image.save(out, fmt, quality=quality)
    return out.getvalue()


def _clean_encoding(image: Image.Image, fmt: str, max_bytes: int) -> bytes:
    """Re-encoded within the size limit the input met: a JPEG saved at a lower quality than
    ours (a phone's, or `fit_to_limit`'s) would otherwise grow past it, and the stored photo
    would fail the very check it passed (verification checks the stored bytes again)."""
    clean = _encode(image, fmt)
    lower = (quality for quality in _QUALITIES if quality < _CLEAN_QUALITY)
    while fmt == "JPEG" and len(clean) > max_bytes and (quality := next(lower, None)):
        clean = _encode(image, fmt, quality)
    return clean


def sharpness(image: Image.Image) -> float:
    """Variance of the Laplacian of a grayscale copy scaled to a fixed size (resolution-free)."""
    gray = image.convert("L")
    k = _SHARPNESS_SIDE / max(gray.size)
    gray = gray.resize((max(3, round(gray.width * k)), max(3, round(gray.height * k))))
    edges = gray.filter(_LAPLACIAN)
    edges = edges.crop((1, 1, edges.width - 1, edges.height - 1))
    return ImageStat.Stat(edges).var[0]


def clean_photo(data: bytes, *, field: str, limits: PhotoLimits = PhotoLimits()) -> CleanPhoto:
    """Check one uploaded ID-card photo and return it re-encoded without metadata.

    Raises:
        RuleViolation: ``photo.too_large``, ``photo.format``, ``photo.resolution``,
            ``photo.aspect`` or ``photo.unclear``, with ``field`` set to the given field.
    """
    if len(data) > limits.max_bytes:
        raise _refuse("photo.too_large", field, limit=_human(limits.max_bytes))
    image, fmt = _open(
        data,
        field,
        formats=_ACCEPTED,
        max_pixels=limits.max_pixels,
        max_side=limits.stored_max_side,
    )
    fmt = "PNG" if fmt == "PNG" else "JPEG"
    if max(image.size) > limits.stored_max_side:
        # Before the checks: they and the stored copy work on the same, smaller picture.
        side = limits.stored_max_side
        image.thumbnail((side, side), Image.Resampling.LANCZOS)
    long, short = max(image.size), min(image.size)
    if long < limits.min_width or short < limits.min_height:
        raise _refuse("photo.resolution", field, w=limits.min_width, h=limits.min_height)
    ratio = long / short
    if abs(ratio - limits.aspect) / limits.aspect > limits.aspect_tolerance:
        raise _refuse("photo.aspect", field, ratio=f"{ratio:.2f}", card=f"{limits.aspect:.2f}")
    value = sharpness(image)
    if value < limits.min_sharpness:
        raise _refuse(
            "photo.unclear", field, value=f"{value:.0f}", limit=f"{limits.min_sharpness:.0f}"
        )
    clean = _clean_encoding(image, fmt, limits.max_bytes)
    return CleanPhoto(
        clean, fmt, image.width, image.height, hashlib.sha256(clean).hexdigest(), value
    )


def _average_hash(data: bytes) -> int:
    with Image.open(io.BytesIO(data)) as image:
        image.draft("L", (64, 64))  # JPEG: decode at reduced scale, plenty for 8x8
        pixels = image.convert("L").resize((8, 8), Image.Resampling.BOX).tobytes()
    mean = sum(pixels) / len(pixels)
    return sum(1 << i for i, p in enumerate(pixels) if p > mean)


def check_pair(front: CleanPhoto, back: CleanPhoto) -> None:
    """Refuse the same picture uploaded for both sides, also after re-encoding."""
    distance = (_average_hash(front.data) ^ _average_hash(back.data)).bit_count()
    if front.sha256 == back.sha256 or distance <= _SAME_PICTURE_MAX_DISTANCE:
        raise _refuse("photo.same_picture", "id_back")


def fit_to_limit(
    data: bytes, *, limits: PhotoLimits = PhotoLimits(), field: str = "photo"
) -> bytes:
    """Offer an oversized photo as a JPEG under ``limits.max_bytes``, keeping it readable.

    Tries JPEG quality 95 down to 60 first; only then scales down in steps, never below
    ``min_width`` x ``min_height``. Any format Pillow reads is accepted; EXIF orientation is
    applied and no metadata is kept.

    Raises:
        RuleViolation: ``photo.too_large`` when even the smallest allowed size does not fit,
            ``photo.format`` when the bytes are not an image.
    """
    image = _to_rgb(_open(data, field, formats=None, max_pixels=None)[0])
    long, short = max(image.size), min(image.size)
    floor = min(1.0, max(limits.min_width / long, limits.min_height / short))
    scale = 1.0
    while True:
        size = (math.ceil(image.width * scale), math.ceil(image.height * scale))
        resized = image if scale == 1.0 else image.resize(size, Image.Resampling.LANCZOS)
        if len(_encode(resized, "JPEG", _QUALITIES[-1])) <= limits.max_bytes:
            for quality in _QUALITIES:  # the best quality that fits at the largest size
                out = _encode(resized, "JPEG", quality)
                if len(out) <= limits.max_bytes:
                    return out
        if scale <= floor:
            raise _refuse("photo.too_large.unfit", field, limit=_human(limits.max_bytes))
        scale = max(floor, scale * _DOWNSCALE_STEP)
