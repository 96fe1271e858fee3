"""Ledger backends for the contract tests: a SQLite file, and a fresh PostgreSQL database per
test on the throw-away server of optimize_pg_server (or XSMOM_TEST_PG_URL's server)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
from optimize_pg_server import postgres_server

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="module")
def pg_server() -> Iterator[str]:
    """Yield the URL of a database on a PostgreSQL server this module may create databases on."""
    try:
        with postgres_server() as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


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


@pytest.fixture(params=BACKENDS)
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield the URL of an empty ledger database on each backend."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'home' / 'ledger.sqlite'}"
        return
    with fresh_pg_database(request.getfixturevalue("pg_server")) as url:
        yield url
