"""The public API of xsmom.live: what the engine may import, and nothing it must not."""

from __future__ import annotations

import subprocess
import sys

import xsmom.live as live

EXPECTED = {
    "ALLOWED", "Action", "ActionSkipped", "Allowed", "Book", "CancelOrder", "Command",
    "CycleReport", "Decision", "Denied", "ExecutionEvent", "ExecutionState", "Executor", "Gate",
    "GateEvent", "GateInputs", "GateStatus", "Guard", "GuardAlerted", "GuardRecovered",
    "GuardTripped", "Heartbeat", "Home", "IdScheme", "OrderKind", "OrderRejected", "PlaceOrder",
    "ReplaceOrder", "RetryLater", "StopMode", "StopRequest", "SymbolInput", "SymbolPlan",
    "TradingState", "TradingStateChanged", "Verdict", "default_guards", "iso_utc",
    "margin_ratio", "parse_stop", "plan_stop", "plan_symbol", "read_heartbeat",
    "target_quantities", "write_heartbeat",
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
