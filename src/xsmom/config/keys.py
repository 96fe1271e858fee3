"""Dotted key paths of the config schema (``strategy.signal.lookbacks``)."""

from __future__ import annotations

import typing
from typing import Any

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo


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


def _limits(metadata: list[Any]) -> tuple[str, str]:
    lo = hi = ""
    for m in metadata:
        if isinstance(m, annotated_types.Ge):
            lo = f"{_num(m.ge)} <= "
        elif isinstance(m, annotated_types.Gt):
            lo = f"{_num(m.gt)} < "
        elif isinstance(m, annotated_types.Le):
            hi = f" <= {_num(m.le)}"
        elif isinstance(m, annotated_types.Lt):
            hi = f" < {_num(m.lt)}"
    return lo, hi


def _num(x: Any) -> str:
    return f"{x:g}" if isinstance(x, float) else f"{x:_}".replace("_", ",")


def _inner(ann: Any) -> tuple[str, list[Any]] | None:
    """Return (what, constraints) of the numbers inside a tuple/dict annotation."""
    origin = typing.get_origin(ann)
    if origin not in (tuple, dict):
        return None
    elem = typing.get_args(ann)[-1 if origin is dict else 0]
    if typing.get_origin(elem) is not typing.Annotated:
        return None
    base, *meta = typing.get_args(elem)
    found: list[Any] = []
    for m in meta:
        found.extend(getattr(m, "metadata", [m]))
    return ("each value" if origin is dict else "each", [base, *found])


def bounds_text(field: FieldInfo) -> str:
    """Return the documented bounds of a config field, e.g. ``0 < x <= 125, finite``."""
    ann = field.annotation
    inner = _inner(ann)
    if inner is not None:
        what, (base, *meta) = inner[0], inner[1]
        lo, hi = _limits(meta)
        kind = "int" if base is int else "finite number"
        return f"{what}: {lo}x{hi}, {kind}" if lo or hi else ""
    lo, hi = _limits(list(field.metadata))
    text = str(ann)
    if text.startswith("int | str"):
        return "bars (int) 0 <= x <= 10,000,000, or a duration (90d, 720h, 2w) up to 36500d"
    if ann is bool:
        return "true or false"
    if not (lo or hi):
        return ""
    kind = "int" if ann is int or text == "int | None" else "finite number"
    return f"{lo}x{hi}, {kind}"
