"""Model folders: written atomically, versioned by content, verified on load.

A model folder ``<out>/meta-<version>/`` holds ``manifest.json`` and one pickle per member
(a single model, or one per walk-forward fold plus the final one). The manifest records the
feature list, the strategy settings and config version trained for, each member's training
window, the bar from which it may be applied, its CV metrics, and the sha256 of its pickle.

Pickles can run code when loaded: **a model folder is trusted input**. Never load one from a
source you do not control. Loading verifies each pickle's sha256 against the manifest first,
which catches corruption and accidental edits, not a malicious manifest.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from xsmom.config.schema import StrategyConfig
from xsmom.errors import ConfigError, CorruptStateError
from xsmom.meta.dataset import ungated
from xsmom.meta.features import feature_names
from xsmom.meta.models import Fitted

FORMAT = 1
F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Member:
    """One fitted model of a folder and the first bar (ms) it may gate."""

    name: str
    apply_from_ms: int
    fitted: Fitted


@dataclass(frozen=True, eq=False)
class ModelSet:
    """A loaded model folder: members in order of ``apply_from_ms``."""

    path: Path
    version: str
    features: tuple[str, ...]
    members: tuple[Member, ...]
    manifest: dict[str, Any]


def strategy_settings(cfg: StrategyConfig) -> dict[str, Any]:
    """Return the strategy settings a model depends on (all but ``strategy.meta``)."""
    raw: dict[str, Any] = ungated(cfg).model_dump(mode="json")
    raw.pop("meta")
    return raw


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write(path: Path, data: bytes) -> str:
    with open(path, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    return hashlib.sha256(data).hexdigest()


def save_model_set(
    out: Path, members: list[tuple[str, int, Fitted, dict[str, Any]]], info: dict[str, Any]
) -> Path:
    """Write a model folder under ``out`` atomically and return its path.

    ``members``: (name, apply_from_ms, fitted, per-member record such as the window).
    The files are written into a temporary folder beside the target, fsynced and renamed.
    """
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".meta-tmp-", dir=out))
    try:
        records = []
        for name, apply_from, fitted, extra in members:
            digest = _write(tmp / f"{name}.pkl", pickle.dumps(fitted, protocol=5))
            records.append(
                {
                    **extra,
                    "name": name,
                    "apply_from_ms": apply_from,
                    "learner": fitted.kind,
                    "threshold": fitted.threshold,
                    "cv": fitted.metrics,
                    "importance": fitted.importance,
                    "sha256": digest,
                }
            )
        manifest = {
            "format": FORMAT,
            **info,
            "libraries": library_versions(),
            "members": records,
        }
        body = json.dumps(manifest, sort_keys=True, indent=1, default=_json_default)
        version = hashlib.sha256(body.encode()).hexdigest()[:16]
        _write(tmp / "manifest.json", body.encode())
        _fsync_dir(tmp)
        final = out / f"meta-{version}"
        if final.exists():
            return final  # the same content: the name is its hash
        os.rename(tmp, final)
        _fsync_dir(out)
        return final
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def _json_default(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    raise TypeError(f"not JSON serializable: {type(obj).__name__}")


def read_manifest(path: Path) -> dict[str, Any]:
    """Return a model folder's manifest (ConfigError with the reason if unusable)."""
    mf = path / "manifest.json"
    if not mf.is_file():
        raise ConfigError(f"{path} is not a model folder (no manifest.json)")
    try:
        manifest = json.loads(mf.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise CorruptStateError(f"cannot read {mf}: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise ConfigError(f"{mf} is not a model manifest of format {FORMAT}")
    return manifest


def _diff(trained: Any, now: Any, prefix: str) -> str | None:
    if isinstance(trained, dict) and isinstance(now, dict):
        for key in sorted(set(trained) | set(now)):
            d = _diff(trained.get(key), now.get(key), f"{prefix}.{key}")
            if d:
                return d
        return None
    if trained != now:
        return f"{prefix} is {now!r} in the config but {trained!r} in the model"
    return None


def check_compatible(manifest: dict[str, Any], cfg: StrategyConfig, where: Path) -> None:
    """Refuse (ConfigError, one line) a model whose features or strategy settings differ."""
    want = list(feature_names(cfg))
    if manifest.get("features") != want:
        raise ConfigError(
            f"model {where} was trained on features {manifest.get('features')}, the config "
            f"computes {want}"
        )
    diff = _diff(manifest.get("strategy"), strategy_settings(cfg), "strategy")
    if diff:
        raise ConfigError(f"model {where} does not match the strategy settings: {diff}")


def library_versions() -> dict[str, str]:
    """Return the versions of the libraries whose objects the pickles hold."""
    import lightgbm
    import sklearn

    return {"scikit-learn": sklearn.__version__, "lightgbm": lightgbm.__version__}


def check_libraries(manifest: dict[str, Any], where: Path) -> None:
    """Refuse pickles written by other scikit-learn or LightGBM versions (they may differ)."""
    now = library_versions()
    for name, version in (manifest.get("libraries") or {}).items():
        if now.get(name) != version:
            raise ConfigError(
                f"model {where} was trained with {name} {version}, this is {now.get(name)}: "
                "retrain it (xsmom meta train)"
            )


def _load_member(path: Path, rec: dict[str, Any]) -> Member:
    pkl = path / f"{rec['name']}.pkl"
    try:
        data = pkl.read_bytes()
    except OSError as exc:
        raise CorruptStateError(f"cannot read {pkl}: {exc.strerror}") from exc
    if hashlib.sha256(data).hexdigest() != rec["sha256"]:
        raise CorruptStateError(f"{pkl} does not match the sha256 in its manifest")
    # trusted input with a verified hash (module docstring)
    fitted = pickle.loads(data)
    if not isinstance(fitted, Fitted):
        raise CorruptStateError(f"{pkl} does not hold a fitted meta-model")
    return Member(rec["name"], int(rec["apply_from_ms"]), fitted)


_CACHE: dict[tuple[str, int], ModelSet] = {}


def load_model_set(path: Path | str, cfg: StrategyConfig) -> ModelSet:
    """Load a model folder for ``cfg`` (cached per folder; checked on every call)."""
    p = Path(path).resolve()
    manifest = read_manifest(p)
    check_compatible(manifest, cfg, p)
    key = (str(p), (p / "manifest.json").stat().st_mtime_ns)
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    check_libraries(manifest, p)
    members = sorted(
        (_load_member(p, rec) for rec in manifest["members"]), key=lambda m: m.apply_from_ms
    )
    ms = ModelSet(p, p.name, tuple(manifest["features"]), tuple(members), manifest)
    _CACHE[key] = ms
    return ms
