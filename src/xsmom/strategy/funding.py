"""Funding tilt from trailing, published funding only."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from xsmom.strategy.rolling import rolling_sum

F64 = npt.NDArray[np.float64]


def trailing_funding(funding_rate: F64, lookback: int) -> F64:
    """Return the mean funding rate per bar over the last ``lookback`` bars.

    ``funding_rate[t]`` holds the events timestamped inside bar t; an event is published at
    its timestamp, which is before the bar closes, so at the close of bar t it is known. The
    next, not yet published rate is never used. Summing per bar makes 1h, 4h and 8h funding
    intervals comparable (a carry per bar).
    """
    return np.asarray(rolling_sum(funding_rate, lookback) / float(lookback))
