"""Keep the ledger in step with the exchange: orders, fills, positions.

The ledger's positions are driven by fills: a position moves only by the fills recorded for
it. Each cycle `sync_account` records the exchange's new fills (idempotent on the venue's trade
id) and order changes. `reconcile` (at start, before any order, and every few bars) does the
same and then checks every position: the ledger's position plus the fills it did not know must
equal the exchange's. Fills and liquidations that happened while the engine was down are
recorded and explain the difference (a repair, listed); a difference they do not explain is
refused: the engine stops with `ReconcileError` and a human decides.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from xsmom.exchange.interface import Exchange
from xsmom.exchange.reports import FillReport, OrderReport, PositionReport
from xsmom.ledger import LedgerTx, OrderView
from xsmom.live.orders import IdScheme

QTY_TOL = 1e-9


@dataclass(frozen=True, kw_only=True)
class SyncResult:
    """What one synchronisation recorded."""

    fills: tuple[FillReport, ...] = ()
    deltas: Mapping[str, float] = field(default_factory=dict)  # symbol -> signed qty of new fills
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class ReconcileResult:
    """Repairs made and differences refused."""

    repairs: tuple[str, ...] = ()
    differences: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Return True when nothing was refused."""
        return not self.differences


def order_fields(o: OrderReport, ids: IdScheme | None) -> dict[str, object]:
    """Return the ``record_order`` keyword arguments of an exchange order report."""
    parsed = ids.parse(o.client_id) if ids is not None else None
    return {
        "client_id": o.client_id or f"venue-{o.venue_order_id}",
        "symbol": o.symbol,
        "side": o.side.value,
        "type": o.type.value,
        "qty": o.qty,
        "price": o.price,
        "stop_price": o.stop_price,
        "reduce_only": o.reduce_only,
        "post_only": o.post_only,
        "bar_ts": parsed[0] if parsed else None,
        "attempt": parsed[2] if parsed else 0,
        "config_version": ids.version if parsed and ids is not None else None,
        "venue_order_id": o.venue_order_id,
    }


def record_order_report(
    tx: LedgerTx, o: OrderReport, ids: IdScheme | None, now_ms: int, reason: str
) -> bool:
    """Record an order the exchange reported (new to the ledger) and its current state."""
    f = order_fields(o, ids)
    known = tx.order(str(f["client_id"]))
    new = False
    if known is None:
        new = tx.record_order(ts=now_ms, reason=reason, **f)  # type: ignore[arg-type]
        known = tx.order(str(f["client_id"]))
    assert known is not None
    _advance(tx, known, o, now_ms, reason)
    return new


def _advance(tx: LedgerTx, known: OrderView, o: OrderReport, now_ms: int, reason: str) -> bool:
    if not known.is_open:
        return False
    filled = max(o.filled, known.filled_qty)
    return tx.record_transition(
        known.client_id,
        status=o.status.value,
        ts=now_ms,
        reason=reason,
        filled_qty=filled,
        avg_price=o.avg_price,
        venue_order_id=o.venue_order_id,
    )


def sync_orders(
    tx: LedgerTx,
    exchange: Exchange,
    open_orders: Sequence[OrderReport],
    ids: IdScheme | None,
    now_ms: int,
) -> list[str]:
    """Bring the ledger's orders in step with the exchange; return notes on what was new."""
    notes: list[str] = []
    by_cid = {o.client_id: o for o in open_orders if o.client_id}
    for o in open_orders:
        if record_order_report(tx, o, ids, now_ms, "seen open on the exchange"):
            notes.append(f"order {o.client_id or o.venue_order_id} on {o.symbol} adopted")
    for known in tx.open_orders():
        if known.client_id in by_cid:
            continue
        report = exchange.order_by_client_id(known.symbol, known.client_id)
        if report is None:
            tx.record_transition(
                known.client_id, status="expired", ts=now_ms, reason="not on the exchange"
            )
            notes.append(f"order {known.client_id} is not on the exchange: expired")
        else:
            _advance(tx, known, report, now_ms, "closed on the exchange")
    return notes


