"""Pure strategy functions on arrays: no I/O, no clock, no exchange."""

from xsmom.strategy.cache import StageCache
from xsmom.strategy.targets import Targets, compute_targets

__all__ = ["StageCache", "Targets", "compute_targets"]
