"""Crash: ``xsmom live`` killed with SIGKILL at random points of a 200-bar run against the venue,
restarted each time: no duplicate orders, no lost fills, ledger positions equal the venue's."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from live_harness import HOUR, KEYS_ENV, fast_config, venue, write_config

from xsmom.ledger import open_home_ledger
from xsmom.live import read_heartbeat
from xsmom.venue.testing import RunningVenue

BARS = 200
KILL_P = 0.07  # about 14 kills in the run


def _spawn(cfg: Path, home: Path, url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **KEYS_ENV}
    cmd = [sys.executable, "-m", "xsmom.cli.main", "live", "--config", str(cfg)]
    cmd += ["--home", str(home), "--venue", url, "--poll", "0.05"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_bar(home: Path, bar: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        beat = (
            read_heartbeat(home / "heartbeat.json") if (home / "heartbeat.json").exists() else None
        )
        if beat is not None and beat.pid == proc.pid and beat.last_bar == bar:
            return
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"engine exited {proc.returncode}: {err[-2000:]}")
        time.sleep(0.02)
    pytest.fail(f"engine did not process bar {bar} in {timeout} s")


def _closed(rv: RunningVenue) -> int:
    return (rv.now() // HOUR - 1) * HOUR


@pytest.mark.slow
def test_kill_9_at_random_points_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    rng = random.Random(20261129)
    cfg = write_config(tmp_path / "cfg.yaml", fast_config())
    home = tmp_path / "home"
    kills = 0
    with venue() as rv:
        proc = _spawn(cfg, home, rv.url)
        _wait_bar(home, _closed(rv), proc)
        for _ in range(BARS):
            rv.advance(HOUR)
            if rng.random() < KILL_P:
                time.sleep(rng.uniform(0.0, 0.5))  # somewhere inside the step
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                kills += 1
                proc = _spawn(cfg, home, rv.url)
            _wait_bar(home, _closed(rv), proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
        venue_orders = rv.venue.engine.orders()
        venue_fills = rv.venue.engine.fills()
        venue_pos = {p.symbol: p.qty for p in rv.venue.engine.positions()}
    assert kills >= 5
    ids = Counter(o.client_id for o in venue_orders)
    assert max(ids.values()) == 1  # no client id sent twice
    with open_home_ledger(home) as ledger:
        mine = {o.client_id for o in ledger.orders()}
        assert set(ids) <= mine  # every order the venue got is in the ledger
        fills = {f.trade_id for f in ledger.fills()}
        assert fills == {str(f.trade_id) for f in venue_fills}  # none lost, none invented
        pos = {s: p.qty for s, p in ledger.positions().items()}
        assert pos.keys() == venue_pos.keys()
        for s, q in venue_pos.items():
            assert pos[s] == pytest.approx(q, abs=1e-9)
        assert ledger.get_meta("last_bar") is not None
        assert len({r.bar_ts for r in ledger.targets_series()}) >= BARS
