"""The search: one Optuna study in an RDB storage, run by one or many worker processes.

Every worker (a local process from ``--workers``, or a process on another machine given the
same ``--storage`` and ``--study``) loops: ask a trial, sample its parameters, score them on
the training windows of the trial's phase and later ones, tell the result. Workers stop when
the study holds the requested number of trials. A failed trial is told as FAIL with its
reason in the user attribute ``fail_reason``; the search goes on.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from xsmom.config import version_id
from xsmom.errors import ConfigError, XsmomError
from xsmom.optimize.evaluate import Evaluator
from xsmom.optimize.sampler import EVAL_ATTR, PhasedSampler, make_sampler, phase_of
from xsmom.optimize.space import suggest
from xsmom.optimize.storage import make_storage

log = logging.getLogger(__name__)
PLAN_ATTR = "xsmom_plan"
FAIL_ATTR = "fail_reason"
INTERRUPTED = "interrupted"
# Failures a trial can cause by its parameters or data; anything else is a bug and propagates.
TRIAL_ERRORS = (XsmomError, ValueError, ArithmeticError)
COUNTED = (TrialState.COMPLETE, TrialState.RUNNING, TrialState.FAIL, TrialState.PRUNED)


def study_plan(ev: Evaluator, trials: int) -> dict[str, Any]:
    """Return the layout a study is created with (stored as a study user attribute)."""
    plan = ev.plan
    base = ev.base.model_copy(
        update={"optimize": ev.base.optimize.model_copy(update={"trials": 1})}
    )
    return {
        "version": 1,
        "n_folds": len(plan.scored),
        "per_phase": max(1, math.ceil(trials / len(plan.folds))),
        "objectives": list(ev.opt.objectives),
        "folds": [
            [f.train.start, f.train.stop, *((f.test.start, f.test.stop) if f.test else ())]
            for f in plan.folds
        ],
        "first_ts": int(ev.panel.timestamps[0]),
        "n_bars": plan.n_bars,
        "base_version": version_id(base),
    }


def open_study(url: str, name: str, ev: Evaluator, trials: int) -> dict[str, Any]:
    """Create the study (or check that an existing one has the same layout); return its plan."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = make_storage(url)
    directions = [optuna.study.StudyDirection.MAXIMIZE] * len(ev.opt.objectives)
    study = optuna.create_study(
        study_name=name, storage=storage, directions=directions, load_if_exists=True
    )
    want = study_plan(ev, trials)
    have = study.user_attrs.get(PLAN_ATTR)
    if have is None:
        study.set_user_attr(PLAN_ATTR, want)
        return want
    diff = [k for k in want if k != "per_phase" and want[k] != have.get(k)]
    if diff:
        raise ConfigError(
            f"study {name!r} exists with another layout ({', '.join(diff)} differ): "
            "use another --study name or the config and data it was created with"
        )
    return dict(have)


def counted_trials(study: optuna.Study, trials: Sequence[FrozenTrial] | None = None) -> int:
    """Return the trials that count toward the budget (interrupted ones do not)."""
    pool = study.get_trials(deepcopy=False) if trials is None else trials
    return sum(1 for t in pool if t.state in COUNTED and t.user_attrs.get(FAIL_ATTR) != INTERRUPTED)


def fail_stale_trials(study: optuna.Study, max_age_s: float) -> int:
    """Mark RUNNING trials older than ``max_age_s`` (their worker died) as failed."""
    limit = datetime.now(UTC).replace(tzinfo=None) - timedelta(seconds=max_age_s)
    n = 0
    for t in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if t.datetime_start is not None and t.datetime_start < limit:
            study._storage.set_trial_user_attr(t._trial_id, FAIL_ATTR, "stale: worker died")
            study._storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            n += 1
    return n


