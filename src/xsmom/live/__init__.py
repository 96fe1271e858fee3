"""Live and paper trading: the safety gate, execution of targets, the bot's home, heartbeat.

- `Gate` + the guards (`GateInputs`, `GuardsConfig` thresholds): one trading state
  (ACTIVE / REDUCING / HALTED) and one ``check`` per order; state persisted as JSON.
- `plan_symbol` (pure) and `Executor`: reconcile positions and orders to target quantities.
- `Home`, `Heartbeat`: the folder of one bot and its liveness file.
- Events (`GuardTripped`, `TradingStateChanged`, `Denied`, ...) for the engine to record.
"""

from xsmom.exchange.state import TradingState
from xsmom.live.events import (
    ALLOWED,
    ActionSkipped,
    Allowed,
    Decision,
    Denied,
    ExecutionEvent,
    GateEvent,
    GuardAlerted,
    GuardRecovered,
    GuardTripped,
    OrderRejected,
    RetryLater,
    TradingStateChanged,
    to_record,
)
from xsmom.live.execution import CycleReport, ExecutionState, Executor
from xsmom.live.gate import Gate, GateStatus
from xsmom.live.guards import (
    GateInputs,
    Guard,
    StopMode,
    StopRequest,
    Verdict,
    default_guards,
)
from xsmom.live.heartbeat import Heartbeat, iso_utc, read_heartbeat, write_heartbeat
from xsmom.live.home import Home, parse_stop
from xsmom.live.orders import (
    Action,
    Book,
    CancelOrder,
    Command,
    IdScheme,
    OrderKind,
    PlaceOrder,
    ReplaceOrder,
)
from xsmom.live.planner import SymbolInput, SymbolPlan, plan_stop, plan_symbol
from xsmom.live.sizing import margin_ratio, target_quantities

__all__ = [
    "ALLOWED",
    "Action",
    "ActionSkipped",
    "Allowed",
    "Book",
    "CancelOrder",
    "Command",
    "CycleReport",
    "Decision",
    "Denied",
    "ExecutionEvent",
    "ExecutionState",
    "Executor",
    "Gate",
    "GateEvent",
    "GateInputs",
    "GateStatus",
    "Guard",
    "GuardAlerted",
    "GuardRecovered",
    "GuardTripped",
    "Heartbeat",
    "Home",
    "IdScheme",
    "OrderKind",
    "OrderRejected",
    "PlaceOrder",
    "ReplaceOrder",
    "RetryLater",
    "StopMode",
    "StopRequest",
    "SymbolInput",
    "SymbolPlan",
    "TradingState",
    "TradingStateChanged",
    "Verdict",
    "default_guards",
    "iso_utc",
    "margin_ratio",
    "parse_stop",
    "plan_stop",
    "plan_symbol",
    "read_heartbeat",
    "target_quantities",
    "to_record",
    "write_heartbeat",
]
