"""Keep the venue's account across restarts and crashes, in one SQLite file (``--state``).

Every request that the venue applies is followed, under the venue lock and before its answer
is written, by :meth:`StateStore.commit`: one transaction with what changed (new and changed
orders, new fills and funding payments, wallet, positions, prices, the next ids and the replay
time). So a venue killed at any moment (``kill -9``) restarts with every order and fill it
ever answered about, and never hands out an id twice. What a crash can lose: the one request
being applied when it happened, whose answer was never sent, and the replay time that passed
since the last commit (the venue resumes from the last committed time).

The file is SQLite in WAL mode with ``synchronous=NORMAL``: a committed transaction survives
the death of the process; an operating-system crash or power loss may lose the last ones.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from xsmom.errors import ConfigError, CorruptStateError
from xsmom.sim import ClientIdRule, MatchingEngine, Order
from xsmom.venue.service import Venue

log = logging.getLogger(__name__)
VERSION = 2
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (order_id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fills (trade_id INTEGER PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS funding (seq INTEGER PRIMARY KEY, body TEXT NOT NULL);
"""


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _head(engine: MatchingEngine, venue_time: int) -> dict[str, Any]:
    """Return the small, always-rewritten part of the state."""
    next_order, next_trade = engine.next_ids
    return {
        "account": engine.account.snapshot(funding=False),
        **engine.prices_state(),
        "next_order_id": next_order,
        "next_trade_id": next_trade,
        "venue_time": venue_time,
    }


class StateStore:
    """The venue's state in SQLite, committed before each answer (see the module docstring)."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        if not self.path.parent.is_dir():
            raise ConfigError(
                f"venue state {self.path}: the folder {self.path.parent} does not exist"
            )
        if self.path.is_dir():
            raise ConfigError(f"venue state {self.path} is a folder, not a file")
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise CorruptStateError(
                f"{self.path}: not a venue state database ({exc}); move it away to start afresh"
            ) from exc
        self._lock = threading.Lock()
        self._open: dict[int, Order] = {}  # open orders as last written
        self._next_order = 1
        self._next_trade = 1
        self._funding = 0
        self._head = ""
        self.commits = 0

    # ---- reading -----------------------------------------------------------------------------
    def _meta(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def has_state(self) -> bool:
        """Return True if the file holds a saved venue."""
        try:
            return self._meta("version") is not None
        except sqlite3.Error as exc:
            raise CorruptStateError(f"{self.path}: cannot read the venue state ({exc})") from exc

    def load(self, client_id_rule: ClientIdRule = "open") -> tuple[int, MatchingEngine]:
        """Return (venue time, engine) saved in the file; CorruptStateError if unreadable."""
        try:
            version = self._meta("version")
            if version != str(VERSION):
                raise CorruptStateError(f"{self.path}: unknown venue state version {version!r}")
            static = json.loads(self._meta("static") or "")
            head = json.loads(self._meta("head") or "")
            funding = [json.loads(b) for (b,) in self._rows("funding", "seq")]
            snap = {
                "version": 1,
                **static,
                "account": {**head["account"], "funding": funding},
                "orders": [json.loads(b) for (b,) in self._rows("orders", "order_id")],
                "fills": [json.loads(b) for (b,) in self._rows("fills", "trade_id")],
                "last": head["last"],
                "ref_qv": head["ref_qv"],
                "taken": head.get("taken", {}),  # absent in states of older versions
                "next_order_id": head["next_order_id"],
                "next_trade_id": head["next_trade_id"],
            }
            engine = MatchingEngine.restore(snap, client_id_rule=client_id_rule)
            return int(head["venue_time"]), engine
        except (sqlite3.Error, ValueError, KeyError, TypeError) as exc:
            raise CorruptStateError(f"{self.path}: cannot read the venue state ({exc})") from exc

    def _rows(self, table: str, key: str) -> list[tuple[str]]:
        # table and key are constants of this module, never user input
        return self._db.execute(f"SELECT body FROM {table} ORDER BY {key}").fetchall()

    # ---- writing -----------------------------------------------------------------------------
    def attach(self, venue: Venue) -> None:
        """Take ``venue`` as the state to keep: write it whole if the file is new, else only
        remember what the file already holds."""
        engine = venue.engine
        with venue.lock, self._lock:
            if self._meta("version") is None:
                static = {
                    "markets": {s: asdict(m) for s, m in engine.markets.items()},
                    "fees": asdict(engine.fees),
                }
                with self._db:
                    self._db.execute("BEGIN")
                    self._put_meta("version", str(VERSION))
                    self._put_meta("static", _dumps(static))
            else:
                self._open = {o.order_id: o for o in engine.open_orders()}
                self._next_order, self._next_trade = engine.next_ids
                self._funding = len(engine.account.funding)
            self._commit(venue)

    def commit(self, venue: Venue) -> None:
        """Write what changed since the last commit, in one transaction (hold the venue lock)."""
        with self._lock:
            self._commit(venue)

    def _commit(self, venue: Venue) -> None:
        engine = venue.engine
        head = _dumps(_head(engine, venue.sync()))
        next_order, next_trade = engine.next_ids
        funding_count = len(engine.account.funding)
        unchanged = (
            head == self._head
            and next_order == self._next_order
            and next_trade == self._next_trade
            and funding_count == self._funding
            and all(engine.order(order_id=i) is o for i, o in self._open.items())
        )
        if unchanged:
            return
        orders = self._changed_orders(engine, next_order)
        fills = []
        if next_trade > self._next_trade:
            fills = [f for f in engine.fills() if f.trade_id >= self._next_trade]
        new_funding = engine.account.funding[self._funding :]
        with self._db:
            self._db.execute("BEGIN")
            self._db.executemany(
                "INSERT OR REPLACE INTO orders VALUES (?, ?)",
                [(o.order_id, _dumps(asdict(o))) for o in orders],
            )
            self._db.executemany(
                "INSERT INTO fills VALUES (?, ?)", [(f.trade_id, _dumps(asdict(f))) for f in fills]
            )
            self._db.executemany(
                "INSERT INTO funding VALUES (?, ?)",
                [(self._funding + k, _dumps(asdict(p))) for k, p in enumerate(new_funding)],
            )
            self._put_meta("head", head)
        self._open = {o.order_id: o for o in engine.open_orders()}
        self._head, self._next_order, self._next_trade = head, next_order, next_trade
        self._funding = funding_count
        self.commits += 1

    def _changed_orders(self, engine: MatchingEngine, next_order: int) -> list[Order]:
        known = [engine.order(order_id=i) for i in self._open]
        changed = [o for o in known if o is not self._open[o.order_id]]
        return changed + [engine.order(order_id=i) for i in range(self._next_order, next_order)]

    def _put_meta(self, key: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def close(self) -> None:
        """Close the database."""
        with self._lock:
            self._db.close()


class StateSaver:
    """Commit the venue every ``interval`` seconds in a thread (so the replay time is kept
    while no request comes), and once more on ``stop()``."""

    def __init__(self, venue: Venue, store: StateStore, interval: float = 10.0) -> None:
        self.venue = venue
        self.store = store
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> StateSaver:
        """Start the periodic commits."""
        self._thread.start()
        return self

    def _commit(self) -> None:
        with self.venue.lock:
            self.store.commit(self.venue)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self._commit()
            except sqlite3.Error:
                log.exception("venue: saving state to %s failed; will retry", self.store.path)

    def stop(self) -> None:
        """Stop the thread and commit one last time."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)
        self._commit()
