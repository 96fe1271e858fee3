"""The exported API of xsmom.optimize resolves, and importing folds does not load Optuna."""

from __future__ import annotations

import subprocess
import sys

import pytest

import xsmom.optimize as opt


@pytest.mark.parametrize("name", opt.__all__)
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(opt, name) is not None


def test_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError):
        _ = opt.nope  # type: ignore[attr-defined]  # the point of the test


def test_folds_are_light() -> None:
    code = "import sys, xsmom.optimize.folds; print('optuna' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
