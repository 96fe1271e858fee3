"""The backtest report opens in headless Chromium: no console error, every chart drawn, no
request leaves the machine; its statistics table agrees with equity.csv."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from report_browser import assert_report_renders
from xsmom.cli.main import cli


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("bt") / "run"
    args = ["backtest", "--store", "sample", "--start", "2025-10-01", "--end", "2026-02-01"]
    res = CliRunner().invoke(cli, [*args, "--out", str(out), "--no-progress"])
    assert res.exit_code == 0, res.output
    return out


def test_backtest_report_renders_offline(run: Path) -> None:
    check = assert_report_renders(run / "report.html", min_charts=8)
    assert check.title.startswith("xsmom backtest")


def test_report_figures_agree_with_equity_csv(run: Path) -> None:
    eq = pd.read_csv(run / "equity.csv")
    html = (run / "report.html").read_text()
    metrics = json.loads((run / "metrics.json").read_text())
    e = eq["equity"].to_numpy()
    total = (e[-1] / 10_000 - 1) * 100
    assert f"<td>Total return</td><td>{total:,.2f} %</td>" in html
    assert f"<td>End value</td><td>{e[-1]:,.2f} USDT</td>" in html
    peak = np.maximum.accumulate(np.concatenate(([10_000.0], e)))
    mdd = (1 - np.concatenate(([10_000.0], e)) / peak).max() * 100
    assert f"<td>Max drawdown</td><td>{mdd:,.2f} %</td>" in html
    assert f"<td>Start</td><td>{eq['time'].iloc[0][:10]} 00:00 UTC</td>" in html
    assert metrics["run"]["last_bar"] == eq["time"].iloc[-1]
