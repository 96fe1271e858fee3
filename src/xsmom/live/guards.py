"""The guards: each turns explicit inputs into a verdict (ACTIVE / REDUCING / HALTED + reason).

A guard never reads a clock or a file: the engine passes ``GateInputs`` (time from the
exchange clock). Guards with memory (daily loss, drawdown, no-trade) expose ``to_state()`` /
``from_state()`` with JSON-safe dicts, so a restart never lifts a halt. The `Gate`
(:mod:`xsmom.live.gate`) combines them; the most restrictive verdict wins.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, ClassVar

from xsmom.config.live import GuardsConfig
from xsmom.errors import CorruptStateError, DataError
from xsmom.exchange.breaker import BreakerState
from xsmom.exchange.state import TradingState

DAY_MS = 86_400_000
HOUR_MS = 3_600_000
EPS = 1e-12  # float tolerance at the thresholds: 900 vs a 1000 peak is a 10.0 % drawdown


class StopMode(StrEnum):
    """What the emergency stop file asks for."""

    PAUSE = "pause"
    FLATTEN = "flatten"


@dataclass(frozen=True, kw_only=True)
class StopRequest:
    """The parsed content of the ``STOP`` file (``note`` explains odd content)."""

    mode: StopMode
    note: str = ""


@dataclass(frozen=True, kw_only=True)
class GateInputs:
    """Everything the guards look at in one cycle (time from the exchange clock)."""

    now_ms: int
    equity: float
    margin_ratio: float
    positions: Mapping[str, float] = field(default_factory=dict)
    breaker: BreakerState = BreakerState.CLOSED
    last_bar_ts: int | None
    bar_ms: int
    last_fill_ts: int | None = None
    targets_want_trades: bool = False
    stop: StopRequest | None = None

    def __post_init__(self) -> None:
        if not math.isfinite(self.equity) or math.isnan(self.margin_ratio):
            raise DataError(
                f"gate inputs need a finite equity and a margin ratio, got equity={self.equity} "
                f"margin_ratio={self.margin_ratio}"
            )
        if self.bar_ms <= 0:
            raise DataError(f"gate inputs need bar_ms > 0, got {self.bar_ms}")


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """One guard's view: the state it allows, why, and whether targets must go to zero."""

    state: TradingState = TradingState.ACTIVE
    reason: str = ""
    flatten: bool = False
    alert: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict."""
        return {"state": self.state.value, "reason": self.reason, "flatten": self.flatten}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Verdict:
        """Rebuild from ``to_dict`` output."""
        return cls(
            state=TradingState(d["state"]), reason=str(d["reason"]), flatten=bool(d["flatten"])
        )


OK = Verdict()


def _halt(reason: str) -> Verdict:
    return Verdict(state=TradingState.HALTED, reason=reason)


class Guard:
    """Base of the guards: ``evaluate`` plus JSON-safe state (none by default)."""

    name: ClassVar[str] = "guard"

    def evaluate(self, inputs: GateInputs) -> Verdict:
        """Return this guard's verdict on ``inputs`` (and update its memory)."""
        raise NotImplementedError

    def to_state(self) -> dict[str, Any]:
        """Return the guard's memory as a JSON-safe dict."""
        return {}

    def from_state(self, state: Mapping[str, Any]) -> None:
        """Restore the memory saved by ``to_state`` (CorruptStateError if unreadable)."""
        del state


def _restore(guard: Guard, state: Mapping[str, Any], load: Any) -> None:
    try:
        load(state)
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptStateError(f"guard {guard.name!r}: saved state unreadable: {exc}") from exc


class StopFileGuard(Guard):
    """The emergency stop file: pause -> HALTED, flatten -> REDUCING with targets at zero."""

    name = "stop_file"

    def evaluate(self, inputs: GateInputs) -> Verdict:
        """Return HALTED / REDUCING+flatten while the STOP file exists."""
        stop = inputs.stop
        if stop is None:
            return OK
        note = f" ({stop.note})" if stop.note else ""
        if stop.mode is StopMode.FLATTEN:
            return Verdict(
                state=TradingState.REDUCING,
                reason=f"emergency stop file: flatten{note}",
                flatten=True,
            )
        return _halt(f"emergency stop file: pause{note}")


