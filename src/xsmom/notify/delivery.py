"""Outbox delivery: enqueue inside the event's transaction, send later, at least once.

``enqueue`` writes one outbox row per channel that accepts the message's severity.
``deliver_due`` sends what is due, marks a row delivered only after its channel accepted it,
and otherwise schedules the next attempt: HTTP 429 after the server's ``retry_after`` (capped),
5xx and network errors after an exponential backoff, other 4xx parked as permanent failures
(kept undelivered with their error, see :data:`PARKED_MS`). It never raises into its caller.
:class:`OutboxWorker` runs it on a background thread so the trading loop never waits on a
webhook.
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from xsmom.notify.channel import Channel, SendResult, accepts
from xsmom.notify.messages import Message
from xsmom.notify.outbox_types import Outbox, OutboxItem
from xsmom.notify.render import render

log = logging.getLogger(__name__)

PARKED_MS = 2**62  # next_attempt_ms of a permanent failure: never due again by itself
MAX_ERROR = 500


@dataclass(frozen=True, slots=True, kw_only=True)
class Backoff:
    """When to try again after a failed send."""

    base_s: float = 2.0
    max_s: float = 300.0
    rate_limit_max_s: float = 900.0

    def delay_ms(self, attempts: int, result: SendResult) -> int:
        """Return the wait before attempt ``attempts + 2`` (``attempts`` failed before)."""
        if result.retry_after_s is not None:
            return int(min(result.retry_after_s, self.rate_limit_max_s) * 1000)
        return int(min(self.base_s * 2 ** min(attempts, 30), self.max_s) * 1000)


@dataclass
class DeliveryReport:
    """Counts of one or more delivery passes."""

    sent: int = 0
    retried: int = 0
    parked: int = 0
    errors: int = 0
    blocked: list[str] = field(default_factory=list)

    def add(self, other: DeliveryReport) -> None:
        """Add ``other``'s counts to this report."""
        self.sent += other.sent
        self.retried += other.retried
        self.parked += other.parked
        self.errors += other.errors


class ChannelGate:
    """Per-channel 'do not send before' times (a 429 or an outage holds the whole channel)."""

    def __init__(self) -> None:
        self._until: dict[str, int] = {}

    def blocked(self, channel: str, now_ms: int) -> bool:
        """Return True if ``channel`` must not be called at ``now_ms``."""
        return now_ms < self._until.get(channel, 0)

    def hold(self, channel: str, until_ms: int) -> None:
        """Block ``channel`` until ``until_ms``."""
        self._until[channel] = max(self._until.get(channel, 0), until_ms)


@runtime_checkable
class AlertWriter(Protocol):
    """An open ledger transaction that can add alerts (``LedgerTx.enqueue_alert``)."""

    def enqueue_alert(
        self,
        *,
        dedup_key: str,
        channels: Sequence[str],
        kind: str,
        severity: str,
        payload: Mapping[str, Any],
        now_ms: int,
    ) -> int:
        """Add a row per channel inside the caller's transaction; return rows added."""
        ...


def enqueue(
    outbox: Outbox | AlertWriter, message: Message, channels: Sequence[Channel], now_ms: int
) -> int:
    """Add ``message`` for every channel accepting its severity; return the rows added.

    Pass the engine's open ledger transaction (an :class:`AlertWriter`) to write the alert
    with the event that caused it, or any :class:`Outbox` to write it on its own.
    """
    names = [c.name for c in channels if accepts(c.min_severity, message.severity)]
    if not names:
        return 0
    write = outbox.enqueue_alert if isinstance(outbox, AlertWriter) else outbox.enqueue
    return write(
        dedup_key=message.dedup_key,
        channels=names,
        kind=message.kind,
        severity=message.severity,
        payload=message.to_payload(),
        now_ms=now_ms,
    )


def _send(channel: Channel, item: OutboxItem) -> SendResult:
    try:
        rendered = render(item.payload)
    except Exception as exc:  # noqa: BLE001  # a payload we cannot read is parked, not retried
        return SendResult(outcome="permanent", detail=f"cannot render: {exc}")
    return channel.send(rendered)


class _Scrub:
    """Remove the secrets of every channel (a failure on one may quote another's URL)."""

    def __init__(self, channels: Sequence[Channel]) -> None:
        self._channels = channels

    def __call__(self, text: str) -> str:
        for channel in self._channels:
            text = channel.redact(text)
        return text


