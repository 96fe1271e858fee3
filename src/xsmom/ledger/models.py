"""The ledger's tables as typed SQLAlchemy 2 declarative models.

Conventions: timestamps are int64 ms UTC (``*_ms`` / ``ts`` / ``bar_ts``), symbols ccxt unified
(``BTC/USDT:USDT``), quantities signed base units where a sign makes sense, money float64 in
the quote currency (USDT). The schema is owned by the Alembic migrations in ``migrations/``; a
test compares these models with the migrated database so the two never drift.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints so migrations (and SQLite batch mode) can address them on every backend.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SYMBOL = 64
ID = 128


class Base(DeclarativeBase):
    """Declarative base of every ledger table."""

    metadata = MetaData(naming_convention=NAMING)


class ConfigVersion(Base):
    """A config version the engine has run: its resolved config and when it was used."""

    __tablename__ = "config_versions"
    version_id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON)
    first_used_ms: Mapped[int] = mapped_column(BigInteger)
    last_used_ms: Mapped[int] = mapped_column(BigInteger)


class Order(Base):
    """One order we sent (or found on the venue), with its intent and latest status."""

    __tablename__ = "orders"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    client_id: Mapped[str] = mapped_column(String(ID), unique=True)
    venue_order_id: Mapped[str | None] = mapped_column(String(ID))
    symbol: Mapped[str] = mapped_column(String(SYMBOL))
    side: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(16))
    qty: Mapped[float] = mapped_column(Double)
    price: Mapped[float | None] = mapped_column(Double)
    stop_price: Mapped[float | None] = mapped_column(Double)
    reduce_only: Mapped[bool] = mapped_column(Boolean)
    post_only: Mapped[bool] = mapped_column(Boolean)
    bar_ts: Mapped[int | None] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(256))
    attempt: Mapped[int] = mapped_column(Integer)
    config_version: Mapped[str | None] = mapped_column(String(ID))
    status: Mapped[str] = mapped_column(String(24), index=True)
    filled_qty: Mapped[float] = mapped_column(Double)
    avg_price: Mapped[float | None] = mapped_column(Double)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_orders_symbol_status", "symbol", "status"),)


class OrderTransition(Base):
    """One change of an order's status or filled quantity, with when and why."""

    __tablename__ = "order_transitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    ts: Mapped[int] = mapped_column(BigInteger)
    from_status: Mapped[str | None] = mapped_column(String(24))
    to_status: Mapped[str] = mapped_column(String(24))
    filled_qty: Mapped[float] = mapped_column(Double)
    reason: Mapped[str] = mapped_column(String(256))


class Fill(Base):
    """One execution on the venue; unique per (symbol, venue trade id)."""

    __tablename__ = "fills"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    symbol: Mapped[str] = mapped_column(String(SYMBOL))
    trade_id: Mapped[str] = mapped_column(String(ID))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"), index=True)
    venue_order_id: Mapped[str | None] = mapped_column(String(ID))
    client_id: Mapped[str | None] = mapped_column(String(ID))
    side: Mapped[str] = mapped_column(String(8))
    qty: Mapped[float] = mapped_column(Double)
    price: Mapped[float] = mapped_column(Double)
    fee: Mapped[float] = mapped_column(Double)
    fee_currency: Mapped[str] = mapped_column(String(16))
    realized_pnl: Mapped[float] = mapped_column(Double)
    is_maker: Mapped[bool] = mapped_column(Boolean)
    liquidation: Mapped[bool] = mapped_column(Boolean)
    ts: Mapped[int] = mapped_column(BigInteger, index=True)

    __table_args__ = (UniqueConstraint("symbol", "trade_id", name="uq_fills_symbol_trade_id"),)


class Position(Base):
    """The current position of one symbol (signed qty; 0 when flat)."""

    __tablename__ = "positions"
    symbol: Mapped[str] = mapped_column(String(SYMBOL), primary_key=True)
    qty: Mapped[float] = mapped_column(Double)
    entry_price: Mapped[float] = mapped_column(Double)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class PositionChange(Base):
    """Every change of a position: the new state, when and why."""

    __tablename__ = "position_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    symbol: Mapped[str] = mapped_column(String(SYMBOL), index=True)
    ts: Mapped[int] = mapped_column(BigInteger)
    qty: Mapped[float] = mapped_column(Double)
    entry_price: Mapped[float] = mapped_column(Double)
    reason: Mapped[str] = mapped_column(String(256))


