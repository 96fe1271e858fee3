"""The engine's daily report: a bar hook that publishes each UTC day once it has ended.

Wired by ``xsmom live`` (the CLI is where packages meet): after the first bar processed on a new
UTC day, the report of the day before is written to ``HOME/reports/daily-YYYY-MM-DD.html`` and
enqueued as a `DailyReportCreated` alert (one per day, by its dedup key). The last day published
is kept in the ledger's meta, so a restart across midnight still publishes the missed day once.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from xsmom.live.active import BarContext, BarHook
from xsmom.notify.channel import Channel
from xsmom.reports import publish_daily_report
from xsmom.reports.daily import day_of

log = logging.getLogger(__name__)
META_KEY = "daily_report_last_day"


def daily_report_hook(channels: Sequence[Channel], out_dir: Path) -> BarHook:
    """Return a bar hook publishing the report of each UTC day after it has ended."""

    def publish_ended_day(ctx: BarContext) -> None:
        today = day_of(ctx.now_ms)
        last = ctx.ledger.meta().get(META_KEY)
        if last is None:  # first bar of a new bot: nothing ended yet
            _remember(ctx, today.fromordinal(today.toordinal() - 1))
            return
        day = date.fromisoformat(str(last))
        while day.toordinal() + 1 < today.toordinal():
            day = day.fromordinal(day.toordinal() + 1)
            _publish(ctx, day, channels, out_dir)
            _remember(ctx, day)

    return publish_ended_day


def _publish(ctx: BarContext, day: date, channels: Sequence[Channel], out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    report = publish_daily_report(
        ctx.ledger, day, channels=channels, out_dir=out_dir, now_ms=ctx.now_ms
    )
    log.info("daily report %s published (PnL %+.2f)", day.isoformat(), report.pnl)


def _remember(ctx: BarContext, day: date) -> None:
    with ctx.ledger.transaction() as tx:
        tx.set_meta(META_KEY, day.isoformat(), ctx.now_ms)
