"""Positions, funding, equity, targets and config versions: writes and reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import delete, func, insert, select

from xsmom.errors import ConfigError
from xsmom.ledger._base import (
    Reads,
    Writes,
    check_json,
    check_number,
    insert_ignore,
    iter_chunks,
    to_view,
    upsert,
)
from xsmom.ledger.models import (
    ConfigVersion,
    EquitySnapshot,
    FundingPayment,
    Position,
    PositionChange,
    TargetWeight,
)
from xsmom.ledger.views import (
    ConfigVersionView,
    EquityView,
    FundingView,
    PositionChangeView,
    PositionView,
    TargetView,
)

EARLY_MS = 60_000  # an exchange's funding time may be stamped a little before the bar's open


class AccountWrites(Writes):
    """Record positions, funding, equity, targets and the config versions in use."""

    def record_config_version(self, version_id: str, config: Mapping[str, Any], ts: int) -> bool:
        """Record that ``version_id`` is in use at ``ts``; return True the first time."""
        row = self._s.get(ConfigVersion, version_id)
        if row is None:
            cfg = dict(check_json(dict(config), f"config {version_id}"))
            self._s.add(
                ConfigVersion(version_id=version_id, config=cfg, first_used_ms=ts, last_used_ms=ts)
            )
            self._s.flush()
            return True
        row.first_used_ms = min(row.first_used_ms, ts)
        row.last_used_ms = max(row.last_used_ms, ts)
        return False

    def upsert_position(
        self, symbol: str, *, qty: float, entry_price: float, ts: int, reason: str
    ) -> bool:
        """Set the position of ``symbol`` (signed qty, 0 when flat); return True if it changed.

        Each change also lands in the position history with ``reason``.
        """
        qty = check_number(qty, f"position qty of {symbol}")
        entry_price = check_number(entry_price, f"entry price of {symbol}")
        row = self._s.get(Position, symbol)
        if row is not None and row.qty == qty and row.entry_price == entry_price:
            return False
        if row is None:
            self._s.add(Position(symbol=symbol, qty=qty, entry_price=entry_price, updated_ms=ts))
        else:
            row.qty, row.entry_price, row.updated_ms = qty, entry_price, ts
        self._s.add(
            PositionChange(symbol=symbol, ts=ts, qty=qty, entry_price=entry_price, reason=reason)
        )
        return True

    def record_funding(
        self, *, symbol: str, ts: int, rate: float, qty: float, mark_price: float, amount: float
    ) -> bool:
        """Record a funding settlement (``amount`` received, negative when paid).

        Return False if the (symbol, ts) payment was already recorded.
        """
        values = {
            "symbol": symbol,
            "ts": int(ts),
            "rate": check_number(rate, "funding rate"),
            "qty": check_number(qty, "funding qty"),
            "mark_price": check_number(mark_price, "funding mark price"),
            "amount": check_number(amount, "funding amount"),
        }
        return insert_ignore(self._s, FundingPayment.__table__, values, ("symbol", "ts"))  # type: ignore[arg-type]

    def _funding_in_bar(
        self, symbol: str, bar_ts: int, bar_ms: int, *, from_exchange: bool
    ) -> FundingPayment | None:
        """Return the settlement of ``symbol`` of the bar at ``bar_ts`` of that origin.

        An exchange's payment belongs to the bar its time falls in, or to the next one when
        stamped less than ``EARLY_MS`` before that bar's open (the settlement at the open).
        """
        early = EARLY_MS if from_exchange else 0
        q = select(FundingPayment).where(
            FundingPayment.symbol == symbol,
            FundingPayment.ts >= bar_ts - early,
            FundingPayment.ts < bar_ts + bar_ms - early,
        )
        has_id = FundingPayment.venue_id.is_not(None)
        return self._s.scalars(q.where(has_id if from_exchange else ~has_id)).first()

    def record_exchange_funding(
        self, *, symbol: str, venue_id: str, ts: int, amount: float, bar_ms: int
    ) -> FundingView | None:
        """Record a payment the exchange reported; None if its id is already recorded.

        A rate-derived row of the same symbol and bar takes the exchange's id, time and
        amount and keeps its own amount as ``expected`` (the cross-check).
        """
        amount = check_number(amount, "funding amount")
        q = select(FundingPayment).where(
            FundingPayment.symbol == symbol, FundingPayment.venue_id == venue_id
        )
        if self._s.scalars(q).first() is not None:
            return None
        bar_ts = (ts + EARLY_MS) // bar_ms * bar_ms  # see _funding_in_bar
        row = self._funding_in_bar(symbol, bar_ts, bar_ms, from_exchange=False)
        if row is None:
            row = FundingPayment(symbol=symbol, ts=int(ts), amount=amount, venue_id=venue_id)
            self._s.add(row)
        else:
            row.expected, row.amount, row.ts, row.venue_id = row.amount, amount, int(ts), venue_id
        self._s.flush()
        return to_view(FundingView, row)

    def expect_funding(
        self,
        *,
        symbol: str,
        bar_ts: int,
        bar_ms: int,
        rate: float,
        qty: float,
        mark_price: float,
        expected: float,
    ) -> FundingView | None:
        """Set the rate-derived figure on the exchange's payment of that bar; None if none."""
        row = self._funding_in_bar(symbol, bar_ts, bar_ms, from_exchange=True)
        if row is None or row.expected is not None:
            return None
        row.rate = check_number(rate, "funding rate")
        row.qty = check_number(qty, "funding qty")
        row.mark_price = check_number(mark_price, "funding mark price")
        row.expected = check_number(expected, "expected funding")
        self._s.flush()
        return to_view(FundingView, row)

    def record_equity(
        self,
        *,
        ts: int,
        equity: float,
        wallet: float,
        unrealized: float,
        margin_ratio: float | None = None,
    ) -> None:
        """Record the account at ``ts`` (a second snapshot at the same ts replaces the first)."""
        values = {
            "ts": int(ts),
            "equity": check_number(equity, "equity"),
            "wallet": check_number(wallet, "wallet"),
            "unrealized": check_number(unrealized, "unrealized"),
            "margin_ratio": None if margin_ratio is None else check_number(margin_ratio, "mr"),
        }
        upsert(self._s, EquitySnapshot.__table__, values, ("ts",))  # type: ignore[arg-type]

    def record_targets(
        self,
        bar_ts: int,
        targets: Mapping[str, tuple[float, float]],
        config_version: str | None = None,
    ) -> int:
        """Record the targets of bar ``bar_ts`` as ``{symbol: (weight, target qty)}``.

        The bar's earlier targets, if any, are replaced (a bar recomputed after a restart).
        Return the number of rows written.
        """
        rows = [
            {
                "bar_ts": int(bar_ts),
                "symbol": sym,
                "weight": check_number(w, f"weight of {sym}"),
                "target_qty": check_number(q, f"target qty of {sym}"),
                "config_version": config_version,
            }
            for sym, (w, q) in sorted(targets.items())
        ]
        self._s.execute(delete(TargetWeight).where(TargetWeight.bar_ts == int(bar_ts)))
        for chunk in iter_chunks(rows, 500):
            self._s.execute(insert(TargetWeight), list(chunk))
        return len(rows)


