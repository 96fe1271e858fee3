"""The search on a synthetic market: it finds a planted lookback, records failures, and
never lets a fold's choice see data after its training window."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import optuna
import pytest

from xsmom.config import Config, config_from_dict
from xsmom.data import MarketPanel
from xsmom.errors import ConfigError
from xsmom.optimize.analysis import analyze
from xsmom.optimize.evaluate import Evaluator
from xsmom.optimize.plan import plan_from_config
from xsmom.optimize.sampler import EVAL_ATTR
from xsmom.optimize.search import FAIL_ATTR, counted_trials, open_study, run_worker
from xsmom.optimize.storage import make_storage, sqlite_url

PLANTED = 24


def planted_panel(
    n_bars: int = 3000, n_sym: int = 8, seed: int = 3, drift: float = 0.002
) -> MarketPanel:
    """Returns whose drift is the cross-sectional z-score of each symbol's log return over
    exactly the last PLANTED bars, so cross-sectional momentum with that lookback is the one
    signal that predicts the next bar; shorter and longer lookbacks only overlap it."""
    rng = np.random.default_rng(seed)
    eps = rng.normal(0.0, 0.01, size=(n_bars, n_sym))
    logp = np.zeros((n_bars + 1, n_sym))
    for t in range(n_bars):
        r_t = eps[t]
        if t > PLANTED:
            window = logp[t] - logp[t - PLANTED]
            r_t = r_t + drift * (window - window.mean()) / (window.std() + 1e-12)
        logp[t + 1] = logp[t] + r_t
    r = np.diff(logp, axis=0)
    close = 100.0 * np.exp(np.cumsum(r, axis=0))
    open_ = np.vstack([close[:1], close[:-1]])
    high = np.maximum(open_, close) * 1.0005
    low = np.minimum(open_, close) * 0.9995
    ts = 1_700_000_000_000 + 3_600_000 * np.arange(n_bars, dtype=np.int64)
    return MarketPanel(
        symbols=tuple(f"S{i}/USDT:USDT" for i in range(n_sym)),
        timeframe="1h",
        timestamps=ts,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=np.full((n_bars, n_sym), 1e7),
        mark_open=open_.copy(),
        mark_close=close.copy(),
        funding_rate=np.zeros((n_bars, n_sym)),
        funding_event=np.zeros((n_bars, n_sym), dtype=bool),
    )


def synthetic_config(space: dict[str, Any], **folds: Any) -> Config:
    return config_from_dict(
        {
            "strategy": {
                "universe": {"min_history": 10, "liquidity_lookback": 24, "max_symbols": 8},
                "signal": {"lookbacks": [12], "vol_lookback": 48},
                "selection": {"k": 2, "exit_band": 0, "weight_band": 0.0},
                "portfolio": {"rebalance_every": 1},
                "exits": {
                    "atr_stop": 0.0,
                    "trail_atr": 0.0,
                    "catastrophic_stop": 0.0,
                    "cooldown_bars": 0,
                },
            },
            "costs": {"taker_fee_bps": 0.0, "slippage_bps": 0.0, "impact_coef": 0.0},
            "optimize": {
                "space": space,
                "folds": {"n_folds": 2, "train": 900, "test": 400, "embargo": 10, **folds},
                "stats": {"cscv_blocks": 4, "bootstrap_samples": 200},
            },
        }
    )


def _search(tmp_path: Path, cfg: Config, panel: MarketPanel, trials: int) -> tuple[Any, Evaluator]:
    ev = Evaluator(panel, cfg, plan_from_config(cfg, panel))
    url = sqlite_url(tmp_path / "study.db")
    open_study(url, "t", ev, trials)
    run_worker(ev, url, "t", trials)
    study = optuna.load_study(study_name="t", storage=make_storage(url))
    return study, ev


LOOKBACK_SPACE = {
    "strategy.signal.lookbacks": {"type": "categorical", "choices": [[6], [PLANTED], [96]]}
}


def test_search_finds_the_planted_lookback(tmp_path: Path) -> None:
    panel = planted_panel()
    study, ev = _search(tmp_path, synthetic_config(LOOKBACK_SPACE), panel, trials=12)
    an = analyze(study, ev)
    assert an.final.params["strategy.signal.lookbacks"] == (PLANTED,)
    assert all(f.params["strategy.signal.lookbacks"] == (PLANTED,) for f in an.folds)
    assert an.oos_sharpe > 1.0
    assert an.candidate.strategy.signal.lookbacks == (PLANTED,)


def test_each_fold_chooses_only_among_trials_of_its_phase_or_earlier(tmp_path: Path) -> None:
    panel = planted_panel(seed=5)
    space = {"strategy.signal.vol_lookback": {"type": "int", "low": 24, "high": 240, "step": 24}}
    cfg = synthetic_config(space)
    study, ev = _search(tmp_path, cfg, panel, trials=9)  # 3 phases of 3 trials
    trials = sorted(study.get_trials(), key=lambda t: t.number)
    for t in trials:
        phase = min(t.number // 3, 2)
        # a trial is scored on its own phase's fold and the later ones, never earlier ones
        assert sorted(t.user_attrs[EVAL_ATTR]["train"]) == [str(k) for k in range(phase, 3)]
        assert t.values[0] == t.user_attrs[EVAL_ATTR]["train"][str(phase)][0]
    an = analyze(study, ev)
    assert an.folds[0].candidates == 3 and an.folds[1].candidates == 6
    assert an.final.candidates == 9
    assert an.folds[0].trial < 3 and an.folds[1].trial < 6
    # the choice maximizes the fold's training score among its candidates
    best0 = max(trials[:3], key=lambda t: t.user_attrs[EVAL_ATTR]["train"]["0"][0])
    assert an.folds[0].trial == best0.number


def test_a_failed_trial_is_recorded_with_its_reason_and_the_study_goes_on(
    tmp_path: Path,
) -> None:
    # One weight per lookback is a schema rule: mismatched samples fail as trials.
    space = {
        "strategy.signal.lookbacks": {"type": "categorical", "choices": [[12], [12, 24]]},
        "strategy.signal.lookback_weights": {"type": "categorical", "choices": [[1.0], [1.0, 2.0]]},
    }
    panel = planted_panel(seed=9)
    study, ev = _search(tmp_path, synthetic_config(space), panel, trials=12)
    assert len(study.get_trials()) == 12
    failed = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.FAIL]
    done = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
    assert failed and done
    for t in failed:
        n_lb = len(json.loads(t.params["strategy.signal.lookbacks"]))
        assert n_lb != len(json.loads(t.params["strategy.signal.lookback_weights"]))
        assert "one weight per lookback" in t.user_attrs[FAIL_ATTR]
    for t in done:
        n_lb = len(json.loads(t.params["strategy.signal.lookbacks"]))
        assert n_lb == len(json.loads(t.params["strategy.signal.lookback_weights"]))
    an = analyze(study, ev)
    assert an.n_failed == len(failed)
    assert {f["number"] for f in an.failures} == {t.number for t in failed}


def test_resuming_with_more_trials_continues_the_same_study(tmp_path: Path) -> None:
    panel = planted_panel(seed=2)
    cfg = synthetic_config(LOOKBACK_SPACE)
    _study, ev = _search(tmp_path, cfg, panel, trials=4)
    url = sqlite_url(tmp_path / "study.db")
    open_study(url, "t", ev, 7)
    report = run_worker(ev, url, "t", 7)
    assert report.trials == [4, 5, 6]
    assert counted_trials(optuna.load_study(study_name="t", storage=make_storage(url))) == 7
    # the same study name with other folds is refused
    other = synthetic_config(LOOKBACK_SPACE, test=300)
    ev2 = Evaluator(panel, other, plan_from_config(other, panel))
    with pytest.raises(ConfigError, match="another layout"):
        open_study(url, "t", ev2, 7)


def test_several_objectives_use_nsga2_and_the_first_decides(tmp_path: Path) -> None:
    space = {"strategy.signal.vol_lookback": {"type": "int", "low": 24, "high": 240, "step": 24}}
    cfg = synthetic_config(space)
    cfg = cfg.model_copy(
        update={
            "optimize": cfg.optimize.model_copy(
                update={"objectives": ("sharpe", "calmar", "penalized")}
            )
        }
    )
    study, ev = _search(tmp_path, cfg, planted_panel(seed=4), trials=9)
    assert len(study.directions) == 3
    done = [t for t in study.get_trials() if t.state == optuna.trial.TrialState.COMPLETE]
    assert len(done) == 9 and all(len(t.values) == 3 for t in done)
    an = analyze(study, ev)
    best = max(done, key=lambda t: (t.user_attrs[EVAL_ATTR]["train"]["2"][0], -t.number))
    assert an.final.trial == best.number
    front = {p["trial"] for p in an.pareto}
    assert best.number in front
    vals = {t.number: t.user_attrs[EVAL_ATTR]["train"]["2"] for t in done}
    for n in front:  # nobody is at least as good everywhere and better somewhere
        assert not any(
            all(a >= b for a, b in zip(w, vals[n], strict=True)) and w != vals[n]
            for w in vals.values()
        )


def test_gate_trials_and_seed_may_change_when_resuming(tmp_path: Path) -> None:
    panel = planted_panel(seed=2)
    cfg = synthetic_config(LOOKBACK_SPACE)
    _study, _ev = _search(tmp_path, cfg, panel, trials=3)
    opt = cfg.optimize
    changed = cfg.model_copy(
        update={
            "optimize": opt.model_copy(
                update={
                    "seed": 5,
                    "gate": opt.gate.model_copy(update={"max_pbo": 0.1}),
                    "stats": opt.stats.model_copy(update={"bootstrap_samples": 500}),
                }
            )
        }
    )
    ev2 = Evaluator(panel, changed, plan_from_config(changed, panel))
    plan = open_study(sqlite_url(tmp_path / "study.db"), "t", ev2, 5)
    assert plan["n_folds"] == 2


def test_changing_data_after_a_folds_training_never_changes_its_choice(tmp_path: Path) -> None:
    """Leakage check: replace every bar after fold 0's training window with another market;
    fold 0's trials, their fold-0 training scores and its choice stay exactly the same."""
    space = {
        "strategy.signal.lookbacks": {"type": "categorical", "choices": [[6], [24], [96]]},
        "strategy.signal.vol_lookback": {"type": "int", "low": 24, "high": 240, "step": 24},
    }
    cfg = synthetic_config(space)
    a = planted_panel(seed=21)
    other = planted_panel(seed=22)
    cut = plan_from_config(cfg, a).folds[0].train.stop
    # splice: bars from `cut` on follow another market, scaled to continue the price path
    scale = a.close[cut - 1] / other.close[cut - 1]
    fields = {}
    for name in ("open", "high", "low", "close", "mark_open", "mark_close"):
        arr = getattr(a, name).copy()
        arr[cut:] = getattr(other, name)[cut:] * scale
        fields[name] = arr
    b = replace(a, **fields)
    runs = []
    for i, panel in enumerate((a, b)):
        sub = tmp_path / f"run{i}"
        sub.mkdir()
        study, ev = _search(sub, cfg, panel, trials=9)
        runs.append((study, analyze(study, ev)))
    (sa, an_a), (sb, an_b) = runs
    phase0 = [t for t in sa.get_trials() if t.user_attrs[EVAL_ATTR]["phase"] == 0]
    assert phase0
    by_number = {t.number: t for t in sb.get_trials()}
    for t in phase0:
        u = by_number[t.number]
        assert u.params == t.params
        assert u.user_attrs[EVAL_ATTR]["train"]["0"] == t.user_attrs[EVAL_ATTR]["train"]["0"]
    assert an_a.folds[0].trial == an_b.folds[0].trial
    assert an_a.folds[0].params == an_b.folds[0].params
    assert an_a.folds[0].train == an_b.folds[0].train
    assert an_a.folds[0].oos != an_b.folds[0].oos  # the test window did change
