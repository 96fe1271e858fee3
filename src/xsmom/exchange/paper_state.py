"""The paper account's files: a small snapshot rewritten atomically, and an append-only journal.

``paper.json`` (the snapshot) holds what changes in place: the account (wallet, positions,
marks), the open orders, the prices, the next ids, the catch-up cursors, and how many lines of
the journal it covers (``journal.lines`` and ``journal.bytes``). ``paper.json.journal.jsonl``
(the journal) holds what only grows, one JSON object a line: fills (``"k": "fill"``), orders
that closed (``"k": "order"``, their final state) and funding settlements (``"k": "funding"``).

A save appends the new history to the journal (flushed and fsynced) and then replaces the
snapshot: the snapshot is the commit point. At load, journal lines beyond the snapshot's count
(a crash between the two steps) are cut off with a warning; fewer lines than the count is a
`CorruptStateError`. So a save writes O(new fills) bytes however long the account has run.

Version 1 (everything in one JSON file) is still read; the next save writes version 2.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from xsmom.data.atomic import atomic_write_text
from xsmom.errors import CorruptStateError
from xsmom.sim import MatchingEngine

log = logging.getLogger(__name__)
STATE_VERSION = 2
_READABLE = (OSError, ValueError, KeyError, TypeError, AttributeError)


def journal_path(state_path: Path) -> Path:
    """Return the journal file next to the snapshot ``state_path``."""
    return state_path.with_name(state_path.name + ".journal.jsonl")


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


@dataclass
class _Written:
    """What the files already hold (the journal's extent and the history it covers)."""

    lines: int = 0
    nbytes: int = 0
    fills: int = 0
    funding: int = 0
    next_order: int = 1  # orders from this id on are new since the last save
    open_ids: set[int] = field(default_factory=set)  # orders open at the last save


@dataclass(frozen=True)
class Loaded:
    """A paper state read back: the engine, its catch-up cursors and the config it ran with."""

    engine: MatchingEngine
    bar_cursor: dict[str, int]
    funding_cursor: dict[str, int]


class PaperState:
    """Read and write one paper account's snapshot and journal (see the module docstring)."""

    def __init__(self, state_path: Path) -> None:
        self.path = Path(state_path)
        self.journal = journal_path(self.path)
        self._written = _Written()

    # ---- loading -----------------------------------------------------------------------------
    def load(self) -> Loaded | None:
        """Return the saved state, None if there is none; CorruptStateError if unreadable."""
        if not self.path.exists():
            return None
        try:
            doc = json.loads(self.path.read_text(encoding="utf-8"))
            version = doc.get("version")
            if version == 1:
                snap = doc["engine"]
            elif version == STATE_VERSION:
                snap = self._assemble(doc)
            else:
                raise CorruptStateError(f"{self.path}: unknown state version {version!r}")
            engine = MatchingEngine.restore(snap)
            loaded = Loaded(
                engine=engine,
                bar_cursor={s: int(v) for s, v in doc["bar_cursor"].items()},
                funding_cursor={s: int(v) for s, v in doc["funding_cursor"].items()},
            )
        except CorruptStateError:
            raise
        except _READABLE as exc:
            raise CorruptStateError(f"paper state {self.path} is unreadable: {exc}") from exc
        if version == 1:
            log.warning("paper state %s is version 1; the next save converts it", self.path)
            self._cut_journal(0, 0)  # the whole history goes to a new journal at the next save
        else:
            self._written.lines = int(doc["journal"]["lines"])
            self._written.nbytes = int(doc["journal"]["bytes"])
            self._written.fills = engine.next_ids[1] - 1
            self._written.funding = len(engine.account.funding)
            self._written.next_order = engine.next_ids[0]
            self._written.open_ids = {o.order_id for o in engine.open_orders()}
        log.info("paper state restored from %s", self.path)
        return loaded

    def _assemble(self, doc: Mapping[str, Any], *, cut: bool = True) -> dict[str, Any]:
        """Return the engine snapshot of a version-2 state: its head plus the journal
        (``cut``: truncate what lies beyond the covered lines)."""
        head = doc["engine"]
        lines, nbytes = int(doc["journal"]["lines"]), int(doc["journal"]["bytes"])
        fills: list[dict[str, Any]] = []
        orders: list[dict[str, Any]] = list(head["open_orders"])
        funding: list[dict[str, Any]] = []
        kinds = {"fill": fills, "order": orders, "funding": funding}
        for raw in self._read_journal(lines, nbytes, cut=cut):
            entry = json.loads(raw)
            kinds[entry.pop("k")].append(entry)
        orders.sort(key=lambda o: int(o["order_id"]))  # the engine keeps them by id
        snap = {k: v for k, v in head.items() if k != "open_orders"}
        return {
            **snap,
            "account": {**head["account"], "funding": funding},
            "orders": orders,
            "fills": fills,
        }

    def _read_journal(self, lines: int, nbytes: int, *, cut: bool) -> list[bytes]:
        """Return the journal's first ``lines`` lines; cut off what a crash left beyond them."""
        data = self.journal.read_bytes() if self.journal.exists() else b""
        kept = data[:nbytes].split(b"\n")
        if len(data) < nbytes or len(kept) != lines + 1 or kept[-1] != b"":
            found = data.count(b"\n")
            raise CorruptStateError(
                f"paper journal {self.journal} has {found} lines, {len(data)} bytes; "
                f"the snapshot {self.path.name} covers {lines} lines, {nbytes} bytes"
            )
        if cut and len(data) > nbytes:
            self._cut_journal(lines, nbytes, extra=len(data) - nbytes)
        return kept[:-1]

    def _cut_journal(self, lines: int, nbytes: int, *, extra: int | None = None) -> None:
        self._written.lines, self._written.nbytes = lines, nbytes
        if not self.journal.exists():
            return
        size = self.journal.stat().st_size if extra is None else nbytes + extra
        if size <= nbytes:
            return
        log.warning(
            "paper journal %s: dropping %d bytes beyond the %d lines the snapshot covers "
            "(a save that did not finish)",
            self.journal,
            size - nbytes,
            lines,
        )
        with open(self.journal, "r+b") as fh:
            fh.truncate(nbytes)
            os.fsync(fh.fileno())

    # ---- saving ------------------------------------------------------------------------------
    def save(self, engine: MatchingEngine, extra: Mapping[str, Any]) -> None:
        """Append the new history to the journal, then replace the snapshot (with ``extra``)."""
        w = self._written
        entries, open_ids = self._new_history(engine)
        lines, nbytes = w.lines, w.nbytes
        if entries:
            blob = "".join(_dumps(e) + "\n" for e in entries).encode("utf-8")
            self._append(blob)
            lines, nbytes = lines + len(entries), nbytes + len(blob)
        next_order, next_trade = engine.next_ids
        head = {
            "markets": {s: asdict(m) for s, m in engine.markets.items()},
            "fees": asdict(engine.fees),
            "account": engine.account.snapshot(funding=False),
            "open_orders": [asdict(o) for o in engine.open_orders()],
            **engine.prices_state(),
            "next_order_id": next_order,
            "next_trade_id": next_trade,
            "unknown_volume_fills": engine.unknown_volume_fills,
        }
        doc = {
            "version": STATE_VERSION,
            **extra,
            "journal": {"file": self.journal.name, "lines": lines, "bytes": nbytes},
            "engine": head,
        }
        atomic_write_text(self.path, _dumps(doc))
        w.lines, w.nbytes = lines, nbytes
        w.fills, w.funding = next_trade - 1, len(engine.account.funding)  # ids count from 1
        w.next_order, w.open_ids = next_order, open_ids

    def _new_history(self, engine: MatchingEngine) -> tuple[list[dict[str, Any]], set[int]]:
        """Return the journal entries since the last save and the ids of the open orders."""
        w = self._written
        entries = [{"k": "fill", **asdict(f)} for f in engine.fills_from(w.fills)]
        candidates = sorted(w.open_ids) + list(range(w.next_order, engine.next_ids[0]))
        open_ids: set[int] = set()
        for oid in candidates:
            order = engine.order(order_id=oid)
            if order.is_open:
                open_ids.add(oid)
            else:
                entries.append({"k": "order", **asdict(order)})
        entries += [{"k": "funding", **asdict(p)} for p in engine.account.funding[w.funding :]]
        return entries, open_ids

    def _append(self, blob: bytes) -> None:
        """Append ``blob`` durably after the journal's committed part (dropping any debris)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.journal, "ab") as fh:
            fh.truncate(self._written.nbytes)  # a save that failed after its append
            fh.write(blob)
            fh.flush()
            os.fsync(fh.fileno())


def read_engine(state_path: Path) -> MatchingEngine:
    """Return the engine of a saved paper state without changing its files."""
    try:
        doc = json.loads(state_path.read_text(encoding="utf-8"))
        if doc.get("version") == 1:
            return MatchingEngine.restore(doc["engine"])
        if doc.get("version") != STATE_VERSION:
            raise CorruptStateError(f"{state_path}: unknown state version {doc.get('version')!r}")
        return MatchingEngine.restore(PaperState(state_path)._assemble(doc, cut=False))
    except _READABLE as exc:
        raise CorruptStateError(f"paper state {state_path} is unreadable: {exc}") from exc
