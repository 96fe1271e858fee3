"""Outputs of an optimization: study.json, the candidate config and an offline report.html.

An accepted candidate is written as ``best_config.yaml``; a rejected one as
``candidate_config.yaml`` whose YAML comment header says REJECTED and which gate checks failed.
"""

from __future__ import annotations

import html
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from xsmom.config import dump_yaml, version_id
from xsmom.data.atomic import atomic_write_text
from xsmom.optimize.analysis import Analysis, FoldResult, fold_dates
from xsmom.optimize.evaluate import Evaluator
from xsmom.optimize.plan import iso
from xsmom.reports import charts
from xsmom.reports.html import Page, pairs_table, table_html

METRICS_SHOWN = ("sharpe", "sortino", "calmar", "total_return", "max_drawdown", "turnover")


def _clean(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {str(k): _clean(v) for k, v in x.items()}
    if isinstance(x, list | tuple):
        return [_clean(v) for v in x]
    if isinstance(x, np.floating | np.integer):
        return _clean(x.item())
    return x


def _fold_json(ev: Evaluator, fr: FoldResult) -> dict[str, Any]:
    out = fold_dates(ev, fr.fold)
    out.update(
        trial=fr.trial,
        candidates=fr.candidates,
        params={k: list(v) if isinstance(v, tuple) else v for k, v in fr.params.items()},
        train_metrics=fr.train,
    )
    if fr.fold.test is not None:
        out.update(oos_metrics=fr.oos, current_oos_metrics=fr.current_oos)
    return out


def study_json(an: Analysis, ev: Evaluator, meta: dict[str, Any]) -> dict[str, Any]:
    """Return the content of study.json."""
    ts = ev.panel.timestamps
    doc = {
        **meta,
        "trials": an.n_trials,
        "failed": an.n_failed,
        "failures": an.failures,
        "data": {
            "timeframe": ev.panel.timeframe,
            "symbols": list(ev.panel.symbols),
            "bars": ev.panel.n_bars,
            "first": iso(int(ts[0])),
            "end": iso(int(ts[-1]) + ev.panel.bar_ms),
        },
        "plan": {
            "mode": ev.plan.mode,
            "purge_bars": ev.plan.horizon,
            "embargo_bars": ev.plan.embargo,
        },
        "objectives": list(ev.opt.objectives),
        "folds": [_fold_json(ev, f) for f in an.folds],
        "final": _fold_json(ev, an.final),
        "oos": {
            "sharpe": an.oos_sharpe,
            "current_sharpe": an.current_oos_sharpe,
            "sharpe_ci": list(an.sharpe_ci),
            "confidence": ev.opt.stats.confidence,
        },
        "deflated_sharpe": an.deflated_sharpe,
        "pbo": an.pbo,
        "pbo_combinations": len(an.pbo_logits),
        "importances": an.importances,
        "pareto_final": an.pareto,
        "gate": {
            "accepted": an.gate.accepted,
            "checks": [c.__dict__ for c in an.gate.checks],
            "reasons": an.gate.reasons(),
        },
        "candidate": {"version": version_id(an.candidate), "parent": version_id(ev.base)},
    }
    return dict(_clean(doc))


def _history_figure(an: Analysis) -> go.Figure:
    done = [h for h in an.history if h["final"] is not None]
    x = [h["number"] for h in done]
    y = np.array([h["final"] for h in done], dtype=float)
    fig = charts.line_figure({}, "Optimization history", "final-window training score")
    fig.add_trace(go.Scatter(x=x, y=y, mode="markers", name="trial", marker={"size": 5}))
    if y.size:
        best = np.maximum.accumulate(y)
        fig.add_trace(go.Scatter(x=x, y=best, mode="lines", name="best so far"))
    bad = [h["number"] for h in an.history if h["state"] == "FAIL"]
    if bad:
        low = float(np.nanmin(y)) if y.size else 0.0
        fig.add_trace(
            go.Scatter(
                x=bad,
                y=[low] * len(bad),
                mode="markers",
                name="failed",
                marker={"symbol": "x", "color": "black"},
            )
        )
    fig.update_layout(xaxis_title="trial", hovermode="closest")
    return fig


def _folds_figure(ev: Evaluator) -> go.Figure:
    ts = pd.to_datetime(ev.panel.timestamps, unit="ms", utc=True)
    fig = charts.line_figure({}, "Walk-forward folds: training, purge + embargo, test", "")
    seen: set[str] = set()

    def seg(name: str, a: int, b: int, label: str, color: str) -> None:
        fig.add_trace(
            go.Scatter(
                x=[ts[a], ts[b]],
                y=[name, name],
                mode="lines",
                name=label,
                line={"width": 14, "color": color},
                showlegend=label not in seen,
            )
        )
        seen.add(label)

    for fold in ev.plan.folds:
        seg(fold.name, fold.train.start, fold.train.stop - 1, "training", "#1f77b4")
        if fold.test is not None:
            seg(fold.name, fold.train.stop - 1, fold.test.start, "purge + embargo", "#bbbbbb")
            seg(fold.name, fold.test.start, fold.test.stop - 1, "test", "#ff7f0e")
    fig.update_yaxes(autorange="reversed", type="category")
    fig.update_layout(height=max(220, 40 * len(ev.plan.folds) + 140), hovermode="closest")
    return fig


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "n/a" if not math.isfinite(v) else f"{v:.4g}"
    return str(v)


def _fold_rows(ev: Evaluator, an: Analysis) -> pd.DataFrame:
    rows = []
    for fr in [*an.folds, an.final]:
        d = fold_dates(ev, fr.fold)
        test = f"{d['test']['start']} .. {d['test']['end']}" if "test" in d else "-"
        row: dict[str, Any] = {
            "fold": fr.fold.name,
            "train (UTC)": f"{d['train']['start']} .. {d['train']['end']}",
            "test (UTC)": test,
            "trial": fr.trial,
            "train Sharpe": fr.train.get("sharpe", float("nan")),
            "OOS Sharpe": fr.oos.get("sharpe", float("nan")),
            "current config OOS Sharpe": fr.current_oos.get("sharpe", float("nan")),
        }
        row.update({k: _fmt(v) for k, v in fr.params.items()})
        rows.append(row)
    return pd.DataFrame(rows).set_index("fold")


def explained_rows(an: Analysis, ev: Evaluator) -> list[tuple[str, str]]:
    """Return the overfitting statistics, each with the one line that says what it means."""
    lo, hi = an.sharpe_ci
    conf = ev.opt.stats.confidence
    return [
        (
            f"OOS Sharpe (walk-forward) = {_fmt(an.oos_sharpe)}",
            "Sharpe of the test windows stitched together, each traded with the parameters "
            "chosen on its own training window: what re-optimizing like this would have earned.",
        ),
        (
            f"OOS Sharpe of the current config = {_fmt(an.current_oos_sharpe)}",
            "The same test windows traded with the config you start from: the bar to beat.",
        ),
        (
            f"{conf:.0%} bootstrap interval = {_fmt(lo)} .. {_fmt(hi)}",
            "Where the OOS Sharpe lands when its returns are resampled in blocks; an interval "
            "that holds 0 means the edge may be luck.",
        ),
        (
            f"Deflated Sharpe = {_fmt(an.deflated_sharpe)}",
            "Probability that the chosen Sharpe is above zero after allowing for how many "
            "trials were tried (above 0.95 is convincing).",
        ),
        (
            f"PBO = {_fmt(an.pbo)}",
            "Probability of backtest overfitting: share of train/test splits of the trials where "
            "the in-sample best is below the median out of sample (lower is better; above 0.5 "
            "is a bad sign).",
        ),
    ]


def _verdict(an: Analysis, doc: dict[str, Any]) -> str:
    name = html.escape(str(doc["candidate"].get("file", candidate_name(an))))
    if an.gate.accepted:
        return f"<p class='verdict ok'>Gate: ACCEPTED. The candidate is {name}.</p>"
    why = "; ".join(html.escape(r) for r in an.gate.reasons())
    return f"<p class='verdict bad'>Gate: REJECTED ({why}). The candidate is {name}.</p>"


def _details(page: Page, an: Analysis, ev: Evaluator) -> None:
    page.heading("Parameters chosen per fold")
    page.raw(table_html(_fold_rows(ev, an), scroll=True))
    page.figure(_folds_figure(ev))
    page.heading("Optimization history")
    page.figure(_history_figure(an))
    page.heading("Parameter importances")
    if an.importances:
        imp = an.importances
        page.figure(
            charts.bar_figure(
                list(imp),
                np.array(list(imp.values())),
                "Parameter importances (PED-ANOVA)",
                "importance",
            )
        )
    else:
        page.note("Not available (too few completed trials).")
    page.heading("Failed trials")
    fails = pd.DataFrame([{"trial": f["number"], "reason": f["reason"]} for f in an.failures[:50]])
    page.raw(table_html(fails, index=False) if an.failures else "<p>none</p>")


def render_html(an: Analysis, ev: Evaluator, doc: dict[str, Any]) -> str:
    """Return the self-contained HTML report (interactive charts, plotly.js inlined)."""
    meta = {
        "study": str(doc.get("study", "")),
        "data": f"{doc['data']['first']} .. {doc['data']['end']}, "
        f"{len(doc['data']['symbols'])} symbols, {doc['data']['timeframe']}",
        "trials": f"{an.n_trials} ({an.n_failed} failed)",
        "candidate": f"{doc['candidate']['version'][:12]} "
        f"(parent {doc['candidate']['parent'][:12]})",
    }
    page = Page(f"xsmom optimize: {doc.get('study', '')}", meta)
    page.raw(_verdict(an, doc))
    checks = pd.DataFrame(
        [
            {
                "check": c.name,
                "value": _fmt(c.value),
                "threshold": _fmt(c.threshold),
                "passed": "yes" if c.passed else "NO",
            }
            for c in an.gate.checks
        ]
    )
    if not checks.empty:
        page.raw(table_html(checks, index=False))
    page.heading("Overfitting statistics")
    page.raw(pairs_table(explained_rows(an, ev), ("statistic", "what it means"), text=True))
    page.heading("Out-of-sample equity against the current config")
    if an.oos_timestamps.size:
        idx = pd.to_datetime(an.oos_timestamps, unit="ms", utc=True)
        page.figure(
            charts.line_figure(
                {
                    "walk-forward (chosen per fold)": pd.Series(an.oos_equity, index=idx),
                    "current config": pd.Series(an.current_equity, index=idx),
                },
                "Out-of-sample equity (growth of 1)",
                "growth of 1",
            )
        )
    else:
        page.note("No test window: the plan has only the final training window.")
    _details(page, an, ev)
    return page.render()


ACCEPTED_NAME = "best_config.yaml"
REJECTED_NAME = "candidate_config.yaml"
REJECTED_MARK = "# REJECTED"


def candidate_name(an: Analysis) -> str:
    """Return the file name of the candidate: best_config.yaml only when the gate accepted it."""
    return ACCEPTED_NAME if an.gate.accepted else REJECTED_NAME


def rejected_header(an: Analysis, doc: dict[str, Any]) -> str:
    """Return the YAML comment block that marks a rejected candidate and says why."""
    lines = [
        f"{REJECTED_MARK} by the acceptance gate of xsmom optimize: do not deploy this config.",
        f"# study {doc.get('study', '?')}, candidate {doc['candidate']['version'][:12]}, "
        f"parent {doc['candidate']['parent'][:12]}",
        "# failed checks:",
        *(f"#   {reason}" for reason in an.gate.reasons()),
        "# all checks (value, threshold, passed):",
        *(
            f"#   {c.name}: {_fmt(c.value)} vs {_fmt(c.threshold)} {'pass' if c.passed else 'FAIL'}"
            for c in an.gate.checks
        ),
        "# details: study.json and report.html beside this file.",
    ]
    return "\n".join(lines) + "\n"


def write_outputs(an: Analysis, ev: Evaluator, out: Path, meta: dict[str, Any]) -> dict[str, Any]:
    """Write the candidate config, study.json, report.html and config.yaml (the base config)
    into ``out``; return study.json.

    The candidate goes to best_config.yaml if the gate accepted it, else to
    candidate_config.yaml with a REJECTED header; the other name is removed, so a folder
    never holds a stale verdict from an earlier run.
    """
    out.mkdir(parents=True, exist_ok=True)
    doc = study_json(an, ev, meta)
    name = candidate_name(an)
    header = "" if an.gate.accepted else rejected_header(an, doc)
    atomic_write_text(out / name, header + dump_yaml(an.candidate))
    stale = out / (REJECTED_NAME if an.gate.accepted else ACCEPTED_NAME)
    stale.unlink(missing_ok=True)
    doc["candidate"]["file"] = name
    # the folder describes itself: the resolved base config the search started from
    atomic_write_text(out / "config.yaml", f"# version {version_id(ev.base)}\n{dump_yaml(ev.base)}")
    atomic_write_text(out / "study.json", json.dumps(doc, indent=2, sort_keys=False))
    atomic_write_text(out / "report.html", render_html(an, ev, doc))
    return doc
