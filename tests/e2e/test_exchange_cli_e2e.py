"""``xsmom exchange check`` and ``paper-status`` as a user runs them (subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from xsmom.data.bundled import sample_store
from xsmom.exchange import ManualClock, OrderRequest, OrderSide, PaperExchange, StoreMarketData
from xsmom.venue.testing import RunningVenue, start_venue

START_MS = 1_748_736_000_000


@pytest.fixture(scope="module")
def venue() -> Iterator[RunningVenue]:
    with start_venue("sample", start=START_MS, speed=0.0, symbols=["BTC/USDT:USDT"]) as rv:
        yield rv


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("XSMOM_")}
    return subprocess.run(
        [sys.executable, "-m", "xsmom.cli.main", "exchange", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_check_with_keys_from_the_environment(venue: RunningVenue) -> None:
    env = {
        "XSMOM_BINANCEUSDM_API_KEY": venue.api_key,
        "XSMOM_BINANCEUSDM_API_SECRET": venue.api_secret,
    }
    out = run("check", "--venue-url", venue.url, env=env)
    assert out.returncode == 0, out.stderr
    assert "markets    1 linear USDT swaps" in out.stdout
    assert "clock" in out.stdout and "(ok)" in out.stdout
    assert "balance    equity 10000.00" in out.stdout
    assert venue.api_secret not in out.stdout + out.stderr
    assert venue.api_key not in out.stdout + out.stderr


def test_check_without_keys_is_public_only(venue: RunningVenue) -> None:
    out = run("check", "--venue-url", venue.url)
    assert out.returncode == 0, out.stderr
    assert "keys       none" in out.stdout and "balance" not in out.stdout


def test_key_file_readable_by_others_is_refused(venue: RunningVenue, tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    path.write_text(json.dumps({"api_key": venue.api_key, "api_secret": venue.api_secret}))
    path.chmod(0o644)
    out = run("check", "--venue-url", venue.url, "--keys-file", str(path))
    assert out.returncode == 2
    assert "chmod 600" in out.stderr and venue.api_secret not in out.stderr
    path.chmod(0o600)
    assert run("check", "--venue-url", venue.url, "--keys-file", str(path)).returncode == 0


def test_wrong_secret_is_one_clean_line(venue: RunningVenue) -> None:
    env = {"XSMOM_BINANCEUSDM_API_KEY": venue.api_key, "XSMOM_BINANCEUSDM_API_SECRET": "wrong-s"}
    out = run("check", "--venue-url", venue.url, env=env)
    assert out.returncode == 2
    assert out.stderr.startswith("error: ") and "Traceback" not in out.stderr
    assert "wrong-s" not in out.stderr


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--exchange", "nosuchex"], "ccxt has no exchange 'nosuchex'"),
        (["--exchange", "__class__"], "ccxt has no exchange '__class__'"),
        (["--venue-url", "notaurl"], "is not an http(s)://host:port URL"),
        (["--venue-url", "http://127.0.0.1:99999"], "is not an http(s)://host:port URL"),
        (["--venue-url", "http://[::1"], "is not an http(s)://host:port URL"),
        (["--venue-url", "UNREACHABLE"], "cannot reach http://127.0.0.1:"),
        (["--keys-file", "/nonexistent/keys.json"], "cannot read key file"),
        (["--max-drift-ms", "0"], "Invalid value for '--max-drift-ms'"),
    ],
)
def test_bad_inputs_are_one_clean_line(args: list[str], says: str) -> None:
    args = [f"http://127.0.0.1:{_free_port()}" if a == "UNREACHABLE" else a for a in args]
    out = run("check", *args)
    assert out.returncode == 2
    assert says in out.stderr and "Traceback" not in out.stderr
    last = out.stderr.strip().splitlines()[-1]
    assert last.startswith(("error: ", "Error: ")) and says in last


def test_paper_status(tmp_path: Path) -> None:
    clock = ManualClock(START_MS)
    src = StoreMarketData(sample_store(), clock, symbols=["BTC/USDT:USDT"])
    paper = PaperExchange(src, tmp_path / "paper.json", clock)
    paper.place_order(OrderRequest.market("BTC/USDT:USDT", OrderSide.BUY, 0.01, "m-1"))
    paper.close()
    out = run("paper-status", str(tmp_path / "paper.json"))
    assert out.returncode == 0, out.stderr
    assert "position BTC/USDT:USDT +0.01" in out.stdout and "fills 1" in out.stdout
    (tmp_path / "bad.json").write_text("{")
    bad = run("paper-status", str(tmp_path / "bad.json"))
    assert bad.returncode == 2 and "unreadable" in bad.stderr
