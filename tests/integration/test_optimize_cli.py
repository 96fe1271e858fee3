"""``xsmom optimize``, ``xsmom config history|diff`` and ``xsmom cycle`` on the bundled sample."""

from __future__ import annotations

import json
import re
import shutil
import socket
from pathlib import Path

import optuna
import pytest
from click.testing import CliRunner

from report_browser import assert_report_renders
from xsmom.cli.main import cli
from xsmom.config import config_from_dict, load_config, save_config, version_id
from xsmom.config.history import ConfigHistory
from xsmom.data.bundled import SAMPLE_DIR
from xsmom.optimize.storage import make_storage, sqlite_url

ACCEPT_ALL = {
    "min_sharpe_gain": -100.0,
    "min_ci_low_gain": -100.0,
    "min_deflated_sharpe": 0.0,
    "max_pbo": 1.0,
}
REJECT_ALL = {"min_sharpe_gain": 100.0}


def small_config(path: Path, **gate: float) -> Path:
    gate = gate or ACCEPT_ALL
    cfg = config_from_dict(
        {
            "optimize": {
                "folds": {"n_folds": 2, "train": "60d", "test": "30d", "embargo": "1d"},
                "space": {
                    "strategy.selection.k": {"type": "int", "low": 2, "high": 5},
                    "strategy.signal.lookbacks": {
                        "type": "categorical",
                        "choices": [[12, 24, 48, 96], [24, 48, 96, 168]],
                    },
                },
                "stats": {"bootstrap_samples": 200, "cscv_blocks": 8},
                "gate": gate,
            }
        }
    )
    save_config(cfg, path)
    return path


def invoke(*args: str) -> str:
    res = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert res.exit_code == 0, res.output
    return res.output


def test_optimize_writes_outputs_records_history_and_resumes(tmp_path: Path) -> None:
    cfg = small_config(tmp_path / "cfg.yaml")
    out, hist = tmp_path / "out", tmp_path / "hist"
    common = [
        "--config",
        str(cfg),
        "--store",
        "sample",
        "--out",
        str(out),
        "--history",
        str(hist),
        "--no-progress",
    ]
    invoke("optimize", *common, "--trials", "6")
    doc = json.loads((out / "study.json").read_text())
    assert doc["trials"] == 6
    assert len(doc["folds"]) == 2
    for fold in doc["folds"]:
        assert {"train", "test", "train_metrics", "oos_metrics", "current_oos_metrics"} <= set(fold)
        assert fold["train"]["bars"][1] <= fold["test"]["bars"][0]
    assert "sharpe" in doc["folds"][0]["oos_metrics"]
    assert 0.0 <= doc["deflated_sharpe"] <= 1.0 and 0.0 <= doc["pbo"] <= 1.0
    assert set(doc["importances"]) <= {"strategy.selection.k", "strategy.signal.lookbacks"}
    assert doc["gate"]["accepted"] is True
    assert doc["candidate"]["file"] == "best_config.yaml"
    assert not (out / "candidate_config.yaml").exists()

    # best_config.yaml is a complete config that `xsmom config validate` accepts
    best = load_config(out / "best_config.yaml")
    checked = invoke("config", "validate", str(out / "best_config.yaml"))
    assert "ok:" in checked and "REJECTED" not in checked
    assert doc["candidate"]["version"] == version_id(best)

    html = (out / "report.html").read_text()
    assert html.count('class="plotly-graph-div"') >= 3
    assert html.index("Gate: ACCEPTED") < html.index("Overfitting statistics")
    assert "Parameters chosen per fold" in html and "Deflated Sharpe" in html
    page = re.sub(r"<script type='text/javascript'>.*?</script>", "", html, count=1, flags=re.S)
    assert not re.search(r"(src|href)=\"https?://", page), "the report must open offline"
    assert_report_renders(out / "report.html", min_charts=3)
    assert (out / "config.yaml").read_text().startswith(f"# version {version_id(load_config(cfg))}")
    assert doc["store"] == "sample"

    # the same command with more trials resumes the same study
    invoke("optimize", *common, "--trials", "9")
    doc2 = json.loads((out / "study.json").read_text())
    assert doc2["study"] == doc["study"] and doc2["trials"] == 9
    assert doc2["workers"][0]["trial_numbers"] == [6, 7, 8]

    # history: base config (current) and the candidate(s), with parent and provenance
    records = ConfigHistory(hist).records()
    base_version = version_id(load_config(cfg))
    assert records[0].version == base_version and records[0].status == "current"
    cand = ConfigHistory(hist).get(doc2["candidate"]["version"][:12])
    assert cand.parent == base_version
    assert cand.provenance["study"] == doc["study"]
    assert cand.provenance["data"]["timeframe"] == "1h"
    assert "oos_sharpe" in cand.metrics
    listing = invoke("config", "history", "--history", str(hist))
    assert base_version[:12] in listing and cand.version[:12] in listing
    diff = invoke("config", "diff", base_version[:10], cand.version[:10], "--history", str(hist))
    if cand.version != base_version:
        assert "strategy." in diff
    assert "identical" in invoke(
        "config", "diff", str(cfg), base_version[:8], "--history", str(hist)
    )


