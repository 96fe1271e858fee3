"""The full cycle: refresh data, optimize, gate, stage the candidate, notify.

Each cycle has an id fixed by its inputs (config version, data range, trials); its progress
is a JSON file under ``STATE/cycles``. A step that is done is never repeated, so running the
same cycle again does nothing new (no duplicate candidate, no second notification), and an
interrupted cycle resumes at the step it stopped in (the optimize step reuses its study).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xsmom.config import Config, version_id
from xsmom.config.history import ConfigHistory, Status
from xsmom.data.atomic import atomic_write_text
from xsmom.data.bundled import SAMPLE_NAME, resolve_store
from xsmom.errors import CorruptStateError, DataError, RetryableError
from xsmom.optimize.api import candidate_metrics, run_optimize
from xsmom.optimize.notify import Notifier
from xsmom.optimize.plan import load_research_panel

log = logging.getLogger(__name__)
STEPS = ("refresh", "optimize", "gate", "stage", "notify")


@dataclass(frozen=True)
class CycleInputs:
    """What a cycle runs on."""

    config: Config
    store: str
    state: Path
    trials: int
    storage: str | None = None
    workers: int = 1
    exchange: str | None = None
    api_base: str | None = None
    progress: bool = False
    home: Path | None = None  # bot home whose rollout gets the accepted candidate


@dataclass
class CycleState:
    """Progress of one cycle (persisted after every step)."""

    cycle: str
    steps: dict[str, dict[str, Any]] = field(default_factory=dict)

    def done(self, step: str) -> bool:
        """Return True if ``step`` has completed."""
        return bool(self.steps.get(step, {}).get("done"))


def refresh_data(inp: CycleInputs) -> dict[str, Any]:
    """Download new bars when a venue is configured and reachable; never fail the cycle."""
    if inp.store == SAMPLE_NAME:
        return {"done": True, "status": "bundled sample: nothing to refresh"}
    if inp.exchange is None and inp.api_base is None:
        return {"done": True, "status": "no venue configured, using stored data"}
    from xsmom.data.download import DEFAULT_EXCHANGE, Downloader, RetryPolicy, make_exchange

    store = resolve_store(inp.store)
    tf = inp.config.data.timeframe
    symbols = list(inp.config.data.symbols) or store.symbols(timeframe=tf)
    ex = make_exchange(inp.exchange or DEFAULT_EXCHANGE, api_base=inp.api_base)
    dl = Downloader(ex, store, retry=RetryPolicy(attempts=2, base_delay=0.5), progress=False)
    try:
        dl.call(ex.load_markets)
        listed = [s for s in symbols if s in ex.markets]
        results = dl.run(listed, tf) if listed else []
    except RetryableError as exc:
        return {"done": True, "status": f"venue unreachable, using stored data ({exc})"}
    except DataError as exc:
        # The venue answered but refused: keep the stored data, say why.
        return {"done": True, "status": f"refresh refused, using stored data ({exc})"}
    added = sum(r.added for r in results)
    unlisted = len(symbols) - len(listed)
    note = f"; {unlisted} stored symbol(s) not listed by the venue" if unlisted else ""
    return {
        "done": True,
        "status": f"refreshed {len(results)} series, {added} rows added{note}",
    }


def cycle_id(inp: CycleInputs) -> str:
    """Return the id of the cycle: config version, data range and trial count."""
    panel = load_research_panel(resolve_store(inp.store), inp.config)
    key = {
        "config": version_id(inp.config),
        "store": str(inp.store),
        "symbols": list(panel.symbols),
        "first": int(panel.timestamps[0]),
        "last": int(panel.timestamps[-1]),
        "trials": inp.trials,
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def _load(path: Path, cid: str) -> CycleState:
    if not path.exists():
        return CycleState(cid)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return CycleState(raw["cycle"], raw["steps"])
    except (OSError, ValueError, KeyError) as exc:
        raise CorruptStateError(f"cycle state {path} is unreadable: {exc}") from exc


def _save(path: Path, st: CycleState) -> None:
    atomic_write_text(path, json.dumps({"cycle": st.cycle, "steps": st.steps}, indent=2))


def run_cycle(
    inp: CycleInputs, notifier: Notifier, echo: Callable[[str], None] = log.info
) -> CycleState:
    """Run (or resume) the cycle of ``inp``; return its state."""
    refresh = refresh_data(inp)
    echo(f"refresh: {refresh['status']}")
    cid = cycle_id(inp)
    path = inp.state / "cycles" / f"{cid}.json"
    st = _load(path, cid)
    st.steps.setdefault("refresh", refresh)
    history = ConfigHistory(inp.state / "configs")
    out = inp.state / "runs" / cid
    if not st.done("optimize"):
        run = run_optimize(
            inp.config,
            store=inp.store,
            out=out,
            trials=inp.trials,
            storage=inp.storage,
            workers=inp.workers,
            progress=inp.progress,
            history=inp.state / "configs",
        )
        assert run.record is not None
        st.steps["optimize"] = {
            "done": True,
            "study": run.study,
            "out": str(out),
            "candidate": run.record.version,
            "accepted": run.analysis.gate.accepted,
            "reasons": run.analysis.gate.reasons(),
            "metrics": candidate_metrics(run.analysis),
        }
        _save(path, st)
    opt = st.steps["optimize"]
    echo(f"optimize: candidate {opt['candidate'][:12]} (study {opt['study']}, out {opt['out']})")
    if not st.done("gate"):
        st.steps["gate"] = {"done": True, "accepted": opt["accepted"], "reasons": opt["reasons"]}
        _save(path, st)
    gate = st.steps["gate"]
    echo("gate: " + ("accepted" if gate["accepted"] else "rejected: " + "; ".join(gate["reasons"])))
    if not st.done("stage"):
        if opt["candidate"] == version_id(inp.config):
            st.steps["stage"] = {"done": True, "status": "unchanged (the current config won)"}
        else:
            status: Status = "staged" if gate["accepted"] else "rejected"
            history.set_status(opt["candidate"], status)
            st.steps["stage"] = {"done": True, "status": status}
            if status == "staged" and inp.home is not None:
                note = submit_to_rollout(inp.home, history, opt["candidate"], cid)
                st.steps["stage"]["status"] = f"staged, {note}"
        _save(path, st)
    where = "" if inp.home else " (saved in history; --home submits it to a bot's rollout)"
    echo(f"stage: {st.steps['stage']['status']}{where}")
    if not st.done("notify"):
        _notify(notifier, cid, opt, gate, st.steps["stage"]["status"])
        st.steps["notify"] = {"done": True}
        _save(path, st)
    return st


def submit_to_rollout(home: Path, history: ConfigHistory, candidate: str, cid: str) -> str:
    """Submit the accepted candidate to the rollout of the bot at ``home``; return a note."""
    import time

    from xsmom.ledger import open_home_ledger
    from xsmom.rollout import submit

    config = history.get(candidate).to_config()
    with open_home_ledger(home) as led:
        now = int(time.time() * 1000)
        res = submit(led, config, source=f"xsmom cycle {cid}", now_ms=now)
    if res.added:
        return f"submitted to the rollout of {home} as a candidate"
    return f"already in the rollout of {home} (stage {res.stage})"


def _notify(
    notifier: Notifier, cid: str, opt: dict[str, Any], gate: dict[str, Any], status: str
) -> None:
    m = opt["metrics"]
    lines = [
        f"candidate {opt['candidate'][:12]}: {status}",
        f"OOS Sharpe {m['oos_sharpe']:.3f} vs current {m['current_oos_sharpe']:.3f}; "
        f"deflated Sharpe {m['deflated_sharpe']:.3f}; PBO {m['pbo']:.3f}",
        *(f"gate: {r}" for r in gate["reasons"]),
        f"report: {opt['out']}/report.html",
    ]
    notifier.send(f"xsmom cycle {cid}: candidate {status}", lines)
