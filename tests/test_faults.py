"""Faults and bad input (issue 18): one clear line, nothing lost, nothing run from data.

Most cases call the CLI in this process with a toy experiment that trains
nothing (its trials sleep and report a number), so they take seconds; the
process faults (SIGSTOP, kill -9 of a worker, Ctrl-C) run it as a subprocess.
"""

import contextlib
import copy
import errno
import functools
import os
import pickle
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
import zipfile
from pathlib import Path

import mlflow
import numpy as np
import pytest

from rnnexp import cli
from rnnexp.data import imdb
from conftest import cli as cli_process
from conftest import free_port
from conftest import runs as store_runs

FAULT_TOY = textwrap.dedent(
    '''
    """fault_toy: trials that sleep and report a number (no training)."""
    import dataclasses
    import time

    from rnnexp.catalog import Experiment, Finding, TrialResult, register


    def die_after_next_result():
        """Kill this worker as it sends its next trial's result: dead between two trials."""
        import os
        import signal
        from multiprocessing import connection

        send = connection.Connection.send

        def send_then_die(conn, message):
            send(conn, message)
            if any(isinstance(part, TrialResult) for part in message):
                conn.close()  # gone before the sweep hands it the next trial
                os.kill(os.getpid(), signal.SIGKILL)

        connection.Connection.send = send_then_die


    @dataclasses.dataclass(frozen=True)
    class Config:
        seed: int = 0
        values: tuple[int, ...] = (1, 2, 3, 4)
        fail_on: int = -1
        sleep: float = 0.0
        die_between: int = -1  # a --workers worker dies right after its next trial's result
        garble_interrupt: bool = False  # an interrupt comes back as another error, as from TF


    @register
    class FaultToy(Experiment):
        name = "fault_toy"
        description = "sleeps and reports"
        metric = "score"
        config = Config()
        profiles = {"ci": {}}

        def trials(self, cfg):
            return [{"value": v} for v in cfg.values]

        def run_trial(self, cfg, trial, ctx):
            try:
                time.sleep(cfg.sleep)
            except KeyboardInterrupt:
                if cfg.garble_interrupt:
                    raise SystemError("bad argument to internal function") from None
                raise
            if trial["value"] == cfg.die_between:
                die_after_next_result()
            if trial["value"] == cfg.fail_on:
                raise FloatingPointError("loss became nan")
            ctx.reporter.log_metrics({"loss": 1.0 / trial["value"]}, step=0)
            return TrialResult(trial, metrics={"score": float(trial["value"])})

        def summarize(self, cfg, results, out_dir):
            path = out_dir / "plot.png"
            path.write_bytes(b"png")
            return [path]

        def finding(self, cfg, results):
            ok = [r for r in results if r.status == "FINISHED"]
            return Finding(bool(ok), f"{len(ok)} finished", {"finished": len(ok)})
    '''
)


@pytest.fixture
def toy(tmp_path, monkeypatch):
    """`(env, uri)`: the fault_toy experiment and a fresh store under tmp_path."""
    folder = tmp_path / "experiments"
    folder.mkdir()
    (folder / "fault_toy.py").write_text(FAULT_TOY)
    monkeypatch.setenv("RNNEXP_EXPERIMENTS_DIR", str(folder))
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TF_CPP_MIN_LOG_LEVEL": "3"}
    return env, f"sqlite:///{tmp_path}/store/mlflow.db"


def main(capsys, *argv):
    """`(exit status, stdout, stderr)` of the CLI run in this process."""
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


TF_NOISE = re.compile(
    r"^(WARNING: All log messages before absl|[IWE]\d{4} |To enable the f|rnnexp: importing Keras)"
)


def one_line_error(err: str) -> bool:
    """Exactly one line, `error: ...`, besides TensorFlow's start-up chatter."""
    lines = [line for line in err.splitlines() if line.strip() and not TF_NOISE.match(line)]
    return len(lines) == 1 and lines[0].startswith("error: ") and "Traceback" not in err


runs = functools.partial(store_runs, experiment="fault_toy")


def _as_in_a_terminal():
    # A job started with `&` by a non-interactive shell inherits SIGINT ignored, one
    # under `nohup` SIGHUP (either may start CI), and a run keeps what it inherits
    # ignored: give the child the signals of a run in a terminal, which these tests send.
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGHUP, signal.SIG_DFL)


