"""Load, validate, dump and identify configs."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from xsmom.config.schema import Config
from xsmom.data.atomic import atomic_write_text
from xsmom.errors import ConfigError


def _where(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(p) for p in loc) or "<root>"


def _explain(exc: ValidationError, source: str) -> ConfigError:
    lines = []
    for err in exc.errors():
        key = _where(err["loc"])
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown key '{key}' in {source}")
        else:
            lines.append(f"invalid value for '{key}' in {source}: {err['msg']}")
    return ConfigError("; ".join(lines))


def _tuples(value: Any) -> Any:
    """Return ``value`` with every list turned into a tuple (YAML and JSON arrays are lists;
    the schema's sequences are tuples, which strict validation requires)."""
    if isinstance(value, list | tuple):
        return tuple(_tuples(v) for v in value)
    if isinstance(value, dict):
        return {k: _tuples(v) for k, v in value.items()}
    return value


def config_from_dict(raw: dict[str, Any], source: str = "<dict>") -> Config:
    """Validate a plain mapping into a :class:`Config`, naming ``source`` in errors.

    Validation is strict: ``"24"`` is not an int, ``"yes"`` not a bool, ``.inf``/``.nan`` not
    a number, and every number must lie within its key's documented bounds.
    """
    try:
        return Config.model_validate(_tuples(raw))
    except ValidationError as exc:
        raise _explain(exc, source) from exc


class DuplicateKeyError(yaml.YAMLError):
    """A mapping names the same key twice."""


def _check_unique(node: yaml.Node, path: str) -> None:
    """Raise DuplicateKeyError for the first key repeated in a mapping under ``node``."""
    if isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            _check_unique(item, f"{path}.{i}" if path else str(i))
        return
    if not isinstance(node, yaml.MappingNode):
        return
    seen: dict[str, int] = {}
    for key_node, value_node in node.value:
        key = str(key_node.value) if isinstance(key_node, yaml.ScalarNode) else repr(key_node)
        where = f"{path}.{key}" if path else key
        line = key_node.start_mark.line + 1
        if key in seen:
            raise DuplicateKeyError(
                f"duplicate key '{where}' at line {line} (first at line {seen[key]}): "
                "the later one would silently replace the earlier"
            )
        seen[key] = line
        _check_unique(value_node, where)


def parse_yaml(text: str) -> Any:
    """Parse YAML safely, refusing a key repeated in one mapping at any depth."""
    root = yaml.compose(text, Loader=yaml.SafeLoader)
    if root is not None:
        _check_unique(root, "")
    return yaml.safe_load(text)


def load_config(path: Path | str | None) -> Config:
    """Load a YAML config file; ``None`` gives the built-in defaults."""
    if path is None:
        return Config()
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config {p}: {exc.strerror}") from exc
    try:
        raw = parse_yaml(text)
    except DuplicateKeyError as exc:
        raise ConfigError(f"{p}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{p} is not valid YAML: {' '.join(str(exc).split())}") from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{p}: the top level must be a mapping of sections")
    return config_from_dict(raw, str(p))


def canonical_json(config: Config) -> str:
    """Return the canonical JSON of a config: resolved defaults, sorted keys, no spaces."""
    return json.dumps(config.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))


def version_id(config: Config) -> str:
    """Return the config's version id: the sha256 of its canonical JSON."""
    return hashlib.sha256(canonical_json(config).encode("utf-8")).hexdigest()


def recorded_version_id(raw: Mapping[str, Any]) -> str:
    """Return the version id of a config as it was recorded (its resolved JSON at the time).

    Equal to ``version_id`` of the config it was dumped from; unlike re-resolving ``raw``, it
    does not change when a later release adds keys with defaults.
    """
    text = json.dumps(raw, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def dump_yaml(config: Config) -> str:
    """Return the resolved config as YAML (every key, defaults included)."""
    return yaml.safe_dump(config.model_dump(mode="json"), sort_keys=False, default_flow_style=None)


def save_config(config: Config, path: Path) -> None:
    """Write the resolved config to ``path`` atomically."""
    atomic_write_text(path, dump_yaml(config))
