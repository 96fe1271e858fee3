"""A stand-in engine process for the kill -9 test: enqueue alerts and deliver them.

Usage: python notify_engine_child.py DB URL run|drain

``run`` simulates minutes of trading (one alert per minute, a guard transition every 10) on an
accelerated clock and delivers through an OutboxWorker pass every simulated 5 s; it never ends
by itself (the test kills it). ``drain`` delivers what is pending on a clock hours later, and
exits 0 once nothing is pending.
"""

from __future__ import annotations

import sys
import time

from notify_sqlite_outbox import SqliteOutbox

from xsmom.notify import Backoff, DiscordChannel, OutboxWorker, WebhookUrl, enqueue
from xsmom.notify import messages as m

T0 = 1_767_225_600_000


def _run(box: SqliteOutbox, worker: OutboxWorker, now: list[int], ch: DiscordChannel) -> None:
    for step in range(10**6):
        now[0] = T0 + step * 5_000
        if step % 12 == 0:
            minute = step // 12
            t = now[0]
            enqueue(
                box,
                m.FillsSummarized(ts_event=t, ts_init=t, bar_ms=t, fills=1, notional=1.0, fees=0.0),
                [ch],
                t,
            )
            if minute % 10 == 3:
                enqueue(
                    box,
                    m.GuardTransitioned(
                        ts_event=t,
                        ts_init=t,
                        from_state="active",
                        to_state="halted",
                        guard="stale_data",
                        reason="no bar",
                    ),
                    [ch],
                    t,
                )
            print(f"enqueued {minute}", flush=True)
        worker.run_once()
        time.sleep(0.002)


def main() -> int:
    db, url, mode = sys.argv[1:4]
    box = SqliteOutbox(db)
    ch = DiscordChannel(WebhookUrl(url), timeout_s=2.0)
    now = [T0]
    worker = OutboxWorker(box, [ch], clock=lambda: now[0], backoff=Backoff(base_s=2, max_s=120))
    if mode == "run":
        _run(box, worker, now, ch)
        return 1
    now[0] = T0 + 10 * 3_600_000
    for _ in range(1000):
        worker.run_once()
        if not box.pending():
            return 0
        now[0] += 5_000
    return 1


if __name__ == "__main__":
    sys.exit(main())
