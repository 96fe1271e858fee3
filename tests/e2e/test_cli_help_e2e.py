"""Walk every command's ``-h`` as a user would: each one answers, shows an example, shows the
date format wherever it takes a date, and takes ``-v`` and the one progress flag."""

from __future__ import annotations

import logging
import re
import subprocess
import sys
from pathlib import Path

from cli_walk import leaf_paths
from click.testing import CliRunner

from xsmom.cli.main import COMMANDS, cli
from xsmom.cli.verbosity import configure_logging

REPO = Path(__file__).resolve().parents[2]
DATE_OPTIONS = {"--start", "--end", "--date", "--since", "--until"}


def test_every_command_answers_h_with_an_example_and_date_formats() -> None:
    paths = leaf_paths()
    assert len(paths) >= 20
    missing_example, missing_format, missing_v = [], [], []
    for path in paths:
        res = CliRunner().invoke(cli, [*path, "-h"], terminal_width=100)
        assert res.exit_code == 0, (path, res.output)
        text = res.output
        if "Example" not in text:
            missing_example.append(" ".join(path))
        if "-v, --verbose" not in text:
            missing_v.append(" ".join(path))
        for opt in DATE_OPTIONS:
            m = re.search(rf"^\s+{opt} \S+\s+(.*?)(?=^\s+-|\Z)", text, re.M | re.S)
            if m and "YYYY-MM-DD" not in m.group(1) and "2025-" not in m.group(1):
                missing_format.append(f"{' '.join(path)} {opt}")
        assert "--quiet" not in text and "--no-progress " not in text.replace(
            "--progress / --no-progress", ""
        ), path
    assert missing_example == [], f"no example in -h of: {missing_example}"
    assert missing_format == [], f"no date format shown for: {missing_format}"
    assert missing_v == [], missing_v


def test_top_level_help_lists_every_command() -> None:
    res = subprocess.run(
        [sys.executable, "-m", "xsmom.cli.main", "-h"], capture_output=True, text=True, cwd=REPO
    )
    assert res.returncode == 0
    for name in COMMANDS:
        assert name in res.stdout


def test_v_after_the_subcommand_and_no_library_debug_flood(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "xsmom.cli.main", "data", "list", "--store", "sample", "-vv"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr
    flood = [ln for ln in r.stderr.splitlines() if " DEBUG " in ln]
    assert all(" xsmom." in ln for ln in flood), flood[:5]  # no library debug at -vv
    # counted together: -v before and -v after the command make debug
    root_level = logging.getLogger().level
    res = CliRunner().invoke(cli, ["-v", "config", "show", "-v"])
    assert res.exit_code == 0
    assert logging.getLogger("xsmom.cli").getEffectiveLevel() == logging.DEBUG
    for lib in ("numba", "ccxt", "urllib3", "matplotlib"):
        assert logging.getLogger(lib).getEffectiveLevel() == logging.INFO
    configure_logging(0)  # leave the process as the other tests expect it
    logging.getLogger().setLevel(root_level)
