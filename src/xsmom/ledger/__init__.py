"""The ledger: every order, fill, position, funding payment, equity point, target, event,
guard state, alert and rollout stage of a bot, in one database (SQLite in WAL mode by default,
PostgreSQL for a server), migrated with Alembic on open.

::

    from xsmom.ledger import open_ledger, default_url

    ledger = open_ledger(default_url(home))          # upgrades the schema to head
    with ledger.transaction() as tx:                 # one atomic write
        tx.record_order(client_id=..., symbol=..., side="buy", type="limit", ...)
        tx.record_guard_event(ts=..., guard="daily_loss", event="tripped", reason=...)
        tx.enqueue_alert(dedup_key=..., channels=["discord"], kind=..., ...)
    ledger.open_orders(); ledger.positions(); ledger.due("discord", now_ms)

`Ledger` implements ``xsmom.notify.outbox_types.Outbox``. docs/ledger.md describes the tables.
"""

from typing import TYPE_CHECKING, Any

from xsmom.ledger.db import default_url, head_revision, normalize_url
from xsmom.ledger.ledger import Ledger, LedgerReads, LedgerTx, open_home_ledger, open_ledger
from xsmom.ledger.repo_rollout import RolloutFillView
from xsmom.ledger.views import (
    OPEN_STATUSES,
    ORDER_STATUSES,
    ORDER_TYPES,
    SEVERITIES,
    SIDES,
    TRADING_STATES,
    ConfigVersionView,
    EquityView,
    EventView,
    FillView,
    FundingView,
    GuardEventView,
    GuardStateView,
    OrderView,
    PositionChangeView,
    PositionView,
    RolloutStageView,
    RolloutTransitionView,
    StateChangeView,
    TargetView,
    TransitionView,
)
from xsmom.redaction import redact_url

if TYPE_CHECKING:
    from xsmom.ledger.export import export_ledger


def __getattr__(name: str) -> Any:
    # pandas and pyarrow load only when the export is used (``xsmom status`` stays light).
    if name == "export_ledger":
        from xsmom.ledger.export import export_ledger

        return export_ledger
    raise AttributeError(f"module 'xsmom.ledger' has no attribute {name!r}")


__all__ = [
    "OPEN_STATUSES",
    "ORDER_STATUSES",
    "ORDER_TYPES",
    "SEVERITIES",
    "SIDES",
    "TRADING_STATES",
    "ConfigVersionView",
    "EquityView",
    "EventView",
    "FillView",
    "FundingView",
    "GuardEventView",
    "GuardStateView",
    "Ledger",
    "LedgerReads",
    "LedgerTx",
    "OrderView",
    "PositionChangeView",
    "PositionView",
    "RolloutFillView",
    "RolloutStageView",
    "RolloutTransitionView",
    "StateChangeView",
    "TargetView",
    "TransitionView",
    "default_url",
    "export_ledger",
    "head_revision",
    "normalize_url",
    "open_home_ledger",
    "open_ledger",
    "redact_url",
]
