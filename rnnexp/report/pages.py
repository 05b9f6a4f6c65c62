"""The docs a person reads about measured results, generated from the records.

`python -m rnnexp docs --write` writes, from the catalog and `robustness/*.json`:

- the README's findings table (`rnnexp.report.experiments_table`), between its markers;
- `docs/experiments/NAME.md` for every experiment: its claim, its protocol (the
  module docstring), the exact commands, what each profile costs (recorded wall
  times), every check's value, threshold and margin per recorded seed, the
  finding's numbers per arm, a figure of its margins, and its notes and history
  (hand-written in `docs/notes/NAME.md`, included as they are);
- `docs/experiments/NAME-PROFILE-margins.png` and `docs/findings.png`, the forest
  plot of every finding's tightest margin across seeds (the README shows it);
- `docs/robustness.md`'s table (`rnnexp.report.robustness_table`).

`python -m rnnexp docs` (no `--write`) lists the files that drifted from the
records and exits 1, and a test does the same, so a record added by a robustness
run shows up as a stale page until the command runs. An experiment is published
(its row, its page) once it has a record: until then it has no number to show,
and a new experiment file needs nothing here for CI to pass. Nothing here
trains or imports a framework; figures import matplotlib when they are drawn.

This module is the set of generated files and whether each is current; one
experiment's page is `experiment_page`'s, the figures `page_figures`'.
"""

from pathlib import Path

from rnnexp.report import experiments_table, false_alarm, reproduction_table, robustness_table
from rnnexp.report.experiment_page import (
    NOTES,
    PAGES,
    answer_path,
    cost_text,
    figure_path,
    recorded_results,
    records_of,
    render_page,
)
from rnnexp.report.page_figures import write_figures

__all__ = ["Document", "documents", "orphans", "published", "stale", "unpublished", "write_all"]

MAIN = "imdb_seqlen"  # the run the README's quick start explains
COST_BEGIN = "<!-- main-run-cost:begin (generated: python -m rnnexp docs --write) -->"
COST_END = "<!-- main-run-cost:end -->"
ROBUSTNESS_PAGE = "docs/robustness.md"
FALSE_ALARM_PAGE = "docs/false-alarm.md"


class Document:
    """A generated text file: where it goes and what it should hold."""

    def __init__(self, path: Path, text: str, between=None):
        self.path, self.text, self.between = path, text, between

    def current(self) -> bool:
        """Whether the file on disk already holds the generated text."""
        if not self.path.is_file():
            return False
        held = self.path.read_text()
        if self.between is None:
            return held == self.text
        begin, end = self.between
        return f"{begin}\n{self.text}\n{end}" in held

    def write(self):
        if self.between is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(self.text)
        else:
            robustness_table.write_between_markers(self.path, self.text, *self.between)


def _records_dir(root: Path, records_dir) -> Path:
    """The folder of records; none there is an error, not a docs tree of "not measured"."""
    from rnnexp.config import ConfigError

    folder = Path(records_dir) if records_dir else Path(root) / "robustness"
    if not any(folder.glob("*.json")):
        raise ConfigError(
            f"no robustness records in {folder}: run from the checkout (or pass --root CHECKOUT); "
            "`python -m rnnexp robustness NAME` records one"
        )
    return folder


def published(experiments: dict, records_dir) -> dict:
    """The experiments with a record: those the README and the pages show."""
    return {name: exp for name, exp in experiments.items() if records_of(name, records_dir)}


def unpublished(experiments: dict, root: Path, records_dir=None) -> list[str]:
    """The experiments with no record yet, so no row and no page."""
    records_dir = _records_dir(Path(root), records_dir)
    return sorted(set(experiments) - set(published(experiments, records_dir)))


def documents(experiments: dict, root: Path, records_dir=None) -> list[Document]:
    """Every generated text: the README's tables, the robustness page's table, the false-alarm
    page, one page per published experiment."""
    root = Path(root)
    records_dir = _records_dir(root, records_dir)
    experiments = published(experiments, records_dir)
    docs = [
        Document(
            root / "README.md",
            experiments_table.render(experiments, records_dir),
            (experiments_table.BEGIN, experiments_table.END),
        ),
        Document(
            root / "README.md",
            reproduction_table.render(experiments, records_dir),
            (reproduction_table.BEGIN, reproduction_table.END),
        ),
        Document(
            root / ROBUSTNESS_PAGE,
            robustness_table.render(records_dir),
            (robustness_table.BEGIN, robustness_table.END),
        ),
    ]
    docs.append(Document(root / FALSE_ALARM_PAGE, false_alarm.table(records_dir)))
    if MAIN in experiments:
        docs.append(
            Document(
                root / "README.md",
                cost_text(experiments[MAIN], records_dir),
                (COST_BEGIN, COST_END),
            )
        )
    for name in sorted(experiments):
        text = render_page(experiments[name], records_dir, root / NOTES)
        docs.append(Document(root / PAGES / f"{name}.md", text))
    return docs


def orphans(experiments: dict, root: Path, records_dir=None) -> list[Path]:
    """Generated pages and figures in `docs/experiments/` that nothing generates any more."""
    root = Path(root)
    records_dir = _records_dir(root, records_dir)
    experiments = published(experiments, records_dir)
    wanted = {root / PAGES / f"{name}.md" for name in experiments}
    for name in experiments:
        for r in records_of(name, records_dir):
            wanted.add(root / figure_path(name, r["profile"]))
            if recorded_results(r):
                wanted.add(root / answer_path(name, r["profile"]))
    found = [
        *(root / PAGES).glob("*.md"),
        *(root / PAGES).glob("*-margins.png"),
        *(root / PAGES).glob("*-answer.png"),
    ]
    return sorted(path for path in found if path not in wanted)


def stale(experiments: dict, root: Path, records_dir=None) -> list[Path]:
    """The generated texts that differ from the records and catalog, and orphaned files."""
    drifted = [d.path for d in documents(experiments, root, records_dir) if not d.current()]
    return drifted + orphans(experiments, root, records_dir)


def write_all(experiments: dict, root: Path, records_dir=None, figures=True) -> list[Path]:
    """Rewrite every generated text (and the figures); return the paths written."""
    root = Path(root)
    records_dir = _records_dir(root, records_dir)
    for path in orphans(experiments, root, records_dir):
        path.unlink()  # an experiment or record that is gone takes its page and figure along
    written = []
    for doc in documents(experiments, root, records_dir):
        doc.write()
        written.append(doc.path)
    if figures:
        written += write_figures(published(experiments, records_dir), root, records_dir)
    return written
