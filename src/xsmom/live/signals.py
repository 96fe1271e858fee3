"""OS signals and systemd for the engine loop.

- `StopFlags`: SIGTERM / SIGINT ask the loop to finish the current step and exit cleanly;
  SIGHUP asks it to reload the config file before the next bar. The handlers only set flags.
- `sd_notify`: the systemd notification protocol, written directly: one datagram to the unix
  socket named by ``NOTIFY_SOCKET`` (``@name`` is Linux's abstract namespace). ``READY=1`` after
  reconciliation, ``WATCHDOG=1`` every loop, ``STOPPING=1`` on the way out. Without
  ``NOTIFY_SOCKET`` (not under systemd) it does nothing.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
from collections.abc import Mapping
from types import FrameType

log = logging.getLogger(__name__)


class StopFlags:
    """Flags set by signal handlers, read by the loop between steps."""

    def __init__(self) -> None:
        self.stop = False
        self.reload = False
        self.signal_name = ""
        self._wake = threading.Event()

    def install(self) -> None:
        """Handle SIGTERM, SIGINT (stop) and SIGHUP (reload) in this (main) thread."""
        signal.signal(signal.SIGTERM, self._on_stop)
        signal.signal(signal.SIGINT, self._on_stop)
        signal.signal(signal.SIGHUP, self._on_reload)

    def _on_stop(self, signum: int, frame: FrameType | None) -> None:
        del frame
        self.stop, self.signal_name = True, signal.Signals(signum).name
        self._wake.set()

    def _on_reload(self, signum: int, frame: FrameType | None) -> None:
        del signum, frame
        self.reload = True
        self._wake.set()

    def request_stop(self, why: str = "requested") -> None:
        """Ask the loop to stop (as a signal would)."""
        self.stop, self.signal_name = True, why
        self._wake.set()

    def wait(self, seconds: float) -> None:
        """Sleep up to ``seconds``, waking at once when a signal arrives."""
        self._wake.wait(seconds)
        self._wake.clear()


def sd_notify(state: str, env: Mapping[str, str] | None = None) -> bool:
    """Send ``state`` (``READY=1``, ``WATCHDOG=1``, ...) to systemd; return True if sent."""
    env = os.environ if env is None else env
    path = env.get("NOTIFY_SOCKET")
    if not path:
        return False
    addr = "\0" + path[1:] if path.startswith("@") else path
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
            sock.connect(addr)
            sock.sendall(state.encode("utf-8"))
    except OSError as exc:
        log.warning("sd_notify %s to %s failed: %s", state, path, exc)
        return False
    return True


def watchdog_interval_s(env: Mapping[str, str] | None = None) -> float | None:
    """Return half the systemd watchdog period (how often to send WATCHDOG=1), or None."""
    env = os.environ if env is None else env
    usec = env.get("WATCHDOG_USEC")
    pid = env.get("WATCHDOG_PID")
    if not usec or (pid and pid != str(os.getpid())):
        return None
    try:
        return int(usec) / 2e6
    except ValueError:
        log.warning("WATCHDOG_USEC=%r is not a number: watchdog pings off", usec)
        return None
