"""From bars and a config to the labelled events a meta-model trains on."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xsmom.config.meta import MetaConfig
from xsmom.config.schema import Config, StrategyConfig
from xsmom.data.panel import MarketPanel
from xsmom.errors import ConfigError
from xsmom.meta.cv import uniqueness_weights
from xsmom.meta.events import Events, strategy_events
from xsmom.meta.features import event_features, feature_names
from xsmom.meta.labels import LabelSpec, triple_barrier
from xsmom.strategy.targets import RebalanceBook, compute_targets

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Dataset:
    """Labelled events of one training window, in time order."""

    names: tuple[str, ...]
    x: F64
    y: npt.NDArray[np.int64]
    net: F64  # net return of the trade after costs (for the expected-PnL threshold)
    weight: F64  # average label uniqueness, mean 1
    events: Events
    end: I64  # label end bar of each event
    start_bar: int  # the training window [start_bar, stop_bar) of the panel
    stop_bar: int

    @property
    def size(self) -> int:
        """Return the number of samples."""
        return int(self.y.size)


def ungated(cfg: StrategyConfig) -> StrategyConfig:
    """Return the strategy settings without meta gating (what a model is trained on)."""
    return cfg.model_copy(update={"meta": MetaConfig()})


def strategy_book(panel: MarketPanel, cfg: StrategyConfig) -> RebalanceBook:
    """Return the ungated rebalance book the strategy computes on ``panel``."""
    books: list[RebalanceBook] = []

    def keep(book: RebalanceBook) -> F64:
        books.append(book)
        return book.weights

    compute_targets(panel, ungated(cfg), on_book=keep)
    return books[0]


def build_dataset(
    panel: MarketPanel, cfg: Config, spec: LabelSpec, start: int = 0, stop: int | None = None
) -> Dataset:
    """Return the events decided in bars ``[start, stop)`` whose labels end before ``stop``.

    Features read bars up to each event's close and labels end before ``stop``, so no bar at
    or after ``stop`` enters the dataset: truncating the panel there changes nothing.
    """
    stop = panel.n_bars if stop is None else stop
    book = strategy_book(panel, cfg.strategy)
    ev = strategy_events(book)
    ev = ev.take((ev.bar >= start) & (ev.bar < stop))
    lab = triple_barrier(panel.slice(0, stop), cfg, ev, spec)
    keep = (lab.label >= 0) & (lab.end < stop)
    ev = ev.take(keep)
    if ev.size < 20:
        raise ConfigError(
            f"only {ev.size} labelled entries in the training window: widen it (--start/--end)"
        )
    end = lab.end[keep]
    order = np.lexsort((ev.col, ev.bar))
    ev, end = ev.take(order), end[order]
    return Dataset(
        names=feature_names(cfg.strategy),
        x=event_features(book, ev.bar, ev.col, ev.side),
        y=lab.label[keep][order].astype(np.int64),
        net=lab.net[keep][order],
        weight=uniqueness_weights(ev.bar, end),
        events=ev,
        end=end,
        start_bar=start,
        stop_bar=stop,
    )
