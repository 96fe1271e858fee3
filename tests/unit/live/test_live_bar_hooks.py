"""Bar hooks run after every processed bar; one that raises is recorded, never stops trading."""

from __future__ import annotations

from pathlib import Path

from xsmom.data.bundled import sample_store
from xsmom.ledger import open_ledger
from xsmom.live.active import BarContext
from xsmom.live.engine import Engine


def test_hooks_run_and_a_failing_hook_is_recorded(tmp_path: Path) -> None:
    seen: list[int] = []

    def good(ctx: BarContext) -> None:
        seen.append(ctx.bar_ts)

    def bad(ctx: BarContext) -> None:
        raise ValueError("candidate broke")

    from xsmom.config import Config
    from xsmom.data import load_panel

    panel = load_panel(sample_store())
    with open_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}") as ledger:
        eng = Engine.__new__(Engine)  # only the hook runner is exercised here
        eng.hooks, eng.ledger = [good, bad], ledger
        ctx = BarContext(
            bar_ts=1, now_ms=2, config=Config(), version="v", panel=panel, weights={}, ledger=ledger
        )
        eng._run_hooks(ctx)
        assert seen == [1]
        events = ledger.guard_events(guard="engine")
        assert [e.event for e in events] == ["hook_failed"]
        assert "candidate broke" in events[0].reason
