"""Reports people read: the daily report of a bot's ledger, backtest and optimizer pages.

- :func:`compute_daily` / :class:`DailyReport`: one UTC day of the ledger (docs/reports.md).
- :func:`publish_daily_report`: the HTML file and the ``DailyReportCreated`` alert; the live
  engine calls it when :func:`ended_day` says a UTC day is over.
- :mod:`~xsmom.reports.html`, :mod:`~xsmom.reports.charts`: self-contained pages with plotly.
"""

from xsmom.reports.daily import DailyReport, SymbolDay, compute_daily, day_bounds, ended_day
from xsmom.reports.daily_publish import daily_message, publish_daily_report, render_daily_html

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
