"""Injected faults: per-endpoint error rates, latency, lost responses, rejects, maintenance.

A fault plan comes from a YAML/JSON file (``--faults FILE``) or ``POST /admin/faults`` (same
shape, replaces the plan)::

    seed: 7                          # RNG seed, one RNG per endpoint pattern: same seed and
                                     # same requests to that endpoint = same faults
    endpoints:                       # key: "METHOD /path", "/path" or "*" (first match wins)
      "POST /fapi/v1/order":
        error_rate: 0.3              # share of requests answered with one of ``errors``
        errors: [500, 503, 429, 418, timeout, drop, late, stall]
        retry_after: 2               # seconds, for 429/418
        timeout_s: 3.0               # how long ``timeout``/``late``/``stall`` hold the request
        latency_ms: 50               # added to every request of this endpoint
        drop_response_rate: 0.1      # the order IS placed, then the connection closes unanswered
        reject_rate: 0.1             # refuse order placement with ``reject``
        reject: margin               # margin (-2019) | min_notional (-4164) | price_filter (-4014)
    maintenance:                     # venue-time windows answered 503 / -1001 (ISO or ms)
      - {start: "2025-06-01T00:00:00Z", end: "2025-06-01T00:30:00Z"}
    maintenance_now: false           # admin switch: everything 503 until turned off

Error kinds: ``500``/``502``/``503``/``504`` (plain-text body, as a proxy sends), ``429`` and
``418`` (JSON -1003 with ``Retry-After``), ``timeout`` (stall ``timeout_s`` and close without
applying the request), ``drop`` (apply, then close without an answer), ``late`` (apply, answer
after ``timeout_s``), ``stall`` (hold the request ``timeout_s``, then apply it, as a request
stuck between Binance's gateway and its matching engine: the client has usually given up by
then; the venue checks ``recvWindow`` again when it applies it and refuses a stale one with
-5028, as Binance's matching engine does).
"""

from __future__ import annotations

import json
import random
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from xsmom.errors import ConfigError

ERROR_KINDS = frozenset(
    {"500", "502", "503", "504", "429", "418", "timeout", "drop", "late", "stall"}
)
REJECTS = {
    "margin": (-2019, "Margin is insufficient."),
    "min_notional": (
        -4164,
        "Order's notional must be no smaller than 5 (unless you choose reduce only).",
    ),
    "price_filter": (-4014, "Price not increased by tick size."),
}
ORDER_PATHS = frozenset({"/fapi/v1/order", "/fapi/v1/algoOrder", "/fapi/v1/batchOrders"})
_ENDPOINT_KEYS = frozenset(
    {
        "error_rate",
        "errors",
        "retry_after",
        "timeout_s",
        "latency_ms",
        "drop_response_rate",
        "reject_rate",
        "reject",
    }
)


@dataclass(frozen=True)
class EndpointFaults:
    """Faults of one endpoint pattern."""

    error_rate: float = 0.0
    errors: tuple[str, ...] = ("500",)
    retry_after: int = 1
    timeout_s: float = 3.0
    latency_ms: float = 0.0
    drop_response_rate: float = 0.0
    reject_rate: float = 0.0
    reject: str = "margin"


@dataclass(frozen=True)
class Decision:
    """What to do to one request."""

    latency_s: float = 0.0
    error: str | None = None  # one of ERROR_KINDS, "reject" or "maintenance"
    retry_after: int = 1
    timeout_s: float = 3.0
    reject: tuple[int, str] | None = None


@dataclass
class FaultPlan:
    """A parsed fault plan (see the module docstring)."""

    seed: int = 0
    endpoints: dict[str, EndpointFaults] = field(default_factory=dict)
    maintenance: list[tuple[int, int]] = field(default_factory=list)
    maintenance_now: bool = False


def _ms(value: Any) -> int:
    """Return a time given as ms or as an ISO date (UTC when no zone is given) in ms."""
    if isinstance(value, int | float):
        return int(value)
    ts = pd.Timestamp(str(value))
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value // 1_000_000)


def _number(raw: Mapping[str, Any], key: str, default: float, where: str) -> float:
    """Return a non-negative number of a plan, or raise ConfigError naming it."""
    value = raw.get(key, default)
    try:
        number = float(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"faults: {key} of {where} must be a number, not {value!r}") from exc
    if not number >= 0.0 or number == float("inf"):  # also refuses NaN
        raise ConfigError(f"faults: {key} of {where} must be a finite number >= 0")
    return number


