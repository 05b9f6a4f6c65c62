import os
import signal
import socket
import subprocess
import sys
import tempfile

import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
# Unit tests never read the developer's token cache, nor fill it.
os.environ["RNNEXP_CACHE_DIR"] = tempfile.mkdtemp(prefix="rnnexp-test-cache-")
# `.ci/run` points RNNEXP_IMDB_PATH at the real IMDB copy for the `ci` profiles
# (tests/test_experiments_ci.py hands it on); unit tests of `data.source=auto`
# must not see it.
if "RNNEXP_IMDB_PATH" in os.environ:
    os.environ["RNNEXP_CI_IMDB_PATH"] = os.environ.pop("RNNEXP_IMDB_PATH")
# Under pytest-xdist every worker trains beside the others: each process (and
# the runs it starts) gets its share of the cores, not a pool of all of them.
# Measured two ci profiles side by side on 2 cores: the same numbers, 4-17% less wall time.
# A background job (`cmd &`, as CI may start this suite) ignores SIGINT, and
# so would every run the tests start: the Ctrl-C tests play a user at a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)
_workers = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
if _workers > 1:
    from rnnexp.sweep.trial import set_threads

    set_threads(max(1, (os.cpu_count() or 1) // _workers), keep_set=True)


# The ci profiles run first, the longest first (the order of a clean-clone CI's
# --durations, 2026-12-07): pytest-xdist's workers then share out the short tests
# last and end together, not one waiting on a long profile that started last.
CI_PROFILES_LONGEST_FIRST = (
    "imdb_seqlen", "ptb_lm", "translation", "gradient_flow", "copy_memory", "sentiment",
    "deep_rnn", "tanh_vs_relu", "jsb_chorales", "mnist1d", "exploding_clipping",
    "pos_tagging", "char_lm", "adding", "timeseries", "captioning", "tagging",
)  # fmt: skip


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(CI_PROFILES_LONGEST_FIRST)}

    def order(pair):
        position, item = pair
        if getattr(item, "originalname", "") == "test_ci_profile_reproduces_the_finding":
            return (0, rank.get(item.callspec.params["name"], len(rank)), position)
        return (1, 0, position)

    items[:] = [item for _, item in sorted(enumerate(items), key=order)]


@pytest.fixture(autouse=True)
def _toy_experiments_leave_with_their_test():
    """A test that loads experiment files from `RNNEXP_EXPERIMENTS_DIR` (a toy
    folder) takes them out of the catalog when it ends, so a later test in the
    same process (or pytest-xdist worker) sees only the shipped experiments.
    """
    yield
    from rnnexp import registry

    local = registry.LOCAL_PACKAGE
    for name, exp in list(registry._REGISTRY.items()):
        if type(exp).__module__.partition(".")[0] == local:
            del registry._REGISTRY[name]
    for module in [m for m in list(sys.modules) if m.partition(".")[0] == local]:
        del sys.modules[module]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on (just now)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def runs(uri: str, experiment: str):
    """`(sweep runs, trial runs)` of `experiment` in the store at `uri`."""
    import mlflow

    mlflow.set_tracking_uri(uri)
    found = mlflow.search_runs(experiment_names=[experiment], output_format="list")
    parents = [r for r in found if r.data.tags.get("rnnexp.role") == "sweep"]
    children = [r for r in found if r.data.tags.get("rnnexp.role") == "trial"]
    return parents, children


def cli(env, *argv, timeout=300, **kwargs):
    """`python -m rnnexp ARGV` in a fresh process with `env`; its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "rnnexp", *map(str, argv)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        **kwargs,
    )
