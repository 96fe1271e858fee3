"""The ledger: one database of everything the engine did, written in transactions.

``open_ledger(url)`` migrates the database to the newest schema and returns a `Ledger`. Reads
are methods of the ledger (each in its own short read transaction); writes happen in
``with ledger.transaction() as tx:``, committed together when the block ends and rolled back
entirely when it raises. ``tx`` also reads, and sees its own uncommitted writes.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from xsmom.errors import ConfigError, CorruptStateError
from xsmom.ledger.db import (
    BUSY_TIMEOUT_MS,
    Engines,
    current_revision,
    db_errors,
    default_url,
    head_revision,
    make_engines,
    normalize_url,
    sqlite_path,
)
from xsmom.ledger.db import upgrade as migrate
from xsmom.ledger.models import Base
from xsmom.ledger.outbox import OutboxReads, OutboxWrites
from xsmom.ledger.repo_account import AccountReads, AccountWrites
from xsmom.ledger.repo_orders import OrderReads, OrderWrites
from xsmom.ledger.repo_rollout import RolloutReads, RolloutWrites
from xsmom.ledger.repo_safety import SafetyReads, SafetyWrites
from xsmom.notify.outbox_types import Outbox
from xsmom.redaction import redact_url


class LedgerReads(OrderReads, AccountReads, SafetyReads, OutboxReads, RolloutReads):
    """Every read of the ledger."""


class _Snapshot(LedgerReads):
    """Reads bound to one read transaction (one consistent view of the database)."""

    def __init__(self, session: Session) -> None:
        self._session = session

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        yield self._session


class LedgerTx(OrderWrites, AccountWrites, SafetyWrites, OutboxWrites, RolloutWrites, LedgerReads):
    """One open transaction: every write method, and the reads (which see its writes)."""

    def __init__(self, session: Session) -> None:
        self._s = session

    @contextmanager
    def _reading(self) -> Iterator[Session]:
        self._s.flush()
        yield self._s


class Ledger(LedgerReads):
    """The ledger of one bot; implements the notifiers' ``Outbox`` protocol."""

    def __init__(self, engines: Engines) -> None:
        self._engines = engines
        self._local = threading.local()

    @property
    def url(self) -> str:
        """Return the database URL without its password."""
        return redact_url(self._engines.url)

    @property
    def dialect(self) -> str:
        """Return ``sqlite`` or ``postgresql``."""
        return self._engines.dialect

    def revision(self) -> str | None:
        """Return the schema revision of the database."""
        with db_errors(self._engines.url, "cannot be read"), self._engines.read.connect() as conn:
            return current_revision(conn)

    @contextmanager
    def transaction(self) -> Iterator[LedgerTx]:
        """Open a write transaction: committed when the block ends, rolled back if it raises.

        Do not nest: inside the block, write (and read) through ``tx``.
        """
        if getattr(self._local, "in_tx", False):
            # on SQLite the inner BEGIN IMMEDIATE would wait for the outer one: a deadlock
            raise RuntimeError("nested ledger.transaction(): use the transaction already open")
        self._local.in_tx = True
        try:
            with self._transaction() as tx:
                yield tx
        finally:
            self._local.in_tx = False

    @contextmanager
    def _transaction(self) -> Iterator[LedgerTx]:
        with (
            db_errors(self._engines.url, "write failed"),
            Session(self._engines.write, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield LedgerTx(session)

    def _reading(self) -> AbstractContextManager[Session]:
        return self._read_session()

    @contextmanager
    def _read_session(self, *, repeatable: bool = False) -> Iterator[Session]:
        bind = self._engines.read
        if repeatable and self.dialect == "postgresql":
            # SQLite's read transaction is a snapshot already (WAL); PostgreSQL's default
            # (read committed) is not.
            bind = bind.execution_options(isolation_level="REPEATABLE READ")
        with (
            db_errors(self._engines.url, "read failed"),
            Session(bind) as session,
            session.begin(),
        ):
            yield session

    def row_counts(self) -> dict[str, int]:
        """Return the number of rows of every ledger table."""
        with self._read_session() as s:
            return {
                t.name: int(s.scalar(select(func.count()).select_from(t)) or 0)
                for t in Base.metadata.sorted_tables
            }

    @contextmanager
    def snapshot(self) -> Iterator[LedgerReads]:
        """Give reads that all see the database as of one instant (one read transaction)."""
        with self._read_session(repeatable=True) as session:
            yield _Snapshot(session)

    def close(self) -> None:
        """Close the database connections."""
        self._engines.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # The Outbox protocol (xsmom.notify.outbox_types.Outbox), each call its own transaction.
    def enqueue(
        self,
        *,
        dedup_key: str,
        channels: Sequence[str],
        kind: str,
        severity: str,
        payload: Mapping[str, Any],
        now_ms: int,
    ) -> int:
        """Add a row per channel, skipping existing ``(dedup_key, channel)``; return rows added."""
        with self.transaction() as tx:
            return tx.enqueue_alert(
                dedup_key=dedup_key,
                channels=channels,
                kind=kind,
                severity=severity,
                payload=payload,
                now_ms=now_ms,
            )

    def mark_delivered(self, item_id: int, now_ms: int) -> None:
        """Record that the channel accepted the row."""
        with self.transaction() as tx:
            tx.mark_alert_delivered(item_id, now_ms)

    def mark_failed(self, item_id: int, error: str, next_attempt_ms: int) -> None:
        """Count a failed attempt (``error`` carries no secret) and schedule the next one."""
        with self.transaction() as tx:
            tx.mark_alert_failed(item_id, error, next_attempt_ms)


def as_outbox(ledger: Ledger) -> Outbox:
    """Return ``ledger`` typed as the notifiers' ``Outbox`` (mypy checks that it is one)."""
    return ledger


def open_ledger(url: str, *, upgrade: bool = True, busy_ms: int = BUSY_TIMEOUT_MS) -> Ledger:
    """Open the ledger at ``url`` (``sqlite:///FILE`` or ``postgresql://...``).

    The database is migrated to the newest schema first (created when empty). A database
    written by a newer xsmom (unknown revision) raises CorruptStateError; an unusable URL
    raises ConfigError. With ``upgrade=False`` the schema must already be current.
    ``busy_ms``: how long a write waits for another writer's lock (SQLite) or a connection
    (PostgreSQL) before LedgerUnavailableError.
    """
    engines = make_engines(url, busy_ms=busy_ms)
    try:
        if upgrade:
            migrate(engines)
        else:
            _require_head(engines)
    except BaseException:
        engines.dispose()
        raise
    return Ledger(engines)


def open_home_ledger(home: Path, db: str | None = None, *, must_exist: bool = False) -> Ledger:
    """Open the ledger of a home folder (``HOME/ledger.sqlite``), or ``db`` when given.

    With ``must_exist`` a missing SQLite file raises ConfigError instead of being created.
    """
    url = normalize_url(db) if db else default_url(home)
    path = sqlite_path(url)
    if must_exist and path is not None and not path.is_file():
        raise ConfigError(f"no ledger at {path}: check --home / --db")
    return open_ledger(url)


def _require_head(engines: Engines) -> None:
    with db_errors(engines.url, "cannot be read"), engines.read.connect() as conn:
        rev = current_revision(conn)
    if rev != head_revision():
        raise CorruptStateError(
            f"ledger {redact_url(engines.url)} is at schema revision {rev}, this xsmom needs "
            f"{head_revision()}: open it with upgrade"
        )
