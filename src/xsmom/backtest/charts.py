"""Charts as inline, self-contained images (matplotlib, Agg backend, base64 PNG); used by the
meta-model report. The backtest and optimizer reports use the interactive xsmom.reports.charts."""

from __future__ import annotations

import base64
import io
from collections.abc import Callable

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import numpy.typing as npt
from matplotlib.axes import Axes

F64 = npt.NDArray[np.float64]


def figure_png(draw: Callable[[Axes], None], *, width: float = 10.0, height: float = 3.2) -> str:
    """Draw on a fresh axis and return an ``<img>`` tag with the PNG inlined."""
    fig, ax = plt.subplots(figsize=(width, height), dpi=96)
    try:
        draw(ax)
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
    finally:
        plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    return f'<img alt="chart" src="data:image/png;base64,{data}"/>'


def to_datetime(ts_ms: npt.NDArray[np.int64]) -> npt.NDArray[np.datetime64]:
    """Convert int64 ms timestamps to numpy datetimes for plotting."""
    return ts_ms.astype("datetime64[ms]")


def line_chart(x: npt.NDArray[np.int64], ys: dict[str, F64], title: str) -> str:
    """Return a line chart of one or more series over time."""

    def draw(ax: Axes) -> None:
        for label, y in ys.items():
            ax.plot(to_datetime(x), y, label=label, linewidth=1.0)
        ax.set_title(title)
        if len(ys) > 1:
            ax.legend(loc="best", fontsize=8)

    return figure_png(draw)


def area_chart(x: npt.NDArray[np.int64], y: F64, title: str, color: str = "tab:red") -> str:
    """Return a filled area chart (drawdown, exposure)."""

    def draw(ax: Axes) -> None:
        ax.fill_between(to_datetime(x), y, 0.0, color=color, alpha=0.5, linewidth=0)
        ax.set_title(title)

    return figure_png(draw)


def bar_chart(labels: list[str], values: F64, title: str) -> str:
    """Return a horizontal bar chart, positive green and negative red."""

    def draw(ax: Axes) -> None:
        colors = ["tab:green" if v >= 0 else "tab:red" for v in values]
        ax.barh(labels, values, color=colors)
        ax.set_title(title)
        ax.tick_params(axis="y", labelsize=8)

    return figure_png(draw, height=max(2.5, 0.28 * len(labels) + 1.0))
