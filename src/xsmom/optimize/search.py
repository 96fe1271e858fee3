"""The search: one Optuna study in an RDB storage, run by one or many worker processes.

Every worker (a local process from ``--workers``, or a process on another machine given the
same ``--storage`` and ``--study``) loops: read the study, sample parameters for the current
phase (see :mod:`xsmom.optimize.sampler`), score them on the training windows of that phase
and the later ones, and write the finished trial in one transaction. Workers stop when the
study holds the requested number of finished trials. A failed trial is stored as FAIL with
its reason in the user attribute ``fail_reason``; the search goes on.
"""

from __future__ import annotations

import logging
import math
import os
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import text

from xsmom.config import version_id
from xsmom.errors import ConfigError, XsmomError
from xsmom.optimize.evaluate import Evaluator
from xsmom.optimize.plan import trial_relevant
from xsmom.optimize.sampler import (
    EVAL_ATTR,
    PhasedSampling,
    Sample,
    phase_of,
    phased_sampling,
    trial_record,
)
from xsmom.optimize.storage import make_storage

log = logging.getLogger(__name__)
PLAN_ATTR = "xsmom_plan"
FAIL_ATTR = "fail_reason"
# Failures a trial can cause by its parameters or data; anything else is a bug and propagates.
TRIAL_ERRORS = (XsmomError, ValueError, ArithmeticError)
COUNTED = (TrialState.COMPLETE, TrialState.FAIL)


def study_plan(ev: Evaluator, trials: int) -> dict[str, Any]:
    """Return the layout a study is created with (stored as a study user attribute)."""
    plan = ev.plan
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
        "base_version": version_id(trial_relevant(ev.base)),
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
    """Return the finished trials (complete or failed) that count toward the budget."""
    pool = study.get_trials(deepcopy=False) if trials is None else trials
    return sum(1 for t in pool if t.state in COUNTED)


@dataclass
class WorkerReport:
    """What one worker did."""

    worker: int
    trials: list[int] = field(default_factory=list)
    failed: int = 0
    seconds: float = 0.0
    research_seconds: float = 0.0
    storage_seconds: float = 0.0
    sampling_seconds: float = 0.0
    trial_ids: list[int] = field(default_factory=list, repr=False)

    @property
    def overhead_share(self) -> float:
        """Return the share of the worker's time spent outside targets and kernel."""
        return 1.0 - self.research_seconds / self.seconds if self.seconds > 0 else 0.0


OnTrial = Callable[[int, float | None], None]
REFRESH_S = 1.0


class _StudyView:
    """The study's finished trials as this worker knows them.

    The budget is checked on every trial with one COUNT query; the trials themselves (for
    the sampler) are re-read at most every REFRESH_S seconds, the worker's own trials being
    added as it writes them.
    """

    def __init__(self, study: optuna.Study, storage: optuna.storages.RDBStorage, sid: int) -> None:
        self.study = study
        self.storage = storage
        self.sid = sid
        self.trials: list[FrozenTrial] = []
        self._at = -math.inf

    def finished(self) -> int:
        if time.monotonic() - self._at >= REFRESH_S:
            self.trials = list(self.study.get_trials(deepcopy=False))
            self._at = time.monotonic()
        return count_finished(self.storage, self.sid)

    def add(self, trial: FrozenTrial) -> None:
        self.trials.append(trial)


def count_finished(storage: optuna.storages.RDBStorage, study_id: int) -> int:
    """Return the number of COMPLETE and FAIL trials of a study (one COUNT query)."""
    query = text(
        "SELECT COUNT(*) FROM trials WHERE study_id = :sid AND state IN ('COMPLETE', 'FAIL')"
    )
    with storage.engine.connect() as con:
        return int(con.execute(query, {"sid": study_id}).scalar_one())


def _score(ev: Evaluator, sample: Sample, phase: int, worker: int) -> FrozenTrial:
    """Evaluate one sample; a failure becomes a FAIL trial with its reason."""
    try:
        result = ev.evaluate(sample.values, phase)
    except TRIAL_ERRORS as exc:
        reason = f"{type(exc).__name__}: {exc}"
        return trial_record(
            sample, phase=phase, worker=worker, values=None, record=None, fail_reason=reason
        )
    return trial_record(
        sample,
        phase=phase,
        worker=worker,
        values=result.train[str(phase)],
        record=result.record(),
        fail_reason=None,
    )


class GracefulStop:
    """While active, a first Ctrl-C only asks the loop to stop after the current trial.

    Interrupting the strategy's compiled code mid-call would surface as a SystemError; so
    the first SIGINT sets a flag, the trial in progress is finished and written, and the
    caller raises KeyboardInterrupt. A second Ctrl-C interrupts at once.
    """

    def __init__(self) -> None:
        self.requested = False
        self._old: Any = None
        self._active = False

    def _handle(self, signum: int, frame: Any) -> None:
        self.requested = True
        signal.signal(signal.SIGINT, self._old)

    def __enter__(self) -> GracefulStop:
        if threading.current_thread() is threading.main_thread():
            self._old = signal.signal(signal.SIGINT, self._handle)
            self._active = True
        return self

    def __exit__(self, *exc: object) -> None:
        if self._active:
            signal.signal(signal.SIGINT, self._old)


