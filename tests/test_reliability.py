"""The evidence ledger survives faults (issue 32): records, signals, input limits, store faults.

Robustness cases run the CLI in this process on `rel_toy`, an experiment whose
trials train nothing (they report `seed % 3`), so each takes seconds; the
signal cases run it as a subprocess.
"""

import contextlib
import json
import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import mlflow
import numpy as np
import pytest

from rnnexp import cli
from rnnexp.sweep import robustness_record as records
from rnnexp.sweep import robustness_write
from rnnexp.data import token_cache

sys.path.insert(0, str(Path(__file__).parent))
from test_faults import one_line_error, spawn  # noqa: E402

REL_TOY = textwrap.dedent(
    '''
    """rel_toy: one check that fails at every third seed; faults on demand (no training)."""
    import dataclasses
    import os
    import time

    from rnnexp.catalog import Check, Experiment, Finding, TrialResult, register
    from rnnexp.data.records import DataError


    @dataclasses.dataclass(frozen=True)
    class Config:
        seed: int = 0
        width: int = 1
        fail_at: int = -1  # every trial of this seed's sweep fails
        refuse_at: int = -1  # this seed's data is refused before any trial


    @register
    class RelToy(Experiment):
        name = "rel_toy"
        description = "a check that fails at every third seed"
        metric = "score"
        config = Config()
        profiles = {"ci": {}}

        def prepare(self, cfg):
            if cfg.seed == cfg.refuse_at:
                raise DataError(f"data refused at seed {cfg.seed}")

        def trials(self, cfg):
            return [{"value": 1}, {"value": 2}]

        def run_trial(self, cfg, trial, ctx):
            # faults from outside the config, so the same command can run again
            if str(cfg.seed) == os.environ.get("REL_TOY_INTERRUPT_AT"):
                raise KeyboardInterrupt
            if cfg.seed == cfg.fail_at:
                raise FloatingPointError("loss became nan")
            if str(cfg.seed) == os.environ.get("REL_TOY_SLEEP_AT"):
                print("rel_toy: sleeping", flush=True)
                time.sleep(60)
            return TrialResult(trial, metrics={"score": float(cfg.seed % 3)})

        def finding(self, cfg, results):
            finished = [r.metrics["score"] for r in results if r.status == "FINISHED"]
            score = min(finished, default=-1.0)
            return Finding.from_checks(f"score {score}", [Check("score", score, ">=", 1.0)])
    '''
)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """`(record path, store uri)` for `rel_toy`, registered from a toy folder."""
    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "rel_toy.py").write_text(REL_TOY)
    monkeypatch.setenv("RNNEXP_EXPERIMENTS_DIR", str(folder))
    return tmp_path / "records" / "rel_toy-ci.json", f"sqlite:///{tmp_path}/store/mlflow.db"


def rob(capsys, toy, *argv):
    """`(exit status, stdout, stderr)` of `robustness rel_toy` run in this process."""
    record, uri = toy
    args = ["robustness", "rel_toy", "--tracking-uri", uri, "--record", str(record), *argv]
    code = cli.main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def seeds_in(path) -> list[int]:
    return [o["seed"] for o in json.loads(Path(path).read_text())["outcomes"]]


def sweeps(uri) -> list:
    mlflow.set_tracking_uri(uri)
    found = mlflow.search_runs(experiment_names=["rel_toy"], output_format="list")
    return [r for r in found if r.data.tags.get("rnnexp.role") == "sweep"]


# -- 1. faults are never recorded as findings ---------------------------------------------


def test_a_sweep_that_fails_every_trial_is_a_fault_not_a_finding(toy, capsys):
    code, out, err = rob(capsys, toy, "--seeds", 3, "--start", 10, "--set", "fail_at=12")
    assert code == 2 and one_line_error(err)
    assert "seed 12's sweep finished no trial (FloatingPointError: loss became nan)" in err
    assert seeds_in(toy[0]) == [10, 11]  # the seeds before it are kept


def test_a_sweep_that_raises_records_nothing_and_stops(toy, capsys):
    code, out, err = rob(capsys, toy, "--seeds", 3, "--start", 10, "--set", "refuse_at=11")
    assert code == 2 and one_line_error(err) and "data refused at seed 11" in err
    assert "seed 11's sweep stopped before it finished: not recorded" in out
    assert seeds_in(toy[0]) == [10]
    assert "seed 12" not in out  # stopped: a fault is not a reason to go on


