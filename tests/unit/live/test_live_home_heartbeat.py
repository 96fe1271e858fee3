"""The bot's home folder (0700, paths, STOP file) and the atomic heartbeat."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from xsmom.data.atomic import atomic_write_text
from xsmom.errors import CorruptStateError, DataError
from xsmom.exchange.reports import BalanceReport
from xsmom.live import (
    Heartbeat,
    Home,
    StopMode,
    iso_utc,
    margin_ratio,
    parse_stop,
    read_heartbeat,
    target_quantities,
    write_heartbeat,
)


def test_home_paths_and_private_permissions(tmp_path: Path) -> None:
    home = Home(tmp_path / "bot").create()
    assert home.ledger_url == f"sqlite:///{tmp_path}/bot/ledger.sqlite"
    assert home.store_dir == tmp_path / "bot" / "store"
    assert home.stop_path.name == "STOP" and home.heartbeat_path.name == "heartbeat.json"
    for d in (home.path, home.store_dir, home.logs_dir):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    os.chmod(loose, 0o755)
    Home(loose).create()
    assert stat.S_IMODE(loose.stat().st_mode) == 0o700


def test_stop_file_round_trip_and_odd_content(tmp_path: Path) -> None:
    home = Home(tmp_path).create()
    assert home.read_stop() is None
    home.write_stop(StopMode.FLATTEN)
    stop = home.read_stop()
    assert stop is not None and stop.mode is StopMode.FLATTEN
    home.write_stop()
    stop = home.read_stop()
    assert stop is not None and stop.mode is StopMode.PAUSE
    assert home.clear_stop() and home.read_stop() is None and not home.clear_stop()
    home.stop_path.write_text("")  # `touch STOP`
    stop = home.read_stop()
    assert stop is not None and stop.mode is StopMode.PAUSE and stop.note == ""
    odd = parse_stop("shutdown now please")
    assert odd.mode is StopMode.PAUSE and "unknown STOP content 'shutdown'" in odd.note
    assert parse_stop("  FLATTEN\n").mode is StopMode.FLATTEN


def test_heartbeat_is_written_whole_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "heartbeat.json"
    assert read_heartbeat(path) is None
    beat = Heartbeat(
        ts=1_748_739_600_000,
        wall_ms=1_800_000_000_000,
        pid=4242,
        last_bar=1_748_736_000_000,
        state="active",
        cycles=17,
    )
    write_heartbeat(path, beat)
    assert read_heartbeat(path) == beat
    doc = json.loads(path.read_text())
    assert doc["last_bar_iso"] == "2025-06-01T00:00:00Z" and doc["cycles"] == 17
    assert beat.age_s(1_800_000_012_500) == pytest.approx(12.5)
    assert [p.name for p in tmp_path.iterdir()] == ["heartbeat.json"]  # no temp file left
    path.write_text("{half")
    with pytest.raises(CorruptStateError, match="unreadable"):
        read_heartbeat(path)
    path.write_text('{"ts": 1}')
    with pytest.raises(CorruptStateError, match="lacks"):
        read_heartbeat(path)
    assert iso_utc(None) is None


def test_heartbeat_skips_fsync_but_the_store_writes_keep_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync
    monkeypatch.setattr(os, "fsync", lambda fd: synced.append(fd) or real_fsync(fd))
    beat = Heartbeat(ts=1, wall_ms=2, pid=3, last_bar=None, state="active", cycles=0)
    path = tmp_path / "heartbeat.json"
    for n in range(3):
        write_heartbeat(path, Heartbeat(**{**beat.__dict__, "cycles": n}))
    assert synced == [] and read_heartbeat(path) == Heartbeat(**{**beat.__dict__, "cycles": 2})
    assert [p.name for p in tmp_path.iterdir()] == ["heartbeat.json"]  # no temp file left
    atomic_write_text(tmp_path / "durable.txt", "x")
    assert len(synced) == 2  # the file, then its folder


def test_sizing_and_margin_ratio() -> None:
    q = target_quantities({"A": 0.25, "B": -0.5, "C": 0.0}, 10_000.0, {"A": 50.0, "B": 2.0})
    assert q == {"A": 50.0, "B": -2500.0, "C": 0.0}
    with pytest.raises(DataError, match="no price"):
        target_quantities({"A": 0.1}, 1000.0, {})
    with pytest.raises(DataError, match="not a number"):
        target_quantities({"A": float("nan")}, 1000.0, {"A": 1.0})
    bal = BalanceReport(
        currency="USDT", wallet=1000, equity=800, free=600, used_margin=200, unrealized=-200, ts=0
    )
    assert margin_ratio(bal) == pytest.approx(0.25)
    broke = BalanceReport(
        currency="USDT", wallet=0, equity=0, free=0, used_margin=10, unrealized=0, ts=0
    )
    assert margin_ratio(broke) == float("inf")
