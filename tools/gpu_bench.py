"""GPU throughput (docs/layers-and-speed.md): our cells vs Keras's built-ins vs torch.nn.

Runs under Keras's JAX backend (the lent GPU machines have JAX and PyTorch, no
TensorFlow). Everything is fp32: JAX matmuls at precision "highest" and
cuDNN's TF32 off in torch, so no contender silently drops to TF32.

    KERAS_BACKEND=jax python tools/gpu_bench.py [throughput] [imdb] [--quick]

Prints one JSON line per measurement and a table last. Throughput is
sample-steps per second (`batch * T * batches / seconds`), best of `REPEATS`
timed epochs after one warm-up epoch, contenders interleaved repeat by repeat.
Also times the training work of `imdb_seqlen --profile ci` (its model shapes,
pool sizes and batch size, random tokens) per epoch.
"""

import json
import os
import sys
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402

jax.config.update("jax_default_matmul_precision", "highest")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from rnnexp.layers import kernels  # noqa: E402
from rnnexp.models import (  # noqa: E402
    ClassifierConfig,
    StackConfig,
    build_bag_of_embeddings,
    build_classifier,
    build_sequence_model,
)

QUICK = "--quick" in sys.argv  # a smoke test of the script itself, at toy sizes
REPEATS = 2 if QUICK else 5
T, D, U = (8, 64, 128) if QUICK else (200, 64, 128)
SHRINK = 50 if QUICK else 1
GATES = {"rnn": 1, "gru": 3, "lstm": 4}
KERAS = {"rnn": keras.layers.SimpleRNN, "gru": keras.layers.GRU, "lstm": keras.layers.LSTM}
rows = []
try:
    import torch

    HAS_CUDA_TORCH = torch.cuda.is_available()
except ImportError:
    HAS_CUDA_TORCH = False


def emit(row):
    rows.append(row)
    print(json.dumps(row), flush=True)


def matmul_rate(m, k, n, reps=20):
    a = jax.random.normal(jax.random.PRNGKey(0), (m, k), "float32")
    b = jax.random.normal(jax.random.PRNGKey(1), (k, n), "float32")

    @jax.jit
    def many(a, b):
        def body(i, acc):
            return acc + a @ (b + i.astype("float32") * 1e-9)

        return jax.lax.fori_loop(0, reps, body, jnp_zeros(m, n))

    many(a, b).block_until_ready()
    best = float("inf")
    for _ in range(5):
        t0 = time.perf_counter()
        many(a, b).block_until_ready()
        best = min(best, time.perf_counter() - t0)
    return 2.0 * m * k * n * reps / best


def jnp_zeros(m, n):
    return jax.numpy.zeros((m, n), "float32")


def keras_epoch(cell, impl, batch, batches):
    model = build_sequence_model(
        StackConfig(units=U, impl="keras" if impl == "keras" else "rnnexp"),
        cell,
        (T, D),
        keras.layers.Dense(1),
    )
    if impl == "rnnexp-plain":  # step the cell as Keras does, no input projection up front
        model.get_layer("recurrent").rnn_layers[0].project_first = False
    model.compile(optimizer="adam", loss="mse")
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch * batches, T, D)).astype("float32")
    y = rng.standard_normal((batch * batches, 1)).astype("float32")
    return lambda: model.fit(x, y, batch_size=batch, epochs=1, verbose=0, shuffle=False)


def torch_epoch(cell, batch, batches):
    import torch

    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = "cuda"
    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell]
    rnn = cls(D, U, batch_first=True).to(dev)
    head = torch.nn.Linear(U, 1).to(dev)
    opt = torch.optim.Adam(list(rnn.parameters()) + list(head.parameters()))
    gen = torch.Generator().manual_seed(0)
    xs = torch.randn(batches, batch, T, D, generator=gen).to(dev)
    ys = torch.randn(batches, batch, 1, generator=gen).to(dev)

    def epoch():
        for i in range(batches):
            opt.zero_grad()
            out, _ = rnn(xs[i])
            loss = torch.nn.functional.mse_loss(head(out[:, -1]), ys[i])
            loss.backward()
            opt.step()
        torch.cuda.synchronize()

    return epoch