def _fill_since(tx: LedgerTx, symbol: str, default: int | None) -> int | None:
    last = tx.last_fill(symbol)
    return last.ts if last is not None else default


def sync_fills(
    tx: LedgerTx,
    exchange: Exchange,
    symbols: Iterable[str],
    *,
    since_default: int | None,
) -> SyncResult:
    """Record the exchange's fills the ledger lacks (from each symbol's last known fill on)."""
    new: list[FillReport] = []
    deltas: dict[str, float] = defaultdict(float)
    for s in sorted(set(symbols)):
        for f in exchange.fills(s, since=_fill_since(tx, s, since_default)):
            added = tx.record_fill(
                symbol=f.symbol,
                trade_id=f.trade_id,
                side=f.side.value,
                qty=f.qty,
                price=f.price,
                fee=f.fee,
                fee_currency=f.fee_currency,
                ts=f.ts,
                realized_pnl=f.realized_pnl,
                is_maker=f.is_maker,
                venue_order_id=f.venue_order_id,
                client_id=f.client_id,
            )
            if added:
                new.append(f)
                deltas[f.symbol] += f.qty * f.side.sign
    return SyncResult(fills=tuple(new), deltas=dict(deltas))


def apply_fills(
    tx: LedgerTx,
    deltas: Mapping[str, float],
    reports: Mapping[str, PositionReport],
    now_ms: int,
    reason: str,
) -> None:
    """Move the ledger's positions by the new fills (entry price from the exchange)."""
    held = tx.positions(include_flat=True)
    for s, d in deltas.items():
        before = held[s].qty if s in held else 0.0
        qty = before + d
        if abs(qty) < QTY_TOL:
            qty = 0.0
        rep = reports.get(s)
        entry = rep.entry_price if rep is not None and qty != 0 else 0.0
        tx.upsert_position(s, qty=qty, entry_price=entry, ts=now_ms, reason=reason)


def check_positions(
    tx: LedgerTx, reports: Mapping[str, PositionReport], tolerance: Mapping[str, float]
) -> list[str]:
    """Return the symbols whose ledger position differs from the exchange's, described."""
    led = {s: p.qty for s, p in tx.positions().items()}
    out = []
    for s in sorted(set(led) | set(reports)):
        mine, theirs = led.get(s, 0.0), reports[s].qty if s in reports else 0.0
        if abs(mine - theirs) > tolerance.get(s, QTY_TOL):
            out.append(f"{s}: ledger position {mine:g} (after its fills), exchange {theirs:g}")
    return out


def reconcile(
    tx: LedgerTx,
    exchange: Exchange,
    symbols: Iterable[str],
    *,
    ids: IdScheme | None,
    now_ms: int,
    since_default: int | None,
    tolerance: Mapping[str, float],
    report_fills: bool = True,
) -> tuple[ReconcileResult, SyncResult]:
    """Compare the ledger with the exchange and repair what fills explain (in ``tx``).

    ``report_fills``: list the fills found as repairs (at start: they happened while the
    engine was down); while running they are ordinary fills since the last cycle.
    """
    reports = {p.symbol: p for p in exchange.positions()}
    open_orders = exchange.open_orders()
    syms = set(symbols) | set(reports) | {o.symbol for o in open_orders}
    syms |= set(tx.positions()) | {o.symbol for o in tx.open_orders()}
    repairs = sync_orders(tx, exchange, open_orders, ids, now_ms)
    got = sync_fills(tx, exchange, syms, since_default=since_default)
    if got.fills and report_fills:
        by_sym = defaultdict(list)
        for f in got.fills:
            by_sym[f.symbol].append(f)
        for s, fs in sorted(by_sym.items()):
            repairs.append(
                f"{s}: {len(fs)} fill(s) the ledger lacked recorded ({got.deltas[s]:+g})"
            )
    apply_fills(tx, got.deltas, reports, now_ms, "reconcile: fills recorded")
    differences = check_positions(tx, reports, tolerance)
    return ReconcileResult(repairs=tuple(repairs), differences=tuple(differences)), got
