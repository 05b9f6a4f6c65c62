"""Where a trial's model is built and trained: one device, or mirrored over several.

The sweep opens this scope around each trial (`--distribute`); Keras and
TensorFlow are imported only when it is asked for.
"""

__all__ = ["DISTRIBUTE", "strategy_scope"]


DISTRIBUTE = ("auto", "none", "mirrored")


def strategy_scope(mode: str = "auto"):
    """A context in which to build, compile and fit models.

    `none`: the default single device. `mirrored`: data parallelism with
    `tf.distribute.MirroredStrategy` over every visible GPU (over the logical
    CPUs when there is no GPU). `auto`: mirrored when more than one GPU is
    visible, else none. Other Keras backends have no such strategy: `auto` is none
    there and `mirrored` is refused.

    Returns:
        `(context manager, description)`, e.g. `(scope, "mirrored x2")`.
    """
    import contextlib

    import keras

    if mode not in DISTRIBUTE:
        raise ValueError(f"unknown distribute mode {mode!r}; choose one of {DISTRIBUTE}")
    if mode == "mirrored" and keras.backend.backend() != "tensorflow":
        raise ValueError(
            "distribute mode 'mirrored' is TensorFlow's MirroredStrategy; the Keras backend "
            f"is {keras.backend.backend()!r}: use 'none' (or 'auto')"
        )
    if keras.backend.backend() != "tensorflow" or mode == "none":
        return contextlib.nullcontext(), "none"
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    if mode == "auto" and len(gpus) < 2:
        return contextlib.nullcontext(), "none"
    devices = [d.name for d in gpus] or [d.name for d in tf.config.list_logical_devices("CPU")]
    strategy = tf.distribute.MirroredStrategy(devices=devices)
    return strategy.scope(), f"mirrored x{strategy.num_replicas_in_sync}"
