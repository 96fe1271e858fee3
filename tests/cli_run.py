"""Run the ``xsmom`` command as a user would: a new Python process, its output captured."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def run_xsmom(
    *args: str | Path,
    env: Mapping[str, str] | None = None,
    timeout: float = 600,
    cwd: Path = REPO,
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m xsmom.cli.main ARGS`` (the environment inherited unless ``env``)."""
    return subprocess.run(
        [sys.executable, "-m", "xsmom.cli.main", *(str(a) for a in args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=None if env is None else dict(env),
        timeout=timeout,
        check=False,
    )
