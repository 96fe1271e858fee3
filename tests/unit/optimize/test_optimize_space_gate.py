"""Search-space encoding, applying parameters to a config, objectives and the gate."""

from __future__ import annotations

import optuna
import pytest

from xsmom.config import Config, config_from_dict
from xsmom.config.optimize import GateConfig, PenaltyConfig
from xsmom.errors import ConfigError, StrategyError
from xsmom.optimize.gate import evaluate_gate
from xsmom.optimize.objectives import objective_value
from xsmom.optimize.space import apply_params, decode_params, search_space, suggest


def test_tuple_choices_round_trip_through_optuna() -> None:
    cfg = Config()
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    trial = study.ask()
    values = suggest(trial, cfg.optimize)
    assert isinstance(values["strategy.signal.lookbacks"], tuple)
    assert decode_params(cfg.optimize, trial.params) == values
    assert set(search_space(cfg.optimize)) == set(cfg.optimize.space)
    applied = apply_params(cfg, values)
    assert applied.strategy.signal.lookbacks == values["strategy.signal.lookbacks"]
    assert applied.strategy.selection.k == values["strategy.selection.k"]
    with pytest.raises(KeyError):
        decode_params(cfg.optimize, {"strategy.signal.power": 2.0})


def test_apply_params_validates_the_result() -> None:
    with pytest.raises(ConfigError, match="one weight per lookback"):
        apply_params(Config(), {"strategy.signal.lookback_weights": (1.0,)})
    with pytest.raises(ConfigError):
        apply_params(Config(), {"strategy.selection.k": 0})


def test_space_specs_are_checked_at_load() -> None:
    bad = [
        {"type": "int", "low": 5, "high": 2},
        {"type": "int", "low": 1.5, "high": 3},
        {"type": "categorical"},
        {"type": "float", "low": 0.0, "high": 1.0, "log": True},
    ]
    for spec in bad:
        with pytest.raises(ConfigError):
            config_from_dict({"optimize": {"space": {"strategy.signal.zscore_clip": spec}}})
    with pytest.raises(ConfigError, match="space must name"):
        config_from_dict({"optimize": {"space": {}}})


def test_objectives() -> None:
    m = {"sharpe": 1.5, "sortino": 2.0, "calmar": 0.7, "turnover": 40.0, "max_drawdown": 0.2}
    assert objective_value("sortino", m, PenaltyConfig()) == 2.0
    pen = PenaltyConfig(turnover=0.01, drawdown=2.0)
    assert objective_value("penalized", m, pen) == pytest.approx(1.5 - 0.4 - 0.4)
    with pytest.raises(StrategyError, match="not finite"):
        objective_value("sharpe", {**m, "sharpe": float("nan")}, pen)


def test_gate_needs_every_margin() -> None:
    cfg = GateConfig(
        min_sharpe_gain=0.1, min_ci_low_gain=-0.5, min_deflated_sharpe=0.9, max_pbo=0.5
    )
    ok = evaluate_gate(
        cfg, oos_sharpe=1.5, current_oos_sharpe=1.0, ci_low=0.8, deflated_sharpe=0.95, pbo=0.2
    )
    assert ok.accepted and not ok.reasons()
    bad = evaluate_gate(
        cfg,
        oos_sharpe=1.05,
        current_oos_sharpe=1.0,
        ci_low=0.8,
        deflated_sharpe=float("nan"),
        pbo=0.6,
    )
    assert not bad.accepted
    assert [r.split(" ")[0] for r in bad.reasons()] == ["sharpe_gain", "deflated_sharpe", "pbo"]
