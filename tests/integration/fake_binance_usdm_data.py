"""A small fake Binance USDT-M market-data server on 127.0.0.1, for the real ccxt client.

It serves the endpoints ``ccxt.binanceusdm`` calls to load markets and page through history:
``/fapi/v1/exchangeInfo``, ``/fapi/v1/klines``, ``/fapi/v1/markPriceKlines``,
``/fapi/v1/fundingRate`` (and ``/fapi/v1/time``), with Binance's parameters (``startTime``,
``endTime``, ``limit``) and row formats, from real data of ../shared/data. Faults: after
``fail_after`` data pages every data request answers HTTP 503 (a venue going away mid-download),
and ``fail_next`` makes the next N data requests fail once each (transient errors); ``fail_status``
is the HTTP status of a failure (503 unavailable, 429 rate limited), ``retry_after`` its
Retry-After header in seconds.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import pandas as pd

MAX_KLINES = 1500
MAX_FUNDING = 1000


@dataclass
class FakeMarketData:
    """What the fake serves, per Binance id: candles by timeframe, mark candles, funding."""

    ohlcv: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    mark: dict[tuple[str, str], pd.DataFrame] = field(default_factory=dict)
    funding: dict[str, pd.DataFrame] = field(default_factory=dict)


@dataclass
class FakeState:
    """Counters and fault switches shared with the request handler."""

    data: FakeMarketData
    pages: int = 0
    fail_after: int | None = None
    fail_next: int = 0
    fail_status: int = 503
    retry_after: int | None = None
    paths: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


_TF_MS = {"1m": 60_000, "5m": 300_000, "15m": 900_000, "1h": 3_600_000, "4h": 14_400_000}


def _template(base: str) -> dict[str, Any]:
    return {
        "symbol": f"{base}USDT",
        "pair": f"{base}USDT",
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404802000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": base,
        "quoteAsset": "USDT",
        "marginAsset": "USDT",
        "pricePrecision": 4,
        "quantityPrecision": 3,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.012000",
        "marketTakeBound": "0.30",
        "filters": [
            {
                "minPrice": "0.0001",
                "maxPrice": "1246396.60",
                "filterType": "PRICE_FILTER",
                "tickSize": "0.0001",
            },
            {"stepSize": "0.001", "filterType": "LOT_SIZE", "maxQty": "1000", "minQty": "0.001"},
            {
                "stepSize": "0.001",
                "filterType": "MARKET_LOT_SIZE",
                "maxQty": "1000",
                "minQty": "0.001",
            },
            {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
            {"notional": "5", "filterType": "MIN_NOTIONAL"},
        ],
        "orderTypes": ["LIMIT", "MARKET"],
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


def _window(df: pd.DataFrame, q: dict[str, str], cap: int, default: int) -> pd.DataFrame:
    ts = df["timestamp"]
    keep = pd.Series(True, index=df.index)
    if "startTime" in q:
        keep &= ts >= int(q["startTime"])
    if "endTime" in q:
        keep &= ts <= int(q["endTime"])
    limit = min(int(q.get("limit", default)), cap)
    return df.loc[keep].head(limit)


class _Handler(BaseHTTPRequestHandler):
    state: FakeState

    def log_message(self, format: str, *args: Any) -> None:  # quiet test output
        return

    def _send(self, code: int, body: Any) -> None:
        raw = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def do_GET(self) -> None:
        url = urlparse(self.path)
        q = {k: v[0] for k, v in parse_qs(url.query).items()}
        st = self.state
        with st.lock:
            st.paths.append(url.path)
        if url.path == "/fapi/v1/exchangeInfo":
            bases = sorted({s[:-4] for s, _ in st.data.ohlcv} | {s[:-4] for s in st.data.funding})
            symbols = [_template(b) for b in bases]
            self._send(
                200,
                {
                    "timezone": "UTC",
                    "serverTime": 0,
                    "symbols": symbols,
                    "rateLimits": [],
                    "exchangeFilters": [],
                    "assets": [],
                },
            )
            return
        if url.path == "/fapi/v1/time":
            self._send(200, {"serverTime": 0})
            return
        handlers = {
            "/fapi/v1/klines": self._klines,
            "/fapi/v1/markPriceKlines": self._mark,
            "/fapi/v1/fundingRate": self._funding,
        }
        handler = handlers.get(url.path)
        if handler is None:
            self._send(404, {"code": -1, "msg": f"fake has no {url.path}"})
            return
        with st.lock:
            if st.fail_next > 0:
                st.fail_next -= 1
                fail = True
            else:
                fail = st.fail_after is not None and st.pages >= st.fail_after
            if not fail:
                st.pages += 1
        if fail:
            raw = b"Service Unavailable"
            self.send_response(st.fail_status)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(raw)))
            if st.retry_after is not None:
                self.send_header("Retry-After", str(st.retry_after))
            self.end_headers()
            self.wfile.write(raw)
            return
        handler(q)

    def _candles(self, table: dict[tuple[str, str], pd.DataFrame], q: dict[str, str]) -> None:
        key = (q["symbol"], q["interval"])
        df = table.get(key)
        if df is None:
            self._send(400, {"code": -1121, "msg": "Invalid symbol."})
            return
        part = _window(df, q, MAX_KLINES, 500)
        step = _TF_MS[q["interval"]]
        rows = [
            [
                int(r.timestamp),
                str(r.open),
                str(r.high),
                str(r.low),
                str(r.close),
                str(r.volume),
                int(r.timestamp) + step - 1,
                "0",
                1,
                "0",
                "0",
                "0",
            ]
            for r in part.itertuples()
        ]
        self._send(200, rows)

    def _klines(self, q: dict[str, str]) -> None:
        self._candles(self.state.data.ohlcv, q)

    def _mark(self, q: dict[str, str]) -> None:
        self._candles(self.state.data.mark, q)

    def _funding(self, q: dict[str, str]) -> None:
        df = self.state.data.funding.get(q.get("symbol", ""))
        if df is None:
            self._send(200, [])
            return
        part = _window(df, q, MAX_FUNDING, 100)
        rows = [
            {
                "symbol": q["symbol"],
                "fundingTime": int(r.timestamp),
                "fundingRate": f"{r.rate:.8f}",
                "markPrice": "1.0",
            }
            for r in part.itertuples()
        ]
        self._send(200, rows)


class FakeBinanceUsdm:
    """Run the fake on a free port of 127.0.0.1 in a background thread."""

    def __init__(self, data: FakeMarketData) -> None:
        self.state = FakeState(data=data)
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeBinanceUsdm:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def point(self, exchange: Any) -> None:
        """Send every request of a ccxt binance object to this server (no other host)."""
        api = exchange.urls["api"]
        for key, value in list(api.items()):
            if isinstance(value, str):
                path = urlparse(value).path
                api[key] = f"{self.url}{path}"
        exchange.options["fetchCurrencies"] = False
        exchange.enableRateLimit = False
