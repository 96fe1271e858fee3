"""Which config trades now: the version the rollout made active in the ledger, else the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from xsmom.config import config_from_dict, recorded_version_id, version_id
from xsmom.errors import ConfigError, CorruptStateError
from xsmom.ledger import open_ledger
from xsmom.live.cycle import META_ACTIVE
from xsmom.live.engine import active_config


def test_active_config_prefers_the_ledgers_active_version(tmp_path: Path) -> None:
    file_cfg = config_from_dict({"name": "file"})
    promoted = config_from_dict({"name": "promoted", "strategy": {"selection": {"k": 4}}})
    with open_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}") as ledger:
        assert active_config(ledger, file_cfg) == (file_cfg, version_id(file_cfg))
        vid = version_id(promoted)
        with ledger.transaction() as tx:
            tx.record_config_version(vid, promoted.model_dump(mode="json"), 1)
            tx.set_meta(META_ACTIVE, vid, 1)
        cfg, got = active_config(ledger, file_cfg)
        assert got == vid and cfg == promoted and cfg.strategy.selection.k == 4
        with ledger.transaction() as tx:
            tx.set_meta(META_ACTIVE, "f" * 64, 2)
        with pytest.raises(ConfigError, match="not in the ledger"):
            active_config(ledger, file_cfg)
        other = version_id(file_cfg)
        with ledger.transaction() as tx:  # a stored config that does not hash to its id
            tx.record_config_version(other, promoted.model_dump(mode="json"), 3)
            tx.set_meta(META_ACTIVE, other, 3)
        with pytest.raises(CorruptStateError, match="does not match"):
            active_config(ledger, file_cfg)


def test_a_version_recorded_before_new_keys_were_added_still_loads(tmp_path: Path) -> None:
    """An upgrade adds config keys: the ledger's active version keeps its id and trades."""
    cfg = config_from_dict({"name": "old", "strategy": {"selection": {"k": 3}}})
    old = cfg.model_dump(mode="json")
    del old["rollout"]["enabled"]  # as an older release recorded it, before this key existed
    vid = recorded_version_id(old)
    assert vid != version_id(cfg)  # re-resolving would give another id
    with open_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}") as ledger:
        with ledger.transaction() as tx:
            tx.record_config_version(vid, old, 1)
            tx.set_meta(META_ACTIVE, vid, 1)
        got, got_vid = active_config(ledger, config_from_dict({"name": "file"}))
        assert got_vid == vid and got.strategy.selection.k == 3 and not got.rollout.enabled
        tampered = {**old, "name": "edited"}
        with ledger.transaction() as tx:  # edited after it was recorded: refused
            tx.record_config_version("a" * 64, tampered, 2)
            tx.set_meta(META_ACTIVE, "a" * 64, 2)
        with pytest.raises(CorruptStateError, match="does not match"):
            active_config(ledger, cfg)


def test_recorded_version_id_equals_version_id_of_the_dump() -> None:
    cfg = config_from_dict({"name": "x", "strategy": {"selection": {"k": 5}}})
    assert recorded_version_id(cfg.model_dump(mode="json")) == version_id(cfg)
