"""Strict configs: finite numbers within documented bounds, strict types, no duplicate keys.

Each refusal is one line naming the key and the file.
"""

from __future__ import annotations

import copy
import math
import typing
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from xsmom.config import Config, config_from_dict, load_config
from xsmom.config.keys import bounds_text, leaf_keys
from xsmom.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]


def refused(tmp_path: Path, text: str) -> str:
    f = tmp_path / "my.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(f)
    msg = str(info.value)
    assert "\n" not in msg and str(f) in msg
    return msg


@pytest.mark.parametrize(
    ("text", "key", "why"),
    [
        ("backtest:\n  max_leverage: .inf\n", "backtest.max_leverage", "finite number"),
        ("backtest:\n  initial_equity: .inf\n", "backtest.initial_equity", "finite number"),
        ("costs:\n  impact_coef: .inf\n", "costs.impact_coef", "finite number"),
        ("costs:\n  impact_coef: .nan\n", "costs.impact_coef", "finite number"),
        (
            "backtest:\n  lot_sizes: {BTC/USDT:USDT: -0.001}\n",
            "backtest.lot_sizes.BTC/USDT:USDT",
            "greater than 0",
        ),
        (
            "backtest:\n  lot_sizes: {BTC/USDT:USDT: .nan}\n",
            "backtest.lot_sizes.BTC/USDT:USDT",
            "finite number",
        ),
        (
            'strategy:\n  portfolio:\n    rebalance_every: "24"\n',
            "strategy.portfolio.rebalance_every",
            "valid integer",
        ),
        (
            'strategy:\n  portfolio:\n    market_neutral: "yes"\n',
            "strategy.portfolio.market_neutral",
            "valid boolean",
        ),
        (
            "strategy:\n  portfolio:\n    market_neutral: yes\n",  # YAML 1.1 reads yes as true
            None,
            None,
        ),
        ("backtest:\n  max_leverage: 500\n", "backtest.max_leverage", "less than or equal to 125"),
        ("strategy:\n  signal:\n    lookbacks: [24, 0]\n", "strategy.signal.lookbacks.1", ">= 1"),
    ],
)
def test_each_reported_case_is_refused(
    tmp_path: Path, text: str, key: str | None, why: str | None
) -> None:
    if key is None:  # a YAML boolean literal is a bool: accepted
        f = tmp_path / "ok.yaml"
        f.write_text(text)
        assert load_config(f).strategy.portfolio.market_neutral is True
        return
    msg = refused(tmp_path, text)
    assert f"'{key}'" in msg
    assert why is not None and why.replace(">= 1", "greater than or equal to 1") in msg


def test_two_strategy_blocks_are_refused_not_merged(tmp_path: Path) -> None:
    msg = refused(
        tmp_path,
        "strategy:\n  selection:\n    k: 5\nname: x\nstrategy:\n  signal:\n    power: 2.0\n",
    )
    assert "duplicate key 'strategy' at line 5 (first at line 1)" in msg


def test_duplicate_keys_are_refused_at_any_depth(tmp_path: Path) -> None:
    msg = refused(
        tmp_path, "strategy:\n  signal:\n    power: 2.0\n    zscore_clip: 1\n    power: 3\n"
    )
    assert "duplicate key 'strategy.signal.power' at line 5 (first at line 3)" in msg
    msg = refused(tmp_path, "backtest:\n  lot_sizes: {BTC/USDT:USDT: 0.1, BTC/USDT:USDT: 0.2}\n")
    assert "duplicate key 'backtest.lot_sizes.BTC/USDT:USDT' at line 2" in msg
    # the same key in two different mappings is fine
    f = tmp_path / "ok.yaml"
    f.write_text("strategy:\n  signal:\n    lookbacks: [24]\n  funding:\n    lookback: 24\n")
    assert load_config(f).strategy.funding.lookback == 24


def test_plain_yaml_still_loads(tmp_path: Path) -> None:
    f = tmp_path / "ok.yaml"
    f.write_text(
        "backtest:\n  initial_equity: 5000\n  lot_sizes: {BTC/USDT:USDT: 0.001}\n"
        "strategy:\n  signal:\n    lookbacks: [24, 48]\n  portfolio:\n    market_neutral: false\n"
    )
    cfg = load_config(f)
    assert cfg.backtest.initial_equity == 5000.0 and isinstance(cfg.backtest.initial_equity, float)
    assert cfg.strategy.signal.lookbacks == (24, 48)
    assert load_config(REPO / "config" / "example.yaml") is not None


# --- the sweep: every numeric and bool key refuses inf, nan, wrong types and out-of-bounds ---


def _field(key: str) -> Any:
    model: type[BaseModel] = Config
    *parents, leaf = key.split(".")
    for p in parents:
        model = model.model_fields[p].annotation  # type: ignore[assignment]
    return model.model_fields[leaf]


def _bad_values(ann: Any) -> list[Any]:
    text = str(ann)
    if ann is bool:
        return ["yes", "true", 1, 0, 1.0, None]
    if text.startswith("int | str"):  # spans: bars or a duration
        return [math.inf, math.nan, True, 2.5, 10**16, "forever"]
    if ann is int or text == "int | None":
        return [math.inf, math.nan, "24", 2.5, True, 10**16]
    if ann is float:
        return [math.inf, -math.inf, math.nan, "1.0", True, 1e16, -1e16]
    origin = typing.get_origin(ann)
    if origin is tuple and "str" not in text and "Literal" not in text:
        return [[math.inf], [math.nan], ["1"], [True]]
    if origin is dict and "ParamSpec" not in text:
        return [{"X/USDT:USDT": v} for v in (math.inf, math.nan, "1", True, -1.0, 0.0, 1e16)]
    return []


NUMERIC_KEYS = [k for k in leaf_keys(Config) if _bad_values(_field(k).annotation)]


def test_the_sweep_covers_every_numeric_and_bool_key() -> None:
    # 68 numeric/bool leaves today; a new one is swept automatically
    assert len(NUMERIC_KEYS) >= 60
    assert "backtest.lot_sizes" in NUMERIC_KEYS and "optimize.folds.train" in NUMERIC_KEYS


def _nest(key: str, value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    cur = out
    *parents, leaf = key.split(".")
    for p in parents:
        cur = cur.setdefault(p, {})
    cur[leaf] = copy.deepcopy(value)
    return out


@pytest.mark.parametrize("key", NUMERIC_KEYS)
def test_every_numeric_and_bool_key_refuses_bad_values(key: str) -> None:
    for value in _bad_values(_field(key).annotation):
        with pytest.raises(ConfigError) as info:
            config_from_dict(_nest(key, value), "sweep.yaml")
        msg = str(info.value)
        assert f"'{key}" in msg and "sweep.yaml" in msg, (key, value, msg)
        assert "\n" not in msg


@pytest.mark.parametrize("key", NUMERIC_KEYS)
def test_every_numeric_key_documents_its_bounds(key: str) -> None:
    docs = (REPO / "docs" / "config.md").read_text()
    text = bounds_text(_field(key))
    assert text, f"{key} has no bounds"
    row = next(line for line in docs.splitlines() if line.startswith(f"| `{key}` |"))
    assert f"| {text} |" in row, f"docs/config.md row of {key} lacks '{text}'"
