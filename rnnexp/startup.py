"""Start the training frameworks quietly: our console shows, their start-up chatter does not.

TensorFlow's C++ runtime prints absl lines ("oneDNN custom operations are on",
"Could not find cuda drivers") while it is imported, before absl is set up, so
`TF_CPP_MIN_LOG_LEVEL` cannot silence them. `import_backend` imports Keras (and
with it the backend) with file descriptor 2 pointed at a temporary file, and
replays what was captured only when the import fails or `verbose` is asked
for. `configure_logging` keeps MLflow's first-use database lines and
TensorFlow's Python warnings (retracing notices) at WARNING/ERROR unless
`verbose`.

Nothing here imports a framework at module level.
"""

import logging
import os
import sys
import tempfile
import threading
import time

__all__ = ["check_backend", "configure_logging", "import_backend"]

# Loggers whose INFO lines are the libraries' business, not the user's.
_CHATTY = {
    "alembic": logging.WARNING,  # MLflow's schema migrations on a fresh store
    # "Creating initial MLflow database tables...", and an ERROR with SQLAlchemy's
    # traceback for every database fault, which rnnexp then says in one line.
    "mlflow.store.db.utils": logging.CRITICAL,
    # "Failed to get mlflow run" with SQL when the store is locked: the run's error says it.
    "mlflow.system_metrics": logging.ERROR,
    # "Exception during reset or similar" with a traceback when Ctrl-C (a worker's
    # SIGTERM) lands while the pool hands back a connection: the interrupt is said.
    "sqlalchemy.pool": logging.CRITICAL,
    "tensorflow": logging.ERROR,  # "5 out of the last 7 calls ... triggered tf.function retracing"
}


def keras_backend_name() -> str:
    """The backend Keras will load, read as Keras reads it, without importing Keras.

    `KERAS_BACKEND`, else `backend` in `$KERAS_HOME/keras.json` (default
    `~/.keras`), else `tensorflow`.
    """
    if os.environ.get("KERAS_BACKEND"):
        return os.environ["KERAS_BACKEND"]
    import json

    home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    try:
        with open(os.path.join(home, "keras.json")) as f:
            return str(json.load(f).get("backend", "tensorflow"))
    except (OSError, ValueError, AttributeError):
        return "tensorflow"


# Keras's backends, and the package each needs (`pip install` name).
BACKEND_PACKAGES = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch", "numpy": "numpy"}


def check_backend() -> str:
    """The Keras backend if Keras has it and it is installed; else a one-line `ConfigError`."""
    import importlib.util

    from rnnexp.config import ConfigError

    name = keras_backend_name()
    where = "KERAS_BACKEND" if os.environ.get("KERAS_BACKEND") else "keras.json's backend"
    if name not in BACKEND_PACKAGES:
        raise ConfigError(
            f"{where}={name!r} is not a Keras backend; use one of "
            f"{', '.join(BACKEND_PACKAGES)} (rnnexp is tested on tensorflow)"
        )
    if importlib.util.find_spec(name) is None:
        raise ConfigError(
            f"{where}={name!r}, but {name} is not installed: `pip install "
            f"{BACKEND_PACKAGES[name]}`, or KERAS_BACKEND=tensorflow"
        )
    return name


def configure_logging(verbose: bool = False):
    """Libraries' INFO chatter off (WARNING), or on with `verbose`."""
    for name, level in _CHATTY.items():
        logging.getLogger(name).setLevel(logging.INFO if verbose else level)


def import_backend(verbose: bool = False):
    """Import Keras and its backend once, their C++ start-up lines captured.

    Returns:
        The `keras` module.

    Raises:
        Whatever the import raises, after replaying what it printed.
    """
    if "keras" in sys.modules or verbose:
        import keras

        return keras
    sys.stderr.flush()
    saved = os.dup(2)
    # Importing TensorFlow takes seconds, and half a minute on a busy machine:
    # say what the wait is, instead of silence (on the real stderr: fd 2 is
    # captured meanwhile, and stdout may be a CSV or JSON being piped).
    said = _SayImporting(saved)
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            import keras
        except BaseException:
            said.stop()
            _restore(saved)
            capture.seek(0)
            sys.stderr.write(capture.read().decode(errors="replace"))
            sys.stderr.flush()
            raise
        said.stop()
        _restore(saved)
    return keras


SLOW_IMPORT_S = 5.0  # an import this slow is said
STILL_IMPORTING_S = 20.0  # and said again this often, so no wait is silent for half a minute


class _SayImporting:
    """A line on `fd` once the import takes `SLOW_IMPORT_S`, then every `STILL_IMPORTING_S`.

    Never after `stop()`.
    """

    def __init__(self, fd: int):
        self.fd, self.lock, self.stopped = fd, threading.Lock(), False
        self.started = time.monotonic()
        self._schedule(SLOW_IMPORT_S)

    def _schedule(self, delay: float):
        self.timer = threading.Timer(delay, self.say)
        self.timer.daemon = True
        self.timer.start()

    def say(self):
        backend = os.environ.get("KERAS_BACKEND", "tensorflow")
        with self.lock:  # `fd` is closed (and its number reused) once stopped
            if self.stopped:
                return
            waited = time.monotonic() - self.started
            if waited < SLOW_IMPORT_S + STILL_IMPORTING_S / 2:
                line = f"rnnexp: importing Keras and {backend} (slow on a busy machine) ...\n"
            else:
                line = f"rnnexp: still importing Keras and {backend} ({waited:.0f} s) ...\n"
            os.write(self.fd, line.encode())
            self._schedule(STILL_IMPORTING_S)

    def stop(self):
        self.timer.cancel()
        with self.lock:
            self.stopped = True


def _restore(saved: int):
    sys.stderr.flush()
    os.dup2(saved, 2)
    os.close(saved)
