"""Provenance tags: which commit a run used, and whether its tree was dirty."""

import shutil
import subprocess

import pytest

import rnnexp
from rnnexp.tracking import provenance
from rnnexp.tracking.tracker import Tracker

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="needs git")


def _tags(monkeypatch, folder):
    """`git_tags()` as if the package lived in `folder`."""
    monkeypatch.setattr(rnnexp, "__file__", str(folder / "rnnexp" / "__init__.py"))
    provenance.git_tags.cache_clear()
    try:
        return provenance.git_tags()
    finally:
        provenance.git_tags.cache_clear()


def _checkout(tmp_path):
    tmp_path.mkdir(exist_ok=True)

    def git(*args):
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "rnnexp").mkdir()
    (tmp_path / "rnnexp" / "__init__.py").write_text("")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "-m", "init")
    return tmp_path


def test_a_clean_checkout_is_tagged_not_dirty(monkeypatch, tmp_path):
    tags = _tags(monkeypatch, _checkout(tmp_path))
    assert len(tags["git.commit"]) == 40
    assert tags["git.dirty"] == "false"


@pytest.mark.parametrize("change", ["modified", "untracked"])
def test_a_changed_checkout_is_tagged_dirty(monkeypatch, tmp_path, change):
    root = _checkout(tmp_path)
    name = "__init__.py" if change == "modified" else "new_experiment.py"
    (root / "rnnexp" / name).write_text("x = 1\n")
    assert _tags(monkeypatch, root)["git.dirty"] == "true"


def test_outside_a_checkout_neither_tag_is_set(monkeypatch, tmp_path):
    (tmp_path / "rnnexp").mkdir()
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))
    tags = _tags(monkeypatch, tmp_path)
    assert "git.commit" not in tags and "git.dirty" not in tags


def test_without_git_neither_tag_is_set_and_nothing_raises(monkeypatch, tmp_path):
    root = _checkout(tmp_path)
    monkeypatch.setenv("PATH", str(tmp_path / "no-bin-here"))
    tags = _tags(monkeypatch, root)
    assert "git.commit" not in tags and "git.dirty" not in tags


def test_each_sweep_looks_at_the_checkout_again(monkeypatch, tmp_path):
    """A process that runs several sweeps (robustness) tags each with the tree it ran from."""
    from mlflow.tracking import MlflowClient

    root = _checkout(tmp_path / "repo")
    monkeypatch.setattr(rnnexp, "__file__", str(root / "rnnexp" / "__init__.py"))
    provenance.git_tags.cache_clear()
    tracker = Tracker("toy", f"sqlite:///{tmp_path}/mlflow.db")
    dirty = {}
    for edit in (False, True):
        if edit:
            (root / "rnnexp" / "__init__.py").write_text("x = 1\n")
        with tracker.run("sweep") as parent, tracker.run("trial", parent=parent) as child:
            pass
        client = MlflowClient(tracker.uri)
        dirty[edit] = [client.get_run(r.run_id).data.tags["git.dirty"] for r in (parent, child)]
    provenance.git_tags.cache_clear()
    assert dirty == {False: ["false", "false"], True: ["true", "true"]}
