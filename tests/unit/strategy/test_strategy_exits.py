"""Exit rules on hand-built bars: stops, gaps, trailing, breakeven, time exit, cooldown."""

from __future__ import annotations

import numpy as np

from xsmom.config.schema import ExitConfig
from xsmom.strategy.exits import (
    STOP_BREAKEVEN,
    STOP_CATASTROPHIC,
    STOP_INITIAL,
    STOP_TRAIL,
    TIME_EXIT,
    apply_exits,
)


def _run(o, h, lo, c, w, atr=1.0, **kw):  # type: ignore[no-untyped-def]
    arr = [np.array(x, dtype=float)[:, None] for x in (o, h, lo, c, w)]
    atr_arr = np.full_like(arr[0], atr)
    cfg = ExitConfig(
        **(
            {
                "atr_stop": 2.0,
                "trail_atr": 0.0,
                "breakeven_r": 0.0,
                "catastrophic_stop": 0.0,
                "max_bars_held": 0,
                "cooldown_bars": 0,
            }
            | kw
        )
    )
    return apply_exits(arr[4], arr[0], arr[1], arr[2], arr[3], atr_arr, cfg)


def test_initial_stop_fills_at_stop() -> None:
    # long decided at close of bar 0, entered at open of bar 1 (100): stop 98
    r = _run(
        o=[100, 100, 99, 99],
        h=[101, 101, 99.5, 100],
        lo=[99, 99, 97.5, 98.5],
        c=[100, 99.5, 98, 99],
        w=[0.5, 0.5, 0.5, 0.5],
    )
    assert np.isnan(r.exit_price[1, 0])
    assert r.exit_price[2, 0] == 98.0
    assert r.exit_reason[2, 0] == STOP_INITIAL
    assert r.stop_price[1, 0] == 98.0


def test_gap_through_stop_fills_at_open() -> None:
    r = _run(
        o=[100, 100, 95, 95],
        h=[101, 101, 96, 96],
        lo=[99, 99, 94, 94],
        c=[100, 99.5, 95, 95],
        w=[0.5, 0.5, 0.5, 0.5],
    )
    assert r.exit_price[2, 0] == 95.0  # opened below the 98 stop: worse than the stop


def test_short_stop_above() -> None:
    r = _run(
        o=[100, 100, 101],
        h=[101, 101, 103],
        lo=[99, 99, 100],
        c=[100, 100.5, 102],
        w=[-0.5, -0.5, -0.5],
    )
    assert r.exit_price[2, 0] == 102.0


def test_cooldown_blocks_reentry_then_allows() -> None:
    r = _run(
        o=[100, 100, 99, 97, 97, 97],
        h=[101, 101, 99, 98, 98, 98],
        lo=[99, 99, 97, 96, 96, 96],
        c=[100, 99, 97.5, 97, 97, 97],
        w=[0.5] * 6,
        cooldown_bars=2,
        reenter="after_cooldown",
    )
    assert r.exit_reason[2, 0] == STOP_INITIAL
    np.testing.assert_allclose(r.weights[:, 0], [0.5, 0.5, 0.0, 0.0, 0.5, 0.5])


def test_trailing_stop_ratchets_up() -> None:
    # ATR 1, trail 1.5: highs 100 -> 104 lift the stop to 102.5; bar 4 low 102 hits it
    r = _run(
        o=[100, 100, 101, 103, 103.5],
        h=[100, 101, 103, 104, 103.6],
        lo=[99, 99.5, 100.5, 102.8, 102],
        c=[100, 100.8, 102.9, 103.5, 102.2],
        w=[0.5] * 5,
        trail_atr=1.5,
    )
    assert r.stop_price[3, 0] == 102.5
    assert r.exit_price[4, 0] == 102.5
    assert r.exit_reason[4, 0] == STOP_TRAIL


def test_breakeven_after_r() -> None:
    # R = 2 (2 ATR). Close 102.5 >= entry + 1R -> stop to entry 100
    r = _run(
        o=[100, 100, 102, 101],
        h=[100, 102.6, 102.2, 101],
        lo=[100, 99.9, 101, 99.5],
        c=[100, 102.5, 101.2, 100],
        w=[0.5] * 4,
        breakeven_r=1.0,
    )
    assert r.stop_price[1, 0] == 100.0
    assert r.exit_price[3, 0] == 100.0
    assert r.exit_reason[3, 0] == STOP_BREAKEVEN


def test_catastrophic_stop_binds_when_tighter_or_alone() -> None:
    r = _run(
        o=[100, 100, 95],
        h=[100, 100, 95],
        lo=[100, 99, 89],
        c=[100, 99, 90],
        w=[0.5] * 3,
        atr_stop=0.0,
        catastrophic_stop=0.1,
    )
    assert r.exit_price[2, 0] == 90.0
    assert r.exit_reason[2, 0] == STOP_CATASTROPHIC


def test_time_exit_after_max_bars() -> None:
    r = _run(
        o=[100] * 6,
        h=[100.5] * 6,
        lo=[99.5] * 6,
        c=[100] * 6,
        w=[0.5] * 6,
        max_bars_held=2,
        cooldown_bars=1,
    )
    # entered at bar 1; closes of bars 1 and 2 counted -> target 0 at close of bar 2
    assert r.exit_reason[2, 0] == TIME_EXIT
    np.testing.assert_allclose(r.weights[:, 0], [0.5, 0.5, 0.0, 0.5, 0.5, 0.0])
