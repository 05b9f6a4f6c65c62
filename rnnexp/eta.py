"""How long a sweep has left, and time in words.

The ETA weighs each remaining trial by its cost (`trial_cost`: sequence length x
epochs) and fits the finished trials' times to it (`EtaModel`); `eta_text` and
`duration` say the result as a person reads it.
"""

import math

__all__ = ["EtaModel", "duration", "eta_text", "trial_cost"]


def duration(seconds: float) -> str:
    """`42 s`, `6 min`, `1 h 05 min`: as precise as a person reads an ETA."""
    seconds = max(0.0, float(seconds))
    if seconds < 90:
        return f"{round(seconds)} s"
    minutes = round(seconds / 60)
    if minutes < 90:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def trial_cost(cfg, trial: dict) -> tuple[float, str]:
    """A trial's relative cost and its basis: sequence length x epochs where the config has them.

    Recurrent training is sequential in time, so an epoch costs about as many steps as the
    sequences are long; the length is the trial's own (`trial["length"]`) or the data's
    (`cfg.data.length`), the epochs `cfg.train.epochs`.
    """
    data, train = getattr(cfg, "data", None), getattr(cfg, "train", None)
    length = trial.get("length", getattr(data, "length", None))
    epochs = getattr(train, "epochs", None)
    factors, names = [], []
    if isinstance(length, (int, float)) and length > 0:
        factors.append(float(length))
        names.append("length")
    if isinstance(epochs, int) and epochs > 0:
        factors.append(float(epochs))
        names.append("epochs")
    if not factors:
        return 1.0, "trial count"
    return math.prod(factors), " x ".join(names)


class EtaModel:
    """Seconds left in a sweep, from what its finished trials took.

    Each trial has a relative cost (`trial_cost`: sequence length x epochs) and, where the
    store has one, the time the same trial took in the last sweep. The estimate uses, in
    order of preference:

    - the last sweep's times of the trials left, scaled by how this sweep's finished trials
      compare with their own last times (the machine may be busier or idler now);
    - time = a + b * cost fitted to the finished trials (a: what every trial pays to build,
      trace and evaluate; b: per unit of cost); with one cost seen so far, time per cost.
      Where early stopping ends trials before their last epoch, a finished trial's cost counts
      the epochs it ran, and a trial left is expected to run the mean share of its epochs
      that the finished ones ran, with one full run counted in (early stopping is fickle);
    - the mean time of the finished trials, where every trial costs the same.

    Args:
        epochs: the epochs each trial may run, when `costs` count them (else None).
    """

    def __init__(
        self,
        costs: list[float],
        basis: str,
        last_times: list[float | None] | None = None,
        epochs: int | None = None,
    ):
        self.costs, self.cost_basis, self.epochs = [float(c) for c in costs], basis, epochs
        self.last = list(last_times or [None] * len(costs))
        self.seen: dict[int, float] = {}
        self.share: dict[int, float] = {}  # of its epochs a finished trial ran

    def observe(self, index: int, seconds: float, epochs_run: int | None = None):
        self.seen[index] = float(seconds)
        if self.epochs and epochs_run:
            self.share[index] = min(1.0, epochs_run / self.epochs)

    def remaining(self, todo) -> tuple[float | None, str]:
        """`(seconds, basis)` for the trials `todo`; None before any trial finished."""
        todo = [i for i in todo if i not in self.seen]
        if not todo:
            return 0.0, "nothing left"
        if not self.seen:
            return None, "no trial finished yet"
        known = [i for i in self.seen if self.last[i]]
        if known and all(self.last[i] for i in todo):
            scale = sum(self.seen[i] for i in known) / sum(self.last[i] for i in known)
            return scale * sum(self.last[i] for i in todo), "the same trials in the last sweep"
        if len(set(self.costs)) == 1:
            mean = sum(self.seen.values()) / len(self.seen)
            return mean * len(todo), "the mean time of finished trials"
        if len({self.costs[i] for i in self.seen}) == 1:  # a fixed cost, or one per unit?
            return None, f"once trials of two costs ({self.cost_basis}) have finished"
        a, b = self._fit()
        shares = [self.share.get(i, 1.0) for i in self.seen]
        expected = (sum(shares) + 1.0) / (len(shares) + 1)
        return sum(a + b * self.costs[i] * expected for i in todo), f"trial cost {self.cost_basis}"

    def _fit(self) -> tuple[float, float]:
        """Least squares time = a + b * cost run, with a, b >= 0."""
        xs = [self.costs[i] * self.share.get(i, 1.0) for i in self.seen]
        ys = [self.seen[i] for i in self.seen]
        mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
        sxx = sum((x - mx) ** 2 for x in xs)
        if sxx == 0:  # early stopping made the costs run equal: proportional
            return 0.0, my / mx
        b = sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / sxx
        a = my - b * mx
        if b <= 0:  # longer trials were not slower (noise): equal cost
            return my, 0.0
        if a < 0:  # no fixed cost: proportional through the origin
            return 0.0, sum(x * y for x, y in zip(xs, ys)) / sum(x * x for x in xs)
        return a, b


def eta_text(seconds: float | None, basis: str) -> str:
    if seconds is None:
        return "ETA after the first trial" if basis == "no trial finished yet" else f"ETA {basis}"
    return f"ETA {duration(seconds)}, from {basis}"
