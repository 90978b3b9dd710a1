"""Tests for domain.photos and store.documents.

Every image is drawn here with Pillow: synthetic cards with invented text, never a real ID
card or a real person.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import random
import struct
import zlib
from pathlib import Path

import pytest
from PIL import ExifTags, Image, ImageFilter, PngImagePlugin

from devtools.samples import make_card
from domain.photos import (
    CleanPhoto,
    PhotoLimits,
    check_pair,
    clean_photo,
    fit_to_limit,
    sharpness,
)
from domain.rules import RuleViolation
from store.documents import DocumentStore, LocalDocumentStore

# --- Synthetic images --------------------------------------------------------------------------


def encode(img: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    out = io.BytesIO()
    img.save(out, fmt, **params)
    return out.getvalue()


def noise(size: tuple[int, int], seed: int = 1) -> Image.Image:
    return Image.frombytes("RGB", size, random.Random(seed).randbytes(size[0] * size[1] * 3))


def jpeg_markers(data: bytes) -> list[int]:
    """Marker bytes of the JPEG segments before the image data (APPn = 0xE0-0xEF)."""
    markers, pos = [], 2
    while data[pos + 1] != 0xDA:  # SOS
        markers.append(data[pos + 1])
        pos += 2 + struct.unpack(">H", data[pos + 2 : pos + 4])[0]
    return markers


def png_chunks(data: bytes) -> set[bytes]:
    chunks, pos = set(), 8
    while pos < len(data):
        length = struct.unpack(">I", data[pos : pos + 4])[0]
        chunks.add(data[pos + 4 : pos + 8])
        pos += 12 + length
    return chunks


SHARP = make_card()
BACK = make_card(side="back")
BLURRED = SHARP.filter(ImageFilter.GaussianBlur(4))


def exif_with_gps(orientation: int = 6) -> Image.Exif:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = orientation
    exif[ExifTags.Base.Make] = "ExampleCam"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)  # 0x8825
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (32.0, 3.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (118.0, 47.0, 0.0)
    return exif


# --- clean_photo -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "code"),
    [
        pytest.param(encode(make_card((200, 126))), "photo.resolution", id="tiny"),
        pytest.param(encode(make_card((1000, 1000))), "photo.aspect", id="square"),
        pytest.param(encode(make_card((1400, 400))), "photo.aspect", id="too-wide"),
        pytest.param(encode(BLURRED), "photo.unclear", id="blurred"),
        pytest.param(encode(noise((1400, 1100)), "PNG"), "photo.too_large", id="huge-png"),
        pytest.param(b"not an image", "photo.format", id="text-named-jpg"),
        pytest.param(b"", "photo.format", id="empty"),
        pytest.param(encode(SHARP, "GIF"), "photo.format", id="gif"),
        pytest.param(encode(SHARP, "BMP"), "photo.format", id="bmp"),
        pytest.param(encode(SHARP, "TIFF"), "photo.format", id="tiff"),
        pytest.param(encode(SHARP)[:20_000], "photo.format", id="truncated-jpeg"),
        pytest.param(encode(SHARP, "PNG")[:20_000], "photo.format", id="truncated-png"),
    ],
)
@pytest.mark.parametrize("field", ["id_front", "id_back"])
def test_refused(data: bytes, code: str, field: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        clean_photo(data, field=field)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert caught.value.message_zh and caught.value.message_en


def test_too_large_is_checked_on_bytes_and_advises_compressing() -> None:
    data = encode(noise((1400, 1100)), "PNG")
    assert len(data) > PhotoLimits().max_bytes
    with pytest.raises(RuleViolation, match="4MB") as caught:
        clean_photo(data, field="id_front")
    assert "压缩" in caught.value.message_zh


def test_pixel_bomb_refused_before_decoding() -> None:
    data = encode(Image.new("L", (3000, 2000), 255), "PNG")  # tiny file, many pixels
    with pytest.raises(RuleViolation) as caught:
        clean_photo(data, field="id_front", limits=PhotoLimits(max_pixels=5_000_000))
    assert caught.value.code == "photo.too_large"


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims `width` x `height`: a few bytes, billions of pixels."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IEND", b"")


def test_a_gigapixel_header_is_refused_with_our_limit_not_pillows() -> None:
    with pytest.raises(RuleViolation) as caught:
        clean_photo(png_header_only(80_000, 80_000), field="id_front")
    assert caught.value.code == "photo.too_large"
    assert "50,000,000" in caught.value.message_en
    assert "50,000,000" in caught.value.message_zh
    assert "178,956,970" not in caught.value.message_en


def test_a_large_photo_is_stored_downscaled() -> None:
    cleaned = clean_photo(encode(make_card((4000, 2520))), field="id_front")
    assert max(cleaned.width, cleaned.height) == PhotoLimits().stored_max_side
    with Image.open(io.BytesIO(cleaned.data)) as stored:
        assert max(stored.size) == PhotoLimits().stored_max_side
    # What is stored passes the same checks again (verification checks the stored bytes).
    again = clean_photo(cleaned.data, field="id_front")
    assert (again.width, again.height) == (cleaned.width, cleaned.height)


@pytest.mark.parametrize(
    ("data", "fmt"),
    [
        (encode(SHARP, quality=95), "JPEG"),
        (encode(SHARP, "PNG"), "PNG"),
        (encode(SHARP.convert("L"), "PNG"), "PNG"),
        (encode(SHARP.convert("RGBA"), "PNG"), "PNG"),
        (encode(SHARP.convert("P"), "PNG"), "PNG"),
        (encode(SHARP.convert("CMYK")), "JPEG"),
        (encode(SHARP, "MPO", save_all=True, append_images=[BACK]), "JPEG"),  # phone multi-picture
        (encode(make_card((4000, 2520))), "JPEG"),
        (encode(make_card((1600, 1200))), "JPEG"),  # 4:3 frame, within tolerance
    ],
)
def test_accepted_keeps_format(data: bytes, fmt: str) -> None:
    photo = clean_photo(data, field="id_front")
    assert photo.format == fmt
    with Image.open(io.BytesIO(photo.data)) as image:
        assert image.format == fmt
        assert image.size == (photo.width, photo.height)
    assert photo.sha256 == hashlib.sha256(photo.data).hexdigest()
    assert photo.sharpness >= PhotoLimits().min_sharpness


def test_sharpness_calibration() -> None:
    """The values quoted next to PhotoLimits.min_sharpness."""
    limit = PhotoLimits().min_sharpness
    assert sharpness(SHARP) == pytest.approx(1325, rel=0.1)
    assert sharpness(BACK) == pytest.approx(1139, rel=0.1)
    assert sharpness(BLURRED) < 10 < limit
    assert sharpness(SHARP.filter(ImageFilter.GaussianBlur(2))) < limit
    # Resolution-independent: the same design drawn at 640 or 4000 px measures alike.
    for size in [(640, 403), (4000, 2520)]:
        assert sharpness(make_card(size)) > 5 * limit


def test_exif_gps_stripped_and_orientation_applied() -> None:
    exif = exif_with_gps(orientation=6)  # stored landscape, displayed rotated 90° clockwise
    data = encode(SHARP, exif=exif, xmp=b"<x:xmpmeta>secret</x:xmpmeta>", comment=b"secret")
    with Image.open(io.BytesIO(data)) as original:
        assert original.getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the fixture carries GPS
        assert original.size == (1000, 630)

    photo = clean_photo(data, field="id_front")
    assert (photo.width, photo.height) == (630, 1000)
    assert jpeg_markers(photo.data).count(0xE0) == 1  # JFIF only
    assert not [m for m in jpeg_markers(photo.data) if 0xE1 <= m <= 0xEF or m == 0xFE]
    assert b"secret" not in photo.data and b"ExampleCam" not in photo.data
    with Image.open(io.BytesIO(photo.data)) as image:
        assert not image.getexif()
        assert not {"exif", "xmp", "icc_profile", "comment"} & image.info.keys()


def test_png_metadata_stripped() -> None:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "secret")
    data = encode(SHARP, "PNG", pnginfo=info, exif=exif_with_gps(orientation=1))
    photo = clean_photo(data, field="id_back")
    assert png_chunks(photo.data) == {b"IHDR", b"IDAT", b"IEND"}
    assert b"secret" not in photo.data


# --- check_pair --------------------------------------------------------------------------------


def test_pair_of_different_sides_passes() -> None:
    check_pair(
        clean_photo(encode(SHARP), field="id_front"), clean_photo(encode(BACK), field="id_back")
    )


@pytest.mark.parametrize(
    "back",
    [
        pytest.param(encode(SHARP, quality=90), id="identical"),
        pytest.param(encode(SHARP, quality=70), id="re-encoded"),
        pytest.param(encode(SHARP, "PNG"), id="as-png"),
        pytest.param(encode(make_card((2000, 1260))), id="larger-copy"),
    ],
)
def test_same_picture_refused(back: bytes) -> None:
    front = clean_photo(encode(SHARP, quality=90), field="id_front")
    with pytest.raises(RuleViolation) as caught:
        check_pair(front, clean_photo(back, field="id_back"))
    assert (caught.value.code, caught.value.field) == ("photo.same_picture", "id_back")


# --- fit_to_limit ------------------------------------------------------------------------------


def test_fit_to_limit_shrinks_and_result_passes() -> None:
    limits = PhotoLimits(max_bytes=150_000)
    data = encode(make_card((3000, 1890)), quality=100, exif=exif_with_gps(orientation=1))
    assert len(data) > limits.max_bytes
    fitted = fit_to_limit(data, limits=limits)
    assert len(fitted) <= limits.max_bytes
    photo = clean_photo(fitted, field="id_front", limits=limits)
    assert photo.format == "JPEG"
    assert b"ExampleCam" not in fitted


def test_fit_to_limit_converts_and_rotates() -> None:
    data = encode(noise((300, 300)).resize((1200, 756)), "PNG", exif=exif_with_gps(orientation=6))
    fitted = fit_to_limit(data, limits=PhotoLimits(max_bytes=300_000))
    with Image.open(io.BytesIO(fitted)) as image:
        assert (image.format, image.size[0] < image.size[1]) == ("JPEG", True)
        assert min(image.size) >= 400 and not image.getexif()


@pytest.mark.parametrize(
    ("data", "limits", "code"),
    [
        (encode(noise((1000, 630))), PhotoLimits(max_bytes=20_000), "photo.too_large"),
        (b"not an image", PhotoLimits(), "photo.format"),
    ],
)
def test_fit_to_limit_refused(data: bytes, limits: PhotoLimits, code: str) -> None:
    with pytest.raises(RuleViolation) as caught:
        fit_to_limit(data, limits=limits, field="id_front")
    assert (caught.value.code, caught.value.field) == (code, "id_front")


# --- LocalDocumentStore ------------------------------------------------------------------------


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()]


async def test_store_round_trip(tmp_path: Path) -> None:
    store: DocumentStore = LocalDocumentStore(tmp_path)
    photo: CleanPhoto = clean_photo(encode(SHARP), field="id_front")
    ref = await store.put(photo.data, content_type="image/jpeg")
    assert ref == f"sha256:{photo.sha256}"
    assert await store.get(ref) == photo.data
    assert await store.exists(ref)
    assert stored_files(tmp_path) == [tmp_path / photo.sha256[:2] / photo.sha256]


async def test_store_put_is_idempotent(tmp_path: Path) -> None:
    store = LocalDocumentStore(tmp_path)
    refs = await asyncio.gather(*(store.put(b"same", content_type="image/png") for _ in range(5)))
    refs.append(await store.put(b"same", content_type="image/png"))
    assert len(set(refs)) == 1
    assert len(stored_files(tmp_path)) == 1  # no temp files left behind either


async def test_store_missing_ref(tmp_path: Path) -> None:
    store = LocalDocumentStore(tmp_path)
    ref = "sha256:" + hashlib.sha256(b"never stored").hexdigest()
    assert not await store.exists(ref)
    with pytest.raises(FileNotFoundError):
        await store.get(ref)


@pytest.mark.parametrize(
    "ref",
    [
        "sha256:../../etc",
        "sha256:../../etc/passwd",
        "sha256:" + "0" * 63,
        "sha256:" + "0" * 65,
        "sha256:" + "A" * 64,
        "sha256:" + "0" * 64 + "\n",
        "sha256:" + "0" * 62 + "/x",
        "SHA256:" + "0" * 64,
        "md5:" + "0" * 32,
        "0" * 64,
        "",
    ],
)
async def test_store_rejects_malformed_refs(tmp_path: Path, ref: str) -> None:
    store = LocalDocumentStore(tmp_path)
    with pytest.raises(ValueError):
        await store.get(ref)
    with pytest.raises(ValueError):
        await store.exists(ref)
