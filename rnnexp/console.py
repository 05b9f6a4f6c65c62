"""What a run prints: banners, one line per finished trial with an ETA, a sweep bar, tables.

In a terminal a sweep shows one tqdm bar (trials done, the trial running and its epoch) with
the trial lines printed above it; off a terminal (CI, a pipe) it prints plain lines only.
The ETA weighs each remaining trial by its cost (`EtaModel`) and says what that cost is.
"""

import math
import sys
import time

from rnnexp.names import plain

__all__ = [
    "EtaModel",
    "SweepProgress",
    "banner",
    "duration",
    "epoch_done",
    "format_table",
    "is_tty",
    "markdown_text",
    "metric_name",
    "recorded_estimate",
    "say",
    "show_text",
    "trial_cost",
    "trial_label",
]

_ACTIVE: "SweepProgress | None" = None  # the sweep whose bar is on screen, if any


def is_tty() -> bool:
    return sys.stdout.isatty()


def say(*parts):
    """Print a line; above the sweep's bar when one is on screen."""
    if _ACTIVE is not None and _ACTIVE.bar is not None:
        _ACTIVE.bar.write(" ".join(str(p) for p in parts))
    else:
        print(*parts, flush=True)


def banner(text: str):
    """A message that must not be missed (e.g. 'this run uses synthetic data')."""
    line = "!" * min(100, max(len(t) for t in text.splitlines()) + 4)
    say(line)
    for t in text.splitlines():
        say(f"! {t}")
    say(line)


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


def metric_name(key: str) -> str:
    """`test_accuracy` -> `test accuracy`."""
    return key.replace("_", " ")


_NOUNS = {"clip": "clipping"}  # a parameter's name as the noun "no ..." takes


def trial_label(trial: dict) -> str:
    """A trial in plain words: `keep the end (pre-truncation), SimpleRNN, L=200, seed 0`."""
    parts = []
    for key, value in trial.items():
        if key == "seed":
            parts.append(f"seed {value}")
        elif key in ("length", "seq_len", "max_seq_len"):
            parts.append(f"L={value}")
        elif isinstance(value, bool):
            parts.append(key.replace("_", " ") if value else f"no {key.replace('_', ' ')}")
        elif isinstance(value, (int, float)):
            parts.append(f"{key.replace('_', ' ')} {value}")
        elif value == "none":  # clip=none: "no clipping", not "none"
            parts.append(f"no {_NOUNS.get(key, key.replace('_', ' '))}")
        else:
            parts.append(plain(value))
    return ", ".join(parts) or "the trial"


def _format_value(value) -> str:
    if isinstance(value, float):
        return f"{value:.3f}" if abs(value) >= 1e-3 or value == 0 else f"{value:.3g}"
    return str(value)


def trial_result_text(result, metric: str | None = None, stopped: str | None = None) -> str:
    """What a finished trial scored and why it stopped, e.g.
    `test accuracy 0.812 (early stopping at epoch 5 of 12, best epoch 3)`."""
    if result.status != "FINISHED":
        return f"{result.status}" + (f": {result.error}" if result.error else "")
    metrics = result.metrics or {}
    if metric and metric in metrics:
        text = f"{metric_name(metric)} {_format_value(metrics[metric])}"
    else:
        shown = [k for k, v in metrics.items() if isinstance(v, float)][:2]
        text = ", ".join(f"{metric_name(k)} {_format_value(metrics[k])}" for k in shown)
        text = text or "finished"
    return f"{text} ({stopped})" if stopped else text


# -- the ETA ---------------------------------------------------------------------------------


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


def recorded_estimate(exp, profile: str, cfg, overrides: dict, records=None) -> str:
    """A sweep's expected wall time from the recorded sweeps (`robustness/NAME-PROFILE.json`).

    The same profile without overrides: the recorded mean. Otherwise the `ci` record scaled
    by the sweeps' total trial cost (`trial_cost`). Says its basis, or that there is none.
    """
    import json
    from pathlib import Path

    from rnnexp.catalog import SOURCE_EXPERIMENTS

    folders = (
        [Path(records)]
        if records
        else [Path("robustness"), SOURCE_EXPERIMENTS.parent / "robustness"]
    )

    def mean_wall(name):
        for folder in folders:
            path = folder / f"{exp.name}-{name}.json"
            try:
                summary = json.loads(path.read_text())["summary"]
                return summary["mean_wall_s"], len(summary["seeds"]), path
            except (OSError, ValueError, KeyError, TypeError):
                continue
        return None

    same = mean_wall(profile) if not overrides else None
    if same and same[0]:
        return f"~{duration(same[0])}, the mean of {same[1]} recorded sweep(s) ({same[2].name})"
    ci = mean_wall("ci")
    if not ci or not ci[0]:
        return "unknown (no recorded sweep of this experiment)"
    ci_cfg = exp.resolve("ci")
    ours = [trial_cost(cfg, t) for t in exp.trials(cfg)]
    theirs = [trial_cost(ci_cfg, t) for t in exp.trials(ci_cfg)]
    scale = sum(c for c, _ in ours) / sum(c for c, _ in theirs)
    return (
        f"~{duration(ci[0] * scale)}, the recorded ci sweeps ({ci[2].name}) scaled by trial "
        f"cost {ours[0][1]}"
    )


