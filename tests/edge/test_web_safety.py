"""What every answer carries (CSP, nosniff, no-store), the pages' base, the access log without
personal data, cross-site refusals, and the CSRF token of anonymous forms."""

from __future__ import annotations

import logging

import pytest

from edge.web.middleware import CSP
from testkit.edge import Edge


async def test_every_answer_has_the_security_headers(edge: Edge) -> None:
    async with edge.client() as client:
        for path in ("/", "/api/v1/staff/session", "/api/v1/openapi.json", "/nowhere"):
            answer = await client.get(path)
            assert answer.headers["content-security-policy"] == CSP, path
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert answer.headers["referrer-policy"] == "same-origin"
            assert answer.headers["cache-control"] == "no-store"
        static = await client.get("/static/app.css")
    assert static.status_code == 200 and "no-store" not in static.headers["cache-control"]
    assert "script-src 'self';" in CSP and "unsafe-inline" not in CSP


async def test_the_home_page_is_chinese_mobile_first_and_loads_no_inline_script(
    edge: Edge,
) -> None:
    async with edge.client() as client:
        page = await client.get("/")
        htmx = await client.get("/static/htmx.min.js")
    assert page.status_code == 200
    html = page.text
    assert '<html lang="zh-CN">' in html
    assert 'name="viewport" content="width=device-width, initial-scale=1"' in html
    assert "<script>" not in html and 'src="http://testserver/static/htmx.min.js"' in html
    # htmx requests carry the page's CSRF token: static/csrf.js reads it from the meta tag.
    assert '<meta name="csrf-token" content="' in html and "static/csrf.js" in html
    assert htmx.status_code == 200 and "Zero-Clause BSD" in htmx.text[:200]
    assert "jshr_pre=" in page.headers["set-cookie"]


async def test_a_404_is_an_error_body_in_the_edges_shape(edge: Edge) -> None:
    async with edge.client() as client:
        answer = await client.get("/api/v1/nothing")
    assert answer.status_code == 404
    assert answer.json()["errors"][0]["code"] == "request.not_found"


async def test_the_access_log_has_no_query_string_and_no_ids(
    edge: Edge, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="edge.access")
    async with edge.client() as client:
        await client.get("/api/v1/csrf?phone=13800000001")
        await client.get("/api/v1/registrations/registration-0123456789abcdef/status")
    lines = [r.getMessage() for r in caplog.records if r.name == "edge.access"]
    assert any(line.startswith("GET /api/v1/csrf 200") for line in lines)
    assert not any("13800000001" in line or "0123456789abcdef" in line for line in lines)


async def test_a_cross_site_post_is_refused_before_any_route(edge: Edge) -> None:
    async with edge.client() as client:
        for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            answer = await client.post(
                "/api/v1/staff/session",
                json={"username": "admin_hospital", "password": "x"},
                headers=headers,
            )
            assert answer.status_code == 403
            assert answer.json()["errors"][0]["code"] == "csrf.origin"
            assert answer.headers["content-security-policy"] == CSP
        same = await client.post(
            "/api/v1/staff/session",
            json={"username": "admin_hospital", "password": "x"},
            headers={"Origin": "http://testserver"},
        )
    assert same.status_code == 401


async def test_anonymous_forms_get_a_token_bound_to_their_cookie(edge: Edge) -> None:
    async with edge.client() as client:
        answer = await client.get("/api/v1/csrf")
        token = answer.json()["csrf_token"]
        assert "jshr_pre=" in answer.headers["set-cookie"]
        assert (await client.get("/api/v1/csrf")).json()["csrf_token"] == token
    async with edge.client() as other:
        assert (await other.get("/api/v1/csrf")).json()["csrf_token"] != token


async def test_refusals_are_counted_by_code_without_personal_data(edge: Edge) -> None:
    async with edge.client() as client:
        await client.post(
            "/api/v1/staff/session", json={"username": "13800000001", "password": "Wrong#1"}
        )
        client.cookies.set("jshr_staff", "forged-token")
        await client.get("/api/v1/staff/session")
        metrics = (await client.get("/metrics")).text
    assert 'jshr_edge_refusals_total{code="auth.invalid_credentials"}' in metrics
    assert 'jshr_edge_refusals_total{code="session.unknown"}' in metrics
    assert "13800000001" not in metrics and "forged-token" not in metrics


async def test_an_unexpected_error_is_a_500_in_the_edges_shape_and_logs_no_message(
    edge: Edge, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("13800000001 张三")

    monkeypatch.setattr(edge.app.state.edge.auth, "login", broken)
    caplog.set_level(logging.INFO)
    async with edge.client() as client:
        answer = await client.post(
            "/api/v1/staff/session", json={"username": "admin_hospital", "password": "x"}
        )
    assert answer.status_code == 500
    assert answer.json()["errors"][0]["code"] == "server.error"
    assert answer.headers["content-security-policy"] == CSP
    assert "unexpected RuntimeError on POST /api/v1/staff/session" in caplog.text
    assert "13800000001" not in caplog.text and "张三" not in caplog.text
