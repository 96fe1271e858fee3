"""sd_notify over a real unix datagram socket, the watchdog interval, and the stop flags."""

from __future__ import annotations

import os
import signal
import socket
from pathlib import Path

from xsmom.live.signals import StopFlags, sd_notify, watchdog_interval_s


def test_sd_notify_sends_one_datagram_to_notify_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as srv:
        srv.bind(path)
        srv.settimeout(2)
        assert sd_notify("READY=1", {"NOTIFY_SOCKET": path})
        assert sd_notify("WATCHDOG=1", {"NOTIFY_SOCKET": path})
        assert srv.recv(100) == b"READY=1"
        assert srv.recv(100) == b"WATCHDOG=1"


def test_sd_notify_abstract_namespace() -> None:
    name = f"xsmom-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as srv:
        srv.bind("\0" + name)
        srv.settimeout(2)
        assert sd_notify("STOPPING=1", {"NOTIFY_SOCKET": "@" + name})
        assert srv.recv(100) == b"STOPPING=1"


def test_sd_notify_without_systemd_or_with_a_dead_socket(tmp_path: Path) -> None:
    assert not sd_notify("READY=1", {})
    assert not sd_notify("READY=1", {"NOTIFY_SOCKET": str(tmp_path / "nobody.sock")})


def test_watchdog_interval_is_half_the_period_and_only_for_this_pid() -> None:
    pid = str(os.getpid())
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": pid}) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000"}) == 15.0
    assert watchdog_interval_s({"WATCHDOG_USEC": "30000000", "WATCHDOG_PID": "1"}) is None
    assert watchdog_interval_s({}) is None
    assert watchdog_interval_s({"WATCHDOG_USEC": "x"}) is None


def test_stop_flags_from_real_signals() -> None:
    flags = StopFlags()
    old = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
    try:
        flags.install()
        os.kill(os.getpid(), signal.SIGHUP)
        flags.wait(1.0)
        assert flags.reload and not flags.stop
        os.kill(os.getpid(), signal.SIGTERM)
        flags.wait(1.0)
        assert flags.stop and flags.signal_name == "SIGTERM"
    finally:
        for s, h in old.items():
            signal.signal(s, h)
