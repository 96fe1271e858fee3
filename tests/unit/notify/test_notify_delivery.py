"""deliver_due and OutboxWorker: delivered only after success, retries scheduled, never raises."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from notify_catalogue import EXAMPLES, T

from xsmom.notify import (
    PARKED_MS,
    Backoff,
    ChannelGate,
    ConsoleChannel,
    DiscordChannel,
    OutboxWorker,
    WebhookUrl,
    deliver_due,
    enqueue,
)
from xsmom.notify import messages as m
from xsmom.notify.channel import SendResult
from xsmom.notify.outbox_types import OutboxItem
from xsmom.notify.render import Rendered
from xsmom.notify.testing import MemoryOutbox

TOKEN = "tok-SECRET-abcdefghijklmnopqrstuvwxyz0123456789"
URL = f"https://discord.com/api/webhooks/555555555555555555/{TOKEN}"


@dataclass
class Scripted:
    """A channel whose answers are given in advance (ok when the script runs out)."""

    name: str = "fake"
    min_severity: str = "info"
    script: list[SendResult] = field(default_factory=list)
    sent: list[str] = field(default_factory=list)

    def send(self, message: Rendered) -> SendResult:
        self.sent.append(message.dedup_key)
        return self.script.pop(0) if self.script else SendResult(outcome="ok", status=200)

    def redact(self, text: str) -> str:
        return text

    def close(self) -> None:
        pass


RETRY = SendResult(outcome="retry", status=503, detail="down")


def _alert(i: int) -> m.Message:
    return m.NoTradeAlerted(ts_event=T + i, ts_init=T + i, since_ms=T + i, bars=i, reason="r")


def test_enqueue_writes_one_row_per_accepting_channel_and_dedups() -> None:
    box = MemoryOutbox()
    loud, quiet = Scripted(name="loud"), Scripted(name="quiet", min_severity="critical")
    warning = _alert(1)
    assert enqueue(box, warning, [loud, quiet], T) == 1
    assert enqueue(box, warning, [loud, quiet], T + 5) == 0  # same event again: nothing
    assert [(i.channel, i.kind, i.severity) for i in box.pending()] == [
        ("loud", "no_trade", "warning")
    ]
    assert box.pending()[0].payload == warning.to_payload()
    assert enqueue(box, EXAMPLES[1][0], [loud, quiet], T) == 2  # critical reaches both
    assert enqueue(box, m.NotificationTested(ts_event=1, ts_init=1), [quiet], T) == 0


class Tx:
    """An open ledger transaction's alert writer (what ``LedgerTx.enqueue_alert`` offers)."""

    def __init__(self, box: MemoryOutbox) -> None:
        self.box = box
        self.calls = 0

    def enqueue_alert(self, **kw: Any) -> int:
        self.calls += 1
        return self.box.enqueue(**kw)


def test_enqueue_writes_through_an_open_transaction() -> None:
    box = MemoryOutbox()
    tx = Tx(box)
    assert enqueue(tx, _alert(1), [Scripted()], T) == 1
    assert tx.calls == 1 and [i.dedup_key for i in box.pending()] == [f"no_trade:{T + 1}"]


def test_delivered_only_after_success_and_retries_back_off() -> None:
    box = MemoryOutbox()
    ch = Scripted(script=[RETRY, RETRY, RETRY])
    enqueue(box, _alert(1), [ch], T)
    backoff = Backoff(base_s=2, max_s=300)
    r = deliver_due(box, [ch], T, backoff=backoff)
    assert (r.sent, r.retried) == (0, 1)
    row = box.pending()[0]
    assert (row.attempts, row.next_attempt_ms, row.last_error) == (
        1,
        T + 2_000,
        "retry: HTTP 503; down",
    )
    assert deliver_due(box, [ch], T + 1_999).retried == 0  # not due yet: no send
    assert len(ch.sent) == 1
    deliver_due(box, [ch], T + 2_000, backoff=backoff)  # 2nd failure: wait 4 s
    assert box.pending()[0].next_attempt_ms == T + 2_000 + 4_000
    deliver_due(box, [ch], T + 6_000, backoff=backoff)  # 3rd failure: wait 8 s
    assert box.pending()[0].next_attempt_ms == T + 6_000 + 8_000
    r = deliver_due(box, [ch], T + 14_000, backoff=backoff)
    assert r.sent == 1 and box.pending() == []
    assert box.all()[0].delivered_ms == T + 14_000 and box.all()[0].attempts == 3
    assert ch.sent == ["no_trade:" + str(T + 1)] * 4


def test_backoff_is_capped() -> None:
    b = Backoff(base_s=2, max_s=300, rate_limit_max_s=900)
    assert [b.delay_ms(n, RETRY) for n in (0, 1, 7, 8, 50)] == [
        2_000,
        4_000,
        256_000,
        300_000,
        300_000,
    ]
    limited = SendResult(outcome="retry", status=429, retry_after_s=3600)
    assert b.delay_ms(0, limited) == 900_000
    assert b.delay_ms(5, SendResult(outcome="retry", status=429, retry_after_s=0.25)) == 250


