"""The catalogue: typed, immutable messages, each stored in the outbox as a JSON-safe payload.

Every message is a frozen dataclass named in the past tense with ``ts_event`` (when it happened,
ms UTC) and ``ts_init`` (when the message was made), a ``severity`` (info, warning, critical), a
``kind`` (its name in the outbox) and a stable ``dedup_key`` built from what identifies the
event, so the same event enqueued twice (a restart, a repeated health check) is one alert.
``to_payload`` / :func:`from_payload` convert to and from the outbox's JSON.

A chart travels *inside* the payload as base64 PNG bytes (:class:`Attachment`), so an alert is
self-contained in its outbox row: it survives restarts, file clean-ups and a move of the ledger.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from xsmom.errors import ConfigError, CorruptStateError
from xsmom.notify.outbox_types import SEVERITIES

PAYLOAD_VERSION = 1
MAX_ATTACHMENT_BYTES = 8 * 1024 * 1024  # Discord's smallest webhook upload limit


@dataclass(frozen=True, slots=True, kw_only=True)
class Attachment:
    """A file sent with a message (a PNG chart); ``data`` is the raw bytes."""

    filename: str
    content_type: str = "image/png"
    data: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if not self.filename or "/" in self.filename or "\\" in self.filename:
            raise ConfigError(f"attachment name {self.filename!r} must be a plain file name")
        if len(self.data) > MAX_ATTACHMENT_BYTES:
            raise ConfigError(
                f"attachment {self.filename} is {len(self.data)} bytes; "
                f"the limit is {MAX_ATTACHMENT_BYTES}"
            )

    def to_payload(self) -> dict[str, Any]:
        """Return the JSON form: name, type and base64 bytes."""
        return {
            "filename": self.filename,
            "content_type": self.content_type,
            "data_b64": base64.b64encode(self.data).decode("ascii"),
        }

    @classmethod
    def from_payload(cls, doc: Mapping[str, Any]) -> Attachment:
        """Rebuild an attachment from :meth:`to_payload`'s form."""
        try:
            data = base64.b64decode(str(doc["data_b64"]), validate=True)
        except (KeyError, binascii.Error) as exc:
            raise CorruptStateError(f"attachment payload is invalid: {exc}") from None
        return cls(
            filename=str(doc.get("filename", "")),
            content_type=str(doc.get("content_type", "image/png")),
            data=data,
        )


def _to_json(value: Any) -> Any:
    if isinstance(value, Attachment):
        return value.to_payload()
    if isinstance(value, tuple | list):
        return [_to_json(v) for v in value]
    return value


def _from_json(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_from_json(v) for v in value)
    return value


@dataclass(frozen=True, slots=True, kw_only=True)
class Message:
    """Base of every catalogue message."""

    kind: ClassVar[str] = "message"
    level: ClassVar[str] = "info"  # the severity, where it does not depend on the fields
    key_fields: ClassVar[tuple[str, ...]] = ("ts_event",)  # what identifies the event
    ts_event: int
    ts_init: int

    def __post_init__(self) -> None:
        # the outbox stores strict JSON: NaN or inf would fail the event's whole transaction
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, float) and not math.isfinite(value):
                raise ValueError(
                    f"{self.kind}.{f.name} must be a finite number "
                    f"(None where a field allows 'not available'), got {value}"
                )

    @property
    def severity(self) -> str:
        """Return info, warning or critical."""
        return self.level

    @property
    def dedup_key(self) -> str:
        """Return the key that identifies this event (one alert per key and channel):
        ``kind:`` and the ``key_fields``' values, never when the message was made."""
        return ":".join([self.kind, *(str(getattr(self, f)) for f in self.key_fields)])

    def to_payload(self) -> dict[str, Any]:
        """Return the JSON-safe dict stored in the outbox (``from_payload`` reverses it)."""
        doc: dict[str, Any] = {
            "v": PAYLOAD_VERSION,
            "kind": self.kind,
            "severity": self.severity,
            "dedup_key": self.dedup_key,
        }
        for f in dataclasses.fields(self):
            doc[f.name] = _to_json(getattr(self, f.name))
        return doc


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineStarted(Message):
    """The trading engine started (or restarted) a run."""

    kind: ClassVar[str] = "engine_started"
    key_fields: ClassVar[tuple[str, ...]] = ("run_id",)
    run_id: str
    mode: str
    exchange: str = ""
    config_version: str = ""
    symbols: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineStopped(Message):
    """The trading engine stopped; ``clean`` is False after a crash or a kill switch."""

    kind: ClassVar[str] = "engine_stopped"
    key_fields: ClassVar[tuple[str, ...]] = ("run_id",)
    run_id: str
    reason: str
    clean: bool = True

    @property
    def severity(self) -> str:
        return "info" if self.clean else "critical"


@dataclass(frozen=True, slots=True, kw_only=True)
class FillsSummarized(Message):
    """The fills of one bar: count, notional, fees; ``lines`` holds one text per fill."""

    kind: ClassVar[str] = "fills_summary"
    key_fields: ClassVar[tuple[str, ...]] = ("bar_ms",)
    bar_ms: int
    fills: int
    notional: float
    fees: float
    equity: float | None = None
    lines: tuple[str, ...] = ()