def test_a_store_fault_at_a_seed_leaves_the_record_untouched(toy, capsys, monkeypatch):
    from rnnexp.sweep import runner
    from rnnexp.tracking.store import StoreError

    rob(capsys, toy, "--seeds", 2, "--start", 10)
    before = toy[0].read_text()
    run_experiment = runner.run_experiment

    def read_only_at_13(exp, cfg, **kwargs):
        if cfg.seed == 13:
            raise StoreError("store /x/mlflow.db is not writable")
        return run_experiment(exp, cfg, **kwargs)

    monkeypatch.setattr(runner, "run_experiment", read_only_at_13)
    code, out, err = rob(capsys, toy, "--seeds", 2, "--start", 12)
    assert code == 2 and one_line_error(err) and "not writable" in err
    assert seeds_in(toy[0]) == [10, 11, 12]
    assert json.loads(toy[0].read_text())["outcomes"][:2] == json.loads(before)["outcomes"]


def test_a_read_only_store_leaves_the_record_untouched(toy, tmp_path, capsys):
    rob(capsys, toy, "--seeds", 2, "--start", 10)
    before = toy[0].read_text()
    store = tmp_path / "store"
    os.chmod(store, 0o555)
    os.chmod(store / "mlflow.db", 0o444)
    try:
        if os.access(store / "mlflow.db", os.W_OK):
            pytest.skip("running as root: a read-only file is writable")
        code, out, err = rob(capsys, toy, "--seeds", 1, "--start", 13)
    finally:
        os.chmod(store, 0o755)
        os.chmod(store / "mlflow.db", 0o644)
    assert code in (1, 2) and one_line_error(err) and "not writable" in err
    assert toy[0].read_text() == before


@pytest.mark.parametrize("argv", [["--start", 2**32], ["--start", 2**31 - 1, "--seeds", 2]])
def test_seeds_beyond_numpys_range_are_refused_before_anything(toy, capsys, argv):
    code, out, err = rob(capsys, toy, *argv)
    assert code == 2 and one_line_error(err) and "invalid value for seed" in err
    assert not toy[0].exists() and out == ""


def test_run_refuses_a_seed_beyond_numpys_range(toy, capsys):
    code = cli.main(["run", "rel_toy", "--seed", str(2**32), "--tracking-uri", toy[1]])
    err = capsys.readouterr().err
    assert code == 2 and one_line_error(err) and "from 0 to 2147483647" in err


def test_a_billion_seeds_is_refused_at_once(toy, capsys):
    start = time.monotonic()
    code, out, err = rob(capsys, toy, "--seeds", 1_000_000_000)
    assert code == 2 and one_line_error(err) and "--seeds must be 1-1000" in err
    assert time.monotonic() - start < 5


# -- 2. a broken record is refused before training; every seed is kept as it finishes ------


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"experiment": "rel_toy", "outcomes": [', "is not valid JSON (line 1"),
        (
            '{"experiment": "rel_toy", "profile": "ci", "overrides": {}, '
            '"outcomes": [{"passed": true}]}',
            "outcome 1 has no seed",
        ),
        ('{"experiment": "rel_toy", "profile": "ci", "overrides": {}, "outcomes": {}}', "list"),
        ("[]", "expected an object"),
        (b"\xff\xfe{}", "not UTF-8"),
    ],
)
def test_a_broken_record_is_refused_before_any_seed_trains(toy, capsys, content, message):
    record, uri = toy
    record.parent.mkdir(parents=True)
    record.write_bytes(content if isinstance(content, bytes) else content.encode())
    code, out, err = rob(capsys, toy, "--seeds", 2)
    assert code == 2 and one_line_error(err) and message in err and str(record) in err
    assert "git checkout" in err  # what to do
    assert not Path(uri.removeprefix("sqlite:///")).exists()  # nothing ran, no store made
    assert record.read_bytes() == (content if isinstance(content, bytes) else content.encode())


def test_a_record_path_that_is_a_folder_or_not_writable_is_refused_first(toy, tmp_path, capsys):
    folder = tmp_path / "a_folder"
    folder.mkdir()
    code = cli.main(["robustness", "rel_toy", "--record", str(folder), "--tracking-uri", toy[1]])
    err = capsys.readouterr().err
    assert code == 2 and one_line_error(err) and "is a folder" in err
    (tmp_path / "a_file").write_text("x")
    inside = tmp_path / "a_file" / "rel_toy-ci.json"
    code = cli.main(["robustness", "rel_toy", "--record", str(inside), "--tracking-uri", toy[1]])
    err = capsys.readouterr().err
    assert code == 2 and one_line_error(err) and "is a file, not a folder" in err