def run_worker(
    ev: Evaluator,
    url: str,
    name: str,
    n_trials: int,
    *,
    worker: int = 0,
    on_trial: OnTrial | None = None,
) -> WorkerReport:
    """Run trials of study ``name`` until it holds ``n_trials``; return what this worker did.

    Each trial is written once, finished, in one transaction; an interrupted trial (Ctrl-C)
    leaves nothing behind, so the next run simply continues.
    """
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    t_start = time.perf_counter()
    research_0 = ev.timing.total
    storage = make_storage(url)
    study = optuna.load_study(study_name=name, storage=storage)
    plan = study.user_attrs.get(PLAN_ATTR)
    if plan is None:
        raise ConfigError(f"study {name!r} has no xsmom plan: create it with xsmom optimize")
    study_id = storage.get_study_id_from_name(name)
    sampling = phased_sampling(ev.opt, ev.opt.seed + 7919 * worker)
    report = WorkerReport(worker=worker)
    view = _StudyView(study, storage, study_id)
    stop = GracefulStop()
    beacon = WorkerBeacon(study)
    beacon.beat(force=True)
    try:
        with stop:
            _loop(
                ev,
                storage,
                study_id,
                view,
                sampling,
                report,
                n_trials,
                plan,
                on_trial,
                stop,
                beacon,
            )
    finally:
        beacon.beat(done=True)
    numbers = {t._trial_id: t.number for t in study.get_trials(deepcopy=False)}
    report.trials = [numbers[i] for i in report.trial_ids]
    report.seconds = time.perf_counter() - t_start
    report.research_seconds = ev.timing.total - research_0
    if stop.requested:
        raise KeyboardInterrupt
    return report


def _loop(
    ev: Evaluator,
    storage: optuna.storages.RDBStorage,
    study_id: int,
    view: _StudyView,
    sampling: PhasedSampling,
    report: WorkerReport,
    n_trials: int,
    plan: dict[str, Any],
    on_trial: OnTrial | None,
    stop: GracefulStop,
    beacon: WorkerBeacon,
) -> None:
    """Run trials until the budget is reached or a stop is requested."""
    per_phase, n_folds = int(plan["per_phase"]), int(plan["n_folds"])
    best = best_final(view.study, n_folds)
    while not stop.requested:
        t0 = time.perf_counter()
        done = view.finished()
        report.storage_seconds += time.perf_counter() - t0
        if done >= n_trials:
            break
        phase = phase_of(done, per_phase, n_folds)
        t0 = time.perf_counter()
        sample = sampling.sample(phase, view.trials, ev.opt)
        report.sampling_seconds += time.perf_counter() - t0
        frozen = _score(ev, sample, phase, report.worker)
        t0 = time.perf_counter()
        report.trial_ids.append(storage.create_new_trial(study_id, template_trial=frozen))
        report.storage_seconds += time.perf_counter() - t0
        view.add(frozen)
        if frozen.state == TrialState.FAIL:
            report.failed += 1
        else:
            score = frozen.user_attrs[EVAL_ATTR]["train"][str(n_folds)][0]
            best = score if best is None else max(best, score)
        if on_trial is not None:
            on_trial(done + 1, best)
        beacon.beat()


WORKER_PREFIX = "xsmom_worker:"
BEAT_S = 10.0
DEAD_AFTER_S = 60.0


class WorkerBeacon:
    """A study user attribute per running worker: started, last beat, done.

    Trials are only written once finished, so this is how a worker that is done learns
    whether others (here or on other machines) still have trials in flight.
    """

    def __init__(self, study: optuna.Study) -> None:
        self.study = study
        self.key = f"{WORKER_PREFIX}{uuid.uuid4().hex[:12]}"
        self.host = f"{socket.gethostname()}:{os.getpid()}"
        self._at = -math.inf

    def beat(self, *, done: bool = False, force: bool = False) -> None:
        now = time.time()
        if force or done or now - self._at >= BEAT_S:
            self.study.set_user_attr(self.key, {"host": self.host, "beat": now, "done": done})
            self._at = now


def active_workers(study: optuna.Study) -> list[str]:
    """Return the hosts of workers that are not done and beat within DEAD_AFTER_S."""
    now = time.time()
    return [
        str(v.get("host"))
        for k, v in study.user_attrs.items()
        if k.startswith(WORKER_PREFIX)
        and isinstance(v, dict)
        and not v.get("done")
        and now - float(v.get("beat", 0.0)) < DEAD_AFTER_S
    ]


def wait_for_workers(study: optuna.Study, *, timeout_s: float, poll_s: float = 0.5) -> int:
    """Wait until no other worker has trials in flight; return how many still do."""
    deadline = time.monotonic() + timeout_s
    while True:
        active = active_workers(study)
        if not active or time.monotonic() >= deadline:
            if active:
                log.warning(
                    "workers %s still running after %.0f s; analyzing without their last trials",
                    ", ".join(active),
                    timeout_s,
                )
            return len(active)
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
