"""Rollout stages in the ledger: submit, promote, roll back, and the atomic switch.

Every change is one ledger transaction holding the stage rows, the transition, the meta key
``active_config_version`` (when the active version changes) and the alert in the outbox.
Before it commits, :func:`check_invariant` verifies that exactly one version is at ``full``
and that it is the active one; a violation raises and nothing is written. The engine reads
:func:`active_version` at every bar: that is the whole hand-over (no restart, no signal).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from xsmom.config import Config, version_id
from xsmom.errors import ConfigError, CorruptStateError
from xsmom.ledger import Ledger, LedgerReads, LedgerTx, RolloutStageView
from xsmom.notify import Channel, RolloutTransitioned, enqueue

CANDIDATE, PAPER, SMALL, FULL = "candidate", "paper", "small", "full"
ROLLED_BACK, RETIRED = "rolled_back", "retired"
STAGES = (CANDIDATE, PAPER, SMALL, FULL, ROLLED_BACK, RETIRED)
IN_PIPELINE = (CANDIDATE, PAPER, SMALL)
NEXT_STAGE = {CANDIDATE: PAPER, PAPER: SMALL, SMALL: FULL}
ACTIVE_KEY = "active_config_version"


@dataclass(frozen=True, kw_only=True)
class Transition:
    """What one stage change did."""

    version: str
    from_stage: str | None
    to_stage: str
    reason: str
    active_version: str | None
    previous_active: str | None


def active_version(reads: LedgerReads) -> str | None:
    """Return the active config version (the one the engine trades), or None."""
    value = reads.get_meta(ACTIVE_KEY)
    return None if value is None else str(value)


def active_config(reads: LedgerReads) -> Config | None:
    """Return the active config, read from the ledger's config versions, or None."""
    vid = active_version(reads)
    return None if vid is None else config_of(reads, vid)


def config_of(reads: LedgerReads, version: str) -> Config:
    """Return the config of a version recorded in the ledger."""
    from xsmom.config import config_from_dict

    return config_from_dict(dict(reads.config_version(version).config), f"version {version[:12]}")


def resolve(reads: LedgerReads, ref: str) -> str:
    """Return the full version id in the pipeline that starts with ``ref``."""
    hits = [v for v in reads.rollout_stages() if v.startswith(ref.lower())] if ref else []
    if len(hits) == 1:
        return hits[0]
    if not hits:
        raise ConfigError(f"no version {ref!r} in the rollout (xsmom rollout status lists them)")
    raise ConfigError(f"version prefix {ref!r} is ambiguous ({', '.join(h[:12] for h in hits)})")


def check_invariant(reads: LedgerReads) -> None:
    """Raise CorruptStateError unless exactly one version is ``full`` and it is the active one.

    A ledger without an active version (nothing activated yet) must have no ``full`` row.
    """
    full = sorted(v for v, s in reads.rollout_stages().items() if s.stage == FULL)
    active = active_version(reads)
    if active is None and not full:
        return
    if full != [active]:
        raise CorruptStateError(
            f"rollout: active version {active} but versions at full: {full or 'none'}"
        )


def move(
    tx: LedgerTx,
    version: str,
    to_stage: str,
    *,
    reason: str,
    now_ms: int,
    channels: Sequence[Channel] = (),
    detail: Mapping[str, Any] | None = None,
) -> Transition | None:
    """Put ``version`` at ``to_stage`` (no active-version change); None if already there."""
    if to_stage not in STAGES:
        raise ConfigError(f"unknown rollout stage {to_stage!r} ({', '.join(STAGES)})")
    before = tx.rollout_stages().get(version)
    if not tx.set_rollout_stage(version, stage=to_stage, ts=now_ms, reason=reason, detail=detail):
        return None
    active = active_version(tx)
    t = Transition(
        version=version,
        from_stage=None if before is None else before.stage,
        to_stage=to_stage,
        reason=reason,
        active_version=active,
        previous_active=active,
    )
    _alert(tx, t, now_ms, channels)
    return t


