"""The public API of xsmom.live: what the engine may import, and nothing it must not."""

from __future__ import annotations

import json
import subprocess
import sys

import xsmom.live as live
from xsmom.config.live import GuardsConfig

EXPECTED = {
    "ALLOWED", "Action", "ActionSkipped", "Allowed", "Book", "CancelOrder", "Command",
    "CycleReport", "Decision", "Denied", "ExecutionEvent", "ExecutionState", "Executor", "Gate",
    "GateEvent", "GateInputs", "GateStatus", "Guard", "GuardAlerted", "GuardRecovered",
    "GuardTripped", "Heartbeat", "Home", "IdScheme", "OrderKind", "OrderRejected", "PlaceOrder",
    "ReplaceOrder", "RetryLater", "StopMode", "StopRequest", "SymbolInput", "SymbolPlan",
    "TradingState", "TradingStateChanged", "Verdict", "default_guards", "iso_utc",
    "margin_ratio", "parse_stop", "plan_stop", "plan_symbol", "read_heartbeat",
    "target_quantities", "to_record", "write_heartbeat",
}  # fmt: skip


def test_exported_names() -> None:
    assert set(live.__all__) == EXPECTED
    assert all(hasattr(live, name) for name in live.__all__)


def test_live_does_not_import_the_cli_or_the_optimizer() -> None:
    # (the exchange layer brings the backtest's cost model with the shared matching engine)
    code = (
        "import sys, xsmom.live; "
        "print([m for m in sys.modules if m.startswith(('xsmom.cli', 'xsmom.optimize'))])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_events_become_json_records() -> None:
    gate = live.Gate(GuardsConfig())
    events = gate.update(
        live.GateInputs(
            now_ms=1_000, equity=1.0, margin_ratio=0.0, last_bar_ts=None, bar_ms=3_600_000
        )
    )
    records = [live.to_record(e) for e in events]
    assert json.loads(json.dumps(records)) == records
    assert records[0]["kind"] == "GuardTripped" and records[0]["state"] == "halted"
    assert records[0]["reason"] == "no closed bar seen yet" and records[0]["ts_event"] == 1_000