def test_local_workers_share_a_sqlite_study(tmp_path: Path) -> None:
    cfg = small_config(tmp_path / "cfg.yaml")
    out = tmp_path / "out"
    invoke(
        "optimize",
        "--config",
        str(cfg),
        "--store",
        "sample",
        "--out",
        str(out),
        "--trials",
        "10",
        "--workers",
        "2",
        "--no-history",
        "--no-progress",
    )
    doc = json.loads((out / "study.json").read_text())
    ran = [set(w["trial_numbers"]) for w in doc["workers"]]
    assert len(ran) == 2 and not ran[0] & ran[1]
    study = optuna.load_study(
        study_name=doc["study"], storage=make_storage(sqlite_url(out / "study.db"))
    )
    numbers = sorted(t.number for t in study.get_trials())
    assert numbers == sorted(ran[0] | ran[1]) == list(range(len(numbers)))
    assert 10 <= len(numbers) <= 11


def test_a_rejected_candidate_is_not_written_as_best_config(tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out).mkdir()
    (out / "best_config.yaml").write_text("name: stale from an earlier accepted run\n")
    cfg = small_config(tmp_path / "cfg.yaml", **REJECT_ALL)
    args = ["--config", str(cfg), "--store", "sample", "--out", str(out), "--trials", "3"]
    res = CliRunner().invoke(cli, ["optimize", *args, "--no-history", "--no-progress"])
    assert res.exit_code != 0 and "already holds files (best_config.yaml)" in str(res.exception)
    res = CliRunner().invoke(cli, ["optimize", *args, "--no-history", "--no-progress", "--force"])
    assert res.exit_code == 3, res.output
    assert "REJECTED: sharpe_gain" in res.output
    assert "candidate_config.yaml is not a best config (exit status 3)" in res.output
    assert not (out / "best_config.yaml").exists(), "no best_config.yaml, not even a stale one"
    page = (out / "report.html").read_text()
    assert "Gate: REJECTED (sharpe_gain" in page and "candidate_config.yaml" in page
    doc = json.loads((out / "study.json").read_text())
    assert doc["gate"]["accepted"] is False
    assert doc["candidate"]["file"] == "candidate_config.yaml"
    text = (out / "candidate_config.yaml").read_text()
    head = text.splitlines()
    assert head[0].startswith("# REJECTED by the acceptance gate")
    assert any(line.startswith("#   sharpe_gain = ") and "needs >= 100" in line for line in head)
    assert "#   pbo: " in text
    # still a complete, valid config (the header is YAML comments) ...
    cand = load_config(out / "candidate_config.yaml")
    assert version_id(cand) == doc["candidate"]["version"]
    # ... and `config validate` accepts it but says it was rejected, and why
    checked = invoke("config", "validate", str(out / "candidate_config.yaml"))
    assert checked.startswith("ok: ")
    assert "REJECTED" in checked and "sharpe_gain = " in checked


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cycle_is_idempotent_and_stages_or_rejects(tmp_path: Path) -> None:
    # A gate every candidate passes, so the cycle stages it.
    cfg = small_config(
        tmp_path / "cfg.yaml",
        min_sharpe_gain=-100.0,
        min_ci_low_gain=-100.0,
        min_deflated_sharpe=0.0,
        max_pbo=1.0,
    )
    store = tmp_path / "store"
    shutil.copytree(SAMPLE_DIR, store)
    state = tmp_path / "state"
    args = [
        "cycle",
        "--config",
        str(cfg),
        "--store",
        str(store),
        "--trials",
        "5",
        "--state",
        str(state),
    ]
    first = invoke(*args)
    assert "no venue configured, using stored data" in first
    assert "[notify]" in first and "staged" in first
    hist = ConfigHistory(state / "configs")
    staged = [r for r in hist.records() if r.status == "staged"]
    assert len(staged) == 1
    n_records = len(hist.records())

    # Same inputs: nothing is repeated (no new candidate, no second notification), and an
    # unreachable venue does not stop the cycle.
    again = invoke(
        *args, "--api-base", f"http://127.0.0.1:{_closed_port()}", "--exchange", "binanceusdm"
    )
    assert "venue unreachable, using stored data" in again
    assert "[notify]" not in again
    assert len(hist.records()) == n_records
    assert len(list((state / "cycles").glob("*.json"))) == 1