def _record(
    outbox: Outbox,
    channel: Channel,
    item: OutboxItem,
    result: SendResult,
    now_ms: int,
    backoff: Backoff,
    scrub: _Scrub,
) -> int | None:
    """Mark the row after a send; return the channel's next allowed time after a retry."""
    if result.ok:
        outbox.mark_delivered(item.id, now_ms)
        return None
    error = scrub(result.describe())[:MAX_ERROR]
    if result.outcome == "permanent":
        outbox.mark_failed(item.id, error, PARKED_MS)
        log.error("notify %s: %s parked: %s", channel.name, item.dedup_key, error)
        return None
    next_ms = now_ms + backoff.delay_ms(item.attempts, result)
    outbox.mark_failed(item.id, error, next_ms)
    n = item.attempts + 1
    log.warning("notify %s: %s attempt %d failed: %s", channel.name, item.dedup_key, n, error)
    return next_ms


def _deliver_channel(
    outbox: Outbox,
    channel: Channel,
    now_ms: int,
    backoff: Backoff,
    gate: ChannelGate | None,
    limit: int,
    report: DeliveryReport,
    scrub: _Scrub,
) -> None:
    if gate is not None and gate.blocked(channel.name, now_ms):
        report.blocked.append(channel.name)
        return
    for item in outbox.due(channel.name, now_ms, limit):
        result = _send(channel, item)
        next_ms = _record(outbox, channel, item, result, now_ms, backoff, scrub)
        if result.ok:
            report.sent += 1
        elif next_ms is None:
            report.parked += 1
        else:
            report.retried += 1
            if gate is not None:
                gate.hold(channel.name, next_ms)
            return  # the channel is failing or throttling: the rest waits for the next pass


def deliver_due(
    outbox: Outbox,
    channels: Sequence[Channel],
    now_ms: int,
    *,
    backoff: Backoff | None = None,
    gate: ChannelGate | None = None,
    limit: int = 50,
) -> DeliveryReport:
    """Send the rows due by ``now_ms`` on each channel; never raise (log and count instead)."""
    backoff = backoff or Backoff()
    report = DeliveryReport()
    scrub = _Scrub(channels)
    for channel in channels:
        try:
            _deliver_channel(outbox, channel, now_ms, backoff, gate, limit, report, scrub)
        except Exception:  # noqa: BLE001  # boundary: logged below with a scrubbed traceback
            report.errors += 1
            log.error(
                "notify %s: delivery failed\n%s",
                channel.name,
                scrub(traceback.format_exc()),
            )
    return report


def wall_ms() -> int:
    """Return the wall clock in ms since the epoch."""
    return time.time_ns() // 1_000_000


class OutboxWorker:
    """Deliver the outbox on a background thread every ``poll_s`` (or at once on ``wake``)."""

    def __init__(
        self,
        outbox: Outbox,
        channels: Sequence[Channel],
        *,
        clock: Callable[[], int] = wall_ms,
        poll_s: float = 1.0,
        backoff: Backoff | None = None,
        limit: int = 50,
    ) -> None:
        self._outbox = outbox
        self._channels = tuple(channels)
        self._clock = clock
        self._poll_s = poll_s
        self._backoff = backoff or Backoff()
        self._limit = limit
        self._gate = ChannelGate()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.totals = DeliveryReport()
        self.passes = 0

    def start(self) -> None:
        """Start the thread (once)."""
        if self._thread is not None:
            raise RuntimeError("OutboxWorker already started")
        self._thread = threading.Thread(target=self._run, name="xsmom-outbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Ask for a pass now (after enqueuing an alert)."""
        self._wake.set()

    def stop(self, timeout_s: float = 10.0) -> bool:
        """Stop after the current pass; return True if the thread ended within ``timeout_s``."""
        self._stop.set()
        self._wake.set()
        if self._thread is None:
            return True
        self._thread.join(timeout_s)
        return not self._thread.is_alive()

    def run_once(self) -> DeliveryReport:
        """Run one delivery pass on the caller's thread."""
        report = deliver_due(
            self._outbox,
            self._channels,
            self._clock(),
            backoff=self._backoff,
            gate=self._gate,
            limit=self._limit,
        )
        self.totals.add(report)
        self.passes += 1
        return report

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_once()
            self._wake.wait(self._poll_s)
            self._wake.clear()
