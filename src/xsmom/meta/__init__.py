"""Meta-labeling: events, triple-barrier labels, features, purged CV, models and the gate.

Build on the strategy (xsmom.strategy); know nothing of the exchange, live or the ledger.
"""

from xsmom.meta.artifact import ModelSet, load_model_set
from xsmom.meta.events import Events, entry_events, strategy_events
from xsmom.meta.gate import apply_gate, gate_book
from xsmom.meta.labels import LabelSpec, default_spec, triple_barrier
from xsmom.meta.models import TrainOptions

__all__ = [
    "Events",
    "LabelSpec",
    "ModelSet",
    "TrainOptions",
    "apply_gate",
    "default_spec",
    "entry_events",
    "gate_book",
    "load_model_set",
    "strategy_events",
    "triple_barrier",
]