class AccountReads(Reads):
    """Read positions, funding, equity, targets and config versions."""

    def positions(self, *, include_flat: bool = False) -> dict[str, PositionView]:
        """Return the current positions by symbol (open ones unless ``include_flat``)."""
        q = select(Position).order_by(Position.symbol)
        if not include_flat:
            q = q.where(Position.qty != 0)
        with self._reading() as s:
            return {r.symbol: to_view(PositionView, r) for r in s.scalars(q)}

    def position_history(self, symbol: str | None = None) -> list[PositionChangeView]:
        """Return every recorded position change (of ``symbol``, or all), oldest first."""
        q = select(PositionChange).order_by(PositionChange.id)
        if symbol is not None:
            q = q.where(PositionChange.symbol == symbol)
        with self._reading() as s:
            return [to_view(PositionChangeView, r) for r in s.scalars(q)]

    def funding(
        self, *, since_ms: int | None = None, until_ms: int | None = None, symbol: str | None = None
    ) -> list[FundingView]:
        """Return funding settlements with ``since_ms <= ts < until_ms`` (either open), by time."""
        q = select(FundingPayment).order_by(FundingPayment.ts, FundingPayment.symbol)
        if since_ms is not None:
            q = q.where(FundingPayment.ts >= since_ms)
        if until_ms is not None:
            q = q.where(FundingPayment.ts < until_ms)
        if symbol is not None:
            q = q.where(FundingPayment.symbol == symbol)
        with self._reading() as s:
            return [to_view(FundingView, r) for r in s.scalars(q)]

    def last_exchange_funding_ts(self) -> int | None:
        """Return the time of the latest payment the exchange reported, or None."""
        q = select(func.max(FundingPayment.ts)).where(FundingPayment.venue_id.is_not(None))
        with self._reading() as s:
            found = s.scalar(q)
            return None if found is None else int(found)

    def last_equity(self) -> EquityView | None:
        """Return the latest equity snapshot, or None."""
        q = select(EquitySnapshot).order_by(EquitySnapshot.ts.desc()).limit(1)
        with self._reading() as s:
            row = s.scalars(q).first()
            return None if row is None else to_view(EquityView, row)

    def equity_series(
        self, *, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[EquityView]:
        """Return equity snapshots with ``start_ms <= ts < end_ms`` (either open), by time."""
        q = select(EquitySnapshot).order_by(EquitySnapshot.ts)
        if start_ms is not None:
            q = q.where(EquitySnapshot.ts >= start_ms)
        if end_ms is not None:
            q = q.where(EquitySnapshot.ts < end_ms)
        with self._reading() as s:
            return [to_view(EquityView, r) for r in s.scalars(q)]

    def targets(self, bar_ts: int | None = None) -> dict[str, TargetView]:
        """Return the targets of ``bar_ts`` (default: the latest bar recorded) by symbol."""
        with self._reading() as s:
            if bar_ts is None:
                bar_ts = s.scalar(select(func.max(TargetWeight.bar_ts)))
                if bar_ts is None:
                    return {}
            q = select(TargetWeight).where(TargetWeight.bar_ts == bar_ts)
            return {r.symbol: to_view(TargetView, r) for r in s.scalars(q)}

    def targets_series(
        self, *, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[TargetView]:
        """Return every target with ``start_ms <= bar_ts < end_ms``, by bar then symbol."""
        q = select(TargetWeight).order_by(TargetWeight.bar_ts, TargetWeight.symbol)
        if start_ms is not None:
            q = q.where(TargetWeight.bar_ts >= start_ms)
        if end_ms is not None:
            q = q.where(TargetWeight.bar_ts < end_ms)
        with self._reading() as s:
            return [to_view(TargetView, r) for r in s.scalars(q)]

    def config_versions(self) -> list[ConfigVersionView]:
        """Return the config versions used, by first use."""
        q = select(ConfigVersion).order_by(ConfigVersion.first_used_ms, ConfigVersion.version_id)
        with self._reading() as s:
            return [to_view(ConfigVersionView, r) for r in s.scalars(q)]

    def config_version(self, version_id: str) -> ConfigVersionView:
        """Return one config version; raise ConfigError if the ledger never used it."""
        with self._reading() as s:
            row = s.get(ConfigVersion, version_id)
            if row is None:
                raise ConfigError(f"config version {version_id} is not in the ledger")
            return to_view(ConfigVersionView, row)
