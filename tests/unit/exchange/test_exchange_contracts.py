"""Contract-size conversion in exact decimals: no contract is lost on venues whose contract
size is not 1 (okx, bybit inverse-style sizes), in either direction, through the adapter."""

from __future__ import annotations

import math
from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from xsmom.exchange import ccxt_parse as cp
from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange
from xsmom.exchange.precision import from_contracts, round_qty, to_contracts
from xsmom.exchange.reports import MarketInfo, OrderRequest, OrderSide

SIZES = ["0.1", "0.01", "0.001", "0.0001", "0.3", "0.7", "10", "100", "1000", "1"]
STEPS = ["1", "0.1", "0.01"]  # the venue's amount step, in contracts


def market(size: str, step: str) -> MarketInfo:
    return MarketInfo(
        symbol="X/USDT:USDT",
        venue_id="XUSDT",
        price_tick=0.1,
        qty_step=float(Decimal(step) * Decimal(size)),
        min_qty=float(Decimal(step) * Decimal(size)),
        min_notional=0.0,
        contract_size=float(size),
    )


@settings(max_examples=600)
@given(st.sampled_from(SIZES), st.sampled_from(STEPS), st.integers(1, 10**6))
def test_every_size_converts_to_the_exact_contract_count(size: str, step: str, n: int) -> None:
    m = market(size, step)
    contracts = Decimal(n) * Decimal(step)
    qty = from_contracts(float(contracts), m.contract_size)  # what a report says we hold
    assert Decimal(repr(qty)) == contracts * Decimal(size)  # no 0.30000000000000004
    assert round_qty(m, qty) == qty  # already on the grid
    assert Decimal(repr(to_contracts(m, qty))) == contracts  # and back, nothing lost


@given(st.sampled_from(SIZES), st.integers(1, 10**5), st.integers(0, 999))
def test_conversion_rounds_down_between_steps(size: str, n: int, frac: int) -> None:
    m = market(size, "1")
    # a base quantity a little above n contracts never becomes n + 1 contracts
    qty = float((Decimal(n) + Decimal(frac) / 1000) * Decimal(size))
    assert to_contracts(m, qty) == n


def test_the_float_formula_loses_contracts_that_the_decimal_one_keeps() -> None:
    lost = 0
    total = 0
    for size in SIZES:
        m = market(size, "1")
        for n in range(1, 3000):
            qty = from_contracts(n, m.contract_size)
            total += 1
            lost += math.floor(qty / m.contract_size) != n  # the old adapter's arithmetic
            assert to_contracts(m, qty) == n
    assert lost > total * 0.01  # the case the fix is about is common, not theoretical


class SizedClient:
    """A ccxt-shaped client with one okx-style market of contract size 0.1."""

    precisionMode = 4

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}
        self.last_response_headers: dict[str, str] | None = None
        self.sent: list[float] = []

    def load_markets(self) -> dict[str, Any]:
        return {
            "ETH/USDT:USDT": {
                "id": "ETH-USDT-SWAP",
                "symbol": "ETH/USDT:USDT",
                "swap": True,
                "linear": True,
                "settle": "USDT",
                "contractSize": 0.1,
                "precision": {"amount": 1, "price": 0.01},
                "limits": {"amount": {"min": 1}, "cost": {"min": 0}, "leverage": {"max": 50}},
            }
        }

    def create_order(
        self, symbol: str, type_: str, side: str, amount: float, price: Any, params: Any
    ) -> dict[str, Any]:
        self.sent.append(amount)
        return {
            "id": "1",
            "clientOrderId": params["clientOrderId"],
            "symbol": symbol,
            "side": side,
            "type": type_,
            "amount": amount,
            "filled": amount,
            "status": "closed",
            "timestamp": 1,
        }


def test_the_adapter_sends_whole_contracts_and_reports_base_units() -> None:
    client = SizedClient()
    ex = CcxtExchange(CcxtConfig(max_clock_drift_ms=None), client=client)
    info = ex.market("ETH/USDT:USDT")
    assert info.qty_step == 0.1 and info.min_qty == 0.1
    for n in (3, 7, 29, 57, 113):
        qty = from_contracts(n, 0.1)
        report = ex.place_order(OrderRequest.market("ETH/USDT:USDT", OrderSide.BUY, qty, f"c{n}"))
        assert client.sent[-1] == n  # 0.3 / 0.1 was 2.9999999999999996 -> 2 contracts before
        assert report.qty == qty and report.filled == qty


def test_parsed_positions_and_fills_are_exact_base_units() -> None:
    m = market("0.1", "1")
    pos = cp.parse_position({"contracts": 3, "side": "long", "contractSize": 0.1}, m, 0)
    fill = cp.parse_fill({"id": "9", "order": "1", "side": "sell", "amount": 7}, m)
    assert pos.qty == 0.3 and fill.qty == 0.7
