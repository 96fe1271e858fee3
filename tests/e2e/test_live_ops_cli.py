"""The operator's commands as a user runs them: ``xsmom live`` against the venue, then
``status --json``, ``health``, ``stop`` / ``resume``, ``notify outbox``; a ledger that does not
match the exchange is refused with exit 2; SIGHUP reloads the config at the next bar."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from live_harness import HOUR, KEYS_ENV, fast_config, venue, write_config

from xsmom.ledger import open_home_ledger
from xsmom.live import read_heartbeat


def xsmom(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **KEYS_ENV}
    r = subprocess.run(
        [sys.executable, "-m", "xsmom.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if check and r.returncode != 0:
        pytest.fail(f"xsmom {' '.join(args)} exited {r.returncode}: {r.stderr[-2000:]}")
    return r


def test_live_then_status_health_stop_resume_and_refusal(tmp_path: Path) -> None:
    cfg = write_config(tmp_path / "cfg.yaml", fast_config())
    home = str(tmp_path / "bot")
    with venue() as rv:
        live = ("live", "--config", str(cfg), "--home", home, "--venue", rv.url, "--max-bars", "1")
        out = xsmom(*live)
        assert "engine stopped after 1 bar(s)" in out.stdout
        doc = json.loads(xsmom("status", "--home", home, "--json").stdout)
        bar = (rv.now() // HOUR - 1) * HOUR
        assert doc["state"] == "ACTIVE" and doc["reason"] == ""
        assert doc["last_bar"] == time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(bar / 1000))
        assert 0 <= doc["heartbeat_age_s"] < 60
        assert len(doc["config_version"]) == 64 and doc["equity"] > 0
        assert doc["open_orders"] >= 0
        venue_pos = {p.symbol: p.qty for p in rv.venue.engine.positions()}
        assert {s: p["qty"] for s, p in doc["positions"].items()} == pytest.approx(venue_pos)
        assert venue_pos  # the first bar already trades
        assert "healthy: ACTIVE" in xsmom("health", "--home", home).stdout
        text = xsmom("status", "--home", home).stdout
        assert "state        ACTIVE" in text and "position" in text

        xsmom("stop", "--home", home)
        rv.advance(HOUR)
        sent = len(rv.venue.engine.orders())
        xsmom(*live)
        assert len(rv.venue.engine.orders()) == sent  # nothing sent while HALTED
        r = xsmom("health", "--home", home, check=False)
        assert r.returncode == 1 and r.stdout.startswith("unhealthy: trading HALTED")
        assert json.loads(xsmom("status", "--home", home, "--json").stdout)["stop_file"] == "pause"
        xsmom("resume", "--home", home)
        rv.advance(HOUR)
        xsmom(*live)
        assert "healthy" in xsmom("health", "--home", home).stdout

        stale = xsmom("health", "--home", home, "--max-age", "0", "--notify", check=False)
        assert stale.returncode == 1 and "heartbeat stale" in stale.stdout
        assert "heartbeat_stale" in xsmom("notify", "outbox", "--home", home).stdout

        with open_home_ledger(Path(home)) as ledger, ledger.transaction() as tx:
            sym, pos = next(iter(tx.positions().items()))
            tx.upsert_position(sym, qty=pos.qty * 3, entry_price=1.0, ts=1, reason="tampered")
        rv.advance(HOUR)
        r = xsmom(*live, check=False)
        assert r.returncode == 2
        last = r.stderr.strip().splitlines()[-1]  # before it: the console channel's alerts
        assert last.startswith("error: ledger and exchange differ, trading refused")
        r = xsmom("health", "--home", home, check=False)
        assert r.returncode == 1 and "reconciliation failed" in r.stdout


def test_sighup_reloads_the_config_at_the_next_bar_and_sigterm_exits_cleanly(
    tmp_path: Path,
) -> None:
    doc = fast_config()
    cfg = write_config(tmp_path / "cfg.yaml", doc)
    home = tmp_path / "bot"
    with venue() as rv:
        cmd = [sys.executable, "-m", "xsmom.cli.main", "live", "--config", str(cfg)]
        cmd += ["--home", str(home), "--venue", rv.url, "--poll", "0.05"]
        proc = subprocess.Popen(cmd, env={**os.environ, **KEYS_ENV}, stderr=subprocess.PIPE)

        def wait_bar() -> None:
            bar = (rv.now() // HOUR - 1) * HOUR
            for _ in range(1200):
                path = home / "heartbeat.json"
                beat = read_heartbeat(path) if path.exists() else None
                if beat is not None and beat.last_bar == bar:
                    return
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.05)
            pytest.fail("bar not processed")

        wait_bar()
        doc["strategy"]["selection"]["k"] = 2
        write_config(cfg, doc)
        proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        rv.advance(HOUR)
        wait_bar()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    with open_home_ledger(home) as ledger:
        versions = ledger.config_versions()
        assert len(versions) == 2
        events = [g.event for g in ledger.guard_events(guard="engine")]
        assert "reloaded" in events and "config_changed" in events
        bars = sorted({t.bar_ts for t in ledger.targets_series()})
        last = {t.config_version for t in ledger.targets(bars[-1]).values()}
        assert last == {versions[-1].version_id}
