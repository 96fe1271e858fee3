"""After the search: choose per fold on training scores, score out of sample, compute statistics.

For fold ``k`` the choice is the trial with the best fold-``k`` training score among the
trials of phases ``<= k`` (the only ones that have it); the final choice is the best score
on the final window among all trials. The chosen parameters are then backtested once on the
fold's test window, which no choice ever saw.
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import optuna
from optuna.trial import FrozenTrial, TrialState

from xsmom.config import Config
from xsmom.data.timeframes import bars_per_year
from xsmom.errors import StrategyError
from xsmom.optimize.evaluate import Evaluator
from xsmom.optimize.folds import Fold
from xsmom.optimize.gate import GateResult, evaluate_gate
from xsmom.optimize.plan import iso
from xsmom.optimize.sampler import EVAL_ATTR
from xsmom.optimize.search import FAIL_ATTR
from xsmom.optimize.space import decode_params
from xsmom.optimize.stats import (
    bootstrap_sharpe_interval,
    deflated_sharpe,
    moments,
    pbo_from_blocks,
)

log = logging.getLogger(__name__)
F64 = npt.NDArray[np.float64]


@dataclass
class FoldResult:
    """One walk-forward fold: the choice on training data and its out-of-sample result."""

    fold: Fold
    trial: int
    params: dict[str, Any]
    candidates: int
    train: dict[str, float]
    oos: dict[str, float] = field(default_factory=dict)
    current_oos: dict[str, float] = field(default_factory=dict)


@dataclass
class Analysis:
    """Everything study.json and the report show."""

    folds: list[FoldResult]
    final: FoldResult
    candidate: Config
    n_trials: int
    n_failed: int
    failures: list[dict[str, Any]]
    deflated_sharpe: float
    pbo: float
    pbo_logits: list[float]
    oos_sharpe: float
    current_oos_sharpe: float
    sharpe_ci: tuple[float, float]
    importances: dict[str, float]
    gate: GateResult
    oos_timestamps: npt.NDArray[np.int64]
    oos_equity: F64
    current_equity: F64
    history: list[dict[str, Any]]
    pareto: list[dict[str, Any]] = field(default_factory=list)


def _score(t: FrozenTrial, key: str) -> float | None:
    vals = t.user_attrs.get(EVAL_ATTR, {}).get("train", {}).get(key)
    return None if vals is None else float(vals[0])


def _choose(trials: list[FrozenTrial], fold: Fold) -> tuple[FrozenTrial, int]:
    key = str(fold.index)
    scored = [(s, t) for t in trials if (s := _score(t, key)) is not None]
    if not scored:
        raise StrategyError(f"no completed trial has a training score for {fold.name}")
    best = max(scored, key=lambda st: (st[0], -st[1].number))
    return best[1], len(scored)


def pareto_front(done: list[FrozenTrial], key: str) -> list[dict[str, Any]]:
    """Return the trials not dominated on their training scores of window ``key``."""
    pts = [
        (t.number, [float(v) for v in t.user_attrs[EVAL_ATTR]["train"][key]])
        for t in done
        if key in t.user_attrs.get(EVAL_ATTR, {}).get("train", {})
    ]

    def dominated(v: list[float]) -> bool:
        return any(all(o >= x for o, x in zip(w, v, strict=True)) and w != v for _, w in pts)

    return [{"trial": n, "values": v} for n, v in pts if not dominated(v)]


def _concat_equity(parts: list[F64]) -> F64:
    r = np.concatenate(parts) if parts else np.zeros(0)
    return np.asarray(np.cumprod(1.0 + r), dtype=np.float64)


def _importances(study: optuna.Study, final_key: str) -> dict[str, float]:
    def target(t: FrozenTrial) -> float:
        # PED-ANOVA explains low target values: negate the (maximized) score.
        return -float(t.user_attrs[EVAL_ATTR]["train"][final_key][0])

    try:
        with warnings.catch_warnings():
            # PED-ANOVA warns that it explains low values (the target is negated) and when
            # few distinct trials make all importances equal: neither needs the user's eye.
            warnings.simplefilter("ignore", UserWarning)
            imp = optuna.importance.get_param_importances(study, target=target)
    except (ValueError, RuntimeError) as exc:  # too few or identical trials
        log.warning("parameter importances unavailable: %s", exc)
        return {}
    return {k: float(v) for k, v in imp.items()}


def _history(trials: list[FrozenTrial], final_key: str) -> list[dict[str, Any]]:
    out = []
    for t in sorted(trials, key=lambda t: t.number):
        out.append(
            {
                "number": t.number,
                "state": t.state.name,
                "value": t.values[0] if t.values else None,
                "final": _score(t, final_key),
                "fail_reason": t.user_attrs.get(FAIL_ATTR),
            }
        )
    return out


def _fold_result(ev: Evaluator, fold: Fold, trial: FrozenTrial, n: int) -> FoldResult:
    params = decode_params(ev.opt, trial.params)
    cfg = ev.config_for(params)
    train = ev.run(cfg, ev.targets(cfg), fold.train).metrics
    return FoldResult(fold, trial.number, params, n, {k: float(v) for k, v in train.items()})


def analyze(study: optuna.Study, ev: Evaluator) -> Analysis:
    """Choose, score out of sample, and compute the overfitting statistics and the gate."""
    all_trials = study.get_trials(deepcopy=False)
    done = [t for t in all_trials if t.state == TrialState.COMPLETE and EVAL_ATTR in t.user_attrs]
    failed = [t for t in all_trials if t.state == TrialState.FAIL]
    if not done and failed:
        reason = failed[0].user_attrs.get(FAIL_ATTR, "unknown")
        raise StrategyError(f"all {len(failed)} trials failed; the first: {reason}")
    final_fold = ev.plan.final
    final_key = str(final_fold.index)
    results = []
    for fold in ev.plan.scored:
        trial, n = _choose(done, fold)
        results.append(_fold_result(ev, fold, trial, n))
    best, n_final = _choose(done, final_fold)
    final = _fold_result(ev, final_fold, best, n_final)
    oos_parts, cur_parts = _score_oos(ev, results)
    oos_sr, cur_sr, ci = _oos_statistics(ev, oos_parts, cur_parts)
    dsr = _deflated(ev, final, done)
    pbo_value, logits = _pbo(done)
    gate = evaluate_gate(
        ev.opt.gate,
        oos_sharpe=oos_sr,
        current_oos_sharpe=cur_sr,
        ci_low=ci[0],
        deflated_sharpe=dsr,
        pbo=pbo_value,
    )
    ts = np.concatenate(
        [ev.panel.timestamps[f.fold.test.start : f.fold.test.stop] for f in results if f.fold.test]
    )
    return Analysis(
        folds=results,
        final=final,
        candidate=ev.config_for(final.params),
        n_trials=len(all_trials),
        n_failed=len(failed),
        failures=[
            {"number": t.number, "reason": t.user_attrs.get(FAIL_ATTR, "unknown")} for t in failed
        ],
        deflated_sharpe=dsr,
        pbo=pbo_value,
        pbo_logits=logits,
        oos_sharpe=oos_sr,
        current_oos_sharpe=cur_sr,
        sharpe_ci=ci,
        importances=_importances(study, final_key),
        gate=gate,
        oos_timestamps=ts,
        oos_equity=_concat_equity(oos_parts),
        current_equity=_concat_equity(cur_parts),
        history=_history(all_trials, final_key),
        pareto=pareto_front(done, final_key) if len(ev.opt.objectives) > 1 else [],
    )


def _oos_statistics(
    ev: Evaluator, oos_parts: list[F64], cur_parts: list[F64]
) -> tuple[float, float, tuple[float, float]]:
    """Return the walk-forward OOS Sharpe, the current config's, and the bootstrap interval."""
    bpy = bars_per_year(ev.panel.timeframe)
    oos_r, cur_r = np.concatenate(oos_parts), np.concatenate(cur_parts)
    st = ev.opt.stats
    ci = bootstrap_sharpe_interval(
        oos_r,
        periods_per_year=bpy,
        n_samples=st.bootstrap_samples,
        mean_block=st.bootstrap_block or max(1, round(bpy / 365.0)),
        confidence=st.confidence,
        seed=ev.opt.seed,
    )
    return _annual_sharpe(oos_r, bpy), _annual_sharpe(cur_r, bpy), ci


