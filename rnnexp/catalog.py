"""The experiment catalog: the `Experiment` contract and a strict registry.

One file per experiment lives in `experiments/` (named as on the CLI), which
installs as the package `rnnexp.experiments`; it subclasses `Experiment` and
decorates it with `@register`, and the catalog is what importing every module
of that package registers. Importing such a file only declares things: it
imports no Keras or TensorFlow and nothing trains or downloads until
`run_trial` (`tests/test_catalog.py` checks this).

An experiment file needs one import line, from here: besides the contract and
`register`, the catalog passes on what a trial returns and a finding is made
of (`TrialResult`, `group_mean` from `rnnexp.results`; `Finding`, `Check` from
`rnnexp.finding`).
"""

import dataclasses
import difflib
import importlib
import importlib.machinery
import importlib.util
import os
import pkgutil
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rnnexp.config import ConfigError, apply_overrides, check_common
from rnnexp.finding import Check, Finding
from rnnexp.results import EPOCHS_EXTRA, TrialResult, group_mean, group_metric

__all__ = [
    "EPOCHS_EXTRA",
    "CatalogMissing",
    "Check",
    "Experiment",
    "Finding",
    "PaperResult",
    "TrialResult",
    "UnknownExperiment",
    "experiments_dir",
    "experiments_package",
    "get",
    "group_mean",
    "group_metric",
    "load_catalog",
    "register",
    "registry",
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


_REGISTRY: dict[str, Experiment] = {}


class UnknownExperiment(ConfigError):
    pass


def register(cls: type[Experiment]) -> type[Experiment]:
    """Class decorator adding an experiment; a second use of a name raises."""
    exp = cls()
    if not exp.name:
        raise ValueError(f"{cls.__name__} has no name")
    if exp.name in _REGISTRY:
        raise ValueError(f"experiment {exp.name!r} is already registered")
    if "ci" not in exp.profiles:
        raise ValueError(f"experiment {exp.name!r} has no 'ci' profile")
    if not dataclasses.is_dataclass(exp.config):
        raise ValueError(f"experiment {exp.name!r}: config must be a dataclass instance")
    _REGISTRY[exp.name] = exp
    return cls


def registry() -> dict[str, Experiment]:
    return dict(_REGISTRY)


PACKAGE = "rnnexp.experiments"
# Experiment files from a folder of your own (tests use it) import under this name.
LOCAL_PACKAGE = "rnnexp_local_experiments"
# Where a source checkout keeps the package (pyproject.toml maps it to PACKAGE).
SOURCE_EXPERIMENTS = Path(__file__).resolve().parent.parent / "experiments"


class CatalogMissing(ConfigError):
    """The experiments package cannot be found: a broken or partial install."""


def _package_from_folder(name: str, folder: Path):
    """The package `name` over `folder` (registered in `sys.modules`), created once."""
    module = sys.modules.get(name)
    if module is None:
        init = folder / "__init__.py"
        if init.is_file():
            spec = importlib.util.spec_from_file_location(
                name, init, submodule_search_locations=[str(folder)]
            )
        else:  # a plain folder of experiment files
            spec = importlib.machinery.ModuleSpec(name, None, is_package=True)
            spec.submodule_search_locations = [str(folder)]
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        if spec.loader is not None:
            try:
                spec.loader.exec_module(module)
            except BaseException:
                del sys.modules[name]
                raise
    elif str(folder) not in module.__path__:
        module.__path__.append(str(folder))
    return module


def experiments_package():
    """The package whose modules are the catalog, one experiment per module.

    `rnnexp.experiments` as installed (the checkout's top-level `experiments/`
    folder, mapped by pyproject.toml); in a source checkout used without
    (re)installing, that folder beside the package under the same name; or
    `$RNNEXP_EXPERIMENTS_DIR`, a folder of your own experiment files, instead.
    """
    override = os.environ.get("RNNEXP_EXPERIMENTS_DIR")
    if override:
        folder = Path(override).resolve()
        if not folder.is_dir():
            raise CatalogMissing(
                f"RNNEXP_EXPERIMENTS_DIR={override} is not a folder; "
                "point it at a folder of experiment files, or unset it"
            )
        return _package_from_folder(LOCAL_PACKAGE, folder)
    try:
        return importlib.import_module(PACKAGE)
    except ModuleNotFoundError as err:
        if err.name != PACKAGE:
            raise
    if (SOURCE_EXPERIMENTS / "__init__.py").is_file():
        return _package_from_folder(PACKAGE, SOURCE_EXPERIMENTS)
    raise CatalogMissing(
        f"the experiments package {PACKAGE} is not installed beside {Path(__file__).parent}; "
        "reinstall rnnexp (pip install rnnexp, or pip install -e . in a checkout)"
    )


def experiments_dir() -> Path:
    """The folder of the experiments package in use (see `experiments_package`)."""
    return Path(list(experiments_package().__path__)[-1])


def load_catalog() -> dict[str, Experiment]:
    """Import every module of the experiments package once (each registers itself)."""
    package = experiments_package()
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            name = f"{package.__name__}.{info.name}"
            try:
                importlib.import_module(name)
            except Exception as err:  # a broken experiment file is the user's to fix: name it
                raise ExperimentFileError(_file_fault(err, info)) from None
    if not any(type(e).__module__.startswith(f"{package.__name__}.") for e in _REGISTRY.values()):
        folders = ", ".join(map(str, package.__path__))
        raise CatalogMissing(f"no experiments in {folders}; add an experiment file there")
    return registry()


class ExperimentFileError(ConfigError):
    """An experiment file that cannot be imported or registered."""


def _file_fault(err: Exception, info) -> str:
    """`FILE:LINE: what went wrong; what to do`, for an experiment module that failed."""
    import traceback

    path = Path(info.module_finder.path) / f"{info.name}.py"
    if not path.is_file():
        path = Path(info.module_finder.path) / info.name / "__init__.py"
    line = getattr(err, "lineno", None) if isinstance(err, SyntaxError) else None
    if line is None:
        frames = [f for f in traceback.extract_tb(err.__traceback__) if f.filename == str(path)]
        line = frames[-1].lineno if frames else None
    where = f"{path}:{line}" if line else str(path)
    what = (str(err).splitlines() or [""])[0][:300]
    other = re.match(r"experiment '(.+)' is already registered", what)
    if other and other.group(1) in _REGISTRY:
        module = sys.modules.get(type(_REGISTRY[other.group(1)]).__module__)
        first = getattr(module, "__file__", "another file")
        return f"{where}: experiment {other.group(1)!r} is also registered by {first}; rename one"
    return f"{where}: {type(err).__name__}: {what}; fix the file or move it out of the folder"


def get(name: str) -> Experiment:
    """The registered experiment `name`; an unknown name lists the known ones."""
    known = load_catalog()
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownExperiment(
            f"unknown experiment {name!r}{hint}; known: {', '.join(sorted(known))}"
        )
    return known[name]
