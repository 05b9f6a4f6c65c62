"""`python -m rnnexp bench`: training throughput of our layers vs Keras's.

Each contender trains the same model (`Input(T, d) -> RNN(units) -> Dense(1)`,
Adam, MSE) on the same batches in this one process, one `train_on_batch` per
batch (no `fit` epoch set-up in the timed region). Contenders are
interleaved round by round (each round starting one contender further on),
so drifting machine load hits them alike.

Each Keras contender is built `--instances` times, and the fastest instance
is the one compared. On TensorFlow-CPU a model instance now and then runs
all its rounds about 25% slower than its twins (seen for Keras's LSTM and ours
alike, about one instance in six, with identical code and shapes), so one
instance per contender makes the ratio a draw of which one was unlucky.

Throughput is sample-steps per second (`batch * T * batches / seconds`) of a
contender's best round; `ratio_vs_keras` is our best over Keras's best. Each
round also gives a ratio of its own: `ratio_mean` and `ratio_half` are their
mean and its 95% interval, `ratio_min`/`ratio_max` their range;
`cpu_ratio_vs_keras` compares best process CPU time, which other jobs on the
machine disturb less than wall time; `instance_spread` is the slowest
instance's best round over the fastest's, worst of the two contenders.

The matmul fractions put the throughput against this machine's fp32 matmul
rate, measured in the same process: `rnnexp_gflops` is our training throughput
in matmul FLOP/s (`6 (d+u) G u` per sample-step: forward and backward,
elementwise work not counted), `of_step_matmul` its fraction of a lone matmul
of the recurrent step's shape `(B, u) x (u, G u)` run back to back, `of_peak`
its fraction of a 1024^3 matmul.
"""

import json
import time

__all__ = ["add_arguments", "run_bench"]


MAX_BATCH_ELEMENTS = 2**30


def add_arguments(p):
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--timesteps", type=int, default=200)
    p.add_argument("--input-dim", type=int, default=64)
    p.add_argument("--units", type=int, default=128)
    p.add_argument("--batches", type=int, default=8, help="batches per timed round")
    p.add_argument(
        "--repeats", type=int, default=11, help="timed rounds of --batches per contender"
    )
    p.add_argument(
        "--instances",
        type=int,
        default=3,
        help="models built per Keras contender; the fastest is compared",
    )
    p.add_argument("--cells", default="rnn,gru,lstm", help="comma-separated: rnn,gru,lstm")
    p.add_argument(
        "--jit",
        choices=["auto", "off", "on", "both"],
        default="auto",
        help="XLA jit_compile for both contenders; auto: Keras's default for the backend "
        "(on for JAX, off for TensorFlow on CPU and for torch)",
    )
    p.add_argument(
        "--loop",
        choices=["default", "project", "step", "both"],
        default="default",
        help="our layers' time loop: project every step's input first, or step the cell "
        "as Keras does (default: the faster one measured for the backend and device, "
        "`rnnexp.layers.recurrent.PROJECT_FIRST`)",
    )
    p.add_argument("--unroll", action="store_true", help="unroll the time loop (short T only)")
    p.add_argument("--json", action="store_true", help="print results as JSON")
    p.add_argument("--no-track", action="store_true", help="do not log to MLflow")
    p.add_argument("--tracking-uri", help="MLflow tracking URI")


def _keras_layer(cell, units, unroll):
    import keras

    cls = {"rnn": keras.layers.SimpleRNN, "gru": keras.layers.GRU, "lstm": keras.layers.LSTM}[cell]
    return cls(units, unroll=unroll)


def _our_layer(cell, units, unroll, loop):
    from rnnexp.layers.recurrent import recurrent_layer

    layer = recurrent_layer(cell, units, unroll=unroll)
    layer.project_first = loop == "project"
    return layer


def _loops(choice) -> list[str]:
    """`--loop` as the loops to run, `default` resolved for the active backend."""
    if choice == "both":
        return ["project", "step"]
    if choice != "default":
        return [choice]
    from rnnexp.layers.recurrent import time_loop

    return [time_loop()]


