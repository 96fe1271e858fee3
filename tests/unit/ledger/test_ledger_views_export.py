"""Vocabularies match the exchange layer's; export helpers (ISO timestamps, --out check)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from xsmom.errors import ConfigError
from xsmom.exchange.reports import OrderSide, OrderStatus, OrderType
from xsmom.exchange.state import TradingState
from xsmom.ledger import ORDER_STATUSES, ORDER_TYPES, SIDES, TRADING_STATES
from xsmom.ledger.export import check_out, iso_ms
from xsmom.ledger.views import OPEN_STATUSES, SEVERITIES, check_value
from xsmom.notify.outbox_types import SEVERITIES as NOTIFY_SEVERITIES


def test_vocabularies_are_the_exchange_layers() -> None:
    assert set(ORDER_STATUSES) == {s.value for s in OrderStatus}
    assert set(OPEN_STATUSES) == {s.value for s in OrderStatus if s.is_open}
    assert set(SIDES) == {s.value for s in OrderSide}
    assert set(ORDER_TYPES) == {t.value for t in OrderType}
    assert set(TRADING_STATES) == {t.value for t in TradingState}
    assert SEVERITIES == NOTIFY_SEVERITIES


def test_check_value_accepts_enum_members_and_names_the_choices() -> None:
    assert check_value(OrderSide.BUY, SIDES, "side") == "buy"
    assert type(check_value(OrderSide.BUY, SIDES, "side")) is str
    with pytest.raises(ConfigError, match="side 'long' is not one of buy, sell"):
        check_value("long", SIDES, "side")


def test_iso_ms_by_hand() -> None:
    s = pd.Series([0, 1_767_225_600_123, 1_767_229_199_999, None], dtype="Int64")
    assert list(iso_ms(s)) == [
        "1970-01-01T00:00:00.000Z",
        "2026-01-01T00:00:00.123Z",
        "2026-01-01T00:59:59.999Z",
        "",
    ]


def test_check_out(tmp_path: Path) -> None:
    check_out(tmp_path / "new", force=False)
    (tmp_path / "empty").mkdir()
    check_out(tmp_path / "empty", force=False)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x").write_text("x")
    with pytest.raises(ConfigError, match="exists and is not empty"):
        check_out(tmp_path / "full", force=False)
    check_out(tmp_path / "full", force=True)
    (tmp_path / "file").write_text("x")
    with pytest.raises(ConfigError, match="is a file"):
        check_out(tmp_path / "file", force=True)
