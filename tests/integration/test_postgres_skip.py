"""The README's test command on a machine without PostgreSQL: the PostgreSQL tests are skipped
with one line saying how to run them; under CI (CI=true) they fail instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PG_TEST = "tests/integration/test_optimize_postgres.py"


def run_pytest(**env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if k not in ("CI", "XSMOM_TEST_PG_URL")}
    # point the server lookup at nothing: this machine "has no PostgreSQL"
    clean |= {"XSMOM_TEST_PG_INITDB": "/nonexistent/bin/initdb", **env}
    cmd = [sys.executable, "-m", "pytest", PG_TEST, "-p", "no:cacheprovider"]
    return subprocess.run(
        cmd, cwd=REPO, env=clean, capture_output=True, text=True, timeout=300, check=False
    )


def test_without_a_server_postgres_tests_are_skipped_with_one_line() -> None:
    res = run_pytest()
    assert res.returncode == 0, res.stdout + res.stderr
    out = res.stdout
    assert "1 skipped" in out
    line = [ln for ln in out.splitlines() if ln.startswith("postgres tests skipped")]
    assert line == [
        "postgres tests skipped (1): no server; run bash .ci/postgres.sh "
        "(installs the server; needs root) or set XSMOM_TEST_PG_URL"
    ]


def test_under_ci_a_missing_server_fails_instead_of_skipping() -> None:
    res = run_pytest(CI="true")
    assert res.returncode != 0
    assert "PostgreSQL tests cannot run in CI" in res.stdout
    assert "skipped" not in res.stdout.splitlines()[-1]
