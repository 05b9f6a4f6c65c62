"""Where a run came from: rnnexp's version, git, the device."""

import contextlib
import functools
import os
import platform
import subprocess
from pathlib import Path

import rnnexp


def _git(*args: str) -> str | None:
    """`git ARGS` in the package's checkout: its output, or None (no git, not a checkout)."""
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=Path(rnnexp.__file__).resolve().parent,
            capture_output=True,
            text=True,
            timeout=5,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def _git_commit() -> str | None:
    return (_git("rev-parse", "HEAD") or "").strip() or None


@functools.lru_cache(maxsize=1)
def environment_tags() -> dict[str, str]:
    """Versions and device, tagged on every run."""
    import keras

    tags = {
        "rnnexp.version": rnnexp.__version__,
        "keras.version": keras.__version__,
        "keras.backend": keras.backend.backend(),
        "python.version": platform.python_version(),
        "host.platform": platform.platform(),
    }
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tags["tensorflow.version"] = tf.__version__
    tags["device"] = _device(keras.backend.backend())
    return tags


@functools.lru_cache(maxsize=1)
def git_tags() -> dict[str, str]:
    """`git.commit` and `git.dirty` of the package's checkout; none outside one.

    Cached; `Tracker.run` clears it when a sweep starts, so each sweep looks once.
    """
    commit = _git_commit()
    if not commit:
        return {}
    tags = {"git.commit": commit}
    status = _git("status", "--porcelain")  # untracked files count: they can change a run
    if status is not None:
        tags["git.dirty"] = "true" if status.strip() else "false"
    return tags


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _device(backend: str) -> str:
    """What the trials compute on: `GPU: <name> (xN)`, else `CPU: <model> (N cores)`."""
    names: list[str] = []
    with contextlib.suppress(Exception):  # a backend that cannot say is a CPU run
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            names = [
                tf.config.experimental.get_device_details(g).get("device_name", "GPU") for g in gpus
            ]
        elif backend == "jax":
            import jax

            names = [d.device_kind for d in jax.devices() if d.platform == "gpu"]
        elif backend == "torch":
            import torch

            count = torch.cuda.device_count() if torch.cuda.is_available() else 0
            names = [torch.cuda.get_device_name(i) for i in range(count)]
    if names:
        return f"GPU: {names[0]} (x{len(names)})"
    return f"CPU: {_cpu_name()} ({os.cpu_count()} cores)"
