"""Phased sampling: each walk-forward phase is guided by its own training scores only.

A worker starts a trial in phase ``k = min(finished // per_phase, K)`` (``K`` = the final
window). A trial of phase ``k`` is scored on the training windows of folds ``k..K`` and
stores those scores in its user attribute ``eval`` (``eval["train"] = {"k": [values]}``).
Its parameters are sampled from an in-memory *shadow* study holding every finished trial
that has a fold-``k`` score, valued by that score: trials of later phases (whose choices saw
later data) never guide it. So the parameters chosen for fold ``k`` depend only on bars
before fold ``k``'s test window, while one target computation per trial serves every fold.

The finished trial is then written to the shared study in one transaction (parameters,
values, attributes together), which keeps the storage cost per trial small.
"""

from __future__ import annotations

import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

from xsmom.config.optimize import OptimizeConfig
from xsmom.optimize.space import suggest

EVAL_ATTR = "eval"
PHASE_ATTR = "phase"


def phase_of(finished: int, per_phase: int, n_folds: int) -> int:
    """Return the phase of a trial started when ``finished`` trials were done."""
    return min(finished // per_phase, n_folds)


def make_inner_sampler(kind: str, n_objectives: int, seed: int) -> BaseSampler:
    """Return the sampler for ``kind`` (auto: TPE for one objective, NSGA-II for several)."""
    if kind == "auto":
        kind = "tpe" if n_objectives == 1 else "nsga2"
    if kind == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed, multivariate=True, n_startup_trials=10, constant_liar=False
        )


@dataclass(frozen=True)
class Sample:
    """Parameters drawn for one trial, in Optuna's stored form and decoded for the config."""

    raw: dict[str, Any]
    values: dict[str, Any]
    distributions: dict[str, BaseDistribution]
    system_attrs: dict[str, Any]


class _Shadow:
    """An in-memory study of the trials valued on one phase's training window."""

    def __init__(self, phase: int, sampler: BaseSampler, n_objectives: int) -> None:
        self.phase = str(phase)
        directions = [optuna.study.StudyDirection.MAXIMIZE] * n_objectives
        self.study = optuna.create_study(
            storage=optuna.storages.InMemoryStorage(), sampler=sampler, directions=directions
        )
        self.seen: set[str] = set()

    def sync(self, trials: Sequence[FrozenTrial]) -> None:
        for t in trials:
            info = t.user_attrs.get(EVAL_ATTR, {})
            uid = info.get("uid")
            if uid is None or uid in self.seen or t.state != TrialState.COMPLETE:
                continue
            self.seen.add(uid)
            scores = info.get("train", {}).get(self.phase)
            if scores is None:
                continue
            self.study.add_trial(
                optuna.trial.create_trial(
                    params=t.params,
                    distributions=t.distributions,
                    values=list(scores),
                    system_attrs=t.system_attrs,
                )
            )


class PhasedSampling:
    """One shadow study per phase, each with its own seeded sampler (one per worker)."""

    def __init__(self, make_sampler: Callable[[int], BaseSampler], n_objectives: int) -> None:
        self._make = make_sampler
        self._n_obj = n_objectives
        self._shadows: dict[int, _Shadow] = {}

    def sample(self, phase: int, known: Sequence[FrozenTrial], opt: OptimizeConfig) -> Sample:
        """Draw parameters for a trial of ``phase`` given the study's trials ``known``."""
        shadow = self._shadows.get(phase)
        if shadow is None:
            shadow = self._shadows[phase] = _Shadow(phase, self._make(phase), self._n_obj)
        shadow.sync(known)
        trial = shadow.study.ask()
        values = suggest(trial, opt)
        # The draw is recorded in the shared study once scored; here it only leaves the shadow.
        shadow.study.tell(trial, state=TrialState.FAIL)
        frozen = shadow.study.get_trials(deepcopy=False)[-1]
        return Sample(
            raw=dict(frozen.params),
            values=values,
            distributions=dict(frozen.distributions),
            system_attrs=dict(frozen.system_attrs),
        )


def phased_sampling(opt: OptimizeConfig, seed: int) -> PhasedSampling:
    """Return the phased sampling of ``opt`` (seeded per worker and phase)."""
    n_obj = len(opt.objectives)

    def make(phase: int) -> BaseSampler:
        return make_inner_sampler(opt.sampler, n_obj, seed * 1000 + phase)

    return PhasedSampling(make, n_obj)


def trial_record(
    sample: Sample,
    *,
    phase: int,
    worker: int,
    values: Sequence[float] | None,
    record: Mapping[str, Any] | None,
    fail_reason: str | None,
) -> FrozenTrial:
    """Return the finished trial to add to the shared study."""
    # One user attribute (one row) per trial keeps the write cheap.
    info = {**(record or {}), PHASE_ATTR: phase, "worker": worker, "uid": uuid.uuid4().hex}
    attrs: dict[str, Any] = {EVAL_ATTR: info}
    if fail_reason is not None:
        attrs["fail_reason"] = fail_reason
    return optuna.trial.create_trial(
        state=TrialState.COMPLETE if values is not None else TrialState.FAIL,
        params=sample.raw,
        distributions=sample.distributions,
        values=list(values) if values is not None else None,
        user_attrs=attrs,
        system_attrs=sample.system_attrs,
    )
