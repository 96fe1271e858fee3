"""Config loading: unknown keys, bad values, defaults, version ids, docs coverage."""

from __future__ import annotations

from pathlib import Path

import pytest

from xsmom.config import Config, config_from_dict, dump_yaml, load_config, version_id
from xsmom.config.keys import leaf_keys
from xsmom.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]


def test_unknown_key_is_named_with_the_file(tmp_path: Path) -> None:
    f = tmp_path / "c.yaml"
    f.write_text("strategy:\n  signal:\n    lookbackz: [1, 2]\n")
    with pytest.raises(ConfigError, match=r"unknown key 'strategy.signal.lookbackz' in .*c.yaml"):
        load_config(f)


def test_bad_values_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"strategy\.portfolio\.gross_leverage"):
        config_from_dict({"strategy": {"portfolio": {"gross_leverage": -1}}}, "x.yaml")
    with pytest.raises(ConfigError, match="lookback_weights"):
        config_from_dict({"strategy": {"signal": {"lookbacks": [1, 2], "lookback_weights": [1]}}})
    f = tmp_path / "broken.yaml"
    f.write_text("strategy: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(f)
    f.write_text("- a list\n")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(f)
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")


def test_models_are_frozen() -> None:
    cfg = Config()
    with pytest.raises(Exception, match="frozen"):
        cfg.name = "x"  # type: ignore[misc]


def test_version_id_is_canonical(tmp_path: Path) -> None:
    a = tmp_path / "a.yaml"
    b = tmp_path / "b.yaml"
    a.write_text("name: default\nstrategy:\n  signal:\n    power: 1.0\n")
    b.write_text("# same values, other spelling\nstrategy: {signal: {power: 1}}\n")
    assert version_id(load_config(a)) == version_id(load_config(b)) == version_id(Config())
    c = config_from_dict({"strategy": {"signal": {"power": 1.5}}})
    assert version_id(c) != version_id(Config())
    assert len(version_id(c)) == 64


def test_dump_round_trips() -> None:
    cfg = load_config(REPO / "config" / "example.yaml")
    import yaml

    assert config_from_dict(yaml.safe_load(dump_yaml(cfg))) == cfg


def test_example_lists_every_key_and_docs_explain_every_key() -> None:
    import yaml

    raw = yaml.safe_load((REPO / "config" / "example.yaml").read_text())
    docs = (REPO / "docs" / "config.md").read_text()

    def has(d: dict, path: str) -> bool:  # type: ignore[type-arg]
        for part in path.split("."):
            if not isinstance(d, dict) or part not in d:
                return False
            d = d[part]
        return True

    keys = [k for k in leaf_keys(Config) if not k.startswith("optimize.")]
    missing_example = [k for k in keys if not has(raw, k)]
    assert not missing_example, f"config/example.yaml lacks {missing_example}"
    missing_docs = [k for k in leaf_keys(Config) if f"`{k}`" not in docs]
    assert not missing_docs, f"docs/config.md lacks {missing_docs}"
