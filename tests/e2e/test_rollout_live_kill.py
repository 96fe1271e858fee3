"""``xsmom live`` with ``rollout.enabled`` against the venue, killed with SIGKILL around the
promotion of a candidate to full (at random points of the bars where it is due, and while the
restart command of the committed switch runs): exactly one active version after each kill,
and the restarted engine trades it from its next bar (not the config file's version)."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from live_harness import KEYS_ENV, config, write_config
from rollout_engine_harness import BAR, four_hour_store, rollout_doc, venue4h

from xsmom.data.store import ParquetStore
from xsmom.ledger import open_home_ledger
from xsmom.live import read_heartbeat
from xsmom.live.home import Home
from xsmom.rollout import Pipeline, active_version, check_invariant, ensure_active, submit
from xsmom.venue.testing import RunningVenue

pytestmark = pytest.mark.slow


def _spawn(cfg: Path, home: Path, url: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, **KEYS_ENV}
    cmd = [sys.executable, "-m", "xsmom.cli.main", "live", "--config", str(cfg)]
    cmd += ["--home", str(home), "--venue", url, "--poll", "0.05"]
    return subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_bar(home: Path, bar: int, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        path = home / "heartbeat.json"
        beat = read_heartbeat(path) if path.exists() else None
        if beat is not None and beat.pid == proc.pid and beat.last_bar == bar:
            return
        if proc.poll() is not None:
            err = proc.stderr.read().decode() if proc.stderr else ""
            pytest.fail(f"engine exited {proc.returncode}: {err[-2000:]}")
        time.sleep(0.02)
    pytest.fail(f"engine did not process bar {bar} in {timeout} s")


def _closed(rv: RunningVenue) -> int:
    return (rv.now() // BAR - 1) * BAR


def _state(home: Path, vb: str) -> tuple[str, str | None, int]:
    """Return B's stage, the active version, and B's hours at its stage (invariant checked)."""
    with open_home_ledger(home) as led:
        check_invariant(led)  # exactly one version at full, and it is the active one
        row = led.rollout_stages()[vb]
        now = max([e.ts for e in led.equity_series()] or [row.since_ms])
        return row.stage, active_version(led), (now - row.since_ms) // 3_600_000


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait()


def test_kill_9_around_a_promotion_leaves_one_active_version_traded_next(tmp_path: Path) -> None:
    rng = random.Random(12)
    store = four_hour_store(tmp_path / "venue-store")
    marker = tmp_path / "restart.json"
    # the restart command says it runs, then holds the switch's bar until the test kills it
    code = (
        "import json, os, sys, time; "
        f"open({str(marker)!r}, 'w').write(json.dumps({{'pid': os.getpid()}})); time.sleep(30)"
    )
    # wide tolerances: a kill between the engine's record and the hook costs the paper account
    # a bar (docs/rollout.md), and this test is about the switch, not the evaluator
    wide = {"min_days": 2, "bootstrap_samples": 200, "sharpe_tolerance": 100}
    wide |= {"return_tolerance": 10, "drawdown_tolerance": 1, "cost_tolerance": 1}
    doc_a = rollout_doc(k=1, restart_command=[sys.executable, "-c", code], evaluator=wide)
    cfg = write_config(tmp_path / "a.yaml", doc_a)
    a, va = config(doc_a)
    b, vb = config(rollout_doc(k=2))
    home = tmp_path / "home"
    kills = 0
    with venue4h(store) as rv:
        # B went through paper before (tests/integration/test_rollout_engine.py runs that part):
        # it starts at small, beside the config file's A, recorded active as the engine would
        Home(home).create()
        with open_home_ledger(home) as led:
            assert ensure_active(led, a, now_ms=rv.now()) == va
            submit(led, b, source="test", now_ms=rv.now())
            pipe = Pipeline(led, ParquetStore(home / "store"))
            pipe.promote(vb, rv.now())
            pipe.promote(vb, rv.now())
        proc = _spawn(cfg, home, rv.url)
        _wait_bar(home, _closed(rv), proc)
        with open_home_ledger(home) as led:
            assert active_version(led) == va and led.rollout_stages()[vb].stage == "small"
        for _ in range(60):
            stage, active, _hours = _state(home, vb)
            if active == vb:
                break
            rv.advance(BAR)
            if stage == "small" and _hours >= 44:  # the promotion is due in this bar: kill in it
                time.sleep(rng.uniform(0.0, 1.0))
                _kill(proc)
                kills += 1
                _state(home, vb)
                proc = _spawn(cfg, home, rv.url)
            end = time.monotonic() + 60
            while not marker.exists() and time.monotonic() < end:  # the bar, or the switch
                beat = read_heartbeat(home / "heartbeat.json")
                if beat is not None and beat.pid == proc.pid and beat.last_bar == _closed(rv):
                    break
                time.sleep(0.02)
            if marker.exists():  # the switch is committed and the restart command runs: kill
                time.sleep(0.05)
                _kill(proc)
                kills += 1
                os.kill(json.loads(marker.read_text())["pid"], signal.SIGKILL)
                stage, active, _ = _state(home, vb)
                assert (stage, active) == ("full", vb)
                proc = _spawn(cfg, home, rv.url)
                _wait_bar(home, _closed(rv), proc)
                break
        else:
            pytest.fail(f"B was not promoted: {_state(home, vb)}")
        # the restarted engine resumes with B (not the file's A) and trades it from its next bar
        rv.advance(BAR)
        _wait_bar(home, _closed(rv), proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    assert kills >= 2
    with open_home_ledger(home) as led:
        check_invariant(led)
        assert active_version(led) == vb
        last = led.targets(_closed(rv))
        assert last and {t.config_version for t in last.values()} == {vb}
        stages = [(t.version_id, t.to_stage) for t in led.rollout_history()]
        assert stages.count((vb, "full")) == 1 and stages.count((va, "retired")) == 1
        assert [e.event for e in led.guard_events() if e.guard == "rollout"] == []  # killed
