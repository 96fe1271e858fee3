"""Every ``live.*`` config key changes what the gate or the planner does (one scenario each)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from live_helpers import BTC, DAY, HOUR, NOON, T0, inputs, market

from xsmom.config import Config, config_from_dict
from xsmom.config.keys import leaf_keys
from xsmom.config.live import LiveConfig
from xsmom.data import Kind
from xsmom.errors import ConfigError, DataError
from xsmom.exchange.breaker import BreakerState
from xsmom.exchange.reports import OrderReport, OrderSide, OrderStatus, OrderType, Ticker
from xsmom.live import (
    Book,
    Denied,
    Gate,
    GuardAlerted,
    IdScheme,
    PlaceOrder,
    SymbolInput,
    plan_symbol,
)
from xsmom.live.engine import flush_due, reconcile_due
from xsmom.live.guards import GateInputs
from xsmom.live.runner import loop_pause

BAR = T0 + 10 * HOUR
NOW = BAR + HOUR
BOOK = Book(symbol=BTC, bid=100.0, ask=100.1, ts=NOW)


def states(cfg: LiveConfig, seq: list[GateInputs]) -> list[tuple[str, bool]]:
    gate = Gate(cfg.guards)
    out = []
    for i in seq:
        gate.update(i)
        out.append((gate.state.value, gate.flatten))
    return out


def g_daily(cfg: LiveConfig) -> Any:
    return states(cfg, [inputs(T0 + HOUR, equity=1000.0), inputs(T0 + 2 * HOUR, equity=960.0)])


def g_dd(cfg: LiveConfig) -> Any:
    return states(cfg, [inputs(NOON, equity=1000.0), inputs(NOON + 2 * DAY, equity=800.0)])


def g_window(cfg: LiveConfig) -> Any:
    return states(cfg, [inputs(NOON, equity=1000.0), inputs(NOON + 40 * DAY, equity=700.0)])


def g_resume(cfg: LiveConfig) -> Any:
    seq = [inputs(NOON + d * DAY, equity=e) for d, e in [(0, 1000.0), (2, 740.0), (4, 810.0)]]
    return states(cfg, seq)


def g_margin(ratio: float) -> Callable[[LiveConfig], Any]:
    return lambda cfg: states(cfg, [inputs(margin_ratio=ratio)])


def g_breaker(cfg: LiveConfig) -> Any:
    return states(cfg, [inputs(breaker=BreakerState.OPEN)])


def g_stale(cfg: LiveConfig) -> Any:
    return states(cfg, [inputs(NOON, last_bar_ts=NOON - int(4.5 * HOUR))])


def g_positions(cfg: LiveConfig) -> Any:
    gate = Gate(cfg.guards)
    gate.update(inputs(positions={f"S{i}/USDT:USDT": 1.0 for i in range(25)}))
    req = plan(cfg, target_qty=1.0).actions[0]
    assert isinstance(req, PlaceOrder)
    return isinstance(gate.check(req), Denied)


def g_no_trade(cfg: LiveConfig) -> Any:
    gate = Gate(cfg.guards)
    alerts = 0
    for h in range(51):
        evs = gate.update(inputs(NOON + h * HOUR, targets_want_trades=True))
        alerts += sum(isinstance(e, GuardAlerted) for e in evs)
    return alerts


def plan(cfg: LiveConfig, **kw: Any) -> Any:
    base: dict[str, Any] = {
        "symbol": BTC,
        "market": market(),
        "target_qty": 0.0,
        "position_qty": 0.0,
        "book": BOOK,
        "now_ms": NOW,
        "bar_ts": BAR,
        "bar_ms": HOUR,
    }
    ids = IdScheme("v1", prefix=cfg.execution.client_id_prefix)
    return plan_symbol(SymbolInput(**{**base, **kw}), cfg.execution, ids)


def working(price: float, cid: str | None = None) -> OrderReport:
    return OrderReport(
        venue_order_id="1",
        client_id=cid or IdScheme("v1").trade_id(BAR, BTC, 0),
        symbol=BTC,
        side=OrderSide.BUY,
        type=OrderType.LIMIT,
        qty=1.0,
        price=price,
        stop_price=None,
        filled=0.0,
        avg_price=None,
        status=OrderStatus.NEW,
        reduce_only=False,
        post_only=True,
        ts=NOW,
    )


def actions(cfg: LiveConfig, **kw: Any) -> Any:
    return [repr(a) for a in plan(cfg, **kw).actions]


def e_quote(cfg: LiveConfig) -> Any:
    tick = Ticker(symbol=BTC, last=100.0, bid=None, ask=None, mark=None, ts=NOW)
    try:
        return Book.from_ticker(tick, cfg.execution.quote_source)
    except DataError as exc:
        return type(exc).__name__


def _cfg(live: LiveConfig) -> Config:
    return Config(live=live)


def e_home(c: LiveConfig) -> str:
    from xsmom.cli.live import resolve_home

    return str(resolve_home(None, _cfg(c)).path)


def e_exchange(c: LiveConfig) -> str:
    from pathlib import Path

    from xsmom.live.runner import LiveOptions, _client

    client, _, _ = _client(_cfg(c), LiveOptions(home=Path("."), paper=True))
    return str(client.id)


def e_history(c: LiveConfig) -> int:
    from xsmom.data.bundled import sample_store
    from xsmom.live.feed import BarFeed, CachedStore

    store = CachedStore(sample_store().root)
    feed = BarFeed(store, None, [BTC], "1h", warmup_bars=10, history_bars=c.engine.history_bars)
    last = store.last_timestamp(Kind.OHLCV, BTC, "1h")
    assert last is not None
    return feed.panel(last).n_bars


def e_warmup(c: LiveConfig) -> int:
    from xsmom.live.feed import BarFeed, CachedStore

    feed = BarFeed(CachedStore("unused"), None, [BTC], "1h", warmup_bars=c.engine.warmup_bars)
    return feed.since(NOW)


def e_stale(c: LiveConfig) -> str | None:
    from xsmom.cli.ops import health_problem

    doc = {"heartbeat_age_s": 1000.0, "reconcile": None, "state": "ACTIVE", "reason": ""}
    return health_problem(doc, c.engine.heartbeat_stale_s)


def e_paper(c: LiveConfig) -> float:
    from xsmom.live.runner import paper_config

    return paper_config(_cfg(c)).initial_balance


SCENARIOS: dict[str, tuple[Any, Callable[[LiveConfig], Any]]] = {
    "live.engine.home": ("bots/one", e_home),
    "live.engine.exchange": ("bybit", e_exchange),
    "live.engine.history_bars": (500, e_history),
    "live.engine.warmup_bars": (200, e_warmup),
    "live.engine.reconcile_every": (2, lambda c: reconcile_due(3, c.engine.reconcile_every)),
    "live.engine.poll_s": (0.5, lambda c: loop_pause(c.engine.poll_s, {})),
    "live.engine.heartbeat_stale_s": (1200.0, e_stale),
    "live.engine.store_flush_bars": (4, lambda c: flush_due(12, c.engine.store_flush_bars)),
    "live.engine.paper_balance": (500.0, e_paper),
    "live.guards.daily_loss_limit": (0.03, g_daily),
    "live.guards.max_drawdown": (0.15, g_dd),
    "live.guards.drawdown_window_days": (0, g_window),
    "live.guards.drawdown_resume": (0.5, g_resume),
    "live.guards.margin_soft": (0.6, g_margin(0.55)),
    "live.guards.margin_hard": (0.9, g_margin(0.85)),
    "live.guards.margin_hard_action": ("flatten", g_margin(0.85)),
    "live.guards.breaker_state": ("halted", g_breaker),
    "live.guards.stale_bars": (4, g_stale),
    "live.guards.max_open_positions": (30, g_positions),
    "live.guards.no_trade_hours": (60.0, g_no_trade),
    "live.execution.drift_threshold": (
        0.01,
        lambda c: actions(c, target_qty=10.0, position_qty=9.6),
    ),
    "live.execution.post_offset_ticks": (3, lambda c: actions(c, target_qty=1.0)),
    "live.execution.reprice_ticks": (
        5,
        lambda c: actions(c, target_qty=1.0, orders=(working(99.7),), placed_ms={}),
    ),
    "live.execution.taker_after_s": (
        900,
        lambda c: actions(
            c,
            target_qty=1.0,
            orders=(working(100.0),),
            now_ms=NOW + 700_000,
        ),
    ),
    "live.execution.taker_order": (
        "limit",
        lambda c: actions(c, target_qty=1.0, orders=(working(100.0),), now_ms=NOW + 3_600_000),
    ),
    "live.execution.taker_limit_bps": (
        50.0,
        lambda c: actions(
            c.model_copy(
                update={"execution": c.execution.model_copy(update={"taker_order": "limit"})}
            ),
            target_qty=1.0,
            orders=(working(100.0),),
            now_ms=NOW + 3_600_000,
        ),
    ),
    "live.execution.quote_source": ("last", e_quote),
    "live.execution.stop_orders": (
        False,
        lambda c: actions(c, target_qty=1.0, position_qty=1.0, stop_level=90.0),
    ),
    "live.execution.client_id_prefix": (
        "ab",
        lambda c: actions(c, target_qty=1.0, orders=(working(100.0),)),
    ),
}


def with_key(key: str, value: Any) -> LiveConfig:
    parts = key.split(".")
    doc: dict[str, Any] = {}
    node = doc
    for p in parts[:-1]:
        node = node.setdefault(p, {})
    node[parts[-1]] = value
    return config_from_dict(doc).live


def test_every_live_key_has_a_scenario() -> None:
    keys = [k for k in leaf_keys(Config) if k.startswith("live.")]
    assert sorted(keys) == sorted(SCENARIOS)


@pytest.mark.parametrize("key", sorted(SCENARIOS))
def test_each_live_key_acts(key: str) -> None:
    value, scenario = SCENARIOS[key]
    default, changed = scenario(LiveConfig()), scenario(with_key(key, value))
    assert default != changed, key


def test_bad_live_values_are_refused() -> None:
    with pytest.raises(ConfigError, match="margin_soft"):
        config_from_dict({"live": {"guards": {"margin_soft": 0.9, "margin_hard": 0.5}}})
    with pytest.raises(ConfigError, match="client_id_prefix"):
        config_from_dict({"live": {"execution": {"client_id_prefix": "x-y"}}})
    with pytest.raises(ConfigError, match="unknown key"):
        config_from_dict({"live": {"guards": {"daily_loss": 0.1}}})
