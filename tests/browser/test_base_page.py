"""The pages' base in a real browser: Chinese, phone-sized, htmx loaded under the strict CSP with
nothing blocked, and the page's CSRF token on htmx requests."""

from __future__ import annotations

from playwright.async_api import BrowserContext, ConsoleMessage

from testkit.edge import Edge


async def test_the_home_page_loads_htmx_under_the_csp_on_a_phone(
    phone: BrowserContext, live_edge: Edge
) -> None:
    page = await phone.new_page()
    problems: list[str] = []

    def watch(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            problems.append(message.text)

    page.on("console", watch)
    answer = await page.goto(f"{live_edge.url}/")
    assert answer is not None and answer.status == 200
    assert answer.headers["cache-control"] == "no-store"
    assert await page.evaluate("document.documentElement.lang") == "zh-CN"
    await page.wait_for_function("window.htmx !== undefined")
    assert await page.evaluate("htmx.config.includeIndicatorStyles") is False
    # static/csrf.js puts the page's token (its meta tag) on every htmx request.
    token = await page.evaluate("document.querySelector('meta[name=csrf-token]').content")
    async with page.expect_request("**/healthz") as sent:
        await page.evaluate("htmx.ajax('GET', '/healthz', {swap: 'none'})")
    assert len(token) == 64
    assert (await sent.value).headers.get("x-csrf-token") == token
    # Nothing the CSP refused (an inline style or script would show here), no overflow.
    assert not problems, problems
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 375
