"""What a run prints: banners, one line per finished trial with an ETA, a sweep bar, tables.

In a terminal a sweep shows one tqdm bar (trials done, the trial running and its epoch) with
the trial lines printed above it; off a terminal (CI, a pipe) it prints plain lines only.
The ETA itself (each remaining trial weighed by its cost) is `rnnexp.eta`'s.
"""

import sys
import time

from rnnexp.eta import EtaModel, duration, eta_text
from rnnexp.names import plain

__all__ = [
    "SweepProgress",
    "banner",
    "epoch_done",
    "format_table",
    "is_tty",
    "markdown_text",
    "metric_name",
    "say",
    "show_text",
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
