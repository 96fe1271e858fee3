"""The exported API of xsmom.rollout."""

from __future__ import annotations

import xsmom.rollout as rollout


def test_every_exported_name_exists() -> None:
    for name in rollout.__all__:
        assert getattr(rollout, name) is not None, name
    assert rollout.ACTIVE_KEY == "active_config_version"  # the engine reads this meta key
    assert rollout.STAGES == ("candidate", "paper", "small", "full", "rolled_back", "retired")
