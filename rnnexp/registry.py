"""The strict registry of experiments: `register`, a lookup by name, and the experiment files.

`register` adds an experiment class (a second use of a name raises);
`load_catalog` imports every module of the experiments package once, each
registering itself; `get` looks one up and lists the known names when it is
unknown. It knows nothing of what an experiment is (`rnnexp.catalog.Experiment`):
a sweep's worker process looks its experiment up here without the contract's
defaults (figures) coming with it.
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
from pathlib import Path

from rnnexp.config import ConfigError

__all__ = [
    "CatalogMissing",
    "ExperimentFileError",
    "LOCAL_PACKAGE",
    "PACKAGE",
    "SOURCE_EXPERIMENTS",
    "UnknownExperiment",
    "experiments_dir",
    "experiments_package",
    "get",
    "load_catalog",
    "register",
    "registry",
]


_REGISTRY: dict = {}  # name -> the Experiment instance


class UnknownExperiment(ConfigError):
    pass


def register(cls: type) -> type:
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


def registry() -> dict:
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


def load_catalog() -> dict:
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


def get(name: str):
    """The registered experiment `name`; an unknown name lists the known ones."""
    known = load_catalog()
    if name not in known:
        close = difflib.get_close_matches(name, list(known), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise UnknownExperiment(
            f"unknown experiment {name!r}{hint}; known: {', '.join(sorted(known))}"
        )
    return known[name]
