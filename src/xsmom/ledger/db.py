"""Engines, SQLite settings and schema migrations of the ledger.

SQLite (the default, ``HOME/ledger.sqlite``) runs in WAL mode so readers (``xsmom status``)
never block the engine's writes, with foreign keys on, a 30 s busy timeout and
``synchronous=FULL``: every committed transaction is on disk before the commit returns, so a
power cut cannot lose a fill or an alert the engine already acted on (an fsync per commit costs
a few ms, and the engine commits a handful of times per bar). Write transactions start with
``BEGIN IMMEDIATE`` so two writers queue on the busy timeout instead of failing on a lock
upgrade. PostgreSQL is used through psycopg 3 (``postgresql://`` is read as
``postgresql+psycopg://``).

Migrations are the Alembic scripts in ``migrations/``, run in code on open: one transaction
holds a lock (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL) so two processes
opening a new ledger together migrate it once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from xsmom.errors import ConfigError, CorruptStateError, LedgerUnavailableError
from xsmom.redaction import redact_url

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
LEDGER_FILE = "ledger.sqlite"
BUSY_TIMEOUT_MS = 30_000
_PG_LOCK_KEY = 0x7853_6D6F_6D4C  # "xsmomL": one advisory lock id for ledger migrations


def default_url(home: Path) -> str:
    """Return the URL of the SQLite ledger of a home folder."""
    return f"sqlite:///{(Path(home) / LEDGER_FILE).resolve()}"


def normalize_url(url: str) -> str:
    """Return ``url`` with the psycopg 3 driver for plain ``postgresql://`` URLs."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def sqlite_path(url: str) -> Path | None:
    """Return the file of a SQLite URL (``None`` for other backends)."""
    if not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    if path in ("", ":memory:") or path.startswith("file:"):
        raise ConfigError(f"ledger URL {url!r}: the ledger needs a SQLite file, not memory")
    return Path(path)


def _sqlite_connect(dbapi_conn: Any, *, foreign_keys: bool, busy_ms: int) -> None:
    # The driver's own BEGIN handling is off: the "begin" listener below emits ours.
    dbapi_conn.isolation_level = None
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={int(busy_ms)}")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute(f"PRAGMA foreign_keys={'ON' if foreign_keys else 'OFF'}")
    cur.close()


def _make_sqlite_engine(url: str, *, begin: str, busy_ms: int, foreign_keys: bool = True) -> Engine:
    engine = create_engine(url, connect_args={"timeout": busy_ms / 1000})

    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        _sqlite_connect(dbapi_conn, foreign_keys=foreign_keys, busy_ms=busy_ms)

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


@dataclass(frozen=True)
class Engines:
    """The engines of one ledger: writes and reads (the same engine on PostgreSQL)."""

    url: str
    write: Engine
    read: Engine
    busy_ms: int = BUSY_TIMEOUT_MS

    @property
    def dialect(self) -> str:
        """Return ``sqlite`` or ``postgresql``."""
        return self.write.dialect.name

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.write.dispose()
        if self.read is not self.write:
            self.read.dispose()


def make_engines(url: str, *, busy_ms: int = BUSY_TIMEOUT_MS) -> Engines:
    """Create the engines of ``url`` (SQLite file or PostgreSQL); nothing is opened yet.

    ``busy_ms`` is how long a SQLite writer waits for another's lock (and how long a
    PostgreSQL connection attempt may take) before LedgerUnavailableError.
    """
    url = normalize_url(url)
    path = sqlite_path(url)
    try:
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            write = _make_sqlite_engine(url, begin="BEGIN IMMEDIATE", busy_ms=busy_ms)
            read = _make_sqlite_engine(url, begin="BEGIN", busy_ms=busy_ms)
            return Engines(url, write, read, busy_ms)
        if url.startswith("postgresql"):
            timeout = {"connect_timeout": max(1, busy_ms // 1000)}
            engine = create_engine(url, pool_pre_ping=True, connect_args=timeout)
            return Engines(url, engine, engine, busy_ms)
    except (ImportError, SQLAlchemyError, OSError) as exc:
        raise ConfigError(f"cannot open ledger {redact_url(url)}: {exc}") from exc
    raise ConfigError(
        f"ledger URL {redact_url(url)}: use sqlite:///FILE or postgresql+psycopg://..."
    )


def alembic_config(connection: Connection | None = None) -> Config:
    """Return the Alembic config of the ledger's migrations, built in code."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    """Return the newest migration this code knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "the ledger ships at least one migration"
    return head


def current_revision(conn: Connection) -> str | None:
    """Return the database's migration revision (``None`` when never migrated)."""
    return MigrationContext.configure(conn).get_current_revision()


def _check_known(revision: str | None, url: str) -> None:
    if revision is None:
        return
    script = ScriptDirectory.from_config(alembic_config())
    try:
        known = script.get_revision(revision)
    except CommandError:
        known = None
    if known is None:
        raise CorruptStateError(
            f"ledger {redact_url(url)} is at schema revision {revision}, newer than this "
            f"xsmom knows (head {head_revision()}): upgrade xsmom, or restore a backup"
        )


def _migration_engine(engines: Engines) -> Engine:
    if engines.dialect == "sqlite":
        # Foreign keys off while tables are rebuilt (Alembic batch mode); checked before commit.
        return _make_sqlite_engine(
            engines.url, begin="BEGIN IMMEDIATE", busy_ms=engines.busy_ms, foreign_keys=False
        )
    return engines.write


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})


def _foreign_key_check(conn: Connection, url: str) -> None:
    if conn.dialect.name != "sqlite":
        return
    bad = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if bad:
        raise CorruptStateError(f"ledger {redact_url(url)}: foreign keys broken after migration")


def upgrade(engines: Engines, revision: str = "head") -> str | None:
    """Migrate the database to ``revision`` (default head); return the revision it was at.

    Raise CorruptStateError when the database is at a revision this code does not know (made by
    a newer xsmom) or cannot be migrated.
    """
    engine = _migration_engine(engines)
    try:
        with db_errors(engines.url, "cannot be migrated"), engine.connect() as conn, conn.begin():
            _lock(conn)
            before = current_revision(conn)
            _check_known(before, engines.url)
            command.upgrade(alembic_config(conn), revision)
            _foreign_key_check(conn, engines.url)
            return before
    finally:
        if engine is not engines.write:
            engine.dispose()


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


@contextmanager
def db_errors(url: str, what: str) -> Iterator[None]:
    """Turn database failures into the error tree: busy or unreachable -> retry, else corrupt.

    The message is one line and carries the URL without its password.
    """
    try:
        yield
    except OperationalError as exc:
        # locked beyond the busy timeout, connection refused or lost, server shutting down
        raise LedgerUnavailableError(
            f"ledger {redact_url(url)} {what}: {_first_line(exc)}"
        ) from exc
    except SQLAlchemyError as exc:
        raise CorruptStateError(
            f"ledger {redact_url(url)} {what}: {type(exc).__name__}: {_first_line(exc)}"
        ) from exc
