"""Channels over httpx.MockTransport: how each HTTP answer is classified, what is posted."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from notify_catalogue import EXAMPLES, PNG

from xsmom.notify import ConsoleChannel, DiscordChannel, JsonWebhookChannel, WebhookUrl, render
from xsmom.notify.channel import SendResult, accepts

URL = "https://discord.com/api/webhooks/1234567890123456789/SECRETtoken-abcdefghijklmnop"


def _discord(handler: Callable[[httpx.Request], httpx.Response]) -> DiscordChannel:
    return DiscordChannel(WebhookUrl(URL), transport=httpx.MockTransport(handler))


def _send(response: httpx.Response) -> SendResult:
    return _discord(lambda req: response).send(render(EXAMPLES[0][0]))


def test_success_and_permanent_statuses() -> None:
    assert _send(httpx.Response(200, json={"id": "1"})).describe() == "ok (HTTP 200)"
    assert _send(httpx.Response(204)).ok
    bad = _send(httpx.Response(400, json={"message": "Invalid Form Body", "code": 50035}))
    assert (bad.outcome, bad.status) == ("permanent", 400)
    assert bad.describe() == "permanent: HTTP 400; Invalid Form Body (code 50035)"
    assert _send(httpx.Response(404, json={"message": "Unknown Webhook"})).outcome == "permanent"
    assert _send(httpx.Response(401, text="nope")).describe() == "permanent: HTTP 401; nope"


def test_retryable_statuses() -> None:
    for status in (500, 502, 503, 504, 408):
        r = _send(httpx.Response(status, text="down"))
        assert (r.outcome, r.status, r.retry_after_s) == ("retry", status, None)


def test_429_takes_retry_after_from_the_body_then_the_header() -> None:
    body = {"message": "You are being rate limited.", "retry_after": 2.5, "global": False}
    r = _send(httpx.Response(429, json=body, headers={"Retry-After": "3"}))
    assert (r.outcome, r.retry_after_s) == ("retry", 2.5)
    assert r.describe() == "retry: HTTP 429; rate limited; retry after 2.5 s"
    assert _send(httpx.Response(429, headers={"Retry-After": "7"})).retry_after_s == 7.0
    dated = httpx.Response(
        429,
        headers={
            "Retry-After": "Wed, 21 Oct 2026 07:28:30 GMT",
            "Date": "Wed, 21 Oct 2026 07:28:00 GMT",
        },
    )
    assert _send(dated).retry_after_s == 30.0
    assert _send(httpx.Response(429)).retry_after_s is None


def test_transport_errors_are_retried_and_scrubbed() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {request.url}", request=request)

    r = _discord(boom).send(render(EXAMPLES[0][0]))
    assert r.outcome == "retry" and r.status is None
    assert r.detail.startswith("ConnectError: cannot reach ***")
    assert "SECRET" not in r.describe() and "1234567890123456789" not in r.describe()


def test_discord_posts_json_with_wait_and_multipart_for_a_chart() -> None:
    seen: list[httpx.Request] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "1"})

    ch = _discord(record)
    assert ch.send(render(EXAMPLES[0][0])).ok
    assert seen[0].url.params["wait"] == "true"
    assert seen[0].headers["content-type"] == "application/json"
    assert json.loads(seen[0].content)["embeds"][0]["title"] == "Engine started (paper)"
    assert ch.send(render(EXAMPLES[12][0])).ok  # the daily report with its PNG
    body = seen[1].read()
    assert seen[1].headers["content-type"].startswith("multipart/form-data; boundary=")
    assert b'name="payload_json"' in body and b'name="files[0]"; filename="equity.png"' in body
    assert PNG in body


def test_json_webhook_is_slack_compatible_with_structured_fields() -> None:
    seen: list[dict] = []  # type: ignore[type-arg]

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(json.loads(request.content))
        return httpx.Response(200, text="ok")

    ch = JsonWebhookChannel(WebhookUrl(URL), transport=httpx.MockTransport(record))
    message = EXAMPLES[12][0]
    assert ch.send(render(message)).ok
    doc = seen[0]
    assert doc["text"].startswith("[INFO] Daily report 2025-12-31\n")
    assert "(daily_report:2025-12-31)" in doc["text"]
    assert "equity.png is sent on Discord only" in doc["text"]
    assert doc["xsmom"]["dedup_key"] == "daily_report:2025-12-31"
    assert doc["xsmom"]["time"] == "2026-01-01T00:00:00Z"
    assert {"name": "PnL", "value": "-12.50 USDT"} in doc["xsmom"]["fields"]
    assert "WebhookUrl(***)" in repr(ch) and "SECRET" not in repr(ch)


def test_console_writes_text_and_a_broken_stream_is_a_retry() -> None:
    lines: list[str] = []
    assert ConsoleChannel(echo=lines.append).send(render(EXAMPLES[1][0])).ok
    assert lines[0].startswith("[notify] [CRITICAL] Engine stopped UNEXPECTEDLY")

    def broken(text: str) -> None:
        raise BrokenPipeError("pipe closed")

    r = ConsoleChannel(echo=broken).send(render(EXAMPLES[1][0]))
    assert r.outcome == "retry" and "BrokenPipeError" in r.detail


@pytest.mark.parametrize(
    ("threshold", "passes"),
    [
        ("info", {"info", "warning", "critical"}),
        ("warning", {"warning", "critical"}),
        ("critical", {"critical"}),
    ],
)
def test_severity_threshold(threshold: str, passes: set[str]) -> None:
    assert {s for s in ("info", "warning", "critical") if accepts(threshold, s)} == passes
