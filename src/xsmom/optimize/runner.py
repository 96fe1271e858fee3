"""Run the search in this process or in ``--workers`` local processes, with a progress bar."""

from __future__ import annotations

import multiprocessing as mp
import queue
from dataclasses import asdict, dataclass
from typing import Any

import optuna
import yaml
from tqdm import tqdm

from xsmom.config import Config, config_from_dict, dump_yaml
from xsmom.data.bundled import resolve_store
from xsmom.errors import XsmomError
from xsmom.optimize.evaluate import Evaluator
from xsmom.optimize.plan import load_research_panel, plan_from_config
from xsmom.optimize.search import (
    WorkerReport,
    best_final,
    counted_trials,
    open_study,
    run_worker,
)
from xsmom.optimize.storage import make_storage


@dataclass(frozen=True)
class SearchSpec:
    """Everything a worker process needs to rebuild the search (picklable)."""

    config_yaml: str
    store: str
    url: str
    study: str
    trials: int

    @classmethod
    def make(cls, cfg: Config, store: str, url: str, study: str, trials: int) -> SearchSpec:
        """Return the spec of a search over ``store`` with ``cfg``."""
        return cls(dump_yaml(cfg), store, url, study, trials)

    def config(self) -> Config:
        """Return the config of the search."""
        return config_from_dict(yaml.safe_load(self.config_yaml), "search spec")


def build_evaluator(spec: SearchSpec) -> Evaluator:
    """Load the data and lay out the folds of ``spec``."""
    cfg = spec.config()
    panel = load_research_panel(resolve_store(spec.store), cfg)
    return Evaluator(panel, cfg, plan_from_config(cfg, panel))


def _worker_main(spec: SearchSpec, worker: int, out: Any, ev: Evaluator | None) -> None:
    try:
        ev = ev if ev is not None else build_evaluator(spec)
        report = run_worker(ev, spec.url, spec.study, spec.trials, worker=worker)
    except KeyboardInterrupt:
        return
    out.put(asdict(report))


def _context() -> tuple[Any, bool]:
    """Return the process context: fork where available (workers inherit the loaded panel
    and compiled kernels; each opens its own storage connection), else spawn."""
    if "fork" in mp.get_all_start_methods():
        return mp.get_context("fork"), True
    return mp.get_context("spawn"), False


class _Bar:
    def __init__(self, total: int, initial: int, enabled: bool) -> None:
        self.bar = tqdm(
            total=total, initial=initial, desc="trials", unit="trial", disable=not enabled
        )

    def update(self, done: int, best: float | None) -> None:
        if done > self.bar.n:
            self.bar.update(done - self.bar.n)
        if best is not None:
            self.bar.set_postfix_str(f"best {best:.3f}", refresh=False)

    def close(self) -> None:
        self.bar.close()


def _run_local(spec: SearchSpec, ev: Evaluator, bar: _Bar) -> list[WorkerReport]:
    return [run_worker(ev, spec.url, spec.study, spec.trials, on_trial=bar.update)]


def _poll(study: optuna.Study, n_folds: int, bar: _Bar) -> None:
    bar.update(counted_trials(study), best_final(study, n_folds))


def _run_processes(
    spec: SearchSpec, ev: Evaluator, workers: int, bar: _Bar, n_folds: int
) -> list[WorkerReport]:
    ctx, forked = _context()
    results: Any = ctx.Queue()
    shared = ev if forked else None
    procs = [
        ctx.Process(target=_worker_main, args=(spec, i, results, shared)) for i in range(workers)
    ]
    for p in procs:
        p.start()
    study = optuna.load_study(study_name=spec.study, storage=make_storage(spec.url))
    reports: list[WorkerReport] = []
    try:
        while any(p.is_alive() for p in procs) or len(reports) < workers:
            try:
                reports.append(WorkerReport(**results.get(timeout=0.5)))
            except queue.Empty:
                if not any(p.is_alive() for p in procs):
                    break
            _poll(study, n_folds, bar)
    finally:
        for p in procs:
            p.join()
    _poll(study, n_folds, bar)
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    if failed:
        raise XsmomError(f"{len(failed)} worker process(es) failed (exit codes {failed})")
    return reports


def run_search(
    spec: SearchSpec, ev: Evaluator, *, workers: int = 1, progress: bool = True
) -> list[WorkerReport]:
    """Create or resume the study and run it to ``spec.trials`` trials."""
    plan = open_study(spec.url, spec.study, ev, spec.trials)
    study = optuna.load_study(study_name=spec.study, storage=make_storage(spec.url))
    bar = _Bar(spec.trials, min(counted_trials(study), spec.trials), progress)
    try:
        if workers <= 1:
            return _run_local(spec, ev, bar)
        return _run_processes(spec, ev, workers, bar, int(plan["n_folds"]))
    finally:
        bar.close()