# -- the sweep on screen ----------------------------------------------------------------------


class SweepProgress:
    """One sweep's console: a line per finished trial with its ETA; a bar in a terminal.

    Args:
        todo: indices of the trials this process runs, in order.
        names: a label per trial index (`trial_label`).
        eta: the sweep's `EtaModel`.
        metric: the metric each trial line shows.
        bar: draw a tqdm bar (default: when stdout is a terminal).
    """

    def __init__(self, todo, names, eta: EtaModel, metric=None, bar: bool | None = None):
        self.todo, self.names, self.eta, self.metric = list(todo), names, eta, metric
        self.done, self._trial_start = 0, time.monotonic()
        self.bar = None
        if is_tty() if bar is None else bar:
            from tqdm import tqdm

            self.bar = tqdm(
                total=len(self.todo),
                unit="trial",
                dynamic_ncols=True,
                bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} trials [{elapsed}{postfix}]",
                file=sys.stdout,
            )

    def __enter__(self):
        global _ACTIVE
        _ACTIVE = self
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        global _ACTIVE
        if self.bar is not None:
            self.bar.close()
            self.bar = None
        if _ACTIVE is self:
            _ACTIVE = None

    def begin(self, index: int):
        self._trial_start = time.monotonic()
        if self.bar is not None:
            self.bar.set_description_str(f"{self.done + 1}/{len(self.todo)} {self.names[index]}")
            self.bar.set_postfix_str(self._eta_now(), refresh=True)

    def epoch(self, epoch: int, epochs: int):
        """A trial's epoch ended: the bar says so (off a terminal the epoch line does)."""
        if self.bar is not None:
            self.bar.set_postfix_str(f"epoch {epoch}/{epochs}, {self._eta_now()}", refresh=True)

    def finish(self, index: int, result, stopped=None, seconds=None, epochs_run=None):
        """Print the trial's line: `[k/n] label: result (why it stopped), 41 s; ETA ...`."""
        seconds = time.monotonic() - self._trial_start if seconds is None else seconds
        self.done += 1
        if result.status == "FINISHED":
            self.eta.observe(index, seconds, epochs_run)
        left = self.todo[self.todo.index(index) + 1 :] if index in self.todo else []
        eta = "" if not left else f"; {eta_text(*self.eta.remaining(left))}"
        say(
            f"[{self.done}/{len(self.todo)}] {self.names[index]}: "
            f"{trial_result_text(result, self.metric, stopped)}, {duration(seconds)}{eta}"
        )
        if self.bar is not None:
            self.bar.update(1)

    def _eta_now(self) -> str:
        left = self.todo[self.done :]
        seconds, basis = self.eta.remaining(left)
        if seconds is not None:  # less what the running trial has already spent
            seconds = max(0.0, seconds - (time.monotonic() - self._trial_start))
        return eta_text(seconds, basis)


def epoch_done(epoch: int, epochs: int) -> bool:
    """Tell the sweep on screen that an epoch ended; False when no bar shows it."""
    if _ACTIVE is None or _ACTIVE.bar is None:
        return False
    _ACTIVE.epoch(epoch, epochs)
    return True


def show_text(shown: dict, width: int = 100) -> str:
    """`python -m rnnexp show`'s answer for a person: prose wrapped, the config one key a line."""
    import re
    import textwrap

    def prose(text: str) -> str:  # the README's markdown, read as plain text
        return re.sub(r"\*\*|`", "", " ".join(str(text).split()))

    lines = [f"{shown['experiment']} (profile {shown['profile']})"]
    if shown.get("description"):
        lines += textwrap.wrap(prose(shown["description"]), width)
    for key, value in shown.items():
        if key in ("experiment", "profile", "description", "config") or not value:
            continue
        lines.append("")
        lines += textwrap.wrap(
            prose(value), width, initial_indent=f"{key}: ", subsequent_indent="  "
        )
    lines += ["", "config (python -m rnnexp show NAME --format json for machines):"]
    lines += [f"  {key} = {value}" for key, value in _flat(shown.get("config", {}))]
    return "\n".join(lines)


def _flat(tree: dict, prefix: str = ""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _flat(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", value


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _markdown_cell(text: str) -> str:
    """A cell that cannot break a markdown table: `|` escaped, newlines as `<br>`."""
    return text.replace("|", "\\|").replace("\r\n", "\n").replace("\n", "<br>")


def markdown_text(text: str) -> str:
    """Prose that cannot break the markdown around it: `|` escaped, on one line."""
    return " ".join(text.replace("|", "\\|").split())


def format_table(rows: list[dict], columns: list[str] | None = None, markdown=False) -> str:
    """Rows of dicts as an aligned text table (or a markdown table)."""
    if not rows:
        return "(no rows)"
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    cells = [[_cell(row.get(c, "")) for c in columns] for row in rows]
    if markdown:
        head = [_markdown_cell(c) for c in columns]
        lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in columns) + "|"]
        lines += ["| " + " | ".join(_markdown_cell(v) for v in r) + " |" for r in cells]
        return "\n".join(lines)
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)
