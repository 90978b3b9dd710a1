"""Synthetic ID-card pictures for the demo and the tests: drawn shapes and invented text only."""

from __future__ import annotations

import io
from functools import cache

from PIL import Image, ImageDraw, ImageFont


def make_card(size: tuple[int, int] = (1000, 630), side: str = "front") -> Image.Image:
    """A card-like picture: border, dark blocks, lines of invented text, fine hatching."""
    w, h = size
    u = w / 1000
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(8, round(28 * u)))
    draw.rectangle((4 * u, 4 * u, w - 5 * u, h - 5 * u), outline="black", width=round(3 * u))
    if side == "front":
        draw.rectangle((680 * u, 80 * u, 940 * u, 420 * u), fill=(40, 40, 40))
        lines = [
            "NAME  ZHANG SAN",
            "SEX  M   NATION  HAN",
            "BORN  1990 01 01",
            "ADDRESS  NO 1 EXAMPLE ROAD",
            "NANJING  JIANGSU",
            "ID  000000000000000000",
        ]
        top, step, left = 70, 80, 50
    else:
        draw.ellipse((60 * u, 60 * u, 260 * u, 260 * u), fill=(150, 20, 20))
        lines = [
            "PEOPLES REPUBLIC",
            "RESIDENT IDENTITY CARD",
            "AUTHORITY  EXAMPLE",
            "VALID  2020 01 01 - 2040 01 01",
        ]
        top, step, left = 90, 110, 320
    for i, text in enumerate(lines):
        draw.text((left * u, (top + i * step) * u), text, fill="black", font=font)
    for x in range(0, w, max(2, round(12 * u))):
        draw.line((x, h - 60 * u, x + 40 * u, h - 20 * u), fill=(90, 90, 160), width=1)
    return img


@cache
def card_jpeg(side: str) -> bytes:
    """A sample photo of one side ("front" or "back"), as a phone would upload it."""
    out = io.BytesIO()
    make_card(side=side).save(out, "JPEG", quality=92)
    return out.getvalue()
