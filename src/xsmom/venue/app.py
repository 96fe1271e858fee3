"""Assemble a venue server from a store: market data, replay clock, engine, faults, keys."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from xsmom.data.bundled import resolve_store
from xsmom.errors import ConfigError
from xsmom.sim import ClientIdRule, FeeModel, MarketData
from xsmom.venue.auth import Credentials
from xsmom.venue.faults import FaultInjector, FaultPlan
from xsmom.venue.persist import StateStore
from xsmom.venue.server import VenueServer
from xsmom.venue.service import ReplayClock, Venue, wall_ms


def parse_start(start: str | int | None, data: MarketData) -> int:
    """Return the replay start in ms: a date, ms, or by default 30 days before the data ends."""
    if start is None:
        return data.last_ts - 30 * 86_400_000
    if isinstance(start, int):
        start_ms = start
    else:
        try:
            ts = pd.Timestamp(start)
        except ValueError as exc:
            raise ConfigError(f"venue start {start!r} is not a date or date-time") from exc
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        start_ms = int(ts.value // 1_000_000)
    if start_ms < data.first_ts:
        first = pd.Timestamp(data.first_ts, unit="ms", tz="UTC")
        raise ConfigError(f"venue start {start!r} is before the store's first bar ({first})")
    return start_ms


def create_server(
    store: str | Path,
    *,
    credentials: Credentials,
    start: str | int | None = None,
    speed: float = 1.0,
    timeframe: str = "1h",
    symbols: list[str] | None = None,
    faults: FaultPlan | None = None,
    initial_balance: float = 10_000.0,
    fees: FeeModel | None = None,
    host: str = "127.0.0.1",
    port: int = 0,
    weight_limit: int = 2400,
    order_limit_10s: int = 300,
    time_source: str = "wall",
    state_file: Path | None = None,
    client_id_rule: ClientIdRule = "open",
    order_limit_1m: int = 1200,
    wall: Callable[[], int] = wall_ms,
    sleep: Callable[[float], None] = time.sleep,
    half_spread_ticks: int = 1,
) -> VenueServer:
    """Build (not start) a venue server over ``store`` (a folder, or ``sample``).

    With an existing ``state_file`` the account and the replay time come from it (``start``,
    ``initial_balance`` and ``fees`` are then those of the saved run). ``client_id_rule``:
    ``open`` (Binance: a client order id is unique among open orders) or ``ever``. ``wall``
    (ms) is the server clock behind ``/time``, signatures and weights; ``sleep`` holds faulted
    requests: both are injectable so fault tests can run on a stepped clock.
    ``half_spread_ticks``: the synthetic book's bid and ask sit this many ticks from the last.
    """
    if not 0.0 <= initial_balance < float("inf"):
        raise ConfigError(f"venue balance must be a finite number >= 0, not {initial_balance}")
    data = MarketData(resolve_store(store), timeframe, symbols)
    engine = None
    state = StateStore(state_file) if state_file is not None else None
    if state is not None and state.has_state():
        start_ms, engine = state.load(client_id_rule)
    else:
        start_ms = parse_start(start, data)
    venue = Venue(
        data,
        ReplayClock(start_ms, speed),
        fees=fees,
        initial_balance=initial_balance,
        time_source=time_source,
        engine=engine,
        client_id_rule=client_id_rule,
        wall=wall,
        half_spread_ticks=half_spread_ticks,
    )
    server = VenueServer(
        venue,
        credentials=credentials,
        faults=FaultInjector(faults),
        host=host,
        port=port,
        weight_limit=weight_limit,
        order_limit_10s=order_limit_10s,
        order_limit_1m=order_limit_1m,
        sleep=sleep,
    )
    if state is not None:
        state.attach(venue)
        server.state = state
        server.on_applied = lambda: state.commit(venue)
    return server
