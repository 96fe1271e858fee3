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
from matplotlib.axes import Axes

from xsmom.backtest.charts import bar_chart, figure_png, line_chart, to_datetime
from xsmom.config import dump_yaml, version_id
from xsmom.data.atomic import atomic_write_text
from xsmom.optimize.analysis import Analysis, FoldResult, fold_dates
from xsmom.optimize.evaluate import Evaluator
from xsmom.optimize.plan import iso

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


def _history_chart(an: Analysis) -> str:
    def draw(ax: Axes) -> None:
        done = [h for h in an.history if h["final"] is not None]
        x = np.array([h["number"] for h in done])
        y = np.array([h["final"] for h in done], dtype=float)
        ax.scatter(x, y, s=8, alpha=0.6, label="final-window training score")
        if y.size:
            ax.plot(x, np.maximum.accumulate(y), color="tab:red", label="best so far")
        bad = [h["number"] for h in an.history if h["state"] == "FAIL"]
        if bad:
            ax.scatter(
                bad,
                [np.nanmin(y) if y.size else 0.0] * len(bad),
                marker="x",
                color="k",
                label="failed",
            )
        ax.set_xlabel("trial")
        ax.set_title("Optimization history")
        ax.legend(loc="best", fontsize=8)

    return figure_png(draw)


def _folds_chart(ev: Evaluator) -> str:
    ts = to_datetime(ev.panel.timestamps)

    def draw(ax: Axes) -> None:
        for row, fold in enumerate(ev.plan.folds):
            tr = fold.train
            ax.barh(
                row, ts[tr.stop - 1] - ts[tr.start], left=ts[tr.start], color="tab:blue", height=0.5
            )
            if fold.test is not None:
                te = fold.test
                ax.barh(
                    row,
                    ts[te.start] - ts[tr.stop - 1],
                    left=ts[tr.stop - 1],
                    color="0.8",
                    height=0.5,
                )
                ax.barh(
                    row,
                    ts[te.stop - 1] - ts[te.start],
                    left=ts[te.start],
                    color="tab:orange",
                    height=0.5,
                )
        ax.set_yticks(range(len(ev.plan.folds)), [f.name for f in ev.plan.folds])
        ax.invert_yaxis()
        ax.set_title("Walk-forward folds: training (blue), purge+embargo (grey), test (orange)")

    return figure_png(draw, height=max(2.0, 0.45 * len(ev.plan.folds) + 1.0))


def _table(rows: list[list[Any]], head: list[str]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(_fmt(c))}</td>" for c in r) + "</tr>" for r in rows
    )
    return f"<table><tr>{th}</tr>{body}</table>"


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return "n/a" if not math.isfinite(v) else f"{v:.4g}"
    return str(v)


def _fold_rows(ev: Evaluator, an: Analysis) -> list[list[Any]]:
    rows = []
    for fr in [*an.folds, an.final]:
        d = fold_dates(ev, fr.fold)
        test = f"{d['test']['start']} .. {d['test']['end']}" if "test" in d else "-"
        rows.append(
            [
                fr.fold.name,
                f"{d['train']['start']} .. {d['train']['end']}",
                test,
                fr.trial,
                fr.train.get("sharpe", float("nan")),
                fr.oos.get("sharpe", float("nan")),
                fr.current_oos.get("sharpe", float("nan")),
            ]
        )
    return rows


def render_html(an: Analysis, ev: Evaluator, doc: dict[str, Any]) -> str:
    """Return the self-contained HTML report (charts inlined as PNG)."""
    imp = an.importances
    imp_chart = (
        bar_chart(list(imp), np.array(list(imp.values())), "Parameter importances (PED-ANOVA)")
        if imp
        else "<p>not available (too few completed trials)</p>"
    )
    eq = (
        line_chart(
            an.oos_timestamps,
            {"walk-forward (chosen per fold)": an.oos_equity, "current config": an.current_equity},
            "Out-of-sample equity (growth of 1)",
        )
        if an.oos_timestamps.size
        else ""
    )
    stats_rows: list[list[Any]] = [
        ["OOS Sharpe (walk-forward)", an.oos_sharpe],
        ["OOS Sharpe (current config)", an.current_oos_sharpe],
        [
            f"OOS Sharpe {ev.opt.stats.confidence:.0%} bootstrap interval",
            f"{_fmt(an.sharpe_ci[0])} .. {_fmt(an.sharpe_ci[1])}",
        ],
        ["Deflated Sharpe (final choice)", an.deflated_sharpe],
        ["PBO (CSCV)", an.pbo],
        ["Trials (failed)", f"{an.n_trials} ({an.n_failed})"],
        ["Gate", "accepted" if an.gate.accepted else "rejected: " + "; ".join(an.gate.reasons())],
    ]
    fold_head = [
        "fold",
        "train",
        "test",
        "trial",
        "train Sharpe",
        "OOS Sharpe",
        "current OOS Sharpe",
    ]
    params = _table([[k, _fmt(v)] for k, v in an.final.params.items()], ["key", "value"])
    fails = _table([[f["number"], f["reason"]] for f in an.failures[:50]], ["trial", "reason"])
    title = html.escape(f"xsmom optimize: {doc.get('study', '')}")
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:auto}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px}}
img{{max-width:100%}}</style></head><body>
<h1>{title}</h1>
<h2>Summary</h2>{_table(stats_rows, ["statistic", "value"])}
<h2>Chosen parameters (final window)</h2>{params}
<h2>Out-of-sample equity</h2>{eq}
<h2>Folds</h2>{_folds_chart(ev)}{_table(_fold_rows(ev, an), fold_head)}
<h2>Optimization history</h2>{_history_chart(an)}
<h2>Parameter importances</h2>{imp_chart}
<h2>Failed trials</h2>{fails if an.failures else "<p>none</p>"}
</body></html>"""


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
    """Write the candidate config, study.json and report.html into ``out``; return study.json.

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
    atomic_write_text(out / "study.json", json.dumps(doc, indent=2, sort_keys=False))
    atomic_write_text(out / "report.html", render_html(an, ev, doc))
    return doc