def _model(layer, args, jit):
    import keras

    inputs = keras.Input((args.timesteps, args.input_dim))
    model = keras.Model(inputs, keras.layers.Dense(1)(layer(inputs)))
    model.compile(optimizer="adam", loss="mse", jit_compile=jit)
    return model


def _torch_contender(cell, args):
    """A train-step closure for the torch.nn equivalent, or None without torch."""
    try:
        import torch
    except ImportError:
        return None
    cls = {"rnn": torch.nn.RNN, "gru": torch.nn.GRU, "lstm": torch.nn.LSTM}[cell]
    torch.manual_seed(0)
    rnn = cls(args.input_dim, args.units, batch_first=True)
    head = torch.nn.Linear(args.units, 1)
    params = list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params)
    x = torch.randn(args.batch, args.timesteps, args.input_dim)
    y = torch.randn(args.batch, 1)

    def epoch():
        for _ in range(args.batches):
            opt.zero_grad()
            out, _ = rnn(x)
            loss = torch.nn.functional.mse_loss(head(out[:, -1]), y)
            loss.backward()
            opt.step()

    return epoch


#: Gate blocks per cell: the recurrent step multiplies `(B, u) x (u, G*u)`.
GATES = {"rnn": 1, "gru": 3, "lstm": 4}


def train_flops_per_step(cell, input_dim, units) -> float:
    """Matmul FLOPs to train one sample-step: forward `2 (d+u) G u`, backward twice that."""
    return 6.0 * (input_dim + units) * GATES[cell] * units