def _endpoint(name: str, raw: Any) -> EndpointFaults:
    if not isinstance(raw, Mapping):
        raise ConfigError(f"faults: endpoint {name!r} must map settings to values")
    unknown = set(raw) - _ENDPOINT_KEYS
    if unknown:
        raise ConfigError(f"faults: unknown keys {sorted(unknown)} for endpoint {name!r}")
    listed = raw.get("errors", ["500"])
    if not isinstance(listed, list | tuple) or not listed:
        raise ConfigError(f"faults: errors of endpoint {name!r} must be a non-empty list")
    errors = tuple(str(e) for e in listed)
    bad = set(errors) - ERROR_KINDS
    if bad:
        raise ConfigError(f"faults: unknown error kinds {sorted(bad)} (use {sorted(ERROR_KINDS)})")
    reject = str(raw.get("reject", "margin"))
    if reject not in REJECTS:
        raise ConfigError(f"faults: reject must be one of {sorted(REJECTS)}, not {reject!r}")
    where = f"endpoint {name!r}"
    rates = [
        _number(raw, k, 0.0, where) for k in ("error_rate", "drop_response_rate", "reject_rate")
    ]
    if any(r > 1.0 for r in rates):
        raise ConfigError(f"faults: rates must lie in [0, 1] for endpoint {name!r}")
    return EndpointFaults(
        error_rate=rates[0],
        errors=errors,
        retry_after=int(_number(raw, "retry_after", 1, where)),
        timeout_s=_number(raw, "timeout_s", 3.0, where),
        latency_ms=_number(raw, "latency_ms", 0.0, where),
        drop_response_rate=rates[1],
        reject_rate=rates[2],
        reject=reject,
    )


def _windows(raw: Any) -> list[tuple[int, int]]:
    if not isinstance(raw, list):
        raise ConfigError("faults: maintenance must be a list of {start, end} windows")
    try:
        windows = [(_ms(w["start"]), _ms(w["end"])) for w in raw]
    except (KeyError, TypeError, ValueError) as exc:
        raise ConfigError(f"faults: maintenance windows need start and end ({exc})") from exc
    if any(a >= b for a, b in windows):
        raise ConfigError("faults: a maintenance window must end after it starts")
    return windows


def parse_plan(raw: Mapping[str, Any]) -> FaultPlan:
    """Validate a fault plan given as data; raise :class:`ConfigError` on anything unknown."""
    if not isinstance(raw, Mapping):
        raise ConfigError("faults: a plan must be a mapping")
    unknown = set(raw) - {"seed", "endpoints", "maintenance", "maintenance_now"}
    if unknown:
        raise ConfigError(f"faults: unknown keys {sorted(unknown)}")
    endpoints = raw.get("endpoints") or {}
    if not isinstance(endpoints, Mapping):
        raise ConfigError("faults: endpoints must map 'METHOD /path' to settings")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"faults: seed must be an integer, not {seed!r}")
    return FaultPlan(
        seed=seed,
        endpoints={str(k): _endpoint(str(k), v or {}) for k, v in endpoints.items()},
        maintenance=_windows(raw.get("maintenance") or []),
        maintenance_now=bool(raw.get("maintenance_now", False)),
    )


def load_plan(path: Path | str) -> FaultPlan:
    """Read a fault plan from a YAML or JSON file."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"faults: cannot read {p}: {exc}") from exc
    try:
        raw = json.loads(text) if p.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        problem = " ".join(str(exc).split())  # YAML's messages span lines
        raise ConfigError(f"faults: {p} is not valid YAML/JSON: {problem}") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"faults: {p} must hold a mapping")
    return parse_plan(raw)


class FaultInjector:
    """Decide, request by request, which fault (if any) to inject; thread-safe, seeded."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.replace(plan or FaultPlan())

    def replace(self, plan: FaultPlan) -> None:
        """Install a new plan and reseed the RNG with its seed."""
        with self._lock:
            self.plan = plan
            self._rngs: dict[str, random.Random] = {}

    def _match(self, method: str, path: str) -> tuple[str, EndpointFaults] | None:
        eps = self.plan.endpoints
        for key in (f"{method} {path}", path, "*"):
            if key in eps:
                return key, eps[key]
        return None

    def _rng(self, key: str) -> random.Random:
        """Return the RNG of one endpoint pattern: its faults do not depend on other traffic."""
        if key not in self._rngs:
            self._rngs[key] = random.Random(f"{self.plan.seed}:{key}")
        return self._rngs[key]

    def decide(self, method: str, path: str, venue_now: int) -> Decision:
        """Return the fault for one request (no fault: ``Decision()``)."""
        with self._lock:
            decision = self._decide(method, path, venue_now)
            key = decision.error or "ok"
            self.counts[key] = self.counts.get(key, 0) + 1
            return decision

    def _decide(self, method: str, path: str, venue_now: int) -> Decision:
        if path.startswith("/admin"):
            return Decision()
        if self.plan.maintenance_now or any(a <= venue_now < b for a, b in self.plan.maintenance):
            return Decision(error="maintenance")
        matched = self._match(method, path)
        if matched is None:
            return Decision()
        key, ep = matched
        rng = self._rng(key)
        error: str | None = None
        reject: tuple[int, str] | None = None
        if _hit(rng, ep.error_rate):
            error = rng.choice(ep.errors)
        elif method == "POST" and path in ORDER_PATHS and _hit(rng, ep.reject_rate):
            error, reject = "reject", REJECTS[ep.reject]
        elif _hit(rng, ep.drop_response_rate):
            error = "drop"
        return Decision(
            latency_s=ep.latency_ms / 1000.0,
            error=error,
            retry_after=ep.retry_after,
            timeout_s=ep.timeout_s,
            reject=reject,
        )


def _hit(rng: random.Random, rate: float) -> bool:
    return rate > 0 and rng.random() < rate
