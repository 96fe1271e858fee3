"""Ledger backends for the contract tests: a SQLite file per test, and on PostgreSQL a fresh
database per test module (on the session's server: tests/pg_server.py's throw-away
cluster or XSMOM_TEST_PG_URL's server) whose schema is emptied before each test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="module")
def pg_server(pg_url: str) -> str:
    """Return the URL of a database on the session's PostgreSQL server (tests/conftest.py's
    ``pg_url``: skipped visibly without a server, failing under CI)."""
    return pg_url


@contextmanager
def fresh_pg_database(server_url: str) -> Iterator[str]:
    """Create an empty database on the server of ``server_url``; drop it afterwards."""
    name = f"ledger_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    base = server_url.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(server_url, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
def pg_module_db(pg_server: str) -> Iterator[str]:
    """Yield the URL of a database created for this test module."""
    with fresh_pg_database(pg_server) as url:
        yield url


def empty_pg_database(url: str) -> str:
    """Drop every table of ``url``'s database (a fresh public schema); return ``url``."""
    with psycopg.connect(url, autocommit=True) as con:
        con.execute("DROP SCHEMA public CASCADE")
        con.execute("CREATE SCHEMA public")
    return url


@pytest.fixture(params=BACKENDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Return the URL of an empty ledger database on each backend."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'home' / 'ledger.sqlite'}"
    return empty_pg_database(request.getfixturevalue("pg_module_db"))