class DailyLossGuard(Guard):
    """HALTED for the rest of the UTC day once equity falls ``limit`` below the day's open."""

    name = "daily_loss"

    def __init__(self, config: GuardsConfig) -> None:
        self.limit = config.daily_loss_limit
        self.day: int | None = None
        self.open_equity: float | None = None
        self.halted_day: int | None = None
        self.loss_at_halt = 0.0

    def evaluate(self, inputs: GateInputs) -> Verdict:
        """Track the day's opening equity; halt at the limit until the next UTC day."""
        day = inputs.now_ms // DAY_MS
        if self.day is None or day > self.day or self.open_equity is None:
            self.day, self.open_equity = day, inputs.equity
        if self.halted_day is not None and day > self.halted_day:
            self.halted_day = None
        if self.halted_day is not None:
            return _halt(self._why(self.loss_at_halt))
        if self.limit <= 0:
            return OK
        if self.open_equity <= 0:
            return _halt(f"day's opening equity is {self.open_equity:.2f}: nothing to trade")
        loss = (self.open_equity - inputs.equity) / self.open_equity
        if loss >= self.limit - EPS:
            self.halted_day, self.loss_at_halt = day, loss
            return _halt(self._why(loss))
        return OK

    def _why(self, loss: float) -> str:
        return (
            f"daily loss {loss:.2%} of the day's opening equity {self.open_equity:.2f} reached "
            f"the limit {self.limit:.2%}; halted until 00:00 UTC"
        )

    def to_state(self) -> dict[str, Any]:
        """Return the day, its opening equity and the halted day."""
        return {
            "day": self.day,
            "open_equity": self.open_equity,
            "halted_day": self.halted_day,
            "loss_at_halt": self.loss_at_halt,
        }

    def from_state(self, state: Mapping[str, Any]) -> None:
        """Restore the day's opening equity and any halt."""

        def load(s: Mapping[str, Any]) -> None:
            self.day = None if s["day"] is None else int(s["day"])
            self.open_equity = None if s["open_equity"] is None else float(s["open_equity"])
            self.halted_day = None if s["halted_day"] is None else int(s["halted_day"])
            self.loss_at_halt = float(s["loss_at_halt"])

        _restore(self, state, load)


class DrawdownGuard(Guard):
    """HALTED at ``max_drawdown`` below the window's peak; resumes under ``resume`` x it."""

    name = "drawdown"

    def __init__(self, config: GuardsConfig) -> None:
        self.limit = config.max_drawdown
        self.resume = config.drawdown_resume * config.max_drawdown
        self.window_ms = config.drawdown_window_days * DAY_MS
        self.peaks: list[tuple[int, float]] = []  # sliding maximum: equities strictly falling
        self.halted = False

    def _peak(self, now: int, equity: float) -> float:
        # samples are kept per hour (a peak may expire up to an hour late: a longer halt, never
        # a shorter one), so the saved state stays small however often the gate is updated
        bucket = now - now % HOUR_MS
        while self.peaks and self.peaks[-1][1] <= equity:
            self.peaks.pop()
        if not self.peaks or self.peaks[-1][0] != bucket:
            self.peaks.append((bucket, equity))
        if self.window_ms <= 0:
            del self.peaks[1:]  # the all-time peak is all that matters
        else:
            horizon = now - self.window_ms
            while len(self.peaks) > 1 and self.peaks[0][0] + HOUR_MS <= horizon:
                self.peaks.pop(0)
        return self.peaks[0][1]

    def evaluate(self, inputs: GateInputs) -> Verdict:
        """Update the peak; trip at the limit, lift only under the resume level."""
        peak = self._peak(inputs.now_ms, inputs.equity)
        if self.limit <= 0:
            self.halted = False
            return OK
        dd = (peak - inputs.equity) / peak if peak > 0 else 1.0
        if not self.halted and dd >= self.limit - EPS:
            self.halted = True
        elif self.halted and dd < self.resume - EPS:
            self.halted = False
        if not self.halted:
            return OK
        return _halt(
            f"drawdown {dd:.2%} from the peak {peak:.2f} (limit {self.limit:.2%}, "
            f"resumes under {self.resume:.2%})"
        )

    def to_state(self) -> dict[str, Any]:
        """Return the window's candidate peaks and the halt flag."""
        return {"peaks": [[ts, eq] for ts, eq in self.peaks], "halted": self.halted}

    def from_state(self, state: Mapping[str, Any]) -> None:
        """Restore the peaks and the halt."""

        def load(s: Mapping[str, Any]) -> None:
            self.peaks = [(int(ts), float(eq)) for ts, eq in s["peaks"]]
            self.halted = bool(s["halted"])

        _restore(self, state, load)


