"""Shared plumbing of the repository mixins: sessions, conflict-free inserts, JSON checks."""

from __future__ import annotations

import dataclasses
import json
import math
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import DeclarativeBase, Session

from xsmom.errors import ConfigError

V = TypeVar("V")


class Reads:
    """Base of the read mixins: ``_reading()`` gives a session (fresh, or the transaction's)."""

    def _reading(self) -> AbstractContextManager[Session]:
        raise NotImplementedError


class Writes(Reads):
    """Base of the write mixins: every write goes to the transaction's session."""

    _s: Session


def to_view(cls: type[V], row: DeclarativeBase, **extra: Any) -> V:
    """Build the frozen view ``cls`` from the same-named attributes of ``row``."""
    names = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    values = {n: extra[n] if n in extra else getattr(row, n) for n in names}
    return cls(**values)


def _insert(session: Session, table: Table) -> Any:
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        return sqlite.insert(table)
    if dialect == "postgresql":
        return postgresql.insert(table)
    raise ConfigError(f"ledger backend {dialect!r} is not supported (sqlite, postgresql)")


def insert_ignore(
    session: Session, table: Table, values: Mapping[str, Any], keys: Sequence[str]
) -> bool:
    """Insert a row unless one with the same ``keys`` exists; return whether it was added."""
    stmt = _insert(session, table).values(**values).on_conflict_do_nothing(index_elements=keys)
    # RETURNING, not rowcount: with psycopg 3 the rowcount of this INSERT is -1 either way.
    added = session.connection().execute(stmt.returning(*table.primary_key.columns)).first()
    return added is not None


def upsert(session: Session, table: Table, values: Mapping[str, Any], keys: Sequence[str]) -> None:
    """Insert a row, or update the non-key columns of the row with the same ``keys``."""
    stmt = _insert(session, table).values(**values)
    update = {k: stmt.excluded[k] for k in values if k not in keys}
    session.execute(stmt.on_conflict_do_update(index_elements=keys, set_=update))


def check_json(value: Any, what: str) -> Any:
    """Return ``value`` if it is strict JSON (no NaN/inf, string keys), else raise ConfigError."""
    try:
        json.dumps(value, allow_nan=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{what} is not storable as JSON: {exc}") from exc
    return value


def check_number(value: float, what: str) -> float:
    """Return ``value`` as float if finite, else raise ConfigError."""
    out = float(value)
    if not math.isfinite(out):
        raise ConfigError(f"{what} must be a finite number, got {value!r}")
    return out


def iter_chunks(items: Sequence[V], size: int) -> Iterator[Sequence[V]]:
    """Yield ``items`` in slices of ``size`` (bulk inserts stay under parameter limits)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]
