"""One optimization run end to end: data, folds, search, analysis, outputs, history."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import optuna

from xsmom.config import Config, version_id
from xsmom.config.history import ConfigHistory, ConfigRecord, Status, git_commit
from xsmom.data.bundled import resolve_store
from xsmom.optimize.analysis import Analysis, analyze
from xsmom.optimize.plan import default_study_name, iso, load_research_panel
from xsmom.optimize.report import write_outputs
from xsmom.optimize.runner import SearchSpec, build_evaluator, run_search
from xsmom.optimize.search import WorkerReport, wait_for_workers
from xsmom.optimize.storage import make_storage, sqlite_url
from xsmom.redaction import redact_url


@dataclass
class OptimizeRun:
    """The outcome of :func:`run_optimize`."""

    analysis: Analysis
    study: str
    storage: str
    workers: list[WorkerReport]
    seconds: float
    doc: dict[str, Any]
    record: ConfigRecord | None


def resolve_names(
    cfg: Config, store: str, out: Path, storage: str | None, study: str | None
) -> tuple[str, str]:
    """Return (storage URL, study name), defaulting to ``out/study.db`` and a stable name."""
    url = storage or sqlite_url(out / "study.db")
    if study is None:
        panel = load_research_panel(resolve_store(store), cfg)
        study = default_study_name(cfg, panel)
    return url, study


def run_optimize(
    cfg: Config,
    *,
    store: str,
    out: Path,
    trials: int | None = None,
    storage: str | None = None,
    study: str | None = None,
    workers: int = 1,
    progress: bool = True,
    history: Path | None = None,
    wait_s: float = 300.0,
) -> OptimizeRun:
    """Search, analyze and write best_config.yaml, study.json and report.html into ``out``.

    With a shared storage, other workers may still run their last trials when this one is
    done: it waits up to ``wait_s`` for them before the analysis.
    """
    t0 = time.perf_counter()
    n = trials if trials is not None else cfg.optimize.trials
    url, name = resolve_names(cfg, store, out, storage, study)
    spec = SearchSpec.make(cfg, store, url, name, n)
    ev = build_evaluator(spec)
    reports = run_search(spec, ev, workers=workers, progress=progress)
    st = optuna.load_study(study_name=name, storage=make_storage(url))
    wait_for_workers(st, timeout_s=wait_s)
    an = analyze(st, ev)
    meta = {
        "study": name,
        "store": store,
        "storage": redact_url(url),
        "workers": [
            {
                "worker": r.worker,
                "trials": len(r.trials),
                "trial_numbers": r.trials,
                "failed": r.failed,
                "seconds": r.seconds,
                "overhead_share": r.overhead_share,
            }
            for r in reports
        ],
    }
    doc = write_outputs(an, ev, out, meta)
    record = None
    if history is not None:
        record = save_candidate(history, cfg, an, doc, name, url, store)
    return OptimizeRun(an, name, url, reports, time.perf_counter() - t0, doc, record)


def candidate_metrics(an: Analysis) -> dict[str, float]:
    """Return the metrics stored with a candidate and sent in notifications."""
    return {
        "oos_sharpe": an.oos_sharpe,
        "current_oos_sharpe": an.current_oos_sharpe,
        "sharpe_ci_low": an.sharpe_ci[0],
        "sharpe_ci_high": an.sharpe_ci[1],
        "deflated_sharpe": an.deflated_sharpe,
        "pbo": an.pbo,
        "final_train_sharpe": an.final.train.get("sharpe", float("nan")),
    }


def save_candidate(
    history: Path,
    base: Config,
    an: Analysis,
    doc: dict[str, Any],
    study: str,
    url: str,
    store: str,
) -> ConfigRecord:
    """Store the candidate with its metrics and provenance (idempotent per version)."""
    hist = ConfigHistory(history)
    parent = version_id(base)
    base_rec = hist.find(parent)
    if base_rec is None:
        base_rec = hist.save(base, status="current", provenance={"source": "optimize base config"})
    if version_id(an.candidate) == parent:
        return base_rec  # the search chose the current parameters: nothing new to store
    metrics = candidate_metrics(an)
    provenance = {
        "git_commit": git_commit(),
        "study": study,
        "storage": redact_url(url),
        "store": store,
        "data": {
            "first": doc["data"]["first"],
            "end": doc["data"]["end"],
            "symbols": doc["data"]["symbols"],
            "timeframe": doc["data"]["timeframe"],
        },
        "trials": an.n_trials,
        "gate": doc["gate"],
        "created_by": "xsmom optimize",
        "time": iso(int(time.time() * 1000)),
    }
    status: Status = "accepted" if an.gate.accepted else "rejected"
    return hist.save(
        an.candidate, status=status, parent=parent, metrics=metrics, provenance=provenance
    )