def test_a_fifo_as_the_record_is_refused_without_blocking(toy, tmp_path, capsys):
    fifo = tmp_path / "fifo.json"
    os.mkfifo(fifo)
    code = cli.main(["robustness", "rel_toy", "--record", str(fifo), "--tracking-uri", toy[1]])
    err = capsys.readouterr().err
    assert code == 2 and one_line_error(err) and "not a regular file" in err


def test_ctrl_c_at_a_seed_keeps_every_seed_finished_before_it(toy, capsys, monkeypatch):
    monkeypatch.setenv("REL_TOY_INTERRUPT_AT", "12")
    code, out, err = rob(capsys, toy, "--seeds", 4, "--start", 10)
    assert code == 130 and "interrupted (Ctrl-C)" in err and "kept in the record" in err
    assert seeds_in(toy[0]) == [10, 11]
    monkeypatch.delenv("REL_TOY_INTERRUPT_AT")
    # the same command again runs only what is missing
    code, out, err = rob(capsys, toy, "--seeds", 4, "--start", 10)
    assert code == 0 and "seeds 10–11 are recorded" in out and "skipped" in out
    assert seeds_in(toy[0]) == [10, 11, 12, 13]
    assert len(sweeps(toy[1])) == 5  # 10, 11, the interrupted 12, then 12 and 13: none twice


