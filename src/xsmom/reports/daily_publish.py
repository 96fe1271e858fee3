"""The daily report as an HTML page and as a ``DailyReportCreated`` message in the outbox.

:func:`publish_daily_report` is what the live engine calls once a UTC day has ended (see
``ended_day``): it writes ``daily-YYYY-MM-DD.html`` into the bot's reports folder and enqueues
the message with its PNG equity chart for every channel. Both are idempotent: the file is
replaced atomically, the outbox keeps one alert per day (dedup key ``daily_report:DATE``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from xsmom.data.atomic import atomic_write_text
from xsmom.ledger import Ledger
from xsmom.notify import Attachment, Channel, DailyReportCreated, enqueue
from xsmom.reports import charts
from xsmom.reports.daily import QUOTE, DailyReport, compute_daily
from xsmom.reports.html import Page, pairs_table, table_html

log = logging.getLogger(__name__)
CHART_DAYS = 30


def _money(x: float) -> str:
    return f"{x:,.2f} {QUOTE}"


def _count(v: object) -> str:
    return f"{float(str(v)):.0f}"


def _qty(v: object) -> str:
    x = float(str(v))
    return "" if x != x else f"{x:.6g}"


def summary_rows(r: DailyReport) -> list[tuple[str, str]]:
    """Return the summary table's (name, formatted value) rows."""
    sharpe = "n/a (fewer than 2 days)" if r.sharpe_to_date is None else f"{r.sharpe_to_date:.2f}"
    return [
        ("PnL", _money(r.pnl)),
        ("return", f"{r.return_pct:+.2f} %"),
        ("opening equity", _money(r.opening_equity)),
        ("closing equity", _money(r.closing_equity)),
        ("Sharpe to date (daily returns, annualized)", sharpe),
        ("drawdown at close (below peak to date)", f"{r.drawdown_pct:.2f} %"),
        ("max drawdown to date", f"{r.max_drawdown_pct:.2f} %"),
        ("fees paid", _money(r.fees)),
        ("funding received (< 0: paid)", _money(r.funding)),
        ("turnover (traded notional / opening equity)", f"{r.turnover:.2f} x"),
        ("traded notional", _money(r.traded_notional)),
        ("fills", str(r.fills)),
    ]


def reconciliation_rows(r: DailyReport) -> list[tuple[str, str]]:
    """Return the PnL split: realized, fees, funding, unrealized change, unexplained."""
    return [
        ("realized PnL of fills", _money(r.realized)),
        ("- fees", _money(-r.fees)),
        ("+ funding", _money(r.funding)),
        ("+ change of unrealized PnL (all symbols)", _money(r.unrealized_change)),
        ("= explained", _money(r.pnl - r.unexplained)),
        ("unexplained (transfers, missing rows)", _money(r.unexplained)),
        ("PnL (closing - opening equity)", _money(r.pnl)),
    ]


def symbols_frame(r: DailyReport) -> pd.DataFrame:
    """Return the per-symbol attribution, one row per symbol with a TOTAL row."""
    df = (
        pd.DataFrame(
            [
                {
                    "symbol": s.symbol,
                    "realized PnL": s.realized,
                    "fees": s.fees,
                    "funding": s.funding,
                    "net (realized - fees + funding)": s.net,
                    "traded notional": s.traded_notional,
                    "fills": s.fills,
                    "position at close (base units)": s.position,
                }
                for s in r.symbols
            ]
        ).set_index("symbol")
        if r.symbols
        else pd.DataFrame()
    )
    if not df.empty:
        total = df.sum(numeric_only=True)
        total["position at close (base units)"] = np.nan
        df.loc["TOTAL"] = total
    return df


def render_daily_html(r: DailyReport) -> str:
    """Return the daily report page."""
    page = Page(f"xsmom daily report {r.day} (UTC)", {"day": f"{r.day} 00:00 .. 24:00 UTC"})
    page.heading("Summary")
    page.raw(pairs_table(summary_rows(r), ("figure", "value")))
    for n in r.notes:
        page.note(f"Note: {n}")
    page.heading("Where the PnL came from")
    page.raw(pairs_table(reconciliation_rows(r), ("part", QUOTE)))
    page.heading("Per symbol")
    df = symbols_frame(r)
    if df.empty:
        page.note("No fill and no funding payment on this day.")
    else:
        pos = "position at close (base units)"
        fmt = {"fills": _count, pos: _qty}
        page.raw(table_html(df, formats=fmt))
    page.note(
        "Per signal component: not available; the ledger records the combined target weight "
        "of each symbol, not its parts."
    )
    page.heading("Equity")
    start = pd.Timestamp(r.start_ms, unit="ms", tz="UTC")
    day_eq = r.equity[r.equity.index >= start]
    page.figure(charts.line_figure({"equity": day_eq}, f"Equity on {r.day}", QUOTE))
    page.figure(charts.line_figure({"equity": r.equity}, "Equity to date", QUOTE))
    rets = r.daily_returns * 100.0
    page.figure(charts.time_bars(rets, "Daily return, each day to date (%)", "%"))
    return page.render()


def daily_message(r: DailyReport, now_ms: int) -> DailyReportCreated:
    """Return the catalogue message of ``r`` with a PNG chart of the last 30 days of equity."""
    since = pd.Timestamp(r.end_ms, unit="ms", tz="UTC") - pd.Timedelta(days=CHART_DAYS)
    recent = r.equity[r.equity.index >= since]
    png = charts.equity_png(recent, f"Equity to {r.day} ({QUOTE})")
    return DailyReportCreated(
        ts_event=r.end_ms,
        ts_init=now_ms,
        date=r.day.isoformat(),
        pnl=r.pnl,
        return_pct=r.return_pct,
        equity=r.closing_equity,
        sharpe_to_date=r.sharpe_to_date,
        drawdown_pct=r.drawdown_pct,
        fees=r.fees,
        funding=r.funding,
        turnover=r.turnover,
        chart=Attachment(filename=f"equity-{r.day}.png", data=png),
        lines=attribution_lines(r),
    )


def attribution_lines(r: DailyReport, top: int = 8) -> tuple[str, ...]:
    """Return one line per symbol, largest net first (at most ``top``, then a count)."""
    ranked = sorted(r.symbols, key=lambda s: abs(s.net), reverse=True)
    lines = [
        f"{s.symbol}: {s.net:+,.2f} USDT (realized {s.realized:+,.2f}, fees {s.fees:,.2f}, "
        f"funding {s.funding:+,.2f})"
        for s in ranked[:top]
    ]
    if len(ranked) > top:
        lines.append(f"... and {len(ranked) - top} more symbols")
    lines.append(f"unrealized change (all symbols): {r.unrealized_change:+,.2f} USDT")
    return tuple(lines)


def publish_daily_report(
    ledger: Ledger,
    day: date,
    *,
    channels: Sequence[Channel],
    out_dir: Path | None,
    now_ms: int,
) -> DailyReport:
    """Build the report of UTC ``day``, write it to ``out_dir`` and enqueue it for ``channels``.

    Call after the day has ended. Raises DataError when the ledger has no equity that day.
    """
    report = compute_daily(ledger, day)
    if out_dir is not None:
        path = out_dir / f"daily-{day.isoformat()}.html"
        atomic_write_text(path, render_daily_html(report))
        log.info("daily report written to %s", path)
    added = enqueue(ledger, daily_message(report, now_ms), channels, now_ms)
    log.info("daily report %s enqueued for %d channel(s)", day, added)
    return report
