"""An engine process for the kill -9 test: record events and their alerts in the real ledger,
and deliver them with the real outbox worker.

Usage: python notify_engine_child.py LEDGER_URL WEBHOOK_URL run|drain

``run`` simulates trading on an accelerated clock (one simulated minute per step): each step
records an equity point and its ``FillsSummarized`` alert in one ledger transaction (a
``GuardTransitioned`` too every tenth minute), prints ``enqueued N`` once committed and wakes
the ``OutboxWorker`` thread, which delivers from the ledger to Discord. It never ends by
itself (the test kills it). ``drain`` starts the worker on a clock days later and exits 0 once
the ledger has nothing pending (1 if it still has after 60 s).
"""

from __future__ import annotations

import sys
import time

from xsmom.ledger import Ledger, open_ledger
from xsmom.notify import Backoff, DiscordChannel, OutboxWorker, WebhookUrl, enqueue
from xsmom.notify import messages as m

T0 = 1_767_225_600_000  # 2026-01-01T00:00Z
MINUTE = 60_000


def _step(ledger: Ledger, ch: DiscordChannel, minute: int) -> None:
    t = T0 + minute * MINUTE
    with ledger.transaction() as tx:  # the event and its alerts commit together, or neither
        tx.record_equity(ts=t, equity=1000.0 + minute, wallet=1000.0, unrealized=float(minute))
        fills = m.FillsSummarized(ts_event=t, ts_init=t, bar_ms=t, fills=1, notional=1.0, fees=0.0)
        enqueue(tx, fills, [ch], t)
        if minute % 10 == 3:
            guard = m.GuardTransitioned(
                ts_event=t,
                ts_init=t,
                from_state="active",
                to_state="halted",
                guard="stale_data",
                reason="no bar",
            )
            enqueue(tx, guard, [ch], t)


def _run(ledger: Ledger, ch: DiscordChannel, now: list[int]) -> None:
    worker = OutboxWorker(
        ledger, [ch], clock=lambda: now[0], poll_s=0.01, backoff=Backoff(base_s=2, max_s=120)
    )
    worker.start()
    for minute in range(10**6):
        now[0] = T0 + minute * MINUTE
        _step(ledger, ch, minute)
        print(f"enqueued {minute}", flush=True)
        worker.wake()
        time.sleep(0.02)


def _drain(ledger: Ledger, ch: DiscordChannel) -> int:
    later = T0 + 7 * 24 * 3_600_000  # past every scheduled retry
    worker = OutboxWorker(ledger, [ch], clock=lambda: later, poll_s=0.01)
    worker.start()
    deadline = time.monotonic() + 60
    while ledger.pending() and time.monotonic() < deadline:
        time.sleep(0.05)
    worker.stop()
    return 0 if not ledger.pending() else 1


def main() -> int:
    url, hook, mode = sys.argv[1:4]
    ledger = open_ledger(url)
    ch = DiscordChannel(WebhookUrl(hook), timeout_s=60.0)
    if mode == "run":
        _run(ledger, ch, [T0])
        return 1
    return _drain(ledger, ch)


if __name__ == "__main__":
    sys.exit(main())