def test_writes_are_atomic_a_failed_write_leaves_the_record_and_no_temp_file(tmp_path, monkeypatch):
    path = tmp_path / "toy-ci.json"
    _write_seeds(path, [1], HEADER)
    before = path.read_text()

    def full_disk(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(robustness_write.os, "replace", full_disk)
    with pytest.raises(records.RecordError, match="No space left on device; it is left as"):
        _write_seeds(path, [2], HEADER)
    monkeypatch.undo()
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["toy-ci.json"]


HEADER = {"experiment": "toy", "profile": "ci", "overrides": {}, "seeds_per_sweep": 1}


def _write_seeds(path, seeds, header):
    for seed in seeds:
        outcome = {"seed": seed, "passed": True, "wall_s": 0.0, "checks": [], "layers": "x"}
        robustness_write.save_outcomes(path, {**header, "outcomes": [outcome]})


def test_concurrent_writers_lose_no_outcome(tmp_path):
    """Two processes merging into one record at once: every seed of both is there."""
    path = tmp_path / "records" / "toy-ci.json"
    header = HEADER
    context = multiprocessing.get_context("fork")
    workers = [
        context.Process(target=_write_seeds, args=(path, range(k, 60, 2), header)) for k in (0, 1)
    ]
    for w in workers:
        w.start()
    for w in workers:
        w.join(60)
    assert [w.exitcode for w in workers] == [0, 0]
    assert seeds_in(path) == list(range(60))


def test_a_held_lock_is_waited_for_and_said(tmp_path, capsys, monkeypatch):
    import fcntl

    path = tmp_path / "toy-ci.json"
    monkeypatch.setattr(robustness_write, "LOCK_WAIT_S", 0.3)
    fd = os.open(tmp_path, os.O_RDONLY)
    fcntl.flock(fd, fcntl.LOCK_EX)
    try:
        with pytest.raises(records.RecordError, match="held the lock"):
            _write_seeds(path, [1], HEADER)
    finally:
        os.close(fd)
    assert "waiting for another process writing to" in capsys.readouterr().out
    assert not path.exists()


# -- 3. recorded evidence is replaced only on request, and said -----------------------------


def test_other_overrides_never_replace_a_record_silently(toy, capsys):
    rob(capsys, toy, "--seeds", 3, "--start", 10)
    before = toy[0].read_text()
    code, out, err = rob(capsys, toy, "--seeds", 1, "--start", 20, "--set", "width=2")
    assert code == 2 and one_line_error(err)
    assert "holds 3 outcome(s) (seeds 10–12) this run would drop" in err
    assert "another overrides" in err and "--replace drops them" in err
    assert toy[0].read_text() == before and len(sweeps(toy[1])) == 3  # refused before training
    code, out, err = rob(capsys, toy, "--seeds", 1, "--start", 20, "--set", "width=2", "--replace")
    assert code == 0 and "--replace: dropped seeds 10–12" in out
    assert seeds_in(toy[0]) == [20]


def test_replace_runs_recorded_seeds_again(toy, capsys):
    rob(capsys, toy, "--seeds", 2, "--start", 10)
    code, out, err = rob(capsys, toy, "--seeds", 2, "--start", 10)
    assert code == 0 and "no seed to run" in out and len(sweeps(toy[1])) == 2
    code, out, err = rob(capsys, toy, "--seeds", 1, "--start", 10, "--replace")
    assert code == 0 and len(sweeps(toy[1])) == 3 and seeds_in(toy[0]) == [10, 11]


def test_robustness_table_with_no_records_is_an_error(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(
        "<!-- robustness-table:begin (generated: python -m rnnexp robustness-table) -->"
        "\nold\n<!-- robustness-table:end -->\n"
    )
    before = readme.read_text()
    for argv in (
        ["robustness-table"],
        ["robustness-table", "--write", "README.md"],
        ["robustness-table", "--records", "MISSING"],
    ):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert one_line_error(err) and "no robustness records in" in err
    assert readme.read_text() == before
    (tmp_path / "robustness").mkdir()
    (tmp_path / "robustness" / "x-ci.json").write_text('{"experiment": ')
    assert cli.main(["robustness-table"]) == 2
    err = capsys.readouterr().err
    assert one_line_error(err) and "x-ci.json is not a robustness record" in err


# -- 4. a damaged token-cache entry is rebuilt, and named ----------------------------------


@pytest.mark.parametrize("damage", ["truncate", "overwrite", "garbage"])
def test_a_damaged_token_cache_entry_is_named_and_rebuilt(tmp_path, capsys, monkeypatch, damage):
    monkeypatch.setenv("RNNEXP_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "reviews.txt"
    source.write_text("some reviews")
    calls = []

    def build():
        calls.append(1)
        ids = [np.arange(n, dtype="int32") for n in (3, 5, 2)] * 200
        return {"x_train": ids, "y_train": np.zeros(600), "x_test": ids, "y_test": np.ones(600)}

    token_cache.load_or_build(source, {"vocab": 10}, build)
    (entry,) = (token_cache.cache_dir() / "imdb").glob("*.npz")
    data = entry.read_bytes()
    if damage == "truncate":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "overwrite":
        entry.write_bytes(data[:600] + b"\0" * 1000 + data[1600:])
    else:
        entry.write_bytes(b"PK\x03\x04" + os.urandom(2000))
    capsys.readouterr()
    splits, status = token_cache.load_or_build(source, {"vocab": 10}, build)
    out = capsys.readouterr().out
    assert status == "miss" and len(calls) == 2 and f"{entry} is damaged" in out
    assert "rebuilding it" in out and len(splits["x_train"]) == 600
    assert token_cache.load_or_build(source, {"vocab": 10}, build)[1] == "hit"


# -- 5. signals end a run like Ctrl-C: KILLED with the reason, nothing RUNNING -------------


def _lines_until(proc, text, timeout=90):
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        if text in line:
            return seen
    raise AssertionError(f"never printed {text!r}: {''.join(seen)[-2000:]}")


@pytest.mark.parametrize(
    "command, sig",
    [("robustness", signal.SIGTERM), ("robustness", signal.SIGHUP), ("run", signal.SIGHUP)],
)
def test_a_signal_ends_the_run_killed_with_its_reason(toy, command, sig):
    record, uri = toy
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env["REL_TOY_SLEEP_AT"] = "12"
    if command == "robustness":
        argv = ["robustness", "rel_toy", "--seeds", 3, "--start", 10, "--record", record]
    else:
        argv = ["run", "rel_toy", "--seed", 12]
    proc = spawn(env, *argv, "--tracking-uri", uri)
    try:
        _lines_until(proc, "rel_toy: sleeping")
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 128 + sig, out
    assert "Traceback" not in out and f"interrupted ({signal.Signals(sig).name})" in out
    mlflow.set_tracking_uri(uri)
    found = mlflow.search_runs(experiment_names=["rel_toy"], output_format="list")
    assert found and all(r.info.status != "RUNNING" for r in found)
    killed = [r for r in found if r.info.status == "KILLED"]
    assert killed and all(
        signal.Signals(sig).name in r.data.tags.get("failure_reason", "") for r in killed
    ), [r.data.tags for r in killed]
    if command == "robustness":
        assert seeds_in(record) == [10, 11]


# -- 7. input is bounded: a review's size, the archive's, the total; no special files ------


def _acl(root, big=None):
    """A tiny aclImdb folder; `big` bytes of text as one more train/pos review."""
    for split in ("train/pos", "train/neg", "test/pos", "test/neg"):
        folder = root / "aclImdb" / split
        folder.mkdir(parents=True)
        (folder / "0_7.txt").write_text(f"a {split} review")
    if big:
        (root / "aclImdb" / "train" / "pos" / "1_9.txt").write_bytes(b"word " * (big // 5))
    return root / "aclImdb"


def _imdb_cfg(path):
    import dataclasses

    from rnnexp.data import imdb

    return dataclasses.replace(imdb.ImdbDataConfig(), source="path", path=str(path))


def _tar(root, tar_path):
    import tarfile

    with tarfile.open(tar_path, "w:gz") as tar:
        tar.add(root, arcname="aclImdb")
    return tar_path


def test_a_huge_review_is_refused_naming_the_member_before_it_is_read(tmp_path):
    from rnnexp.data import imdb

    tar_path = _tar(_acl(tmp_path, big=2 << 20), tmp_path / "aclImdb_v1.tar.gz")
    assert tar_path.stat().st_size < 100_000  # a small download
    with pytest.raises(imdb.DataError, match=r"aclImdb/train/pos/1_9.txt: a review of more"):
        imdb.load(_imdb_cfg(tar_path), probe=lambda: False)
    with pytest.raises(imdb.DataError, match=r"1_9.txt: a review of more than 1 MB"):
        imdb.load(_imdb_cfg(tmp_path / "aclImdb"), probe=lambda: False)


def test_archive_and_total_text_are_bounded(tmp_path, monkeypatch):
    from rnnexp.data import imdb, imdb_files

    tar_path = _tar(_acl(tmp_path, big=200_000), tmp_path / "aclImdb_v1.tar.gz")
    monkeypatch.setattr(imdb_files, "MAX_ARCHIVE_BYTES", 100_000)
    with pytest.raises(imdb.DataError, match="unpacks to more than"):
        imdb.load(_imdb_cfg(tar_path), probe=lambda: False)
    monkeypatch.setattr(imdb_files, "MAX_ARCHIVE_BYTES", 1 << 30)
    monkeypatch.setattr(imdb_files, "MAX_TEXT_BYTES", 100_000)
    with pytest.raises(imdb.DataError, match="more than 100,000 bytes of review text"):
        imdb.load(_imdb_cfg(tmp_path / "aclImdb"), probe=lambda: False)


def test_a_fifo_among_the_reviews_is_refused_not_waited_on(tmp_path):
    from rnnexp.data import imdb

    root = _acl(tmp_path)
    os.mkfifo(root / "test" / "neg" / "1_1.txt")
    with pytest.raises(imdb.DataError, match=r"1_1.txt: not a regular file"):
        imdb.load(_imdb_cfg(root), probe=lambda: False)


@pytest.mark.parametrize("name", ["aclImdb_v1.tar.gz", "imdb.npz", "folder"])
def test_a_data_path_linked_to_dev_zero_is_refused_at_once(tmp_path, capsys, name):
    link = tmp_path / name
    link.symlink_to("/dev/zero")
    start = time.monotonic()
    code = cli.main(
        ["run", "imdb_seqlen", "--profile", "ci", "--set", "data.source=path",
         "--set", f"data.path={link}", "--tracking-uri", f"sqlite:///{tmp_path}/s/mlflow.db"]
    )  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and one_line_error(err) and "not a regular file" in err, err
    assert time.monotonic() - start < 30


# -- 6. store faults: one line, exit 1 mid-sweep, the database's own words, said in time ---


def test_a_store_locked_mid_trial_is_said_in_seconds_and_ends_in_one_line(toy, capsys):
    """Another process holds the sqlite file from trial 2 on: exit 1, the sweep resumable."""
    import sqlite3
    import threading

    record, uri = toy
    db = uri.removeprefix("sqlite:///")
    assert cli.main(["run", "rel_toy", "--tracking-uri", uri]) == 0  # the store exists
    capsys.readouterr()
    holder = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    from rnnexp.catalog import get

    exp = get("rel_toy")
    real = type(exp).run_trial

    def lock_at_second_trial(self, cfg, trial, ctx):
        if trial["value"] == 2:
            holder.execute("BEGIN EXCLUSIVE")
            threading.Timer(45, lambda: holder.execute("ROLLBACK")).start()
        return real(self, cfg, trial, ctx)

    type(exp).run_trial = lock_at_second_trial
    start = time.monotonic()
    try:
        code = cli.main(["run", "rel_toy", "--tracking-uri", uri])
    finally:
        type(exp).run_trial = real
    took = time.monotonic() - start
    out, err = capsys.readouterr()
    assert code == 1 and one_line_error(err) and "stayed locked by another process" in err
    assert "--resume" in err and "Traceback" not in out + err and "ERROR" not in out + err
    assert "waiting for the store" in out and took < 40, (took, out)


def test_a_store_fault_quotes_the_database_not_sqlalchemys_autoflush_note():
    import sqlalchemy.exc

    from rnnexp.tracking.store import describe_store_error

    err = sqlalchemy.exc.OperationalError(
        "INSERT", {}, Exception("attempt to write a readonly database")
    )
    err.args = (
        "(raised as a result of Query-invoked autoflush; consider using a session.no_autoflush "
        "block if this flush is occurring prematurely)\n" + err.args[0],
    )
    message = describe_store_error(err, "sqlite:///x.db")
    assert "autoflush" not in message and "attempt to write a readonly database" in message


def test_a_full_disk_at_start_does_not_promise_a_sweep_to_resume():
    import errno

    from rnnexp.tracking.store import describe_store_error

    message = describe_store_error(OSError(errno.ENOSPC, "No space left on device"), "u")
    assert message.startswith("disk full") and "--resume" not in message


# -- 9. the user's input or environment is never "a bug in rnnexp" ---------------------------


@pytest.mark.parametrize(
    "files, message",
    [
        ({"syn.py": "x = 1\ndef f(:\n"}, "syn.py:2: SyntaxError"),
        ({"imp.py": '"""x"""\nimport os\nimport not_a_module_here\n'}, "imp.py:3: ModuleNot"),
        ({"a.py": REL_TOY, "b.py": REL_TOY}, "b.py:"),
        ({}, "no experiments in"),
    ],
)
def test_a_broken_experiments_folder_names_the_file_and_line(
    tmp_path, capsys, monkeypatch, files, message
):
    folder = tmp_path / "mine"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    monkeypatch.setenv("RNNEXP_EXPERIMENTS_DIR", str(folder))
    assert cli.main(["list"]) == 2
    err = capsys.readouterr().err
    assert one_line_error(err) and message in err and "a bug" not in err, err
    if "b.py" in files:
        assert "'rel_toy' is also registered by" in err and "a.py" in err


@pytest.mark.parametrize(
    "backend, message",
    [("nonsense", "is not a Keras backend"), ("jax_missing", "pip install")],
)
def test_a_keras_backend_that_cannot_load_is_one_line_also_for_dry_run(
    toy, capsys, monkeypatch, backend, message
):
    import importlib.util

    if backend == "jax_missing":
        if importlib.util.find_spec("jax") is not None:
            pytest.skip("jax is installed here")
        backend = "jax"
    monkeypatch.setenv("KERAS_BACKEND", backend)
    for argv in (["run", "rel_toy", "--dry-run"], ["robustness", "rel_toy", "--record", "-"]):
        assert cli.main(argv) == 2
        err = capsys.readouterr().err
        assert one_line_error(err) and message in err and "KERAS_BACKEND" in err


@pytest.mark.parametrize("value", ["abc", "0", "nan", "-5"])
def test_a_bad_heartbeat_interval_is_one_line(value):
    import subprocess

    env = {**os.environ, "RNNEXP_HEARTBEAT_S": value}
    done = subprocess.run(
        [sys.executable, "-c", "from rnnexp.tracking import lease"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 1 and "RNNEXP_HEARTBEAT_S" in done.stderr
    assert "expected seconds from 1 to 3600" in done.stderr


def test_a_resumed_sweep_whose_override_key_was_renamed_is_one_line(toy, capsys):
    record, uri = toy
    mlflow.set_tracking_uri(uri)
    assert cli.main(["run", "rel_toy", "--tracking-uri", uri]) == 0
    (sweep,) = sweeps(uri)
    client = mlflow.MlflowClient()
    client.set_tag(sweep.info.run_id, "rnnexp.overrides", json.dumps({"old_name": 3}))
    client.set_terminated(sweep.info.run_id, "FAILED")
    capsys.readouterr()
    code = cli.main(["run", "rel_toy", "--resume", sweep.info.run_id, "--tracking-uri", uri])
    err = capsys.readouterr().err
    assert code == 2 and one_line_error(err) and "unknown config key 'old_name'" in err


# -- 10. small ones ------------------------------------------------------------------------


def test_markdown_tables_escape_pipes_and_line_breaks():
    from rnnexp import console

    table = console.format_table([{"error": "a|b\nc", "n": 1}], markdown=True)
    assert table.splitlines()[2] == "| a\\|b<br>c | 1 |"


def test_a_tilde_in_a_sqlite_uri_is_refused_not_made_a_folder(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = cli.main(["compare", "tagging", "--tracking-uri", "sqlite:///~/mlflow.db"])
    err = capsys.readouterr().err
    assert code == 2 and one_line_error(err) and "`~` is not expanded" in err
    assert not (tmp_path / "~").exists()


def test_workers_beyond_the_trials_share_out_all_the_cores(monkeypatch):
    from rnnexp.sweep import local as parallel

    monkeypatch.setattr(os, "cpu_count", lambda: 8)
    assert parallel.plan_workers(8, 2) == (2, 4)  # what run_parallel starts
    assert parallel.plan_workers(3, 10) == (3, 2)
    assert parallel.plan_workers(4, 1) == (1, 8)


def test_a_401_digit_number_in_set_is_one_line(toy, capsys):
    record, uri = toy
    code = cli.main(["run", "rel_toy", "--dry-run", "--set", "width=" + "9" * 401])
    err = capsys.readouterr().err
    assert code == 2 and one_line_error(err) and "at most 19 digits" in err, err
    assert len(err) < 300 and "a bug" not in err, err


def test_bench_flag_errors_come_before_tensorflow():
    import subprocess

    code = (
        "import sys; from rnnexp import cli; rc = cli.main(['bench', '--batch', '0']); "
        "print(rc, 'tensorflow' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.split() == ["2", "False"], done.stderr
    assert "--batch must be >= 1" in done.stderr


def test_a_store_locked_at_start_is_said_at_once_and_given_up_in_30_s(toy, capsys, monkeypatch):
    import sqlite3

    from rnnexp.tracking import store, store_watch

    record, uri = toy
    assert cli.main(["run", "rel_toy", "--tracking-uri", uri]) == 0
    capsys.readouterr()
    holder = sqlite3.connect(uri.removeprefix("sqlite:///"), isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(store_watch, "SLOW_STORE_S", 0.5)
    real = store.wait_while_locked
    monkeypatch.setattr(store, "wait_while_locked", lambda db, u: real(db, u, most_s=2))
    start = time.monotonic()
    try:
        code = cli.main(["run", "rel_toy", "--tracking-uri", uri])
    finally:
        holder.execute("ROLLBACK")
    out, err = capsys.readouterr()
    assert code == 2 and one_line_error(err) and "stayed locked by another process" in err
    assert "waiting for the store" in out and "(at most 2 s)" in out
    assert time.monotonic() - start < 10


# -- a tracking server that answers /health but stalls on its API ---------------
class _StallingServer:
    """A local HTTP server: `/health` answers at once, every other request waits forever."""

    def __init__(self):
        import http.server
        import threading

        release = self.release = threading.Event()
        self.first_api_call = None
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _answer(self):
                if self.path.rstrip("/") == "/health":
                    self.send_response(200)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"OK")
                    return
                outer.first_api_call = outer.first_api_call or time.monotonic()
                release.wait(120)  # never answers (until the test ends)

            do_GET = do_POST = _answer

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.uri = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def test_a_tracking_server_that_stalls_is_said_in_seconds_and_given_up_in_30_s(toy):
    # 3 tries of 4 s here (the default is 3 of 8 s: see the next test), so it takes ~20 s
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    env["MLFLOW_HTTP_REQUEST_TIMEOUT"] = "4"
    server = _StallingServer()
    try:
        proc = spawn(env, "run", "rel_toy", "--tracking-uri", server.uri)
        said_at, lines = None, []
        for line in proc.stdout:
            lines.append(line)
            if said_at is None and "waiting for the tracking server" in line:
                said_at = time.monotonic()
        code = proc.wait(timeout=60)
        ended = time.monotonic()
    finally:
        if proc.poll() is None:
            proc.kill()
        server.close()
    text = "".join(lines)
    assert server.first_api_call is not None, text
    assert said_at is not None and said_at - server.first_api_call < 6, text
    assert server.uri in text and "Traceback" not in text, text
    assert ended - server.first_api_call < 14 + 4, text
    assert "gives up after about 14 s" in text, text
    errors = [line for line in lines if line.startswith("error: ")]
    assert code == 2 and len(errors) == 1 and server.uri in errors[0], text
    assert "answers /health but not its API" in errors[0], text


def test_a_silent_tracking_server_is_given_up_within_30_s_by_default():
    import subprocess

    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_HTTP_REQUEST_")}
    code = "from rnnexp.tracking import store_watch; print(store_watch.server_give_up_s())"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert 20 <= float(out.stdout) <= 30, out.stderr


# -- kill -9 of a --workers parent: the workers end their trials and the sweep -------
TINY = [
    "tagging", "--profile", "ci", "--set", "data.train_size=200", "--set", "data.test_size=100",
    "--set", "train.epochs=1", "--set", "sweep.cells=[rnn]",
]  # fmt: skip


def _store_runs(db: Path) -> list[tuple[str, str, dict]]:
    """`(run_uuid, status, tags)` of every run, read with sqlite (no MLflow, no lock held)."""
    import sqlite3

    if not db.is_file():
        return []
    try:
        with sqlite3.connect(db, timeout=5) as con:
            runs = con.execute("SELECT run_uuid, status FROM runs").fetchall()
            tags = con.execute("SELECT run_uuid, key, value FROM tags").fetchall()
    except sqlite3.Error:
        return []  # being created
    by_run = {}
    for run_id, key, value in tags:
        by_run.setdefault(run_id, {})[key] = value
    return [(run_id, status, by_run.get(run_id, {})) for run_id, status in runs]


@pytest.mark.slow
def _alive(pids) -> bool:
    """Whether any of `pids` still runs (a zombie, reaped by nobody yet, does not)."""
    for pid in pids:
        with contextlib.suppress(OSError):
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z":
                return True
    return False


def test_kill_9_of_a_workers_parent_ends_its_trials_and_the_sweep_killed(tmp_path):
    db = tmp_path / "store" / "mlflow.db"
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    log = open(tmp_path / "out.txt", "w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "rnnexp", "run", *TINY, "--workers", "2",
         "--tracking-uri", f"sqlite:///{db}"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    workers = set()
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            running = [t for _, s, t in _store_runs(db) if s == "RUNNING"]
            trials = [t for t in running if t.get("rnnexp.role") == "trial"]
            if trials:
                break
            time.sleep(0.5)
        assert trials, (tmp_path / "out.txt").read_text()
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        killed_at = time.monotonic()
        while time.monotonic() - killed_at < 90:  # generous: CI runs this beside other training
            runs = _store_runs(db)
            workers |= {int(t["rnnexp.worker"].rsplit(":", 1)[1]) for _, _, t in runs
                        if "rnnexp.worker" in t}  # fmt: skip
            said = "the sweep's parent process died; marked" in (tmp_path / "out.txt").read_text()
            if said and not any(s == "RUNNING" for _, s, _ in runs):
                break
            time.sleep(0.5)
        noticed_s = time.monotonic() - killed_at
        while _alive(workers) and time.monotonic() - killed_at < 90:
            time.sleep(0.5)  # all have spoken
        time.sleep(2)  # and the dead parent's resource tracker, last to leave, too
        text = (tmp_path / "out.txt").read_text()
        assert not [t.get("rnnexp.role") for _, s, t in runs if s == "RUNNING"], text
        # A worker says what it marked, in one line: no silence, no warning, no traceback.
        assert "the sweep's parent process died; marked" in text and noticed_s < 30, text
        assert text.count("the sweep's parent process died;") == 1, text  # once, not per worker
        assert "Traceback" not in text and "Warning" not in text, text
        sweep = [(s, t) for _, s, t in runs if t.get("rnnexp.role") == "sweep"]
        assert [s for s, _ in sweep] == ["KILLED"], text
        swept = [r for r, _, t in runs if t.get("rnnexp.role") == "sweep"][0]
        assert not Path(tempfile.gettempdir(), f"rnnexp-orphans-{swept}.lock").exists()
        assert "the sweep's parent process died" in sweep[0][1]["failure_reason"], sweep
        trials = [(s, t) for _, s, t in runs if t.get("rnnexp.role") == "trial"]
        assert trials and {s for s, _ in trials} <= {"KILLED", "FINISHED"}, trials
        for status, tags in trials:
            if status == "KILLED":
                assert "the sweep's parent process died" in tags["failure_reason"], tags
                assert "Ctrl-C" not in tags["failure_reason"], tags
    finally:
        for pid in workers:  # a worker that did not notice would run on
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.kill()
        log.close()


@pytest.mark.parametrize("kind", ["fifo", "folder", "dev_null"])
def test_a_store_path_that_is_not_a_file_is_refused_without_blocking(tmp_path, capsys, kind):
    db = tmp_path / "store" / "mlflow.db"
    db.parent.mkdir()
    {"fifo": os.mkfifo, "folder": os.mkdir, "dev_null": lambda p: p.symlink_to("/dev/null")}[kind](
        db
    )
    code = cli.main(["compare", "tagging", "--tracking-uri", f"sqlite:///{db}"])
    err = capsys.readouterr().err
    assert code == 2 and one_line_error(err) and "not a database file" in err, err


def test_a_slow_backend_import_is_said_not_silent():
    import subprocess

    code = "from rnnexp import startup; startup.SLOW_IMPORT_S = 0.001; startup.import_backend()"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "rnnexp: importing Keras and" in out.stderr, out.stderr
    assert "importing" not in out.stdout  # stdout may be a CSV being piped


def test_a_long_backend_import_is_said_again_every_few_seconds():
    import subprocess

    code = (
        "from rnnexp import startup; startup.SLOW_IMPORT_S = 0.001; "
        "startup.STILL_IMPORTING_S = 0.2; startup.import_backend()"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert "rnnexp: still importing Keras and" in out.stderr, out.stderr