class MarginGuard(Guard):
    """REDUCING at the soft margin-ratio limit; HALTED (or flatten) at the hard one."""

    name = "margin"

    def __init__(self, config: GuardsConfig) -> None:
        self.soft = config.margin_soft
        self.hard = config.margin_hard
        self.flatten = config.margin_hard_action == "flatten"

    def evaluate(self, inputs: GateInputs) -> Verdict:
        """Compare the margin ratio with the limits."""
        ratio = inputs.margin_ratio
        if self.hard > 0 and ratio >= self.hard:
            why = f"margin ratio {ratio:.2%} at or above the hard limit {self.hard:.2%}"
            if self.flatten:
                return Verdict(state=TradingState.REDUCING, reason=f"{why}: flatten", flatten=True)
            return _halt(why)
        if self.soft > 0 and ratio >= self.soft:
            return Verdict(
                state=TradingState.REDUCING,
                reason=f"margin ratio {ratio:.2%} at or above the soft limit {self.soft:.2%}",
            )
        return OK


class BreakerGuard(Guard):
    """The exchange circuit breaker: not closed -> the configured state."""

    name = "breaker"

    def __init__(self, config: GuardsConfig) -> None:
        self.state = TradingState(config.breaker_state)

    def evaluate(self, inputs: GateInputs) -> Verdict:
        """Map the breaker's state into the gate."""
        if inputs.breaker is BreakerState.CLOSED:
            return OK
        return Verdict(state=self.state, reason=f"circuit breaker {inputs.breaker.value}")


class StaleDataGuard(Guard):
    """HALTED while the last closed bar seen closed more than ``stale_bars`` bars ago."""

    name = "stale_data"

    def __init__(self, config: GuardsConfig) -> None:
        self.bars = config.stale_bars

    def evaluate(self, inputs: GateInputs) -> Verdict:
        """Compare the last bar's close with the exchange clock."""
        if inputs.last_bar_ts is None:
            return _halt("no closed bar seen yet")
        age = inputs.now_ms - (inputs.last_bar_ts + inputs.bar_ms)
        if age > self.bars * inputs.bar_ms:
            return _halt(
                f"market data stale: the last closed bar closed {age / inputs.bar_ms:.1f} bars "
                f"ago (limit {self.bars})"
            )
        return OK


class NoTradeGuard(Guard):
    """Alert (once per quiet spell) when targets want trades but nothing filled for N hours."""

    name = "no_trade"

    def __init__(self, config: GuardsConfig) -> None:
        self.quiet_ms = int(config.no_trade_hours * HOUR_MS)
        self.wanting_since: int | None = None
        self.alerted_ref: int | None = None

    def evaluate(self, inputs: GateInputs) -> Verdict:
        """Return ACTIVE, with an alert when the quiet spell passes the limit."""
        if self.quiet_ms <= 0 or not inputs.targets_want_trades:
            self.wanting_since = None
            return OK
        if self.wanting_since is None:
            self.wanting_since = inputs.now_ms
        last_fill = -math.inf if inputs.last_fill_ts is None else inputs.last_fill_ts
        ref = int(max(last_fill, self.wanting_since))
        quiet = inputs.now_ms - ref
        if quiet <= self.quiet_ms or self.alerted_ref == ref:
            return OK
        self.alerted_ref = ref
        return Verdict(
            alert=f"no fills for {quiet / HOUR_MS:.1f} h while the targets want trades "
            f"(limit {self.quiet_ms / HOUR_MS:g} h)"
        )

    def to_state(self) -> dict[str, Any]:
        """Return when the wanting started and which spell was alerted."""
        return {"wanting_since": self.wanting_since, "alerted_ref": self.alerted_ref}

    def from_state(self, state: Mapping[str, Any]) -> None:
        """Restore the quiet-spell memory."""

        def load(s: Mapping[str, Any]) -> None:
            w, a = s["wanting_since"], s["alerted_ref"]
            self.wanting_since = None if w is None else int(w)
            self.alerted_ref = None if a is None else int(a)

        _restore(self, state, load)


def default_guards(config: GuardsConfig) -> list[Guard]:
    """Return one of each guard, configured, in the order the gate evaluates them."""
    return [
        StopFileGuard(),
        DailyLossGuard(config),
        DrawdownGuard(config),
        MarginGuard(config),
        BreakerGuard(config),
        StaleDataGuard(config),
        NoTradeGuard(config),
    ]
