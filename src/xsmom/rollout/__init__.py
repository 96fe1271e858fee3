"""Staged rollout of config versions: candidate -> paper -> small -> full, with rollback.

- `submit`, `ensure_active`, `active_version`, `activate`, `check_invariant` (:mod:`.stages`):
  the stage rows and the active version in the ledger, changed in single transactions.
- `Pipeline`: the evaluator's verdicts applied each bar (``tick``) or by hand.
- `Shadow`: paper-stage versions trading the paper adapter beside the active config.
- `RolloutHook`: the engine's per-bar hook (``Shadow.on_bar`` then ``Pipeline.tick``).
- `capital_plan`, `blend_targets`, `SmallStageBlend`: what the engine trades while a version
  is at small (`SmallStageBlend` is the engine's targets plan).
- `RestartCommand`: the optional command run after a switch (``rollout.restart_command``).
- `judge`, `bands` (:mod:`.evaluator`): live figures against a paired bootstrap band.

The engine and the rollout share nothing but the ledger: the engine reads
``active_version(ledger)`` and ``capital_plan(ledger)`` at every bar (docs/rollout.md).
"""

from xsmom.rollout.blend import CapitalPlan, SmallStageBlend, blend_targets, capital_plan
from xsmom.rollout.evaluator import Band, Paired, Verdict, bands, judge
from xsmom.rollout.hook import RolloutHook
from xsmom.rollout.pipeline import Evaluation, Pipeline
from xsmom.rollout.restart import RestartCommand, RestartOutcome
from xsmom.rollout.shadow import Shadow, ShadowStep
from xsmom.rollout.stages import (
    ACTIVE_KEY,
    STAGES,
    Submitted,
    Transition,
    activate,
    active_config,
    active_version,
    check_invariant,
    ensure_active,
    resolve,
    submit,
)
from xsmom.rollout.tracks import Track, account_track, pair, paper_track

__all__ = [
    "ACTIVE_KEY",
    "STAGES",
    "Band",
    "CapitalPlan",
    "Evaluation",
    "Paired",
    "Pipeline",
    "RestartCommand",
    "RestartOutcome",
    "RolloutHook",
    "Shadow",
    "ShadowStep",
    "SmallStageBlend",
    "Submitted",
    "Track",
    "Transition",
    "Verdict",
    "account_track",
    "activate",
    "active_config",
    "active_version",
    "bands",
    "blend_targets",
    "capital_plan",
    "check_invariant",
    "ensure_active",
    "judge",
    "pair",
    "paper_track",
    "resolve",
    "submit",
]
