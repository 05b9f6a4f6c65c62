"""The catalog as a package: experiments in the wheel, a CLI that imports no framework to answer.

`list`, `show`, `--help`, `run --dry-run` and config errors must not import
TensorFlow, Keras or MLflow (they cost seconds and print C++ start-up lines);
a wheel installed outside the checkout must carry the experiments.
"""

import json
import os
import re
import resource
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from rnnexp import cli, registry

ROOT = Path(__file__).resolve().parent.parent
FRAMEWORKS = ("tensorflow", "keras", "mlflow", "matplotlib")

# Runs the CLI in a fresh interpreter and reports which frameworks it imported.
PROBE = """
import json, sys
from rnnexp.cli import main
code = main(sys.argv[1:])
loaded = [m for m in {frameworks!r} if m in sys.modules]
print("PROBE " + json.dumps({{"code": code, "loaded": loaded}}))
"""


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k != "RNNEXP_EXPERIMENTS_DIR"}
    return {**env, "TF_CPP_MIN_LOG_LEVEL": "0", **extra}  # any C++ chatter would show


def probe(*argv, cwd=ROOT, env=None):
    """`(exit status, frameworks imported, stdout without the probe line, stderr, cpu s)`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, "-c", PROBE.format(frameworks=FRAMEWORKS), *argv],
        cwd=cwd,
        env=env or _env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    lines = proc.stdout.splitlines()
    found = [json.loads(line[6:]) for line in lines if line.startswith("PROBE ")]
    assert found, f"the CLI did not finish: {proc.stderr[-2000:]}"
    out = "\n".join(line for line in lines if not line.startswith("PROBE "))
    return found[0]["code"], found[0]["loaded"], out, proc.stderr, cpu


def test_declaring_the_catalog_imports_no_framework():
    code = (
        "import json, sys; from rnnexp import catalog; names = sorted(catalog.load_catalog()); "
        f"print(json.dumps([names, [m for m in {FRAMEWORKS!r} if m in sys.modules]]))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=_env(), capture_output=True, text=True, timeout=120
    )
    names, loaded = json.loads(proc.stdout.strip().splitlines()[-1])
    assert "imdb_seqlen" in names and len(names) >= 13
    assert loaded == [], f"importing the experiments imported {loaded}"
    assert proc.stderr == ""


@pytest.mark.parametrize(
    "argv",
    [
        ["list"],
        ["show", "translation", "--profile", "ci"],
        ["run", "imdb_seqlen", "--profile", "ci", "--dry-run"],
        ["run", "captioning", "--dry-run", "--set", "model.units=8"],
    ],
)
def test_quick_commands_answer_quietly_without_a_framework(argv):
    code, loaded, out, err, cpu = probe(*argv)
    assert code == 0 and out
    assert loaded == [], f"{' '.join(argv)} imported {loaded}"
    assert err == "", f"{' '.join(argv)} wrote to stderr: {err[:500]}"
    assert cpu < 2.0, f"{' '.join(argv)} used {cpu:.1f} s of CPU"


@pytest.mark.parametrize(
    "argv,message",
    [
        (["run", "imdb_seqlen", "--set", "model.unit=3"], "unknown config key 'model.unit'"),
        (["show", "adding", "--profile", "cii"], "unknown profile 'cii'"),
        (["run", "addin", "--dry-run"], "unknown experiment 'addin'"),
        (["run", "adding", "--set", "train.epochs=0"], "train.epochs"),
    ],
)
def test_config_errors_are_one_line_without_a_framework(argv, message):
    code, loaded, out, err, _ = probe(*argv)
    assert code == 2 and out == ""
    assert loaded == [], f"{' '.join(argv)} imported {loaded}"
    assert len(err.splitlines()) == 1 and err.startswith("error: ") and message in err, err


def test_help_imports_no_framework():
    proc = subprocess.run(
        [sys.executable, "-m", "rnnexp", "--help"], env=_env(), capture_output=True, text=True
    )
    assert proc.returncode == 0 and "list" in proc.stdout and proc.stderr == ""


def test_pyproject_lists_every_package_folder():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    settings = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    folders = {
        ".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "rnnexp").rglob("__init__.py")
    }
    assert folders <= set(settings["packages"]), "a package folder missing from pyproject.toml"
    assert settings["package-dir"] == {"rnnexp.experiments": "experiments"}
    assert (ROOT / "experiments" / "__init__.py").is_file()


def test_a_missing_experiments_package_is_one_line(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv("RNNEXP_EXPERIMENTS_DIR", raising=False)
    monkeypatch.setattr(registry, "PACKAGE", "rnnexp.no_experiments_here")
    monkeypatch.setattr(registry, "SOURCE_EXPERIMENTS", tmp_path / "experiments")
    assert cli.main(["list"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "rnnexp.no_experiments_here is not installed" in err[0]
    assert "reinstall rnnexp" in err[0]


def _setuptools_builds_this_project() -> bool:
    try:
        import setuptools
    except ImportError:
        return False
    return int(setuptools.__version__.split(".")[0]) >= 77


@pytest.mark.skipif(
    not _setuptools_builds_this_project(),
    reason="building the wheel offline needs setuptools>=77 (pip install -e '.[test]')",
)
def test_the_wheel_carries_the_catalog_outside_the_checkout(tmp_path):
    # Build from a copy, so that the checkout gets no build/ or egg-info.
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("rnnexp", "experiments"):
        shutil.copytree(ROOT / name, src / name, ignore=ignore)
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]
    dist = tmp_path / "dist"
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(dist), str(src)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = dist.glob("rnnexp-*.whl")
    site = tmp_path / "site"
    subprocess.run(
        [*pip, "install", "--no-deps", "--target", str(site), str(wheel)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    assert (site / "rnnexp" / "experiments" / "imdb_seqlen.py").is_file()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = _env(PYTHONPATH=str(site))
    where = subprocess.run(
        [sys.executable, "-c", "import rnnexp.experiments as e; print(e.__file__)"],
        cwd=elsewhere,
        env=env,
        capture_output=True,
        text=True,
    )
    assert where.stdout.strip().startswith(str(site)), where.stdout + where.stderr
    code, loaded, out, err, _ = probe("list", cwd=elsewhere, env=env)
    assert code == 0 and err == "" and loaded == []
    # the shipped files, not this process's registry (other tests register toy experiments)
    shipped = {p.stem for p in (ROOT / "experiments").glob("*.py") if p.stem != "__init__"}
    assert {line.split()[0] for line in out.splitlines()} == shipped
    code, loaded, out, err, _ = probe("run", "tagging", "--dry-run", cwd=elsewhere, env=env)
    assert code == 0 and err == "" and "planned trials" in out


def test_a_run_shows_our_console_only(tmp_path):
    tiny = ["data.train_size=64", "data.test_size=10", "sweep.lengths=[5]", "train.epochs=1"]
    argv = ["run", "adding", "--profile", "ci", "--set", 'sweep.archs=["rnn"]']
    argv += [a for s in tiny for a in ("--set", s)]
    argv += ["--tracking-uri", f"sqlite:///{tmp_path}/store/mlflow.db"]
    env = _env()
    del env["TF_CPP_MIN_LOG_LEVEL"]  # as a user runs it; the start-up lines ignore it anyway
    proc = subprocess.run(
        [sys.executable, "-m", "rnnexp", *argv],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "finding:" in proc.stdout
    # our own "importing Keras ..." line appears only when the import is slow (a loaded machine)
    chatter = [
        ln
        for ln in proc.stderr.splitlines()
        if not re.match(r"rnnexp: (still )?importing Keras and ", ln)
    ]
    assert chatter == [], f"framework chatter on stderr: {proc.stderr[:800]}"
    verbose = subprocess.run(
        [sys.executable, "-m", "rnnexp", *argv, "--verbose"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert verbose.returncode == 0 and verbose.stderr, "--verbose shows the start-up lines"


def test_a_folder_of_your_own_experiments_replaces_the_catalog(tmp_path):
    (tmp_path / "mine.py").write_text(
        "import dataclasses\n"
        "from rnnexp.catalog import Experiment, register\n\n"
        "@dataclasses.dataclass(frozen=True)\nclass Cfg:\n    seed: int = 0\n\n"
        "@register\nclass Mine(Experiment):\n"
        "    name = 'mine'\n    description = 'a toy'\n    config = Cfg()\n"
        "    profiles = {'ci': {}}\n"
    )
    code, loaded, out, err, _ = probe("list", env=_env(RNNEXP_EXPERIMENTS_DIR=str(tmp_path)))
    assert code == 0 and err == "" and loaded == []
    assert out.split()[0] == "mine" and "translation" not in out
    code, _, out, err, _ = probe("list", env=_env(RNNEXP_EXPERIMENTS_DIR=str(tmp_path / "no")))
    assert code == 2 and len(err.splitlines()) == 1 and "is not a folder" in err
