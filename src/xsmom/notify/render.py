"""Turn a message (or its outbox payload) into a neutral form every channel formats.

:class:`Rendered` has a title, a description, fields, a colour, attachments and the
identifying dedup key; the Discord channel makes an embed of it, the JSON webhook a text and a
structured object, the console a few lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from xsmom.notify import messages as m

COLOURS = {"info": 0x2E86DE, "warning": 0xF39C12, "critical": 0xE74C3C}


@dataclass(frozen=True, slots=True)
class Field:
    """One named value of a message."""

    name: str
    value: str
    inline: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered:
    """A message ready for a channel: what to show, independent of the channel."""

    kind: str
    severity: str
    dedup_key: str
    ts_event: int
    title: str
    description: str = ""
    fields: tuple[Field, ...] = ()
    attachments: tuple[m.Attachment, ...] = ()
    image: str | None = None

    @property
    def colour(self) -> int:
        """Return the RGB colour of the severity."""
        return COLOURS.get(self.severity, COLOURS["warning"])

    def text(self) -> str:
        """Return a plain-text version: title, description, fields, key."""
        lines = [f"[{self.severity.upper()}] {self.title}"]
        if self.description:
            lines.append(self.description)
        lines += [f"{f.name}: {f.value}" for f in self.fields]
        lines.append(f"({self.dedup_key})")
        return "\n".join(lines)


def iso(ms: int) -> str:
    """Return ms since the epoch as ISO 8601 UTC (``2026-01-02T03:00:00Z``)."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _num(x: float | None, fmt: str = ",.2f") -> str:
    return "n/a" if x is None else format(x, fmt)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:+.2f} %"


def _started(x: m.EngineStarted) -> Rendered:
    return _base(
        x,
        f"Engine started ({x.mode})",
        "Trading loop is running.",
        [
            Field("run", x.run_id),
            Field("exchange", x.exchange or "n/a"),
            Field("config", x.config_version[:12] or "n/a"),
            Field("symbols", str(x.symbols)),
        ],
    )


def _stopped(x: m.EngineStopped) -> Rendered:
    what = "Engine stopped" if x.clean else "Engine stopped UNEXPECTEDLY"
    todo = "" if x.clean else "Check the logs and the positions on the exchange before restarting."
    return _base(x, what, todo, [Field("run", x.run_id), Field("reason", x.reason, False)])


def _fills(x: m.FillsSummarized) -> Rendered:
    return _base(
        x,
        f"{x.fills} fill{'s' if x.fills != 1 else ''} at bar {iso(x.bar_ms)}",
        "\n".join(x.lines),
        [
            Field("notional", f"{_num(x.notional)} USDT"),
            Field("fees", f"{_num(x.fees, ',.4f')} USDT"),
            Field("equity", f"{_num(x.equity)} USDT"),
        ],
    )


def _guard(x: m.GuardTransitioned) -> Rendered:
    return _base(
        x,
        f"Trading state {x.from_state} -> {x.to_state}",
        x.reason,
        [Field("guard", x.guard), Field("from", x.from_state), Field("to", x.to_state)],
    )


def _breaker_opened(x: m.CircuitBreakerOpened) -> Rendered:
    return _base(
        x,
        "Circuit breaker OPENED",
        f"{x.reason}\nOrders are restricted until the exchange answers again.",
        [
            Field("calls", str(x.calls)),
            Field("failures", str(x.failures)),
            Field("failure rate", f"{x.failure_rate:.0%}"),
        ],
    )


def _breaker_closed(x: m.CircuitBreakerClosed) -> Rendered:
    mins = x.open_ms / 60_000
    return _base(x, "Circuit breaker closed", f"Trading may resume after {mins:.1f} min open.", [])


def _no_trade(x: m.NoTradeAlerted) -> Rendered:
    return _base(
        x,
        f"No trade for {x.bars} bars",
        x.reason,
        [Field("since", iso(x.since_ms)), Field("bars", str(x.bars))],
    )


def _stale(x: m.StaleHeartbeatDetected) -> Rendered:
    age_s = max(0, x.ts_event - x.last_beat_ms) / 1000
    return _base(
        x,
        "Heartbeat is stale",
        "The engine has not completed a cycle in time: is it running?",
        [
            Field("last beat", iso(x.last_beat_ms)),
            Field("age", f"{age_s:,.0f} s"),
            Field("threshold", f"{x.threshold_s:,.0f} s"),
            Field("home", x.home or "n/a", False),
        ],
    )