def spawn(env, *argv):
    return subprocess.Popen(
        [sys.executable, "-m", "rnnexp", *map(str, argv)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        preexec_fn=_as_in_a_terminal,
    )


rnnexp = functools.partial(cli_process, timeout=120)


def lines_until(proc, prefix, seen):
    for line in proc.stdout:
        seen.append(line)
        if line.startswith(prefix):
            return line
    raise AssertionError("".join(seen))


# -- 1, 10: data files -------------------------------------------------------
class Evil:
    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def _cfg(path):
    return imdb.ImdbDataConfig(source="path", path=str(path), vocab_size=100)


def test_1_a_pickle_saved_as_npz_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    evil = tmp_path / "evil.npz"
    evil.write_bytes(pickle.dumps(Evil(marker)))
    with pytest.raises(imdb.DataError, match="evil.npz: not an .npz archive"):
        imdb.load(_cfg(evil), probe=lambda: False)
    assert not marker.exists()


def test_1_a_pickle_inside_an_npz_object_array_never_runs(tmp_path):
    marker = tmp_path / "pwned"
    x = np.empty(1, dtype=object)
    x[0] = Evil(marker)
    path = tmp_path / "imdb.npz"
    np.savez(path, x_train=x, y_train=np.array([1]), x_test=x, y_test=np.array([0]))
    with pytest.raises(imdb.DataError, match=r"x_train: holds a pickled posix.system"):
        imdb.load(_cfg(path), probe=lambda: False)
    assert not marker.exists()


@pytest.mark.parametrize(
    "content,message",
    [
        ("random", "not an .npz archive"),
        ("empty", r"missing arrays \['x_train'"),
        ("strings", r"x_train\[0\] is not a list of word ids"),
        ("bad_member", "not a readable .npz file"),
    ],
)
def test_10_bad_npz_files_are_one_line_data_errors(tmp_path, content, message):
    path = tmp_path / "imdb.npz"
    if content == "random":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif content == "empty":
        np.savez(path)
    elif content == "strings":
        x = np.empty(2, dtype=object)
        x[0], x[1] = ["great", "film"], ["dull"]
        np.savez(path, x_train=x, y_train=np.array([1, 0]), x_test=x, y_test=np.array([1, 0]))
    else:
        with zipfile.ZipFile(path, "w") as z:
            for key in ("x_train", "y_train", "x_test", "y_test"):
                z.writestr(f"{key}.npy", b"\x93NUMPY garbage")
    with pytest.raises(imdb.DataError, match=f"imdb.npz: {message}"):
        imdb.load(_cfg(path), probe=lambda: False)


def test_10_tsv_that_is_not_utf8_or_is_binary(tmp_path):
    from rnnexp.data.sentence_pairs import load_pairs

    latin = tmp_path / "fra.txt"
    latin.write_bytes("Go.\tVa !\nHi.\tSalut.\nCafé.\tCafé.\n".encode("latin-1"))
    with pytest.raises(imdb.DataError, match=r"fra.txt:3: not UTF-8 text"):
        load_pairs(latin)
    binary = tmp_path / "bin.txt"
    binary.write_bytes(b"\x00\x01\x02" * 100)
    with pytest.raises(imdb.DataError, match="bin.txt: a binary file"):
        load_pairs(binary)


def _flickr(folder, lines, images):
    (folder / "Images").mkdir(parents=True)
    for name in images:
        import PIL.Image

        PIL.Image.new("RGB", (8, 8)).save(folder / "Images" / name)
    (folder / "captions.txt").write_bytes(lines)
    return folder


def test_10_flickr_with_one_image_or_a_latin1_index(tmp_path):
    from rnnexp import catalog
    from rnnexp.config import ConfigError

    exp = catalog.get("captioning")
    one = _flickr(tmp_path / "one", b"image,caption\na.jpg,a dog runs\n", ["a.jpg"])
    cfg = exp.resolve("ci", {"data.source": "path", "data.path": str(one)})
    with pytest.raises(ConfigError, match="1 usable captioned image.*need at least 2"):
        exp.prepare(cfg)
    latin = _flickr(tmp_path / "latin", "image,caption\na.jpg,un café\n".encode("latin-1"), [])
    cfg = exp.resolve("ci", {"data.source": "path", "data.path": str(latin)})
    with pytest.raises(ConfigError, match=r"captions.txt:2: not UTF-8 text"):
        exp.prepare(cfg)


# -- 6, 12, 15: arguments ------------------------------------------------------
@pytest.mark.parametrize(
    "argv,message",
    [
        (["--set", "data.train_size=0"], "data.train_size: 0"),
        (["--seed", "-1"], "seed: -1"),
        (["--set", "data.vocab=0"], "data.vocab: 0"),
        (["--set", "sweep.seeds=0"], "sweep.seeds: 0"),
        (["--set", "sweep.seeds=-2"], "sweep.seeds: -2"),
        (["--set", "train.learning_rate=1e999"], "train.learning_rate: inf"),
        (["--set", "sweep.cells=[rnn,rnn]"], "repeated: ['rnn']"),
        (["--workers", "-2"], "--workers must be >= 1, got -2"),
        (["--resume", ""], "--resume takes a parent run id"),
    ],
)
def test_6_12_bad_run_arguments_are_refused_before_anything(tmp_path, capsys, argv, message):
    uri = f"sqlite:///{tmp_path}/s/mlflow.db"
    code, _, err = main(capsys, "run", "tagging", "--dry-run", *argv, "--tracking-uri", uri)
    assert code == 2 and one_line_error(err) and message in err, err
    assert not (tmp_path / "s").exists()


@pytest.mark.parametrize(
    "name,key", [("translation", "data.max_words"), ("timeseries", "data.season")]
)
def test_6_no_experiment_takes_a_negative_count(name, key):
    from rnnexp import catalog
    from rnnexp.config import ConfigError

    with pytest.raises(ConfigError, match=f"invalid value for {key}: -1"):
        catalog.get(name).resolve("default", {key: -1})


def test_6_char_lm_window_longer_than_the_text(tmp_path):
    from rnnexp import catalog
    from rnnexp.config import ConfigError

    text = tmp_path / "t.txt"
    text.write_text("abc def ghi\n" * 200)
    exp = catalog.get("char_lm")
    cfg = exp.resolve("ci", {"data.source": "path", "data.path": str(text), "data.window": 500})
    with pytest.raises(ConfigError, match="data.window: 500 .*shorter split"):
        exp.prepare(cfg)


@pytest.mark.parametrize(
    "argv,message",
    [
        (["--cells", "foo"], "--cells 'foo': unknown ['foo']"),
        (["--repeats", "0"], "--repeats must be >= 1, got 0"),
        (["--instances", "0"], "--instances must be >= 1, got 0"),
        (["--timesteps", "0"], "--timesteps must be >= 1, got 0"),
    ],
)
def test_15_bench_argument_errors(capsys, argv, message):
    code, _, err = main(capsys, "bench", "--no-track", *argv)
    assert code == 2 and one_line_error(err) and message in err, err


def test_15_read_only_commands_create_no_store(toy, tmp_path, capsys):
    _, uri = toy
    code, _, err = main(capsys, "compare", "fault_toy", "--tracking-uri", uri)
    assert code == 2 and one_line_error(err) and "no sweep of fault_toy" in err
    code, _, err = main(capsys, "run", "fault_toy", "--resume", "--tracking-uri", uri)
    assert code == 2 and one_line_error(err) and "no unfinished sweep" in err
    code, _, err = main(capsys, "ui", "--tracking-uri", uri, "--port", "5999")
    assert code == 2 and one_line_error(err) and "no store at" in err
    assert not (tmp_path / "store").exists()


def test_12_dry_run_resume_shows_the_sweep_it_would_finish(toy, capsys):
    _, uri = toy
    assert main(capsys, "run", "fault_toy", "--set", "fail_on=2", "--tracking-uri", uri)[0] == 0
    # make it resumable: as if its process died
    parents, _ = runs(uri)
    mlflow.tracking.MlflowClient().set_terminated(parents[0].info.run_id, "KILLED")
    code, out, _ = main(capsys, "run", "fault_toy", "--dry-run", "--resume", "--tracking-uri", uri)
    assert code == 0 and f'"resume": "{parents[0].info.run_id}"' in out
    assert "planned trials (4, 1 to run, 3 kept)" in out and "value 2\n" in out
    assert len(runs(uri)[1]) == 4  # it ran nothing


# -- 5, 9: the store -------------------------------------------------------------


def test_5_unreachable_tracking_server_fails_in_seconds(toy, capsys):
    start = time.monotonic()
    uri = f"http://127.0.0.1:{free_port()}"
    code, _, err = main(capsys, "run", "fault_toy", "--tracking-uri", uri)
    assert code == 2 and one_line_error(err) and "does not answer" in err, err
    assert time.monotonic() - start < 10


def _old_schema(path: Path):
    fresh = path.parent / "fresh.db"  # another URI: MLflow caches a store per URI
    mlflow.tracking.MlflowClient(tracking_uri=f"sqlite:///{fresh}").search_experiments()
    with sqlite3.connect(fresh) as con:
        con.execute("UPDATE alembic_version SET version_num = '451aebb31d03'")
    shutil.copy(fresh, path)
    return f"sqlite:///{path}"


@pytest.mark.parametrize(
    "store,message",
    [
        ("garbage", "the file is not an MLflow database"),
        ("old_schema", "out-of-date schema; back it up, then run `mlflow db upgrade"),
        ("folder", "plain-folder store"),
        ("scheme", "unknown tracking URI scheme 'foo'"),
        ("deleted", "experiment 'fault_toy' is deleted"),
        ("empty", "--tracking-uri is empty"),
        ("memory", "names no database file"),
    ],
)
def test_9_store_faults_are_one_line(toy, tmp_path, capsys, store, message):
    db = tmp_path / "bad" / "mlflow.db"
    db.parent.mkdir()
    if store == "garbage":
        db.write_bytes(np.random.default_rng(0).bytes(5000))
        uri = f"sqlite:///{db}"
    elif store == "old_schema":
        uri = _old_schema(db)
    elif store == "folder":
        uri = f"file://{tmp_path}/plain"
    elif store == "scheme":
        uri = "foo://bar"
    elif store in ("empty", "memory"):
        uri = "" if store == "empty" else "sqlite:///"  # not the default store, not memory
    else:
        uri = f"sqlite:///{db}"
        client = mlflow.tracking.MlflowClient(tracking_uri=uri)
        client.delete_experiment(client.create_experiment("fault_toy"))
    capsys.readouterr()
    commands = [["run", "fault_toy"], ["compare", "fault_toy"]]
    if store != "deleted":  # the UI shows deleted experiments' neighbours fine
        commands.append(["ui", "--port", free_port()])
    for argv in commands:
        code, _, err = main(capsys, *argv, "--tracking-uri", uri)
        assert code == 2 and one_line_error(err) and message in err, err


@pytest.mark.skipif(os.getuid() == 0, reason="root writes to read-only folders")
def test_9_read_only_store(toy, tmp_path, capsys):
    _, uri = toy
    assert main(capsys, "run", "fault_toy", "--tracking-uri", uri)[0] == 0
    store = tmp_path / "store"
    for path in [store, *store.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    try:
        code, out, err = main(capsys, "compare", "fault_toy", "--tracking-uri", uri)
        assert code == 0 and "4 of 4 planned" in out, err
        code, _, err = main(capsys, "run", "fault_toy", "--tracking-uri", uri)
        assert code == 2 and one_line_error(err) and "not writable" in err, err
    finally:
        for path in [store, *store.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


# Root writes through mode bits; without these capabilities it obeys them, as a user does.
NO_DAC = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
NO_DAC += ["--inh-caps=-dac_override,-dac_read_search"]


def _as_a_user_if_root(argv: list) -> list:
    """`argv` so that read-only mode bits hold for it, run by root or by a user."""
    if os.getuid() != 0:
        return argv
    if not shutil.which("setpriv") or subprocess.run([*NO_DAC, "true"]).returncode != 0:
        pytest.skip("running as root without setpriv: a read-only file is writable")
    return [*NO_DAC, *argv]


def test_9_read_only_commands_read_a_read_only_store(toy, tmp_path, capsys):
    # The reading commands must work on a store nobody may write (a shared or
    # archived one); `run` is refused in one line. As root, without DAC override.
    env, uri = toy
    assert main(capsys, "run", "fault_toy", "--tracking-uri", uri)[0] == 0
    store = tmp_path / "store"
    for path in [store, *store.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)

    def rnnexp_(*argv, uri=uri):
        argv = [sys.executable, "-m", "rnnexp", *argv, "--tracking-uri", uri]
        return subprocess.run(_as_a_user_if_root(argv), env=env, capture_output=True, text=True)

    try:
        assert subprocess.run(_as_a_user_if_root(["touch", str(store / "x")])).returncode != 0
        out = rnnexp_("compare", "fault_toy")
        assert out.returncode == 0 and "4 of 4 planned" in out.stdout, out.stdout + out.stderr
        # A missing store next to it is empty, not "store folder ... is not writable"
        out = rnnexp_("compare", "fault_toy", uri=uri.replace("mlflow.db", "other.db"))
        assert out.returncode == 2 and one_line_error(out.stderr), out.stderr
        assert "no sweep of fault_toy in sqlite:" in out.stderr, out.stderr
        out = rnnexp_("run", "fault_toy")
        assert out.returncode == 2 and one_line_error(out.stderr), out.stderr
        assert "not writable" in out.stderr
    finally:
        for path in [store, *store.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)


CUT_OFF_WRITE = """
import os, signal, sqlite3, sys
con = sqlite3.connect(sys.argv[1], isolation_level=None)
con.execute("PRAGMA cache_size=1")  # spill to the file: the journal is then hot
con.execute("BEGIN IMMEDIATE")
con.execute("UPDATE tags SET value = value || 'x'")
con.execute("UPDATE metrics SET value = value + 1")
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_9_a_read_only_store_with_a_cut_off_write_says_why_it_cannot_be_read(toy, tmp_path, capsys):
    # SQLite must roll back a hot journal before anyone reads, which a read-only
    # store forbids: `compare` said "store ... is not writable", which a reader
    # cannot act on. One line now says what holds it and what to do.
    env, uri = toy
    assert main(capsys, "run", "fault_toy", "--tracking-uri", uri)[0] == 0
    store = tmp_path / "store"
    subprocess.run([sys.executable, "-c", CUT_OFF_WRITE, str(store / "mlflow.db")])
    assert (store / "mlflow.db-journal").stat().st_size > 0
    for path in [store, *store.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    argv = [sys.executable, "-m", "rnnexp", "compare", "fault_toy", "--tracking-uri", uri]
    try:
        out = subprocess.run(_as_a_user_if_root(argv), env=env, capture_output=True, text=True)
    finally:
        for path in [store, *store.rglob("*")]:
            path.chmod(0o755 if path.is_dir() else 0o644)
    assert out.returncode == 2 and one_line_error(out.stderr), out.stderr
    assert f"store {uri} cannot be read while read-only: " in out.stderr, out.stderr
    assert "mlflow.db-journal holds a write cut off" in out.stderr
    code, out, err = main(capsys, "compare", "fault_toy", "--tracking-uri", uri)
    assert code == 0 and "4 of 4 planned" in out, err  # writable once: rolled back, read


def test_9_compare_on_a_missing_store_in_an_unwritable_folder_finds_no_sweep(toy, capsys):
    # A read-only command was answered "store folder /proc/rnnexp is not writable"
    uri = "sqlite:////proc/rnnexp/mlflow.db"
    code, _, err = main(capsys, "compare", "fault_toy", "--tracking-uri", uri)
    assert code == 2 and one_line_error(err) and f"no sweep of fault_toy in {uri}" in err, err


@pytest.mark.parametrize("folder", ["/proc/rnnexp", "{tmp}/file/sub"])
def test_9_an_unmakeable_store_folder_is_refused_before_the_framework_import(tmp_path, folder):
    (tmp_path / "file").write_text("x")
    db = folder.replace("{tmp}", str(tmp_path)) + "/mlflow.db"
    code = (
        "import sys; from rnnexp.cli import main; "
        f"code = main(['run', 'tagging', '--profile', 'ci', '--tracking-uri', 'sqlite:///{db}']); "
        "print('keras imported' if 'keras' in sys.modules else 'no keras', code)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["no", "keras", "2"], out.stdout + out.stderr
    assert one_line_error(out.stderr) and "is not writable" in out.stderr, out.stderr
    assert not Path(db).parent.exists()


def test_2_liveness_of_a_sweeps_owner(monkeypatch):
    from rnnexp.tracking import lease

    me = lease.owner_tags()
    assert lease.live_owner(me) is None  # this process may continue its own sweep
    assert lease.live_owner({}) is None  # recorded before owners were: resumable
    parent = {**me, lease.PID: str(os.getppid()), lease.STARTED: ""}
    assert f"pid {os.getppid()} on" in lease.live_owner(parent)
    recycled = {**parent, lease.STARTED: "1"}  # that pid now belongs to another process
    assert lease.live_owner(recycled) is None and "is gone" in lease.dead_owner(recycled)
    dead = subprocess.Popen(["true"])
    dead.wait()
    assert lease.live_owner({**me, lease.PID: str(dead.pid)}) is None
    remote = {**me, lease.HOST: "elsewhere", lease.HEARTBEAT: str(time.time() - 5)}
    assert "on elsewhere (last heartbeat 5 s ago)" in lease.live_owner(remote)
    stale = {**remote, lease.HEARTBEAT: str(time.time() - lease.STALE_S - 1)}
    assert lease.live_owner(stale) is None


def test_9_read_only_store_messages_also_as_root(toy, tmp_path, capsys):
    """Root writes through chmod, so the read-only faults are made another way."""
    import sqlalchemy.exc

    from rnnexp.tracking.store import StoreError, describe_store_error
    from rnnexp.tracking.tracker import Tracker

    _, uri = toy
    assert main(capsys, "run", "fault_toy", "--tracking-uri", uri)[0] == 0
    lock = tmp_path / "store" / ".rnnexp-store.lock"
    lock.unlink()
    lock.mkdir()  # the lock cannot be opened: reading still works, writing is refused
    code, out, err = main(capsys, "compare", "fault_toy", "--tracking-uri", uri)
    assert code == 0 and "4 of 4 planned" in out, err
    with pytest.raises(StoreError, match="store folder .* is not writable"):
        Tracker("another_experiment", uri).ensure()  # creating needs the lock
    readonly = sqlalchemy.exc.OperationalError(
        "INSERT", {}, Exception("attempt to write a readonly database")
    )
    assert "is not writable" in describe_store_error(readonly, uri)
    full = sqlalchemy.exc.OperationalError("INSERT", {}, Exception("database or disk is full"))
    assert describe_store_error(full, uri).startswith("disk full while writing store")


# -- 7, 14: disk full while writing the summary, then --resume --------------------
def test_7_14_disk_full_in_the_summary_then_resume(toy, capsys, monkeypatch):
    from rnnexp.tracking.mlflow_reporter import MlflowReporter

    _, uri = toy
    real = MlflowReporter.log_artifact

    def full(self, path, artifact_path=None):
        raise OSError(errno.ENOSPC, "No space left on device", str(path))

    monkeypatch.setattr(MlflowReporter, "log_artifact", full)
    code, _, err = main(capsys, "run", "fault_toy", "--tracking-uri", uri)
    assert code == 1 and one_line_error(err) and "disk full" in err and "--resume" in err, err
    parents, children = runs(uri)
    assert parents[0].info.status == "FAILED"
    assert "No space left" in parents[0].data.tags["failure_reason"]
    assert [c.info.status for c in children] == ["FINISHED"] * 4  # nothing lost

    monkeypatch.setattr(MlflowReporter, "log_artifact", real)
    code, out, _ = main(capsys, "run", "fault_toy", "--resume", "--tracking-uri", uri)
    assert code == 0 and "4 of 4 trial(s) finished, running the other 0" in out
    parents, children = runs(uri)
    assert parents[0].info.status == "FINISHED" and len(children) == 4
    assert "failure_reason" not in parents[0].data.tags  # 14: the old reason is gone


# -- 8: a copied or moved store --------------------------------------------------
def test_8_a_copied_store_writes_and_reads_its_own_artifacts(toy, tmp_path, capsys):
    _, uri = toy
    assert main(capsys, "run", "fault_toy", "--tracking-uri", uri)[0] == 0
    original = tmp_path / "store"
    before = sorted(p.name for p in (original / "artifacts" / "fault_toy").iterdir())
    copy = tmp_path / "copy"
    shutil.copytree(original, copy)
    copy_uri = f"sqlite:///{copy}/mlflow.db"
    assert main(capsys, "run", "fault_toy", "--tracking-uri", copy_uri)[0] == 0
    assert sorted(p.name for p in (original / "artifacts" / "fault_toy").iterdir()) == before
    assert len(list((copy / "artifacts" / "fault_toy").iterdir())) == 2 * len(before)

    moved = tmp_path / "moved"
    original.rename(moved)  # a moved store still finds its plots
    code, out, _ = main(
        capsys,
        "compare",
        "fault_toy",
        "--tracking-uri",
        f"sqlite:///{moved}/mlflow.db",
        "--plots",
        tmp_path / "plots",
    )
    assert code == 0 and "plot.png" in out and (tmp_path / "plots" / "summary").is_dir()


# -- 11: ui -------------------------------------------------------------------------
def test_11_ui_refuses_a_busy_or_impossible_port(toy, capsys):
    _, uri = toy
    assert main(capsys, "run", "fault_toy", "--tracking-uri", uri)[0] == 0
    code, _, err = main(capsys, "ui", "--tracking-uri", uri, "--port", "99999")
    assert code == 2 and one_line_error(err) and "--port must be 1-65535" in err
    with socket.create_server(("127.0.0.1", 0)) as busy:
        port = busy.getsockname()[1]
        code, _, err = main(capsys, "ui", "--tracking-uri", uri, "--port", port)
    assert code == 2 and one_line_error(err) and f"cannot serve on 127.0.0.1:{port}" in err


# -- 13: compare on failures -----------------------------------------------------------
def test_13_compare_shows_a_sweep_whose_trials_all_failed(toy, tmp_path, capsys):
    _, uri = toy
    assert main(capsys, "run", "fault_toy", "--set", "values=[1]", "--set", "fail_on=1",
                "--tracking-uri", uri)[0] == 0  # fmt: skip
    code, out, err = main(capsys, "compare", "fault_toy", "--tracking-uri", uri)
    assert code == 0 and "FAILED" in out and "loss became nan" in out, err
    assert "0 of 1 planned trial(s) finished" in out and "study order" in out
    code, _, err = main(capsys, "compare", "fault_toy", "--metric", "score", "--tracking-uri", uri)
    assert code == 2 and one_line_error(err) and "none FINISHED" in err
    for flag in ("--run", "--plots"):  # an empty value is refused, not read as "none given"
        code, _, err = main(capsys, "compare", "fault_toy", flag, "", "--tracking-uri", uri)
        assert code == 2 and one_line_error(err) and f"{flag} takes" in err
    target = tmp_path / "a_file"
    target.write_text("x")
    code, _, err = main(capsys, "compare", "fault_toy", "--plots", target, "--tracking-uri", uri)
    assert code == 2 and one_line_error(err) and "is a file" in err


# -- 2, 3, 4: process faults ----------------------------------------------------------
def test_2_resume_refuses_a_live_sweep_and_the_sweep_is_recorded_once(toy):
    env, uri = toy
    proc = spawn(env, "run", "fault_toy", "--set", "sleep=1.5", "--tracking-uri", uri)
    seen = []
    try:
        lines_until(proc, "[1/4] ", seen)  # trial 2 starts
        time.sleep(0.5)  # into its sleep: stopped mid-write, it would hold the store locked
        proc.send_signal(signal.SIGSTOP)
        out = rnnexp(env, "run", "fault_toy", "--resume", "--tracking-uri", uri)
        assert out.returncode == 2 and one_line_error(out.stderr), out.stderr
        assert f"is still being run by pid {proc.pid}" in out.stderr and "stopped" in out.stderr
    finally:
        proc.send_signal(signal.SIGCONT)
    rest, _ = proc.communicate(timeout=120)
    assert proc.returncode == 0, "".join(seen) + rest
    parents, children = runs(uri)
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert sorted(c.info.status for c in children) == ["FINISHED"] * 4


def test_2_a_dead_sweep_is_marked_killed_by_the_next_run_and_stays_resumable(toy):
    env, uri = toy
    proc = spawn(env, "run", "fault_toy", "--set", "sleep=1", "--tracking-uri", uri)
    lines_until(proc, "[1/4] ", [])  # trial 2 runs
    proc.kill()
    proc.wait()
    out = rnnexp(env, "run", "fault_toy", "--set", "values=[9]", "--tracking-uri", uri)
    assert out.returncode == 0 and "was left RUNNING" in out.stdout, out.stdout + out.stderr
    parents, children = runs(uri)
    dead = next(p for p in parents if p.data.tags["rnnexp.trials"] == "4")
    assert dead.info.status == "KILLED" and "is gone" in dead.data.tags["failure_reason"]
    assert "RUNNING" not in {c.info.status for c in children}
    out = rnnexp(env, "run", "fault_toy", "--resume", dead.info.run_id, "--tracking-uri", uri)
    assert out.returncode == 0 and "running the other 3" in out.stdout, out.stdout + out.stderr


def _worker_pids(pid):
    """The spawned worker processes of the sweep process `pid`."""
    children = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    workers = []
    for child in map(int, children.split()):
        with open(f"/proc/{child}/cmdline", "rb") as f:
            if b"spawn_main" in f.read():
                workers.append(child)
    return workers


def _until_trials_running(uri, n, timeout=60):
    """Wait until `n` trial runs are RUNNING (a loaded machine starts them late).

    Read with sqlite, read-only: MLflow here would create the store the sweep is
    about to create.
    """
    db = Path(uri[len("sqlite:///") :]).as_uri() + "?mode=ro"
    query = (
        "SELECT count(*) FROM runs r JOIN tags t ON t.run_uuid = r.run_uuid "
        "WHERE t.key = 'rnnexp.role' AND t.value = 'trial' AND r.status = 'RUNNING'"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with (
            contextlib.suppress(sqlite3.Error),
            contextlib.closing(sqlite3.connect(db, uri=True, timeout=5)) as con,
        ):
            if con.execute(query).fetchone()[0] >= n:
                return
        time.sleep(0.2)
    raise AssertionError(f"{n} trials never ran at once within {timeout} s")


def test_3_a_dead_worker_loses_only_its_trial_and_resume_finishes(toy):
    env, uri = toy
    proc = spawn(env, "run", "fault_toy", "--set", "sleep=3", "--workers", 2, "--tracking-uri", uri)
    seen = []
    lines_until(proc, "[1/4 done]", seen)
    _until_trials_running(uri, 2)  # both workers hold a trial now
    victim = _worker_pids(proc.pid)[0]
    os.kill(victim, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=120)
    out = "".join(seen) + rest
    assert proc.returncode == 1 and "Traceback" not in out, out
    assert "its worker process died (killed by SIGKILL)" in out and "--resume" in out
    assert out.count("KILLED: its worker process died") == 1, out  # the loss, said once
    parents, children = runs(uri)
    assert parents[0].info.status == "FAILED"
    assert sorted(c.info.status for c in children) == ["FINISHED"] * 3 + ["KILLED"]

    again = rnnexp(env, "run", "fault_toy", "--resume", "--tracking-uri", uri)
    assert again.returncode == 0 and "3 of 4 trial(s) finished" in again.stdout, again.stdout
    parents, children = runs(uri)
    assert parents[0].info.status == "FINISHED"
    assert sorted(c.info.status for c in children) == ["FINISHED"] * 4 + ["KILLED"]


def test_3_a_worker_dead_between_trials_loses_nothing_and_reports_each_trial_once(toy):
    # It died after sending one trial's result and before taking the next: that
    # next trial was once reported KILLED and then, run again, FINISHED ("[7/6 done]"),
    # or reported KILLED without having run, failing the sweep.
    env, uri = toy
    sweep = "--set sleep=1 --set die_between=1 --set values=[1,2,3,4,5,6] --workers 2".split()
    out = rnnexp(env, "run", "fault_toy", *sweep, "--tracking-uri", uri)
    text = out.stdout + out.stderr
    assert out.returncode == 0 and "Traceback" not in text, text
    assert "KILLED" not in text and "[7/6 done]" not in text and "[6/6 done]" in text, text
    parents, children = runs(uri)
    assert parents[0].info.status == "FINISHED"
    # A fresh worker starts only for a trial handed to the dead one; on a loaded machine
    # the other worker may have run the rest before the slow one's first result came.
    workers = {c.data.tags["rnnexp.worker"] for c in children}
    handed = len(workers) == 3
    said = text.count("rnnexp: a worker process died (killed by SIGKILL) before it took")
    assert len(workers) in (2, 3) and said == handed, (workers, text)
    assert sorted(c.data.params["trial.value"] for c in children) == list("123456")
    assert {c.info.status for c in children} == {"FINISHED"}


def _signal_once_running(env, uri, argv, running, signum):
    """Run `fault_toy` with `argv`, send `signum` once `running` trials run; `(proc, output)`."""
    proc = spawn(env, "run", "fault_toy", *argv, "--tracking-uri", uri)
    try:
        _until_trials_running(uri, running)
        proc.send_signal(signum)
        return proc, proc.communicate(timeout=60)[0]
    finally:
        if proc.poll() is None:
            proc.kill()


def test_4_a_trial_whose_interrupt_comes_back_as_another_error_is_killed_not_failed(toy):
    # A stop signal landing inside TensorFlow's C code came back as SystemError or a
    # Keras TypeError, and the stopped trial was recorded FAILED with that error.
    env, uri = toy
    argv = ["--set", "sleep=60", "--set", "garble_interrupt=true", "--workers", 2]
    proc, out = _signal_once_running(env, uri, argv, 2, signal.SIGINT)
    assert proc.returncode == 130 and "Traceback" not in out, out
    _, children = runs(uri)
    reasons = {c.info.status: c.data.tags.get("failure_reason", "") for c in children}
    assert list(reasons) == ["KILLED"] and "its sweep was stopped" in reasons["KILLED"], reasons


def test_4_sigterm_that_comes_back_as_another_error_stops_a_serial_sweep(toy):
    # The handler ignores further stop signals: a trial FAILED with the garbled
    # interrupt let the sweep run on, deaf to SIGTERM.
    env, uri = toy
    argv = ["--set", "sleep=20", "--set", "garble_interrupt=true", "--set", "values=[1,2]"]
    proc, out = _signal_once_running(env, uri, argv, 1, signal.SIGTERM)
    assert proc.returncode == 128 + signal.SIGTERM and "Traceback" not in out, out
    parents, children = runs(uri)
    assert [p.info.status for p in parents] == ["KILLED"]
    reasons = [(c.info.status, c.data.tags.get("failure_reason")) for c in children]
    assert reasons == [("KILLED", "interrupted (SIGTERM)")], reasons


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_4_a_stop_signal_inside_a_store_write_still_marks_the_runs_killed(toy, capsys, signum):
    # In CI a SIGTERM landed inside SQLAlchemy's INSERT of a trial's dataset: the
    # half-done write kept sqlite's lock, and both runs stayed RUNNING.
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    runs_made, sent = [], []

    def signal_mid_write(conn, cursor, statement, *args):
        if statement.startswith("INSERT INTO runs"):
            runs_made.append(statement)
        if len(runs_made) == 2 and statement.startswith("INSERT INTO inputs") and not sent:
            sent.append(statement)  # the trial's dataset, not the sweep's
            os.kill(os.getpid(), signum)

    event.listen(Engine, "after_cursor_execute", signal_mid_write)
    try:
        code, _, err = main(capsys, "run", "fault_toy", "--tracking-uri", toy[1])
    finally:
        event.remove(Engine, "after_cursor_execute", signal_mid_write)
    assert sent and code == 128 + signum and "Traceback" not in err, err
    parents, children = runs(toy[1])
    assert [p.info.status for p in parents] == ["KILLED"]
    name = "Ctrl-C" if signum == signal.SIGINT else "SIGTERM"
    reasons = [(c.info.status, c.data.tags.get("failure_reason")) for c in children]
    assert reasons == [("KILLED", f"interrupted ({name})")], reasons


def test_4_a_ctrl_c_that_comes_back_as_another_error_is_killed_not_failed(toy, capsys):
    # As SIGTERM: Ctrl-C turned into a SystemError inside a trial is an interrupt.
    returned = threading.Event()

    def ctrl_c_once_the_trial_runs():  # not at a fixed time: a loaded machine starts it late
        with contextlib.suppress(AssertionError):
            _until_trials_running(toy[1], 1)
            if not returned.is_set():
                os.kill(os.getpid(), signal.SIGINT)

    sender = threading.Thread(target=ctrl_c_once_the_trial_runs, daemon=True)
    sender.start()
    try:
        code, _, err = main(
            capsys, "run", "fault_toy", "--set", "sleep=30", "--set", "garble_interrupt=true",
            "--tracking-uri", toy[1],
        )  # fmt: skip
    finally:
        returned.set()
        sender.join(timeout=65)
    assert code == 130 and "Traceback" not in err, err
    parents, children = runs(toy[1])
    assert [p.info.status for p in parents] == ["KILLED"]
    reasons = [(c.info.status, c.data.tags.get("failure_reason")) for c in children]
    assert reasons == [("KILLED", "interrupted (Ctrl-C)")], reasons


def test_4_a_signal_ignored_at_start_stays_ignored():
    # `nohup` ignores SIGHUP so that a run outlives its terminal; a shell's
    # background job ignores SIGINT.
    from rnnexp import stopping

    before = {s: signal.getsignal(s) for s in (signal.SIGHUP, signal.SIGINT, signal.SIGTERM)}
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    try:
        with stopping.on_stop_signals():
            assert signal.getsignal(signal.SIGHUP) == signal.SIG_IGN
            assert signal.getsignal(signal.SIGTERM) not in (signal.SIG_IGN, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGHUP)  # nothing happens
    finally:
        for s, handler in before.items():
            signal.signal(s, handler)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "Ctrl-C"])
def test_4_a_stop_that_lands_in_a_finalizer_is_raised_after_it(capsys, signum):
    # In CI a worker's SIGTERM landed in a weakref callback: Python printed the
    # interrupt as "Exception ignored", a traceback, and dropped it.
    from rnnexp import stopping

    class Finalized:
        def __del__(self):
            signal.raise_signal(signum)  # handled at the next line: inside this finalizer
            time.sleep(0)

    before, hook = signal.getsignal(signal.SIGTERM), sys.unraisablehook
    with pytest.raises(KeyboardInterrupt) as stopped:
        with stopping.on_stop_signals():
            Finalized()
            deadline = time.monotonic() + 20  # a loaded machine schedules the re-sender late
            while time.monotonic() < deadline:
                time.sleep(0.01)
    assert stopping.stop_reason() is None and signal.getsignal(signal.SIGTERM) == before
    assert sys.unraisablehook is hook
    assert stopped.value.args == (() if signum == signal.SIGINT else ("SIGTERM",))
    assert "Exception ignored" not in capsys.readouterr().err


def test_a_stop_raised_at_once_leaves_none_pending_for_a_later_write():
    # A second stop landing just after a write ended is raised there; the first,
    # held during the write, must not fire again at the end of the next one.
    from rnnexp import stopping

    with stopping.on_stop_signals():
        with pytest.raises(KeyboardInterrupt):
            with stopping.deferred():
                stopping.interrupt("first")  # held
            # (deferred's exit raised "first")
        with pytest.raises(KeyboardInterrupt, match="second"):
            stopping._PENDING.append(("first",))  # as if it had landed after the exit
            stopping.interrupt("second")
        with stopping.deferred():
            pass  # nothing left to raise
    client = stopping.Uninterrupted(object())
    assert copy.copy(client)._target is client._target  # rebuilt without recursion


def test_a_stop_inside_a_deferred_block_is_raised_as_it_ends():
    from rnnexp import stopping

    done = []
    with pytest.raises(KeyboardInterrupt, match="SIGTERM"), stopping.on_stop_signals():
        with stopping.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(0.05)  # the handler has run by now
            done.append("the write")
    assert done == ["the write"] and stopping.stop_reason() is None


def test_a_bare_interrupt_after_a_sigterm_still_names_the_sigterm():
    # Ray's wait raises a bare KeyboardInterrupt for the handler's named one: a
    # SIGTERM'd Ray sweep said "interrupted (Ctrl-C)" and exited 130, not 143.
    from rnnexp import stopping
    from rnnexp.tracking.tracker import interrupted_reason

    reasons = []
    with pytest.raises(KeyboardInterrupt, match="^SIGTERM$"), stopping.on_stop_signals():
        with contextlib.suppress(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler raises here
        reasons.append(interrupted_reason(KeyboardInterrupt()))
        raise KeyboardInterrupt  # as Ray re-raises it
    assert reasons == ["interrupted (SIGTERM)"]
    assert interrupted_reason(KeyboardInterrupt()) == "interrupted (Ctrl-C)"  # none noted now


@pytest.mark.parametrize("where", ["the machine monitor starts", "before its run is guarded"])
def test_4_a_stop_signal_just_after_a_trial_run_is_created_marks_it_killed(
    toy, capsys, monkeypatch, where
):
    # At stop 38 a SIGTERM landing between the trial run's creation and its guard
    # left the run RUNNING with no reason (the system-metrics monitor was starting).
    from rnnexp.tracking import tracker

    if where == "the machine monitor starts":
        monkeypatch.setenv("RNNEXP_SYSTEM_METRICS", "1")

        def monitor(run_id, uri):
            raise KeyboardInterrupt("SIGTERM")

        monkeypatch.setattr(tracker, "_system_metrics", monitor)
    else:
        create = tracker.Tracker.run

        @contextlib.contextmanager
        def run(self, name, parent=None, tags=None):
            if parent is None:
                with create(self, name, parent, tags) as reporter:
                    yield reporter
                return
            self.client.create_run(self.experiment_id, run_name=name, tags={
                **{k: str(v) for k, v in tags.items()}, "mlflow.parentRunId": parent.run_id
            })  # fmt: skip
            raise KeyboardInterrupt("SIGTERM")

        monkeypatch.setattr(tracker.Tracker, "run", run)
    code, _, err = main(
        capsys, "run", "fault_toy", "--set", "values=[1,2]", "--tracking-uri", toy[1]
    )
    assert code == 128 + signal.SIGTERM and "Traceback" not in err, err
    parents, children = runs(toy[1])
    assert [p.info.status for p in parents] == ["KILLED"]
    reasons = [(c.info.status, c.data.tags.get("failure_reason")) for c in children]
    assert reasons == [("KILLED", "interrupted (SIGTERM)")], reasons


POOL_INTERRUPTED = """
import sys, sqlalchemy
from rnnexp import startup
startup.configure_logging()
engine = sqlalchemy.create_engine("sqlite:///" + sys.argv[1])

@sqlalchemy.event.listens_for(engine, "reset")
def interrupted(dbapi_connection, record, reset_state):
    raise KeyboardInterrupt  # a worker's SIGTERM, landing as the pool hands back a connection

try:
    with engine.connect() as con:
        con.execute(sqlalchemy.text("select 1"))
except KeyboardInterrupt:
    print("interrupted")
"""


def test_4_an_interrupt_inside_sqlalchemys_pool_prints_no_traceback(tmp_path):
    # SQLAlchemy logs "Exception during reset or similar" with the stack; once,
    # test_4 below showed it on the terminal under --workers.
    out = subprocess.run(
        [sys.executable, "-c", POOL_INTERRUPTED, str(tmp_path / "x.db")],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert out.stdout.strip() == "interrupted", out.stdout + out.stderr
    assert "Traceback" not in out.stderr and "Exception during reset" not in out.stderr, out.stderr


def test_4_a_sigterm_while_a_worker_leaves_raises_nothing(monkeypatch):
    # The parent closes the pipe, then sends SIGTERM: the idle worker is already in
    # its leaving path (waiting to see whether it was orphaned) when the signal lands.
    from rnnexp import stopping
    from rnnexp.sweep import local, worker_signals

    monkeypatch.setitem(worker_signals.STATE, "parent", os.getppid())
    monkeypatch.setitem(worker_signals.STATE, "stopping", False)
    monkeypatch.setitem(worker_signals.STATE, "busy", False)
    monkeypatch.setitem(stopping._STOP, "reason", None)
    sent = []

    def sleep_then_signal(seconds):
        if not sent:
            sent.append(seconds)
            os.kill(os.getpid(), signal.SIGTERM)

    monkeypatch.setattr(worker_signals.time, "sleep", sleep_then_signal)
    previous = signal.signal(signal.SIGTERM, worker_signals.on_sigterm)
    try:
        local._leave(setup=None)  # not orphaned: marks nothing, and must not raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert sent and worker_signals.STATE["stopping"]


def test_4_ctrl_c_under_workers_starts_nothing_new_and_stops_promptly(toy):
    env, uri = toy
    proc = spawn(env, "run", "fault_toy", "--set", "sleep=4", "--workers", 2, "--tracking-uri", uri)
    seen = []
    lines_until(proc, "[1/4 done]", seen)
    proc.send_signal(signal.SIGINT)
    start = time.monotonic()
    # Stopped when it says so; the interpreter's exit (TensorFlow's teardown) comes after.
    lines_until(proc, "interrupted (Ctrl-C); the run is marked KILLED", seen)
    assert time.monotonic() - start < 8, "".join(seen)
    rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 130 and "Traceback" not in "".join(seen) + rest, rest
    parents, children = runs(uri)
    assert parents[0].info.status == "KILLED"
    statuses = sorted(c.info.status for c in children)
    # one finished; the two held by the workers are KILLED (or had not started a run
    # yet); nothing was started after the interrupt, nothing is left RUNNING
    assert statuses[0] == "FINISHED" and set(statuses[1:]) == {"KILLED"} and len(statuses) <= 3