def activate(
    tx: LedgerTx,
    version: str,
    *,
    reason: str,
    now_ms: int,
    channels: Sequence[Channel] = (),
    old_stage: str = RETIRED,
) -> list[Transition]:
    """Make ``version`` the active one (stage ``full``); the old active goes to ``old_stage``.

    One transaction: both stage rows, the meta key, the transitions and the alerts; the
    invariant is checked before the caller's commit.
    """
    stages = tx.rollout_stages()
    if version not in stages:
        raise ConfigError(f"version {version[:12]} is not in the rollout")
    prev = active_version(tx)
    out: list[Transition] = []
    if prev is not None and prev != version:
        prev_row = stages.get(prev)
        keep = dict(prev_row.detail) if prev_row is not None else {}
        tx.set_rollout_stage(
            prev, stage=old_stage, ts=now_ms, reason=reason, detail={**keep, "replaced_by": version}
        )
        out.append(_transition(prev, prev_row, old_stage, reason, version, prev))
    row = stages[version]
    detail = {k: v for k, v in row.detail.items() if k != "replaced_by"}
    if old_stage == RETIRED:  # a promotion remembers what to return to
        detail["previous"] = prev
    tx.set_rollout_stage(version, stage=FULL, ts=now_ms, reason=reason, detail=detail)
    out.append(_transition(version, row, FULL, reason, version, prev))
    tx.set_meta(ACTIVE_KEY, version, now_ms)
    check_invariant(tx)
    for t in out:
        _alert(tx, t, now_ms, channels)
    return out


def _transition(
    version: str,
    row: RolloutStageView | None,
    to_stage: str,
    reason: str,
    active: str,
    prev: str | None,
) -> Transition:
    return Transition(
        version=version,
        from_stage=None if row is None else row.stage,
        to_stage=to_stage,
        reason=reason,
        active_version=active,
        previous_active=prev,
    )


def _alert(tx: LedgerTx, t: Transition, now_ms: int, channels: Sequence[Channel]) -> None:
    msg = RolloutTransitioned(
        ts_event=now_ms,
        ts_init=now_ms,
        version=t.version,
        from_stage=t.from_stage or "new",
        to_stage=t.to_stage,
        reason=t.reason,
        active_version=t.active_version or "",
        previous_active=t.previous_active or "",
    )
    enqueue(tx, msg, channels, now_ms)


def record_config(tx: LedgerTx, config: Config, now_ms: int) -> str:
    """Record ``config`` as a ledger config version; return its id (the content hash)."""
    vid = version_id(config)
    tx.record_config_version(vid, config.model_dump(mode="json"), now_ms)
    return vid


def ensure_active(
    ledger: Ledger, config: Config, *, now_ms: int, channels: Sequence[Channel] = ()
) -> str:
    """Make ``config`` the active version when the ledger has none yet; return the active id.

    For the engine's first start: later starts keep what the rollout made active.
    """
    with ledger.transaction() as tx:
        current = active_version(tx)
        if current is not None:
            return current
        vid = record_config(tx, config, now_ms)
        move(tx, vid, CANDIDATE, reason="initial config", now_ms=now_ms)
        activate(tx, vid, reason="initial config of the engine", now_ms=now_ms, channels=channels)
        return vid


@dataclass(frozen=True, kw_only=True)
class Submitted:
    """The outcome of a submission."""

    version: str
    added: bool
    stage: str


def submit(
    ledger: Ledger,
    config: Config,
    *,
    source: str,
    now_ms: int,
    channels: Sequence[Channel] = (),
) -> Submitted:
    """Add ``config`` as a candidate, unless the same version is already in the rollout."""
    with ledger.transaction() as tx:
        vid = version_id(config)
        existing = tx.rollout_stages().get(vid)
        if existing is not None:
            return Submitted(version=vid, added=False, stage=existing.stage)
        record_config(tx, config, now_ms)
        move(
            tx,
            vid,
            CANDIDATE,
            reason=f"submitted by {source}",
            now_ms=now_ms,
            channels=channels,
            detail={"source": source},
        )
        return Submitted(version=vid, added=True, stage=CANDIDATE)
