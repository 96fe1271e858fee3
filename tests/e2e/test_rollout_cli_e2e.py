"""``xsmom rollout`` as a user runs it: submit, status --json, promote, rollback, history."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from click.testing import CliRunner

from xsmom.cli.main import cli
from xsmom.config import config_from_dict, version_id
from xsmom.ledger import default_url, open_ledger
from xsmom.rollout import ensure_active

T0 = 1_751_328_000_000


def xsmom(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "xsmom.cli.main", "rollout", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_rollout_commands_end_to_end(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    a = config_from_dict({"name": "live"})
    with open_ledger(default_url(home)) as led:  # the engine's first start
        ensure_active(led, a, now_ms=T0)
    new = tmp_path / "new.yaml"
    new.write_text("name: challenger\nstrategy:\n  selection:\n    k: 2\n", encoding="utf-8")
    b = version_id(config_from_dict({"name": "challenger", "strategy": {"selection": {"k": 2}}}))

    first = xsmom("submit", str(new), "--home", str(home))
    assert first.returncode == 0 and f"added {b[:12]} as a candidate" in first.stdout
    again = xsmom("submit", str(new), "--home", str(home))
    assert "already in the rollout (stage candidate): not added" in again.stdout

    run = CliRunner()
    opts = ["--home", str(home), "--store", "sample"]
    doc = json.loads(run.invoke(cli, ["rollout", "status", *opts, "--json"]).output)
    assert doc["active_version"] == version_id(a)
    rows = {v["version"]: v for v in doc["versions"]}
    assert rows[b]["stage"] == "candidate" and rows[b]["since"] == "2025-07-01T00:00:00Z"
    assert rows[version_id(a)]["stage"] == "full" and "evaluation" in rows[b]

    for want in ("paper", "small", "full"):
        out = run.invoke(cli, ["rollout", "promote", b[:8], *opts])
        assert out.exit_code == 0 and f"-> {want}" in out.output, out.output
    out = run.invoke(cli, ["rollout", "rollback", *opts])
    assert f"{b[:12]}: full -> rolled_back" in out.output
    assert f"{version_id(a)[:12]}: retired -> full" in out.output
    hist = json.loads(run.invoke(cli, ["rollout", "history", *opts, "--json"]).output)
    assert [h["to_stage"] for h in hist if h["version"] == b] == [
        "candidate", "paper", "small", "full", "rolled_back"
    ]  # fmt: skip
    text = run.invoke(cli, ["rollout", "history", *opts]).output
    assert "rolled back by hand" in text

    bad = xsmom("promote", "ffff", "--home", str(home), "--store", "sample")
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "no version 'ffff' in the rollout" in bad.stderr
    missing = xsmom("status", "--home", str(tmp_path / "nowhere"))
    assert missing.returncode == 2 and "no ledger at" in missing.stderr


def test_status_shows_an_evaluation_that_cannot_run_instead_of_hiding_it(tmp_path: Path) -> None:
    from xsmom.data.bundled import sample_store
    from xsmom.rollout import Pipeline, submit

    late = 1_777_590_000_000 - 86_400_000  # a day before the sample ends
    with open_ledger(default_url(tmp_path)) as led:
        ensure_active(led, config_from_dict({"name": "live"}), now_ms=late)
        b = submit(led, config_from_dict({"name": "x"}), source="t", now_ms=late).version
        Pipeline(led, sample_store()).promote(b, late)
        with led.transaction() as tx:
            for k in range(4):  # a paper account running past the end of the store
                ts = late + k * 86_400_000
                tx.record_rollout_equity(b, ts=ts, equity=1.0, wallet=1.0, unrealized=0.0)
    out = CliRunner().invoke(
        cli, ["rollout", "status", "--home", str(tmp_path), "--store", "sample", "--json"]
    )
    assert out.exit_code == 0, out.output
    rows = {v["version"]: v for v in json.loads(out.output)["versions"]}
    assert "does not hold every 1h bar" in rows[b]["evaluation"]["error"]


def test_status_shows_what_the_engine_traded_at_its_last_bar(tmp_path: Path) -> None:
    from xsmom.rollout import submit

    a = config_from_dict({"name": "live"})
    with open_ledger(default_url(tmp_path)) as led:
        va = ensure_active(led, a, now_ms=T0)
        vb = submit(led, config_from_dict({"name": "x"}), source="t", now_ms=T0).version
        with led.transaction() as tx:  # what the engine records at a small-stage bar
            plan = {"bar_ts": T0, "shares": {va: 0.75, vb: 0.25}, "note": ""}
            tx.set_meta("targets_plan", plan, T0)
    base = ["rollout", "status", "--home", str(tmp_path), "--store", "sample"]
    out = CliRunner().invoke(cli, [*base, "--json"])
    assert out.exit_code == 0, out.output
    assert json.loads(out.output)["plan"] == {
        "bar_ts": T0,
        "shares": {va: 0.75, vb: 0.25},
        "note": "",
    }
    text = CliRunner().invoke(cli, base)
    assert f"traded at bar 2025-07-01T00:00:00Z: 0.75 x {va[:12]}, 0.25 x {vb[:12]}" in text.output
