"""Phased sampling: trial ``n`` belongs to walk-forward phase ``min(n // per_phase, K)``.

Phase ``k < K`` searches for fold ``k``; phase ``K`` for the final (deployment) window. A
trial of phase ``k`` is scored on the training windows of folds ``k..K`` and stores those
scores in its user attribute ``eval`` (``eval["train"] = {"k": [values]}``). The sampler of
phase ``k`` sees every finished trial that has a fold-``k`` training score, valued by that
score, and nothing else: trials of later phases (whose choices saw later data) never guide
it. So the parameters chosen for fold ``k`` depend only on bars before fold ``k``'s test
window, while one target computation per trial serves every fold.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial, TrialState

EVAL_ATTR = "eval"


def phase_of(number: int, per_phase: int, n_folds: int) -> int:
    """Return the phase of trial ``number`` (``n_folds`` is the final phase)."""
    return min(number // per_phase, n_folds)


class _Shadow:
    """An in-memory study holding the trials valued on one phase's training window."""

    def __init__(self, phase: int, directions: Sequence[optuna.study.StudyDirection]) -> None:
        self.phase = str(phase)
        self.study = optuna.create_study(
            storage=optuna.storages.InMemoryStorage(), directions=list(directions)
        )
        self.seen: set[int] = set()

    def sync(self, trials: Sequence[FrozenTrial]) -> None:
        for t in trials:
            if t.number in self.seen:
                continue
            self.seen.add(t.number)
            scores = t.user_attrs.get(EVAL_ATTR, {}).get("train", {}).get(self.phase)
            if scores is None:
                continue
            self.study.add_trial(
                optuna.trial.create_trial(
                    params=t.params, distributions=t.distributions, values=list(scores)
                )
            )


class PhasedSampler(BaseSampler):
    """Wrap a sampler so that each phase is guided only by its own training scores."""

    def __init__(self, inner: BaseSampler, phase: Callable[[int], int]) -> None:
        self._inner = inner
        self._phase = phase
        self._shadows: dict[int, _Shadow] = {}
        self._known: Sequence[FrozenTrial] = ()

    def feed(self, trials: Sequence[FrozenTrial]) -> None:
        """Give the sampler the study's trials (read once per trial by the worker loop)."""
        self._known = trials

    def _view(self, study: optuna.Study, trial: FrozenTrial) -> optuna.Study:
        k = self._phase(trial.number)
        shadow = self._shadows.get(k)
        if shadow is None:
            shadow = self._shadows[k] = _Shadow(k, study.directions)
        shadow.sync([t for t in self._known if t.state == TrialState.COMPLETE])
        return shadow.study

    def reseed_rng(self) -> None:
        self._inner.reseed_rng()

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return dict(self._inner.infer_relative_search_space(self._view(study, trial), trial))

    def sample_relative(
        self, study: optuna.Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        return dict(self._inner.sample_relative(self._view(study, trial), trial, search_space))

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        view = self._view(study, trial)
        return self._inner.sample_independent(view, trial, param_name, param_distribution)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._inner.before_trial(study, trial)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._inner.after_trial(study, trial, state, values)


def make_sampler(
    kind: str, n_objectives: int, seed: int, phase: Callable[[int], int]
) -> BaseSampler:
    """Return the sampler for ``kind`` (auto: TPE for one objective, NSGA-II for several).

    TPE is phased (see the module docstring); random sampling needs no guide. NSGA-II keeps its own
    generations in the study, so it runs unwrapped: it is guided by each trial's value on
    its own phase's window, which is never later than the trial's own fold.
    """
    if kind == "auto":
        kind = "tpe" if n_objectives == 1 else "nsga2"
    if kind == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    if kind == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    tpe = optuna.samplers.TPESampler(
        seed=seed, multivariate=True, n_startup_trials=10, constant_liar=False
    )
    return PhasedSampler(tpe, phase)
