"""What the applicant's browser tests share: invented photos, the SMS outbox, and the steps of
the pages a person goes through."""

from __future__ import annotations

import io
import random
import re

from PIL import Image
from playwright.async_api import BrowserContext, Page, expect

from devtools.samples import card_jpeg, make_card
from starter.client import RegistrationClient
from store.seed import Person
from testkit import eventually, outbox
from testkit.edge import STAFF_PASSWORD, Edge
from testkit.harness import App

_CODE = re.compile(r"验证码为(\d{6})")


def phone_photo(megabytes: float = 8) -> bytes:
    """A 4000×2520 phone photo of the card, grainy enough that its JPEG is over `megabytes`."""
    size = (4000, 2520)
    noise = Image.frombytes("RGB", size, random.Random(7).randbytes(size[0] * size[1] * 3))
    picture = Image.blend(make_card(size, "front"), noise, 0.4)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=97)
    assert len(out.getvalue()) > megabytes * 2**20
    return out.getvalue()


def jpeg(data: bytes, name: str) -> dict[str, object]:
    return {"name": name, "mimeType": "image/jpeg", "buffer": data}


async def sms_codes(app: App, phone: str) -> list[str]:
    """The registration codes texted to `phone`, oldest first (the embedded SMS outbox)."""
    rows = await outbox(app, phone, "sms")
    return [match[1] for row in rows if (match := _CODE.search(row.body))]


async def latest_code(app: App, phone: str, after: int = 0) -> str:
    """The newest code once more than `after` codes were sent."""

    async def sent() -> list[str]:
        codes = await sms_codes(app, phone)
        return codes if len(codes) > after else []

    return (await eventually(sent))[-1]


async def accept_notice(page: Page) -> None:
    await expect(page.get_by_role("heading", name="系统公告与隐私政策")).to_be_visible()
    await page.get_by_label("我已阅读并同意").check()
    await page.get_by_label("我单独同意").check()
    await page.get_by_role("button", name="同意并继续").click()
    await expect(page.get_by_role("heading", name="填写注册信息")).to_be_visible()


async def fill_person(page: Page, person: Person) -> None:
    await page.locator("#f-name").fill(person.name)
    await page.locator("#f-id_number").fill(person.id_number)
    await page.locator("#f-phone").fill(person.phone)
    await page.locator("#f-email").fill(person.email)


async def fill_unit(page: Page, unit: tuple[str, str]) -> None:
    await page.locator("#f-unit_name").fill(unit[1])
    await page.locator("#f-unit_code").fill(unit[0])


async def choose_photos(page: Page, front: bytes | None = None) -> None:
    await page.locator("#f-id_card_front").set_input_files(
        jpeg(front or card_jpeg("front"), "front.jpg")  # type: ignore[arg-type]
    )
    await page.locator("#f-id_card_back").set_input_files(
        jpeg(card_jpeg("back"), "back.jpg")  # type: ignore[arg-type]
    )


class Reviewer:
    """A unit admin in a browser of their own, logged in, deciding through the edge's JSON API
    (the staff portal's pages are another engineer's; the API is what they call)."""

    def __init__(self, context: BrowserContext, url: str | None) -> None:
        assert url is not None, "the edge is not served"
        self.request = context.request
        self.url = url
        self.csrf = ""

    async def log_in(self, username: str) -> None:
        answer = await self.request.post(
            f"{self.url}/api/v1/staff/session",
            data={"username": username, "password": STAFF_PASSWORD},
        )
        assert answer.ok, await answer.text()
        self.csrf = (await answer.json())["csrf_token"]

    async def decide(self, workflow_id: str, **decision: object) -> dict[str, object]:
        answer = await self.request.post(
            f"{self.url}/api/v1/review/{workflow_id}/decision",
            data=decision,
            headers={"X-CSRF-Token": self.csrf},
        )
        assert answer.ok, await answer.text()
        body: dict[str, object] = await answer.json()
        return body


def registrations_of(live_edge: Edge) -> RegistrationClient:
    """The typed client of the worker behind the live edge (what the reviewer's side uses)."""
    assert live_edge.harness is not None
    return live_edge.harness.client
