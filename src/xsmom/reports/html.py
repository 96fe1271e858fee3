"""A self-contained HTML page: plotly.js inlined once, figures as divs, plain tables.

The page needs nothing from the network: the plotly library is part of the file, no fonts
or stylesheets are fetched, so a report opens offline and in a mail attachment.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache

import pandas as pd
import plotly.graph_objects as go

_STYLE = """body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1200px;color:#222;
padding:0 1em}table{border-collapse:collapse;margin:0.6em 0;font-size:90%}
td,th{border:1px solid #ccc;padding:3px 9px;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}h2{margin-top:1.6em}.meta{color:#555}
.note{color:#555;font-size:90%}.verdict{font-size:120%;padding:0.6em 1em;border-radius:4px}
.ok{background:#e3f4e3}.bad{background:#fbe3e3}.scroll{max-height:480px;overflow:auto}
.text td{text-align:left}"""

# No mode bar (its "send to cloud" links), no MathJax lookup: nothing leaves the page.
_PLOT_CONFIG = {"displaylogo": False, "responsive": True}

Formatter = Callable[[object], str]


@cache
def plotly_js() -> str:
    """Return the plotly.js library (about 4.8 MB) to inline into a page."""
    from plotly.offline import get_plotlyjs

    return str(get_plotlyjs())


def figure_div(fig: go.Figure, div_id: str) -> str:
    """Return the ``<div>`` and script drawing ``fig`` (plotly.js must be on the page)."""
    return str(
        fig.to_html(
            full_html=False,
            include_plotlyjs=False,
            include_mathjax=False,
            div_id=div_id,
            config=_PLOT_CONFIG,
        )
    )


def _cell(value: object, fmt: Formatter | None) -> str:
    if fmt is not None:
        return html.escape(fmt(value))
    if isinstance(value, float):
        return f"{value:,.2f}"
    return html.escape(str(value))


def table_html(
    df: pd.DataFrame,
    *,
    formats: Mapping[str, Formatter] | None = None,
    index: bool = True,
    scroll: bool = False,
) -> str:
    """Return ``df`` as an HTML table; ``formats`` formats columns by name."""
    formats = formats or {}
    cols = list(df.columns)
    head = ([html.escape(str(df.index.name or ""))] if index else []) + [
        html.escape(str(c)) for c in cols
    ]
    rows = []
    for idx, row in zip(df.index, df.itertuples(index=False), strict=True):
        cells = [f"<td>{html.escape(str(idx))}</td>"] if index else []
        cells += [
            f"<td>{_cell(v, formats.get(str(c)))}</td>" for c, v in zip(cols, row, strict=True)
        ]
        rows.append(f"<tr>{''.join(cells)}</tr>")
    body = f"<table><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr>{''.join(rows)}</table>"
    return f"<div class='scroll'>{body}</div>" if scroll else body


def pairs_table(
    rows: Sequence[tuple[str, str]], header: tuple[str, str], *, text: bool = False
) -> str:
    """Return a two-column table of already formatted (name, value) rows; ``text`` aligns
    the values left (sentences rather than numbers)."""
    body = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(v)}</td></tr>" for k, v in rows)
    cls = " class='text'" if text else ""
    return f"<table{cls}><tr><th>{header[0]}</th><th>{header[1]}</th></tr>{body}</table>"


@dataclass
class Page:
    """An HTML report built section by section; :meth:`render` returns the whole file."""

    title: str
    meta: Mapping[str, str] = field(default_factory=dict)
    _parts: list[str] = field(default_factory=list)
    _figures: int = 0

    def heading(self, text: str) -> None:
        """Start a section."""
        self._parts.append(f"<h2>{html.escape(text)}</h2>")

    def note(self, text: str) -> None:
        """Add a short explanatory line."""
        self._parts.append(f"<p class='note'>{html.escape(text)}</p>")

    def raw(self, fragment: str) -> None:
        """Add an HTML fragment built by this package (tables, verdicts)."""
        self._parts.append(fragment)

    def figure(self, fig: go.Figure) -> None:
        """Add an interactive chart."""
        self._figures += 1
        self._parts.append(figure_div(fig, f"chart-{self._figures}"))

    @property
    def n_figures(self) -> int:
        """Return how many charts the page holds."""
        return self._figures

    def render(self) -> str:
        """Return the whole page, plotly.js inlined when the page has a chart."""
        meta = "<br>".join(f"{html.escape(k)}: {html.escape(v)}" for k, v in self.meta.items())
        lib = f"<script type='text/javascript'>{plotly_js()}</script>" if self._figures else ""
        return "\n".join(
            [
                "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
                f"<title>{html.escape(self.title)}</title><style>{_STYLE}</style>{lib}</head>",
                f"<body><h1>{html.escape(self.title)}</h1><p class='meta'>{meta}</p>",
                *self._parts,
                "</body></html>",
            ]
        )
