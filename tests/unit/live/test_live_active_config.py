"""Which config trades now: the version the rollout made active in the ledger, else the file."""

from __future__ import annotations

from pathlib import Path

import pytest

from xsmom.config import config_from_dict, version_id
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
