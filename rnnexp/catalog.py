"""The experiment catalog: the `Experiment` contract, and what an experiment file imports.

One file per experiment lives in `experiments/` (named as on the CLI), which
installs as the package `rnnexp.experiments`; it subclasses `Experiment` and
decorates it with `@register`, and the catalog is what importing every module
of that package registers (`rnnexp.registry`). Importing such a file only
declares things: it imports no Keras or TensorFlow and nothing trains or
downloads until `run_trial` (`tests/test_catalog.py` checks this).

Besides the contract, the catalog passes on the core names every experiment
file takes: `register` and the lookups (`get`, `load_catalog`, from
`rnnexp.registry`), and what a trial returns and a finding is made of
(`TrialResult`, `group_mean` from `rnnexp.results`; `Finding`, `Check` from
`rnnexp.finding`).
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnexp.config import ConfigError, apply_overrides, check_common
from rnnexp.finding import Check, Finding
from rnnexp.registry import UnknownExperiment, experiments_dir, get, load_catalog, register
from rnnexp.results import TrialResult, group_mean, group_metric

__all__ = [
    "Check",
    "Experiment",
    "Finding",
    "PaperResult",
    "TrialResult",
    "UnknownExperiment",
    "experiments_dir",
    "get",
    "group_mean",
    "group_metric",
    "load_catalog",
    "register",
]


@dataclass(frozen=True)
class PaperResult:
    """A published number an experiment sets its own against (the README's reproduction table).

    Ours is read from a robustness record (`robustness/RECORD.json`): the mean over
    the finished trials that match `where` of their final `metric`, and of
    their per-epoch `curve` at an early epoch.
    """

    label: str  # the arm, e.g. "GRU, in order"
    source: str  # where the number is published, e.g. "Greydanus 2020, mnist1d README table"
    value: float | None  # the published number; None where it could not be checked
    metric: str  # the trial metric compared with it, e.g. "test_accuracy"
    where: tuple = ()  # (key, value) pairs a trial must match, e.g. (("order", "plain"),)
    curve: str = ""  # the per-epoch metric quoted at an early epoch, e.g. "val_accuracy"
    curve_label: str = ""  # what a person reads for it, e.g. "test accuracy" (default: curve)
    record: str = ""  # the record's file name without .json (default: NAME-ci)
    percent: bool = False  # show values as percentages
    note: str = ""  # how our protocol differs, one short phrase


class Experiment:
    """Base class of every catalog experiment.

    Class attributes:
        name: the CLI name (also the file name in `experiments/`).
        description: the claim, one line (the README's findings table).
        shows: what it shows, a few lines (its page, `docs/experiments/NAME.md`).
            Neither holds a measured number: what a run measured lives in
            `robustness/NAME-PROFILE.json`, and its page is generated from it.
        headline: the label of the check the README's row quotes (default: the
            finding's first check).
        config: the default config (a frozen dataclass instance).
        profiles: named dotted-override dicts; must include `"ci"`.
            `"default"` (no overrides) always exists.
        metric: the final metric `compare` ranks trials by.
        higher_is_better: whether `metric` is a score (True) or a loss.
        expects_failed_trials: some trials are meant to fail (a diverging
            baseline); the finding says which, and CI accepts FAILED children.
        paper_results: the published numbers it reproduces (`PaperResult`), with
            their sources: the README's reproduction table.
        number_names: `{key: plain name}` of the finding's numbers, as its page
            shows them (a key without one shows as the key).
        log_numbers: the keys of numbers that are ratios spanning decades: its
            page shows them as 10^(mean of log10), a geometric mean.
        trial_reads_finding: the `finding.*` settings `run_trial` reads too (they
            shape what a trial measures), so judging a record again cannot change them.
    """

    name: str = ""
    description: str = ""
    shows: str = ""
    headline: str = ""
    trial_reads_finding: tuple[str, ...] = ()
    metric: str | None = None
    higher_is_better: bool = True
    expects_failed_trials: bool = False
    config: Any = None
    profiles: dict[str, dict[str, Any]] = {}
    paper_results: tuple = ()
    number_names: dict[str, str] = {}
    log_numbers: tuple[str, ...] = ()

    # -- config ----------------------------------------------------------
    def profile_names(self) -> list[str]:
        return ["default"] + [p for p in self.profiles if p != "default"]

    def resolve(self, profile="default", overrides=None):
        """The config a run would use: defaults, then profile, then overrides."""
        if profile not in self.profile_names():
            raise ConfigError(
                f"unknown profile {profile!r} for {self.name}; "
                f"choose one of {', '.join(self.profile_names())}"
            )
        cfg = apply_overrides(self.config, self.profiles.get(profile, {}))
        cfg = apply_overrides(cfg, overrides or {})
        check_common(cfg)
        return cfg

    # -- the sweep -------------------------------------------------------
    def trials(self, cfg) -> list[dict]:
        """The grid: one dict of trial parameters per child run."""
        return [{}]

    def trial_name(self, trial: dict) -> str:
        return "-".join(f"{k}={v}" for k, v in trial.items()) or "trial"

    def prepare(self, cfg):
        """Load or generate the data once, before any run starts.

        Raise `ConfigError` (or a subclass) for data that cannot be had: the
        CLI prints it as a one-line error and nothing is tracked.
        """
        return

    def run_trial(self, cfg, trial: dict, ctx) -> TrialResult:
        """Train and evaluate one trial; `ctx.data` is what `prepare` returned."""
        raise NotImplementedError

    def summarize(self, cfg, results: list[TrialResult], out_dir: Path) -> list[Path]:
        """Write plots for the parent run into `out_dir`; return their paths."""
        return []

    def record_extras(self, extras: dict) -> dict:
        """What of one trial's extras its robustness record keeps: what `answer_figure`
        reads (default: all of them; the record drops any too large to keep).

        Override it where a figure reads a summary of a long series (a peak of a
        per-step curve): the record keeps the summary, not the series.
        """
        return extras

    def answer_figure(self, cfg, results: list[TrialResult]):
        """The study's answer as one matplotlib figure: the parent run's `00_answer.png`.

        The default draws `metric` for every group of trials (each parameter but
        the seed), seed mean and t interval, the numeric parameter on the x axis
        (`rnnexp.report.plots.default_answer`). Override it to draw the panels the
        claim needs side by side, with the quantity the finding is about
        annotated; `rnnexp.report.plots` has the pieces (`answer_panels`,
        `interval_lines`, `seed_note`, `finish`).
        """
        from rnnexp.report.plots.answer import default_answer

        return default_answer(self, cfg, results)

    def finding(self, cfg, results: list[TrialResult]) -> Finding:
        """Evaluate the expected finding on the results."""
        raise NotImplementedError

    def finding_cases(self):
        """The `rnnexp.finding_cases.FindingCases` the finding is tested with.

        Every shipped experiment has them; CI runs them without training.
        """
        return None

    def data_source(self, cfg, data=None) -> str:
        """A short label of the data a run uses (tagged, and in run names)."""
        return "generated"

    def dataset(self, cfg, trial: dict, data=None):
        """The `rnnexp.data.card.DataCard` of a trial's data (the run's Dataset), or None.

        Generated data (`data_source` "generated") is described from `cfg.data`
        and the trial's seed; an experiment on real data returns its own card.
        """
        if self.data_source(cfg, data) != "generated":
            return None
        from rnnexp.data.card import generated_card

        return generated_card(self.name, getattr(cfg, "data", None), trial)
