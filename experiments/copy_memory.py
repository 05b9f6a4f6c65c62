"""copy_memory: recall 10 symbols after T blank steps (Hochreiter & Schmidhuber 1997).

The input is 10 symbols out of 8, T-1 blanks, a "go" marker and 10 more
blanks; the model must output blanks and then the 10 symbols. A model
without memory outputs blanks and then guesses uniformly: per-step
cross-entropy 10 log(8) / (T + 20), the baseline of Arjovsky et al. (2016).
Holding 30 bits for T steps is what separates the gated cells from a
SimpleRNN.

Data: generated (`rnnexp.data.long_range.copy_memory`), a fresh draw per
seed, held-out test sequences.

    python -m rnnexp run copy_memory
    python -m rnnexp run copy_memory --profile ci --check

Measured results, and what each profile costs: `docs/experiments/copy_memory.md` (generated).

Expected result (asserted by `--check`): at the longest T, the best gated
cell's cross-entropy (geometric mean over seeds; `ci` runs 3) is below
`finding.solved_ratio` x baseline, and the SimpleRNN's is at least
`finding.min_loser_factor` times the best gated cell's. At T=20 (`ci`) the
SimpleRNN mostly stays at the memoryless baseline, but not at every seed: at
some it learns part of the copy (see `finding`), so its own ratio is
reported, not asserted.
"""

import dataclasses

from rnnexp.catalog import register
from rnnexp.recipes.long_range import (
    LengthSweep,
    LongRangeExperiment,
    TaskConfig,
    FindingThresholds,
)
from rnnexp.models import StackConfig
from rnnexp.training import TrainConfig


@dataclasses.dataclass(frozen=True)
class CopyConfig:
    seed: int = 0
    data: TaskConfig = TaskConfig(name="copy")
    model: StackConfig = StackConfig(units=128)
    # 40 epochs: the GRU's T=100 loss still falls at 25
    train: TrainConfig = TrainConfig(epochs=40, learning_rate=1e-2)
    sweep: LengthSweep = LengthSweep(lengths=(20, 50, 100))
    # set from single seeds (least favourable 0.12 and 8.4x over 17); kept for the geometric
    # mean over 3 seeds that ci asserts now (history: docs/experiments/copy_memory.md)
    finding: FindingThresholds = FindingThresholds(
        solved_ratio=0.3, stuck_ratio=None, min_loser_factor=3.0
    )


@register
class CopyMemory(LongRangeExperiment):
    name = "copy_memory"
    description = (
        "recall symbols after T blanks: gated cells beat the memoryless baseline, SimpleRNN not"
    )
    shows = (
        "recall symbols after T blanks against the memoryless 10·log 8/(T+20) (Arjovsky et al. "
        "2016)"
    )
    baseline_label = "memoryless: to_copy·log(symbols)/(T+2·to_copy)"
    config = CopyConfig()
    profiles = {
        # 5 symbols to recall (15 bits) instead of 10: learnt in 10 epochs (margins: docs page)
        "ci": {
            "sweep.lengths": (20,),
            "data.to_copy": 5,
            "model.units": 64,
            "train.epochs": 10,
            "sweep.seeds": 3,  # the claim on the geometric mean over seeds, not on one seed
        },
        "full": {"sweep.lengths": (20, 50, 100, 200), "sweep.seeds": 3, "train.epochs": 50},
    }