class FundingPayment(Base):
    """One funding settlement; ``amount`` is what the account received (negative: paid).

    ``venue_id`` set: ``amount`` is what the exchange reported, ``expected`` the figure from
    the store's rate, the ledger's position and the mark (``rate``, ``qty``, ``mark_price``;
    NULL until that bar is processed). ``venue_id`` NULL: only the rate-derived figure is known.
    """

    __tablename__ = "funding_payments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    symbol: Mapped[str] = mapped_column(String(SYMBOL))
    ts: Mapped[int] = mapped_column(BigInteger, index=True)
    rate: Mapped[float | None] = mapped_column(Double)
    qty: Mapped[float | None] = mapped_column(Double)
    mark_price: Mapped[float | None] = mapped_column(Double)
    amount: Mapped[float] = mapped_column(Double)
    venue_id: Mapped[str | None] = mapped_column(String(ID))
    expected: Mapped[float | None] = mapped_column(Double)

    __table_args__ = (
        UniqueConstraint("symbol", "ts", name="uq_funding_payments_symbol_ts"),
        UniqueConstraint("symbol", "venue_id", name="uq_funding_payments_symbol_venue_id"),
    )


class EquitySnapshot(Base):
    """The account at one instant: equity = wallet + unrealized."""

    __tablename__ = "equity_snapshots"
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    equity: Mapped[float] = mapped_column(Double)
    wallet: Mapped[float] = mapped_column(Double)
    unrealized: Mapped[float] = mapped_column(Double)
    margin_ratio: Mapped[float | None] = mapped_column(Double)


class TargetWeight(Base):
    """The strategy's target for one symbol at one bar (the bar's open time)."""

    __tablename__ = "target_weights"
    bar_ts: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    symbol: Mapped[str] = mapped_column(String(SYMBOL), primary_key=True)
    weight: Mapped[float] = mapped_column(Double)
    target_qty: Mapped[float] = mapped_column(Double)
    config_version: Mapped[str | None] = mapped_column(String(ID))


class StateChange(Base):
    """A trading-state transition (ACTIVE / REDUCING / HALTED)."""

    __tablename__ = "state_changes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[int] = mapped_column(BigInteger, index=True)
    from_state: Mapped[str | None] = mapped_column(String(16))
    to_state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)


class GuardEvent(Base):
    """Something a guard did or saw (tripped, recovered, denied an order, warned)."""

    __tablename__ = "guard_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[int] = mapped_column(BigInteger, index=True)
    guard: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class GuardState(Base):
    """A guard's persisted state, so a restart resumes it (a halt stays a halt)."""

    __tablename__ = "guard_states"
    guard: Mapped[str] = mapped_column(String(64), primary_key=True)
    state: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class Meta(Base):
    """Engine metadata: last bar processed, last fill seen per symbol, last reconcile."""

    __tablename__ = "engine_meta"
    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class OutboxRow(Base):
    """One alert for one channel; unique on (dedup_key, channel)."""

    __tablename__ = "alert_outbox"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(256))
    channel: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(64))
    severity: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_ms: Mapped[int] = mapped_column(BigInteger)
    delivered_ms: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        UniqueConstraint("dedup_key", "channel", name="uq_alert_outbox_dedup_key_channel"),
        Index("ix_alert_outbox_due", "channel", "delivered_ms", "next_attempt_ms"),
    )


class RolloutStage(Base):
    """Where a config version stands in the staged rollout (candidate, paper, small, full)."""

    __tablename__ = "rollout_stages"
    version_id: Mapped[str] = mapped_column(
        ForeignKey("config_versions.version_id"), primary_key=True
    )
    stage: Mapped[str] = mapped_column(String(32))
    since_ms: Mapped[int] = mapped_column(BigInteger)
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)


class RolloutTransition(Base):
    """Every stage change of a version (promotion, rollback, retirement), with why."""

    __tablename__ = "rollout_transitions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[int] = mapped_column(BigInteger, index=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("config_versions.version_id"))
    from_stage: Mapped[str | None] = mapped_column(String(32))
    to_stage: Mapped[str] = mapped_column(String(32))
    reason: Mapped[str] = mapped_column(Text)


class RolloutEquity(Base):
    """The paper account of a rollout version (paper stage) at one instant."""

    __tablename__ = "rollout_equity"
    version_id: Mapped[str] = mapped_column(
        ForeignKey("config_versions.version_id"), primary_key=True
    )
    ts: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    equity: Mapped[float] = mapped_column(Double)
    wallet: Mapped[float] = mapped_column(Double)
    unrealized: Mapped[float] = mapped_column(Double)
    margin_ratio: Mapped[float | None] = mapped_column(Double)


class RolloutFill(Base):
    """One paper execution of a rollout version; unique per (version, symbol, trade id)."""

    __tablename__ = "rollout_fills"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[str] = mapped_column(ForeignKey("config_versions.version_id"))
    symbol: Mapped[str] = mapped_column(String(SYMBOL))
    trade_id: Mapped[str] = mapped_column(String(ID))
    client_id: Mapped[str | None] = mapped_column(String(ID))
    side: Mapped[str] = mapped_column(String(8))
    qty: Mapped[float] = mapped_column(Double)
    price: Mapped[float] = mapped_column(Double)
    fee: Mapped[float] = mapped_column(Double)
    is_maker: Mapped[bool] = mapped_column(Boolean)
    ts: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        UniqueConstraint("version_id", "symbol", "trade_id", name="uq_rollout_fills_version_id"),
        Index("ix_rollout_fills_version_ts", "version_id", "ts"),
    )
