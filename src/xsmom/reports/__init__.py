"""Reports people read: the daily report of a bot's ledger, backtest and optimizer pages.

- :func:`compute_daily` / :class:`DailyReport`: one UTC day of the ledger (docs/reports.md).
- :func:`publish_daily_report`: the HTML file and the ``DailyReportCreated`` alert; the live
  engine calls it when :func:`ended_day` says a UTC day is over.
- :mod:`~xsmom.reports.html`, :mod:`~xsmom.reports.charts`: self-contained pages with plotly;
  :mod:`~xsmom.reports.backtest_page`, :mod:`~xsmom.reports.stats`,
  :mod:`~xsmom.reports.trades`: the backtest report.

The daily-report names load the ledger and the notifiers on first use, so the backtest and
optimizer reports import neither.
"""

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xsmom.reports.daily import (
        DailyReport,
        SymbolDay,
        compute_daily,
        day_bounds,
        ended_day,
    )
    from xsmom.reports.daily_publish import (
        daily_message,
        publish_daily_report,
        render_daily_html,
    )

_LAZY = {
    "DailyReport": "xsmom.reports.daily",
    "SymbolDay": "xsmom.reports.daily",
    "compute_daily": "xsmom.reports.daily",
    "day_bounds": "xsmom.reports.daily",
    "ended_day": "xsmom.reports.daily",
    "daily_message": "xsmom.reports.daily_publish",
    "publish_daily_report": "xsmom.reports.daily_publish",
    "render_daily_html": "xsmom.reports.daily_publish",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'xsmom.reports' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "DailyReport",
    "SymbolDay",
    "compute_daily",
    "daily_message",
    "day_bounds",
    "ended_day",
    "publish_daily_report",
    "render_daily_html",
]
