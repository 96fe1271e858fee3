"""kill -9 in the middle of promotions and rollbacks: always exactly one active version, and
the engine's next read resumes with it."""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

from rollout_driver import Driver, config

from xsmom.config import version_id
from xsmom.ledger import default_url, open_ledger
from xsmom.rollout import active_version, capital_plan, check_invariant
from xsmom.rollout.stages import config_of

CHILD = Path(__file__).with_name("rollout_kill_child.py")
A = version_id(config(k=1))
B = version_id(config(k=2))


def test_kill_9_during_switches_leaves_exactly_one_active_version(tmp_path: Path) -> None:
    url = default_url(tmp_path)
    rng = random.Random(12)
    switches = 0
    for _ in range(6):
        child = subprocess.Popen(
            [sys.executable, str(CHILD), url], stdout=subprocess.PIPE, text=True
        )
        assert child.stdout is not None
        seen: list[str] = []
        for _ in range(rng.randint(3, 30)):  # let it commit a few switches
            seen.append(child.stdout.readline().split()[1])
        time.sleep(rng.uniform(0.0, 0.05))  # then kill it at a random point
        child.kill()
        child.wait()
        switches += len(seen)
        with open_ledger(url) as led:
            check_invariant(led)  # exactly one version at full, and it is the active one
            full = [v for v, s in led.rollout_stages().items() if s.stage == "full"]
            active = active_version(led)
            assert full == [active] and active in (A, B)
            # the engine resumes with it: its next read gives that version and its config
            plan = capital_plan(led)
            assert plan.active == active and plan.small is None
            assert version_id(config_of(led, active)) == active
            # every switch is one transition pair: the history and the stages agree
            last = [t for t in led.rollout_history() if t.to_stage == "full"][-1]
            assert last.version_id == active
        # the engine's next bar trades the version the ledger says
        d = Driver(tmp_path)
        d.step()
        assert d.bars[-1]["plan"].active == active
        assert {t.config_version for t in d.ledger.targets(d.bars[-1]["bar"]).values()} == {active}
        d.close()
    assert switches >= 18
