"""What a channel is, what a send returns, and the one HTTP call every webhook channel makes.

A send never raises: it returns a :class:`SendResult` that says ``ok``, ``retry`` (HTTP 429
with its ``retry_after``, 5xx, 408, timeouts, connection errors) or ``permanent`` (any other
4xx, an invalid payload). Its ``detail`` is already scrubbed of the channel's secrets.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any, Literal, Protocol

import httpx

from xsmom.notify.outbox_types import SEVERITIES
from xsmom.notify.render import Rendered
from xsmom.notify.secrets import WebhookUrl, guard_library_logs

Outcome = Literal["ok", "retry", "permanent"]
MAX_DETAIL = 300


@dataclass(frozen=True, slots=True, kw_only=True)
class SendResult:
    """What happened to one send on one channel (no secret in ``detail``)."""

    outcome: Outcome
    status: int | None = None
    detail: str = ""
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        """Return True when the channel accepted the message."""
        return self.outcome == "ok"

    def describe(self) -> str:
        """Return one line: ``ok (HTTP 204)``, ``retry: HTTP 503 ...``, ``permanent: ...``."""
        status = f"HTTP {self.status}" if self.status is not None else ""
        if self.ok:
            return f"ok ({status})" if status else "ok"
        parts = [p for p in (status, self.detail) if p]
        if self.retry_after_s is not None:
            parts.append(f"retry after {self.retry_after_s:g} s")
        return f"{self.outcome}: {'; '.join(parts)}"


class Channel(Protocol):
    """A destination for rendered messages."""

    name: str
    min_severity: str

    def send(self, message: Rendered) -> SendResult:
        """Deliver ``message``; never raise."""
        ...

    def redact(self, text: str) -> str:
        """Return ``text`` without this channel's secrets."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


class HttpChannel:
    """What every webhook channel shares: a secret URL (masked in every log from now on), a
    name, a severity threshold and an HTTP client; subclasses add ``send``."""

    def __init__(
        self,
        url: WebhookUrl,
        *,
        name: str,
        min_severity: str,
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.name = name
        self.min_severity = min_severity
        self._url = url
        guard_library_logs(url)
        self._client = httpx.Client(timeout=timeout_s, transport=transport)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, url={self._url!r})"

    def redact(self, text: str) -> str:
        """Return ``text`` without the webhook URL."""
        return self._url.redact(text)

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()


def accepts(min_severity: str, severity: str) -> bool:
    """Return True if a message of ``severity`` passes a ``min_severity`` threshold."""
    rank = {s: i for i, s in enumerate(SEVERITIES)}
    return rank.get(severity, len(SEVERITIES)) >= rank[min_severity]


def _retry_after(response: httpx.Response) -> float | None:
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        body = None
    if isinstance(body, dict) and isinstance(body.get("retry_after"), int | float):
        return max(0.0, float(body["retry_after"]))
    header = response.headers.get("retry-after")
    if header is None:
        return None
    try:
        return max(0.0, float(header))
    except ValueError:
        pass  # not seconds: an HTTP date
    try:
        when = parsedate_to_datetime(header).timestamp()
        date = response.headers.get("date")
        now = parsedate_to_datetime(date).timestamp() if date else time.time()
    except (TypeError, ValueError):
        return None
    return max(0.0, when - now)


def _error_text(response: httpx.Response) -> str:
    try:
        body: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return response.text[:MAX_DETAIL]
    if isinstance(body, dict) and "message" in body:
        code = f" (code {body['code']})" if "code" in body else ""
        return f"{body['message']}{code}"
    return json.dumps(body)[:MAX_DETAIL]


def classify(response: httpx.Response) -> SendResult:
    """Return the outcome of an HTTP answer: 2xx ok, 429/5xx/408 retry, other 4xx permanent."""
    status = response.status_code
    if 200 <= status < 300:
        return SendResult(outcome="ok", status=status)
    if status == 429:
        return SendResult(
            outcome="retry",
            status=status,
            detail="rate limited",
            retry_after_s=_retry_after(response),
        )
    outcome: Outcome = "retry" if status >= 500 or status == 408 else "permanent"
    return SendResult(outcome=outcome, status=status, detail=_error_text(response))


def post(client: httpx.Client, url: WebhookUrl, **kwargs: Any) -> SendResult:
    """POST to ``url`` and classify the answer; transport errors are ``retry``, scrubbed."""
    try:
        response = client.post(url.reveal(), **kwargs)
    except httpx.TransportError as exc:
        # httpx messages can embed the URL: keep only the scrubbed text
        detail = url.redact(f"{type(exc).__name__}: {exc}")[:MAX_DETAIL]
        return SendResult(outcome="retry", detail=detail)
    except httpx.HTTPError as exc:
        detail = url.redact(f"{type(exc).__name__}: {exc}")[:MAX_DETAIL]
        return SendResult(outcome="permanent", detail=detail)
    result = classify(response)
    return SendResult(
        outcome=result.outcome,
        status=result.status,
        detail=url.redact(result.detail)[:MAX_DETAIL],
        retry_after_s=result.retry_after_s,
    )