@dataclass
class WorkerReport:
    """What one worker did."""

    worker: int
    trials: list[int] = field(default_factory=list)
    failed: int = 0
    seconds: float = 0.0
    research_seconds: float = 0.0

    @property
    def overhead_share(self) -> float:
        """Return the share of the worker's time spent outside targets and kernel."""
        return 1.0 - self.research_seconds / self.seconds if self.seconds > 0 else 0.0


OnTrial = Callable[[int, float | None], None]


def _run_trial(
    study: optuna.Study, ev: Evaluator, trial: optuna.Trial, phase: int, n_folds: int
) -> float | None:
    """Run one trial; return its final-window score, or None if it failed."""
    try:
        params = suggest(trial, ev.opt)
        result = ev.evaluate(params, phase)
    except KeyboardInterrupt:
        trial.set_user_attr(FAIL_ATTR, INTERRUPTED)
        study.tell(trial, state=TrialState.FAIL)
        raise
    except TRIAL_ERRORS as exc:
        trial.set_user_attr(FAIL_ATTR, f"{type(exc).__name__}: {exc}")
        study.tell(trial, state=TrialState.FAIL)
        return None
    trial.set_user_attr(EVAL_ATTR, result.record())
    study.tell(trial, result.train[str(phase)])
    return result.train[str(n_folds)][0]


def run_worker(
    ev: Evaluator,
    url: str,
    name: str,
    n_trials: int,
    *,
    worker: int = 0,
    on_trial: OnTrial | None = None,
    stale_after_s: float = 600.0,
) -> WorkerReport:
    """Run trials of study ``name`` until it holds ``n_trials``; return what this worker did."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t_start = time.perf_counter()
    research_0 = ev.timing.total
    storage = make_storage(url)
    probe = optuna.load_study(study_name=name, storage=storage)
    plan = probe.user_attrs.get(PLAN_ATTR)
    if plan is None:
        raise ConfigError(f"study {name!r} has no xsmom plan: create it with xsmom optimize")
    phase = partial(phase_of, per_phase=int(plan["per_phase"]), n_folds=int(plan["n_folds"]))
    sampler = make_sampler(ev.opt.sampler, len(ev.opt.objectives), ev.opt.seed + worker, phase)
    study = optuna.load_study(study_name=name, storage=storage, sampler=sampler)
    fail_stale_trials(study, stale_after_s)
    report = WorkerReport(worker=worker)
    n_folds = int(plan["n_folds"])
    best = best_final(study, n_folds)
    while True:
        known = study.get_trials(deepcopy=False)
        if counted_trials(study, known) >= n_trials:
            break
        if isinstance(sampler, PhasedSampler):
            sampler.feed(known)
        trial = study.ask()
        score = _run_trial(study, ev, trial, phase(trial.number), n_folds)
        report.trials.append(trial.number)
        report.failed += 0 if score is not None else 1
        if score is not None:
            best = score if best is None else max(best, score)
        if on_trial is not None:
            on_trial(counted_trials(study, known) + 1, best)
    report.seconds = time.perf_counter() - t_start
    report.research_seconds = ev.timing.total - research_0
    return report


def wait_for_running(study: optuna.Study, *, timeout_s: float, poll_s: float = 0.5) -> int:
    """Wait until no trial is RUNNING (other workers finishing); return how many still are."""
    deadline = time.monotonic() + timeout_s
    while True:
        running = len(study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
        if running == 0 or time.monotonic() >= deadline:
            if running:
                log.warning(
                    "%d trial(s) still running after %.0f s; analyzing without them",
                    running,
                    timeout_s,
                )
            return running
        time.sleep(poll_s)


def best_final(study: optuna.Study, n_folds: int) -> float | None:
    """Return the best training score on the final window so far (first objective)."""
    key = str(n_folds)
    vals = [
        t.user_attrs[EVAL_ATTR]["train"][key][0]
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if key in t.user_attrs.get(EVAL_ATTR, {}).get("train", {})
    ]
    return max(vals) if vals else None