def throughput(batch, batches):
    for cell in ("rnn", "gru", "lstm"):
        kernel = {"torch": "cudnn (torch.nn)"}
        epochs = {
            "rnnexp": keras_epoch(cell, "rnnexp", batch, batches),
            "rnnexp-plain": keras_epoch(cell, "rnnexp-plain", batch, batches),
            "keras": keras_epoch(cell, "keras", batch, batches),
        }
        if HAS_CUDA_TORCH:
            epochs["torch"] = torch_epoch(cell, batch, batches)
        for name, fn in epochs.items():
            kernels.reset()
            fn()
            if name != "torch":
                kernel[name] = kernels.ran()
        best = {k: float("inf") for k in epochs}
        for _ in range(REPEATS):
            for name, fn in epochs.items():
                t0 = time.perf_counter()
                fn()
                best[name] = min(best[name], time.perf_counter() - t0)
        work = batch * T * batches
        flops = 6.0 * (D + U) * GATES[cell] * U  # fwd + bwd matmul FLOPs per sample-step
        for name, s in best.items():
            emit(
                {
                    "what": "throughput",
                    "cell": cell,
                    "batch": batch,
                    "contender": name,
                    "kernel": kernel[name],
                    "steps_per_s": work / s,
                    "matmul_gflops": work / s * flops / 1e9,
                }
            )


def imdb_ci_work(epochs):
    """imdb_seqlen ci's training shapes: 8637 fit / 1524 val reviews, batch 64."""

    def cfg(impl):
        return ClassifierConfig(
            units=32, embed_dim=16, impl="keras" if impl == "keras" else "rnnexp"
        )

    n_fit, n_val, n_test, vocab = 8637 // SHRINK, 1524 // SHRINK, 2000 // SHRINK, 10000
    rng = np.random.default_rng(0)
    for length in (10, T):
        x = rng.integers(1, vocab, (n_fit, length)).astype("int32")
        y = rng.integers(0, 2, (n_fit, 1)).astype("float32")
        xv = rng.integers(1, vocab, (n_val, length)).astype("int32")
        yv = rng.integers(0, 2, (n_val, 1)).astype("float32")
        xt = rng.integers(1, vocab, (n_test, length)).astype("int32")
        yt = rng.integers(0, 2, (n_test, 1)).astype("float32")
        for model_name, impl in (
            ("rnn", "rnnexp"),
            ("lstm", "rnnexp"),
            ("rnn", "keras"),
            ("lstm", "keras"),
            ("bow", "-"),
        ):
            if model_name == "bow":
                model = build_bag_of_embeddings(
                    cfg(impl), vocab, length, keras.optimizers.Adam(2e-3, clipnorm=1.0)
                )
            else:
                model = build_classifier(cfg(impl), model_name, vocab, length, 1.0, 2e-3)[0]
            kernels.reset()
            t0 = time.perf_counter()
            times = []
            for _ in range(epochs):
                e0 = time.perf_counter()
                model.fit(x, y, batch_size=64, epochs=1, verbose=0, validation_data=(xv, yv))
                times.append(time.perf_counter() - e0)
            model.evaluate(xt, yt, verbose=0, batch_size=256)
            emit(
                {
                    "what": "imdb_ci",
                    "model": model_name,
                    "impl": impl,
                    "kernel": kernels.ran(),
                    "length": length,
                    "first_epoch_s": times[0],
                    "steady_epoch_s": float(np.median(times[1:])),
                    "total_s": time.perf_counter() - t0,
                    "epochs": epochs,
                }
            )


def main():
    sections = [a for a in sys.argv[1:] if not a.startswith("--")] or ["throughput", "imdb"]
    dev = jax.devices()[0]
    emit(
        {
            "what": "device",
            "jax": jax.__version__,
            "keras": keras.__version__,
            "device": str(dev.device_kind),
            "backend": keras.backend.backend(),
        }
    )
    if "throughput" in sections:
        big = 1024 if QUICK else 8192
        for m, k, n in ((64, U, 4 * U), (1024, U, 4 * U), (big, big, big)):
            emit({"what": "matmul", "shape": [m, k, n], "gflops": matmul_rate(m, k, n) / 1e9})
        throughput(64, 20)
        if not QUICK:
            throughput(1024, 10)
    if "imdb" in sections:
        imdb_ci_work(2 if QUICK else 4)


if __name__ == "__main__":
    main()
