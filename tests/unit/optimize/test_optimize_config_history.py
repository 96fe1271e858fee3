"""Config versions: idempotent saves, statuses, prefixes, diffs, redaction."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from xsmom.config import Config, config_from_dict, save_config, version_id
from xsmom.config.history import ConfigHistory, diff_configs
from xsmom.errors import ConfigError, CorruptStateError
from xsmom.redaction import redact_url


def test_save_is_idempotent_and_keeps_parent_and_creation_time(tmp_path: Path) -> None:
    hist = ConfigHistory(tmp_path)
    base = Config()
    cand = config_from_dict({"strategy": {"selection": {"k": 4}}})
    hist.save(base, status="current")
    rec = hist.save(
        cand,
        status="candidate",
        parent=version_id(base),
        metrics={"pbo": 0.2},
        provenance={"study": "s1"},
    )
    again = hist.save(cand, status="candidate")
    assert again.created_at == rec.created_at
    assert again.parent == version_id(base) and again.metrics == {"pbo": 0.2}
    assert again.provenance == {"study": "s1"}
    assert len(list(tmp_path.glob("*.json"))) == 2
    staged = hist.set_status(rec.version[:10], "staged")
    assert staged.status == "staged" and hist.get(rec.version).status == "staged"
    assert hist.get(rec.version[:8]).to_config() == cand
    assert [r.version for r in hist.records()] == [version_id(base), version_id(cand)]


def test_prefixes_resolve_or_fail_clearly(tmp_path: Path) -> None:
    hist = ConfigHistory(tmp_path)
    with pytest.raises(ConfigError, match="no config version"):
        hist.get("abcd")
    a = hist.save(Config(), status="current")
    (tmp_path / f"{a.version[:6]}ffff.json").write_text(
        (tmp_path / f"{a.version}.json").read_text()
    )
    with pytest.raises(ConfigError, match="ambiguous"):
        hist.get(a.version[:6])
    assert hist.find("not-hex") is None
    with pytest.raises(ConfigError, match="unknown status"):
        hist.save(Config(), status="deployed")  # type: ignore[arg-type]  # refused at runtime


def test_corrupt_record_is_reported(tmp_path: Path) -> None:
    (tmp_path / ("ab" * 32 + ".json")).write_text("{not json")
    with pytest.raises(CorruptStateError):
        ConfigHistory(tmp_path).records()


def test_diff_of_versions_and_files(tmp_path: Path) -> None:
    a = config_from_dict({"strategy": {"signal": {"lookbacks": [12, 24]}}})
    b = config_from_dict({"strategy": {"signal": {"lookbacks": [24]}, "selection": {"k": 5}}})
    rows = diff_configs(a.model_dump(mode="json"), b.model_dump(mode="json"))
    assert rows == [
        ("strategy.selection.k", 3, 5),
        ("strategy.signal.lookbacks", [12, 24], [24]),
    ]
    hist = ConfigHistory(tmp_path / "h")
    rec = hist.save(a, status="current")
    save_config(b, tmp_path / "b.yaml")
    label_a, da = hist.resolve(rec.version[:8])
    label_b, db = hist.resolve(str(tmp_path / "b.yaml"))
    assert label_b == str(tmp_path / "b.yaml")
    assert label_a == rec.version[:12] and da == json.loads(json.dumps(a.model_dump(mode="json")))
    assert diff_configs(da, db) == rows
    with pytest.raises(ConfigError, match="neither a version"):
        hist.resolve(str(tmp_path / "missing.yaml"))


def test_database_urls_lose_their_password() -> None:
    assert redact_url("postgresql://bob:s3cr3t@db:5432/x") == "postgresql://bob:***@db:5432/x"
    assert redact_url("sqlite:////tmp/a.db") == "sqlite:////tmp/a.db"
