"""Drive ``xsmom meta train / report / compare`` and ``xsmom backtest --meta`` in subprocesses."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def xsmom(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xsmom.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
    )


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("models")
    r = xsmom("meta", "train", "--store", "sample", "--out", str(out), "--end", "2025-10-01")
    assert r.returncode == 0, r.stderr
    (path,) = out.iterdir()
    assert f"model folder: {path}" in r.stdout
    return path


def test_train_writes_a_versioned_folder(model: Path) -> None:
    m = json.loads((model / "manifest.json").read_text())
    (member,) = m["members"]
    assert member["train_end"] == member["apply_from"] == "2025-10-01T00:00+00:00"
    assert member["train_start"] == "2025-05-01T00:00+00:00"
    assert (model / "model.pkl").is_file()


def test_report_is_offline_html(model: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    r = xsmom("meta", "report", str(model), "--out", str(out))
    assert r.returncode == 0, r.stderr
    page = out.read_text()
    for word in ("precision", "recall", "lift over the primary signal", "calibration", "AUC"):
        assert word in page
    assert page.count("<img") == 2 and "http" not in page


def test_backtest_with_meta(model: Path, tmp_path: Path) -> None:
    base = ("backtest", "--store", "sample", "--quiet", "--out")
    early = xsmom(*base, str(tmp_path / "a"), "--meta", str(model), "--start", "2025-09-01")
    assert early.returncode == 2
    assert early.stderr.count("\n") == 1
    assert "pass --start 2025-10-01T01:00 or later" in early.stderr
    ok = xsmom(*base, str(tmp_path / "b"), "--meta", str(model), "--start", "2025-10-02")
    assert ok.returncode == 0, ok.stderr
    assert f"meta model: {model} (drop)" in ok.stdout
    assert "sharpe" in json.loads((tmp_path / "b" / "metrics.json").read_text())


def test_mismatched_config_is_refused_in_one_line(model: Path, tmp_path: Path) -> None:
    cfg = tmp_path / "k4.yaml"
    cfg.write_text("strategy:\n  selection:\n    k: 4\n")
    r = xsmom(
        "backtest", "--store", "sample", "--config", str(cfg), "--meta", str(model),
        "--start", "2025-10-02", "--out", str(tmp_path / "x"),
    )  # fmt: skip
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0
    assert "strategy.selection.k is 4 in the config but 3 in the model" in r.stderr


def test_walk_forward_train_and_compare(tmp_path: Path) -> None:
    cfg = tmp_path / "wf.yaml"
    cfg.write_text("optimize:\n  folds:\n    n_folds: 2\n    train: 120d\n    test: 60d\n")
    out = tmp_path / "wf"
    r = xsmom("meta", "train", "--config", str(cfg), "--store", "sample", "--out", str(out),
              "--walk-forward", "--model", "logistic")  # fmt: skip
    assert r.returncode == 0, r.stderr
    (path,) = out.iterdir()
    m = json.loads((path / "manifest.json").read_text())
    assert [x["name"] for x in m["members"]] == ["fold0", "fold1", "final"]
    for member, fold in zip(m["members"], m["folds"], strict=True):
        assert member["train_end"] == fold["train"][1]
        assert member["train_end"] <= member["apply_from"]
        if fold["test"] is not None:
            assert member["apply_from"] == fold["test"][0]
    c = xsmom("meta", "compare", str(path), "--config", str(cfg), "--store", "sample")
    assert c.returncode == 0, c.stderr
    lines = c.stdout.splitlines()
    assert [ln.split()[0] for ln in lines[1:4]] == ["fold0", "fold1", "all"]
