"""Run ``xsmom venue serve`` in a subprocess and trade against it with the real ccxt client."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

import ccxt
import pytest

from xsmom.venue.testing import ccxt_config

SECRET = "e2e-venue-secret-value"


def read_line(proc: subprocess.Popen[str], timeout: float = 60.0) -> str:
    out: list[str] = []
    stdout = proc.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: out.append(stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    assert out, "the venue printed nothing"
    return out[0]


def serve(*extra: str) -> tuple[subprocess.Popen[str], str, str]:
    env = {**os.environ, "XSMOM_VENUE_API_KEY": "e2e-key", "XSMOM_VENUE_API_SECRET": SECRET}
    cmd = [
        sys.executable,
        "-m",
        "xsmom.cli.main",
        "venue",
        "serve",
        "--store",
        "sample",
        "--port",
        "0",
        "--speed",
        "0",
        *extra,
    ]
    proc = subprocess.Popen(
        cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    line = read_line(proc)
    m = re.search(r"http://127\.0\.0\.1:\d+", line)
    assert m, line
    return proc, m.group(0), line


def stop(proc: subprocess.Popen[str], sig: int = signal.SIGINT) -> str:
    proc.send_signal(sig)
    rest, _ = proc.communicate(timeout=30)
    return rest


def test_serve_trade_and_stop(tmp_path: Path) -> None:
    faults = tmp_path / "faults.yaml"
    faults.write_text("endpoints:\n  GET /fapi/v1/ticker/24hr: {error_rate: 1.0, errors: [502]}\n")
    state = tmp_path / "venue-state.sqlite"
    cfg = tmp_path / "config.yaml"
    cfg.write_text("costs:\n  taker_fee_bps: 4.0\n")
    proc, url, line = serve(
        "--start",
        "2025-09-01",
        "--faults",
        str(faults),
        "--state",
        str(state),
        "--config",
        str(cfg),
    )
    try:
        ex = ccxt.binanceusdm(ccxt_config(url, "e2e-key", SECRET))
        ex.load_markets()
        order = ex.create_order("ETH/USDT:USDT", "market", "buy", 0.01)
        assert order["status"] == "closed"
        (trade,) = ex.fetch_my_trades("ETH/USDT:USDT")
        assert trade["fee"]["cost"] == pytest.approx(trade["cost"] * 4e-4)  # fee from --config
        assert ex.fetch_positions(["ETH/USDT:USDT"])[0]["contracts"] == 0.01
        with pytest.raises(ccxt.ExchangeNotAvailable):  # the fault file applies
            ex.fetch_ticker("ETH/USDT:USDT")
    finally:
        rest = stop(proc)
    assert "venue: stopped" in rest
    assert SECRET not in line + rest
    assert state.is_file()

    proc, url, _ = serve("--state", str(state))  # a restart keeps the account
    try:
        ex = ccxt.binanceusdm(ccxt_config(url, "e2e-key", SECRET))
        assert ex.fetch_positions(["ETH/USDT:USDT"])[0]["contracts"] == 0.01
        assert ex.fetch_order(order["id"], "ETH/USDT:USDT")["status"] == "closed"
    finally:
        assert "venue: stopped" in stop(proc, signal.SIGTERM)


def test_serve_refuses_to_start_without_keys() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("XSMOM_VENUE_")}
    cmd = [sys.executable, "-m", "xsmom.cli.main", "venue", "serve", "--store", "sample"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "XSMOM_VENUE_API_KEY" in done.stderr
