"""Config versions: each candidate with its version id, parent, metrics, status and provenance.

The history is a folder of JSON files, one per version (``<version id>.json``), written
atomically. Saving a version that is already there never duplicates it: the record is
updated in place (status, metrics), its creation time kept.
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from xsmom.config.load import config_from_dict, load_config, version_id
from xsmom.config.schema import Config
from xsmom.data.atomic import atomic_write_text
from xsmom.errors import ConfigError, CorruptStateError

Status = Literal["current", "candidate", "accepted", "rejected", "staged"]
STATUSES: tuple[str, ...] = ("current", "candidate", "accepted", "rejected", "staged")
DEFAULT_HISTORY = Path("xsmom-state") / "configs"
_HEX = re.compile(r"^[0-9a-f]{4,64}$")


@dataclass(frozen=True)
class ConfigRecord:
    """One stored config version."""

    version: str
    parent: str | None
    status: str
    created_at: str
    updated_at: str
    metrics: dict[str, float] = field(default_factory=dict)
    provenance: dict[str, Any] = field(default_factory=dict)
    config: dict[str, Any] = field(default_factory=dict)

    def to_config(self) -> Config:
        """Return the stored config, validated against the current schema."""
        return config_from_dict(self.config, f"history version {self.version[:12]}")


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def git_commit(where: Path | None = None) -> str | None:
    """Return the git commit of the code (``None`` outside a git checkout)."""
    cwd = where or Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    sha = out.stdout.strip()
    return sha if out.returncode == 0 and sha else None


class ConfigHistory:
    """A folder of config versions."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, version: str) -> Path:
        return self.root / f"{version}.json"

    def save(
        self,
        config: Config,
        *,
        status: Status,
        parent: str | None = None,
        metrics: dict[str, float] | None = None,
        provenance: dict[str, Any] | None = None,
    ) -> ConfigRecord:
        """Store ``config`` (idempotent per version id) and return its record."""
        if status not in STATUSES:
            raise ConfigError(f"unknown status {status!r}")
        vid = version_id(config)
        now = _now()
        old = self._read(self._path(vid)) if self._path(vid).exists() else None
        record = ConfigRecord(
            version=vid,
            parent=parent if parent is not None else (old.parent if old else None),
            status=status,
            created_at=old.created_at if old else now,
            updated_at=now,
            metrics=dict(metrics) if metrics is not None else (old.metrics if old else {}),
            provenance=dict(provenance)
            if provenance is not None
            else (old.provenance if old else {}),
            config=config.model_dump(mode="json"),
        )
        if old is not None and replace(old, updated_at=now) == record:
            return old
        self._write(record)
        return record

    def set_status(self, version: str, status: Status) -> ConfigRecord:
        """Change the status of a stored version."""
        rec = self.get(version)
        if rec.status == status:
            return rec
        new = replace(rec, status=status, updated_at=_now())
        self._write(new)
        return new

    def _write(self, rec: ConfigRecord) -> None:
        text = json.dumps(asdict(rec), indent=2, sort_keys=True)
        atomic_write_text(self._path(rec.version), text)

    def _read(self, path: Path) -> ConfigRecord:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return ConfigRecord(**raw)
        except (OSError, ValueError, TypeError) as exc:
            raise CorruptStateError(f"config history file {path} is unreadable: {exc}") from exc

    def records(self) -> list[ConfigRecord]:
        """Return every stored version, oldest first."""
        if not self.root.exists():
            return []
        recs = [self._read(p) for p in self.root.glob("*.json") if _HEX.match(p.stem)]
        return sorted(recs, key=lambda r: (r.created_at, r.version))

    def find(self, version: str) -> ConfigRecord | None:
        """Return the record whose id starts with ``version``, or ``None``."""
        if not _HEX.match(version):
            return None
        hits = sorted(self.root.glob(f"{version}*.json")) if self.root.exists() else []
        if len(hits) > 1:
            names = ", ".join(h.stem[:12] for h in hits[:5])
            raise ConfigError(f"version prefix {version!r} is ambiguous ({names})")
        return self._read(hits[0]) if hits else None

    def get(self, version: str) -> ConfigRecord:
        """Return the record whose id starts with ``version``; raise ConfigError if none."""
        rec = self.find(version)
        if rec is None:
            raise ConfigError(f"no config version {version!r} in {self.root}")
        return rec

    def resolve(self, ref: str) -> tuple[str, dict[str, Any]]:
        """Return (label, resolved config dict) for a version-id prefix or a YAML file."""
        rec = self.find(ref)
        if rec is not None:
            return rec.version[:12], rec.to_config().model_dump(mode="json")
        path = Path(ref)
        if path.exists():
            return str(path), load_config(path).model_dump(mode="json")
        raise ConfigError(f"{ref!r} is neither a version in {self.root} nor a config file")


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Return a nested mapping as {dotted.key: leaf value}."""
    out: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{name}."))
        else:
            out[name] = value
    return out


def diff_configs(a: dict[str, Any], b: dict[str, Any]) -> list[tuple[str, Any, Any]]:
    """Return the changed keys between two config dicts as (key, value in a, value in b)."""
    fa, fb = flatten(a), flatten(b)
    missing = object()
    rows = []
    for key in sorted(set(fa) | set(fb)):
        va, vb = fa.get(key, missing), fb.get(key, missing)
        if va != vb:
            rows.append((key, None if va is missing else va, None if vb is missing else vb))
    return rows