_STATE_SEVERITY = {"active": "info", "reducing": "warning", "halted": "critical"}


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardTransitioned(Message):
    """The trading state moved (active / reducing / halted) because of ``guard``."""

    kind: ClassVar[str] = "guard_transition"
    key_fields: ClassVar[tuple[str, ...]] = ("ts_event", "guard", "to_state")
    from_state: str
    to_state: str
    guard: str
    reason: str

    @property
    def severity(self) -> str:
        return _STATE_SEVERITY.get(self.to_state, "warning")


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitBreakerOpened(Message):
    """The exchange circuit breaker opened: trading is restricted until it closes."""

    kind: ClassVar[str] = "breaker_opened"
    level: ClassVar[str] = "critical"
    calls: int
    failures: int
    failure_rate: float
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class CircuitBreakerClosed(Message):
    """The circuit breaker closed after successful probes: trading may resume."""

    kind: ClassVar[str] = "breaker_closed"
    open_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class NoTradeAlerted(Message):
    """No order went out for longer than expected although targets asked for trades."""

    kind: ClassVar[str] = "no_trade"
    level: ClassVar[str] = "warning"
    key_fields: ClassVar[tuple[str, ...]] = ("since_ms",)
    since_ms: int
    bars: int
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StaleHeartbeatDetected(Message):
    """The engine's heartbeat is older than the threshold (``xsmom health --notify``)."""

    kind: ClassVar[str] = "heartbeat_stale"
    level: ClassVar[str] = "critical"
    # one alert per stale beat, however often the health check runs
    key_fields: ClassVar[tuple[str, ...]] = ("last_beat_ms",)
    last_beat_ms: int
    threshold_s: float
    home: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconciliationRepaired(Message):
    """Reconciliation found differences with the exchange and repaired them."""

    kind: ClassVar[str] = "reconciliation_repaired"
    level: ClassVar[str] = "warning"
    repairs: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class ReconciliationRefused(Message):
    """Reconciliation found differences it must not repair alone; trading is halted."""

    kind: ClassVar[str] = "reconciliation_refused"
    level: ClassVar[str] = "critical"
    reason: str
    differences: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class OptimizerFinished(Message):
    """An optimization finished; ``accepted`` is the gate's verdict on the candidate."""

    kind: ClassVar[str] = "optimizer_result"
    key_fields: ClassVar[tuple[str, ...]] = ("candidate_version", "ts_event")
    candidate_version: str
    accepted: bool
    oos_sharpe: float
    current_sharpe: float | None = None
    deflated_sharpe: float | None = None
    pbo: float | None = None
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class DailyReportCreated(Message):
    """The report of one UTC day; ``chart`` is an optional PNG equity chart, ``lines`` the
    per-symbol attribution shown as the embed's description."""

    kind: ClassVar[str] = "daily_report"
    key_fields: ClassVar[tuple[str, ...]] = ("date",)
    date: str
    pnl: float
    return_pct: float
    equity: float
    sharpe_to_date: float | None = None
    drawdown_pct: float = 0.0
    fees: float = 0.0
    funding: float = 0.0
    turnover: float = 0.0
    chart: Attachment | None = None
    lines: tuple[str, ...] = ()  # attribution, one line per symbol (largest first)


@dataclass(frozen=True, slots=True, kw_only=True)
class NotificationTested(Message):
    """A test message asked for by ``xsmom notify test``."""

    kind: ClassVar[str] = "test"
    text: str = "Test message from xsmom: this channel works."


@dataclass(frozen=True, slots=True, kw_only=True)
class RolloutTransitioned(Message):
    """A config version moved between rollout stages (promoted, rolled back, retired)."""

    kind: ClassVar[str] = "rollout_transition"
    key_fields: ClassVar[tuple[str, ...]] = ("version", "to_stage", "ts_event")
    version: str
    from_stage: str
    to_stage: str
    reason: str
    active_version: str = ""
    previous_active: str = ""

    @property
    def severity(self) -> str:
        return "warning" if self.to_stage == "rolled_back" else "info"


@dataclass(frozen=True, slots=True, kw_only=True)
class RolloutRestartFailed(Message):
    """The restart command run after a rollout switch failed (``rollout.restart_command``)."""

    kind: ClassVar[str] = "rollout_restart_failed"
    active_version: str
    command: str
    reason: str

    @property
    def severity(self) -> str:
        return "warning"

    @property
    def dedup_key(self) -> str:
        return f"{self.kind}:{self.active_version}:{self.ts_event}"


CATALOGUE: dict[str, type[Message]] = {
    cls.kind: cls
    for cls in (
        EngineStarted,
        EngineStopped,
        FillsSummarized,
        GuardTransitioned,
        CircuitBreakerOpened,
        CircuitBreakerClosed,
        NoTradeAlerted,
        StaleHeartbeatDetected,
        ReconciliationRepaired,
        ReconciliationRefused,
        OptimizerFinished,
        DailyReportCreated,
        NotificationTested,
        RolloutTransitioned,
        RolloutRestartFailed,
    )
}


def from_payload(payload: Mapping[str, Any]) -> Message:
    """Rebuild the message stored by ``Message.to_payload``; CorruptStateError if it cannot."""
    kind = payload.get("kind")
    cls = CATALOGUE.get(str(kind))
    if cls is None:
        raise CorruptStateError(f"outbox payload has unknown kind {kind!r}")
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in payload:
            continue
        value = payload[f.name]
        if f.name == "chart" and isinstance(value, Mapping):
            kwargs[f.name] = Attachment.from_payload(value)
        else:
            kwargs[f.name] = _from_json(value)
    try:
        message = cls(**kwargs)
    except TypeError as exc:
        raise CorruptStateError(f"outbox payload of kind {kind!r} is invalid: {exc}") from None
    if message.severity not in SEVERITIES:
        raise CorruptStateError(f"message {kind!r} has severity {message.severity!r}")
    return message
