"""The search space: sample a trial's parameters and apply them to a config."""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from typing import Any

import optuna

from xsmom.config import Config, config_from_dict
from xsmom.config.optimize import OptimizeConfig, ParamSpec


def _encode(choice: Any) -> Any:
    # Optuna stores categorical choices as JSON scalars only: tuples travel as JSON text.
    if isinstance(choice, tuple | list):
        return json.dumps(list(choice))
    return choice


def decode_value(spec: ParamSpec, value: Any) -> Any:
    """Return a sampled value in the form the config expects (tuples back from JSON)."""
    if spec.type == "categorical" and isinstance(value, str) and value.startswith("["):
        return tuple(json.loads(value))
    if spec.type == "int":
        return int(value)
    return value


def distribution(spec: ParamSpec) -> optuna.distributions.BaseDistribution:
    """Return the Optuna distribution of one parameter."""
    if spec.type == "categorical":
        return optuna.distributions.CategoricalDistribution([_encode(c) for c in spec.choices])
    assert spec.low is not None and spec.high is not None
    if spec.type == "int":
        step = int(spec.step) if spec.step is not None else 1
        return optuna.distributions.IntDistribution(
            int(spec.low), int(spec.high), log=spec.log, step=step
        )
    return optuna.distributions.FloatDistribution(
        float(spec.low), float(spec.high), log=spec.log, step=spec.step
    )


def search_space(opt: OptimizeConfig) -> dict[str, optuna.distributions.BaseDistribution]:
    """Return the Optuna distributions of every searched key."""
    return {key: distribution(spec) for key, spec in opt.space.items()}


def suggest(trial: optuna.Trial, opt: OptimizeConfig) -> dict[str, Any]:
    """Sample every searched key for ``trial`` and return the decoded values."""
    out = {}
    for key, spec in opt.space.items():
        dist = distribution(spec)
        raw: Any
        if isinstance(dist, optuna.distributions.CategoricalDistribution):
            raw = trial.suggest_categorical(key, dist.choices)
        elif isinstance(dist, optuna.distributions.IntDistribution):
            raw = trial.suggest_int(key, dist.low, dist.high, step=dist.step, log=dist.log)
        else:
            assert isinstance(dist, optuna.distributions.FloatDistribution)
            raw = trial.suggest_float(key, dist.low, dist.high, step=dist.step, log=dist.log)
        out[key] = decode_value(spec, raw)
    return out


def decode_params(opt: OptimizeConfig, params: Mapping[str, Any]) -> dict[str, Any]:
    """Return a stored trial's params decoded (keys not in the space are refused)."""
    out = {}
    for key, value in params.items():
        spec = opt.space.get(key)
        if spec is None:
            raise KeyError(f"parameter {key!r} is not in the search space")
        out[key] = decode_value(spec, value)
    return out


def apply_params(base: Config, params: Mapping[str, Any]) -> Config:
    """Return ``base`` with each dotted key set to its value, validated by the schema.

    Raises ConfigError when a combination is invalid (for example a cross-field rule).
    """
    raw = copy.deepcopy(base.model_dump(mode="python"))
    for key, value in params.items():
        node = raw
        *parents, leaf = key.split(".")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return config_from_dict(raw, "trial parameters")
