"""Child process of the kill -9 test: switch the active version back and forth, forever.

Usage: python rollout_kill_child.py LEDGER_URL. Prints ``active VERSION`` after each commit.
"""

from __future__ import annotations

import sys

from rollout_driver import config

from xsmom.ledger import open_ledger
from xsmom.rollout import active_version, ensure_active, submit
from xsmom.rollout.stages import ROLLED_BACK, activate


def main(url: str) -> None:
    """Alternate promotions (B replaces A) and rollbacks (A replaces B) in transactions."""
    led = open_ledger(url)
    a = ensure_active(led, config(k=1), now_ms=1)
    b = submit(led, config(k=2), source="kill test", now_ms=1).version
    now = 2
    while True:
        now += 1
        with led.transaction() as tx:
            if active_version(tx) == a:
                activate(tx, b, reason="promote", now_ms=now)
            else:
                activate(tx, a, reason="rollback", now_ms=now, old_stage=ROLLED_BACK)
        print("active", active_version(led), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