@pytest.mark.parametrize("key", ["data.timeframe", "optimize.trials", "backtest.lot_sizes"])
def test_optimize_refuses_to_search_keys_the_backtest_does_not_simulate(
    tmp_path: Path, key: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(f"optimize:\n  space:\n    {key}: {{type: categorical, choices: [1]}}\n")
    res = CliRunner().invoke(
        cli, ["optimize", "--config", str(path), "--store", "sample", "--out", str(tmp_path / "o")]
    )
    assert res.exit_code != 0
    assert "not searchable" in str(res.exception) or "not searchable" in res.output


def _finished(db: Path) -> int:
    import sqlite3

    if not db.exists():
        return 0
    with sqlite3.connect(db) as con:
        try:
            row = con.execute(
                "SELECT COUNT(*) FROM trials WHERE state IN ('COMPLETE', 'FAIL')"
            ).fetchone()
        except sqlite3.OperationalError:  # tables not created yet
            return 0
    return int(row[0])


def test_an_interrupted_run_resumes_the_same_study(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    cfg = small_config(tmp_path / "cfg.yaml")
    out = tmp_path / "out"
    cmd = [
        sys.executable,
        "-m",
        "xsmom.cli.main",
        "optimize",
        "--config",
        str(cfg),
        "--store",
        "sample",
        "--out",
        str(out),
        "--no-history",
        "--no-progress",
    ]
    proc = subprocess.Popen(
        [*cmd, "--trials", "1000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=dict(os.environ),
    )
    deadline = time.monotonic() + 300
    while _finished(out / "study.db") < 3 and time.monotonic() < deadline:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    output = proc.communicate(timeout=120)[0]
    assert proc.returncode == 130, output
    before = _finished(out / "study.db")
    assert 3 <= before < 1000

    res = subprocess.run(
        [*cmd, "--trials", str(before + 3)], capture_output=True, text=True, check=False
    )
    assert res.returncode == 0, res.stdout + res.stderr
    doc = json.loads((out / "study.json").read_text())
    assert doc["trials"] == before + 3
    assert doc["workers"][0]["trial_numbers"] == [before, before + 1, before + 2]


def test_cycle_refreshes_data_when_the_venue_is_reachable(tmp_path: Path) -> None:
    """The cycle downloads newer bars from a fake Binance USDT-M server on 127.0.0.1."""
    import pandas as pd
    from fake_binance_usdm_data import FakeBinanceUsdm, FakeMarketData

    from xsmom.data import Kind, ParquetStore

    shared = Path(__file__).resolve().parents[2].parent / "shared" / "data"
    if not (shared / "README.md").is_file():
        pytest.fail(f"real market data not found at {shared} (expected ../shared/data)")
    store = tmp_path / "store"
    shutil.copytree(SAMPLE_DIR, store)
    last = int(ParquetStore(store).read(Kind.OHLCV, "XRP/USDT:USDT", "1h")["timestamp"].max())

    def newer(kind: str, name: str) -> pd.DataFrame:
        df = pd.read_parquet(shared / kind / "binance_usdm/parquet" / name)
        return df[df["timestamp"] > last - 48 * 3_600_000].reset_index(drop=True)

    data = FakeMarketData(
        ohlcv={("XRPUSDT", "1h"): newer("ohlcv", "1h/XRPUSDT.parquet")},
        mark={("XRPUSDT", "1h"): newer("mark", "1h/XRPUSDT.parquet")},
        funding={"XRPUSDT": newer("funding", "XRPUSDT.parquet")},
    )
    cfg = small_config(tmp_path / "cfg.yaml")
    with FakeBinanceUsdm(data) as fake:
        out = invoke(
            "cycle",
            "--config",
            str(cfg),
            "--store",
            str(store),
            "--trials",
            "4",
            "--state",
            str(tmp_path / "state"),
            "--api-base",
            fake.url,
        )
    assert re.search(r"refreshed 3 series, [1-9][0-9]* rows added; 11 stored symbol", out)
    now = int(ParquetStore(store).read(Kind.OHLCV, "XRP/USDT:USDT", "1h")["timestamp"].max())
    assert now > last


def test_a_search_that_keeps_the_current_parameters_adds_no_version(tmp_path: Path) -> None:
    # The only value searched is the current one: the candidate is the base config.
    cfg = config_from_dict(
        {
            "optimize": {
                "folds": {"n_folds": 2, "train": "60d", "test": "30d"},
                "space": {"strategy.selection.k": {"type": "categorical", "choices": [3]}},
                "stats": {"bootstrap_samples": 200, "cscv_blocks": 8},
            }
        }
    )
    save_config(cfg, tmp_path / "cfg.yaml")
    state = tmp_path / "state"
    out = invoke(
        "cycle",
        "--config",
        str(tmp_path / "cfg.yaml"),
        "--store",
        "sample",
        "--trials",
        "3",
        "--state",
        str(state),
    )
    assert "unchanged (the current config won)" in out
    records = ConfigHistory(state / "configs").records()
    assert [r.status for r in records] == ["current"]
    assert records[0].version == version_id(cfg)


def test_optimize_refuses_missing_funding_unless_allowed(tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(SAMPLE_DIR, store)
    (store / "funding" / "BTC_USDT_USDT.parquet").unlink()
    cfg = small_config(tmp_path / "cfg.yaml")
    args = ["optimize", "--config", str(cfg), "--store", str(store), "--trials", "2"]
    args += ["--no-history", "--no-progress"]
    res = CliRunner().invoke(cli, [*args, "--out", str(tmp_path / "a")])
    assert res.exit_code != 0
    assert "all 2 trials failed; the first: DataError: BTC/USDT:USDT: the backtest would hold" in (
        str(res.exception)
    )
    out = tmp_path / "b"
    invoke(*args, "--out", str(out), "--allow-funding-gaps")
    doc = json.loads((out / "study.json").read_text())
    shares = [f["oos_metrics"]["funding_uncovered_share"] for f in doc["folds"]]
    assert all(0.0 <= s < 1.0 for s in shares) and max(shares) > 0.0