def _annual_sharpe(r: F64, bpy: float) -> float:
    sr, _, _ = moments(r)
    return sr * math.sqrt(bpy)


def _score_oos(ev: Evaluator, results: list[FoldResult]) -> tuple[list[F64], list[F64]]:
    """Backtest each fold's choice, and the current config, on the fold's test window."""
    cur_targets = ev.targets(ev.base)
    oos_parts, cur_parts = [], []
    for fr in results:
        assert fr.fold.test is not None
        cfg = ev.config_for(fr.params)
        res = ev.run(cfg, ev.targets(cfg), fr.fold.test)
        cur = ev.run(ev.base, cur_targets, fr.fold.test)
        fr.oos = {k: float(v) for k, v in res.metrics.items()}
        fr.current_oos = {k: float(v) for k, v in cur.metrics.items()}
        oos_parts.append(res.returns)
        cur_parts.append(cur.returns)
    return oos_parts, cur_parts


def _deflated(ev: Evaluator, final: FoldResult, done: list[FrozenTrial]) -> float:
    """Return the DSR of the final choice on its window, given every completed trial."""
    cfg = ev.config_for(final.params)
    res = ev.run(cfg, ev.targets(cfg), final.fold.train)
    sr, skew, kurt = moments(res.returns)
    srs = np.array([float(t.user_attrs[EVAL_ATTR]["final_sr"]) for t in done])
    var = float(np.var(srs, ddof=1)) if srs.size > 1 else 0.0
    return deflated_sharpe(
        sr, res.returns.size, n_trials=len(done), var_sharpe=var, skew=skew, kurtosis=kurt
    )


def _pbo(done: list[FrozenTrial]) -> tuple[float, list[float]]:
    """Return the PBO by CSCV over every completed trial's final-window blocks."""
    if len(done) < 2:
        return float("nan"), []
    blocks = np.array([t.user_attrs[EVAL_ATTR]["blocks"] for t in done], dtype=np.float64)
    res = pbo_from_blocks(np.transpose(blocks, (1, 0, 2)))
    return res.pbo, [float(x) for x in res.logits]


def fold_dates(ev: Evaluator, fold: Fold) -> dict[str, Any]:
    """Return the windows of a fold as bars and ISO dates (stop dates exclusive)."""
    ts = ev.panel.timestamps
    bar = ev.panel.bar_ms

    def span(w: Any) -> dict[str, Any]:
        return {
            "start": iso(int(ts[w.start])),
            "end": iso(int(ts[w.stop - 1]) + bar),
            "bars": [w.start, w.stop],
        }

    out = {"name": fold.name, "train": span(fold.train)}
    if fold.test is not None:
        out["test"] = span(fold.test)
    return out
