"""What a run prints: banners, trial progress with ETA, tables."""

import sys
import time

__all__ = ["Progress", "banner", "format_table", "is_tty", "say"]


def is_tty() -> bool:
    return sys.stdout.isatty()


def say(*parts):
    print(*parts, flush=True)


def banner(text: str):
    """A message that must not be missed (e.g. 'this run uses synthetic data')."""
    line = "!" * min(100, max(len(t) for t in text.splitlines()) + 4)
    say(line)
    for t in text.splitlines():
        say(f"! {t}")
    say(line)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


class Progress:
    """Trial counter with an ETA from the mean duration of finished trials."""

    def __init__(self, total: int):
        self.total, self.done, self.start = total, 0, time.monotonic()

    def begin(self, index: int, name: str):
        elapsed = time.monotonic() - self.start
        eta = ""
        if self.done:
            remaining = elapsed / self.done * (self.total - self.done)
            eta = f", ETA {_duration(remaining)}"
        say(f"[trial {index + 1}/{self.total}] {name} (elapsed {_duration(elapsed)}{eta})")

    def end(self):
        self.done += 1

    def elapsed(self) -> str:
        return _duration(time.monotonic() - self.start)


def _cell(value) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _markdown_cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def format_table(rows: list[dict], columns: list[str] | None = None, markdown=False) -> str:
    """Rows of dicts as an aligned text table (or a markdown table)."""
    if not rows:
        return "(no rows)"
    columns = columns or list(dict.fromkeys(k for row in rows for k in row))
    cells = [[_cell(row.get(c, "")) for c in columns] for row in rows]
    if markdown:  # a `|` or line break in a cell (an error message) would split the row
        cols = [_markdown_cell(c) for c in columns]
        lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in columns) + "|"]
        lines += ["| " + " | ".join(_markdown_cell(v) for v in r) + " |" for r in cells]
        return "\n".join(lines)
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths)) for r in cells]
    return "\n".join(lines)
