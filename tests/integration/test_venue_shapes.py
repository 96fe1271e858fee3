"""The venue's JSON answers have the key sets and value types of recorded Binance payloads."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from xsmom.venue.testing import RunningVenue, start_venue

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "exchange_responses"
NAUT = DATA / "nautilus_trader"
HTTP = NAUT / "tests/integration_tests/adapters/binance/resources/http_responses"
JSONS = NAUT / "crates/adapters/binance/test_data/futures/http_json"
CCXT = DATA / "ccxt_static" / "binance_usdm_swap_subset.json"


@pytest.fixture(scope="module")
def recorded() -> Path:
    if not HTTP.is_dir() or not JSONS.is_dir() or not CCXT.is_file():
        pytest.fail(f"recorded exchange payloads missing under {DATA} (shared data not mounted)")
    return DATA


@pytest.fixture(scope="module")
def rv() -> Iterator[RunningVenue]:
    with start_venue("sample", start="2025-09-01") as running:
        ok = [
            running.request(
                "POST",
                "/fapi/v1/order",
                {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"},
                signed=True,
            ),
            running.request(
                "POST",
                "/fapi/v1/order",
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "type": "LIMIT",
                    "quantity": "0.01",
                    "price": "90000",
                    "timeInForce": "GTX",
                },
                signed=True,
            ),
            running.request(
                "POST",
                "/fapi/v1/algoOrder",
                {
                    "algoType": "CONDITIONAL",
                    "symbol": "BTCUSDT",
                    "side": "SELL",
                    "type": "STOP_MARKET",
                    "quantity": "0.01",
                    "triggerPrice": "95000",
                    "reduceOnly": "true",
                },
                signed=True,
            ),
        ]
        assert [s for s, _, _ in ok] == [200, 200, 200], ok
        yield running


def kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def assert_shape(recorded: Any, mine: Any, where: str = "$", *, types: bool = True) -> None:
    """Every recorded key exists in ``mine`` with the same JSON type (recursively)."""
    if isinstance(recorded, list):
        assert isinstance(mine, list), where
        if recorded and mine:
            assert_shape(recorded[0], mine[0], f"{where}[0]", types=types)
        return
    if isinstance(recorded, dict):
        assert isinstance(mine, dict), f"{where}: expected an object, got {kind(mine)}"
        missing = set(recorded) - set(mine)
        assert not missing, f"{where}: keys missing from the venue's answer: {sorted(missing)}"
        for key, value in recorded.items():
            assert_shape(value, mine[key], f"{where}.{key}", types=types)
        return
    if types and recorded is not None:
        assert kind(recorded) == kind(mine), f"{where}: {kind(recorded)} != {kind(mine)}"


def load(path: Path) -> Any:
    return json.loads(path.read_text())


def get(rv: RunningVenue, path: str, params: dict[str, str] | None = None, signed=False) -> Any:
    status, _, body = rv.request("GET", path, params or {}, signed=signed)
    assert status == 200, body
    return body


MARKET_CASES = [
    ("http_futures_market_exchange_info.json", "/fapi/v1/exchangeInfo", {}),
    ("http_futures_market_klines.json", "/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1h"}),
    (
        "http_futures_market_mark_price_klines.json",
        "/fapi/v1/markPriceKlines",
        {"symbol": "BTCUSDT", "interval": "1h"},
    ),
    ("http_futures_market_premium_index.json", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"}),
    ("http_futures_market_funding_rate.json", "/fapi/v1/fundingRate", {"symbol": "BTCUSDT"}),
    ("http_futures_market_ticker_24hr.json", "/fapi/v1/ticker/24hr", {"symbol": "BTCUSDT"}),
    ("http_futures_market_book_ticker.json", "/fapi/v1/ticker/bookTicker", {"symbol": "BTCUSDT"}),
    ("http_futures_market_depth.json", "/fapi/v1/depth", {"symbol": "BTCUSDT"}),
    ("http_futures_market_ticker_price.json", "/fapi/v1/ticker/price", {"symbol": "BTCUSDT"}),
]


@pytest.mark.parametrize(("file", "path", "params"), MARKET_CASES)
def test_market_endpoints_match_recorded_nautilus_payloads(recorded, rv, file, path, params):
    assert_shape(load(HTTP / file), get(rv, path, params))


def test_kline_rows_have_binance_twelve_fields(recorded, rv):
    rows = get(rv, "/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1h", "limit": "3"})
    ref = load(HTTP / "http_futures_market_klines.json")[0]
    assert [kind(v) for v in rows[0]] == [kind(v) for v in ref]


ACCOUNT_CASES = [
    ("http_futures_account_trades.json", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"}),
    ("http_futures_account_positions_one_way.json", "/fapi/v2/positionRisk", {}),
    ("http_futures_account_orders.json", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"}),
    ("http_futures_account_symbol_config.json", "/fapi/v1/symbolConfig", {}),
]
JSON_CASES = [
    ("account_info_v2.json", "/fapi/v2/account", {}),
    ("balance.json", "/fapi/v2/balance", {}),
    ("position_risk.json", "/fapi/v2/positionRisk", {"symbol": "BTCUSDT"}),
    ("open_algo_orders.json", "/fapi/v1/openAlgoOrders", {"symbol": "BTCUSDT"}),
]
SKIP_ORDER_KEYS = {"activatePrice", "priceRate"}  # trailing-stop fields of the recorded order


@pytest.mark.parametrize(("file", "path", "params"), ACCOUNT_CASES)
def test_account_endpoints_match_recorded_nautilus_payloads(recorded, rv, file, path, params):
    ref = load(HTTP / file)
    ref = [{k: v for k, v in r.items() if k not in SKIP_ORDER_KEYS} for r in ref]
    assert_shape(ref, get(rv, path, params, signed=True))


SIGNED_OBJECT_CASES = [
    (
        "http_futures_wallet_commission_rate_btcusdt.json",
        "/fapi/v1/commissionRate",
        {"symbol": "BTCUSDT"},
    ),
    ("http_futures_account_position_side_dual.json", "/fapi/v1/positionSide/dual", {}),
]


@pytest.mark.parametrize(("file", "path", "params"), SIGNED_OBJECT_CASES)
def test_signed_object_endpoints_match_recorded_payloads(recorded, rv, file, path, params):
    assert_shape(load(HTTP / file), get(rv, path, params, signed=True))


@pytest.mark.parametrize(("file", "path", "params"), JSON_CASES)
def test_account_endpoints_match_recorded_rust_fixtures(recorded, rv, file, path, params):
    assert_shape(load(JSONS / file), get(rv, path, params, signed=True))


def test_order_answer_matches_recorded_order_response(recorded, rv):
    status, _, body = rv.request(
        "POST",
        "/fapi/v1/order",
        {
            "symbol": "ETHUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "quantity": "0.01",
            "price": "1000",
            "timeInForce": "GTC",
        },
        signed=True,
    )
    assert status == 200, body
    assert_shape(load(JSONS / "order_response.json"), body)


CCXT_CASES = {
    "createOrders": ("/fapi/v1/openOrders", {"symbol": "BTCUSDT"}),
    "fetchOpenOrder": ("/fapi/v1/openOrder", {"symbol": "BTCUSDT", "orderId": "2"}),
    "fetchPositions": ("/fapi/v3/positionRisk", {}),
    "fetchMyTrades": ("/fapi/v1/userTrades", {"symbol": "BTCUSDT"}),
    "fetchBalance": ("/fapi/v3/account", {}),
}


@pytest.mark.parametrize("method", sorted(CCXT_CASES))
def test_account_endpoints_have_the_keys_of_ccxt_static_responses(recorded, rv, method):
    case = load(CCXT)["methods"][method][0]
    path, params = CCXT_CASES[method]
    # ccxt's static file stores every number as a string, so only the keys are compared.
    assert_shape(case["httpResponse"], get(rv, path, params, signed=True), types=False)
