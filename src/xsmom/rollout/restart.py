"""The optional restart command run after a rollout switch (``rollout.restart_command``).

The engine trades a new active version from its next bar by itself; setups that want a
restart anyway (a supervisor that reloads more than the config) name a command. It runs after
the switch is committed, with a timeout; its outcome is an event in the ledger (guard
``rollout``, event ``restarted`` or ``restart_failed``) and a failure is also an alert. It
never raises: the switch is already done and trading goes on.
"""

from __future__ import annotations

import logging
import shlex
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

from xsmom.ledger import Ledger
from xsmom.notify import Channel, RolloutRestartFailed, enqueue

log = logging.getLogger(__name__)
OUTPUT_CHARS = 500  # of the command's stderr/stdout kept in the event


@dataclass(frozen=True, kw_only=True)
class RestartOutcome:
    """What the restart command did."""

    ok: bool
    reason: str


def _run(argv: Sequence[str], timeout_s: float) -> RestartOutcome:
    try:
        done = subprocess.run(  # the operator's own argv, no shell
            list(argv), capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired:
        return RestartOutcome(ok=False, reason=f"timed out after {timeout_s:g} s (killed)")
    except OSError as exc:
        return RestartOutcome(ok=False, reason=f"could not start: {exc.strerror or exc}")
    out = (done.stderr or done.stdout or "").strip()[-OUTPUT_CHARS:]
    if done.returncode != 0:
        return RestartOutcome(ok=False, reason=f"exit code {done.returncode}: {out}".strip())
    return RestartOutcome(ok=True, reason=f"exit code 0{': ' + out if out else ''}")


class RestartCommand:
    """Run ``argv`` after a switch of the active version; record the outcome in the ledger."""

    def __init__(
        self,
        argv: Sequence[str],
        ledger: Ledger,
        *,
        timeout_s: float = 60.0,
        channels: Sequence[Channel] = (),
    ) -> None:
        self.argv, self.ledger = tuple(argv), ledger
        self.timeout_s, self.channels = timeout_s, channels

    def __call__(self, active_version: str, now_ms: int) -> RestartOutcome:
        """Run the command once (``active_version``: the version just made active)."""
        text = shlex.join(self.argv)
        outcome = _run(self.argv, self.timeout_s)
        with self.ledger.transaction() as tx:
            tx.record_guard_event(
                ts=now_ms,
                guard="rollout",
                event="restarted" if outcome.ok else "restart_failed",
                reason=f"{text}: {outcome.reason}"[:2000],
                detail={"command": list(self.argv), "active_version": active_version},
            )
            if not outcome.ok:
                msg = RolloutRestartFailed(
                    ts_event=now_ms,
                    ts_init=now_ms,
                    active_version=active_version,
                    command=text[:500],
                    reason=outcome.reason,
                )
                enqueue(tx, msg, self.channels, now_ms)
        if not outcome.ok:
            log.warning("rollout restart command %s failed: %s", text, outcome.reason)
        return outcome
