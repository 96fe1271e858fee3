"""Start a venue on a free loopback port and configure the real ccxt client for it.

For tests and benchmarks (the exchange helper's contract suite uses it)::

    from xsmom.venue.testing import start_venue

    with start_venue("sample", start="2025-06-01", speed=0.0) as rv:
        ex = ccxt.binanceusdm(rv.ccxt_config())      # or rv.ccxt_client()
        ex.load_markets()
        rv.advance(3_600_000)                         # step the replay clock by one hour

``speed=0`` freezes the replay clock, so only :meth:`RunningVenue.advance` moves it (the
deterministic choice for tests). ``faults`` takes a fault plan mapping (see
:mod:`xsmom.venue.faults`); :meth:`RunningVenue.set_faults` replaces it later.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlencode, urlsplit

from xsmom.sim import ClientIdRule, FeeModel
from xsmom.venue.app import create_server
from xsmom.venue.auth import Credentials, sign
from xsmom.venue.faults import parse_plan
from xsmom.venue.server import VenueServer
from xsmom.venue.service import Venue

TEST_API_KEY = "venue-test-key"
TEST_API_SECRET = "venue-test-secret"  # a fixed test credential, not a real secret


def ccxt_config(
    url: str,
    api_key: str = TEST_API_KEY,
    secret: str = TEST_API_SECRET,
    *,
    timeout_ms: int = 5000,
) -> dict[str, Any]:
    """Return the ``ccxt.binanceusdm(config)`` that points every API of the client at ``url``.

    Options: ``fetchCurrencies: False`` (no sapi call in ``load_markets``), rate limiting off
    (the venue enforces weights itself), no time adjustment. ``exceptions`` adds ccxt's own
    linear (fapi) code table to the generic one: ccxt picks that table by the URL's host
    (``fapi.binance.com``), which a loopback URL does not match.
    """
    import ccxt  # heavy import, only when a client is configured

    proto = ccxt.binanceusdm()
    urls = {k: url + urlsplit(v).path for k, v in proto.urls["api"].items() if isinstance(v, str)}
    return {
        "apiKey": api_key,
        "secret": secret,
        "enableRateLimit": False,
        "timeout": timeout_ms,
        "urls": {"api": urls},
        "options": {
            "fetchCurrencies": False,
            "defaultType": "swap",
            "adjustForTimeDifference": False,
            "warnOnFetchOpenOrdersWithoutSymbol": False,
        },
        "exceptions": {"exact": dict(proto.exceptions["linear"]["exact"])},
    }


@dataclass
class RunningVenue:
    """A venue serving in a background thread."""

    server: VenueServer
    venue: Venue
    api_key: str
    api_secret: str

    @property
    def url(self) -> str:
        """Return the base URL."""
        return self.server.url

    def ccxt_config(self, *, timeout_ms: int = 5000) -> dict[str, Any]:
        """Return the ccxt ``binanceusdm`` config for this venue (see :func:`ccxt_config`)."""
        return ccxt_config(self.url, self.api_key, self.api_secret, timeout_ms=timeout_ms)

    def ccxt_client(self, *, timeout_ms: int = 5000) -> Any:
        """Return a configured ``ccxt.binanceusdm``."""
        import ccxt  # heavy import, only when asked

        return ccxt.binanceusdm(self.ccxt_config(timeout_ms=timeout_ms))

    def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None = None,
        *,
        signed: bool = False,
        timestamp: int | None = None,
        secret: str | None = None,
        timeout: float = 10.0,
    ) -> tuple[int, dict[str, str], Any]:
        """Send one raw request (signed like ccxt if asked); return (status, headers, JSON)."""
        query = dict(params or {})
        if signed:
            query["timestamp"] = timestamp if timestamp is not None else int(time.time() * 1000)
        qs = urlencode(query)
        if signed:
            qs += "&signature=" + sign(qs, secret if secret is not None else self.api_secret)
        url = f"{self.url}{path}"
        body = None
        if method in ("GET", "DELETE"):
            url += f"?{qs}" if qs else ""
        else:
            body = qs.encode()
        req = urllib.request.Request(url, data=body, method=method)
        req.add_header("X-MBX-APIKEY", self.api_key)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as resp:  # loopback URL
                return resp.status, dict(resp.headers), _json(resp.read())
        except urllib.error.HTTPError as err:
            return err.code, dict(err.headers), _json(err.read())

    def advance(self, ms: int) -> int:
        """Step the replay clock and sync the engine; return the new venue time."""
        self.venue.clock.advance(ms)
        return self.venue.sync()

    def now(self) -> int:
        """Return the venue time."""
        return self.venue.sync()

    def set_faults(self, plan: Mapping[str, Any]) -> None:
        """Replace the fault plan."""
        self.server.faults.replace(parse_plan(plan))

    def stop(self) -> None:
        """Stop the server."""
        self.server.stop()

    def __enter__(self) -> RunningVenue:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return raw.decode(errors="replace")


def start_venue(
    store: str | Path = "sample",
    *,
    start: str | int | None = None,
    speed: float = 0.0,
    timeframe: str = "1h",
    symbols: list[str] | None = None,
    faults: Mapping[str, Any] | None = None,
    initial_balance: float = 10_000.0,
    fees: FeeModel | None = None,
    api_key: str = TEST_API_KEY,
    api_secret: str = TEST_API_SECRET,
    port: int = 0,
    weight_limit: int = 2400,
    order_limit_10s: int = 300,
    order_limit_1m: int = 1200,
    client_id_rule: ClientIdRule = "open",
    state_file: Path | None = None,
    wall: Callable[[], int] | None = None,
    sleep: Callable[[float], None] | None = None,
    half_spread_ticks: int = 1,
) -> RunningVenue:
    """Start a venue over ``store`` on 127.0.0.1 (a free port by default) in a thread.

    ``wall`` (ms) replaces the server clock (``/time``, timestamp checks, weight windows) and
    ``sleep`` the holds of faulted requests, for tests that step time by hand.
    """
    clocks: dict[str, Any] = {}
    if wall is not None:
        clocks["wall"] = wall
    if sleep is not None:
        clocks["sleep"] = sleep
    server = create_server(
        store,
        credentials=Credentials(api_key, api_secret),
        start=start,
        speed=speed,
        timeframe=timeframe,
        symbols=symbols,
        faults=parse_plan(faults) if faults else None,
        initial_balance=initial_balance,
        fees=fees,
        port=port,
        weight_limit=weight_limit,
        order_limit_10s=order_limit_10s,
        order_limit_1m=order_limit_1m,
        client_id_rule=client_id_rule,
        state_file=state_file,
        half_spread_ticks=half_spread_ticks,
        **clocks,
    )
    server.start()
    return RunningVenue(server=server, venue=server.venue, api_key=api_key, api_secret=api_secret)