def matmul_rate(m, k, n, repeats=20) -> float:
    """fp32 FLOP/s of an `(m, k) x (k, n)` matmul on the active backend.

    The matmuls run inside one compiled loop (tf.function / jax.jit) so that
    per-call dispatch does not count; best of `repeats` short calls (~0.25
    GFLOP each, at most 200 matmuls), so that a busy machine's quieter
    moments are caught.
    """
    import keras

    reps = min(200, max(1, int(2.5e8 // (2 * m * k * n))))
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        @tf.function
        def many(a, b):
            acc = tf.zeros((m, n))
            for i in tf.range(reps):  # `i` keeps the product inside the loop
                acc += tf.matmul(a + tf.cast(i, tf.float32) * 1e-9, b)
            return acc

        def call(a, b):
            return many(a, b).numpy()

        a, b = tf.random.normal((m, k)), tf.random.normal((k, n))
    elif backend == "jax":
        import jax

        @jax.jit
        def many(a, b):
            def body(i, acc):
                return acc + (a + i.astype("float32") * 1e-9) @ b

            return jax.lax.fori_loop(0, reps, body, jax.numpy.zeros((m, n), "float32"))

        def call(a, b):
            return many(a, b).block_until_ready()

        a = jax.random.normal(jax.random.PRNGKey(0), (m, k), "float32")
        b = jax.random.normal(jax.random.PRNGKey(1), (k, n), "float32")
    else:
        from keras import ops

        def call(a, b):
            acc = ops.zeros((m, n))
            for i in range(reps):
                acc = acc + ops.matmul(a + i * 1e-9, b)
            return ops.convert_to_numpy(acc)

        a, b = keras.random.normal((m, k)), keras.random.normal((k, n))
    call(a, b)  # trace / compile
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        call(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * m * k * n * reps / best


def measure_matmul(args, cells) -> dict:
    """GFLOP/s of each cell's recurrent-step matmul shape, and of a 1024^3 one (peak)."""
    rates = {
        cell: matmul_rate(args.batch, args.units, GATES[cell] * args.units) / 1e9 for cell in cells
    }
    rates["peak"] = matmul_rate(1024, 1024, 1024) / 1e9
    return rates


def _interleaved(epochs: dict, repeats: int) -> tuple[dict, dict, list]:
    """Best wall and process-CPU seconds per contender, and each round's wall times.

    Each round runs every contender once, starting one further along the list
    than the round before, so no contender always runs first or last.
    """
    names = list(epochs)
    for fn in epochs.values():  # warm-up: tracing and compilation
        fn()
    best = {name: float("inf") for name in names}
    cpu = {name: float("inf") for name in names}
    rounds = []
    for r in range(repeats):
        times = {}
        for name in names[r % len(names) :] + names[: r % len(names)]:
            c0, t0 = time.process_time(), time.perf_counter()
            epochs[name]()
            times[name] = time.perf_counter() - t0
            best[name] = min(best[name], times[name])
            cpu[name] = min(cpu[name], time.process_time() - c0)
        rounds.append(times)
    return best, cpu, rounds


def _keras_epoch(model, batches):
    """One timed epoch: a `train_on_batch` per batch (it returns the loss, so it waits)."""

    def epoch():
        for xb, yb in batches:
            model.train_on_batch(xb, yb)

    return epoch


def measure(args) -> list[dict]:
    import numpy as np

    from rnnexp.report.stats import mean_interval

    rng = np.random.default_rng(0)
    n = args.batch * args.batches
    x = rng.standard_normal((n, args.timesteps, args.input_dim)).astype("float32")
    y = rng.standard_normal((n, 1)).astype("float32")
    batches = [(x[i : i + args.batch], y[i : i + args.batch]) for i in range(0, n, args.batch)]
    jits = {"auto": ["auto"], "off": [False], "on": [True], "both": [False, True]}[args.jit]
    cells = args.cells.split(",")
    rates = measure_matmul(args, cells)
    rows = []
    for cell in cells:
        for jit, loop in [(j, lp) for j in jits for lp in _loops(args.loop)]:
            epochs = {}
            for i in range(args.instances):
                for name, layer in (
                    ("keras", _keras_layer(cell, args.units, args.unroll)),
                    ("rnnexp", _our_layer(cell, args.units, args.unroll, loop)),
                ):
                    model = _model(layer, args, jit)
                    epochs[f"{name}#{i}"] = _keras_epoch(model, batches)
            jit = model.jit_compile  # "auto" resolved by Keras
            torch_epoch = _torch_contender(cell, args) if not jit else None
            if torch_epoch is not None:
                epochs["torch"] = torch_epoch
            best, cpu, rounds = _interleaved(epochs, args.repeats)
            spread = 1.0
            for name in ("keras", "rnnexp"):  # keep each contender's fastest instance
                mine = [k for k in best if k.startswith(f"{name}#")]
                fastest = min(mine, key=best.get)
                spread = max(spread, max(best[k] for k in mine) / best[fastest])
                best[name], cpu[name] = best[fastest], cpu[fastest]
                for t in rounds:
                    t[name] = t[fastest]
            best = {k: v for k, v in best.items() if "#" not in k}
            work = args.batch * args.timesteps * args.batches
            per_round = [t["keras"] / t["rnnexp"] for t in rounds]
            interval = mean_interval(per_round)
            ours = work / best["rnnexp"]
            gflops = ours * train_flops_per_step(cell, args.input_dim, args.units) / 1e9
            row = {"cell": cell, "loop": loop, "jit_compile": jit, "unroll": args.unroll}
            for name, seconds in best.items():
                row[f"{name}_steps_per_s"] = work / seconds
            row["ratio_vs_keras"] = best["keras"] / best["rnnexp"]
            row["ratio_mean"], row["ratio_half"] = interval.mean, interval.half
            row["ratio_min"], row["ratio_max"] = min(per_round), max(per_round)
            row["cpu_ratio_vs_keras"] = cpu["keras"] / cpu["rnnexp"]
            row["instance_spread"] = spread
            if "torch" in best:
                row["ratio_vs_torch"] = best["torch"] / best["rnnexp"]
            row["rnnexp_gflops"] = gflops
            row["step_matmul_gflops"] = rates[cell]
            row["peak_matmul_gflops"] = rates["peak"]
            row["of_step_matmul"] = gflops / rates[cell]
            row["of_peak"] = gflops / rates["peak"]
            rows.append(row)
    return rows


def summary_lines(rows: list[dict]) -> list[str]:
    """One plain sentence per row: the ratio, its spread and the matmul fractions."""
    lines = []
    for r in rows:
        jit = ", jit" if r["jit_compile"] else ""
        lines.append(
            f"{r['cell']} ({r['loop']}{jit}): rnnexp/keras {r['ratio_vs_keras']:.2f}x "
            f"(best of each; per round {r['ratio_mean']:.3f} ± {r['ratio_half']:.3f}, "
            f"{r['ratio_min']:.2f}-{r['ratio_max']:.2f}; process CPU time "
            f"{r['cpu_ratio_vs_keras']:.2f}x; slowest model instance "
            f"{r['instance_spread']:.2f}x the fastest); rnnexp trains at {r['rnnexp_gflops']:.1f} "
            f"matmul GFLOP/s = {100 * r['of_step_matmul']:.0f}% of a lone step-shaped matmul "
            f"({r['step_matmul_gflops']:.1f}), {100 * r['of_peak']:.0f}% of a 1024^3 matmul "
            f"({r['peak_matmul_gflops']:.1f})"
        )
    return lines


def check_arguments(args):
    """Refuse bad sizes and cell names in one line, before TensorFlow starts."""
    from rnnexp.config import ConfigError

    cells = [c.strip() for c in args.cells.split(",")]
    unknown = [c for c in cells if c not in ("rnn", "gru", "lstm")]
    if unknown or not cells:
        raise ConfigError(f"--cells {args.cells!r}: unknown {unknown}; choose from rnn,gru,lstm")
    args.cells = ",".join(cells)
    for flag in ("batch", "timesteps", "input_dim", "units", "batches", "repeats", "instances"):
        value = getattr(args, flag)
        if value < 1:
            raise ConfigError(f"--{flag.replace('_', '-')} must be >= 1, got {value}")
    # One batch of inputs or of hidden states, as float32: more than 4 GiB is a typo.
    elements = args.batch * args.timesteps * max(args.input_dim, args.units)
    if elements > MAX_BATCH_ELEMENTS:
        raise ConfigError(
            f"--batch {args.batch} x --timesteps {args.timesteps} x "
            f"{max(args.input_dim, args.units)} features is {elements:,} numbers a batch; "
            f"at most {MAX_BATCH_ELEMENTS:,} (4 GiB of float32)"
        )


def run_bench(args) -> int:
    from rnnexp import console

    check_arguments(args)
    tracker = None
    if not args.no_track:  # a bad store fails now, not after minutes of measuring
        from rnnexp.tracking.tracker import Tracker

        tracker = Tracker("bench", args.tracking_uri)
    shape = (
        f"batch {args.batch}, T {args.timesteps}, input {args.input_dim}, "
        f"units {args.units}, {args.batches} batches a round, {args.repeats} rounds, "
        f"fastest of {args.instances} models per contender"
    )
    if not args.json:
        console.say(f"bench: training throughput (sample-steps/s), {shape}")
    rows = measure(args)
    if args.json:
        print(json.dumps({"shape": shape, "results": rows}, indent=2))
    else:
        table = [
            {k: v for k, v in row.items() if not k.endswith("_gflops") and k != "of_peak"}
            for row in rows
        ]
        console.say(console.format_table(table))
        for line in summary_lines(rows):
            console.say(line)
    if tracker is not None:
        with tracker.run(f"bench-T{args.timesteps}-u{args.units}") as run:
            run.log_params({k: v for k, v in vars(args).items() if k not in ("json", "no_track")})
            for row in rows:
                prefix = f"{row['cell']}.{row['loop']}{'.jit' if row['jit_compile'] else ''}"
                run.log_metrics(
                    {f"{prefix}.{k}": v for k, v in row.items() if isinstance(v, float)}
                )
            run.log_text(console.format_table(rows, markdown=True) + "\n", "bench.md")
    return 0
