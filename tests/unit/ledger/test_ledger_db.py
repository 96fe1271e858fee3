"""URLs, engine settings, migration chain and public API of the ledger package."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory

import xsmom.ledger as ledger_pkg
from xsmom.errors import ConfigError
from xsmom.ledger import default_url, head_revision, normalize_url, open_ledger, redact_url
from xsmom.ledger.db import alembic_config, make_engines, sqlite_path
from xsmom.ledger.ledger import LedgerTx, as_outbox
from xsmom.ledger.models import Base


def test_urls(tmp_path: Path) -> None:
    assert default_url(tmp_path) == f"sqlite:///{tmp_path.resolve()}/ledger.sqlite"
    assert normalize_url("postgresql://u:p@h/db") == "postgresql+psycopg://u:p@h/db"
    assert normalize_url("postgres://h/db") == "postgresql+psycopg://h/db"
    assert normalize_url("postgresql+psycopg://h/db") == "postgresql+psycopg://h/db"
    assert redact_url("postgresql+psycopg://bot:s3cret@db:5432/x") == (
        "postgresql+psycopg://bot:***@db:5432/x"
    )
    assert sqlite_path("sqlite:////var/x/ledger.sqlite") == Path("/var/x/ledger.sqlite")
    assert sqlite_path("postgresql+psycopg://h/db") is None


@pytest.mark.parametrize("url", ["sqlite://", "sqlite:///:memory:"])
def test_memory_sqlite_is_refused(url: str) -> None:
    with pytest.raises(ConfigError, match="needs a SQLite file"):
        make_engines(url)


def test_unknown_backend_is_a_config_error_without_the_password() -> None:
    with pytest.raises(ConfigError) as err:
        make_engines("oracle+nodriver://bot:s3cret@host/db")
    assert "s3cret" not in str(err.value) and "bot:***@host" in str(err.value)
    with pytest.raises(ConfigError, match="use sqlite:///FILE or postgresql"):
        make_engines("not a url")


def test_migrations_are_one_linear_chain_creating_every_table() -> None:
    script = ScriptDirectory.from_config(alembic_config())
    revs = list(reversed(list(script.walk_revisions())))
    assert [r.revision for r in revs] == ["0001", "0002", "0003", "0004", "0005"]
    assert [r.down_revision for r in revs] == [None, "0001", "0002", "0003", "0004"]
    assert head_revision() == "0005"
    created: list[str] = []
    for r in revs:
        assert r.path is not None
        text = Path(r.path).read_text()
        created += re.findall(r'op\.create_table\(\s*"(\w+)"', text)
    assert sorted(created) == sorted(Base.metadata.tables)


def test_the_migrations_ship_with_the_package(tmp_path: Path) -> None:
    repo = Path(__file__).resolve().parents[3]
    assert '"alembic>=' in (repo / "pyproject.toml").read_text()
    # what setuptools copies into a build (the same file list a wheel gets)
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from setuptools import setup; setup()",
            "-q",
            "egg_info",
            "--egg-base",
            str(tmp_path),
            "build_py",
            "--build-lib",
            str(tmp_path / "b"),
        ],
        cwd=repo,
        check=True,
        capture_output=True,
    )
    built = tmp_path / "b" / "xsmom" / "ledger" / "migrations"
    shipped = sorted(p.relative_to(built).as_posix() for p in built.rglob("*") if p.is_file())
    assert shipped == [
        "env.py",
        "script.py.mako",
        "versions/0001_trading.py",
        "versions/0002_safety_alerts.py",
        "versions/0003_rollout.py",
        "versions/0004_rollout_paper.py",
        "versions/0005_exchange_funding.py",
    ]


def test_public_api_and_outbox_protocol(tmp_path: Path) -> None:
    for name in ledger_pkg.__all__:
        assert getattr(ledger_pkg, name) is not None, name
    writes = {
        "record_order",
        "record_transition",
        "record_fill",
        "upsert_position",
        "record_funding",
        "record_equity",
        "record_targets",
        "record_state_change",
        "record_guard_event",
        "save_guard_state",
        "set_meta",
        "enqueue_alert",
        "record_config_version",
        "set_rollout_stage",
        "mark_alert_delivered",
        "mark_alert_failed",
    }
    assert writes <= set(dir(LedgerTx))
    with open_ledger(default_url(tmp_path)) as led:
        outbox = as_outbox(led)
        for method in ("enqueue", "due", "mark_delivered", "mark_failed", "pending"):
            assert callable(getattr(outbox, method))


def test_importing_the_ledger_stays_light() -> None:
    code = (
        "import sys, xsmom.ledger; "
        "print(sorted(m for m in ('pandas', 'pyarrow', 'ccxt', 'numba', 'optuna') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
