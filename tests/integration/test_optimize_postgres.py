"""Two worker processes share one study in a real PostgreSQL server (a throw-away cluster
started by the fixture, or XSMOM_TEST_PG_URL): every trial is recorded exactly once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import optuna
import pytest

from xsmom.config import config_from_dict, save_config
from xsmom.optimize.sampler import EVAL_ATTR
from xsmom.optimize.storage import make_storage

TRIALS = 14


def small_config(path: Path) -> Path:
    cfg = config_from_dict(
        {
            "optimize": {
                "folds": {"n_folds": 2, "train": "60d", "test": "30d", "embargo": "1d"},
                "space": {
                    "strategy.selection.k": {"type": "int", "low": 2, "high": 5},
                    "strategy.signal.zscore_clip": {"type": "float", "low": 1.0, "high": 4.0},
                },
                "stats": {"bootstrap_samples": 200, "cscv_blocks": 8},
                # accept any candidate: a rejected one exits 3 (tested in test_optimize_cli)
                "gate": {
                    "min_sharpe_gain": -100.0,
                    "min_ci_low_gain": -100.0,
                    "min_deflated_sharpe": 0.0,
                    "max_pbo": 1.0,
                },
            }
        }
    )
    save_config(cfg, path)
    return path


@pytest.mark.postgres
def test_two_workers_share_one_study_and_record_each_trial_once(
    pg_url: str, tmp_path: Path
) -> None:
    config = small_config(tmp_path / "cfg.yaml")
    cmd = [
        sys.executable,
        "-m",
        "xsmom.cli.main",
        "optimize",
        "--config",
        str(config),
        "--store",
        "sample",
        "--trials",
        str(TRIALS),
        "--storage",
        pg_url,
        "--study",
        "shared",
        "--no-progress",
        "--no-history",
    ]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [
        subprocess.Popen(
            [*cmd, "--out", str(tmp_path / f"m{i}")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=600)[0] for p in procs]
    for p, out in zip(procs, outputs, strict=True):
        assert p.returncode == 0, out

    study = optuna.load_study(study_name="shared", storage=make_storage(pg_url))
    trials = study.get_trials()
    numbers = [t.number for t in trials]
    assert len(numbers) == len(set(numbers))
    assert sorted(numbers) == list(range(len(numbers)))
    # the budget is checked before each ask: at most one extra trial per other worker
    assert TRIALS <= len(trials) <= TRIALS + 1
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    assert all(EVAL_ATTR in t.user_attrs and len(t.params) == 2 for t in trials)

    ran = [
        json.loads((tmp_path / f"m{i}" / "study.json").read_text())["workers"][0] for i in range(2)
    ]
    mine = [set(w["trial_numbers"]) for w in ran]
    assert mine[0] and mine[1], "both machines ran trials"
    assert not mine[0] & mine[1], "no trial ran twice"
    assert mine[0] | mine[1] == set(numbers)
    # both machines analyzed the same finished study
    docs = [json.loads((tmp_path / f"m{i}" / "study.json").read_text()) for i in range(2)]
    assert docs[0]["trials"] == docs[1]["trials"] == len(trials)
    assert docs[0]["final"]["trial"] == docs[1]["final"]["trial"]
