"""Out-of-sample comparison of the strategy with and without a walk-forward meta-filter.

Each fold's model gates only its own test window (from its ``apply_from``, which is after its
training window, to the next fold's); the same windows are backtested without the filter.
Bars before a window warm up the signals and the book, as in ``xsmom backtest --start``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from xsmom.backtest import run_backtest
from xsmom.config import Config
from xsmom.data.panel import MarketPanel
from xsmom.errors import ConfigError
from xsmom.meta.artifact import load_model_set, read_manifest
from xsmom.meta.cli_support import with_meta
from xsmom.meta.dataset import strategy_book
from xsmom.meta.events import strategy_events
from xsmom.meta.features import event_features
from xsmom.meta.labels import LabelSpec, triple_barrier
from xsmom.strategy import compute_targets

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
KEYS = ("total_return", "sharpe", "max_drawdown", "turnover", "fees", "slippage")


@dataclass(frozen=True)
class WindowResult:
    """Metrics of one out-of-sample window, without and with the filter."""

    name: str
    start_ms: int
    stop_ms: int
    plain: dict[str, float]
    gated: dict[str, float]


def oos_windows(model_dir: Path, panel: MarketPanel) -> list[tuple[str, int, int]]:
    """Return (member, first bar, stop bar) of each member's gating window inside ``panel``."""
    m = read_manifest(model_dir)
    if m.get("mode") != "walk_forward":
        raise ConfigError(f"{model_dir} is not a walk-forward model folder (train --walk-forward)")
    members = sorted(m["members"], key=lambda r: int(r["apply_from_ms"]))
    out = []
    for cur, nxt in zip(members, [*members[1:], None], strict=True):
        lo = int(np.searchsorted(panel.timestamps, int(cur["apply_from_ms"])))
        hi = (
            panel.n_bars
            if nxt is None
            else int(np.searchsorted(panel.timestamps, int(nxt["apply_from_ms"])))
        )
        # the entry traded at bar lo+1 is the first decided on a gated close
        if hi - lo > 2:
            out.append((str(cur["name"]), lo + 1, hi))
    if not out:
        raise ConfigError(f"no gating window of {model_dir} lies inside the data")
    return out


def compare(panel: MarketPanel, cfg: Config, model_dir: Path) -> list[WindowResult]:
    """Backtest each OOS window, and all of them in one run, without and with the filter."""
    gated_cfg = with_meta(cfg, model_dir)
    plain_tg = compute_targets(panel, cfg.strategy)
    gated_tg = compute_targets(panel, gated_cfg.strategy)
    wins = oos_windows(model_dir, panel)
    spans = [*wins, ("all", wins[0][1], wins[-1][2])]
    out = []
    for name, lo, hi in spans:
        a = run_backtest(panel, cfg, targets=plain_tg, start=lo, stop=hi)
        b = run_backtest(panel, gated_cfg, targets=gated_tg, start=lo, stop=hi)
        out.append(
            WindowResult(
                name=name,
                start_ms=int(panel.timestamps[lo]),
                stop_ms=int(panel.timestamps[hi - 1]) + panel.bar_ms,
                plain={k: float(a.metrics[k]) for k in KEYS},
                gated={k: float(b.metrics[k]) for k in KEYS},
            )
        )
    return out


def _auc(p: npt.NDArray[np.float64], y: npt.NDArray[np.int64]) -> float:
    # Mann-Whitney: the chance a random winner scores above a random loser (ties count half)
    pos, neg = p[y == 1], p[y == 0]
    if pos.size == 0 or neg.size == 0:
        return float("nan")
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return float(greater / (pos.size * neg.size))


def classification_row(
    p: npt.NDArray[np.float64],
    y: npt.NDArray[np.int64],
    net: npt.NDArray[np.float64],
    take: npt.NDArray[np.bool_],
) -> dict[str, float]:
    """Return entries, base rate, AUC, share taken, precision, lift and mean net returns."""
    nan = float("nan")
    base = float(y.mean()) if y.size else nan
    prec = float(y[take].mean()) if take.any() else nan
    return {
        "entries": float(y.size),
        "base_rate": base,
        "auc": _auc(p, y),
        "take_rate": float(take.mean()) if y.size else nan,
        "precision": prec,
        "lift": prec / base if base > 0 else nan,
        "mean_net_all": float(net.mean()) if y.size else nan,
        "mean_net_taken": float(net[take].mean()) if take.any() else nan,
    }


def oos_classification(
    panel: MarketPanel, cfg: Config, model_dir: Path
) -> list[tuple[str, dict[str, float]]]:
    """Score each member on the strategy's (ungated) entries of its own window, out of sample.

    Per window: entries, base rate (winners among all entries: the primary signal's
    precision), AUC, share taken at the member's threshold, precision and lift of the taken
    entries, and the mean net return of all and of the taken entries. The last row, ``all``,
    pools every window's entries, each scored by its own window's member (one AUC over all).
    """
    ms = load_model_set(model_dir, cfg.strategy)
    book = strategy_book(panel, cfg.strategy)
    ev = strategy_events(book)
    lab = triple_barrier(panel, cfg, ev, LabelSpec(**ms.manifest["labels"]))
    x = event_features(book, ev.bar, ev.col, ev.side)
    members = {m.name: m for m in ms.members}
    out = []
    pooled: list[tuple[F64, I64, F64, npt.NDArray[np.bool_]]] = []
    for name, lo, hi in oos_windows(model_dir, panel):
        sel = (ev.bar >= lo - 1) & (ev.bar < hi - 1) & (lab.label >= 0)
        fitted = members[name].fitted
        p, y, net = fitted.predict(x[sel]), lab.label[sel].astype(np.int64), lab.net[sel]
        take = p >= fitted.threshold
        pooled.append((p, y, net, take))
        out.append((name, classification_row(p, y, net, take)))
    cols = [np.concatenate(parts) for parts in zip(*pooled, strict=True)]
    out.append(("all", classification_row(cols[0], cols[1], cols[2], cols[3])))
    return out
