"""Dotted key paths of the config schema (``strategy.signal.lookbacks``)."""

from __future__ import annotations

from pydantic import BaseModel


def leaf_keys(model: type[BaseModel], prefix: str = "") -> list[str]:
    """Return the dotted paths of every non-section field of ``model``, in schema order."""
    keys: list[str] = []
    for name, field in model.model_fields.items():
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            keys += leaf_keys(ann, f"{prefix}{name}.")
        else:
            keys.append(f"{prefix}{name}")
    return keys