def test_429_schedules_the_row_and_holds_the_channel_without_sleeping() -> None:
    box = MemoryOutbox()
    limited = SendResult(outcome="retry", status=429, detail="rate limited", retry_after_s=600)
    ch = Scripted(script=[limited])
    for i in range(3):
        enqueue(box, _alert(i), [ch], T)
    gate = ChannelGate()
    started = time.monotonic()
    r = deliver_due(box, [ch], T, gate=gate)
    assert time.monotonic() - started < 1.0  # scheduled, not slept
    assert (r.retried, r.sent, len(ch.sent)) == (1, 0, 1)  # the other two were not tried
    assert box.pending()[0].next_attempt_ms == T + 600_000
    assert deliver_due(box, [ch], T + 599_999, gate=gate).blocked == ["fake"]
    assert len(ch.sent) == 1
    r = deliver_due(box, [ch], T + 600_000, gate=gate)
    assert r.sent == 3 and box.pending() == []


def test_permanent_failure_is_parked_with_its_error_and_the_rest_goes_on() -> None:
    box = MemoryOutbox()
    bad = SendResult(outcome="permanent", status=400, detail="Invalid Form Body (code 50035)")
    ch = Scripted(script=[bad])
    enqueue(box, _alert(1), [ch], T)
    enqueue(box, _alert(2), [ch], T)
    r = deliver_due(box, [ch], T)
    assert (r.parked, r.sent) == (1, 1)
    parked = box.pending()
    assert len(parked) == 1 and parked[0].next_attempt_ms == PARKED_MS
    assert parked[0].last_error == "permanent: HTTP 400; Invalid Form Body (code 50035)"
    assert deliver_due(box, [ch], 10**15).sent == 0  # parked rows are not retried on their own


def test_unreadable_payload_is_parked_not_raised() -> None:
    box = MemoryOutbox()
    ch = Scripted()
    box.enqueue(
        dedup_key="x",
        channels=["fake"],
        kind="mystery",
        severity="info",
        payload={"kind": "mystery"},
        now_ms=T,
    )
    r = deliver_due(box, [ch], T)
    assert r.parked == 1 and ch.sent == []
    assert "cannot render" in (box.pending()[0].last_error or "")


class BrokenOutbox(MemoryOutbox):
    def due(self, channel: str, now_ms: int, limit: int = 50) -> list[OutboxItem]:
        raise OSError(f"database is locked while reading for {URL}")


def test_deliver_due_never_raises_and_logs_a_scrubbed_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    box = BrokenOutbox()
    discord = DiscordChannel(
        WebhookUrl(URL), transport=httpx.MockTransport(lambda r: httpx.Response(200))
    )
    console = ConsoleChannel(echo=lambda s: None)
    with caplog.at_level(logging.ERROR, logger="xsmom.notify"):
        r = deliver_due(box, [discord, console], T)
    assert r.errors == 2
    assert "Traceback" in caplog.text and "database is locked" in caplog.text
    assert TOKEN not in caplog.text


def test_failed_http_send_leaves_no_secret_in_last_error() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"[Errno 111] refused: {request.url}", request=request)

    box = MemoryOutbox()
    ch = DiscordChannel(WebhookUrl(URL), transport=httpx.MockTransport(boom))
    enqueue(box, _alert(1), [ch], T)
    assert deliver_due(box, [ch], T).retried == 1
    error = box.pending()[0].last_error or ""
    assert error.startswith("retry: ConnectError: [Errno 111] refused: ***")
    assert TOKEN not in error and "555555555555555555" not in error


def test_worker_delivers_in_the_background_and_stops() -> None:
    box = MemoryOutbox()
    ch = Scripted(script=[RETRY])
    now = [T]
    worker = OutboxWorker(box, [ch], clock=lambda: now[0], poll_s=0.01, backoff=Backoff(base_s=1))
    worker.start()
    try:
        enqueue(box, _alert(1), [ch], now[0])
        worker.wake()
        deadline = time.monotonic() + 5
        while worker.totals.retried < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert worker.totals.retried == 1 and len(box.pending()) == 1
        now[0] += 1_000
        while box.pending() and time.monotonic() < deadline:
            time.sleep(0.01)
        assert box.pending() == [] and worker.totals.sent == 1
    finally:
        assert worker.stop(timeout_s=5)
    assert worker.passes >= 2
    with pytest.raises(RuntimeError, match="already started"):
        worker.start()


def test_worker_stop_returns_while_a_send_hangs_no_longer_than_its_timeout() -> None:
    release = threading.Event()

    @dataclass
    class Slow(Scripted):
        def send(self, message: Rendered) -> SendResult:
            release.wait(5)
            return SendResult(outcome="ok")

    box = MemoryOutbox()
    ch = Slow()
    enqueue(box, _alert(1), [ch], T)
    worker = OutboxWorker(box, [ch], clock=lambda: T, poll_s=0.01)
    worker.start()
    time.sleep(0.05)
    assert worker.stop(timeout_s=0.1) is False  # still inside the send: the caller is not held
    release.set()
    assert worker.stop(timeout_s=5) is True
