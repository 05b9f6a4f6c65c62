"""adding: the adding problem at several lengths T (Hochreiter & Schmidhuber 1997).

Each input step carries a U(0, 1) value and a marker; two steps are marked,
one in each half, and the target is the sum of their values. A model with no
memory can only predict the mean, 1, and scores MSE = Var = 2/12 ~ 0.167 --
the baseline every paper reports (Le et al. 2015; Arjovsky et al. 2016). The
first marked value must be carried across at least T/2 steps: vanishing
gradients keep a SimpleRNN on the baseline while the gated cells solve it.

Data: generated (`rnnexp.data.long_range.adding_problem`), a fresh draw per
seed, held-out test sequences.

    python -m rnnexp run adding
    python -m rnnexp run adding --profile ci --check

Measured results, and what each profile costs: `docs/experiments/adding.md` (generated).

Expected result (asserted by `--check`): at the longest T, the best gated
cell's test MSE (geometric mean over seeds) is below `finding.solved_ratio`
x baseline, and the SimpleRNN stays above `finding.stuck_ratio` x baseline.
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
class AddingConfig:
    seed: int = 0
    data: TaskConfig = TaskConfig(name="adding")
    model: StackConfig = StackConfig(units=32)
    train: TrainConfig = TrainConfig(epochs=15, learning_rate=1e-2)
    sweep: LengthSweep = LengthSweep()
    finding: FindingThresholds = FindingThresholds()


@register
class Adding(LongRangeExperiment):
    name = "adding"
    description = (
        "the adding problem at T=50..200: gated cells beat the variance baseline, SimpleRNN not"
    )
    shows = (
        "the adding problem at T=50/100/200 against the variance baseline (1/6: predicting the "
        "mean; Hochreiter & Schmidhuber 1997)"
    )
    baseline_label = "predict 1 (MSE 0.167)"
    config = AddingConfig()
    profiles = {
        "ci": {"sweep.lengths": (100,), "data.train_size": 5000},
        "full": {"sweep.lengths": (50, 100, 200, 400), "sweep.seeds": 3, "train.epochs": 30},
    }
