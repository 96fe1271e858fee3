"""Interactive charts (plotly) for the HTML reports, and a PNG equity chart for Discord.

Every series comes in as a pandas Series on a UTC ``DatetimeIndex``. Long hourly series are
thinned for drawing only (the last value of each period, at most ``MAX_POINTS`` points), which
keeps a year of hourly bars readable and the file small; the numbers in the tables use every
bar.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
import plotly.graph_objects as go

MAX_POINTS = 3000
_LAYOUT = {
    "height": 380,
    "margin": {"l": 60, "r": 20, "t": 50, "b": 40},
    "hovermode": "x unified",
    "template": "plotly_white",
    "legend": {"orientation": "h", "y": -0.15},
}


def thin(s: pd.Series) -> pd.Series:
    """Return ``s`` with at most about MAX_POINTS points (last value of each period)."""
    if len(s) <= MAX_POINTS or len(s) < 2:
        return s
    span = s.index[-1] - s.index[0]
    step = pd.Timedelta(hours=max(1, math.ceil(span / pd.Timedelta(hours=1) / MAX_POINTS)))
    return s.resample(step).last().dropna()


def _fig(title: str, yaxis: str, **extra: object) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, yaxis_title=yaxis, **{**_LAYOUT, **extra})
    return fig


def _line(s: pd.Series, name: str, **kw: object) -> go.Scatter:
    t = thin(s)
    return go.Scatter(x=t.index, y=t.to_numpy(dtype=float), name=name, mode="lines", **kw)


def equity_figure(
    equity: pd.Series, benchmarks: Mapping[str, pd.Series] | None = None, unit: str = "USDT"
) -> go.Figure:
    """Return equity against buy-and-hold benchmarks that start from the same capital."""
    fig = _fig("Equity against buy-and-hold benchmarks", f"equity ({unit})")
    fig.add_trace(_line(equity, "strategy", line={"width": 2}))
    for name, s in (benchmarks or {}).items():
        fig.add_trace(_line(s, name, line={"width": 1}))
    return fig


def drawdown_series(equity: pd.Series, initial: float) -> pd.Series:
    """Return the drawdown in % below the running peak (the initial equity counts as a peak)."""
    peak = np.maximum(equity.cummax().to_numpy(dtype=float), initial)
    return pd.Series((equity.to_numpy(dtype=float) / peak - 1.0) * 100.0, index=equity.index)


def drawdown_figure(equity: pd.Series, initial: float) -> go.Figure:
    """Return the drawdown chart (% below the running peak)."""
    fig = _fig("Drawdown", "% below peak")
    fig.add_trace(_line(drawdown_series(equity, initial), "drawdown", fill="tozeroy"))
    return fig


def monthly_heatmap(table: pd.DataFrame) -> go.Figure:
    """Return a year x month heatmap of monthly returns in % (``stats.monthly_returns``)."""
    z = table.to_numpy(dtype=float)
    text = [[("" if math.isnan(v) else f"{v:.1f}") for v in row] for row in z]
    lim = float(np.nanmax(np.abs(z))) if np.isfinite(z).any() else 1.0
    fig = _fig("Monthly returns (%)", "year", height=140 + 40 * len(table))
    fig.add_trace(
        go.Heatmap(
            z=z,
            x=[str(c) for c in table.columns],
            y=[str(i) for i in table.index],
            text=text,
            texttemplate="%{text}",
            colorscale="RdYlGn",
            zmid=0.0,
            zmin=-lim,
            zmax=lim,
            hovertemplate="%{y} %{x}: %{z:.2f}%<extra></extra>",
        )
    )
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def rolling_sharpe_figure(sharpe: pd.Series, window_days: int) -> go.Figure:
    """Return the rolling annualized Sharpe ratio of daily returns."""
    fig = _fig(f"Rolling Sharpe ratio ({window_days} days, annualized)", "Sharpe")
    fig.add_trace(_line(sharpe, "rolling Sharpe"))
    fig.add_hline(y=0.0, line={"color": "#888", "width": 1})
    return fig


def exposure_figure(daily: pd.DataFrame) -> go.Figure:
    """Return daily mean long, short, gross and net exposure (x equity)."""
    fig = _fig("Exposure, daily mean (notional / equity)", "x equity")
    styles = {"long": "#2a9d3f", "short": "#d1495b", "gross": "#333", "net": "#1f77b4"}
    for col, color in styles.items():
        if col in daily:
            dash = "dot" if col == "gross" else None
            fig.add_trace(_line(daily[col], col, line={"color": color, "dash": dash}))
    return fig


def time_bars(s: pd.Series, title: str, yaxis: str) -> go.Figure:
    """Return one bar per UTC day of ``s`` (indexed by the day's start), drawn over its day."""
    fig = _fig(title, yaxis)
    fig.add_trace(
        go.Bar(
            x=s.index,
            y=s.to_numpy(dtype=float),
            name=yaxis,
            xperiod=86_400_000,
            xperiodalignment="middle",
        )
    )
    return fig


def turnover_figure(daily: pd.Series) -> go.Figure:
    """Return traded notional per day in multiples of equity."""
    return time_bars(daily, "Turnover per day (traded notional / equity)", "x equity")


def bar_figure(labels: list[str], values: np.ndarray, title: str, unit: str) -> go.Figure:
    """Return a horizontal bar chart, gains green and losses red."""
    colors = ["#2a9d3f" if v >= 0 else "#d1495b" for v in values]
    fig = _fig(title, "", height=max(260, 26 * len(labels) + 120))
    fig.add_trace(go.Bar(x=values, y=labels, orientation="h", marker={"color": colors}))
    fig.update_layout(xaxis_title=unit, hovermode="closest", showlegend=False)
    return fig


def line_figure(series: Mapping[str, pd.Series], title: str, yaxis: str) -> go.Figure:
    """Return one or more lines over time."""
    fig = _fig(title, yaxis)
    for name, s in series.items():
        fig.add_trace(_line(s, name))
    return fig


def equity_png(equity: pd.Series, title: str) -> bytes:
    """Return a small PNG line chart of ``equity`` (for a Discord embed)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3), dpi=96)
    try:
        ax.plot(equity.index.to_numpy(), equity.to_numpy(dtype=float), linewidth=1.2)
        ax.set_title(title)
        ax.grid(True, alpha=0.3)
        fig.autofmt_xdate()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    return buf.getvalue()