def _repaired(x: m.ReconciliationRepaired) -> Rendered:
    n = len(x.repairs)
    return _base(x, f"Reconciliation repaired {n} difference(s)", "\n".join(x.repairs), [])


def _refused(x: m.ReconciliationRefused) -> Rendered:
    return _base(
        x,
        "Reconciliation REFUSED: trading halted",
        "\n".join([x.reason, *x.differences]),
        [],
    )


def _optimizer(x: m.OptimizerFinished) -> Rendered:
    verdict = "ACCEPTED" if x.accepted else "rejected"
    return _base(
        x,
        f"Optimizer candidate {verdict}",
        "\n".join(x.reasons),
        [
            Field("candidate", x.candidate_version[:12]),
            Field("OOS Sharpe", _num(x.oos_sharpe)),
            Field("current Sharpe", _num(x.current_sharpe)),
            Field("deflated Sharpe", _num(x.deflated_sharpe, ".3f")),
            Field("PBO", _num(x.pbo, ".3f")),
        ],
    )


def _daily(x: m.DailyReportCreated) -> Rendered:
    r = _base(
        x,
        f"Daily report {x.date}",
        "\n".join(x.lines),
        [
            Field("PnL", f"{_num(x.pnl)} USDT"),
            Field("return", _pct(x.return_pct)),
            Field("equity", f"{_num(x.equity)} USDT"),
            Field("Sharpe to date", _num(x.sharpe_to_date)),
            Field("drawdown", _pct(-abs(x.drawdown_pct))),
            Field("fees", f"{_num(x.fees)} USDT"),
            Field("funding received", f"{_num(x.funding)} USDT"),
            Field("turnover", f"{_num(x.turnover)} x equity"),
        ],
    )
    if x.chart is None:
        return r
    return Rendered(
        kind=r.kind,
        severity=r.severity,
        dedup_key=r.dedup_key,
        ts_event=r.ts_event,
        title=r.title,
        description=r.description,
        fields=r.fields,
        attachments=(x.chart,),
        image=x.chart.filename,
    )


def _test(x: m.NotificationTested) -> Rendered:
    return _base(x, "Test message", x.text, [Field("sent at", iso(x.ts_init))])


def _rollout(x: m.RolloutTransitioned) -> Rendered:
    what = "ROLLED BACK" if x.to_stage == "rolled_back" else f"{x.from_stage} -> {x.to_stage}"
    fields = [
        Field("version", x.version[:12]),
        Field("from", x.from_stage),
        Field("to", x.to_stage),
    ]
    if x.active_version:
        fields.append(Field("active", x.active_version[:12]))
    if x.previous_active and x.previous_active != x.active_version:
        fields.append(Field("was active", x.previous_active[:12]))
    return _base(x, f"Rollout {x.version[:12]}: {what}", x.reason, fields)


def _restart(x: m.RolloutRestartFailed) -> Rendered:
    fields = [Field("active", x.active_version[:12]), Field("command", x.command)]
    return _base(x, "Rollout restart command failed", x.reason, fields)


def _base(x: m.Message, title: str, description: str, fields: list[Field]) -> Rendered:
    return Rendered(
        kind=x.kind,
        severity=x.severity,
        dedup_key=x.dedup_key,
        ts_event=x.ts_event,
        title=title,
        description=description,
        fields=tuple(fields),
    )


_RENDERERS: dict[type[m.Message], Callable[[Any], Rendered]] = {
    m.EngineStarted: _started,
    m.EngineStopped: _stopped,
    m.FillsSummarized: _fills,
    m.GuardTransitioned: _guard,
    m.CircuitBreakerOpened: _breaker_opened,
    m.CircuitBreakerClosed: _breaker_closed,
    m.NoTradeAlerted: _no_trade,
    m.StaleHeartbeatDetected: _stale,
    m.ReconciliationRepaired: _repaired,
    m.ReconciliationRefused: _refused,
    m.OptimizerFinished: _optimizer,
    m.DailyReportCreated: _daily,
    m.NotificationTested: _test,
    m.RolloutTransitioned: _rollout,
    m.RolloutRestartFailed: _restart,
}


def render(message: m.Message | Mapping[str, Any]) -> Rendered:
    """Return the neutral form of a message or of its outbox payload."""
    msg = message if isinstance(message, m.Message) else m.from_payload(message)
    return _RENDERERS[type(msg)](msg)
