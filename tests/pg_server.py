"""A throw-away PostgreSQL server for tests: initdb in a temp dir, started on a free port.

If ``XSMOM_TEST_PG_URL`` is set, that server is used instead. Without either, the ``pg_url``
fixture (tests/conftest.py) skips the test with one summary line saying how to run it, except
under CI (``CI=true``), where it fails: CI must run every PostgreSQL test.
``XSMOM_TEST_PG_INITDB`` (a glob, default ``/usr/lib/postgresql/*/bin/initdb``) says where
initdb is looked for; tests of the skip logic point it at nothing.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

ENV_URL = "XSMOM_TEST_PG_URL"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# Where initdb is looked for; tests of the skip logic point it at nothing.
INITDB_GLOB = "XSMOM_TEST_PG_INITDB"


def _bin_dir() -> Path | None:
    pattern = os.environ.get(INITDB_GLOB, "/usr/lib/postgresql/*/bin/initdb")
    found = sorted(glob.glob(pattern))
    return Path(found[-1]).parent if found else None


def unavailable_reason() -> str | None:
    """Return why no PostgreSQL server can be had for tests, or None if one can."""
    if os.environ.get(ENV_URL):
        return None
    if _bin_dir() is None:
        return f"no server (no /usr/lib/postgresql/*/bin/initdb and {ENV_URL} unset)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "running as root without runuser (PostgreSQL refuses to run as root)"
    return None


def _as_server_user(cmd: list[str]) -> list[str]:
    # PostgreSQL refuses to run as root: run its tools as the postgres user then.
    return ["runuser", "-u", "postgres", "--", *cmd] if os.geteuid() == 0 else cmd


@contextmanager
def postgres_server(database: str = "xsmom_test") -> Iterator[str]:
    """Yield a SQLAlchemy-style URL of an empty database on a private server."""
    env_url = os.environ.get(ENV_URL)
    if env_url:
        yield env_url
        return
    bin_dir = _bin_dir()
    if bin_dir is None:
        raise RuntimeError(
            "PostgreSQL server not installed (no /usr/lib/postgresql/*/bin/initdb): run "
            f".ci/postgres.sh, or set {ENV_URL} to a server's URL"
        )
    root = Path(tempfile.mkdtemp(prefix="xsmom-pg-"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        shutil.chown(sock, "postgres")
    port = _free_port()
    run = subprocess.run
    run(
        _as_server_user(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-A",
                "trust",
                "-U",
                "postgres",
                "--no-sync",
                "-E",
                "UTF8",
            ]
        ),
        check=True,
        capture_output=True,
    )
    opts = f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off"
    pg_ctl = str(bin_dir / "pg_ctl")
    run(
        _as_server_user(
            [pg_ctl, "-D", str(data), "-o", opts, "-l", str(root / "log"), "-w", "start"]
        ),
        check=True,
        capture_output=True,
    )
    try:
        admin = f"postgresql://postgres@127.0.0.1:{port}/postgres"
        with psycopg.connect(admin, autocommit=True) as con:
            con.execute(f'CREATE DATABASE "{database}"')
        yield f"postgresql://postgres@127.0.0.1:{port}/{database}"
    finally:
        run(
            _as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
