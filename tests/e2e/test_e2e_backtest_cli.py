"""Drive ``xsmom backtest`` and ``xsmom config`` as a user would, in a subprocess."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd

from cli_run import run_xsmom as xsmom
from xsmom.backtest import METRIC_KEYS


def test_backtest_on_sample_writes_every_output(tmp_path: Path) -> None:
    out = tmp_path / "run"
    r = xsmom(
        "backtest",
        "--store",
        "sample",
        "--config",
        "config/example.yaml",
        "--start",
        "2025-08-01",
        "--end",
        "2026-02-01",
        "--out",
        str(out),
        "--quiet",
    )
    assert r.returncode == 0, r.stderr
    assert "sharpe" in r.stdout and "max_drawdown" in r.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert set(METRIC_KEYS) <= set(metrics)
    assert metrics["run"]["start"] == "2025-08-01T00:00:00Z" and metrics["run"]["store"] == "sample"
    assert (
        "BTC/USDT:USDT" in metrics["run"]["symbols"] and len(metrics["run"]["config_version"]) == 64
    )
    assert (out / "config.yaml").read_text() == xsmom(
        "config", "show", "config/example.yaml"
    ).stdout
    eq = pd.read_csv(out / "equity.csv")
    assert list(eq.columns) == ["time", "timestamp", "equity"]
    assert eq["time"].iloc[0] == "2025-08-01T00:00:00Z"
    first = pd.Timestamp("2025-08-01", tz="UTC").value // 10**6
    last = pd.Timestamp("2026-02-01", tz="UTC").value // 10**6
    assert eq["timestamp"].iloc[0] == first and eq["timestamp"].iloc[-1] < last
    assert abs(eq["equity"].iloc[-1] / 10_000 - 1 - metrics["total_return"]) < 1e-9
    w = pd.read_parquet(out / "weights.parquet")
    assert len(w) == len(eq) and "BTC/USDT:USDT" in w.columns
    attr = pd.read_csv(out / "attribution.csv", index_col=0)
    assert {"price", "fees", "slippage", "funding", "total"} <= set(attr.columns)
    assert "TOTAL" in attr.index
    html = (out / "report.html").read_text()
    assert html.count('class="plotly-graph-div"') >= 8 and "Benchmark return" in html
    assert "<script src=" not in html  # plotly.js inline: opens offline (browser test: reports)


def test_backtest_without_config_uses_defaults(tmp_path: Path) -> None:
    r = xsmom(
        "backtest", "--store", "sample", "--start", "2026-03-01", "--out", str(tmp_path), "--quiet"
    )
    assert r.returncode == 0, r.stderr
    assert "built-in defaults" in r.stdout


def test_errors_are_one_clean_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("costs:\n  taker_fee: 3\n")
    r = xsmom("backtest", "--store", "sample", "--config", str(bad), "--out", str(tmp_path))
    assert r.returncode == 2
    assert "unknown key 'costs.taker_fee'" in r.stderr and "Traceback" not in r.stderr
    r = xsmom("backtest", "--store", str(tmp_path / "nowhere"), "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "no 1h OHLCV data" in r.stderr


def test_out_is_checked_before_the_work(tmp_path: Path) -> None:
    (tmp_path / "old.csv").write_text("x")
    r = xsmom("backtest", "--store", "sample", "--out", str(tmp_path), "--no-progress")
    assert r.returncode == 2 and "already holds files (old.csv)" in r.stderr
    assert "--force" in r.stderr and not (tmp_path / "metrics.json").exists()
    r = xsmom("backtest", "--store", "sample", "--out", str(tmp_path / "old.csv"))
    assert r.returncode == 2 and "is a file, not a folder" in r.stderr


def test_config_validate_and_show() -> None:
    r = xsmom("config", "validate", "config/example.yaml")
    assert r.returncode == 0 and r.stdout.startswith("ok:")
    r = xsmom("config", "show")
    assert r.returncode == 0 and "rebalance_every: 168" in r.stdout


def test_first_run_with_the_defaults_trades_under_100x_a_year(tmp_path: Path) -> None:
    # the README's first command (docs/defaults.md): built-in defaults on the bundled sample
    r = xsmom("backtest", "--store", "sample", "--out", str(tmp_path / "demo"), "--quiet")
    assert r.returncode == 0, r.stderr
    metrics = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert 10 < metrics["turnover"] < 100
    assert re.search(r"turnover: +\d+\.\d+", r.stdout)
