"""Optuna RDB storage: a SQLite file by default (WAL), PostgreSQL to share a study."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path
from typing import Any

import optuna
from sqlalchemy import event
from sqlalchemy.exc import IntegrityError, ProgrammingError, SQLAlchemyError

from xsmom.errors import ConfigError
from xsmom.redaction import redact_url


def sqlite_url(path: Path) -> str:
    """Return the storage URL of a SQLite file."""
    return f"sqlite:///{Path(path).resolve()}"


def normalize_url(url: str) -> str:
    """Return ``url`` with the psycopg 3 driver for plain ``postgresql://`` URLs."""
    if url.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    # WAL is set once on the file; NORMAL sync is safe with WAL and much cheaper per commit.
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=60000")
    cur.close()


def _open(url: str, kwargs: dict[str, Any], attempts: int = 5) -> optuna.storages.RDBStorage:
    for attempt in range(1, attempts + 1):
        try:
            return optuna.storages.RDBStorage(url, engine_kwargs=kwargs)
        except ImportError as exc:
            raise ConfigError(f"storage {redact_url(url)} needs a driver: {exc}") from exc
        except (IntegrityError, ProgrammingError) as exc:
            # Workers started together race to create the schema: the loser retries and
            # finds the tables the winner made.
            if attempt == attempts:
                raise ConfigError(f"cannot open storage {redact_url(url)}: {exc}") from exc
            time.sleep(0.5 * attempt)
        except (SQLAlchemyError, OSError) as exc:
            raise ConfigError(f"cannot open storage {redact_url(url)}: {exc}") from exc
    raise AssertionError("unreachable")


def make_storage(url: str) -> optuna.storages.RDBStorage:
    """Open (creating tables if needed) the RDB storage at ``url``; heartbeats are off."""
    url = normalize_url(url)
    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        path.parent.mkdir(parents=True, exist_ok=True)
        with sqlite3.connect(path, timeout=60) as con:
            con.execute("PRAGMA journal_mode=WAL")
        kwargs = {"connect_args": {"timeout": 60}}
    elif url.startswith("postgresql"):
        kwargs = {"pool_pre_ping": True}
    storage = _open(url, kwargs)
    if url.startswith("sqlite:///"):
        event.listen(storage.engine, "connect", _sqlite_pragmas)
        storage.engine.dispose()
    return storage
