"""Deterministic client order ids within Binance's and Bybit's limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xsmom.errors import ConfigError
from xsmom.exchange.client_ids import BINANCE, BYBIT, client_order_id, rules_for


def test_same_intent_same_id_and_any_change_changes_it() -> None:
    base = client_order_id("cfg-abc", 1_700_000_000_000, "BTC/USDT:USDT", 0)
    assert base == client_order_id("cfg-abc", 1_700_000_000_000, "BTC/USDT:USDT", 0)
    others = {
        client_order_id("cfg-abd", 1_700_000_000_000, "BTC/USDT:USDT", 0),
        client_order_id("cfg-abc", 1_700_003_600_000, "BTC/USDT:USDT", 0),
        client_order_id("cfg-abc", 1_700_000_000_000, "ETH/USDT:USDT", 0),
        client_order_id("cfg-abc", 1_700_000_000_000, "BTC/USDT:USDT", 1),
    }
    assert base not in others and len(others) == 4


def test_layout_is_readable() -> None:
    cid = client_order_id("v1", 1_700_000_000_000, "BTC/USDT:USDT", 3, prefix="xs")
    prefix, ts36, digest, attempt = cid.split("-")
    assert prefix == "xs" and attempt == "3" and len(digest) == 16
    assert int(ts36, 36) == 1_700_000_000


@given(
    version=st.text(min_size=1, max_size=80),
    bar_ts=st.integers(min_value=0, max_value=2**53),
    symbol=st.text(min_size=1, max_size=40),
    attempt=st.integers(min_value=0, max_value=999),
    prefix=st.from_regex(r"[A-Za-z0-9]{1,8}", fullmatch=True),
)
def test_ids_always_fit_binance_and_bybit(
    version: str, bar_ts: int, symbol: str, attempt: int, prefix: str
) -> None:
    for rules in (BINANCE, BYBIT):
        cid = client_order_id(version, bar_ts, symbol, attempt, prefix=prefix, rules=rules)
        assert len(cid) <= 36
        assert BINANCE.pattern.match(cid) and BYBIT.pattern.match(cid)


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempt": -1},
        {"attempt": 1000},
        {"prefix": "bad-prefix"},
        {"prefix": "toolongprefix"},
        {"symbol": ""},
        {"bar_ts": -5},
    ],
)
def test_bad_inputs_are_refused(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {
        "config_version": "v",
        "bar_ts": 0,
        "symbol": "BTC/USDT:USDT",
        "attempt": 0,
    }
    args.update(kwargs)
    with pytest.raises(ConfigError):
        client_order_id(**args)  # type: ignore[arg-type]


def test_rules_lookup_and_check() -> None:
    assert rules_for("binanceusdm") is BINANCE and rules_for("bybit") is BYBIT
    with pytest.raises(ConfigError):
        BINANCE.check("x" * 37)
    with pytest.raises(ConfigError):
        BYBIT.check("has:colon")
    assert BINANCE.check("has:colon") == "has:colon"
