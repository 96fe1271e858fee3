"""``xsmom meta report``: a model folder's CV quality as one self-contained HTML page.

Per member: each learner's out-of-fold precision, recall, lift over the primary signal (the
precision of taking every entry is the base rate), AUC, Brier score and the PnL of the taken
entries; a calibration chart of the chosen learner and its feature importance. The figures
come from the manifest, so the report never unpickles a model.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes

from xsmom.backtest.charts import bar_chart, figure_png
from xsmom.data.atomic import atomic_write_text
from xsmom.meta.artifact import read_manifest

_STYLE = (
    "body{font-family:sans-serif;margin:2em;max-width:1100px}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:right}th{background:#eee}.meta{color:#555}"
)
ROWS = (
    ("samples", "samples (out of fold)"),
    ("threshold", "threshold"),
    ("base_rate", "precision of the primary signal (base rate)"),
    ("precision", "precision"),
    ("recall", "recall"),
    ("lift", "lift over the primary signal"),
    ("take_rate", "share of entries taken"),
    ("auc", "AUC"),
    ("brier", "Brier score"),
    ("mean_net_all", "mean net return, all entries"),
    ("mean_net_taken", "mean net return, taken entries"),
    ("pnl_all", "PnL of all entries (uniqueness-weighted)"),
    ("pnl_taken", "PnL of taken entries (uniqueness-weighted)"),
)


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "n/a" if not np.isfinite(v) else f"{v:.4f}"
    return html.escape(str(v))


def _metrics_table(learners: dict[str, dict[str, Any]]) -> str:
    names = sorted(learners)
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    body = "".join(
        f"<tr><td style='text-align:left'>{label}</td>"
        + "".join(f"<td>{_fmt(learners[n].get(key))}</td>" for n in names)
        + "</tr>"
        for key, label in ROWS
    )
    return f"<table><tr><th>CV metric</th>{head}</tr>{body}</table>"


def calibration_chart(calib: list[list[float]], title: str) -> str:
    """Return a chart of observed frequency against mean predicted probability per bin."""
    pred = np.array([c[0] for c in calib])
    obs = np.array([c[1] for c in calib])

    def draw(ax: Axes) -> None:
        ax.plot([0, 1], [0, 1], color="grey", linestyle="--", linewidth=1, label="perfect")
        ax.plot(pred, obs, marker="o", label="model (out of fold)")
        ax.set_xlabel("predicted probability")
        ax.set_ylabel("observed share of winners")
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_title(title)
        ax.legend(loc="best", fontsize=8)

    return figure_png(draw, width=5.0, height=4.0)


def _member_html(rec: dict[str, Any]) -> str:
    imp = sorted(rec["importance"].items(), key=lambda kv: kv[1])
    parts = [
        f"<h2>{html.escape(rec['name'])}: {html.escape(rec['learner'])} "
        f"(threshold {rec['threshold']:.2f})</h2>",
        f"<p class='meta'>trained on {html.escape(rec['train_start'])} .. "
        f"{html.escape(rec['train_end'])}, {rec['samples']} entries; gates closes from "
        f"{html.escape(rec['apply_from'])}</p>",
        _metrics_table(rec["learners"]),
        calibration_chart(rec["cv"]["calibration"], f"calibration ({rec['learner']})"),
        bar_chart([k for k, _ in imp], np.array([v for _, v in imp]), "feature importance"),
    ]
    return "".join(parts)


def render_report(model_dir: Path) -> str:
    """Return the HTML report of a model folder."""
    m = read_manifest(model_dir)
    meta = {
        "model": str(model_dir),
        "mode": m["mode"],
        "config version": m["config_version"][:12],
        "labels": ", ".join(f"{k}={v}" for k, v in m["labels"].items()),
        "options": ", ".join(f"{k}={v}" for k, v in m["options"].items()),
        "features": ", ".join(m["features"]),
    }
    meta_html = "<br>".join(f"{html.escape(k)}: {html.escape(str(v))}" for k, v in meta.items())
    title = f"xsmom meta-model {model_dir.name}"
    return "".join(
        [
            f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}",
            f"</title><style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
            f"<p class='meta'>{meta_html}</p>",
            "<p>All figures are out of fold (purged k-fold CV with embargo); the threshold and "
            "the calibrator were fitted on the same out-of-fold scores, so they flatter the "
            "model a little. Judge it on a walk-forward backtest (docs/meta.md).</p>",
            *(_member_html(rec) for rec in m["members"]),
            "</body></html>",
        ]
    )


def write_report(model_dir: Path, out: Path) -> None:
    """Write the HTML report of ``model_dir`` to ``out`` atomically."""
    atomic_write_text(out, render_report(model_dir))
