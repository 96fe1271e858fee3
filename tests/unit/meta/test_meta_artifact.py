"""Model folders: atomic, versioned, hash-verified; loading refuses mismatched settings."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from xsmom.config import Config, config_from_dict
from xsmom.data import MarketPanel
from xsmom.errors import ConfigError, CorruptStateError
from xsmom.meta.artifact import load_model_set, read_manifest
from xsmom.meta.dataset import build_dataset
from xsmom.meta.labels import default_spec


def _copy(src: Path, tmp: Path) -> Path:
    dst = tmp / src.name
    shutil.copytree(src, dst)
    return dst


def test_folder_holds_manifest_and_verified_pickle(meta_model: Path) -> None:
    m = read_manifest(meta_model)
    assert meta_model.name.startswith("meta-")
    assert m["mode"] == "single"
    assert m["strategy"]["signal"]["lookbacks"] == [168, 336, 504, 672]
    assert "meta" not in m["strategy"]
    assert len(m["config_version"]) == 64
    (member,) = m["members"]
    assert member["learner"] in ("logistic", "lightgbm")
    assert set(member["learners"]) == {"logistic", "lightgbm"}
    assert 0.0 <= member["threshold"] <= 1.0
    assert member["train_end"] < member["apply_from"] or member["train_end"] == member["apply_from"]
    assert not [p for p in meta_model.parent.iterdir() if p.name.startswith(".meta-tmp")]
    ms = load_model_set(meta_model, Config().strategy)
    assert ms.features == tuple(m["features"])


def test_loaded_model_reproduces_the_saved_predictions(
    meta_model: Path, sample_panel: MarketPanel
) -> None:
    cfg = Config()
    ds = build_dataset(sample_panel.slice(0, 3000), cfg, default_spec(cfg))
    (member,) = load_model_set(meta_model, cfg.strategy).members
    p = member.fitted.predict(ds.x)
    assert p.shape == (ds.size,)
    assert np.all((p >= 0) & (p <= 1))


def test_tampered_pickle_is_refused(meta_model: Path, tmp_path: Path) -> None:
    d = _copy(meta_model, tmp_path)
    pkl = d / "model.pkl"
    pkl.write_bytes(pkl.read_bytes() + b"x")
    with pytest.raises(CorruptStateError, match="sha256"):
        load_model_set(d, Config().strategy)


def test_other_strategy_settings_are_refused_with_the_key(meta_model: Path) -> None:
    cfg = config_from_dict({"strategy": {"selection": {"k": 4}}})
    with pytest.raises(ConfigError) as err:
        load_model_set(meta_model, cfg.strategy)
    msg = str(err.value)
    assert "strategy.selection.k is 4 in the config but 3 in the model" in msg
    assert "\n" not in msg


def test_other_features_are_refused(meta_model: Path) -> None:
    cfg = config_from_dict({"strategy": {"signal": {"lookbacks": [6, 12]}}})
    with pytest.raises(ConfigError, match="trained on features"):
        load_model_set(meta_model, cfg.strategy)


def test_meta_keys_themselves_do_not_count_as_a_mismatch(meta_model: Path) -> None:
    cfg = config_from_dict({"strategy": {"meta": {"mode": "scale", "threshold": 0.3}}})
    load_model_set(meta_model, cfg.strategy)


def test_not_a_model_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"no manifest\.json"):
        load_model_set(tmp_path, Config().strategy)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": 99}))
    with pytest.raises(ConfigError, match="format"):
        load_model_set(tmp_path, Config().strategy)


def test_training_repeats_exactly_into_the_same_version(
    sample_panel: MarketPanel, tmp_path: Path
) -> None:
    from xsmom.meta.models import TrainOptions
    from xsmom.meta.train import train_single

    cfg = Config()
    panel = sample_panel.slice(0, 3000)  # weekly rebalancing: ~30 entries
    a = train_single(panel, cfg, default_spec(cfg), TrainOptions(cv_folds=3), tmp_path)
    b = train_single(panel, cfg, default_spec(cfg), TrainOptions(cv_folds=3), tmp_path)
    assert a == b
    assert [p.name for p in tmp_path.iterdir()] == [a.name]
    c = train_single(panel, cfg, default_spec(cfg), TrainOptions(cv_folds=3, seed=8), tmp_path)
    assert c != a  # LightGBM's seed is part of the content


def test_pickles_of_other_library_versions_are_refused(meta_model: Path, tmp_path: Path) -> None:
    d = _copy(meta_model, tmp_path)
    m = read_manifest(d)
    assert set(m["libraries"]) == {"scikit-learn", "lightgbm"}
    m["libraries"]["scikit-learn"] = "0.1"
    (d / "manifest.json").write_text(json.dumps(m))
    with pytest.raises(ConfigError, match=r"trained with scikit-learn 0\.1, this is"):
        load_model_set(d, Config().strategy)
